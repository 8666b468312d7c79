"""OpenAI's text to speech (``POST /v1/audio/speech``): audio bytes in the requested format.

Registered under provider "openai", so tests/fakes/openai.py validates every body against
OpenAI's OpenAPI document. ``fake.state["openai_speech_bytes"]`` overrides the bytes returned.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded

PREFIX = "/openai/v1"
ENV = {"OPENAI_BASE_URL": PREFIX}

_MIME = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "pcm": "audio/pcm",
}


async def speech(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("authorization", "").startswith("Bearer "):
        return JSONResponse({"error": {"message": "Missing bearer token", "type": "invalid_request_error"}}, 401)
    body = rec.json or {}
    fmt = body.get("response_format") or "mp3"
    if fmt not in _MIME:
        return JSONResponse({"error": {"message": f"Invalid response_format {fmt!r}"}}, 400)
    payload = fake.state.get("openai_speech_bytes") or media.audio(fmt, 1.0)
    return Response(payload, media_type=_MIME[fmt])


def register(fake: FakeServer) -> None:
    fake.route("openai", f"{PREFIX}/audio/speech", ["POST"], speech)
