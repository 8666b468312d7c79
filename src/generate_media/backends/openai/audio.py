"""OpenAI text to speech (``POST /audio/speech``), streamed to disk in the requested format.

Speech is the only audio operation OpenAI offers here; music, sound effects and the voice
operations are absent from the declarations, so the selector never routes them to OpenAI.

Every ``/audio/speech`` model shuts down on 2027-01-06 (openai 3.57.0 ``resources/audio/speech.py``;
OpenAI's TTS guide). OpenAI's successor, ``gpt-realtime-2.1-mini``, is served only through the
Realtime API (a WebSocket session), which this backend does not implement: the models are declared
deprecated, so ``auto`` prefers another keyed backend's current speech model, and from the
shutdown date they are retired (never selected; naming one names the replacement).
"""

from __future__ import annotations

from typing import Any

import anyio

from ...errors import InvalidRequest
from ...spec import SPEECH, Call, MediaSupport, MediaType, ModelSpec, Produced
from .._clients import openai_session
from .._errors import ErrorMap, openai_errors
from .._options import INSTRUCTIONS, SPEED

ERRORS = ErrorMap("openai", "OPENAI_API_KEY", openai_errors)

MEDIA = MediaType.AUDIO

VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
FORMATS = ("mp3", "wav", "opus", "aac", "flac", "pcm")
#: OpenAI's pcm: raw 24 kHz signed 16-bit little-endian mono, no header to sniff.
PCM_METADATA = {"mime_type": "audio/pcm", "pcm_sample_rate": 24000, "pcm_encoding": "s16le", "pcm_channels": 1}
_LIFECYCLE: dict[str, Any] = {
    "status": "deprecated",
    "deprecated_on": "2026-10-01",
    "shutdown_on": "2027-01-06",
    "replacement": "eleven_v4",
    "replacement_backend": "elevenlabs",
    "lifecycle_note": "OpenAI's successor gpt-realtime-2.1-mini is Realtime-API only, not served here",
    "source": "openai 3.57.0 resources/audio/speech.py; developers.openai.com TTS guide",
    "checked": "2026-12-03",
}


def _model(model_id: str, *, instructions: bool, notes: str) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        operations=("speech",),
        voices=VOICES,
        audio_formats=FORMATS,
        options=frozenset({"speed", "instructions"} if instructions else {"speed"}),
        notes=notes,
        **_LIFECYCLE,
    )


SUPPORT = MediaSupport(
    priority=50,
    options=(SPEED.within(0.25, 4.0), INSTRUCTIONS),
    default_model="gpt-4o-mini-tts",
    operations=(SPEECH,),
    models=(
        _model("gpt-4o-mini-tts", instructions=True, notes="Speech; instructions steer tone and delivery."),
        _model("gpt-4o-mini-tts-2025-12-15", instructions=True, notes="Pinned snapshot of gpt-4o-mini-tts."),
        _model("tts-1", instructions=False, notes="Fast speech (no instructions)."),
        _model("tts-1-hd", instructions=False, notes="Higher quality speech (no instructions)."),
    ),
)


def _options(call: Call) -> dict[str, Any]:
    req = call.request
    if not call.prompt.strip():
        raise InvalidRequest("speech needs a prompt: the text to speak")
    opts: dict[str, Any] = {
        "model": call.model.id,
        "input": call.prompt,
        "voice": req.voice or VOICES[0],
        "response_format": req.audio_format or "mp3",
    }
    if req.speed is not None:
        opts["speed"] = req.speed
    if req.instructions is not None:
        opts["instructions"] = req.instructions
    return opts


async def speech(call: Call) -> list[Produced]:
    opts = _options(call)
    path = call.temp_file()
    async with openai_session(call) as client:
        with ERRORS:
            async with (
                client.audio.speech.with_streaming_response.create(**opts) as response,
                await anyio.open_file(path, "wb") as fh,
            ):
                async for chunk in response.iter_bytes():
                    await fh.write(chunk)
    meta: dict[str, Any] = {"voice": opts["voice"], "response_format": opts["response_format"]}
    if opts["response_format"] == "pcm":
        meta.update(PCM_METADATA)
    return [Produced(path=path, metadata=meta)]


RUN = speech
