"""Float sample arrays to 16-bit PCM WAV bytes, and a seed from a prompt."""

from __future__ import annotations

import hashlib
import io
import wave
from typing import Any

__all__ = ["prompt_seed", "wav_bytes"]


def prompt_seed(prompt: str, seed: int | None) -> int:
    """The request's seed, else one derived from the prompt: the same prompt gives the same output."""
    if seed is not None:
        return seed
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:4], "big")


def wav_bytes(samples: Any, rate: int, peak: float = 0.89) -> bytes:
    """``samples`` (numpy float, shape (n,) or (n, channels)) normalised to ``peak`` and written as WAV."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    loudest = float(np.max(np.abs(data))) if data.size else 0.0
    if loudest > 0:
        data = data * (peak / loudest)
    pcm = (np.clip(data, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(pcm.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()
