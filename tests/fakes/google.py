"""Gemini Developer API ``models/{model}:generateContent`` (image models).

As Google does today (2026-12), retired models answer 404 "not found": ``gemini-3.1-flash-image``
(shut down 2026-10-29) and Imagen (no ``:predict`` route); Nano Banana 2.1 refuses the 512 size.

google-genai 3.4 with a custom base URL posts to ``{base}/v1/models/...`` (Developer API) and
``{base}/v1beta1/publishers/google/models/...`` (Vertex); both API versions are accepted here.
The fake checks the documented shapes, issues a ``thoughtSignature`` on every model part and
rejects a replayed model image part without a signature it issued (as Gemini 3 does).
Google Search grounding (``tools: [{"googleSearch": {}}]``) is accepted by the models Google grounds
(Nano Banana 2.1 and 3 Pro Image; others answer 400), and the candidate then carries
``groundingMetadata`` (the queries and the pages used).
Prompt triggers (in the last user text): "blocked-prompt" (promptFeedback.blockReason),
"unsafe-image" (finishReason IMAGE_SAFETY, no image), "only-text" (text and no image).

Video modules that need ``generateContent`` for other models register a handler in
``GENERATE_CONTENT`` keyed by model-id prefix (this route is registered first).
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Handler, Recorded

GEMINI = "/gemini"
VERTEX = "/vertex"
ENV = {"GOOGLE_GEMINI_BASE_URL": GEMINI, "GOOGLE_VERTEX_BASE_URL": VERTEX}

IMAGE_MODELS = {"gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-lite-image"}
#: Image models that take the Google Search tool.
GROUNDED_MODELS = {"gemini-nano-banana-2.1", "gemini-3-pro-image"}
#: Sizes a model refuses with 400 (Nano Banana 2.1 has no 512 tier).
REFUSED_SIZES = {"gemini-nano-banana-2.1": {"512"}}
ASPECTS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1", "1:8", "8:1"}
SIZES = {"512", "1K", "2K", "4K"}

#: model-id prefix -> handler, for generateContent models other than the image models.
GENERATE_CONTENT: dict[str, Handler] = {}

_counter = itertools.count(1)


def b64(text: str) -> bytes:
    """Decode base64 as Google accepts it: standard or URL-safe alphabet (the SDK sends URL-safe)."""
    text = text.replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(code: int, status: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "status": status}}, code)


def _dims(aspect: str | None, size: str | None) -> tuple[int, int]:
    w, h = (float(x) for x in (aspect or "1:1").split(":"))
    base = {"512": 32, "2K": 96, "4K": 128}.get(size or "", 64)
    return (base, max(4, round(base * h / w))) if w >= h else (max(4, round(base * w / h)), base)


def _check_part(part: Any, role: str, fake: FakeServer) -> str | None:
    if not isinstance(part, dict) or ("text" in part) == ("inlineData" in part):
        return "each part needs exactly one of text or inlineData"
    if "inlineData" in part:
        blob = part["inlineData"]
        mime = blob.get("mimeType") or blob.get("mime_type")
        if not mime or not str(mime).startswith("image/") or not b64(blob.get("data", "")):
            return "inlineData needs image data and a mimeType"
        issued = fake.state.get("gemini_signatures", set())
        if role == "model" and b64(part.get("thoughtSignature") or "") not in issued:
            return "Image part is missing a thought_signature (or it is not one this model issued)"
    return None


def _check(body: Any, fake: FakeServer) -> str | None:
    contents = body.get("contents") if isinstance(body, dict) else None
    if not isinstance(contents, list) or not contents or contents[-1].get("role") != "user":
        return "contents must end with a user turn"
    for content in contents:
        if content.get("role") not in ("user", "model") or not content.get("parts"):
            return "each content needs a role (user/model) and parts"
        for part in content["parts"]:
            problem = _check_part(part, content["role"], fake)
            if problem:
                return problem
    config = body.get("generationConfig") or {}
    if "IMAGE" not in (config.get("responseModalities") or []):
        return "responseModalities must include IMAGE for an image model"
    image_config = config.get("imageConfig") or {}
    if set(image_config) - {"aspectRatio", "imageSize"}:
        return f"unknown imageConfig fields {sorted(image_config)}"
    if image_config.get("aspectRatio", "1:1") not in ASPECTS or image_config.get("imageSize", "1K") not in SIZES:
        return "invalid aspectRatio or imageSize"
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or any(t != {"googleSearch": {}} for t in tools)):
        return f"unsupported tools {tools!r} (an image model takes only googleSearch)"
    return None


def _grounding(prompt: str) -> dict:
    query = prompt.strip()[:60]
    page = {
        "web": {"uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/abc", "title": "example.com"}
    }
    return {"webSearchQueries": [query], "groundingChunks": [page], "searchEntryPoint": {"renderedContent": "<div/>"}}


def _signature(fake: FakeServer) -> str:
    raw = f"signature>{next(_counter)}?".encode()  # bytes whose base64 has + or / in it
    fake.state.setdefault("gemini_signatures", set()).add(raw)
    return base64.b64encode(raw).decode()


def _candidate(body: dict, prompt: str, fake: FakeServer) -> dict:
    if "unsafe-image" in prompt:
        rating = {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
        return {"finishReason": "IMAGE_SAFETY", "safetyRatings": [rating], "index": 0}
    if "only-text" in prompt:
        text = "I cannot draw that, but here is a description of a calm sea."
        return {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
    image_config = (body.get("generationConfig") or {}).get("imageConfig") or {}
    width, height = _dims(image_config.get("aspectRatio"), image_config.get("imageSize"))
    png = fake.state.get("gemini_image_bytes") or media.png(width, height)
    parts = [
        {"text": "Here is the image.", "thoughtSignature": _signature(fake)},
        {
            "inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()},
            "thoughtSignature": _signature(fake),
        },
    ]
    return {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}


async def generate_content(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    model = rec.path_params["model"]
    for prefix, handler in GENERATE_CONTENT.items():
        if model.startswith(prefix):
            return await handler(request, rec, fake)
    if not rec.headers.get("x-goog-api-key"):
        return _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers. Please use an API Key.")
    if model not in IMAGE_MODELS:
        return _error(404, "NOT_FOUND", f"models/{model} is not found for API version {rec.path_params['version']}")
    problem = _check(rec.json, fake)
    size = ((rec.json.get("generationConfig") or {}).get("imageConfig") or {}).get("imageSize")
    if not problem and size in REFUSED_SIZES.get(model, ()):
        problem = f"imageSize {size} is not supported by {model}"
    if not problem and rec.json.get("tools") and model not in GROUNDED_MODELS:
        problem = f"Search grounding is not supported by {model}"
    if problem:
        return _error(400, "INVALID_ARGUMENT", problem)
    last = rec.json["contents"][-1]["parts"]
    prompt = " ".join(p.get("text", "") for p in last)
    usage = {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302}
    if "blocked-prompt" in prompt:
        feedback = {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "The prompt violates policy."}
        return JSONResponse({"promptFeedback": feedback, "usageMetadata": usage})
    candidate = _candidate(rec.json, prompt, fake)
    if rec.json.get("tools"):
        candidate["groundingMetadata"] = _grounding(prompt)
    return JSONResponse({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})


def register(fake: FakeServer) -> None:
    fake.route("google", GEMINI + "/{version}/models/{model}:generateContent", ["POST"], generate_content)
