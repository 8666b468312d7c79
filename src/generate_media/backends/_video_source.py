"""A supplied video (``input_video``) as a provider takes it: its length, checked before the paid call."""

from __future__ import annotations

import io
from typing import Any

import anyio

from ..errors import InvalidRequest

__all__ = ["check_length", "seconds"]


def _seconds(data: bytes) -> float | None:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise InvalidRequest("input_video has no video track; give an MP4 or WebM video")
            return float(container.duration / 1_000_000) if container.duration else None
    except av.error.FFmpegError as exc:
        raise InvalidRequest(f"input_video cannot be read ({exc.strerror or exc}); give an MP4 video") from exc


async def seconds(video: Any) -> float | None:
    """The length of ``video`` (an ``inputs.LoadedFile``) in seconds, None when its header does not say."""
    return await anyio.to_thread.run_sync(_seconds, video.data)


async def check_length(video: Any, low: float, high: float, what: str) -> float | None:
    """Refuse a source video outside ``low`` to ``high`` seconds (``what`` names the model and operation)."""
    length = await seconds(video)
    if length is not None and not low <= length <= high:
        span = f"{low:g} to {high:g}" if low else f"up to {high:g}"
        raise InvalidRequest(f"{what} takes a video of {span} s and input_video is {length:.1f} s; trim it first")
    return length
