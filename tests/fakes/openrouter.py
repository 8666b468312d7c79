"""OpenRouter's chat completions with image output (``/api/v1/chat/completions``).

Checks the documented request shape (Bearer auth, ``modalities`` with "image", content parts of
type text/image_url with data or https URLs, ``image_config`` keys) and answers with
``choices[0].message.images``. Prompt triggers: "moderation-block" (403 with metadata.reasons),
"no-credits" (402), "just-text" (an answer with text and no image), "in-band-error" (HTTP 200
carrying an error object). ``fake.state["openrouter_url"] = True`` answers with a URL served here.
"""

from __future__ import annotations

import base64
import itertools
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded

PREFIX = "/openrouter/api/v1"
ENV = {"OPENROUTER_BASE_URL": PREFIX}

_ids = itertools.count(1)
_ASPECT_DIMS = {"16:9": (64, 36), "9:16": (36, 64), "1:1": (48, 48), "4:3": (64, 48), "3:4": (48, 64)}


def _error(status: int, message: str, metadata: dict | None = None) -> JSONResponse:
    err: dict = {"code": status, "message": message}
    if metadata:
        err["metadata"] = metadata
    return JSONResponse({"error": err}, status)


def _check(body: dict) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model is required"
    modalities = body.get("modalities")
    if not isinstance(modalities, list) or "image" not in modalities or set(modalities) - {"image", "text"}:
        return "modalities must include image"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages is required"
    for part in messages[-1].get("content") or []:
        if part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            if not url.startswith(("data:image/", "https://")):
                return "image_url.url must be a data URL or https URL"
        elif part.get("type") != "text":
            return f"unknown content part {part.get('type')}"
    config = body.get("image_config")
    if config is not None and (not isinstance(config, dict) or set(config) - {"aspect_ratio", "image_size"}):
        return "unknown image_config keys"
    return None


def _prompt(body: dict) -> str:
    parts = body["messages"][-1].get("content") or []
    if isinstance(parts, str):
        return parts
    return " ".join(p.get("text", "") for p in parts if p.get("type") == "text")


def _triggered(prompt: str) -> Response | None:
    if "moderation-block" in prompt:
        return _error(
            403,
            "Input was flagged by the moderation model",
            {"reasons": ["violence", "harassment"], "flagged_input": prompt[:40], "provider_name": "Google"},
        )
    if "no-credits" in prompt:
        return _error(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
    if "in-band-error" in prompt:
        return JSONResponse(
            {
                "id": "gen-err",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "x",
                "error": {"code": 502, "message": "Upstream provider returned an invalid response"},
                "choices": [],
            }
        )
    return None


def _message(body: dict, prompt: str, fake: FakeServer) -> dict:
    if "just-text" in prompt:
        return {"role": "assistant", "content": "I can describe it, but I cannot draw that."}
    dims = _ASPECT_DIMS.get((body.get("image_config") or {}).get("aspect_ratio", ""), (48, 48))
    png = fake.state.get("openrouter_image_bytes") or media.png(*dims)
    if fake.state.get("openrouter_url"):
        name = f"or{next(_ids)}.png"
        fake.state.setdefault("openrouter_files", {})[name] = png
        url = f"{fake.url}{PREFIX}/_files/{name}"
    else:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
    text = "" if body["modalities"] == ["image"] else "Here is your image."
    return {"role": "assistant", "content": text, "images": [{"type": "image_url", "image_url": {"url": url}}]}


#: Models OpenRouter no longer routes (the upstream Google model was shut down 2026-10-29).
RETIRED = {"google/gemini-3.1-flash-image"}


async def chat_completions(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("authorization", "").startswith("Bearer "):
        return _error(401, "No auth credentials found")
    body = rec.json if isinstance(rec.json, dict) else {}
    problem = _check(body)
    if problem:
        return _error(400, problem)
    if body["model"] in RETIRED:  # what OpenRouter answers for a model no provider serves any more
        return _error(404, f"No endpoints found for {body['model']}.")
    prompt = _prompt(body)
    triggered = _triggered(prompt)
    if triggered is not None:
        return triggered
    return JSONResponse(
        {
            "id": f"gen-{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "provider": "Google",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": _message(body, prompt, fake), "logprobs": None}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300},
        }
    )


async def files(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    data = fake.state.get("openrouter_files", {}).get(rec.path_params["name"])
    return Response(data, media_type="image/png") if data else Response(b"gone", 404)


def register(fake: FakeServer) -> None:
    fake.route("openrouter", f"{PREFIX}/chat/completions", ["POST"], chat_completions)
    fake.route("openrouter", f"{PREFIX}/_files/{{name}}", ["GET"], files)
