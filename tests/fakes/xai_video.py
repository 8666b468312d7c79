"""xAI's video REST API (``/v1/videos/...``) as a job state machine the test drives.

``fake.state`` keys:
  ``xai_video_plan``: list of poll answers, one per ``GET /videos/{id}`` (the last repeats):
      ``("pending", percent)``, ``("done",)``, ``("failed", message)``, ``("expired",)``,
      ``("withheld",)`` (done but moderated: empty url). Default: pending 0, pending 50, done.
  ``xai_video_hold``: True keeps every job pending (the test flips it to let jobs finish).
  ``xai_video_seconds``: duration of the MP4 served (default 1.0).
  ``xai_video_big``: serve a ~N MB valid MP4 (padded) through a streaming response.

Edits and extensions take ``video: {"url"}`` (an https URL or, as we send it, a ``data:video/...;base64``
URI): the fake decodes a data URI and holds the documented source limits (docs.x.ai video overview):
an edit takes at most 8.7 s, an extension a 2 to 15 s clip and adds 2 to 10 s. A generation takes at
most 7 ``reference_images``, not with ``image``, and at most 10 s with them; ``last_frame: {"url"}``
only on grok-imagine-video-1.5 (xai-sdk 1.21.0).
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from . import media
from .core import FakeServer, Recorded

PREFIX = "/xai/v1"
ENV = {"XAI_BASE_URL": PREFIX}
_DEFAULT_PLAN = [("pending", 0), ("pending", 50), ("done",)]


def _auth_ok(rec: Recorded) -> bool:
    return rec.headers.get("authorization", "").startswith("Bearer ")


def _jobs(fake: FakeServer) -> dict[str, dict]:
    return fake.state.setdefault("xai_video_jobs", {})


def _source_seconds(video: object) -> float | str:
    """The length of an edit's or extension's source video, or what is wrong with it."""
    url = video.get("url", "") if isinstance(video, dict) else ""
    header, _, payload = str(url).partition(",")
    if not (header.startswith("data:video/") and header.endswith(";base64")):
        return "video.url must be a video URL"
    import av

    try:
        with av.open(io.BytesIO(base64.b64decode(payload)), mode="r") as container:
            return float(container.duration or 0) / 1_000_000
    except (ValueError, av.error.FFmpegError):
        return "video.url is not a readable video"


def _problem(kind: str, body: dict) -> str | None:
    duration = body.get("duration")
    if kind == "generations":
        refs = body.get("reference_images") or []
        if "last_frame" in body and (body.get("model") != "grok-imagine-video-1.5" or refs):
            return "last_frame is supported on grok-imagine-video-1.5 only, and not with reference_images"
        if "last_frame" in body and not str((body["last_frame"] or {}).get("url", "")).startswith("data:image/"):
            return "last_frame must be {url}"
        if duration is not None and not 1 <= duration <= (10 if refs else 15):
            return "duration must be 1 to 15 (10 with reference_images)"
        if len(refs) > 7 or (refs and "image" in body):
            return "at most 7 reference_images, and not with image"
        return None
    seconds = _source_seconds(body.get("video"))
    if isinstance(seconds, str):
        return seconds
    if kind == "edits" and (seconds > 8.7 or duration is not None):
        return "an edit takes a video of at most 8.7 s and no duration"
    if kind == "extensions" and (not 2 <= seconds <= 15 or not 2 <= (duration or 6) <= 10):
        return "an extension takes a 2 to 15 s video and adds 2 to 10 s"
    return None


async def submit(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not _auth_ok(rec):
        return JSONResponse({"code": "unauthenticated", "error": "Incorrect API key provided"}, 401)
    body = rec.json or {}
    if not body.get("prompt") and "image" not in body:
        return JSONResponse({"code": "invalid-argument", "error": "prompt is required"}, 400)
    problem = _problem(rec.path.rsplit("/", 1)[-1], body)
    if problem:
        return JSONResponse({"code": "invalid-argument", "error": problem}, 400)
    job_id = str(uuid.uuid4())
    _jobs(fake)[job_id] = {"polls": 0, "body": body, "kind": rec.path.rsplit("/", 1)[-1]}
    return JSONResponse({"request_id": job_id})


def big_mp4(megabytes: int) -> tuple[bytes, int]:
    """A real MP4 followed by a ``free`` box of padding: (head bytes, padding size)."""
    head = media.mp4(1.0)
    pad = megabytes * 1024 * 1024
    return head, pad


async def _padding(head: bytes, pad: int) -> AsyncIterator[bytes]:
    yield head
    yield (pad + 8).to_bytes(4, "big") + b"free"
    chunk = b"\0" * (1024 * 1024)
    left = pad
    while left > 0:
        yield chunk[: min(left, len(chunk))]
        left -= len(chunk)


async def poll(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _jobs(fake).get(request.path_params["request_id"])
    if job is None:
        return JSONResponse({"code": "not-found", "error": "unknown request id"}, 404)
    if fake.state.get("xai_video_hold"):
        return JSONResponse({"status": "pending", "progress": 10, "model": job["body"].get("model")}, 202)
    plan = fake.state.get("xai_video_plan") or _DEFAULT_PLAN
    step = plan[min(job["polls"], len(plan) - 1)]
    job["polls"] += 1
    model = job["body"].get("model", "grok-imagine-video")
    url = f"{fake.url}{PREFIX}/_vidgen/xai-video-{request.path_params['request_id']}.mp4"
    if step[0] == "pending":
        return JSONResponse({"status": "pending", "progress": step[1], "model": model}, 202)
    if step[0] == "failed":
        return JSONResponse(
            {"status": "failed", "progress": 0, "error": {"code": "invalid_argument", "message": step[1]}}
        )
    if step[0] == "expired":
        return JSONResponse({"status": "expired", "progress": 0})
    video = {"url": "" if step[0] == "withheld" else url, "duration": 1, "respect_moderation": step[0] != "withheld"}
    return JSONResponse({"status": "done", "progress": 100, "model": model, "video": video})


async def download(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if fake.state.get("xai_video_url_expired"):
        return Response(b"<Error>AccessDenied</Error>", 403, media_type="application/xml")
    big = fake.state.get("xai_video_big")
    if big:
        head, pad = big_mp4(int(big))
        return StreamingResponse(_padding(head, pad), media_type="video/mp4")
    seconds = float(fake.state.get("xai_video_seconds", 1.0))
    return Response(media.mp4(seconds), media_type="video/mp4")


def register(fake: FakeServer) -> None:
    for kind in ("generations", "edits", "extensions"):
        fake.route("xai", f"{PREFIX}/videos/{kind}", ["POST"], submit)
    fake.route("xai", f"{PREFIX}/videos/{{request_id}}", ["GET"], poll)
    fake.route("xai", f"{PREFIX}/_vidgen/{{name}}", ["GET"], download)
