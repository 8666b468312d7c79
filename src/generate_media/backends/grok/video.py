"""xAI Grok Imagine video over REST (httpx): a long job.

Submit ``POST /videos/generations`` (or ``/videos/edits``, ``/videos/extensions`` for a
continuation) → ``{request_id}``; poll ``GET /videos/{request_id}`` (200 or 202, branch on
``status``); download ``video.url`` at once (it is temporary) by streaming it to disk.

``grok-imagine-video-1.5`` pins a last frame: ``last_frame: {"url"}`` beside the first frame's
``image`` (xai-sdk 1.21.0 documents the parameter for 1.5 only; its proto field is ``last_frame``, an
``ImageUrlContent`` like ``image``, and the REST body uses the proto names; xAI's REST reference we
have does not list it yet).

A supplied ``input_video`` (a path, URL or earlier output) is edited or extended the same way as a
continuation, on ``grok-imagine-video`` only (the model xAI serves edits and extensions on).

Continuation (``grok_vid_``): the stored record keeps our saved file, not the provider URL,
because xAI's result URLs expire. The file is sent back as a base64 ``data:video/mp4`` URI in
``video.url`` (xAI documents data URIs for images; for video it is our best reading of the
spec, which allows a URL or a file id). Without ``duration`` it is an edit (same length, at most
8.7 s input); with ``duration`` it extends the clip by that many seconds (2 to 10).
xAI has no cancel endpoint: a cancelled call leaves the job resumable by ``job_id``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio

from ...errors import BadProviderResponse, InvalidRequest
from ...leaderboards import AA_I2V, AA_T2V, ARENA_I2V, ARENA_T2V
from ...spec import ANIMATE, VIDEO_CLIPS, VIDEO_EDITS, Call, JobStatus, MediaSupport, MediaType, ModelSpec, Produced
from .._clients import httpx_client
from .._download import download_url
from .._errors import ErrorMap, failure_code, from_status, httpx_errors
from .._frames import fit_frame
from .._video_source import seconds

MEDIA = MediaType.VIDEO
KEY_ENV = "XAI_API_KEY"
ERRORS = ErrorMap("grok", KEY_ENV, httpx_errors)

EDIT_MAX_S = 8.7
EXTEND_RANGE = (2.0, 10.0)
#: Source videos xAI extends (docs.x.ai video overview: "input must be 2-15 seconds").
EXTEND_SOURCE_S = (2.0, 15.0)
#: Reference images per request (docs.x.ai reference-to-video: up to 7), and the longest clip with them.
MAX_REFERENCES = 7
REFERENCES_MAX_S = 10.0
_ASPECTS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3")

SUPPORT = MediaSupport(
    priority=90,
    default_model="grok-imagine-video",
    continuation_prefix="grok_vid",
    operations=(VIDEO_CLIPS, ANIMATE, VIDEO_EDITS),
    models=(
        ModelSpec(
            id="grok-imagine-video",
            long_job=True,
            max_input_images=1,
            continuation=True,
            aspect_ratios=_ASPECTS,
            sizes=("480p", "720p"),
            duration_range=(1, 15),
            max_reference_images=MAX_REFERENCES,
            input_video=True,
            notes="Text/image-to-video up to 15 s at 480p or 720p; edits a video (input_video or continue_from) "
            "of up to 8.7 s, or extends one of 2-15 s by duration (2-10 s).",
        ),
        ModelSpec(
            id="grok-imagine-video-1.5",
            long_job=True,
            max_input_images=1,
            aspect_ratios=_ASPECTS,
            sizes=("480p", "720p", "1080p"),
            duration_range=(1, 15),
            max_reference_images=MAX_REFERENCES,
            options=frozenset({"last_frame"}),
            notes="Native 1080p; last_frame pins the final frame. Neither edits nor extends (xAI serves those on "
            "grok-imagine-video only).",
            source="xai-sdk 1.21.0 (sync/video.py: last_frame 'only supported for grok-imagine-video-1.5'; proto v6 "
            "GenerateVideoRequest.last_frame, sent under that name as its sibling image is)",
            checked="2026-12-03",
            standings=(
                ARENA_T2V.at(4, 1492, "grok-imagine-video-1.5-agent"),
                AA_T2V.at(10, 1046),
                ARENA_I2V.at(8, 1456, "grok-imagine-video-1.5-720p"),
                AA_I2V.at(8, 1099),
            ),
        ),
    ),
)


async def _send(call: Call, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request; any failure comes out as our error (the one translation seam)."""
    client = await httpx_client(call, "grok-httpx")  # the one images use too
    base = (call.base_url or "").rstrip("/")  # the spec declares the default
    headers = {"Authorization": f"Bearer {call.api_key}"}
    with ERRORS:
        resp = await client.request(method, base + path, json=body, headers=headers)
    if resp.status_code >= 400:
        raise from_status(resp.status_code, resp.content, backend="grok", headers=resp.headers, key_env=KEY_ENV)
    try:
        return resp.json()
    except ValueError as exc:
        raise BadProviderResponse("grok sent a malformed response; try again", backend="grok") from exc


async def _image_url(call: Call, data: bytes, mime: str, warnings: list[str], what: str = "") -> dict[str, str]:
    aspect = call.request.aspect_ratio
    if aspect:
        fitted = await anyio.to_thread.run_sync(lambda: fit_frame(data, aspect))
        if fitted.note:
            warnings.append(fitted.note.replace("input image", what, 1) if what else fitted.note)
        data, mime = fitted.data, fitted.mime_type
    return {"url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}


async def _frames(call: Call, body: dict[str, Any], warnings: list[str]) -> None:
    """The first frame (``image``) and, on grok-imagine-video-1.5, the pinned last frame (``last_frame``)."""
    req = call.request
    if (call.input_images or req.last_frame) and req.reference_images:
        raise InvalidRequest("grok takes frames (input_images, last_frame) or reference_images, not both")
    if call.input_images:
        first = call.input_images[0]
        body["image"] = await _image_url(call, first.data, first.mime_type, warnings)
    if req.last_frame:
        last = await call.load_file(req.last_frame, ("image/",))
        body["last_frame"] = await _image_url(call, last.data, last.mime_type, warnings, "last frame")


async def _generation(call: Call, warnings: list[str]) -> tuple[str, dict[str, Any]]:
    req = call.request
    body: dict[str, Any] = {"model": call.model.id, "prompt": call.prompt}
    if req.duration is not None:
        body["duration"] = int(req.duration) if float(req.duration).is_integer() else req.duration
    if req.aspect_ratio:
        body["aspect_ratio"] = req.aspect_ratio
    if req.size:
        body["resolution"] = req.size
    await _frames(call, body, warnings)
    if req.reference_images:  # at most MAX_REFERENCES, checked before the call (ModelSpec)
        if req.duration is not None and req.duration > REFERENCES_MAX_S:
            raise InvalidRequest(f"grok makes at most {REFERENCES_MAX_S:g} s from reference_images; lower duration")
        refs = [await call.load_file(ref, ("image/",)) for ref in req.reference_images]
        body["reference_images"] = [{"url": ref.data_uri()} for ref in refs]
    return "/videos/generations", body


async def _stored_video(call: Call) -> tuple[bytes, float | None]:
    from ...output import probe

    if call.continuation is None or not call.continuation.files:
        raise InvalidRequest("extending needs the video of an earlier grok call; pass its continuation_id")
    path = Path(call.continuation.files[0])
    info = await anyio.to_thread.run_sync(probe, path)
    return await anyio.Path(path).read_bytes(), info.duration_s


async def _source(call: Call) -> tuple[bytes, str, float | None]:
    """The video to edit or extend: the supplied ``input_video`` or the continued clip."""
    if call.input_video is not None:
        return call.input_video.data, call.input_video.mime_type, await seconds(call.input_video)
    data, length = await _stored_video(call)
    return data, "video/mp4", length


async def _continuation(call: Call) -> tuple[str, dict[str, Any]]:
    req = call.request
    if call.input_images or req.reference_images or req.aspect_ratio or req.size:
        raise InvalidRequest("a grok video edit keeps the source's frame; drop input_images, aspect_ratio and size")
    data, mime, seconds_in = await _source(call)
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    body: dict[str, Any] = {"model": call.model.id, "prompt": call.prompt, "video": {"url": url}}
    if req.duration is None:
        if seconds_in is not None and seconds_in > EDIT_MAX_S:
            raise InvalidRequest(
                f"grok edits videos up to {EDIT_MAX_S:g} s and this one is {seconds_in:.1f} s; "
                "give duration to extend it instead"
            )
        return "/videos/edits", body
    low, high = EXTEND_RANGE
    if not low <= req.duration <= high:
        raise InvalidRequest(f"grok extends a video by {low:g} to {high:g} seconds; got duration={req.duration:g}")
    first, last = EXTEND_SOURCE_S
    if seconds_in is not None and not first <= seconds_in <= last:
        raise InvalidRequest(
            f"grok extends videos of {first:g} to {last:g} s and this one is {seconds_in:.1f} s; "
            "give a clip in that range"
        )
    body["duration"] = int(req.duration) if float(req.duration).is_integer() else req.duration
    return "/videos/extensions", body


class GrokVideo:
    """The JobRunner for Grok video."""

    async def submit(self, call: Call) -> dict[str, Any]:
        warnings: list[str] = []
        if call.continuation is not None or call.input_video is not None:
            path, body = await _continuation(call)
        else:
            path, body = await _generation(call, warnings)
        answer = await _send(call, "POST", path, body)
        request_id = answer.get("request_id") if isinstance(answer, dict) else None
        if not request_id:
            raise BadProviderResponse("grok accepted the video but returned no request_id; try again", backend="grok")
        return {"request_id": request_id, "kind": path.rsplit("/", 1)[-1], "warnings": warnings}

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        data = await _send(call, "GET", f"/videos/{handle['request_id']}")
        status = str(data.get("status", "")).lower()
        percent = data.get("progress")
        percent = float(percent) if isinstance(percent, int | float) else None
        if status == "done":
            video = data.get("video") or {}
            if not video.get("url"):
                return JobStatus(
                    "failed",
                    error="grok withheld the video (moderation); rephrase the prompt",
                    error_code="safety_blocked",
                )
            return JobStatus("done", 100.0, result={"url": video["url"], "duration": video.get("duration")})
        if status == "failed":
            error = data.get("error") or {}
            message = str(error.get("message") or "the render failed")
            return JobStatus("failed", error=message, error_code=failure_code(message, error.get("code")))
        if status == "expired":
            return JobStatus(
                "failed", error="the result expired before it was fetched; start a new request", error_code="expired"
            )
        return JobStatus("running" if percent else "queued", percent)

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        url = (status.result or {}).get("url", "")
        path = await download_url(call, url, backend="grok")
        meta = {"request_id": handle["request_id"], "operation": handle.get("kind", "generations")}
        return [
            Produced(
                path=path,
                state={"request_id": handle["request_id"]},
                metadata=meta,
            )
        ]

    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool:
        return False  # xAI documents no way to cancel a video job


RUN = GrokVideo()
