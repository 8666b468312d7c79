"""Frame fitting shared by the Google video paths (Gemini Omni and Veo)."""

from __future__ import annotations

import anyio

from .._frames import fit_frame

__all__ = ["fitted_image", "orientation"]


def orientation(data: bytes) -> str:
    """``16:9`` for a landscape or square picture, ``9:16`` for a portrait one."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return "16:9" if img.width >= img.height else "9:16"


async def fitted_image(data: bytes, mime: str, aspect: str | None, warnings: list[str], what: str) -> tuple[bytes, str]:
    """``data`` cropped or letterboxed to ``aspect`` (unchanged without one)."""
    if not aspect:
        return data, mime
    fitted = await anyio.to_thread.run_sync(lambda: fit_frame(data, aspect))
    if fitted.note:
        warnings.append(fitted.note.replace("input image", what, 1))
    return fitted.data, fitted.mime_type
