"""PLACEHOLDER sound effects: a keyword in the prompt picks a numpy recipe (noise sweeps, chirps,
decaying tones). No model hears the prompt; results are labelled ``placeholder``."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["RATE", "recipe_for", "synthesize"]

RATE = 44_100

Recipe = Callable[[Any, Any, random.Random], Any]  # (numpy, time axis, rng) -> samples


def _lowpass(np: Any, signal: Any, strength: int) -> Any:
    kernel = np.ones(strength) / strength
    return np.convolve(signal, kernel, mode="same")


def _whoosh(np: Any, t: Any, rng: random.Random) -> Any:
    noise = np.random.default_rng(rng.randrange(2**32)).standard_normal(t.size)
    span = t[-1] or 1.0
    envelope = np.sin(np.pi * t / span) ** 2
    smooth = _lowpass(np, noise, 24) * (1 - t / span) + _lowpass(np, noise, 4) * (t / span)
    return smooth * envelope


def _laser(np: Any, t: Any, rng: random.Random) -> Any:
    pulse = 0.35
    local = t % pulse
    freq = 2400 * np.exp(-local * rng.uniform(6, 10)) + 200
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    return np.sign(np.sin(phase)) * 0.6 * np.exp(-local * 5)


def _boom(np: Any, t: Any, rng: random.Random) -> Any:
    noise = np.random.default_rng(rng.randrange(2**32)).standard_normal(t.size)
    rumble = _lowpass(np, _lowpass(np, noise, 60), 60) * 8
    thump = np.sin(2 * np.pi * 55 * t * np.exp(-t * 2))
    return (rumble + thump) * np.exp(-t * 2.5)


def _chime(np: Any, t: Any, rng: random.Random) -> Any:
    base = rng.choice((523.25, 659.25, 783.99, 880.0))
    partials = sum(np.sin(2 * np.pi * base * k * t) / k for k in (1, 2.76, 5.4))
    return partials * np.exp(-t * 3)


def _rain(np: Any, t: Any, rng: random.Random) -> Any:
    generator = np.random.default_rng(rng.randrange(2**32))
    hiss = _lowpass(np, generator.standard_normal(t.size), 3) * 0.3
    drops = (generator.random(t.size) > 0.9995).astype(float)
    return hiss + _lowpass(np, drops, 30) * 20


def _siren(np: Any, t: Any, rng: random.Random) -> Any:
    freq = 700 + 250 * np.sin(2 * np.pi * rng.uniform(0.4, 0.8) * t)
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE)


def _blip(np: Any, t: Any, rng: random.Random) -> Any:
    freq = rng.uniform(300, 900) * (1 + t)
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * np.exp(-t * 4)


_RECIPES: dict[str, Recipe] = {
    "whoosh": _whoosh,
    "laser": _laser,
    "boom": _boom,
    "chime": _chime,
    "rain": _rain,
    "siren": _siren,
    "blip": _blip,
}
_WORDS = {
    "whoosh": ("whoosh", "swoosh", "wind", "swish", "swipe", "fly"),
    "laser": ("laser", "zap", "blaster", "pew", "sci-fi", "shot"),
    "boom": ("boom", "explosion", "explode", "thunder", "impact", "crash", "rumble"),
    "chime": ("chime", "bell", "ding", "notification", "ring", "coin"),
    "rain": ("rain", "water", "drizzle", "storm", "static", "crackle"),
    "siren": ("siren", "alarm", "alert", "police"),
}


def recipe_for(prompt: str) -> str:
    """The recipe a prompt names (first keyword found), else ``blip``."""
    text = prompt.lower()
    return next((name for name, words in _WORDS.items() if any(w in text for w in words)), "blip")


def synthesize(prompt: str, duration: float, seed: int, loop: bool) -> tuple[Any, str]:
    """Mono float samples for ``prompt`` and the recipe used; ``loop`` crossfades the ends."""
    import numpy as np

    name = recipe_for(prompt)
    frames = round(duration * RATE)
    cross = min(frames // 4, int(RATE * 0.25)) if loop else 0
    t = np.arange(frames + cross) / RATE
    samples = np.nan_to_num(_RECIPES[name](np, t, random.Random(seed)))
    if cross:
        # The sound after the end fades into the start, so the last sample leads into the first.
        ramp = np.linspace(0.0, 1.0, cross)
        head = samples[:cross] * ramp + samples[frames:] * (1 - ramp)
        return np.concatenate([head, samples[cross:frames]]), name
    fade = min(frames // 2, int(RATE * 0.01))
    if fade:
        samples[:fade] *= np.linspace(0.0, 1.0, fade)
        samples[-fade:] *= np.linspace(1.0, 0.0, fade)
    return samples, name
