"""Long jobs (video, dubbing): submit once, record durably, poll with progress, honour the wait
budget, resume by ``job_id``, cancel the provider job when the caller goes away.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .errors import GenerateMediaError, LimitExceeded, NotFound, ProviderError
from .results import ErrorInfo, GenerationResult
from .retry import retrying
from .selector import Selection
from .spec import JobStatus
from .stores import JobRecord

if TYPE_CHECKING:
    from .service import Caller, ItemCall, MediaService, Outcome, ProgressFn

__all__ = ["resume", "start"]

log = logging.getLogger("generate_media.jobs")

HEARTBEAT_S = 10.0


def _runner(service: MediaService, record: JobRecord) -> Any:
    return getattr(service.registry.implementation(record.backend), record.media_type)


async def start(
    service: MediaService, call: ItemCall, selection: Selection, caller: Caller, progress: ProgressFn | None
) -> Outcome:
    """Submit a new provider job, record it, then wait for it within the budget."""
    limit = service.settings.limits.max_jobs_per_client
    if service.jobs.active(caller.principal) >= limit:
        raise LimitExceeded(
            f"{limit} jobs are already running for this client (GENERATE_MEDIA_MAX_JOBS_PER_CLIENT); "
            "resume one with job_id or wait"
        )
    req = call.request
    request = req.model_dump(exclude_none=True, exclude_defaults=True)
    request.update(prompt=call.prompt, output_dir=str(call.directory), media_type=req.media.value)
    record = service.jobs.new(
        owner=caller.principal,
        backend=selection.name,
        media_type=req.media.value,
        model=selection.model.id,
        request=request,
    )
    runner = _runner(service, record)
    await call.progress(f"submitting to {selection.name}/{selection.model.id}")
    try:
        record.handle = await retrying(lambda: runner.submit(call), service.retry_policy())
    except BaseException as exc:
        record.state = "failed"
        record.error = _error_dict(exc)
        service.jobs.save(record)
        raise
    record.state = "queued"
    service.jobs.save(record)
    return await _wait(service, record, call, runner, caller)


async def resume(service: MediaService, req: Any, caller: Caller, progress: ProgressFn | None) -> Outcome:
    """Continue waiting for a recorded job, or return its finished result without calling the provider."""
    from .service import Outcome

    record = service.jobs.get(req.job_id, caller.principal)
    if record is None:
        raise NotFound(f"unknown job id {req.job_id!r} (from another client or never issued); start a new request")
    if record.state == "done" and record.result:
        result = GenerationResult.model_validate(record.result)
        if all(item.path is None or Path(item.path).is_file() for item in result.items):
            return Outcome(result=result)
        raise NotFound(f"job {record.id} finished but its files were moved or deleted; start a new request")
    if record.state in ("failed", "cancelled"):
        error = record.error or {"message": f"the job was {record.state}"}
        raise ProviderError(f"job {record.id} {record.state}: {error.get('message')}", backend=record.backend)
    original = service.parse(record.request)
    if req.wait_s is not None:
        original = original.model_copy(update={"wait_s": req.wait_s})
    selection = service._route(original.model_copy(update={"backend": record.backend, "model": record.model}), None)
    confinement = service.confinement(caller)
    directory = service._output_dir(original, confinement)
    call = service._item_call(
        original, record.request.get("prompt", ""), selection, directory, confinement, None, [], None, progress
    )
    return await _wait(service, record, call, _runner(service, record), caller)


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, GenerateMediaError):
        return exc.to_dict()
    return {"code": "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else "error", "message": str(exc)}


def _pending(record: JobRecord, waited: float) -> GenerationResult:
    return GenerationResult(
        status="pending",
        media_type=record.media_type,
        backend=record.backend,
        model=record.model,
        job_id=record.id,
        progress_percent=record.percent,
        next_step=(
            f"Still rendering after {waited:.0f} s. Call generate_media again with job_id={record.id!r} "
            "to keep waiting and get the file; the job will not be submitted twice."
        ),
    )


async def _wait(service: MediaService, record: JobRecord, call: ItemCall, runner: Any, caller: Caller) -> Outcome:
    from .service import Outcome

    budget = call.request.wait_s if call.request.wait_s is not None else service.settings.wait_budget_s
    start = time.monotonic()
    interval = max(service.settings.poll_interval_s, 0.01)
    last_report = -HEARTBEAT_S
    try:
        while True:
            status: JobStatus = await retrying(lambda: runner.poll(call, record.handle), service.retry_policy())
            elapsed = time.monotonic() - start
            _update(service, record, status)
            if status.state == "done":
                break
            if status.state in ("failed", "cancelled"):
                message = status.error or f"the provider reports the job {status.state}"
                raise ProviderError(f"{record.backend} job failed: {message}", backend=record.backend)
            if elapsed - last_report >= min(HEARTBEAT_S, interval) or last_report < 0:
                last_report = elapsed
                pct = f", {status.percent:.0f}%" if status.percent is not None else ""
                await call.progress(f"rendering on {record.model}, {elapsed:.0f} s elapsed{pct}", status.percent)
            if budget and elapsed >= budget:
                return Outcome(result=_pending(record, elapsed))
            await anyio.sleep(min(status.poll_after or interval, interval * 4, HEARTBEAT_S))
        await call.progress(f"downloading from {record.backend}", 100.0)
        produced = await retrying(lambda: runner.fetch(call, record.handle, status), service.retry_policy())
        saved: list[Any] = []
        items = await service.save_produced(call, produced, 0, caller, saved, batch=False)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await _cancel(service, record, call, runner)
        raise
    except GenerateMediaError as exc:
        if record.state not in ("failed", "cancelled"):
            record.state = "failed"
        record.error = exc.to_dict()
        service.jobs.save(record)
        raise
    finally:
        call.cleanup()
    result = GenerationResult(
        status="completed",
        media_type=record.media_type,
        backend=record.backend,
        model=record.model,
        items=items,
        job_id=record.id,
        progress_percent=100.0,
    )
    record.state, record.result = "done", result.model_dump(mode="json")
    service.jobs.save(record)
    return Outcome(result=result, files=saved)


def _update(service: MediaService, record: JobRecord, status: JobStatus) -> None:
    state = "running" if status.state not in ("queued", "done", "failed", "cancelled") else status.state
    if state == "failed":
        record.error = {"code": status.error_code or "provider_error", "message": status.error or "failed"}
    if (state, status.percent) != (record.state, record.percent):
        record.state, record.percent = state, status.percent
        service.jobs.save(record)


async def _cancel(service: MediaService, record: JobRecord, call: ItemCall, runner: Any) -> None:
    record.state = "cancelled"
    record.error = ErrorInfo(code="cancelled", message="the client cancelled the call").model_dump()
    service.jobs.save(record)
    try:
        with anyio.fail_after(10):
            await runner.cancel(call, record.handle)
    except Exception as exc:  # best effort: the provider may not allow cancel
        log.info("cancel of %s on %s failed: %s", record.id, record.backend, type(exc).__name__)
