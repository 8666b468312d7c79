"""xAI's video REST API (``/v1/videos/...``) as a job state machine the test drives.

``fake.state`` keys:
  ``xai_video_plan``: list of poll answers, one per ``GET /videos/{id}`` (the last repeats):
      ``("pending", percent)``, ``("done",)``, ``("failed", message)``, ``("expired",)``,
      ``("withheld",)`` (done but moderated: empty url). Default: pending 0, pending 50, done.
  ``xai_video_hold``: True keeps every job pending (the test flips it to let jobs finish).
  ``xai_video_seconds``: duration of the MP4 served (default 1.0).
  ``xai_video_big``: serve a ~N MB valid MP4 (padded) through a streaming response.
"""

from __future__ import annotations

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


async def submit(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not _auth_ok(rec):
        return JSONResponse({"code": "unauthenticated", "error": "Incorrect API key provided"}, 401)
    body = rec.json or {}
    if not body.get("prompt") and "image" not in body:
        return JSONResponse({"code": "invalid-argument", "error": "prompt is required"}, 400)
    duration = body.get("duration")
    if duration is not None and not 1 <= duration <= 15:
        return JSONResponse({"code": "invalid-argument", "error": "duration must be 1 to 15"}, 400)
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
