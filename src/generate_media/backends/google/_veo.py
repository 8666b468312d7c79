"""Veo 3.1 on Vertex AI express mode: ``models.generate_videos`` and operation polling.

Veo on the Gemini Developer API is not confirmed by any first-party page we have, so Veo is
declared Vertex-only (``GOOGLE_GENAI_USE_VERTEXAI=true`` with an express key, or
``GOOGLE_VERTEX_BASE_URL``). Vertex has no cancel for these operations, so a cancelled call
leaves the job resumable. The finished operation carries the video inline (base64), which is
written to a temp file at once; a Cloud Storage URI (only with ``output_gcs_uri``) is refused.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio

from ...errors import BadProviderResponse
from ...spec import Call, JobStatus, Produced
from .._errors import failure_code
from ._client import ERRORS, vertex_client
from ._frames_for import fitted_image

__all__ = ["cancel", "fetch", "poll", "submit"]


async def _config(call: Call, aspect: str | None, warnings: list[str]) -> Any:
    from google.genai import types

    req = call.request
    config: dict[str, Any] = {"number_of_videos": 1}
    for key, value in (
        ("duration_seconds", int(req.duration) if req.duration is not None else None),
        ("aspect_ratio", aspect),
        ("resolution", req.size),
        ("generate_audio", req.generate_audio),
        ("negative_prompt", req.negative_prompt),
        ("seed", req.seed),
    ):
        if value is not None:
            config[key] = value
    if req.last_frame:
        loaded = await call.load_file(req.last_frame, ("image/",))
        data, mime = await fitted_image(loaded.data, loaded.mime_type, aspect, warnings, "last_frame")
        config["last_frame"] = types.Image(image_bytes=data, mime_type=mime)
    if req.reference_images:  # at most ModelSpec.max_reference_images (3), checked before the call
        refs = [await call.load_file(ref, ("image/",)) for ref in req.reference_images]
        config["reference_images"] = [
            types.VideoGenerationReferenceImage(
                image=types.Image(image_bytes=r.data, mime_type=r.mime_type), reference_type="ASSET"
            )
            for r in refs
        ]
    return types.GenerateVideosConfig(**config)


async def _source(call: Call, aspect: str | None, warnings: list[str]) -> Any:
    from google.genai import types

    source: dict[str, Any] = {"prompt": call.prompt}
    if call.continuation is not None:
        data = await anyio.Path(Path(call.continuation.files[0])).read_bytes()
        source["video"] = types.Video(video_bytes=data, mime_type="video/mp4")
    elif call.input_images:
        first = call.input_images[0]
        data, mime = await fitted_image(first.data, first.mime_type, aspect, warnings, "input image")
        source["image"] = types.Image(image_bytes=data, mime_type=mime)
    return types.GenerateVideosSource(**source)


async def submit(call: Call, aspect: str | None, warnings: list[str]) -> dict[str, Any]:
    source = await _source(call, aspect, warnings)
    config = await _config(call, aspect, warnings)
    async with vertex_client(call) as aio:
        with ERRORS:
            operation = await aio.models.generate_videos(model=call.model.id, source=source, config=config)
    if not operation.name:
        raise BadProviderResponse("Veo accepted the video but returned no operation name; try again", backend="google")
    return {"api": "veo", "operation": operation.name}


async def _operation(call: Call, name: str) -> Any:
    from google.genai import types

    async with vertex_client(call) as aio:
        with ERRORS:
            return await aio.operations.get(types.GenerateVideosOperation(name=name))  # type: ignore[call-arg]


async def poll(call: Call, handle: dict[str, Any]) -> JobStatus:
    operation = await _operation(call, handle["operation"])
    if not operation.done:
        return JobStatus("running")
    if operation.error:
        message = str(operation.error.get("message") or "the render failed")
        return JobStatus("failed", error=message, error_code=failure_code(message, str(operation.error.get("code"))))
    response = operation.response
    videos = (response.generated_videos if response else None) or []
    if not videos or videos[0].video is None:
        reasons = getattr(response, "rai_media_filtered_reasons", None) or ["no video was returned"]
        message = "; ".join(str(r) for r in reasons)
        return JobStatus("failed", error=message, error_code=failure_code(message, "safety_blocked"))
    return JobStatus("done", 100.0)


async def fetch(call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
    operation = await _operation(call, handle["operation"])
    video = operation.response.generated_videos[0].video
    if not video.video_bytes:
        raise BadProviderResponse(
            "Veo stored the video in Cloud Storage instead of returning it; run without output_gcs_uri",
            backend="google",
        )
    data = video.video_bytes if isinstance(video.video_bytes, bytes) else base64.b64decode(video.video_bytes)
    path = call.temp_file(".mp4")
    await anyio.Path(path).write_bytes(data)
    return [Produced(path=path, state={"operation": handle["operation"]}, metadata={"operation": handle["operation"]})]


async def cancel(call: Call, handle: dict[str, Any]) -> bool:
    return False  # Vertex offers no cancel for generate_videos operations
