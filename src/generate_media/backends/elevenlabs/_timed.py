"""Dialogue (``/v1/text-to-dialogue``) and timed speech (the ``/with-timestamps`` endpoints).

Timed variants answer JSON: the audio as base64 plus a per-character alignment
(``characters``, ``character_start_times_seconds``, ``character_end_times_seconds``) of the text as
sent; dialogue adds ``voice_segments`` (which characters each script line covers). Words are the
whitespace-separated runs of aligned characters; a dialogue word takes the speaker of its line.
"""

from __future__ import annotations

import base64
from typing import Any

from ...errors import BadProviderResponse, InvalidRequest
from ...spec import Call, Produced
from .._timings import Word, sidecars, words_from_characters
from ._client import NO_RETRIES, client, drop_none, guarded, produced_from, stream_to_temp
from .voices import resolve_voice

__all__ = ["dialogue", "timed_speech"]

SOURCE = "elevenlabs character alignment"
MAX_VOICES = 10  # unique voices per dialogue (text-to-dialogue docs)
#: Distinct premade voices for speakers without a voice in speaker_voices: George, Rachel, Charlotte, Charlie, Aria.
DEFAULT_VOICES = (
    "JBFqnCBsd6RMkjVDRZzb",
    "21m00Tcm4TlvDq8ikWAM",
    "XB0fDUnXU5powFXDhCwa",
    "IKne3meq5aSn9XLyUdCD",
    "9BWtsMINqrJLrRacOk9x",
)


def _audio(response: Any) -> bytes:
    encoded = getattr(response, "audio_base_64", None)
    if not encoded:
        raise BadProviderResponse("elevenlabs returned no audio with the timestamps; try again", backend="elevenlabs")
    return base64.b64decode(encoded)


def _alignment(response: Any) -> Any:
    alignment = response.alignment or response.normalized_alignment
    if alignment is None:
        raise BadProviderResponse("elevenlabs returned no timestamps; try again", backend="elevenlabs")
    return alignment


async def timed_speech(call: Call, voice_id: str, fmt: str, code: str, kwargs: dict[str, Any]) -> Produced:
    """``text_to_speech.convert_with_timestamps``: the audio plus word timings as sidecars."""
    async with client(call) as el:
        response = await guarded(
            lambda: el.text_to_speech.convert_with_timestamps(voice_id, **kwargs, request_options=NO_RETRIES)
        )
    alignment = _alignment(response)
    words = words_from_characters(
        alignment.characters, alignment.character_start_times_seconds, alignment.character_end_times_seconds
    )
    produced = produced_from(None, fmt, code, data=_audio(response), voice_id=voice_id, word_count=len(words))
    produced.sidecars = sidecars(words, source=SOURCE)
    return produced


async def _voices(call: Call, speakers: list[str]) -> dict[str, tuple[str, str | None]]:
    chosen = call.request.speaker_voices
    if chosen is None and len(speakers) > len(DEFAULT_VOICES):
        raise InvalidRequest(
            f"{len(speakers)} speakers: give each a voice in speaker_voices (defaults exist for {len(DEFAULT_VOICES)})",
            backend="elevenlabs",
        )
    if chosen is None:
        return {s: (v, None) for s, v in zip(speakers, DEFAULT_VOICES, strict=False)}
    return {s: await resolve_voice(call, chosen[s]) for s in speakers}


def _dialogue_words(response: Any, speakers_by_line: list[str]) -> list[Word]:
    alignment = _alignment(response)
    chars = alignment.characters
    starts, ends = alignment.character_start_times_seconds, alignment.character_end_times_seconds
    words: list[Word] = []
    for segment in response.voice_segments or []:
        lo, hi = segment.character_start_index, segment.character_end_index
        line = segment.dialogue_input_index
        speaker = speakers_by_line[line] if 0 <= line < len(speakers_by_line) else None
        words.extend(words_from_characters(chars[lo:hi], starts[lo:hi], ends[lo:hi], speaker))
    return words


async def dialogue(call: Call, fmt: str, code: str) -> Produced:
    """``text_to_dialogue.convert`` (streamed to disk), or ``convert_with_timestamps`` when asked."""
    from elevenlabs import DialogueInput

    req = call.request
    speakers = list(dict.fromkeys(turn.speaker for turn in req.dialogue or ()))
    if len(set((req.speaker_voices or {}).values())) > MAX_VOICES or len(speakers) > MAX_VOICES:
        raise InvalidRequest(f"elevenlabs dialogue takes at most {MAX_VOICES} voices", backend="elevenlabs")
    voices = await _voices(call, speakers)
    inputs = [DialogueInput(text=turn.text, voice_id=voices[turn.speaker][0]) for turn in req.dialogue or ()]
    kwargs = drop_none(
        inputs=inputs, output_format=code, model_id=call.model.id, language_code=req.source_language, seed=req.seed
    )
    meta: dict[str, Any] = {"speakers": {s: {"voice_id": v, "voice_name": n} for s, (v, n) in voices.items()}}
    async with client(call) as el:
        if not req.timestamps:
            path = await stream_to_temp(call, lambda: el.text_to_dialogue.convert(**kwargs, request_options=NO_RETRIES))
            return produced_from(path, fmt, code, **meta)
        response = await guarded(
            lambda: el.text_to_dialogue.convert_with_timestamps(**kwargs, request_options=NO_RETRIES)
        )
    words = _dialogue_words(response, [turn.speaker for turn in req.dialogue or ()])
    produced = produced_from(None, fmt, code, data=_audio(response), **meta, word_count=len(words))
    produced.sidecars = sidecars(words, source=SOURCE)
    return produced
