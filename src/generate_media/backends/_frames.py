"""Fit an input image to a video's frame (aspect ratio, optionally exact pixels), never stretching.

Policy: crop the centre when that keeps at least ``CROP_KEEP`` of the picture (a small trim is
invisible), otherwise letterbox (pad with black bars) so nothing important is cut away. Either
way the scale is uniform, so people and objects keep their proportions. The caller gets a note
saying what was done, to pass on as a warning.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ..errors import InvalidRequest

__all__ = ["Fitted", "aspect_of", "fit_frame"]

#: Crop when at least this share of the picture survives; letterbox otherwise.
CROP_KEEP = 0.8


@dataclass(frozen=True)
class Fitted:
    data: bytes
    mime_type: str
    width: int
    height: int
    note: str | None = None  # what was done, e.g. "input image cropped from 4:3 to 16:9"


def aspect_of(text: str) -> float:
    """``"16:9"`` or ``"1280x720"`` as width / height.

    Raises:
        InvalidRequest: not a ratio or a size.
    """
    for sep in (":", "x"):
        left, found, right = text.partition(sep)
        if found:
            try:
                width, height = float(left), float(right)
            except ValueError:
                break
            if width > 0 and height > 0:
                return width / height
    raise InvalidRequest(f"{text!r} is not an aspect ratio (16:9) or a size (1280x720)")


def _crop_box(width: int, height: int, target: float) -> tuple[int, int, int, int]:
    if width / height > target:  # too wide: trim the sides
        new_w = max(1, round(height * target))
        left = (width - new_w) // 2
        return left, 0, left + new_w, height
    new_h = max(1, round(width / target))
    top = (height - new_h) // 2
    return 0, top, width, top + new_h


def _canvas(width: int, height: int, target: float) -> tuple[int, int]:
    if width / height > target:
        return width, max(1, round(width / target))
    return max(1, round(height * target)), height


def fit_frame(data: bytes, aspect: str, *, size: tuple[int, int] | None = None, label: str = "") -> Fitted:
    """Crop or letterbox ``data`` to ``aspect``; with ``size``, scale uniformly to exactly that.

    ``label`` names the target in the note (e.g. "16:9" or "1280x720"). The result is PNG.
    """
    from PIL import Image, ImageOps

    target = aspect_of(aspect)
    with Image.open(io.BytesIO(data)) as opened:
        img = ImageOps.exif_transpose(opened).convert("RGB")
    width, height = img.size
    note = None
    if abs(width / height - target) / target > 0.01:
        crop = _crop_box(width, height, target)
        kept = ((crop[2] - crop[0]) * (crop[3] - crop[1])) / (width * height)
        if kept >= CROP_KEEP:
            img = img.crop(crop)
            how = "cropped"
        else:
            canvas = Image.new("RGB", _canvas(width, height, target), (0, 0, 0))
            canvas.paste(img, ((canvas.width - width) // 2, (canvas.height - height) // 2))
            img = canvas
            how = "letterboxed"
        note = f"input image {how} from {width}x{height} to {label or aspect} (never stretched)"
    if size is not None and img.size != size:
        img = img.resize(size, Image.Resampling.LANCZOS)  # same aspect by now: a uniform scale
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return Fitted(buf.getvalue(), "image/png", img.width, img.height, note)
