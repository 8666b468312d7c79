"""Google: Gemini image models, Imagen (Vertex), video (Interactions API / Veo). One module per media type."""

from .._compose import compose
from ._client import SETTINGS, warm

SPEC, BACKEND = compose(
    __name__,
    name="google",
    title="Google Gemini / Imagen / Veo",
    env_keys=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    base_url_env="GOOGLE_GEMINI_BASE_URL",
    warm=warm,
    docs_url="https://ai.google.dev/gemini-api/docs",
    settings=SETTINGS,
)
