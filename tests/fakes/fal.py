"""fal's queue API (``queue.fal.run``) and its per-endpoint OpenAPI documents, as the test drives them.

Submit ``POST /fal/<endpoint id>`` answers ``{request_id, status_url, response_url, cancel_url}``
built, as fal builds them, from the app id alone (``owner/app``, the endpoint's sub-path dropped):
a client that rebuilds them from the full endpoint id gets 404. Every submit is validated against
the endpoint's input schema (the same document ``GET /fal-openapi/openapi.json?endpoint_id=`` serves),
so a misspelt or unknown field fails the test. Auth is ``Authorization: Key ...``.

``fake.state`` keys:
  ``fal_plan``: status answers per poll (the last repeats): ``("queue", position)``,
      ``("progress", [log lines])``, ``("done",)``, ``("failed", message)`` (fails after IN_PROGRESS:
      COMPLETED with ``error``, its result a 500). Default: queue 2, progress ["loading"], done.
  ``fal_hold``: True keeps every request IN_PROGRESS.
  ``fal_gone``: endpoint ids that answer 404 (no longer served).
  ``fal_url_expired``: the result files answer 403 (their signed URL expired).
  ``fal_seconds``: duration of the MP4 served (default 1.0); ``fal_image_bytes``: the bytes of each image.
  ``fal_foreign_urls``: the submit answer's URLs name another origin (``localhost`` for ``127.0.0.1``).
"""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded

PREFIX = "/fal"
SCHEMA_PATH = "/fal-openapi/openapi.json"
ENV = {"FAL_BASE_URL": PREFIX, "FAL_SCHEMA_URL": SCHEMA_PATH, "FAL_API_URL": "/fal-api/v1"}
_DEFAULT_PLAN = [("queue", 2), ("progress", ["loading weights"]), ("done",)]

_STR, _INT, _NUM, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
_URL = {"type": "string", "pattern": "^(https?://|data:)"}
_URLS = {"type": "array", "items": _URL}


def _enum(*values: Any) -> dict[str, Any]:
    return {"enum": list(values)}


def _durations(low: int, high: int) -> dict[str, Any]:
    return _enum(*(str(s) for s in range(low, high + 1)))


def _video(t2v: dict[str, Any], i2v: dict[str, Any], r2v: dict[str, Any] | None = None) -> dict[str, dict]:
    return {"text": t2v, "image": i2v, **({"reference": r2v} if r2v else {})}


_SD_ASPECT = _enum("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_ASPECT = _enum("16:9", "9:16", "1:1", "4:3", "3:4")
_SD25 = {"prompt": _STR, "aspect_ratio": _SD_ASPECT, "resolution": _enum("480p", "720p"), "duration": _durations(4, 30)}
_SD25 |= {"generate_audio": _BOOL}
_SD20 = {**_SD25, "resolution": _enum("480p", "720p", "1080p"), "duration": _durations(4, 15), "seed": _INT}
_WAN = {"prompt": _STR, "aspect_ratio": _ASPECT, "resolution": _enum("480p", "720p", "1080p"), "audio": _BOOL}
_WAN |= {"duration": {"type": "integer", "minimum": 2, "maximum": 30}, "enable_prompt_expansion": _BOOL}
_H3 = {"prompt": _STR, "resolution": _enum("480P", "768P", "1080P"), "seed": _INT}
_H3 |= {
    "duration": {"type": "number", "minimum": 0.92, "maximum": 15},
    "prompt_expansion_mode": _enum("balanced", "disabled"),
}
_FLUX3 = {"prompt": _STR, "aspect_ratio": _enum("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"), "seed": _INT}
_FLUX3 |= {"resolution": _enum("720p", "1080p"), "duration": _enum("5", "6", "8", "10", "12", "15", "20")}
_FLUX3 |= {"generate_audio": _BOOL}
_HH = {"prompt": _STR, "aspect_ratio": _ASPECT, "resolution": _enum("720p", "1080p"), "seed": _INT}
_HH |= {"duration": {"type": "integer", "minimum": 3, "maximum": 15}}
_OMNI = {
    "prompt": _STR,
    "aspect_ratio": _enum("16:9", "9:16"),
    "duration": {"type": "integer", "minimum": 3, "maximum": 10},
}
_GROK = {"prompt": _STR, "aspect_ratio": _enum("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3")}
_GROK |= {"resolution": _enum("480p", "720p"), "duration": {"type": "integer", "minimum": 1, "maximum": 15}}

#: family -> mode -> (input properties, required)
VIDEO: dict[str, dict[str, dict]] = {
    "bytedance/seedance-2.5": _video(
        _SD25, {**_SD25, "image_url": _URL, "end_image_url": _URL}, {**_SD25, "image_urls": _URLS}
    ),
    "bytedance/seedance-2.0": _video(
        _SD20, {**_SD20, "image_url": _URL, "end_image_url": _URL}, {**_SD20, "image_urls": _URLS}
    ),
    "alibaba/wan-3.0": _video(_WAN, {**_WAN, "start_image_url": _URL}, {**_WAN, "reference_image_urls": _URLS}),
    "minimax/h3-max": _video(
        {**_H3, "aspect_ratio": _enum("16:9", "9:16", "1:1")},
        {**_H3, "image_url": _URL, "end_image_url": _URL},
        {**_H3, "reference_image_urls": _URLS, "reference_video_urls": _URLS},
    ),
    "blackforestlabs/flux-3": _video(_FLUX3, {**_FLUX3, "image_url": _URL, "end_image_url": _URL}),
    "alibaba/happy-horse": _video(_HH, {**_HH, "image_url": _URL}, {**_HH, "reference_image_urls": _URLS}),
    "google/gemini-omni-flash/v1.1": _video(_OMNI, {**_OMNI, "image_url": _URL}, {**_OMNI, "image_urls": _URLS}),
    "xai/grok-imagine-video/v1.5": _video(_GROK, {**_GROK, "image_url": _URL}),
}
_REQUIRED = {"minimax/h3-max": ["prompt", "prompt_expansion_mode"]}

_SIZES = _enum("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
_N = {"type": "integer", "minimum": 1, "maximum": 4}
_GPT = {"prompt": _STR, "quality": _enum("low", "medium", "high"), "num_images": _N}
_REVE_21 = ("4:1", "3:1", "21:9", "2:1", "17:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16")
_REVE_21 += ("1:2", "1:3", "1:4")
#: family -> (text endpoint, its properties, edit endpoint or None, the edit's image field)
IMAGES: dict[str, tuple[str, dict, str | None, str]] = {
    "bytedance/seedream/v5/pro": (
        "bytedance/seedream/v5/pro/text-to-image",
        {"prompt": _STR, "image_size": _SIZES, "num_images": _N},
        "bytedance/seedream/v5/pro/edit",
        "image_urls",
    ),
    "fal-ai/reve": (
        "fal-ai/reve/text-to-image",
        {"prompt": _STR, "aspect_ratio": _enum("16:9", "9:16", "3:2", "2:3", "4:3", "3:4", "1:1"), "num_images": _N}
        | {"output_format": _enum("png", "jpeg", "webp")},
        "fal-ai/reve/edit",
        "image_url",
    ),
    "microsoft/mai-image-2.5": (
        "microsoft/mai-image-2.5",
        {"prompt": _STR, "num_images": _N, "output_format": _enum("jpeg", "png", "webp")}
        | {"aspect_ratio": _enum("auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16")},
        "microsoft/mai-image-2.5/edit",
        "image_urls",
    ),
    "reve/2.1": (
        "reve/2.1/text-to-image",
        {"prompt": {**_STR, "minLength": 1, "maxLength": 4000}, "num_images": _N}
        | {"aspect_ratio": _enum(*_REVE_21, "auto"), "output_format": _enum("png", "jpeg", "webp")},
        "reve/2.1/edit",
        "image_url",
    ),
    "meta/muse-image": (
        "meta/muse-image/text-to-image",
        {"prompt": _STR, "num_images": {"type": "integer", "minimum": 1, "maximum": 10}}
        | {"aspect_ratio": _enum("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")}
        | {"output_format": _enum("jpeg", "png", "webp")},
        "meta/muse-image/edit",
        "image_urls",
    ),
    "fal-ai/flux-2-max": (
        "fal-ai/flux-2-max",
        {"prompt": _STR, "image_size": _SIZES, "seed": _INT, "num_images": _N, "output_format": _enum("png", "jpeg")},
        "fal-ai/flux-2-max/edit",
        "image_urls",
    ),
    "openai/gpt-image-2.5/sunburst": (
        "openai/gpt-image-2.5/sunburst/text-to-image",
        _GPT,
        "openai/gpt-image-2.5/sunburst/edit",
        "image_urls",
    ),
    "openai/gpt-image-2.5/flare": (
        "openai/gpt-image-2.5/flare/text-to-image",
        _GPT,
        "openai/gpt-image-2.5/flare/edit",
        "image_urls",
    ),
    "openai/gpt-image-2": ("openai/gpt-image-2", _GPT, "openai/gpt-image-2/edit", "image_urls"),
    "xai/grok-imagine-image/v2.0": (
        "xai/grok-imagine-image/v2.0/text-to-image",
        {"prompt": _STR, "num_images": _N, "aspect_ratio": _enum("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")},
        None,
        "",
    ),
    "fal-ai/nano-banana-2": (
        "fal-ai/nano-banana-2",
        {"prompt": _STR, "num_images": _N, "seed": _INT, "resolution": _enum("1K", "2K", "4K")}
        | {"aspect_ratio": _enum("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9")}
        | {"output_format": _enum("png", "jpeg", "webp")},
        "fal-ai/nano-banana-2/edit",
        "image_urls",
    ),
}

#: Endpoints no declaration knows: reached as ``fal:<id>``.
OPEN = {
    "fal-ai/acme/tiny-video": (
        {"prompt": _STR, "duration": _enum("3", "6"), "aspect_ratio": _enum("16:9", "9:16"), "motion": _NUM},
        ["prompt"],
    ),
    "fal-ai/acme/pixel-art": ({"prompt": _STR, "image_size": _SIZES, "palette": _STR}, ["prompt"]),
    "fal-ai/acme/upscale": ({"image_url": _URL, "scale": _INT}, ["image_url"]),
    "fal-ai/acme/sticker": ({"prompt": _STR, "style_preset": _enum("cute", "bold")}, ["prompt", "style_preset"]),
}


def schemas() -> dict[str, tuple[dict, list[str]]]:
    """Every endpoint the fake serves: its input properties and required fields."""
    found: dict[str, tuple[dict, list[str]]] = dict(OPEN)
    for family, modes in VIDEO.items():
        for mode, props in modes.items():
            found[f"{family}/{mode}-to-video"] = (props, _REQUIRED.get(family, ["prompt"]))
    for text, props, edit, field in IMAGES.values():
        found[text] = (props, ["prompt"])
        if edit:
            found[edit] = ({**props, field: _URLS if field.endswith("_urls") else _URL}, ["prompt", field])
    return found


_SCHEMAS = schemas()


def is_video(endpoint: str) -> bool:
    return endpoint.endswith("-to-video") or endpoint == "fal-ai/acme/tiny-video"


def openapi(endpoint: str) -> dict[str, Any]:
    props, required = _SCHEMAS[endpoint]
    name = "".join(part.title() for part in endpoint.replace("-", "/").replace(".", "/").split("/")) + "Input"
    return {
        "openapi": "3.0.4",
        "info": {"title": "Queue OpenAPI for " + endpoint, "x-fal-metadata": {"endpointId": endpoint}},
        "components": {
            "schemas": {
                name: {"type": "object", "properties": props, "required": required, "additionalProperties": False}
            }
        },
        "paths": {
            f"/{endpoint}": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
                    }
                }
            },
            f"/{endpoint}/requests/{{request_id}}/status": {"get": {}},
        },
    }


def _requests(fake: FakeServer) -> dict[str, dict]:
    return fake.state.setdefault("fal_requests", {})


def _app(endpoint: str) -> str:
    return "/".join(endpoint.split("/")[:2])


async def serve_schema(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    endpoint = request.query_params.get("endpoint_id", "")
    if endpoint not in _SCHEMAS or endpoint in fake.state.get("fal_gone", ()):
        return JSONResponse({"detail": f"Endpoint {endpoint} not found"}, 404)
    return JSONResponse(openapi(endpoint))


async def submit(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("authorization", "").startswith("Key "):
        return JSONResponse({"detail": "Unauthorized"}, 401)
    endpoint = request.path_params["endpoint"]
    if endpoint not in _SCHEMAS or endpoint in fake.state.get("fal_gone", ()):
        return JSONResponse({"detail": f"Application '{endpoint}' not found"}, 404)
    props, required = _SCHEMAS[endpoint]
    schema = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    try:
        jsonschema.validate(rec.json, schema)
    except jsonschema.ValidationError as exc:
        fake.validation_errors.append(f"fal {endpoint}: {exc.message}")
        return JSONResponse({"detail": [{"loc": ["body", *exc.path], "msg": exc.message}]}, 422)
    request_id = str(uuid.uuid4())
    _requests(fake)[request_id] = {"endpoint": endpoint, "body": rec.json, "polls": 0, "cancelled": False}
    host = fake.url.replace("127.0.0.1", "localhost") if fake.state.get("fal_foreign_urls") else fake.url
    base = f"{host}{PREFIX}/{_app(endpoint)}/requests/{request_id}"
    return JSONResponse(
        {
            "request_id": request_id,
            "status_url": base + "/status",
            "response_url": base,
            "cancel_url": base + "/cancel",
            "queue_position": 0,
        }
    )


def _job(request: Request, fake: FakeServer) -> dict | None:
    job = _requests(fake).get(request.path_params["request_id"])
    if job is None or _app(job["endpoint"]) != request.path_params["app"]:
        return None
    return job


def _step(job: dict, fake: FakeServer) -> tuple:
    if job["cancelled"]:
        return ("cancelled",)
    if fake.state.get("fal_hold"):
        return ("progress", ["still rendering"])
    plan = fake.state.get("fal_plan") or _DEFAULT_PLAN
    return plan[min(job["polls"], len(plan) - 1)]


async def status(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _job(request, fake)
    if job is None:
        return JSONResponse({"detail": "Request not found"}, 404)
    step = _step(job, fake)
    job["polls"] += 1
    url = str(request.url).split("?")[0].removesuffix("/status")
    logs = request.query_params.get("logs") == "1"
    if step[0] == "queue":
        return JSONResponse({"status": "IN_QUEUE", "queue_position": step[1], "response_url": url}, 202)
    if step[0] == "progress":
        entries = [
            {"message": m, "level": "INFO", "source": "user", "timestamp": "2026-12-03T12:00:00Z"} for m in step[1]
        ]
        return JSONResponse({"status": "IN_PROGRESS", "logs": entries if logs else None, "response_url": url}, 202)
    body: dict[str, Any] = {"status": "COMPLETED", "logs": [] if logs else None, "response_url": url}
    if step[0] == "failed":
        body |= {"error": step[1], "error_type": "runner_failed"}
    job["final"] = step
    return JSONResponse(body)


async def result(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _job(request, fake)
    if job is None:
        return JSONResponse({"detail": "Request not found"}, 404)
    final = job.get("final") or ("pending",)
    if final[0] == "cancelled":
        return JSONResponse({"detail": "Request was cancelled"}, 400)
    if final[0] == "failed":
        return JSONResponse({"detail": final[1]}, 500)
    if final[0] != "done":
        return JSONResponse({"detail": "Request is still in progress"}, 400)
    rid = request.path_params["request_id"]
    if is_video(job["endpoint"]):
        file = {"url": f"{fake.url}{PREFIX}/_files/{rid}.mp4", "content_type": "video/mp4", "file_name": "out.mp4"}
        return JSONResponse({"video": file, "seed": 42})
    count = int((job["body"] or {}).get("num_images", 1))
    images = [
        {"url": f"{fake.url}{PREFIX}/_files/{rid}-{i}.png", "content_type": "image/png", "width": 64, "height": 64}
        for i in range(count)
    ]
    return JSONResponse({"images": images, "seed": 42})


async def cancel(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    job = _job(request, fake)
    if job is None:
        return JSONResponse({"status": "NOT_FOUND"}, 404)
    if job.get("final"):
        return JSONResponse({"status": "ALREADY_COMPLETED"}, 400)
    job["cancelled"] = True
    return JSONResponse({"status": "CANCELLATION_REQUESTED"}, 202)


async def download(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if fake.state.get("fal_url_expired"):
        return Response(b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", 403)
    name = request.path_params["name"]
    if name.endswith(".mp4"):
        return Response(media.mp4(float(fake.state.get("fal_seconds", 1.0))), media_type="video/mp4")
    return Response(fake.state.get("fal_image_bytes") or media.png(64, 64), media_type="image/png")


def register(fake: FakeServer) -> None:
    fake.route("fal", SCHEMA_PATH, ["GET"], serve_schema)
    fake.route("fal", f"{PREFIX}/_files/{{name}}", ["GET"], download)
    fake.route("fal", f"{PREFIX}/{{app:path}}/requests/{{request_id}}/status", ["GET"], status)
    fake.route("fal", f"{PREFIX}/{{app:path}}/requests/{{request_id}}/cancel", ["PUT"], cancel)
    fake.route("fal", f"{PREFIX}/{{app:path}}/requests/{{request_id}}", ["GET"], result)
    fake.route("fal", f"{PREFIX}/{{endpoint:path}}", ["POST"], submit)
