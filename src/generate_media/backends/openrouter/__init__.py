"""OpenRouter: image models through chat completions. One module per media type."""

from .._clients import openai_warmer
from .._compose import compose

SPEC, BACKEND = compose(
    __name__,
    name="openrouter",
    title="OpenRouter",
    env_keys=("OPENROUTER_API_KEY",),
    base_url_env="OPENROUTER_BASE_URL",
    default_base_url="https://openrouter.ai/api/v1",
    warm=openai_warmer("chat.completions", models=("openai.types.chat.ChatCompletion",)),
    docs_url="https://openrouter.ai/docs/guides/overview/multimodal/image-generation",
)
