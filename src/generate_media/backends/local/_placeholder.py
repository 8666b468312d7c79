"""PLACEHOLDER images: a seeded Pillow landscape (colour words pick the palette) captioned with the
prompt and stamped PLACEHOLDER. No registry ships text-to-image weights, so this is not the prompt:
it is an honest stand-in that keeps offline pipelines (and slideshows) working."""

from __future__ import annotations

import random
import textwrap
from typing import Any

__all__ = ["SIZES", "scene"]

#: Aspect ratio -> pixel size.
SIZES = {"1:1": (768, 768), "3:2": (768, 512), "2:3": (512, 768), "16:9": (896, 504), "9:16": (504, 896)}

_COLOURS = {
    "red": (200, 60, 50),
    "orange": (235, 140, 50),
    "yellow": (240, 210, 80),
    "green": (70, 150, 80),
    "blue": (60, 110, 200),
    "purple": (130, 80, 170),
    "pink": (230, 130, 170),
    "teal": (50, 150, 150),
    "brown": (130, 90, 60),
    "gold": (210, 170, 60),
    "night": (20, 30, 70),
    "sunset": (240, 120, 80),
    "dawn": (250, 170, 130),
    "snow": (235, 240, 250),
    "forest": (40, 100, 50),
    "ocean": (30, 90, 150),
    "desert": (220, 180, 120),
}


def _palette(prompt: str, rng: random.Random) -> list[tuple[int, int, int]]:
    text = prompt.lower()
    found = sorted((text.find(word), rgb) for word, rgb in _COLOURS.items() if word in text)
    named = [rgb for _, rgb in found]
    while len(named) < 3:
        named.append((rng.randrange(40, 230), rng.randrange(40, 230), rng.randrange(40, 230)))
    return named


def _mix(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _sky(draw: Any, size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]) -> None:
    width, height = size
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=_mix(top, bottom, y / max(1, height - 1)))


def _hills(draw: Any, size: tuple[int, int], colour: tuple[int, ...], rng: random.Random) -> None:
    width, height = size
    for layer in range(3):
        base = height * (0.55 + 0.13 * layer)
        amplitude, phase = height * rng.uniform(0.04, 0.1), rng.uniform(0, 6.28)
        waves = rng.uniform(1.0, 3.0)
        shade = _mix(colour, (10, 15, 20), 0.25 * layer)
        points = [(0, height)]
        for x in range(0, width + 16, 16):
            y = base + amplitude * _wave(x / width * waves * 6.28 + phase)
            points.append((x, round(y)))
        points.append((width, height))
        draw.polygon(points, fill=shade)


def _wave(x: float) -> float:
    import math

    return math.sin(x) + 0.4 * math.sin(2.3 * x + 1.0)


def _caption(draw: Any, size: tuple[int, int], prompt: str) -> None:
    from PIL import ImageFont

    width, height = size
    font = ImageFont.load_default(size=max(14, width // 40))
    badge = ImageFont.load_default(size=max(16, width // 28))
    lines = textwrap.wrap(prompt, width=max(20, (width - 2 * max(12, width // 12)) // max(7, width // 60))) or [""]
    text = "\n".join(lines[:3])
    box = draw.multiline_textbbox((0, 0), text, font=font)
    inset = max(12, width // 12)  # inside what a slideshow's zoom keeps in frame
    top = height - (box[3] - box[1]) - max(24, height // 12)
    draw.rectangle([(0, top - 12), (width, height)], fill=(0, 0, 0))
    draw.multiline_text((inset, top), text, font=font, fill=(255, 255, 255))
    left, top_, right, bottom = draw.textbbox((inset, inset), "PLACEHOLDER", font=badge)
    draw.rectangle([(left - 10, top_ - 8), (right + 10, bottom + 8)], fill=(255, 235, 0))
    draw.text((inset, inset), "PLACEHOLDER", font=badge, fill=(0, 0, 0))


def scene(prompt: str, seed: int, size: tuple[int, int], caption: bool = True) -> Any:
    """A seeded landscape for ``prompt`` (a PIL image); ``caption`` adds the prompt and the label."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    palette = _palette(prompt, rng)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    _sky(draw, size, _mix(palette[0], (255, 255, 255), 0.35), _mix(palette[1], (255, 255, 255), 0.6))
    width, height = size
    radius = round(min(size) * rng.uniform(0.06, 0.11))
    cx, cy = round(width * rng.uniform(0.15, 0.85)), round(height * rng.uniform(0.12, 0.35))
    draw.ellipse([(cx - radius, cy - radius), (cx + radius, cy + radius)], fill=_mix(palette[1], (255, 240, 200), 0.6))
    _hills(draw, size, palette[2], rng)
    if caption:
        _caption(draw, size, prompt)
    return image
