"""OpenAI. One module per media type (``images.py``...); see ``backends/_compose.py``."""

from .._clients import openai_warmer
from .._compose import compose

SPEC, BACKEND = compose(
    __name__,
    name="openai",
    title="OpenAI",
    env_keys=("OPENAI_API_KEY",),
    base_url_env="OPENAI_BASE_URL",
    default_base_url="https://api.openai.com/v1",
    warm=openai_warmer("images", "audio.speech"),
    docs_url="https://platform.openai.com/docs/api-reference",
)
