"""Gemini TTS (``generateContent`` with AUDIO output) and Lyria music (Interactions API).

TTS answers as the API does: one ``inlineData`` part of raw 16-bit PCM, ``audio/L16;codec=pcm;rate=24000``
(no WAV header), about ``TTS_SECONDS_PER_CHAR`` seconds per character spoken. It checks the
speech config: one prebuilt voice, or ``multiSpeakerVoiceConfig`` with exactly two speakers that
every part's ``speechMetadata.speaker`` names.

Lyria answers synchronously with a completed interaction whose last model output is the song
(MP3, 44.1 kHz stereo) followed by its lyrics as text. ``lyria-3-clip-preview`` is always 30 s;
``lyria-3.5`` is as long as the prompt's "Length: about M:SS" or structure total (default 8 s, capped
at 40 s to keep tests fast).
"""

from __future__ import annotations

import base64
import math
import re
import struct
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import google, google_video, media
from .core import FakeServer, Recorded

ENV: dict[str, str] = {}  # served under google's prefix

TTS_MODELS = {"gemini-3.8-flash-tts", "gemini-3.8-flash-lite-tts"}
VOICES = {
    "Zephyr",
    "Puck",
    "Charon",
    "Kore",
    "Fenrir",
    "Leda",
    "Orus",
    "Aoede",
    "Callirrhoe",
    "Autonoe",
    "Enceladus",
    "Iapetus",
    "Umbriel",
    "Algieba",
    "Despina",
    "Erinome",
    "Algenib",
    "Rasalgethi",
    "Laomedeia",
    "Achernar",
    "Alnilam",
    "Schedar",
    "Gacrux",
    "Pulcherrima",
    "Achird",
    "Zubenelgenubi",
    "Vindemiatrix",
    "Sadachbia",
    "Sadaltager",
    "Sulafat",
}
LYRIA_MODELS = {"lyria-3.5", "lyria-3-clip-preview"}
TTS_RATE = 24000
TTS_SECONDS_PER_CHAR = 0.02
LYRICS = "[Verse 1]\nLights on the water\n[Chorus]\nWe sing till the morning"


def _error(code: int, status: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "status": status}}, code)


def pcm(seconds: float, rate: int = TTS_RATE) -> bytes:
    frames = int(seconds * rate)
    return b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 220 * i / rate))) for i in range(frames))


def camel(value: Any) -> Any:
    """Keys in lowerCamelCase: Google's JSON parser accepts proto field names in either case, and
    google-genai 3.6.1 sends ``speechConfig``'s inner fields in snake_case."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _voice_name(config: dict) -> str | None:
    return ((config or {}).get("prebuiltVoiceConfig") or {}).get("voiceName")


def _check_speech(body: dict) -> str | None:
    config = body.get("generationConfig") or {}
    if config.get("responseModalities") != ["AUDIO"]:
        return "responseModalities must be [AUDIO] for a TTS model"
    speech = config.get("speechConfig") or {}
    single, multi = speech.get("voiceConfig"), speech.get("multiSpeakerVoiceConfig")
    if (single is None) == (multi is None):
        return "speechConfig needs exactly one of voiceConfig or multiSpeakerVoiceConfig"
    contents = body.get("contents") or []
    if len(contents) != 1 or contents[0].get("role") != "user":
        return "TTS takes one user turn"
    parts = contents[0].get("parts") or []
    if not parts or any(not p.get("text") for p in parts):
        return "every part needs text"
    if single is not None:
        if _voice_name(single) not in VOICES:
            return f"unknown voice {_voice_name(single)!r}"
        if any((p.get("speechMetadata") or {}).get("speaker") for p in parts):
            return "speechMetadata.speaker needs multiSpeakerVoiceConfig"
        return None
    speakers = multi.get("speakerVoiceConfigs") or []
    if len(speakers) != 2:
        return "Exactly two speaker voice configurations must be provided"
    names = {s.get("speaker") for s in speakers}
    if any(_voice_name(s.get("voiceConfig")) not in VOICES for s in speakers):
        return "unknown voice in speakerVoiceConfigs"
    if any((p.get("speechMetadata") or {}).get("speaker") not in names for p in parts):
        return "every part's speechMetadata.speaker must be one of the configured speakers"
    return None


async def tts(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("x-goog-api-key"):
        return _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
    model = rec.path_params["model"]
    if model not in TTS_MODELS:
        return _error(404, "NOT_FOUND", f"models/{model} is not found")
    body = camel(rec.json) if isinstance(rec.json, dict) else {}
    problem = _check_speech(body)
    if problem:
        return _error(400, "INVALID_ARGUMENT", problem)
    text = " ".join(p["text"] for p in body["contents"][0]["parts"])
    seconds = max(0.5, len(text) * TTS_SECONDS_PER_CHAR)
    blob = {"mimeType": f"audio/L16;codec=pcm;rate={TTS_RATE}", "data": base64.b64encode(pcm(seconds)).decode()}
    candidate = {"content": {"role": "model", "parts": [{"inlineData": blob}]}, "finishReason": "STOP", "index": 0}
    usage = {"promptTokenCount": len(text) // 4 + 1, "candidatesTokenCount": int(seconds * 25)}
    return JSONResponse({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})


def _lyria_seconds(model: str, prompt: str) -> float:
    if model == "lyria-3-clip-preview":
        return 30.0
    match = re.search(r"about (\d+):(\d\d)", prompt) or re.search(r"\((\d+):(\d\d) in total\)", prompt)
    seconds = int(match.group(1)) * 60 + int(match.group(2)) if match else 8
    return float(min(seconds, 40))


async def lyria(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("x-goog-api-key"):
        return _error(401, "API key not valid", "UNAUTHENTICATED")
    body = rec.json or {}
    model = body.get("model")
    prompt = body.get("input")
    if model not in LYRIA_MODELS:
        return _error(404, f"model {model} not found", "NOT_FOUND")
    if not isinstance(prompt, str) or not prompt.strip():
        return _error(400, "input must be a text prompt", "INVALID_ARGUMENT")
    if body.get("background"):
        return _error(400, "Lyria does not run in the background", "INVALID_ARGUMENT")
    song = media.mp3(_lyria_seconds(model, prompt), channels=2)  # Lyria answers stereo MP3
    lyrics = "[Instrumental]" if "Instrumental only" in prompt else LYRICS
    content = [
        {"type": "audio", "data": base64.b64encode(song).decode(), "mime_type": "audio/mpeg"},
        {"type": "text", "text": lyrics},
    ]
    steps = [{"type": "user_input", "content": [{"type": "text", "text": prompt}]}]
    steps.append({"type": "model_output", "content": content})
    return JSONResponse({"id": f"v1_{uuid.uuid4().hex}", "status": "completed", "model": model, "steps": steps})


def register(fake: FakeServer) -> None:
    for model in TTS_MODELS:
        google.GENERATE_CONTENT[model] = tts
    for model in LYRIA_MODELS:
        google_video.INTERACTIONS[model] = lyria
