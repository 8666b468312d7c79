"""Replicate's predictions API (``/v1/models/{owner}/{name}/predictions``, ``/v1/predictions/{id}``,
``/v1/predictions/{id}/cancel``, ``/v1/files``) as a state machine the test drives.

Each official model has an input schema (the fields it accepts); an unknown field or a missing prompt
is a 422 like Replicate's, an unknown model a 404. ``Prefer: wait=N`` answers with the finished
prediction when the plan lets it finish at once (``replicate_wait_finishes``, default True).

``fake.state`` keys:
  ``replicate_plan``: list of states per ``GET /predictions/{id}`` (the last repeats):
      ``("starting",)``, ``("processing", "logs")``, ``("succeeded",)``, ``("failed", "message")``,
      ``("canceled",)``. Default: starting, processing "45%", succeeded.
  ``replicate_hold``: True keeps every prediction processing (the test flips it to let them finish).
  ``replicate_wait_finishes``: False makes ``Prefer: wait`` answer still processing.
  ``replicate_url_expired``: the output files answer 404 (Replicate's delivery links expire in an hour).
  ``replicate_gone``: model names answered 404 (no longer served).
  ``replicate_image_bytes``: the bytes an image output serves (default: a real PNG).
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded

PREFIX = "/replicate/v1"
ENV = {"REPLICATE_BASE_URL": PREFIX}
_DEFAULT_PLAN = [("starting",), ("processing", "Generating...\n 45%|####5     | 9/20"), ("succeeded",)]

#: The input fields each official model accepts (from its published schema), and what it makes.
SCHEMAS: dict[str, tuple[str, set[str]]] = {
    "black-forest-labs/flux-2-pro": ("png", {"prompt", "input_images", "aspect_ratio", "output_format", "seed"}),
    "alibaba/wan-3": ("mp4", {"prompt", "image", "duration", "resolution", "aspect_ratio", "negative_prompt", "seed"}),
    "minimax/h3": ("mp4", {"prompt", "first_frame_image", "duration", "resolution", "prompt_optimizer"}),
    "black-forest-labs/flux-3": ("mp4", {"prompt", "image", "duration", "resolution", "aspect_ratio", "seed"}),
}


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"title": title, "detail": detail, "status": status}, status)


def _predictions(fake: FakeServer) -> dict[str, dict]:
    return fake.state.setdefault("replicate_predictions", {})


def _view(fake: FakeServer, pid: str) -> dict:
    job = _predictions(fake)[pid]
    base = f"{fake.url}{PREFIX}/predictions/{pid}"
    body = {
        "id": pid,
        "model": job["model"],
        "version": "hidden",
        "input": job["input"],
        "logs": job.get("logs", ""),
        "output": None,
        "error": None,
        "status": job["status"],
        "urls": {"get": base, "cancel": base + "/cancel"},
    }
    if job["status"] == "succeeded":
        ext = SCHEMAS[job["model"]][0]
        url = f"{fake.url}{PREFIX}/_out/{pid}.{ext}"
        body["output"] = url if ext == "mp4" else [url]
    if job["status"] == "failed":
        body["error"] = job.get("error", "failed")
    return body


def _advance(fake: FakeServer, job: dict) -> None:
    if job["status"] in ("succeeded", "failed", "canceled"):
        return
    if fake.state.get("replicate_hold"):
        job["status"], job["logs"] = "processing", "Generating... 10%"
        return
    plan = fake.state.get("replicate_plan") or _DEFAULT_PLAN
    step = plan[min(job["polls"], len(plan) - 1)]
    job["polls"] += 1
    job["status"] = step[0]
    if step[0] == "processing":
        job["logs"] = step[1] if len(step) > 1 else ""
    if step[0] == "failed":
        job["error"] = step[1]


async def create(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("authorization", "").startswith("Bearer "):
        return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
    model = f"{rec.path_params['owner']}/{rec.path_params['name']}"
    if model not in SCHEMAS or model in fake.state.get("replicate_gone", ()):
        return _problem(404, "Not found", "The requested resource could not be found.")
    inputs = (rec.json or {}).get("input")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("prompt"), str):
        return _problem(422, "Input validation failed", "- input: prompt is required")
    extra = sorted(set(inputs) - SCHEMAS[model][1])
    if extra:
        return _problem(422, "Input validation failed", f"- input: Additional property {extra[0]} is not allowed")
    pid = uuid.uuid4().hex[:26]
    _predictions(fake)[pid] = {"model": model, "input": inputs, "status": "starting", "polls": 0}
    if rec.headers.get("prefer", "").startswith("wait") and fake.state.get("replicate_wait_finishes", True):
        job = _predictions(fake)[pid]
        while job["status"] not in ("succeeded", "failed", "canceled") and job["polls"] < 10:
            _advance(fake, job)
    return JSONResponse(_view(fake, pid), 201)


async def get(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _predictions(fake).get(rec.path_params["pid"])
    if job is None:
        return _problem(404, "Not found", "The requested resource could not be found.")
    _advance(fake, job)
    return JSONResponse(_view(fake, rec.path_params["pid"]))


async def cancel(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _predictions(fake).get(rec.path_params["pid"])
    if job is None:
        return _problem(404, "Not found", "The requested resource could not be found.")
    if job["status"] not in ("succeeded", "failed"):
        job["status"] = "canceled"
    return JSONResponse(_view(fake, rec.path_params["pid"]))


async def upload(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    [(name, data, ctype)] = rec.files("content")
    fid = uuid.uuid4().hex[:12]
    fake.state.setdefault("replicate_files", {})[fid] = (data, ctype)
    return JSONResponse(
        {"id": fid, "name": name, "size": len(data), "urls": {"get": f"{fake.url}{PREFIX}/files/{fid}"}}, 201
    )


async def output(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if fake.state.get("replicate_url_expired"):
        return _problem(404, "Not found", "The requested resource could not be found.")
    if rec.path_params["name"].endswith(".mp4"):
        return Response(media.mp4(float(fake.state.get("replicate_seconds", 1.0))), media_type="video/mp4")
    return Response(fake.state.get("replicate_image_bytes") or media.png(96, 64), media_type="image/png")


def register(fake: FakeServer) -> None:
    fake.route("replicate", f"{PREFIX}/models/{{owner}}/{{name}}/predictions", ["POST"], create)
    fake.route("replicate", f"{PREFIX}/predictions/{{pid}}", ["GET"], get)
    fake.route("replicate", f"{PREFIX}/predictions/{{pid}}/cancel", ["POST"], cancel)
    fake.route("replicate", f"{PREFIX}/files", ["POST"], upload)
    fake.route("replicate", f"{PREFIX}/_out/{{name}}", ["GET"], output)
