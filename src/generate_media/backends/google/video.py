"""Google video as a long job: Gemini Omni through the Interactions API (the Developer API's
video route today, default), and Veo 3.1 on Vertex AI express mode (``_veo.py``).

Omni: ``interactions.create(background=True, response_modalities=["video"], response_format=
{type: video, aspect_ratio, resolution, duration, delivery: "uri"})`` → poll ``interactions.get``
→ the finished interaction's video is inline base64 or a Files URI, streamed to disk with
``files.download(destination=...)``. Cancel is ``interactions.cancel``. An input image is the
first frame (task ``image_to_video``), reference images are further image blocks (task
``reference_to_video``). Continuation (``gemini_vid_``) sends ``previous_interaction_id``: task
``edit``, or ``extend`` when a duration is given. A supplied ``input_video`` (Omni 1.2, up to
15 s) is a ``video`` block (base64 ``data`` + ``mime_type``, google-genai 3.6.1 ``VideoContent``)
after the instruction, with the same edit/extend rule; reference images may follow it. Veo
continuation extends the stored clip.

Omni 1.2 Flash (default; google-genai 3.6.1 lists it as "our latest"): 3 to 15 s (10 s at most with
a last frame), 360p to 4K, a last frame after the first (``last_frame``: a second image block after
the input image, task ``image_to_video``), and up to 6 reference images (Google Cloud's first/last
frame page; Vercel's Omni 1.2 changelog; muapi.ai and developer.civitai.com pages). Omni 1.1: 3 to
10 s, a last frame, up to 3 reference images. Calls use API version ``v1beta`` as Google's docs do (the SDK's
default is ``v1``).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ...errors import DISK_ERRNOS, BadProviderResponse, InvalidRequest, storage_error
from ...leaderboards import AA_T2V, ARENA_I2V, ARENA_T2V
from ...output import cleanup_temp
from ...spec import ANIMATE, VIDEO_CLIPS, VIDEO_EDITS, Call, JobStatus, MediaSupport, MediaType, ModelSpec, Produced
from .._errors import failure_code
from .._options import GENERATE_AUDIO, NEGATIVE_PROMPT, SEED
from .._video_source import check_length
from . import _veo
from ._client import ERRORS, VERTEX_BASE_URL_ENV, VERTEX_ENV, shared, vertex_enabled
from ._frames_for import fitted_image, orientation

MEDIA = MediaType.VIDEO
API_VERSION = "v1beta"
_ASPECTS = ("16:9", "9:16")
_VERTEX_NOTE = (
    "Vertex AI express mode only: set GOOGLE_GENAI_USE_VERTEXAI=true (express key) or GOOGLE_VERTEX_BASE_URL."
)


def _vertex_only(settings: Any) -> str | None:
    """Veo runs on Vertex only: without Vertex mode the selector skips it, saying how to turn it on."""
    if settings is None or vertex_enabled(settings):
        return None
    return f"runs on Vertex AI only: set {VERTEX_ENV}=true (express key) or {VERTEX_BASE_URL_ENV}"


CHECKED = "2026-12-03"
_OMNI: dict[str, Any] = {
    "long_job": True,
    "max_input_images": 1,
    "continuation": True,
    "aspect_ratios": _ASPECTS,
    "sizes": ("360p", "720p", "1080p", "4k"),
    "duration_range": (3.0, 10.0),
    "options": frozenset({"last_frame"}),
    "checked": CHECKED,
}
#: The longest clip that has a last frame, and the longest source video Omni edits.
LAST_FRAME_MAX_S = 10.0
SOURCE_MAX_S = 15.0
_VEO: dict[str, Any] = {
    "long_job": True,
    "max_input_images": 1,
    "continuation": True,
    "aspect_ratios": _ASPECTS,
    "sizes": ("720p", "1080p"),
    "durations": (4.0, 6.0, 8.0),
    "source": "docs.cloud.google.com Veo 3.1 model page (Vertex AI); no google-genai literal",
    "checked": CHECKED,
    "availability": _vertex_only,
}
_VEO_OPTIONS = frozenset({"last_frame", "negative_prompt", "seed", "generate_audio"})

SUPPORT = MediaSupport(
    priority=80,
    default_model="gemini-omni-1.2-flash",
    continuation_prefix="gemini_vid",
    options=(NEGATIVE_PROMPT, SEED, GENERATE_AUDIO),
    operations=(VIDEO_CLIPS, ANIMATE, VIDEO_EDITS),
    models=(
        ModelSpec(
            id="gemini-omni-1.2-flash",
            notes="Gemini Omni 1.2 Flash (Interactions API): 3-15 s (10 s with last_frame), up to 6 reference "
            "images, edits an input_video of up to 15 s.",
            **{
                **_OMNI,
                "duration_range": (3.0, 15.0),
                "max_reference_images": 6,
                "input_video": True,
                "source": "google-genai 3.6.1 interactions Model literal and VideoContent block; "
                "docs.cloud.google.com first/last frames and edit-videos (1.2 edits videos); "
                "vercel.com changelog (Omni 1.2); muapi.ai, developer.civitai.com",
            },
        ),
        ModelSpec(
            id="gemini-omni-1.1-flash",
            notes="Gemini Omni 1.1 Flash: 3-10 s, last_frame, up to 3 reference images.",
            max_reference_images=3,
            source="google-genai 3.6.1 interactions Model literal; docs.oxen.ai (limits); dev.to Omni 1.1 GA "
            "migration guide (first-and-last-frame interpolation)",
            standings=(ARENA_T2V.at(1, 1516), AA_T2V.at(6, 1120), ARENA_I2V.at(2, 1488)),
            **_OMNI,
        ),
        ModelSpec(
            id="veo-3.1-generate-001",
            options=_VEO_OPTIONS,
            max_reference_images=3,
            notes="Veo 3.1: last frame, reference images, extension. " + _VERTEX_NOTE,
            **_VEO,
        ),
        ModelSpec(
            id="veo-3.1-fast-generate-001",
            options=_VEO_OPTIONS,
            max_reference_images=3,
            notes="Faster Veo 3.1. " + _VERTEX_NOTE,
            **_VEO,
        ),
        ModelSpec(
            id="veo-3.1-lite-generate-001", options=_VEO_OPTIONS, notes="Cheapest Veo 3.1. " + _VERTEX_NOTE, **_VEO
        ),
    ),
)


@asynccontextmanager
async def _gemini(call: Call) -> AsyncIterator[Any]:
    """The Interactions API client (its own API version), shared for the server's lifetime like the others."""
    api_key, base_url, timeout_ms = call.api_key, call.base_url, int(call.settings.request_timeout_s * 1000)

    def build() -> Any:
        from google import genai
        from google.genai import types

        options = types.HttpOptions(
            base_url=base_url,
            api_version=API_VERSION,
            timeout=timeout_ms,
            retry_options=types.HttpRetryOptions(attempts=1),  # retry.py is the one policy
        )
        return genai.Client(vertexai=False, api_key=api_key, http_options=options)

    yield (await shared(call, "google-interactions", base_url, build)).aio


def _is_veo(call: Call) -> bool:
    return call.model.id.startswith("veo-")


def _aspect(call: Call) -> str | None:
    if call.request.aspect_ratio:
        return str(call.request.aspect_ratio)
    if call.input_images and call.continuation is None:
        return orientation(call.input_images[0].data)  # say it, so the frame is fitted, not guessed
    return None


async def _check_omni(call: Call) -> None:
    """Omni limits the declarations cannot say, checked before the paid call."""
    req = call.request
    if call.input_video is not None:
        if call.input_images or req.last_frame or req.aspect_ratio:
            raise InvalidRequest("an input_video edit keeps its frame; drop input_images, last_frame and aspect_ratio")
        await check_length(call.input_video, 0.0, SOURCE_MAX_S, f"{call.model.id} edit")
        return
    if req.last_frame is None:
        return
    if not call.input_images:
        raise InvalidRequest("last_frame needs the first frame too: give input_images=[first frame]")
    if req.reference_images:
        raise InvalidRequest("last_frame and reference_images cannot be combined on Omni; give one of them")
    if req.duration is not None and req.duration > LAST_FRAME_MAX_S:
        raise InvalidRequest(
            f"duration={req.duration:g} is too long with a last frame ({call.model.id}: at most {LAST_FRAME_MAX_S:g} s)"
        )


def _image_block(data: bytes | str, mime: str) -> dict[str, Any]:
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {"type": "image", "data": encoded, "mime_type": mime}


async def _input(call: Call, aspect: str | None, warnings: list[str]) -> tuple[list[dict[str, Any]], str]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": call.prompt}]
    task = "text_to_video"
    if call.input_video is not None:  # a supplied video: edited, or extended by ``duration``
        video = call.input_video
        blocks.append({"type": "video", "data": video.b64(), "mime_type": video.mime_type})
        task = "extend" if call.request.duration else "edit"
    if call.input_images:
        first = call.input_images[0]
        data, mime = await fitted_image(first.data, first.mime_type, aspect, warnings, "input image")
        blocks.append(_image_block(data, mime))
        task = "image_to_video"
    if call.request.last_frame:
        last = await call.load_file(call.request.last_frame, ("image/",))
        data, mime = await fitted_image(last.data, last.mime_type, aspect, warnings, "last frame")
        blocks.append(_image_block(data, mime))
    for ref in call.request.reference_images or []:
        loaded = await call.load_file(ref, ("image/",))
        blocks.append(_image_block(loaded.b64(), loaded.mime_type))
        task = "reference_to_video" if task == "text_to_video" else task
    return blocks, task


def _format(call: Call, aspect: str | None) -> dict[str, Any]:
    req = call.request
    fmt: dict[str, Any] = {"type": "video", "delivery": "uri"}
    if aspect:
        fmt["aspect_ratio"] = aspect
    if req.size:
        fmt["resolution"] = req.size
    if req.duration is not None:
        fmt["duration"] = f"{req.duration:g}s"
    return fmt


async def _omni_submit(call: Call, aspect: str | None, warnings: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": call.model.id, "response_modalities": ["video"], "background": True}
    if call.continuation is not None:
        req = call.request
        if call.input_images or req.reference_images or req.aspect_ratio or req.last_frame:
            raise InvalidRequest("continuing a Gemini video keeps its frame; give only a prompt (and duration)")
        body["previous_interaction_id"] = call.continuation.state["interaction_id"]
        blocks, task = [{"type": "text", "text": call.prompt}], "extend" if call.request.duration else "edit"
    else:
        await _check_omni(call)
        blocks, task = await _input(call, aspect, warnings)
    body.update(input=blocks, response_format=_format(call, aspect), generation_config={"video_config": {"task": task}})
    async with _gemini(call) as aio:
        with ERRORS:
            interaction = await aio.interactions.create(**body)
    if not interaction.id:
        raise BadProviderResponse("Gemini accepted the video but returned no interaction id", backend="google")
    return {"api": "omni", "interaction_id": interaction.id, "task": task}


_FAILED = ("failed", "cancelled", "incomplete", "budget_exceeded", "requires_action")


def _omni_status(interaction: Any) -> JobStatus:
    status = str(interaction.status or "")
    if status == "completed":
        video = interaction.output_video
        if video is None or not (video.data or video.uri):
            return JobStatus("failed", error="Gemini finished without a video", error_code="provider_error")
        return JobStatus("done", 100.0, result={"uri": video.uri, "data": video.data})
    if status in _FAILED:
        errors = interaction.errors or []
        message = (errors[0].message if errors and errors[0].message else None) or f"the interaction is {status}"
        code = errors[0].code if errors else None
        return JobStatus("failed", error=message, error_code=failure_code(message, code))
    return JobStatus("queued" if status == "queued" else "running")


async def _omni_fetch(call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
    result = status.result or {}
    path = call.temp_file(".mp4")
    try:
        if result.get("data"):
            await anyio.Path(path).write_bytes(base64.b64decode(result["data"]))
        else:
            async with _gemini(call) as aio:
                with ERRORS:
                    await aio.files.download(file=result["uri"], destination=str(path))
    except BaseException as exc:
        cleanup_temp(path)
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            raise storage_error(exc, path.parent) from exc  # our disk, not Google: disk_full / not_writable
        raise
    state = {"interaction_id": handle["interaction_id"]}
    return [Produced(path=path, state=state, metadata={**state, "task": handle.get("task")})]


class GoogleVideo:
    """The JobRunner for Google video: dispatches to Omni or Veo by the handle or the model."""

    async def submit(self, call: Call) -> dict[str, Any]:
        warnings: list[str] = []
        aspect = _aspect(call)
        if _is_veo(call):
            handle = await _veo.submit(call, aspect, warnings)
        else:
            handle = await _omni_submit(call, aspect, warnings)
        return {**handle, "warnings": warnings}

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        if handle.get("api") == "veo":
            return await _veo.poll(call, handle)
        async with _gemini(call) as aio:
            with ERRORS:
                interaction = await aio.interactions.get(handle["interaction_id"])
        return _omni_status(interaction)

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        if handle.get("api") == "veo":
            return await _veo.fetch(call, handle, status)
        return await _omni_fetch(call, handle, status)

    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool:
        if handle.get("api") == "veo":
            return await _veo.cancel(call, handle)
        async with _gemini(call) as aio:
            with ERRORS:
                await aio.interactions.cancel(handle["interaction_id"])
        return True


RUN = GoogleVideo()
