"""OpenAI Videos API (Sora) as a long job, through the official SDK.

The SDK marks every ``videos.*`` method deprecated ("scheduled to permanently shut down on
September 24, 2026", a date now past), so the models are declared deprecated and the backend has
the lowest video priority; it is still complete for accounts that keep access.

create (multipart; an input image is cropped or letterboxed to the output size, never stretched)
→ retrieve until done (honouring the ``openai-poll-after-ms`` header) → ``download_content``
streamed to disk. Continuation (``sora_vid_``) is a remix of the stored video id. Cancel deletes
the video job.
"""

from __future__ import annotations

from typing import Any

import anyio

from ...errors import GenerateMediaError, InvalidRequest
from ...output import cleanup_temp
from ...spec import ANIMATE, VIDEO_CLIPS, Call, JobStatus, MediaSupport, MediaType, ModelSpec, Produced
from .._clients import openai_session
from .._download import CHUNK, write_stream
from .._errors import failure_code, from_sdk
from .._frames import fit_frame

MEDIA = MediaType.VIDEO
KEY_ENV = "OPENAI_API_KEY"
SHUTDOWN = "OpenAI's SDK says the Sora video API shut down on 2026-09-24; it works only where still enabled"

_ASPECT_SIZE = {"16:9": "1280x720", "9:16": "720x1280"}
_COMMON: dict[str, Any] = {
    "max_input_images": 1,
    "continuation": True,
    "aspect_ratios": ("16:9", "9:16"),
    "durations": (4.0, 8.0, 12.0),
    "deprecated": SHUTDOWN,
}

SUPPORT = MediaSupport(
    priority=10,
    default_model="sora-2",
    continuation_prefix="sora_vid",
    operations=(VIDEO_CLIPS, ANIMATE),
    models=(
        ModelSpec(id="sora-2", sizes=("1280x720", "720x1280"), notes="Remix with continue_from.", **_COMMON),
        ModelSpec(
            id="sora-2-pro",
            sizes=("1280x720", "720x1280", "1792x1024", "1024x1792"),
            notes="Higher quality, larger sizes.",
            **_COMMON,
        ),
    ),
)


def _error(exc: Exception) -> Exception:
    return from_sdk(exc, backend="openai", key_env=KEY_ENV)


def _size(call: Call, image: tuple[int, int] | None) -> str | None:
    req = call.request
    if req.size and req.aspect_ratio:
        width, height = (int(v) for v in req.size.split("x"))
        if (width > height) != (req.aspect_ratio == "16:9"):
            raise InvalidRequest(f"size={req.size} and aspect_ratio={req.aspect_ratio} disagree; give one of them")
    if req.size or req.aspect_ratio:
        return req.size or _ASPECT_SIZE[req.aspect_ratio]
    if image is not None:  # no size asked: follow the picture's orientation
        return "1280x720" if image[0] >= image[1] else "720x1280"
    return None


async def _reference(call: Call, warnings: list[str]) -> tuple[tuple[str, bytes, str] | None, str | None]:
    """The input image fitted to the output size (Sora needs the exact size), and that size."""
    if not call.input_images:
        return None, _size(call, None)
    import io

    from PIL import Image

    first = call.input_images[0]
    with Image.open(io.BytesIO(first.data)) as img:
        dims = img.size
    size = _size(call, dims)
    assert size is not None
    width, height = (int(v) for v in size.split("x"))
    fitted = await anyio.to_thread.run_sync(lambda: fit_frame(first.data, size, size=(width, height), label=size))
    if fitted.note:
        warnings.append(fitted.note)
    return ("reference.png", fitted.data, fitted.mime_type), size


class SoraVideo:
    """The JobRunner for OpenAI video."""

    async def submit(self, call: Call) -> dict[str, Any]:
        warnings: list[str] = []
        req = call.request
        async with openai_session(call) as client:
            try:
                if call.continuation is not None:
                    if call.input_images or req.size or req.aspect_ratio or req.duration is not None:
                        raise InvalidRequest("a Sora remix keeps the source's size and length; give only a prompt")
                    source = call.continuation.state["video_id"]
                    video = await client.videos.remix(source, prompt=call.prompt)
                else:
                    reference, size = await _reference(call, warnings)
                    opts: dict[str, Any] = {"model": call.model.id, "prompt": call.prompt}
                    if req.duration is not None:
                        opts["seconds"] = f"{req.duration:g}"
                    if size:
                        opts["size"] = size
                    if reference is not None:
                        opts["input_reference"] = reference
                    video = await client.videos.create(**opts)
            except GenerateMediaError:
                raise
            except Exception as exc:
                raise _error(exc) from exc
        return {"video_id": video.id, "warnings": warnings}

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        async with openai_session(call) as client:
            try:
                raw = await client.videos.with_raw_response.retrieve(handle["video_id"])
                video = raw.parse()
            except Exception as exc:
                raise _error(exc) from exc
        hint = raw.headers.get("openai-poll-after-ms")
        poll_after = int(hint) / 1000 if hint and hint.isdigit() else None
        percent = float(video.progress) if video.progress is not None else None
        if video.status == "completed":
            return JobStatus("done", 100.0, result={"seconds": video.seconds, "size": video.size})
        if video.status == "failed":
            message = (video.error.message if video.error else None) or "the render failed"
            code = video.error.code if video.error else None
            return JobStatus("failed", percent, error=message, error_code=failure_code(message, code))
        state = "queued" if video.status == "queued" else "running"
        return JobStatus(state, percent, poll_after=poll_after)

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        path = call.temp_file(".mp4")
        limit = call.settings.limits.max_download_bytes
        try:
            async with openai_session(call) as client:
                stream = client.videos.with_streaming_response.download_content(handle["video_id"], variant="video")
                async with stream as response:
                    await write_stream(response.iter_bytes(CHUNK), path, limit=limit, backend="openai")
        except BaseException as exc:
            cleanup_temp(path)
            if isinstance(exc, GenerateMediaError) or not isinstance(exc, Exception):
                raise
            raise _error(exc) from exc
        meta = {"video_id": handle["video_id"], **(status.result or {})}
        return [
            Produced(
                path=path,
                state={"video_id": handle["video_id"]},
                metadata=meta,
            )
        ]

    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool:
        async with openai_session(call) as client:
            try:
                await client.videos.delete(handle["video_id"])
            except Exception as exc:
                raise _error(exc) from exc
        return True


RUN = SoraVideo()
