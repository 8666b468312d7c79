"""ElevenLabs audio: speech, sound effects, music, voice conversion, isolation, design, cloning, dubbing.

``RUN`` is callable for the direct operations (one request, audio streamed to disk) and is also a
JobRunner (submit/poll/fetch/cancel) for dubbing, the one model declared ``long_job``, so the service
runs dubbing as a long job with a wait budget and ``job_id`` resume.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from ...errors import InvalidRequest
from ...leaderboards import AA_SPEECH_OCT
from ...spec import (
    AUDIO_ISOLATION,
    DIALOGUE,
    DUBBING,
    MUSIC,
    SOUND_EFFECTS,
    SPEECH,
    VOICE_CLONE,
    VOICE_CONVERSION,
    VOICE_DESIGN,
    Call,
    JobStatus,
    MediaSupport,
    MediaType,
    ModelSpec,
    Option,
    Produced,
    Standing,
)
from .._options import INSTRUMENTAL, LOOP, SEED, SOURCE_LANGUAGE, SPEED, TIMESTAMPS
from . import _dubbing
from ._client import NO_RETRIES, client, drop_none, output_format, produced_from, stream_to_temp
from ._plan import composition_plan
from ._timed import dialogue as _dialogue
from ._timed import timed_speech
from ._voice_ops import clone_voice, design_voice
from .voices import resolve_voice

MEDIA = MediaType.AUDIO

_FORMATS = ("mp3", "wav", "pcm", "opus")
_NO_WAV = ("mp3", "pcm", "opus")  # music and voice design: the API offers no wav
_VOICE_OPTS = frozenset({"voice_stability", "voice_similarity", "speed", "seed"})
CHECKED = "2026-12-03"
#: The request options only ElevenLabs takes (ranges: elevenlabs 2.78.0 types/voice_settings.py and
#: text_to_sound_effects/client.py; speed 0.7 to 1.2 per the voice settings docs).
VOICE_STABILITY = Option("voice_stability", float, "Voice stability.", range=(0.0, 1.0))
VOICE_SIMILARITY = Option("voice_similarity", float, "Voice similarity boost.", range=(0.0, 1.0))
PROMPT_INFLUENCE = Option(
    "prompt_influence", float, "Sound effects: how closely to follow the prompt.", range=(0.0, 1.0)
)
TARGET_LANGUAGE = Option("target_language", str, "Dubbing target language code.")
VOICE_NAME = Option("voice_name", str, "Name for a designed or cloned voice.")
#: Where each model id was read (elevenlabs 2.78.0): the operation's model literal in the SDK.
_TTS_SRC = "elevenlabs 2.78.0 types/tts_conversational_model.py, text_to_speech_generation_request.py"
_SRC = {
    "music": "elevenlabs 2.78.0 types/music_model_id.py",
    "sound_effect": "elevenlabs 2.78.0 types/sfx_model_id.py",
    "voice_design": "elevenlabs 2.78.0 text_to_voice/types/voice_design_request_model_model_id.py",
    "voice_conversion": "elevenlabs 2.78.0 speech_to_speech/client.py (no literal; documented default)",
}


def _tts(model_id: str, notes: str, *, dialogue: bool = False, standings: tuple[Standing, ...] = ()) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        standings=standings,
        operations=("speech", "dialogue", "voice_clone") if dialogue else ("speech", "voice_clone"),
        voices=None,
        audio_formats=_FORMATS,
        speakers=(1, 10) if dialogue else None,  # text-to-dialogue: at most 10 unique voice ids
        options=_VOICE_OPTS | {"source_language", "voice_samples", "voice_name", "timestamps"},
        notes=notes,
        source=_TTS_SRC,
        checked=CHECKED,
    )


def _sts(model_id: str, notes: str) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        operations=("voice_conversion",),
        voices=None,
        audio_formats=_FORMATS,
        options=frozenset({"input_audio", "voice_stability", "voice_similarity", "seed"}),
        notes=notes,
        source=_SRC["voice_conversion"],
        checked=CHECKED,
    )


def _music(model_id: str, notes: str) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        operations=("music",),
        duration_range=(3.0, 600.0),
        audio_formats=_NO_WAV,
        options=frozenset({"instrumental", "sections"}),
        notes=notes,
        source=_SRC["music"],
        checked=CHECKED,
    )


def _design(model_id: str, notes: str) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        operations=("voice_design",),
        audio_formats=_NO_WAV,
        options=frozenset({"voice_name", "seed"}),
        notes=notes,
        source=_SRC["voice_design"],
        checked=CHECKED,
    )


SUPPORT = MediaSupport(
    priority=90,
    default_model="eleven_v4",
    options=(
        VOICE_STABILITY,
        VOICE_SIMILARITY,
        SPEED.within(0.7, 1.2),
        SEED,
        SOURCE_LANGUAGE,
        TARGET_LANGUAGE,
        VOICE_NAME,
        TIMESTAMPS,
        PROMPT_INFLUENCE,
        LOOP,
        INSTRUMENTAL,
    ),
    operations=(
        SPEECH,
        DIALOGUE,
        SOUND_EFFECTS,
        MUSIC,
        VOICE_CLONE,
        VOICE_DESIGN,
        VOICE_CONVERSION,
        AUDIO_ISOLATION,
        DUBBING,
    ),
    models=(
        _tts(
            "eleven_v4",
            "Speech and voice_clone: current flagship, 90+ languages, audio tags, 10,000 characters.",
            standings=(AA_SPEECH_OCT.at(None, 1322),),
        ),
        _tts("eleven_v4_turbo", "Faster eleven_v4 for real-time use.", standings=(AA_SPEECH_OCT.at(None, 1334),)),
        _tts(
            "eleven_v3",
            "Expressive speech, 70+ languages; dialogue (text-to-dialogue, up to 10 voices).",
            dialogue=True,
        ),
        _tts("eleven_multilingual_v2", "Stable speech, 29 languages."),
        _tts("eleven_flash_v2_5", "Low-latency speech, 32 languages."),
        _tts("eleven_turbo_v2_5", "Fast speech, 32 languages."),
        ModelSpec(
            id="eleven_text_to_sound_v2",
            operations=("sound_effect",),
            duration_range=(0.5, 30.0),
            audio_formats=_FORMATS,
            options=frozenset({"prompt_influence", "loop"}),
            notes="Sound effects, 0.5 to 30 s; loop makes a seamless loop.",
            source=_SRC["sound_effect"],
            checked=CHECKED,
        ),
        ModelSpec(
            id="eleven_text_to_sound_v3",
            operations=("sound_effect",),
            duration_range=(0.5, 30.0),
            audio_formats=_FORMATS,
            options=frozenset({"prompt_influence"}),
            notes="Newer sound effects model (no loop).",
            source=_SRC["sound_effect"],
            checked=CHECKED,
        ),
        _music(
            "music_v2_5",
            "Music from a prompt (newest model), 3 s to 10 min; instrumental forces no vocals; sections make a "
            "composition plan (3 to 120 s each, lyrics per section).",
        ),
        _music("music_v2", "Previous music model."),
        _music("music_v1", "First music model."),
        _sts("eleven_multilingual_sts_v2", "voice_conversion: input_audio spoken again in another voice."),
        _sts("eleven_english_sts_v2", "voice_conversion, English only."),
        ModelSpec(
            id="audio_isolation",
            operations=("audio_isolation",),
            options=frozenset({"input_audio"}),
            notes="Removes background noise from input_audio (the endpoint has no model id).",
            source="elevenlabs 2.78.0 audio_isolation/client.py",
            checked=CHECKED,
        ),
        _design("eleven_ttv_v3", "voice_design: a new voice from the prompt (v3 voice model), saved to the account."),
        _design("eleven_multilingual_ttv_v2", "voice_design with the older multilingual voice model."),
        ModelSpec(
            id="dubbing",
            long_job=True,
            operations=("dubbing",),
            options=frozenset({"input_audio", "target_language", "source_language"}),
            notes="Dubs an audio or video file into target_language (a long job; the endpoint has no model id).",
            source="elevenlabs 2.78.0 dubbing/client.py",
            checked=CHECKED,
        ),
    ),
)

#: Request fields that some models accept but only some operations use.
_ONLY_FOR = {
    "voice_samples": ("voice_clone",),
    "voice_name": ("voice_clone", "voice_design"),
    "source_language": ("speech", "dialogue", "voice_clone", "dubbing"),
    "timestamps": ("speech", "dialogue", "voice_clone"),
}


def _check(req: Any) -> None:
    for field, operations in _ONLY_FOR.items():
        if getattr(req, field) is not None and req.audio_type not in operations:
            raise InvalidRequest(f"{field} is only for audio_type {' or '.join(operations)}; remove it")


def _settings(req: Any) -> dict[str, float]:
    return drop_none(stability=req.voice_stability, similarity_boost=req.voice_similarity, speed=req.speed)


async def _input_audio(call: Call) -> Any:
    if not call.request.input_audio:
        raise InvalidRequest(f"audio_type={call.request.audio_type!r} needs input_audio: the audio file to process")
    return await call.load_file(call.request.input_audio, ("audio/", "video/"))


def _need_prompt(call: Call) -> None:
    if not call.prompt.strip():
        raise InvalidRequest(f"audio_type={call.request.audio_type!r} needs a prompt: the text to speak")


async def _speak(call: Call, voice_id: str, fmt: str, code: str, **metadata: Any) -> Produced:
    from elevenlabs import VoiceSettings

    req = call.request
    settings = _settings(req)
    kwargs = drop_none(
        text=call.prompt,
        model_id=call.model.id,
        output_format=code,
        voice_settings=VoiceSettings(**settings) if settings else None,
        seed=req.seed,
        language_code=req.source_language,
    )
    if req.timestamps:
        produced = await timed_speech(call, voice_id, fmt, code, kwargs)
        produced.metadata.update({k: v for k, v in metadata.items() if v is not None})
        return produced
    async with client(call) as el:
        path = await stream_to_temp(
            call, lambda: el.text_to_speech.convert(voice_id, **kwargs, request_options=NO_RETRIES)
        )
    return produced_from(path, fmt, code, voice_id=voice_id, **metadata)


async def speech(call: Call) -> list[Produced]:
    _need_prompt(call)
    fmt, code = output_format(call)
    voice_id, name = await resolve_voice(call)
    return [await _speak(call, voice_id, fmt, code, voice_name=name)]


async def dialogue(call: Call) -> list[Produced]:
    fmt, code = output_format(call)
    return [await _dialogue(call, fmt, code)]


async def voice_clone(call: Call) -> list[Produced]:
    _need_prompt(call)
    fmt, code = output_format(call)
    voice_id, name, reused, warnings = await clone_voice(call)
    produced = await _speak(call, voice_id, fmt, code, voice_name=name, cloned_voice=True, reused_voice=reused)
    produced.warnings.extend(warnings)
    return [produced]


async def sound_effect(call: Call) -> list[Produced]:
    req = call.request
    fmt, code = output_format(call)
    kwargs = drop_none(
        text=call.prompt,
        output_format=code,
        model_id=call.model.id,
        duration_seconds=req.duration,
        prompt_influence=req.prompt_influence,
        loop=req.loop,
    )
    async with client(call) as el:
        path = await stream_to_temp(
            call, lambda: el.text_to_sound_effects.convert(**kwargs, request_options=NO_RETRIES)
        )
    return [produced_from(path, fmt, code)]


async def music(call: Call) -> list[Produced]:
    req = call.request
    fmt, code = output_format(call)
    if req.sections:  # a composition plan replaces the prompt, the length and force_instrumental
        plan, extra = composition_plan(call)
        kwargs = drop_none(composition_plan=plan, output_format=code, model_id=call.model.id, **extra)
    else:
        kwargs = drop_none(
            prompt=call.prompt,
            output_format=code,
            model_id=call.model.id,
            music_length_ms=round(req.duration * 1000) if req.duration is not None else None,
            force_instrumental=req.instrumental,
        )
    async with client(call) as el:
        path = await stream_to_temp(call, lambda: el.music.compose(**kwargs, request_options=NO_RETRIES))
    return [produced_from(path, fmt, code)]


async def voice_conversion(call: Call) -> list[Produced]:
    req = call.request
    fmt, code = output_format(call)
    source = await _input_audio(call)
    voice_id, name = await resolve_voice(call)
    settings = _settings(req)
    kwargs = drop_none(
        audio=(source.name, source.data, source.mime_type),
        output_format=code,
        model_id=call.model.id,
        voice_settings=json.dumps(settings) if settings else None,  # a JSON string in the form
        seed=req.seed,
    )
    async with client(call) as el:
        path = await stream_to_temp(
            call, lambda: el.speech_to_speech.convert(voice_id, **kwargs, request_options=NO_RETRIES)
        )
    return [produced_from(path, fmt, code, voice_id=voice_id, voice_name=name)]


async def audio_isolation(call: Call) -> list[Produced]:
    source = await _input_audio(call)
    audio = (source.name, source.data, source.mime_type)
    async with client(call) as el:
        path = await stream_to_temp(call, lambda: el.audio_isolation.convert(audio=audio, request_options=NO_RETRIES))
    return [produced_from(path, None, None)]


_DIRECT: dict[str, Callable[[Call], Awaitable[list[Produced]]]] = {
    "speech": speech,
    "dialogue": dialogue,
    "voice_clone": voice_clone,
    "sound_effect": sound_effect,
    "music": music,
    "voice_conversion": voice_conversion,
    "audio_isolation": audio_isolation,
    "voice_design": design_voice,
}


class ElevenLabsAudio:
    """Direct operations when called; dubbing through the JobRunner methods."""

    async def __call__(self, call: Call) -> list[Produced]:
        _check(call.request)
        operation = _DIRECT.get(call.request.audio_type)
        if operation is None:
            raise InvalidRequest(f"audio_type={call.request.audio_type!r} runs as a long job on elevenlabs")
        return await operation(call)

    async def submit(self, call: Call) -> dict[str, Any]:
        _check(call.request)
        return await _dubbing.submit(call)

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        return await _dubbing.poll(call, handle)

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        return await _dubbing.fetch(call, handle, status)

    async def cancel(self, call: Call, handle: dict[str, Any]) -> None:
        await _dubbing.cancel(call, handle)


RUN = ElevenLabsAudio()
