"""Request options several backends take, worded once (a backend adds its own next to its models).

A backend lists the ones its models take in ``MediaSupport.options``, narrowing a range with
``Option.within`` where its provider's bounds differ; see ``spec.Option``.
"""

from __future__ import annotations

from ..spec import Option

__all__ = [
    "GENERATE_AUDIO",
    "INSTRUCTIONS",
    "INSTRUMENTAL",
    "LOOP",
    "NEGATIVE_PROMPT",
    "SEED",
    "SOURCE_LANGUAGE",
    "SPEED",
    "TIMESTAMPS",
]

SEED = Option("seed", int, "Seed for repeatable output.")
NEGATIVE_PROMPT = Option("negative_prompt", str, "What to avoid.")
GENERATE_AUDIO = Option("generate_audio", bool, "Video: include a soundtrack.")
SOURCE_LANGUAGE = Option("source_language", str, "Source language code.")
SPEED = Option("speed", float, "Speech speed multiplier.")
INSTRUCTIONS = Option("instructions", str, "Speaking style instructions.")
LOOP = Option("loop", bool, "Sound effects: make a seamless loop.")
INSTRUMENTAL = Option("instrumental", bool, "Music: no vocals.")
TIMESTAMPS = Option("timestamps", bool, "Also write word timings (.json, .srt).")
