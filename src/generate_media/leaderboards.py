"""The public human-preference leaderboards models declare their standing on, as dated snapshots.

A model declares ``standings=(ARENA_T2I.at(3, 1383), ...)`` in its ``ModelSpec``; ``prefer='quality'``
ranks the models that can serve a request by the board of its task (Arena first, then Artificial
Analysis). A board is a snapshot: its ``snapshot`` date says how old the order is, and a model released
after it has no standing there (it is ranked after the ones that have). Re-read the source, then update
the snapshot date and every standing on that board together.

Sources: the boards' own pages (arena.ai/leaderboard/..., artificialanalysis.ai/...), as captured by
third parties on the dates given (the boards render client-side; no first-party archive exists).
"""

from __future__ import annotations

from .spec import Board

__all__ = [
    "AA_I2V",
    "AA_SPEECH",
    "AA_SPEECH_OCT",
    "AA_T2I",
    "AA_T2V",
    "ARENA_EDIT",
    "ARENA_I2V",
    "ARENA_T2I",
    "ARENA_T2V",
    "TASKS",
]

_AITIER = "AGIHunt/aitier research/runs/2026-09-29 (capture of the board page)"

ARENA_T2V = Board(
    "Arena text-to-video", "text-to-video", "2026-09-21", "arena.ai/leaderboard/text-to-video via " + _AITIER
)
ARENA_I2V = Board(
    "Arena image-to-video", "image-to-video", "2026-09-21", "arena.ai/leaderboard/image-to-video via " + _AITIER
)
ARENA_T2I = Board(
    "Arena text-to-image", "text-to-image", "2026-09-24", "arena.ai/leaderboard/text-to-image via " + _AITIER
)
ARENA_EDIT = Board("Arena image edit", "image-edit", "2026-09-21", "arena.ai/leaderboard/image-edit via " + _AITIER)
AA_T2V = Board(
    "AA text-to-video v2.0",
    "text-to-video",
    "2026-10-01",
    "artificialanalysis.ai/video/leaderboard/text-to-video via AGIHunt/aitier research/runs/2026-10-01",
)
AA_I2V = Board(
    "AA image-to-video", "image-to-video", "2026-09-29", "artificialanalysis.ai/video/leaderboard/image-to-video"
)
AA_T2I = Board(
    "AA text-to-image", "text-to-image", "2026-09-29", "artificialanalysis.ai/image/leaderboard/text-to-image"
)
#: Speech: the August 2026 order is the last complete one captured; Eleven v4 scores are from 2026-10-07.
AA_SPEECH = Board(
    "AA speech", "speech", "2026-08", "artificialanalysis.ai/text-to-speech/leaderboard/provider-voice (capture)"
)
AA_SPEECH_OCT = Board(
    "AA speech", "speech", "2026-10-07", "artificialanalysis.ai/text-to-speech/leaderboard/provider-voice (capture)"
)

#: Every task a board ranks.
TASKS: tuple[str, ...] = ("text-to-video", "image-to-video", "text-to-image", "image-edit", "speech")
