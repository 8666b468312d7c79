"""Word timings as the sidecar files a timed transcript is saved as: ``.json`` (every word with its
start and end in seconds) and ``.srt`` (subtitle cues of a few words each).

Backends produce :class:`Word` lists from what their provider or engine reports (character
alignments, phoneme alignments) and attach :func:`sidecars` to the artifact they return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

__all__ = ["Word", "sidecars", "srt", "words_from_characters"]

MAX_CUE_WORDS = 8
MAX_CUE_S = 4.0
_SENTENCE_END = (".", "!", "?", "…")


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    speaker: str | None = None


def words_from_characters(
    characters: Sequence[str], starts: Sequence[float], ends: Sequence[float], speaker: str | None = None
) -> list[Word]:
    """Words from a per-character alignment: a word runs from its first character's start to its last's end."""
    words: list[Word] = []
    text, start, end = "", 0.0, 0.0
    for char, char_start, char_end in zip(characters, starts, ends, strict=False):
        if char.isspace():
            if text:
                words.append(Word(text, start, end, speaker))
            text = ""
            continue
        if not text:
            start = float(char_start)
        text += char
        end = float(char_end)
    if text:
        words.append(Word(text, start, end, speaker))
    return words


def _stamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def _cues(words: Sequence[Word]) -> Iterable[list[Word]]:
    cue: list[Word] = []
    for word in words:
        if cue and (word.speaker != cue[0].speaker or len(cue) >= MAX_CUE_WORDS or word.end - cue[0].start > MAX_CUE_S):
            yield cue
            cue = []
        cue.append(word)
        if word.text.endswith(_SENTENCE_END):
            yield cue
            cue = []
    if cue:
        yield cue


def srt(words: Sequence[Word]) -> str:
    blocks = []
    for number, cue in enumerate(_cues(words), start=1):
        text = " ".join(w.text for w in cue)
        if cue[0].speaker:
            text = f"{cue[0].speaker}: {text}"
        blocks.append(f"{number}\n{_stamp(cue[0].start)} --> {_stamp(cue[-1].end)}\n{text}\n")
    return "\n".join(blocks)


def sidecars(words: Sequence[Word], *, source: str, granularity: str = "word") -> dict[str, bytes]:
    """The ``.json`` and ``.srt`` files for ``words`` (``source`` says where the timings come from)."""
    items = [{k: v for k, v in asdict(w).items() if v is not None} for w in words]
    for item in items:
        item["start"], item["end"] = round(item["start"], 3), round(item["end"], 3)
    doc = {"source": source, "granularity": granularity, "words": items}
    return {
        "json": json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"),
        "srt": srt(words).encode("utf-8"),
    }
