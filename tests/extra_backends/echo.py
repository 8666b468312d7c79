"""A throwaway image backend with an option of its own (``shimmer``), declared here and nowhere else.

It makes a small PNG without any provider and records what each call received in ``RECEIVED``, so a
test can show that the option reaches the backend through the tool, the CLI parser and validation.
"""

from __future__ import annotations

import io
from typing import Any

from generate_media.spec import PICTURES, BackendSpec, Call, MediaSupport, MediaType, ModelSpec, Option, Produced

SHIMMER = Option("shimmer", float, "Echo: how much the picture shimmers.", range=(0.0, 2.0))
GLAZE = Option("glaze", str, "Echo: the glaze.", values=("matte", "gloss"))

#: (model id, shimmer, glaze) of every call, in order.
RECEIVED: list[tuple[str, Any, Any]] = []


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 160, 220)).save(buffer, "PNG")
    return buffer.getvalue()


async def _image(call: Call) -> list[Produced]:
    RECEIVED.append((call.model.id, call.request.shimmer, call.request.glaze))
    return [Produced(data=_png())]


SPEC = BackendSpec(
    name="echo",
    title="Echo (test)",
    env_keys=("ECHO_KEY",),  # not shaped like *_API_KEY: still a secret, because it is declared a key
    media={
        MediaType.IMAGE: MediaSupport(
            priority=1000,
            default_model="echo-1",
            operations=(PICTURES,),
            options=(SHIMMER, GLAZE),
            models=(
                ModelSpec(id="echo-1", output_formats=("png",), options=frozenset({"shimmer", "glaze"})),
                ModelSpec(id="echo-plain", output_formats=("png",)),
            ),
        )
    },
)


class _Backend:
    image = staticmethod(_image)


BACKEND = _Backend()
