"""Real small media files the fakes serve: images with Pillow, audio and video encoded with PyAV."""

from __future__ import annotations

import functools
import io
import math
import struct
import wave

from PIL import Image


@functools.cache
def image(width: int = 64, height: int = 64, fmt: str = "PNG", color: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    img = Image.new("RGB", (width, height), color)
    for x in range(0, width, 8):  # a little structure so thumbnails are not trivially small
        for y in range(height):
            img.putpixel((x, y), (x % 256, y % 256, 120))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def png(width: int = 64, height: int = 64) -> bytes:
    return image(width, height, "PNG")


@functools.cache
def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress (for size-realistic payloads, e.g. a ~1 MB image)."""
    import os

    img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


@functools.cache
def wav(seconds: float = 1.0, rate: int = 22050) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return buf.getvalue()


def _encode_audio(codec: str, fmt: str, seconds: float, rate: int, channels: int = 1) -> bytes:
    """A real tone in ``codec``/``fmt``, mono or stereo (the same wave on every channel)."""
    import av
    import numpy as np

    layout = "stereo" if channels == 2 else "mono"
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        total = int(seconds * rate)
        chunk = 1152
        t = 0
        while t < total:
            n = min(chunk, total - t)
            wave = (0.2 * np.sin(2 * np.pi * 440 * (np.arange(t, t + n) / rate))).astype(np.float32)
            samples = np.tile(wave, (channels, 1))
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = t
            for packet in stream.encode(frame):
                out.mux(packet)
            t += n
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@functools.cache
def mp3(seconds: float = 1.0, rate: int = 44100, channels: int = 1) -> bytes:
    return _encode_audio("mp3", "mp3", seconds, rate, channels)


@functools.cache
def audio(fmt: str, seconds: float = 1.0) -> bytes:
    """Audio bytes in a provider output format: mp3, wav, opus (ogg), aac (adts), flac, pcm (raw s16le)."""
    if fmt == "mp3":
        return mp3(seconds)
    if fmt == "wav":
        return wav(seconds)
    if fmt == "pcm":
        return wav(seconds)[44:]
    if fmt == "opus":
        return _encode_audio("libopus", "ogg", seconds, 48000)
    if fmt == "aac":
        return _encode_audio("aac", "adts", seconds, 44100)
    if fmt == "flac":
        return _encode_audio("flac", "flac", seconds, 44100)
    raise ValueError(fmt)


@functools.cache
def mp4(seconds: float = 1.0, width: int = 160, height: int = 90, fps: int = 10, with_audio: bool = True) -> bytes:
    """A real H.264 (+AAC) MP4."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        as_ = out.add_stream("aac", rate=44100, layout="mono") if with_audio else None
        for i in range(int(seconds * fps)):
            arr = np.full((height, width, 3), (i * 20) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        if as_ is not None:
            rate, total, t = 44100, int(seconds * 44100), 0
            while t < total:
                n = min(1024, total - t)
                samples = (0.1 * np.sin(2 * np.pi * 330 * (np.arange(t, t + n) / rate))).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = rate, t
                for packet in as_.encode(frame):
                    out.mux(packet)
                t += n
            for packet in as_.encode(None):
                out.mux(packet)
    return buf.getvalue()
