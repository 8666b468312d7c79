"""Replicate video as a long job: the prediction id is the durable job id (jobs.py records it before
the first poll, so a restart resumes it, the wait budget returns a pending job_id, and a cancelled call
cancels the prediction at Replicate).

Each model maps our fields onto its own input names (``image`` or ``first_frame_image`` for the first
frame; ``resolution`` for ``size``). The ids are the ones the 2026-12 leaderboard catalogue reports for
Replicate (not yet seen on replicate.com itself); the inputs and limits follow each family's published
Replicate schema (Wan 2.x, MiniMax Hailuo, FLUX) and are refused here before any paid call.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...spec import ANIMATE, VIDEO_CLIPS, Call, JobStatus, MediaSupport, MediaType, ModelSpec, Produced
from .._download import download_url
from .._options import NEGATIVE_PROMPT, SEED
from .._ranked import RANKED
from . import _api

MEDIA = MediaType.VIDEO
CHECKED = "2026-12-03"
_REPORTED = "id as reported for Replicate by the 2026-12 leaderboard catalogue (third-party; not confirmed)"

#: Per model: the input name of the first frame, and which of our fields it takes.
_FIRST_FRAME = {"alibaba/wan-3": "image", "minimax/h3": "first_frame_image", "black-forest-labs/flux-3": "image"}

SUPPORT = MediaSupport(
    priority=30,
    default_model="alibaba/wan-3",
    operations=(VIDEO_CLIPS, ANIMATE),
    options=(NEGATIVE_PROMPT, SEED),
    models=(
        ModelSpec(
            id="alibaba/wan-3",
            long_job=True,
            max_input_images=1,
            aspect_ratios=("16:9", "9:16", "1:1"),
            sizes=("480p", "720p", "1080p"),
            durations=(5.0, 10.0),
            options=frozenset({"negative_prompt", "seed"}),
            notes="Wan 3.0 (Alibaba, open weights): text or first frame to video, 5 or 10 s.",
            standings=RANKED["wan-3.0"],
            source=_REPORTED + "; inputs as replicate.com wan-video/wan-2.5-t2v and -i2v",
            checked=CHECKED,
        ),
        ModelSpec(
            id="minimax/h3",
            long_job=True,
            max_input_images=1,
            sizes=("768p", "1080p"),
            durations=(6.0, 10.0),
            notes="MiniMax H3 (open weights): text or first frame to video; 1080p only at 6 s.",
            standings=RANKED["minimax-h3"],
            source=_REPORTED + " (minimax/h3-max returns 404 there); inputs as replicate.com minimax/hailuo-2.3",
            checked=CHECKED,
        ),
        ModelSpec(
            id="black-forest-labs/flux-3",
            long_job=True,
            max_input_images=1,
            aspect_ratios=("16:9", "9:16", "1:1"),
            sizes=("720p", "1080p"),
            durations=(5.0, 10.0),
            options=frozenset({"seed"}),
            notes="FLUX 3 Video (Black Forest Labs): text or first frame to video.",
            standings=RANKED["flux-3-video"],
            source=_REPORTED + "; inputs as Black Forest Labs' FLUX models on replicate.com",
            checked=CHECKED,
        ),
    ),
)


def _check(call: Call) -> None:
    req = call.request
    if call.model.id == "minimax/h3" and req.size == "1080p" and req.duration not in (None, 6.0):
        raise InvalidRequest("minimax/h3 renders 1080p only at duration=6; use 768p for 10 s")
    if call.continuation is not None:
        raise InvalidRequest("replicate video takes no continue_from; pass a frame in input_images instead")


async def _inputs(call: Call) -> dict[str, Any]:
    req = call.request
    inputs: dict[str, Any] = {"prompt": call.prompt}
    if req.duration is not None:
        inputs["duration"] = int(req.duration)
    if req.size:
        inputs["resolution"] = req.size
    if req.aspect_ratio:
        inputs["aspect_ratio"] = req.aspect_ratio
    for name in ("negative_prompt", "seed"):
        if (value := getattr(req, name, None)) is not None:
            inputs[name] = value
    if call.input_images:
        first = call.input_images[0]
        inputs[_FIRST_FRAME[call.model.id]] = await _api.file_input(call, first.data, first.mime_type, first.name)
    return inputs


class ReplicateVideo:
    """The JobRunner: create (no wait: video takes minutes), get, fetch the output, cancel."""

    async def submit(self, call: Call) -> dict[str, Any]:
        _check(call)
        prediction = await _api.create(call, call.model.id, await _inputs(call))
        return {"prediction_id": prediction["id"]}

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        return _api.status_of(await _api.get(call, handle["prediction_id"]))

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        url = (status.result or {})["urls"][0]
        path = await download_url(call, url, backend=_api.BACKEND)
        return [Produced(path=path, metadata={"prediction_id": handle["prediction_id"]})]

    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool:
        return await _api.cancel(call, handle["prediction_id"])


RUN = ReplicateVideo()
