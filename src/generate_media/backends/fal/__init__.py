"""fal: the models at the top of the public leaderboards (Seedance, Wan, MiniMax H3 Max, FLUX, Seedream,
Reve...) through fal's queue API, plus any other fal endpoint by id (``model="fal:<endpoint id>"``).

One module per media type (``video.py``, ``images.py``); ``_queue.py`` speaks the queue API,
``_catalog.py`` declares the model families, ``_schema.py`` checks undeclared endpoints against the
OpenAPI document fal publishes for each.

Plain httpx rather than the official ``fal-client``: the queue API is four JSON calls; the request id
and the status, result and cancel URLs fal returns must be stored in our job record and used as given
after a restart (fal-client rebuilds them from the app id); the base URL must be overridable with a
path prefix (``FAL_BASE_URL``); and every other REST backend here already uses httpx, so this adds
no dependency.
"""

from ...settings import Setting
from .._compose import compose
from ._list import API_URL_DEFAULT, API_URL_ENV
from ._queue import warm
from ._schema import SCHEMA_URL_DEFAULT, SCHEMA_URL_ENV

SPEC, BACKEND = compose(
    __name__,
    name="fal",
    title="fal",
    env_keys=("FAL_KEY",),
    base_url_env="FAL_BASE_URL",
    default_base_url="https://queue.fal.run",
    docs_url="https://fal.ai/docs/documentation/model-apis/inference/queue",
    warm=warm,
    notes="Any other fal endpoint: model='fal:<endpoint id>' (its inputs are checked against fal's schema for it).",
    settings=(
        Setting(
            SCHEMA_URL_ENV,
            "url",
            SCHEMA_URL_DEFAULT,
            "where the OpenAPI input schema of a fal:<endpoint id> model is read (?endpoint_id=...)",
            "fal",
        ),
        Setting(
            API_URL_ENV, "url", API_URL_DEFAULT, "fal's platform API, whose model list models --check reads", "fal"
        ),
    ),
)
