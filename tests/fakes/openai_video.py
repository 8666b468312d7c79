"""OpenAI's Videos API (Sora) as a job state machine. Bodies are validated by the OpenAPI
validator that ``openai.py`` installs for every ``provider="openai"`` route.

``fake.state`` keys:
  ``openai_video_plan``: poll answers per ``GET /videos/{id}`` (the last repeats):
      ``("queued", 0)``, ``("in_progress", percent)``, ``("completed",)``, ``("failed", message)``.
  ``openai_video_hold``: True keeps every job in progress.
  ``openai_poll_after_ms``: sent as the ``openai-poll-after-ms`` header on polls.
  ``openai_video_seconds``: duration of the MP4 served (default 1.0).
"""

from __future__ import annotations

import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded

PREFIX = "/openai/v1"
ENV = {"OPENAI_BASE_URL": PREFIX}
_DEFAULT_PLAN = [("queued", 0), ("in_progress", 40), ("completed",)]


def _jobs(fake: FakeServer) -> dict[str, dict]:
    return fake.state.setdefault("openai_video_jobs", {})


def _resource(job: dict, status: str, progress: int, error: dict | None = None) -> dict:
    return {
        "id": job["id"],
        "object": "video",
        "model": job["model"],
        "status": status,
        "progress": progress,
        "created_at": int(job["created"]),
        "completed_at": int(time.time()) if status == "completed" else None,
        "expires_at": None,
        "prompt": job["prompt"],
        "seconds": job["seconds"],
        "size": job["size"],
        "remixed_from_video_id": job.get("remixed_from"),
        "error": error,
    }


def _new(fake: FakeServer, **fields: str | None) -> dict:
    job = {"id": f"video_{uuid.uuid4().hex}", "created": time.time(), "polls": 0, **fields}
    _jobs(fake)[job["id"]] = job
    return job


async def create(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("authorization", "").startswith("Bearer "):
        return JSONResponse({"error": {"message": "Missing bearer token"}}, 401)
    form = rec.form
    job = _new(
        fake,
        model=form.get("model") or "sora-2",
        prompt=form.get("prompt"),
        seconds=form.get("seconds") or "4",
        size=form.get("size") or "720x1280",
    )
    return JSONResponse(_resource(job, "queued", 0))


async def remix(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    source = _jobs(fake).get(request.path_params["video_id"])
    if source is None:
        return JSONResponse({"error": {"message": "Video not found"}}, 404)
    job = _new(
        fake,
        model=source["model"],
        prompt=(rec.json or {}).get("prompt"),
        seconds=source["seconds"],
        size=source["size"],
        remixed_from=source["id"],
    )
    return JSONResponse(_resource(job, "queued", 0))


async def retrieve(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _jobs(fake).get(request.path_params["video_id"])
    if job is None:
        return JSONResponse({"error": {"message": "Video not found"}}, 404)
    if request.method == "DELETE":
        job["deleted"] = True
        return JSONResponse({"id": job["id"], "object": "video.deleted", "deleted": True})
    headers = {}
    if fake.state.get("openai_poll_after_ms") is not None:
        headers["openai-poll-after-ms"] = str(fake.state["openai_poll_after_ms"])
    if fake.state.get("openai_video_hold"):
        return JSONResponse(_resource(job, "in_progress", 10), headers=headers)
    plan = fake.state.get("openai_video_plan") or _DEFAULT_PLAN
    step = plan[min(job["polls"], len(plan) - 1)]
    job["polls"] += 1
    if step[0] == "failed":
        error = {"code": "video_generation_failed", "message": step[1]}
        return JSONResponse(_resource(job, "failed", 0, error), headers=headers)
    progress = 100 if step[0] == "completed" else step[1]
    return JSONResponse(_resource(job, step[0], progress), headers=headers)


async def content(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _jobs(fake).get(request.path_params["video_id"])
    if job is None or rec.query.get("variant", "video") != "video":
        return JSONResponse({"error": {"message": "Video not found"}}, 404)
    return Response(media.mp4(float(fake.state.get("openai_video_seconds", 1.0))), media_type="video/mp4")


def register(fake: FakeServer) -> None:
    fake.route("openai", f"{PREFIX}/videos", ["POST"], create)
    fake.route("openai", f"{PREFIX}/videos/{{video_id}}", ["GET", "DELETE"], retrieve)
    fake.route("openai", f"{PREFIX}/videos/{{video_id}}/content", ["GET"], content)
    fake.route("openai", f"{PREFIX}/videos/{{video_id}}/remix", ["POST"], remix)
