"""A narrated Ken Burns slideshow: still images slowly zoomed or panned, crossfaded, over the
prompt spoken by the local voice, encoded to H.264 + AAC MP4 by the ffmpeg that imageio-ffmpeg
ships (a subprocess, awaited without blocking the event loop and killed if the call is cancelled).

Composition, not generative video: results say ``"composition": "slideshow"``.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from ...errors import ProviderError

__all__ = ["FPS", "HEIGHTS", "Slideshow", "encode", "frame_size", "prepare_slides"]

FPS = 30
HEIGHTS = {"360p": 360, "480p": 480, "720p": 720}
_RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
_OVERSCAN = 2  # slides are prepared at twice the frame size so the zoom does not judder

Progress = Callable[[str, float | None], Awaitable[None]]


def frame_size(aspect_ratio: str | None, size: str | None) -> tuple[int, int]:
    """Even pixel dimensions for an aspect ratio and a height class (default 16:9, 720p)."""
    short = HEIGHTS[size or "720p"]
    across, down = _RATIOS[aspect_ratio or "16:9"]
    if across >= down:
        return _even(short * across / down), short
    return short, _even(short * down / across)


def _even(value: float) -> int:
    return int(round(value / 2) * 2)


def _cover(image: Any, size: tuple[int, int]) -> Any:
    """Scale to fill ``size`` and crop the overflow around the centre (never stretch)."""
    from PIL import ImageOps

    return ImageOps.fit(image.convert("RGB"), size)


def prepare_slides(sources: list[Any], folder: Path, size: tuple[int, int]) -> list[Path]:
    """Write each PIL image as a PNG filling ``_OVERSCAN`` times the frame (blocking)."""
    big = (size[0] * _OVERSCAN, size[1] * _OVERSCAN)
    paths = []
    for index, image in enumerate(sources):
        path = folder / f"slide{index}.png"
        _cover(image, big).save(path, format="PNG", compress_level=1)
        paths.append(path)
    return paths


class Slideshow:
    """The ffmpeg command for ``slides`` over ``total`` seconds, optionally with ``narration``."""

    def __init__(self, slides: list[Path], size: tuple[int, int], total: float, seed: int) -> None:
        self.slides, self.size, self.total = slides, size, total
        count = len(slides)
        self.fade = min(0.5, total / (2 * count)) if count > 1 else 0.0
        self.segment = (total + (count - 1) * self.fade) / count
        self.rng = random.Random(seed)

    def _motion(self, frames: int) -> str:
        """One zoompan: zoom in, zoom out, or pan across, picked by the seed."""
        centre = "x='(iw-iw/zoom)/2':y='(ih-ih/zoom)/2'"
        moves = (
            f"z='1+0.2*on/{frames}':{centre}",
            f"z='1.2-0.2*on/{frames}':{centre}",
            f"z='1.15':x='(iw-iw/zoom)*on/{frames}':y='(ih-ih/zoom)/2'",
            f"z='1.15':x='(iw-iw/zoom)*(1-on/{frames})':y='(ih-ih/zoom)/2'",
        )
        return self.rng.choice(moves)

    def _video_graph(self) -> tuple[str, str]:
        width, height = self.size
        frames = max(1, round(self.segment * FPS))
        parts = [
            f"[{i}:v]zoompan={self._motion(frames)}:d=1:s={width}x{height}:fps={FPS},setsar=1,format=yuv420p[v{i}]"
            for i in range(len(self.slides))
        ]
        label = "v0"
        for i in range(1, len(self.slides)):
            offset = i * (self.segment - self.fade)
            parts.append(f"[{label}][v{i}]xfade=transition=fade:duration={self.fade:.3f}:offset={offset:.3f}[x{i}]")
            label = f"x{i}"
        return ";".join(parts), label

    def command(self, ffmpeg: str, narration: Path | None, out: Path) -> list[str]:
        cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        for slide in self.slides:
            cmd += ["-loop", "1", "-framerate", str(FPS), "-t", f"{self.segment:.3f}", "-i", str(slide)]
        graph, video = self._video_graph()
        maps = ["-map", f"[{video}]"]
        if narration is not None:
            cmd += ["-i", str(narration)]
            graph += f";[{len(self.slides)}:a]apad,aresample=44100[a]"
            maps += ["-map", "[a]", "-c:a", "aac", "-b:a", "128k"]
        cmd += ["-filter_complex", graph, *maps]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-r", str(FPS)]
        cmd += ["-t", f"{self.total:.3f}", "-movflags", "+faststart", "-progress", "pipe:1", "-nostats", str(out)]
        return cmd


async def _follow(stream: Any, total: float, progress: Progress) -> None:
    """Turn ffmpeg's ``-progress`` key=value lines into progress reports (at most one per 10%)."""
    reported = -10.0
    pending = ""
    async for chunk in stream:
        pending += chunk.decode("ascii", "replace")
        *lines, pending = pending.split("\n")
        for line in lines:
            if line.startswith("out_time_us=") and line[12:].strip().isdigit():
                percent = min(99.0, int(line[12:]) / 1e6 / total * 100)
                if percent - reported >= 10:
                    reported = percent
                    await progress("encoding the slideshow", percent)


async def _drain(stream: Any, sink: bytearray) -> None:
    async for chunk in stream:
        sink.extend(chunk[-4096:])


async def encode(command: list[str], total: float, progress: Progress) -> None:
    """Run ffmpeg; cancelling the call kills it.

    Raises:
        ProviderError: ffmpeg failed (its last error line is in the message).
    """
    errors = bytearray()
    process = await anyio.open_process(command, stdin=subprocess.DEVNULL)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drain, process.stderr, errors)
            await _follow(process.stdout, total, progress)
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.aclose()
    if process.returncode != 0:
        last = (errors.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1][:200]
        raise ProviderError(
            f"local video encoding failed (ffmpeg exit {process.returncode}: {last}); try other input images",
            backend="local",
        )
