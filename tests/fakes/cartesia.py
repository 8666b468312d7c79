"""Cartesia's TTS API (``/tts/bytes``, ``/tts/sse``, ``/voices``) as the SDK calls it.

``/tts/bytes`` answers MP3 or WAV per ``output_format.container``; ``/tts/sse`` streams ``chunk`` events
(base64 raw PCM), one ``timestamps`` event per few words, then ``done``. Requests are checked like
Cartesia checks them: the ``cartesia-version`` header, a known ``model_id``, a voice id that exists,
an output format it documents. ``fake.state`` keys:
  ``cartesia_fail_after``: the stream sends this many chunks, then an ``error`` event (a failure mid-speech).
  ``cartesia_hold``: the stream sends one chunk, then waits (for cancellation); the fake records the
      client going away in ``cartesia_disconnected``.
  ``cartesia_gone``: model ids answered 404 (no longer served).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from . import media
from .core import FakeServer, Recorded

PREFIX = "/cartesia"
ENV = {"CARTESIA_BASE_URL": PREFIX}
MODELS = {"sonic-3.6", "sonic-3.5", "sonic-3"}
VOICES = [
    {"id": "9626c31c-bec5-4cca-baa8-f8ba9e84c8bc", "name": "Jacqueline"},
    {"id": "a0e99841-438c-4a64-b679-ae501e7d6091", "name": "Barbershop Man"},
    {"id": "694f9389-aac1-45b6-b726-9d9369183238", "name": "Sarah"},
]
RATES = {8000, 16000, 22050, 24000, 44100, 48000}


def _error(status: int, title: str, message: str) -> JSONResponse:
    return JSONResponse({"title": title, "message": message, "error_code": title.lower().replace(" ", "_")}, status)


def _check(rec: Recorded, fake: FakeServer, containers: set[str]) -> JSONResponse | None:
    if not rec.headers.get("authorization", "").startswith("Bearer "):
        return _error(401, "Unauthorized", "invalid API key")
    if not rec.headers.get("cartesia-version"):
        return _error(400, "Bad Request", "cartesia-version header is required")
    body = rec.json or {}
    model = body.get("model_id")
    if model not in MODELS or model in fake.state.get("cartesia_gone", ()):
        return _error(404, "Not Found", f"model {model} not found")
    voice = body.get("voice")
    voice_id = voice.get("id") if isinstance(voice, dict) else voice
    if voice_id not in {v["id"] for v in VOICES}:
        return _error(400, "Bad Request", f"voice {voice_id} does not exist")
    fmt = body.get("output_format") or {}
    if fmt.get("container") not in containers or fmt.get("sample_rate") not in RATES:
        return _error(400, "Bad Request", f"unsupported output_format {fmt}")
    speed = (body.get("generation_config") or {}).get("speed")
    if speed is not None and not 0.6 <= speed <= 1.5:
        return _error(400, "Bad Request", "speed must be between 0.6 and 1.5")
    if not body.get("transcript"):
        return _error(400, "Bad Request", "transcript is required")
    return None


async def tts_bytes(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    problem = _check(rec, fake, {"mp3", "wav", "raw"})
    if problem is not None:
        return problem
    fmt = rec.json["output_format"]
    if fmt["container"] == "mp3":
        return Response(media.mp3(1.0, rate=fmt["sample_rate"]), media_type="audio/mpeg")
    return Response(media.wav(1.0, rate=fmt["sample_rate"]), media_type="audio/wav")


def _event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


async def tts_sse(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    problem = _check(rec, fake, {"raw"})
    if problem is not None:
        return problem
    body = rec.json
    words = body["transcript"].split()
    rate = body["output_format"]["sample_rate"]
    pcm = media.wav(0.25 * len(words), rate=rate)[44:]  # the frames of a WAV, without its header
    chunks = [pcm[i : i + 8192] for i in range(0, len(pcm), 8192)]
    fail_after = fake.state.get("cartesia_fail_after")

    async def stream() -> AsyncIterator[bytes]:
        try:
            for index, chunk in enumerate(chunks):
                if fail_after is not None and index == fail_after:
                    yield _event({"type": "error", "done": True, "status_code": 500, "title": "Internal Error",
                                  "message": "generation failed", "request_id": "req_1"})  # fmt: skip
                    return
                yield _event({"type": "chunk", "data": base64.b64encode(chunk).decode(), "done": False,
                              "status_code": 206, "step_time": 1.0})  # fmt: skip
                if fake.state.get("cartesia_hold"):
                    while True:
                        await asyncio.sleep(0.05)
            if body.get("add_timestamps"):
                starts = [0.25 * i for i in range(len(words))]
                stamps = {"words": words, "start": starts, "end": [s + 0.2 for s in starts]}
                yield _event({"type": "timestamps", "done": False, "status_code": 206, "word_timestamps": stamps})
            yield _event({"type": "done", "done": True, "status_code": 200})
        except (asyncio.CancelledError, GeneratorExit):
            fake.state["cartesia_disconnected"] = True
            raise

    return StreamingResponse(stream(), media_type="text/event-stream")


async def voices(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    q = rec.query.get("q", "").lower()
    if rec.query.get("starting_after"):  # one page holds every match
        return JSONResponse({"data": [], "has_more": False})
    found = [
        {**v, "access": "public", "created_at": "2025-01-01T00:00:00Z", "description": "", "is_owner": False,
         "language": "en", "locales": [], "tagline": "", "visibility": "all"}
        for v in VOICES if q in v["name"].lower()
    ]  # fmt: skip
    return JSONResponse({"data": found, "has_more": False})


def register(fake: FakeServer) -> None:
    fake.route("cartesia", f"{PREFIX}/tts/bytes", ["POST"], tts_bytes)
    fake.route("cartesia", f"{PREFIX}/tts/sse", ["POST"], tts_sse)
    fake.route("cartesia", f"{PREFIX}/voices", ["GET"], voices)
