"""OpenAI: GPT image models (generate, edit, inpaint). Other media types add a module here and one line below."""

from __future__ import annotations

from ...spec import BackendSpec, MediaType
from . import images


class _OpenAI:
    image = staticmethod(images.generate)


BACKEND = _OpenAI()

SPEC = BackendSpec(
    name="openai",
    title="OpenAI",
    env_keys=("OPENAI_API_KEY",),
    base_url_env="OPENAI_BASE_URL",
    docs_url="https://platform.openai.com/docs/guides/image-generation",
    media={MediaType.IMAGE: images.SUPPORT},
)
