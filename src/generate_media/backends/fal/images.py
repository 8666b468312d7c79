"""fal pictures: the same queue as video, waited on within the call (pictures take seconds).

Submit, poll the status URL fal returned (queue position and logs as progress), read the result,
download each image. A cancelled call cancels the request at fal.
"""

from __future__ import annotations

from typing import Any

import anyio

from ...errors import BadProviderResponse, GenerateMediaError, ProviderError, ProviderTimeout, SafetyBlocked
from ...spec import PICTURES, Call, JobStatus, MediaSupport, MediaType, Produced
from .._download import download_url
from .._options import SEED
from . import _catalog, _queue
from ._common import file_urls, prepared, resolver

MEDIA = MediaType.IMAGE
_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}

SUPPORT = MediaSupport(
    priority=30,
    default_model="bytedance/seedream/v5/pro",
    operations=(PICTURES,),
    options=(SEED,),
    models=tuple(family.spec for family in _catalog.IMAGE_FAMILIES),
    resolve=resolver(MEDIA),
)


async def _poll(call: Call, handle: dict[str, Any], delay: float) -> JobStatus:
    """One status read; a transient failure is retried here (the request is paid: never resubmitted)."""
    for attempt in range(call.settings.max_retries + 1):
        try:
            return await _queue.poll(call, handle)
        except GenerateMediaError as exc:
            if not exc.retryable or attempt == call.settings.max_retries:
                raise
            await anyio.sleep(min(exc.details.get("retry_after") or delay * (attempt + 1), 10.0))
    raise AssertionError("unreachable")


async def _wait(call: Call, handle: dict[str, Any]) -> dict[str, Any]:
    delay = max(call.settings.poll_interval_s, 0.01)
    with anyio.move_on_after(call.settings.job_deadline_s) as scope:
        while True:
            status = await _poll(call, handle, delay)
            if status.state == "done":
                return status.result or {}
            if status.state in ("failed", "cancelled"):
                message = status.error or f"the request was {status.state}"
                if status.error_code == SafetyBlocked.code:
                    raise SafetyBlocked(f"fal refused the image: {message}; rephrase the prompt", backend="fal")
                raise ProviderError(f"fal request {status.state}: {message}", backend="fal")
            await anyio.sleep(delay)
            delay = min(delay * 1.5, 5.0)
    assert scope.cancel_called
    raise ProviderTimeout("fal did not finish the image in time (GENERATE_MEDIA_JOB_DEADLINE_S)", backend="fal")


async def generate(call: Call) -> list[Produced]:
    endpoint, body = await prepared(call, MEDIA)
    handle = await _queue.submit(call, endpoint, body)
    await call.progress(f"queued on fal as {handle['request_id']}")
    try:
        result = await _wait(call, handle)
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            await _queue.cancel(call, handle)  # a cancelled or failed wait does not leave it running (and billed)
        raise
    urls = file_urls(result, MEDIA)
    if not urls:
        raise BadProviderResponse("fal finished but returned no image; try again", backend="fal")
    produced = []
    for url, mime in urls:
        path = await download_url(call, url, backend="fal", suffix=_SUFFIX.get(mime or "", ".png"))
        produced.append(Produced(path=path, metadata={"request_id": handle["request_id"], "endpoint": endpoint}))
    return produced


RUN = generate
