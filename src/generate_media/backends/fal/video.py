"""fal video: a long job on fal's queue (submit, status with queue position and logs, result, cancel).

The request id and the URLs fal returned are the job's handle, saved before the first poll, so a
pending job resumes by ``job_id``, the wait budget applies and a restarted server picks it up, as
for every long job (``jobs.py``). A cancelled call cancels the request at fal.
"""

from __future__ import annotations

from typing import Any

from ...errors import BadProviderResponse
from ...spec import ANIMATE, VIDEO_CLIPS, Call, JobStatus, MediaSupport, MediaType, Produced
from .._download import download_url
from .._options import GENERATE_AUDIO, SEED
from . import _catalog, _queue
from ._common import file_urls, prepared, resolver

MEDIA = MediaType.VIDEO

SUPPORT = MediaSupport(
    priority=50,
    default_model="bytedance/seedance-2.5",
    operations=(VIDEO_CLIPS, ANIMATE),
    options=(SEED, GENERATE_AUDIO),
    models=tuple(family.spec for family in _catalog.VIDEO_FAMILIES),
    resolve=resolver(MEDIA),
)


class FalVideo:
    """The JobRunner for fal video."""

    async def submit(self, call: Call) -> dict[str, Any]:
        endpoint, body = await prepared(call, MEDIA)
        return await _queue.submit(call, endpoint, body)

    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus:
        return await _queue.poll(call, handle)

    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
        urls = file_urls(status.result or {}, MEDIA)
        if not urls:
            raise BadProviderResponse("fal finished the video but returned no file; try again", backend="fal")
        path = await download_url(call, urls[0][0], backend="fal")
        meta = {"request_id": handle["request_id"], "endpoint": handle["endpoint"]}
        if isinstance(seed := (status.result or {}).get("seed"), int):
            meta["seed"] = seed
        return [Produced(path=path, metadata=meta)]

    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool:
        return await _queue.cancel(call, handle)


RUN = FalVideo()
