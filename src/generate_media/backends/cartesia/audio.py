"""Cartesia Sonic speech: ``tts.generate`` (``POST /tts/bytes``) for MP3 or WAV, and ``tts.generate_sse``
(``POST /tts/sse``) when word timings are asked for: that streaming endpoint is the one that sends
``timestamps`` events (words with start and end seconds) beside the audio chunks, which are raw PCM
there, so a timed result is a WAV we wrap around them, with the ``.json``/``.srt`` sidecars.

Voices by id (a UUID) or by name (``voices.list(q=name)``, cached for the server's life). The client
takes our base URL (``AsyncCartesia(base_url=...)``; the SDK would otherwise read CARTESIA_BASE_URL
itself) and no SDK retries: retries are ours. Source: cartesia 4.2.0 (``resources/tts.py``,
``types/tts_model.py`` literal, ``types/*_output_format_param.py``), read 2026-12-03.
"""

from __future__ import annotations

import functools
import io
import re
import wave
from typing import Any

from ...errors import (
    BadProviderResponse,
    InvalidRequest,
    ProviderError,
)
from ...leaderboards import AA_SPEECH
from ...spec import SPEECH, Call, Endpoint, MediaSupport, MediaType, ModelSpec, Produced
from .._clients import key_digest
from .._errors import ErrorMap, Table, httpx_errors, stainless_errors
from .._options import SOURCE_LANGUAGE, SPEED, TIMESTAMPS
from .._timings import Word, sidecars

MEDIA = MediaType.AUDIO
BACKEND = "cartesia"
KEY_ENV = "CARTESIA_API_KEY"
CHECKED = "2026-12-03"
#: A premade Cartesia voice (the one LiveKit's and Cartesia's own examples use).
DEFAULT_VOICE = "9626c31c-bec5-4cca-baa8-f8ba9e84c8bc"
SAMPLE_RATE = 44100
SPEED_RANGE = (0.6, 1.5)  # generation_config.speed (types/generation_config_param.py)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_OUTPUT = {
    "mp3": {"container": "mp3", "bit_rate": 128000, "sample_rate": SAMPLE_RATE},
    "wav": {"container": "wav", "encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE},
}
_COMMON: dict[str, Any] = {
    "operations": ("speech",),
    "voices": None,
    "audio_formats": ("mp3", "wav"),
    "options": frozenset({"speed", "source_language", "timestamps"}),
    "checked": CHECKED,
}

SUPPORT = MediaSupport(
    priority=50,
    default_model="sonic-3.6",
    operations=(SPEECH,),
    options=(SPEED.within(*SPEED_RANGE), SOURCE_LANGUAGE, TIMESTAMPS),
    models=(
        ModelSpec(
            id="sonic-3.6",
            notes="Sonic 3.6: first on Artificial Analysis' speech board in August 2026; word timings, 42 languages.",
            standings=(AA_SPEECH.at(1, 1282),),
            source="docs.d-id.com Cartesia page (model_id sonic-3.6) and micdrop.dev; not yet in the SDK's "
            "TTSModel literal, which accepts any string",
            **_COMMON,
        ),
        ModelSpec(
            id="sonic-3.5", notes="Sonic 3.5 (2026-05-04 snapshot).", source="cartesia 4.2.0 TTSModel", **_COMMON
        ),
    ),
)


async def _close(client: Any) -> None:
    await client.close()


async def _noop(_: Any) -> None:
    return None


async def _client(endpoint: Endpoint) -> Any:
    """The server-wide ``AsyncCartesia`` for this key and endpoint (built once, off the event loop)."""
    api_key, base, timeout = endpoint.api_key, endpoint.base_url, endpoint.settings.request_timeout_s

    def build() -> Any:
        from cartesia import AsyncCartesia

        return AsyncCartesia(api_key=api_key, base_url=base, max_retries=0, timeout=timeout)

    return await endpoint.clients.get(("cartesia-sdk", key_digest(api_key), base, timeout), build, _close)


async def warm(endpoint: Endpoint) -> None:
    """Import the SDK and build the client (the first call finds both ready)."""
    await _client(endpoint)


@functools.cache
def _errors() -> Table:
    import cartesia

    return {**httpx_errors(), **stainless_errors(cartesia)}


#: The one translation of the Cartesia SDK's errors (and of the httpx transport under it).
ERRORS = ErrorMap(BACKEND, KEY_ENV, _errors)


async def _voice(call: Call, client: Any) -> str:
    """A voice id: the request's (an id, or a name looked up once), else the default."""
    wanted = call.request.voice or DEFAULT_VOICE
    if _UUID.match(wanted):
        return wanted
    cache: dict[str, str] = await call.clients.get(("cartesia-voices", key_digest(call.api_key)), dict, _noop)
    if wanted.lower() in cache:
        return cache[wanted.lower()]
    found = (await client.voices.list(q=wanted, limit=100)).data  # the first page: a name search, not a crawl
    exact = [v for v in found if v.name.lower() == wanted.lower()]
    chosen = exact or [v for v in found if v.name.lower().startswith(wanted.lower())]
    if not chosen:
        names = ", ".join(v.name for v in found[:8]) or "none"
        raise InvalidRequest(f"no Cartesia voice is named {wanted!r} (close: {names}); pass a voice id or name")
    cache[wanted.lower()] = chosen[0].id
    return str(chosen[0].id)


def _arguments(call: Call, voice_id: str) -> dict[str, Any]:
    req = call.request
    args: dict[str, Any] = {"model_id": call.model.id, "transcript": call.prompt, "voice": voice_id}
    speed = getattr(req, "speed", None)
    if speed is not None:  # within SPEED_RANGE: the declaration is checked before the call
        args["generation_config"] = {"speed": speed}
    if getattr(req, "source_language", None):
        args["language"] = req.source_language
    return args


def _wav(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    return out.getvalue()


async def _timed(client: Any, args: dict[str, Any]) -> tuple[bytes, list[Word]]:
    """The SSE stream: audio chunks (raw PCM) and word timestamps, to the ``done`` event."""
    raw = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE}
    stream = await client.tts.generate_sse(**args, output_format=raw, add_timestamps=True)
    pcm, words = bytearray(), list[Word]()
    async with stream:
        async for event in stream:
            if event.type == "chunk":
                pcm.extend(event.audio or b"")
            elif event.type == "timestamps":
                stamps = event.word_timestamps
                words.extend(Word(w, s, e) for w, s, e in zip(stamps.words, stamps.start, stamps.end, strict=False))
            elif event.type == "error":
                raise ProviderError(f"cartesia stopped mid-speech: {event.title}: {event.message}", backend=BACKEND)
            elif event.type == "done":
                break
    if not pcm:
        raise BadProviderResponse("cartesia streamed no audio; try again", backend=BACKEND)
    return bytes(pcm), words


async def run(call: Call) -> list[Produced]:
    req = call.request
    timed = bool(getattr(req, "timestamps", None))
    fmt = req.audio_format or ("wav" if timed else "mp3")
    if timed and fmt != "wav":
        raise InvalidRequest("cartesia sends word timings only with raw audio: use audio_format='wav' with timestamps")
    with ERRORS:
        client = await _client(call)
        args = _arguments(call, await _voice(call, client))
        if timed:
            pcm, words = await _timed(client, args)
            produced = Produced(data=_wav(pcm), metadata={"voice_id": args["voice"], "word_count": len(words)})
            produced.sidecars = sidecars(words, source="cartesia word timestamps")
            return [produced]
        response = await client.tts.generate(**args, output_format=_OUTPUT[fmt])
        data = await response.read()
    return [
        Produced(
            data=data, metadata={"voice_id": args["voice"], "mime_type": f"audio/{'mpeg' if fmt == 'mp3' else fmt}"}
        )
    ]


RUN = run
