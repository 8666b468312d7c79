"""OpenAI's wire API (``/v1``): images. Bodies are validated against the request schemas copied from OpenAI's
OpenAPI document (``schemas/openai-requests.json``)."""

from __future__ import annotations

import base64
import dataclasses
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded
from .openapi import OpenAPIValidator, load

PREFIX = "/openai/v1"
#: env var -> path under the fake; the provider's documented base URL includes /v1.
ENV = {"OPENAI_BASE_URL": PREFIX}

_SIZES = {"1024x1024": (64, 64), "1536x1024": (96, 64), "1024x1536": (64, 96), "auto": (64, 64)}
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
#: Values openai 3.57.0 sends for the 2.5/2.6 lines that the stored OpenAPI document predates:
#: checked here against the SDK's literals, then stripped before schema validation.
_NEWER_THAN_DOC = {
    "quality": {"xhigh", "max"},
    "output_format": {"gif", "svg"},
}
#: Image models OpenAI shut down (answered as OpenAI does: 404 model_not_found).
RETIRED = {"gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini", "dall-e-2", "dall-e-3"}
_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16"/></svg>'


def _auth_ok(rec: Recorded) -> bool:
    return rec.headers.get("authorization", "").startswith("Bearer ")


def _image_response(fields: dict[str, str], fake: FakeServer) -> Response:
    size = fields.get("size") or "1024x1024"
    width, height = _SIZES.get(size, (64, 64))
    fmt = fields.get("output_format") or "png"
    if "x" in size and size not in _SIZES:  # a custom WxH: a small image of that shape
        w, h = (int(v) for v in size.split("x"))
        width, height = (64, max(4, 64 * h // w)) if w >= h else (max(4, 64 * w // h), 64)
    n = int(fields.get("n") or 1)
    payload = fake.state.get("openai_image_bytes") or (
        _SVG if fmt == "svg" else media.image(width, height, _FORMATS.get(fmt, "PNG"))
    )
    data = [{"b64_json": base64.b64encode(payload).decode(), "revised_prompt": None} for _ in range(n)]
    return JSONResponse(
        {
            "created": int(time.time()),
            "data": data,
            "output_format": fmt,
            "size": size,
            "quality": fields.get("quality") or "auto",
        }
    )


def _gone(model: str) -> Response:
    message = f"The model `{model}` does not exist or you do not have access to it."
    error = {"message": message, "type": "invalid_request_error", "code": "model_not_found"}
    return JSONResponse({"error": error}, 404)


async def images_generations(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not _auth_ok(rec):
        return JSONResponse({"error": {"message": "Missing bearer token", "type": "invalid_request_error"}}, 401)
    body = rec.json or {}
    if body.get("model") in RETIRED:
        return _gone(body["model"])
    if "safety" in str(body.get("prompt", "")).lower() and "blocked" in str(body.get("prompt", "")).lower():
        return JSONResponse(
            {"error": {"message": "Your request was rejected by the safety system.", "code": "moderation_blocked"}}, 400
        )
    return _image_response({k: str(v) for k, v in body.items() if v is not None}, fake)


async def images_edits(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not _auth_ok(rec):
        return JSONResponse({"error": {"message": "Missing bearer token"}}, 401)
    if not (rec.files("image") or rec.files("image[]")):
        return JSONResponse({"error": {"message": "image is required"}}, 400)
    fields = {k: v for k, v in rec.form.items() if isinstance(v, str)}
    if fields.get("model") in RETIRED:
        return _gone(fields["model"])
    return _image_response(fields, fake)


def register(fake: FakeServer) -> None:
    fake.route("openai", f"{PREFIX}/images/generations", ["POST"], images_generations)
    fake.route("openai", f"{PREFIX}/images/edits", ["POST"], images_edits)
    validator = OpenAPIValidator(load("openai"), prefix=PREFIX)

    def validate(rec: Recorded) -> None:
        if rec.provider != "openai":
            return
        body, form = rec.json, rec.form
        for name, values in _NEWER_THAN_DOC.items():
            if isinstance(body, dict) and body.get(name) in values:
                body = {k: v for k, v in body.items() if k != name}
            if form.get(name) in values:
                form = {k: v for k, v in form.items() if k != name}
        validator(dataclasses.replace(rec, json=body, form=form))

    fake.validators.append(validate)
