"""xAI's REST images API (``/v1/images/generations`` and JSON ``/v1/images/edits``).

Validated like the live API is documented to behave: Bearer auth, the documented enums, no
``size``/``style`` ("Argument not supported"), one ``image`` or up to three ``images``,
``aspect_ratio`` only for multi-image edits. ``grok-imagine-image-2.0`` also takes ``quality`` (low or
medium), up to five ``images`` and the 21:9 and 5:2 ratios; ``quality`` on another model is refused.
``grok-imagine-image-quality`` still resolves (xAI serves it with 2.0 since 2026-11-02). A prompt
containing "moderated" is rejected by moderation; ``fake.state["xai_url"] = True`` answers with URLs
(served here) instead of base64.
"""

from __future__ import annotations

import base64
import itertools

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded

PREFIX = "/xai/v1"
ENV = {"XAI_BASE_URL": PREFIX}

ASPECTS = {"1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20", "20:9", "1:2", "2:1", "auto"}
V2 = "grok-imagine-image-2.0"
_KNOWN = {"model", "prompt", "n", "response_format", "aspect_ratio", "resolution", "user", "image", "images", "quality"}
_MODELS = {"grok-imagine-image", "grok-imagine-image-quality", V2}
_ids = itertools.count(1)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"code": "invalid-argument", "error": message}, status)


def _dims(aspect: str | None) -> tuple[int, int]:
    if not aspect or aspect == "auto":
        return 48, 48
    w, h = (float(x) for x in aspect.split(":"))
    return (64, max(8, round(64 * h / w))) if w >= h else (max(8, round(64 * w / h)), 64)


def _check_common(body: dict) -> str | None:
    unknown = set(body) - _KNOWN
    if unknown:
        return f"Argument not supported: {sorted(unknown)[0]}"
    if body.get("model") not in _MODELS:
        return f"Model not found: {body.get('model')}"
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return "prompt is required"
    if not 1 <= int(body.get("n", 1)) <= 10:
        return "n must be between 1 and 10"
    if body.get("response_format", "url") not in ("url", "b64_json"):
        return "response_format must be url or b64_json"
    if body.get("resolution", "1k") not in ("1k", "2k"):
        return "resolution must be 1k or 2k"
    v2 = body["model"] == V2
    if "quality" in body and (not v2 or body["quality"] not in ("low", "medium")):
        return f"Argument not supported: quality={body['quality']}" if v2 else "Argument not supported: quality"
    aspects = ASPECTS | ({"21:9", "5:2"} if v2 else set())
    if body.get("aspect_ratio") is not None and body["aspect_ratio"] not in aspects:
        return f"Invalid aspect_ratio: {body['aspect_ratio']}"
    return None


def _check_source(source: object) -> str | None:
    if not isinstance(source, dict) or not isinstance(source.get("url"), str):
        return "image must be an object with a url"
    url = source["url"]
    if not url.startswith(("https://", "data:image/")):
        return "image url must be https or a data URL"
    if url.startswith("data:") and not base64.b64decode(url.partition(",")[2]):
        return "image data is empty"
    return None


def _check_edit(body: dict) -> str | None:
    if ("image" in body) == ("images" in body):
        return "give exactly one of image or images"
    sources = [body["image"]] if "image" in body else body["images"]
    most = 5 if body["model"] == V2 else 3
    if not isinstance(sources, list) or not 1 <= len(sources) <= most:
        return f"images must hold 1 to {most} entries"
    if "image" in body and body.get("aspect_ratio"):
        return "aspect_ratio is only supported for multi-image edits"
    return next((err for s in sources if (err := _check_source(s))), None)


def _answer(body: dict, fake: FakeServer) -> Response:
    if "moderated" in body["prompt"].lower():
        return _error("Generated image rejected by content moderation.")
    width, height = _dims(body.get("aspect_ratio"))
    if body.get("resolution") == "2k":
        width, height = width * 2, height * 2
    payload = fake.state.get("xai_image_bytes") or media.image(width, height, "JPEG")
    data = []
    for _ in range(int(body.get("n", 1))):
        if fake.state.get("xai_url") or body.get("response_format", "url") == "url":
            name = f"img{next(_ids)}.jpg"
            fake.state.setdefault("xai_files", {})[name] = payload
            data.append({"url": f"{fake.url}{PREFIX}/_files/{name}", "mime_type": "image/jpeg"})
        else:
            data.append({"b64_json": base64.b64encode(payload).decode(), "mime_type": "image/jpeg"})
    return JSONResponse({"data": data, "usage": {"cost_in_usd_ticks": 200000000}})


def _auth(rec: Recorded) -> JSONResponse | None:
    if not rec.headers.get("authorization", "").startswith("Bearer "):
        return JSONResponse({"code": "unauthenticated", "error": "Missing bearer token"}, 401)
    if "json" not in rec.headers.get("content-type", "") or not isinstance(rec.json, dict):
        return _error("Expected a JSON body", 415)
    return None


async def generations(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    denied = _auth(rec)
    if denied is not None:
        return denied
    if "image" in rec.json or "images" in rec.json:
        return _error("Argument not supported: image")
    err = _check_common(rec.json)
    return _error(err) if err else _answer(rec.json, fake)


async def edits(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    denied = _auth(rec)
    if denied is not None:
        return denied
    err = _check_common(rec.json) or _check_edit(rec.json)
    return _error(err) if err else _answer(rec.json, fake)


async def files(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    data = fake.state.get("xai_files", {}).get(rec.path_params["name"])
    if data is None:
        return Response(b"expired", 404)
    return Response(data, media_type="image/jpeg")


def register(fake: FakeServer) -> None:
    fake.route("xai", f"{PREFIX}/images/generations", ["POST"], generations)
    fake.route("xai", f"{PREFIX}/images/edits", ["POST"], edits)
    fake.route("xai", f"{PREFIX}/_files/{{name}}", ["GET"], files)
