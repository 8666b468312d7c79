"""Google audio: Gemini TTS (speech and two-speaker dialogue) and Lyria music.

Gemini TTS is ``models/{model}:generateContent`` with ``responseModalities: ["AUDIO"]`` and a
``speechConfig`` (one prebuilt voice, or ``multiSpeakerVoiceConfig`` with exactly two speakers).
Style instructions and speakers travel as each part's ``speechMetadata`` (``style``, ``speaker``),
the Gemini 3.8 TTS turn format. The answer is raw 16-bit PCM (``audio/L16;codec=pcm;rate=24000``)
in ``inlineData``, which is wrapped here into a WAV file.

Lyria is the Interactions API: ``interactions.create(model, input=<prompt>)`` answers with the song
as MP3 (``output_audio``) and its lyrics and structure as text (``output_text``). Length, vocals
and sections are directions in the prompt: Lyria has no request fields for them.

Model ids checked against google-genai 3.6.1 ``_gaos/types/interactions/model.py`` (2026-12-03):
gemini-3.8-flash-tts, gemini-3.8-flash-lite-tts, lyria-3.5, lyria-3-clip-preview. Request shapes:
google-genai 3.6.1 ``types.SpeechConfig``/``SpeechMetadata``; ai.google.dev speech-generation and
music-generation pages (Gemini 3.8 TTS, GA 2026-09-22; Lyria 3.5).
"""

from __future__ import annotations

import base64
import io
import re
import wave
from typing import Any

from ...errors import BadProviderResponse, InvalidRequest, SafetyBlocked
from ...spec import DIALOGUE, MUSIC, SPEECH, Call, MediaSupport, MediaType, ModelSpec, Produced
from .._options import INSTRUCTIONS, INSTRUMENTAL, SOURCE_LANGUAGE
from ._client import ERRORS, gemini_client

MEDIA = MediaType.AUDIO

#: The prebuilt Gemini TTS voices (ai.google.dev speech-generation, "Voice options").
VOICES = (
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
)
DEFAULT_VOICE = "Kore"
DIALOGUE_DEFAULTS = ("Kore", "Puck")  # two distinct voices when speaker_voices is not given
CLIP_SECONDS = 30.0
_PCM_RATE = re.compile(r"rate=(\d+)")


def _tts(model_id: str, notes: str) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        operations=("speech", "dialogue"),
        voices=VOICES,
        audio_formats=("wav",),
        speakers=(2, 2),  # MultiSpeakerVoiceConfig: "Exactly two speaker voice configurations" (google-genai 3.6.1)
        options=frozenset({"instructions", "source_language"}),
        notes=notes,
    )


SUPPORT = MediaSupport(
    priority=40,
    options=(INSTRUCTIONS, SOURCE_LANGUAGE, INSTRUMENTAL),
    default_model="gemini-3.8-flash-tts",
    operations=(SPEECH, DIALOGUE, MUSIC),
    models=(
        _tts(
            "gemini-3.8-flash-tts",
            "Gemini TTS: 30 prebuilt voices, style instructions, dialogue with exactly two speakers; WAV 24 kHz. "
            "No word timings.",
        ),
        _tts("gemini-3.8-flash-lite-tts", "Faster, cheaper Gemini TTS (same voices and request)."),
        ModelSpec(
            id="lyria-3.5",
            operations=("music",),
            duration_range=(10.0, 360.0),
            audio_formats=("mp3",),
            options=frozenset({"instrumental", "sections"}),
            notes="Lyria 3.5: full songs with vocals and lyrics (44.1 kHz stereo MP3); duration, instrumental and "
            "sections are given to Lyria as directions in the prompt. The lyrics it sang are in metadata.lyrics.",
        ),
        ModelSpec(
            id="lyria-3-clip-preview",
            operations=("music",),
            durations=(CLIP_SECONDS,),
            audio_formats=("mp3",),
            options=frozenset({"instrumental"}),
            notes="Lyria 3 Clip: always a 30 s clip (loops, previews).",
        ),
    ),
)


# --- Gemini TTS ----------------------------------------------------------------------------------


def _voice(name: str) -> Any:
    from google.genai import types

    return types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=name))


def _canonical_voice(name: str, who: str) -> str:
    found = next((v for v in VOICES if v.lower() == name.strip().lower()), None)
    if found is None:
        raise InvalidRequest(f"{name!r} ({who}) is not a Gemini voice; voices: {', '.join(VOICES)}", backend="google")
    return found


def _speech_request(call: Call) -> tuple[list[Any], Any]:
    from google.genai import types

    req = call.request
    style = req.instructions or None
    if req.audio_type == "dialogue":
        speakers = list(dict.fromkeys(turn.speaker for turn in req.dialogue or ()))
        if len(speakers) != 2:
            raise InvalidRequest(
                f"Gemini TTS speaks a dialogue of exactly two speakers, this one has {len(speakers)}; "
                "use backend='elevenlabs' or 'local' for more",
                backend="google",
            )
        chosen = req.speaker_voices or dict(zip(speakers, DIALOGUE_DEFAULTS, strict=True))
        configs = [
            types.SpeakerVoiceConfig(speaker=s, voice_config=_voice(_canonical_voice(chosen[s], s))) for s in speakers
        ]
        speech = types.SpeechConfig(
            multi_speaker_voice_config=types.MultiSpeakerVoiceConfig(speaker_voice_configs=configs),
            language_code=req.source_language,
        )
        parts = [
            types.Part(text=turn.text, speech_metadata=types.SpeechMetadata(speaker=turn.speaker, style=style))
            for turn in req.dialogue or ()
        ]
    else:
        if not call.prompt.strip():
            raise InvalidRequest("speech needs a prompt: the text to speak", backend="google")
        speech = types.SpeechConfig(voice_config=_voice(req.voice or DEFAULT_VOICE), language_code=req.source_language)
        metadata = types.SpeechMetadata(style=style) if style else None
        parts = [types.Part(text=call.prompt, speech_metadata=metadata)]
    config = types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech)
    return [types.Content(role="user", parts=parts)], config


def pcm_to_wav(pcm: bytes, rate: int, channels: int = 1) -> bytes:
    """Raw 16-bit little-endian PCM as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm[: len(pcm) - len(pcm) % (2 * channels)])
    return buffer.getvalue()


def _audio_part(response: Any) -> Any:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = str(getattr(feedback.block_reason, "value", feedback.block_reason))
        raise SafetyBlocked(f"google blocked the text ({reason}); rephrase it", backend="google", reason=reason)
    candidate = (response.candidates or [None])[0]
    parts = candidate.content.parts if candidate is not None and candidate.content else None
    found = next((p for p in parts or [] if p.inline_data is not None and p.inline_data.data), None)
    if found is None:
        reason = str(getattr(candidate, "finish_reason", None) or "none") if candidate is not None else "none"
        raise BadProviderResponse(f"google returned no audio (finishReason {reason}); try again", backend="google")
    return found.inline_data


async def _speak(call: Call) -> list[Produced]:
    async with gemini_client(call) as aio:  # first: it imports the SDK off the event loop
        contents, config = _speech_request(call)
        with ERRORS:
            response = await aio.models.generate_content(model=call.model.id, contents=contents, config=config)
    blob = _audio_part(response)
    mime = (blob.mime_type or "").lower()
    meta: dict[str, Any] = {"provider_mime_type": blob.mime_type}
    if mime.startswith(("audio/l16", "audio/pcm")):
        rate = int(match.group(1)) if (match := _PCM_RATE.search(mime)) else 24000
        data = pcm_to_wav(blob.data, rate)
        meta["wrapped"] = f"raw PCM {rate} Hz wrapped as WAV"
    else:
        data = blob.data
    req = call.request
    if req.audio_type == "dialogue":
        meta["speakers"] = {s: _canonical_voice(v, s) for s, v in (req.speaker_voices or {}).items()} or dict(
            zip(dict.fromkeys(t.speaker for t in req.dialogue or ()), DIALOGUE_DEFAULTS, strict=True)
        )
    else:
        meta["voice"] = req.voice or DEFAULT_VOICE
    return [Produced(data=data, metadata=meta)]


# --- Lyria ---------------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def lyria_prompt(call: Call) -> str:
    """The prompt with the request's length, vocals and sections written as directions for Lyria."""
    req = call.request
    lines = [call.prompt.strip()] if call.prompt.strip() else []
    if req.instrumental:
        lines.append("Instrumental only, no vocals.")
    if req.sections:
        total = sum(s.duration for s in req.sections)
        lines.append(f"Song structure ({_clock(total)} in total):")
        start = 0.0
        for section in req.sections:
            styles = f" ({', '.join(section.styles)})" if section.styles else ""
            lines.append(f"[{section.name}] [{_clock(start)} - {_clock(start + section.duration)}]{styles}")
            lines.extend(section.lyrics or ["(instrumental)"])
            start += section.duration
    elif req.duration is not None and call.model.id != "lyria-3-clip-preview":
        lines.append(f"Length: about {_clock(req.duration)}.")
    return "\n".join(lines)


async def _music(call: Call) -> list[Produced]:
    req = call.request
    if req.sections and req.duration is not None:
        raise InvalidRequest("give either duration or sections (their durations add up), not both", backend="google")
    if req.sections and req.instrumental and any(s.lyrics for s in req.sections):
        raise InvalidRequest("instrumental=true but the sections have lyrics; remove one", backend="google")
    prompt = lyria_prompt(call)
    if not prompt:
        raise InvalidRequest("music needs a prompt: the style, mood and instruments", backend="google")
    async with gemini_client(call) as aio:
        await call.progress(f"composing on google/{call.model.id}")
        with ERRORS:
            # A whole song is made before the answer starts: wait up to the call's overall deadline,
            # not just one read timeout.
            timeout = call.settings.provider_deadline_s
            interaction = await aio.interactions.create(model=call.model.id, input=prompt, timeout=timeout)
    audio = interaction.output_audio
    if audio is None or not audio.data:
        status = getattr(interaction, "status", None) or "unknown"
        raise BadProviderResponse(f"Lyria finished without audio (status {status}); try again", backend="google")
    meta: dict[str, Any] = {"interaction_id": interaction.id, "provider_mime_type": audio.mime_type}
    if interaction.output_text:
        meta["lyrics"] = interaction.output_text[:4000]
    return [Produced(data=base64.b64decode(audio.data), metadata=meta)]


async def generate(call: Call) -> list[Produced]:
    if call.request.audio_type == "music":
        return await _music(call)
    return await _speak(call)


RUN = generate
