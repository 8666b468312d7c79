"""Music composition plans: the request's ``sections`` as ElevenLabs' ``composition_plan``.

``music_v1`` takes a ``MusicPrompt`` (global styles plus ``sections`` with ``section_name``, local
styles, ``duration_ms`` and lyric ``lines``); ``music_v2`` and ``music_v2_5`` take a
``CompositionPlan`` of ``chunks`` (``text`` = ``[Section name]`` then the lyric lines,
``duration_ms``, ``positive_styles``). Shapes: elevenlabs 2.78.0 ``types/music_prompt.py``,
``song_section.py``, ``composition_plan.py``, ``generation_chunk_input.py``; limits from the same
docstrings (3 to 120 s per section, at most 30 lines of at most 200 characters).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...spec import Call

__all__ = ["composition_plan"]

SECTION_S = (3.0, 120.0)
MAX_LINES = 30
MAX_LINE_CHARS = 200


def _global_styles(prompt: str) -> list[str]:
    return [part.strip() for part in prompt.split(",") if part.strip()]


def _check(call: Call) -> None:
    req = call.request
    if req.duration is not None:
        raise InvalidRequest("give either duration or sections (their durations add up)", backend="elevenlabs")
    if req.instrumental and any(s.lyrics for s in req.sections or ()):
        raise InvalidRequest("instrumental=true but the sections have lyrics; remove one", backend="elevenlabs")
    low, high = SECTION_S
    for section in req.sections or ():
        if not low <= section.duration <= high:
            raise InvalidRequest(
                f"section {section.name!r} lasts {section.duration:g} s; ElevenLabs takes {low:g} to {high:g} s",
                backend="elevenlabs",
            )
        if len(section.lyrics) > MAX_LINES or any(len(line) > MAX_LINE_CHARS for line in section.lyrics):
            raise InvalidRequest(
                f"section {section.name!r}: at most {MAX_LINES} lyric lines of {MAX_LINE_CHARS} characters",
                backend="elevenlabs",
            )


def composition_plan(call: Call) -> tuple[Any, dict[str, Any]]:
    """(the SDK's plan object, extra request fields) for ``call.request.sections``."""
    from elevenlabs import CompositionPlan, GenerationChunkInput, MusicPrompt, SongSection

    _check(call)
    styles = _global_styles(call.prompt)
    sections = call.request.sections or []
    if call.model.id == "music_v1":
        plan = MusicPrompt(
            positive_global_styles=styles,
            negative_global_styles=[],
            sections=[
                SongSection(
                    section_name=s.name,
                    positive_local_styles=s.styles,
                    negative_local_styles=[],
                    duration_ms=round(s.duration * 1000),
                    lines=s.lyrics,
                )
                for s in sections
            ],
        )
        return plan, {"respect_sections_durations": True}
    chunks = [
        GenerationChunkInput(
            text="\n".join([f"[{s.name}]", *s.lyrics]),
            duration_ms=round(s.duration * 1000),
            positive_styles=[*styles, *s.styles],
        )
        for s in sections
    ]
    return CompositionPlan(chunks=chunks), {}
