"""Cartesia: Sonic speech through the official ``cartesia`` SDK (4.2, Stainless-generated, async)."""

from .._compose import compose
from .audio import warm

SPEC, BACKEND = compose(
    __name__,
    name="cartesia",
    title="Cartesia",
    env_keys=("CARTESIA_API_KEY",),
    base_url_env="CARTESIA_BASE_URL",
    default_base_url="https://api.cartesia.ai",
    docs_url="https://docs.cartesia.ai/api-reference/tts/bytes",
    warm=warm,
)
