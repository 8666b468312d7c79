"""Gemini Interactions API (Omni video) and Vertex express Veo ``predictLongRunning`` as job state
machines the test drives. Both API versions are accepted; tests assert the one we send.

``fake.state`` keys:
  ``gemini_video_plan``: statuses per ``GET interactions/{id}`` (the last repeats): ``("queued",)``,
      ``("in_progress",)``, ``("completed",)``, ``("failed", message)``. Default: in_progress, completed.
  ``gemini_video_hold``: True keeps every interaction in progress.
  ``gemini_video_inline``: deliver the video inline (base64) instead of a Files URI.
  ``veo_plan``: ``False`` (not done) / ``True`` (done) per fetchPredictOperation (default: not done, done).
  ``video_seconds``: duration of the MP4 served (default 1.0).

An Omni request's content blocks are ``text``, ``image`` and ``video`` (``data`` base64 + ``mime_type``,
as google-genai 3.6.1's ``VideoContent``); a video block is the source of an ``edit``/``extend`` task
and is at most 15 s long. Reference images (image blocks on ``reference_to_video``, or after a
video) are limited per model.
"""

from __future__ import annotations

import base64
import io
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Handler, Recorded

GEMINI = "/gemini"
VERTEX = "/vertex"
ENV = {"GOOGLE_GEMINI_BASE_URL": GEMINI, "GOOGLE_VERTEX_BASE_URL": VERTEX}
_FILES_HOST = "https://generativelanguage.googleapis.com"

#: model-id prefix -> handler, for interactions of models other than video (e.g. Lyria music).
INTERACTIONS: dict[str, Handler] = {}


def _mp4(fake: FakeServer) -> bytes:
    return media.mp4(float(fake.state.get("video_seconds", 1.0)))


def _interactions(fake: FakeServer) -> dict[str, dict]:
    return fake.state.setdefault("gemini_interactions", {})


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": code}}, status)


#: Omni models served today and their longest clip (seconds); a clip with a last frame (two image
#: blocks on image_to_video) is at most 10 s.
OMNI_MAX_S = {"gemini-omni-1.2-flash": 15.0, "gemini-omni-1.1-flash": 10.0}
#: Reference images each Omni model takes, and the longest source video it edits.
OMNI_REFERENCES = {"gemini-omni-1.2-flash": 6, "gemini-omni-1.1-flash": 3}
SOURCE_MAX_S = 15.0


def _video_problem(block: dict) -> str | None:
    import av

    if not str(block.get("mime_type", "")).startswith("video/") or not block.get("data"):
        return "a video block needs base64 data and a video mime_type"
    try:
        data = base64.b64decode(block["data"])
        with av.open(io.BytesIO(data), mode="r") as container:
            seconds = float(container.duration or 0) / 1_000_000
    except (ValueError, av.error.FFmpegError):
        return "the video block is not a readable video"
    return f"the source video is {seconds:.1f}s; at most {SOURCE_MAX_S:g}s" if seconds > SOURCE_MAX_S else None


def _blocks_problem(model: str, task: str | None, blocks: list, previous: object) -> str | None:
    if any(not isinstance(b, dict) or b.get("type") not in ("text", "image", "video") for b in blocks):
        return "content blocks are text, image or video"
    images = [b for b in blocks if b.get("type") == "image"]
    videos = [b for b in blocks if b.get("type") == "video"]
    if len(videos) > 1 or (videos and task not in ("edit", "extend")):
        return "one video block, for an edit or extend task"
    if task in ("edit", "extend") and not (videos or previous):
        return f"task {task} needs a video block or previous_interaction_id"
    refs = len(images) if task == "reference_to_video" or videos else 0
    if refs > OMNI_REFERENCES.get(model, 1):
        return f"{model} takes at most {OMNI_REFERENCES.get(model, 1)} reference images"
    return _video_problem(videos[0]) if videos else None


def _omni_problem(body: dict) -> str | None:
    model = body.get("model")
    seconds = float(str((body.get("response_format") or {}).get("duration") or "0s").rstrip("s") or 0)
    turns = body.get("input") or []
    blocks = turns[0].get("content", []) if turns and isinstance(turns[0], dict) else []
    images = [b for b in blocks if isinstance(b, dict) and b.get("type") == "image"]
    task = ((body.get("generation_config") or {}).get("video_config") or {}).get("task")
    if seconds and not 3 <= seconds <= OMNI_MAX_S.get(str(model), 10.0):
        return f"duration {seconds:g}s is out of range for {model}"
    if task == "image_to_video" and len(images) == 2 and seconds > 10:
        return "a clip with first and last frames is at most 10s"
    return _blocks_problem(str(model), task, blocks, body.get("previous_interaction_id"))


async def create(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("x-goog-api-key"):
        return _error(401, "API key not valid", "UNAUTHENTICATED")
    body = rec.json or {}
    for prefix, handler in INTERACTIONS.items():
        if str(body.get("model", "")).startswith(prefix):
            return await handler(request, rec, fake)
    if body.get("background") is not True or "video" not in (body.get("response_modalities") or []):
        return _error(400, "video needs background=true and response_modalities=[video]", "INVALID_ARGUMENT")
    if body.get("model") not in OMNI_MAX_S:
        return _error(404, f"models/{body.get('model')} is not found for API version v1beta", "NOT_FOUND")
    problem = _omni_problem(body)
    if problem:
        return _error(400, problem, "INVALID_ARGUMENT")
    previous = body.get("previous_interaction_id")
    if previous and previous not in _interactions(fake):
        return _error(404, "previous interaction not found", "NOT_FOUND")
    interaction_id = f"v1_{uuid.uuid4().hex}"
    _interactions(fake)[interaction_id] = {"polls": 0, "body": body}
    return JSONResponse({"id": interaction_id, "status": "in_progress", "model": body.get("model")})


def _finished(fake: FakeServer, interaction_id: str, model: str) -> dict:
    if fake.state.get("gemini_video_inline"):
        video = {"type": "video", "data": base64.b64encode(_mp4(fake)).decode(), "mime_type": "video/mp4"}
    else:
        file_id = interaction_id.replace("_", "")[:20]
        video = {
            "type": "video",
            "uri": f"{_FILES_HOST}/v1beta/files/{file_id}:download?alt=media",
            "mime_type": "video/mp4",
        }
    steps = [{"type": "model_output", "content": [video]}]
    return {"id": interaction_id, "status": "completed", "model": model, "steps": steps}


async def get(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    interaction_id = request.path_params["interaction_id"]
    job = _interactions(fake).get(interaction_id)
    if job is None:
        return _error(404, "interaction not found", "NOT_FOUND")
    model = job["body"].get("model")
    if job.get("cancelled"):
        return JSONResponse({"id": interaction_id, "status": "cancelled", "model": model})
    if fake.state.get("gemini_video_hold"):
        return JSONResponse({"id": interaction_id, "status": "in_progress", "model": model})
    plan = fake.state.get("gemini_video_plan") or [("in_progress",), ("completed",)]
    step = plan[min(job["polls"], len(plan) - 1)]
    job["polls"] += 1
    if step[0] == "completed":
        return JSONResponse(_finished(fake, interaction_id, model))
    if step[0] == "failed":
        errors = [{"code": "INVALID_ARGUMENT", "message": step[1]}]
        return JSONResponse({"id": interaction_id, "status": "failed", "model": model, "errors": errors})
    return JSONResponse({"id": interaction_id, "status": step[0], "model": model})


async def cancel(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _interactions(fake).get(request.path_params["interaction_id"])
    if job is None:
        return _error(404, "interaction not found", "NOT_FOUND")
    job["cancelled"] = True
    return JSONResponse({"id": request.path_params["interaction_id"], "status": "cancelled"})


async def download(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not request.path_params["name"].endswith(":download") or rec.query.get("alt") != "media":
        return _error(404, "file not found", "NOT_FOUND")
    return Response(_mp4(fake), media_type="video/mp4")


async def predict_long_running(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("x-goog-api-key"):
        return _error(401, "API key not valid", "UNAUTHENTICATED")
    instances = (rec.json or {}).get("instances") or []
    if len(instances) != 1 or not instances[0].get("prompt"):
        return _error(400, "one instance with a prompt is required", "INVALID_ARGUMENT")
    model = request.path_params["model"]
    name = f"publishers/google/models/{model}/operations/{uuid.uuid4().hex}"
    fake.state.setdefault("veo_operations", {})[name] = {"polls": 0}
    return JSONResponse({"name": name})


async def fetch_operation(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    name = (rec.json or {}).get("operationName", "")
    operation = fake.state.get("veo_operations", {}).get(name)
    if operation is None:
        return _error(404, "operation not found", "NOT_FOUND")
    plan = fake.state.get("veo_plan") or [False, True]
    done = plan[min(operation["polls"], len(plan) - 1)]
    operation["polls"] += 1
    if not done:
        return JSONResponse({"name": name, "done": False})
    video = {"bytesBase64Encoded": base64.b64encode(_mp4(fake)).decode(), "mimeType": "video/mp4"}
    return JSONResponse({"name": name, "done": True, "response": {"videos": [video]}})


def register(fake: FakeServer) -> None:
    fake.route("google", GEMINI + "/{version}/interactions", ["POST"], create)
    fake.route("google", GEMINI + "/{version}/interactions/{interaction_id}", ["GET"], get)
    fake.route("google", GEMINI + "/{version}/interactions/{interaction_id}/cancel", ["POST"], cancel)
    fake.route("google", GEMINI + "/{version}/files/{name}", ["GET"], download)
    models = VERTEX + "/{version}/publishers/google/models/{model}"
    fake.route("google", models + ":predictLongRunning", ["POST"], predict_long_running)
    fake.route("google", models + ":fetchPredictOperation", ["POST"], fetch_operation)
