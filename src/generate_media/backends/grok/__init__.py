"""xAI Grok Imagine: images and video through xAI's REST API. One module per media type."""

from .._compose import compose
from .images import warm

SPEC, BACKEND = compose(
    __name__,
    name="grok",
    title="xAI Grok Imagine",
    env_keys=("XAI_API_KEY",),
    base_url_env="XAI_BASE_URL",
    default_base_url="https://api.x.ai/v1",
    warm=warm,
    docs_url="https://docs.x.ai/docs/guides/image-generations",
)
