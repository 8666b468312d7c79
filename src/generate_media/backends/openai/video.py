"""OpenAI video (Sora): retired. OpenAI closed the Sora 2 models and the Videos API on 2026-09-24
with no replacement API (openai 3.57.0 marks every ``videos.*`` method deprecated; OpenAI's Sora 2
model page). The models stay declared so the selector never picks them and an explicit request is
refused with a one-line error naming a replacement on another backend; the job runner only answers
a resumed pre-retirement job id with the same line.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...spec import VIDEO_CLIPS, Call, JobStatus, MediaSupport, MediaType, ModelSpec, Produced

MEDIA = MediaType.VIDEO

_RETIRED: dict[str, Any] = {
    "long_job": True,
    "status": "retired",
    "shutdown_on": "2026-09-24",
    "replacement": "gemini-omni-1.2-flash",
    "replacement_backend": "google",
    "lifecycle_note": "OpenAI's Videos API closed; OpenAI names no replacement",
    "source": "openai 3.57.0 resources/videos.py (@deprecated); developers.openai.com models/sora-2",
    "checked": "2026-12-03",
    "aspect_ratios": ("16:9", "9:16"),
    "durations": (4.0, 8.0, 12.0),
}

SUPPORT = MediaSupport(
    priority=10,
    default_model="sora-2",
    operations=(VIDEO_CLIPS,),
    models=(
        ModelSpec(id="sora-2", **_RETIRED),
        ModelSpec(id="sora-2-pro", **_RETIRED),
    ),
)


class RetiredVideo:
    """Never selected; a resumed Sora job id from before the shutdown gets the retirement line."""

    def _refuse(self, call: Call) -> InvalidRequest:
        return InvalidRequest(call.model.retired_message("openai"), backend="openai")

    async def submit(self, call: Call) -> dict[str, Any]:
        raise self._refuse(call)

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        raise self._refuse(call)

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        raise self._refuse(call)

    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool:
        return False  # nothing runs at OpenAI any more


RUN = RetiredVideo()
