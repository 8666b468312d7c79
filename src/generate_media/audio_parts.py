"""Structured audio inputs of a request: dialogue turns and song sections.

Each accepts the JSON object a tool call sends and, for the CLI (where every value is a string),
a short text form: a turn as ``"Speaker: text"``, speaker voices as ``"Alice=Kore,Bob=Puck"`` and a
section as its JSON object.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DialogueTurn", "SongSection", "parse_sections", "parse_speaker_voices", "parse_turns"]


class DialogueTurn(BaseModel):
    """One line of a dialogue."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    speaker: str = Field(min_length=1, max_length=60, description="Who speaks (a name used in speaker_voices).")
    text: str = Field(min_length=1, description="What they say.")


class SongSection(BaseModel):
    """One section of a structured song."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, description="Section name: Intro, Verse 1, Chorus...")
    duration: float = Field(gt=0, description="Seconds.")
    lyrics: list[str] = Field(default_factory=list, description="Lines sung in this section (none: instrumental).")
    styles: list[str] = Field(default_factory=list, description="Styles for this section (e.g. 'soft piano').")

    @field_validator("lyrics", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        if isinstance(value, str):  # one block of lyrics: one line per line
            return [line.strip() for line in value.splitlines() if line.strip()]
        return value


def parse_turns(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    turns: list[Any] = []
    for item in value:
        if isinstance(item, str):
            speaker, sep, text = item.partition(":")
            if not sep:
                raise ValueError(f"a dialogue turn given as text must be 'Speaker: text', got {item[:40]!r}")
            item = {"speaker": speaker, "text": text}
        turns.append(item)
    return turns


def parse_speaker_voices(value: Any) -> Any:
    if isinstance(value, list):  # the CLI's repeated values
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        return value
    voices: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        speaker, sep, voice = pair.partition("=")
        if not sep or not speaker.strip() or not voice.strip():
            raise ValueError(f"speaker voices given as text must be 'Speaker=voice,...', got {pair[:40]!r}")
        voices[speaker.strip()] = voice.strip()
    return voices


def parse_sections(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    parsed: list[Any] = []
    for item in value:
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except ValueError as exc:
                raise ValueError(f"a section given as text must be a JSON object, got {item[:40]!r}") from exc
        parsed.append(item)
    return parsed
