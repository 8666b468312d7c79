"""Replicate: open-weights and partner image and video models through the predictions API.

Why httpx and not the ``replicate`` SDK (1.0.7, May 2025; 2.0 is a pre-release): the backend needs
three calls (create with ``Prefer: wait``, get, cancel) and the files upload, with the base URL, the
headers and the polling in our hands: jobs.py already polls, resumes and cancels by the prediction
id, and the SDK's own wait loop and ``FileOutput`` objects would duplicate that and hide the wire.
"""

from .._compose import compose
from ._api import warm

SPEC, BACKEND = compose(
    __name__,
    name="replicate",
    title="Replicate",
    env_keys=("REPLICATE_API_TOKEN",),
    base_url_env="REPLICATE_BASE_URL",
    default_base_url="https://api.replicate.com/v1",
    docs_url="https://replicate.com/docs/topics/predictions/create-a-prediction",
    warm=warm,
)
