"""ElevenLabs' wire API (``/v1``, ``/v2``): speech, sound effects, music, voice changer, isolation,
voice design, instant cloning, voices and dubbing.

JSON and multipart bodies are validated against the request schemas copied from ElevenLabs' OpenAPI
document of 2025-08-25 (``schemas/elevenlabs-requests.json``). That document is older than the SDK
(2.78.0), and where they differ the SDK's wire calls win; the validation is narrowed field by field,
never switched off (see ``_NEWER_THAN_DOC``).

``fake.state`` knobs: ``elevenlabs_dubbing_script`` (statuses returned by successive polls,
default ``["dubbing", "dubbed"]``), ``elevenlabs_dubbing_error``.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import media
from .core import FakeServer, Recorded
from .openapi import OpenAPIValidator, load

PREFIX = "/elevenlabs"
ENV = {"ELEVENLABS_BASE_URL": PREFIX}

PREMADE = [
    {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George - Warm, Captivating Storyteller", "category": "premade"},
    {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade"},
    {"voice_id": "XB0fDUnXU5powFXDhCwa", "name": "Charlotte", "category": "premade"},
    {"voice_id": "IKne3meq5aSn9XLyUdCD", "name": "Charlie", "category": "premade"},
    {"voice_id": "9BWtsMINqrJLrRacOk9x", "name": "Aria", "category": "premade"},
]

_MIME = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm", "opus": "audio/ogg"}
_CODES = {
    *(f"mp3_{r}" for r in ("22050_32", "24000_48", "44100_32", "44100_64", "44100_96", "44100_128", "44100_192")),
    *(f"mp3_48000_{b}" for b in (128, 192, 240, 320)),
    *(f"pcm_{r}" for r in (8000, 16000, 22050, 24000, 32000, 44100, 48000)),
    *(f"wav_{r}" for r in (8000, 16000, 22050, 24000, 32000, 44100, 48000)),
    *(f"opus_48000_{b}" for b in (32, 64, 96, 128, 192)),
}
_ids = itertools.count(1)

#: Fields SDK 2.78.0 sends that the 2025-08-25 document lacks (or constrains more narrowly), per
#: path: stripped before schema validation and checked here by type instead. Everything else in
#: those bodies is still validated against the document.
_NEWER_THAN_DOC: dict[str, dict[str, type | tuple[type, ...]]] = {
    "/v1/sound-generation": {"loop": bool, "model_id": str},
    # The doc allows music_length_ms 10000-300000 and model_id music_v1 only; the SDK documents
    # 3000-600000 ms and music_v1/v2/v2_5.
    "/v1/music": {
        "force_instrumental": bool,
        "model_id": str,
        "music_length_ms": int,
        "respect_sections_durations": bool,
    },
    "/v1/text-to-dialogue": {"language_code": str},
}
#: The SDK posts voice conversion to the endpoint's new name; the doc has the old one. The doc has no
#: dialogue-with-timestamps endpoint: its body is the dialogue body (SDK 2.78.0 raw_client).
_RENAMED = {
    "/v1/voice-changer/": "/v1/speech-to-speech/",
    "/v1/text-to-dialogue/with-timestamps": "/v1/text-to-dialogue",
}
#: Seconds of audio per character in the timed answers (the alignment spaces characters evenly).
CHAR_S = 0.05


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"status": code, "message": message}}, status)


def _auth_ok(rec: Recorded) -> bool:
    return rec.headers.get("xi-api-key", "").startswith("test-key-elevenlabs")


def _voices(fake: FakeServer) -> list[dict[str, Any]]:
    voices: list[dict[str, Any]] = fake.state.setdefault("elevenlabs_voices", [dict(v) for v in PREMADE])
    return voices


def _audio_bytes(code: str, seconds: float) -> bytes:
    fmt, rate = code.split("_")[0], int(code.split("_")[1])
    if fmt == "wav":  # honour the sample rate so tests can tell it was read back from the file
        return media.wav(seconds, rate)
    if fmt == "mp3":
        return media.mp3(seconds, rate)
    return media.audio(fmt, seconds)


def _bad_format(rec: Recorded) -> Response | None:
    if rec.query.get("output_format", "mp3_44100_128") not in _CODES:
        return JSONResponse({"detail": [{"loc": ["query", "output_format"], "msg": "invalid output_format"}]}, 422)
    return None


def _audio(rec: Recorded, seconds: float = 1.0) -> Response:
    if (bad := _bad_format(rec)) is not None:
        return bad
    code = rec.query.get("output_format", "mp3_44100_128")
    return Response(_audio_bytes(code, seconds), media_type=_MIME[code.split("_")[0]])


def _alignment(text: str, offset: float = 0.0) -> dict[str, list]:
    return {
        "characters": list(text),
        "character_start_times_seconds": [round(offset + i * CHAR_S, 3) for i in range(len(text))],
        "character_end_times_seconds": [round(offset + (i + 1) * CHAR_S, 3) for i in range(len(text))],
    }


def _timed(rec: Recorded, text: str, **extra: Any) -> Response:
    if (bad := _bad_format(rec)) is not None:
        return bad
    audio = _audio_bytes(rec.query.get("output_format", "mp3_44100_128"), len(text) * CHAR_S)
    alignment = _alignment(text)
    body = {"audio_base64": base64.b64encode(audio).decode(), "alignment": alignment, "normalized_alignment": alignment}
    return JSONResponse({**body, **extra})


def _guard(rec: Recorded, fake: FakeServer) -> Response | None:
    if not _auth_ok(rec):
        return _err(401, "invalid_api_key", "Invalid API key")
    return None


async def text_to_speech(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    voice_id = rec.path_params["voice_id"]
    if voice_id not in {v["voice_id"] for v in _voices(fake)} and not voice_id.startswith("lib"):
        return _err(404, "voice_not_found", f"A voice with voice_id {voice_id} was not found.")
    return _audio(rec)


async def text_to_speech_timed(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    voice_id = rec.path_params["voice_id"]
    if voice_id not in {v["voice_id"] for v in _voices(fake)}:
        return _err(404, "voice_not_found", f"A voice with voice_id {voice_id} was not found.")
    return _timed(rec, (rec.json or {}).get("text", ""))


def _dialogue_problem(body: dict, fake: FakeServer) -> str | None:
    inputs = body.get("inputs") or []
    known = {v["voice_id"] for v in _voices(fake)}
    if not inputs or any(not i.get("text") or i.get("voice_id") not in known for i in inputs):
        return "every input needs text and a known voice_id"
    if len({i["voice_id"] for i in inputs}) > 10:
        return "at most 10 unique voice ids"
    return None


async def text_to_dialogue(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    body = rec.json or {}
    if (problem := _dialogue_problem(body, fake)) is not None:
        return JSONResponse({"detail": [{"loc": ["body", "inputs"], "msg": problem}]}, 422)
    texts = [i["text"] for i in body["inputs"]]
    if not rec.path.endswith("/with-timestamps"):
        return _audio(rec, len("".join(texts)) * CHAR_S)
    segments, start = [], 0
    for index, (item, text) in enumerate(zip(body["inputs"], texts, strict=True)):
        segments.append(
            {
                "voice_id": item["voice_id"],
                "start_time_seconds": start * CHAR_S,
                "end_time_seconds": (start + len(text)) * CHAR_S,
                "character_start_index": start,
                "character_end_index": start + len(text),
                "dialogue_input_index": index,
            }
        )
        start += len(text)
    return _timed(rec, "".join(texts), voice_segments=segments)


def _plan_seconds(plan: dict) -> float:
    parts = plan.get("sections") or plan.get("chunks") or []
    return sum(int(p.get("duration_ms", 0)) for p in parts) / 1000


async def generated_audio(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    body = rec.json or {}
    if isinstance(body.get("composition_plan"), dict):  # a plan: as long as its sections add up to
        if body.get("prompt") or body.get("music_length_ms") or body.get("force_instrumental") is not None:
            return _err(422, "invalid_request", "composition_plan cannot be combined with prompt or length")
        return _audio(rec, _plan_seconds(body["composition_plan"]))
    seconds = body.get("duration_seconds") or (body.get("music_length_ms") or 1000) / 1000
    return _audio(rec, min(float(seconds), 2.0))


async def from_uploaded_audio(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    if not rec.files("audio"):
        return JSONResponse({"detail": [{"loc": ["body", "audio"], "msg": "field required"}]}, 422)
    if "audio-isolation" in rec.path:
        return Response(media.audio("mp3"), media_type="audio/mpeg")
    return _audio(rec)


async def voice_design(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    fmt = rec.query.get("output_format", "mp3_44100_128").split("_")[0]
    previews = [
        {
            "audio_base_64": base64.b64encode(media.audio(fmt)).decode(),
            "generated_voice_id": f"gen{n}{next(_ids)}",
            "media_type": _MIME[fmt],
            "duration_secs": 1.0,
        }
        for n in range(3)
    ]
    return JSONResponse({"previews": previews, "text": "Hello, this is an automatically generated preview text."})


def _new_voice(fake: FakeServer, name: str, category: str) -> dict[str, Any]:
    voice = {"voice_id": f"new{next(_ids):017d}", "name": name, "category": category}
    _voices(fake).append(voice)
    return voice


async def voice_create(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    body = rec.json or {}
    return JSONResponse(_new_voice(fake, body["voice_name"], "generated"))


async def voice_add(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    if not rec.files("files"):
        return JSONResponse({"detail": [{"loc": ["body", "files"], "msg": "field required"}]}, 422)
    voice = _new_voice(fake, str(rec.form.get("name")), "cloned")
    return JSONResponse({"voice_id": voice["voice_id"], "requires_verification": False})


async def voices_v1(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    return JSONResponse({"voices": _voices(fake)})


async def voices_v2(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    voices = _voices(fake)
    return JSONResponse({"voices": voices, "has_more": False, "total_count": len(voices), "next_page_token": None})


async def dubbing_create(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    upload = rec.files("file")
    if not upload or not rec.form.get("target_lang"):
        return JSONResponse({"detail": [{"loc": ["body", "file"], "msg": "file and target_lang are required"}]}, 422)
    dubbing_id = f"dub{next(_ids)}"
    script = list(fake.state.get("elevenlabs_dubbing_script", ["dubbing", "dubbed"]))
    fake.state.setdefault("elevenlabs_dubs", {})[dubbing_id] = {
        "script": script,
        "status": "dubbing",
        "video": upload[0][2].startswith("video/"),
        "target": rec.form["target_lang"],
        "name": rec.form.get("name", ""),
    }
    return JSONResponse({"dubbing_id": dubbing_id, "expected_duration_sec": 3.5})


def _dub(rec: Recorded, fake: FakeServer) -> dict[str, Any] | None:
    dub: dict[str, Any] | None = fake.state.get("elevenlabs_dubs", {}).get(rec.path_params["dubbing_id"])
    return dub


async def dubbing_get(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    dub = _dub(rec, fake)
    if dub is None:
        return _err(404, "dubbing_not_found", "Dubbing not found")
    if rec.method == "DELETE":
        dub["status"] = "deleted"
        return JSONResponse({"status": "ok"})
    if dub["script"]:
        dub["status"] = dub["script"].pop(0)
    body = {
        "dubbing_id": rec.path_params["dubbing_id"],
        "name": dub["name"],
        "status": dub["status"],
        "target_languages": [dub["target"]],
        "created_at": "2026-11-23T10:00:00Z",
    }
    if dub["status"] == "failed":
        body["error"] = fake.state.get("elevenlabs_dubbing_error", "no speech detected in the input")
    return JSONResponse(body)


async def dubbing_audio(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (bad := _guard(rec, fake)) is not None:
        return bad
    dub = _dub(rec, fake)
    if dub is None:
        return _err(404, "dubbing_not_found", "Dubbing not found")
    if dub["status"] != "dubbed":
        return _err(425, "dubbing_not_ready", "Dubbing is not ready yet")
    if dub["video"]:
        return Response(media.mp4(1.0), media_type="video/mp4")
    return Response(media.audio("mp3"), media_type="audio/mpeg")


def _check_chunks(chunks: Any) -> None:
    """The v2 ``CompositionPlan`` the 2025-08-25 document predates (SDK ``GenerationChunkInput``)."""
    assert isinstance(chunks, list) and chunks, "composition_plan.chunks must be a non-empty list"
    for chunk in chunks:
        assert isinstance(chunk.get("text"), str), "chunk.text must be a string"
        assert isinstance(chunk.get("duration_ms"), int) and 3000 <= chunk["duration_ms"] <= 120000, "duration_ms"
        assert isinstance(chunk.get("positive_styles"), list), "chunk.positive_styles must be a list"
        assert len(chunk["text"].splitlines()) <= 31, "at most 30 lines per chunk"


def _validator() -> Any:
    validator = OpenAPIValidator(load("elevenlabs"), prefix=PREFIX)

    def validate(rec: Recorded) -> None:
        if rec.provider != "elevenlabs":
            return
        path = rec.path.removeprefix(PREFIX)
        for new, old in _RENAMED.items():
            path = path.replace(new, old)
        newer = _NEWER_THAN_DOC.get(path, {})
        body = rec.json
        if isinstance(body, dict) and "chunks" in (body.get("composition_plan") or {}):  # music_v2 plans
            _check_chunks(body["composition_plan"]["chunks"])
            body = {k: v for k, v in body.items() if k != "composition_plan"}
        if isinstance(body, dict) and newer:
            for name, kind in newer.items():
                assert name not in body or isinstance(body[name], kind), f"{rec.path}: {name} must be {kind}"
            body = {k: v for k, v in body.items() if k not in newer}
        validator(dataclasses.replace(rec, path=PREFIX + path, json=body))
        if "voice_settings" in rec.form:  # a JSON string in multipart forms
            assert isinstance(json.loads(rec.form["voice_settings"]), dict), "voice_settings must be a JSON object"

    return validate


def register(fake: FakeServer) -> None:
    v1 = f"{PREFIX}/v1"
    fake.route("elevenlabs", v1 + "/text-to-speech/{voice_id}", ["POST"], text_to_speech)
    fake.route("elevenlabs", v1 + "/text-to-speech/{voice_id}/with-timestamps", ["POST"], text_to_speech_timed)
    fake.route("elevenlabs", v1 + "/text-to-dialogue", ["POST"], text_to_dialogue)
    fake.route("elevenlabs", v1 + "/text-to-dialogue/with-timestamps", ["POST"], text_to_dialogue)
    fake.route("elevenlabs", v1 + "/sound-generation", ["POST"], generated_audio)
    fake.route("elevenlabs", v1 + "/music", ["POST"], generated_audio)
    fake.route("elevenlabs", v1 + "/voice-changer/{voice_id}", ["POST"], from_uploaded_audio)
    fake.route("elevenlabs", v1 + "/speech-to-speech/{voice_id}", ["POST"], from_uploaded_audio)
    fake.route("elevenlabs", v1 + "/audio-isolation", ["POST"], from_uploaded_audio)
    fake.route("elevenlabs", v1 + "/text-to-voice/design", ["POST"], voice_design)
    fake.route("elevenlabs", v1 + "/text-to-voice", ["POST"], voice_create)
    fake.route("elevenlabs", v1 + "/voices/add", ["POST"], voice_add)
    fake.route("elevenlabs", v1 + "/voices", ["GET"], voices_v1)
    fake.route("elevenlabs", f"{PREFIX}/v2/voices", ["GET"], voices_v2)
    fake.route("elevenlabs", v1 + "/dubbing", ["POST"], dubbing_create)
    fake.route("elevenlabs", v1 + "/dubbing/{dubbing_id}", ["GET", "DELETE"], dubbing_get)
    fake.route("elevenlabs", v1 + "/dubbing/{dubbing_id}/audio/{language_code}", ["GET"], dubbing_audio)
    fake.validators.append(_validator())
