"""Long jobs (video, dubbing): submit once, record durably, poll with progress, honour the wait
budget, resume by ``job_id``, cancel the provider job when the caller goes away.

Life of a job::

    start ─ record "submitting" (on disk) ─ submit ─ record handle ("queued") ─┐
    resume(job_id) ───────────────────────────────────────────────────────────┤
                                                                              ▼
      poll (provider hint, else backoff) ─ progress ─ budget spent? → "pending" + job_id
         │ done                            │ failed / deadline          │ client cancelled
         ▼                                 ▼                            ▼
      "downloading" ─ fetch (stream to temp) → save → "done"   "failed"   provider cancel → "cancelled"
         │ download or disk failure
         ▼
      still "downloading": resumable by job_id (the provider keeps the paid result)

A job is ``done`` only once its files are saved. A repeated identical request (same media: the
wait, the destination and the preview flag do not count) while its job is still running attaches
to that job instead of paying for a second one; a finished job's result is answered again by id
without the provider.
Only one waiter per job downloads at a time (a per-job lock), so two resumes never make two files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .clients import choose_wait_budget
from .errors import (
    GenerateMediaError,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    ProviderError,
    ProviderTimeout,
    SafetyBlocked,
)
from .results import ErrorInfo, GenerationResult
from .retry import retrying
from .selector import Selection
from .spec import JobStatus
from .stores import JobRecord

if TYPE_CHECKING:
    from .service import Caller, ItemCall, MediaService, Outcome, ProgressFn

__all__ = ["HEARTBEAT_S", "resume", "start"]

log = logging.getLogger("generate_media.jobs")

#: Longest silence between progress notifications while a job runs.
HEARTBEAT_S = 10.0
#: Longest pause between polls, whatever the provider hints.
MAX_POLL_S = 60.0
_TERMINAL = ("done", "failed", "cancelled")


def _runner(service: MediaService, record: JobRecord) -> Any:
    return getattr(service.registry.implementation(record.backend), record.media_type)


def _lock(service: MediaService, job_id: str) -> anyio.Lock:
    return service.job_locks.setdefault(job_id, anyio.Lock())


# --- progress ------------------------------------------------------------------------------------


class _Progress:
    """Makes every notification's ``progress`` strictly larger than the last, as MCP requires,
    whether it comes from the provider's percentage or is a plain heartbeat. Installed as the
    call's reporter so a backend's own ``call.progress`` goes through it too."""

    def __init__(self, call: ItemCall) -> None:
        self.raw = call.reporter
        self.last = 0.0
        self.sent_at = -math.inf
        if self.raw is not None:
            call.reporter = self.report

    async def report(self, value: float, total: float | None, message: str) -> None:
        if total is None:
            value = self.last + 1.0
        else:
            value = max(value, self.last + 0.01)
            total = total if value <= total else None
        self.last = value
        self.sent_at = time.monotonic()
        if self.raw is not None:
            await self.raw(value, total, message)

    async def job(self, record: JobRecord, prefix: str = "") -> None:
        """A heartbeat: the job's last known percentage and the time it has been running."""
        percent = record.percent
        await self.report(percent or 0.0, 100.0 if percent is not None else None, prefix + _rendering(record))

    def due(self) -> bool:
        return time.monotonic() - self.sent_at >= HEARTBEAT_S


def _rendering(record: JobRecord) -> str:
    elapsed = max(0.0, time.time() - record.created)
    pct = f", {record.percent:.0f}%" if record.percent is not None else ""
    return f"rendering on {record.model}, {elapsed:.0f} s elapsed{pct}"


# --- starting and resuming -----------------------------------------------------------------------


#: Request fields that do not change the media made: how long to wait, where and under what name
#: to save it, the inline preview, batch concurrency. A retry differing only in these is the same
#: paid job. ``backend``/``model`` are replaced by the selection ('auto' and the name it picks are
#: one request); input images, the mask and the input video count by their bytes, not by the path they came from.
_NOT_MEDIA = frozenset(
    {"wait_s", "output_dir", "filename", "preview", "max_concurrent", "job_id"}
    | {"backend", "model", "prefer", "input_images", "mask", "input_video"}
)


def _request_digest(call: ItemCall, request: dict[str, Any], backend: str, model: str) -> str:
    media = {k: v for k, v in request.items() if k not in _NOT_MEDIA}
    digest = hashlib.sha256(json.dumps([backend, model, media], sort_keys=True, default=str).encode())
    for image in call.input_images:
        digest.update(hashlib.sha256(image.data).digest())
    if call.mask is not None:
        digest.update(b"mask" + hashlib.sha256(call.mask.data).digest())
    if call.input_video is not None:
        digest.update(b"video" + hashlib.sha256(call.input_video.data).digest())
    return digest.hexdigest()


def _running_twin(service: MediaService, owner: str, request_digest: str) -> JobRecord | None:
    """An unfinished job of ``owner`` for the very same request (a client retrying its call)."""
    for record in _unfinished(service, owner):
        if record.handle.get("request_digest") == request_digest:
            return record
    return None


def _unfinished(service: MediaService, owner: str) -> list[JobRecord]:
    """``owner``'s running jobs, after retiring those whose server died in the middle of a submit."""
    return [r for r in (_recover(service, record) for record in service.jobs.list(owner)) if not r.finished]


def _recover(service: MediaService, record: JobRecord) -> JobRecord:
    """A record still ``submitting`` whose submitter is gone (killed, crashed, machine restarted)
    never got a provider id: nothing can be resumed, so it is retired as failed, saying that the
    provider may have started the job. It then no longer holds back identical requests, nor
    counts against the per-client job limit."""
    if record.state != "submitting" or service.jobs.submit_alive(record):
        return record
    fresh = service.jobs.get(record.id, record.owner)  # the submit may have ended since the list
    if fresh is None or fresh.state != "submitting":
        return fresh or record
    fresh.state = "failed"
    fresh.error = {
        "code": "interrupted",
        "message": (
            f"the server stopped while submitting it to {fresh.backend}, before a provider id was recorded; "
            f"{fresh.backend} may have started it, so check its console, then start a new request"
        ),
    }
    service.jobs.save(fresh)
    service.jobs.forget_lock(fresh.id)
    log.warning("job %s was interrupted mid-submit by a server that stopped; retired", fresh.id)
    return fresh


async def start(
    service: MediaService, call: ItemCall, selection: Selection, caller: Caller, progress: ProgressFn | None
) -> Outcome:
    """Submit a new provider job (or attach to an identical running one), record it, then wait."""
    req = call.request
    if req.prompts and len(req.prompts) > 1:
        raise InvalidRequest(f"{req.media.value} jobs take one prompt; call once per {req.media.value}")
    request = req.model_dump(exclude_none=True, exclude_defaults=True)
    request.update(prompt=call.prompt, output_dir=str(call.directory), media_type=req.media.value)
    request.pop("prompts", None)
    request_digest = _request_digest(call, request, selection.name, selection.model.id)
    twin = _running_twin(service, caller.principal, request_digest)
    if twin is not None:
        log.info("attaching to running job %s instead of submitting again", twin.id)
        call.cleanup()
        return await resume(service, req.model_copy(update={"job_id": twin.id}), caller, progress)
    limit = service.settings.limits.max_jobs_per_client
    if len(_unfinished(service, caller.principal)) >= limit:
        raise LimitExceeded(
            f"{limit} jobs are already running for this client (GENERATE_MEDIA_MAX_JOBS_PER_CLIENT); "
            "resume one with job_id or wait"
        )
    reporter = _Progress(call)
    runner = getattr(service.registry.implementation(selection.name), req.media.value)
    fields = {"backend": selection.name, "media_type": req.media.value, "model": selection.model.id}
    with service.jobs.submitting(
        owner=caller.principal, request=request, handle={"request_digest": request_digest}, **fields
    ) as record:
        async with _lock(service, record.id):
            await reporter.report(0.0, None, f"submitting to {selection.name}/{selection.model.id}")
            try:
                handle = await retrying(lambda: _submit_once(runner, call, record.backend), service.retry_policy())
            except BaseException as exc:
                record.state, record.error = "failed", _error_dict(exc)
                service.jobs.save(record)
                call.cleanup()
                raise
            record.handle = {**handle, "request_digest": request_digest}
            record.state = "queued"
            service.jobs.save(record)  # durable before the first poll: a restart can resume it
    async with _lock(service, record.id):
        return await _wait(service, record, call, runner, caller, reporter)


async def _submit_once(runner: Any, call: ItemCall, backend: str) -> dict[str, Any]:
    """A submit that timed out may have started a paid job: it is not retried blindly."""
    try:
        handle: dict[str, Any] = await call.guarded(lambda: runner.submit(call))
    except ProviderTimeout as exc:
        raise ProviderError(
            f"{backend} did not confirm the job in time (it may have started); check the provider's console "
            "before trying again",
            backend=backend,
        ) from exc
    return handle


async def resume(service: MediaService, req: Any, caller: Caller, progress: ProgressFn | None) -> Outcome:
    """Continue waiting for a recorded job, or return its finished result without calling the provider.

    Raises:
        NotFound: unknown id (or another client's), or the finished job's files are gone.
        ProviderError: the job failed, was cancelled, or never reached the provider.
    """
    record = service.jobs.get(req.job_id, caller.principal)
    if record is None:
        raise NotFound(f"unknown job id {req.job_id!r} (from another client or never issued); start a new request")
    async with _lock(service, record.id):
        record = service.jobs.get(record.id, caller.principal) or record  # another waiter may have finished it
        finished = _finished(_recover(service, record))
        if finished is not None:
            return finished
        # This call's own wait budget (or the server's), not the one the job was started with; a
        # destination, name or preview flag given now applies to the file this call saves.
        update = {"wait_s": req.wait_s, **{k: v for k in _CALL_FIELDS if (v := getattr(req, k)) is not None}}
        original = service.parse(record.request).model_copy(update=update)
        pinned = original.model_copy(update={"backend": record.backend, "model": record.model, "continue_from": None})
        selection = service._route(pinned, None)
        confinement = service.confinement(caller)
        folder = service._output_dir(original, confinement)
        call = service._item_call(
            original, record.request.get("prompt", ""), selection, folder, confinement, None, [], None, progress
        )
        reporter = _Progress(call)
        await reporter.report(
            record.percent or 0.0, 100.0 if record.percent else None, f"resuming: {_rendering(record)}"
        )
        return await _wait(service, record, call, _runner(service, record), caller, reporter)


#: What a resuming (or attaching) call may choose for itself: they do not change the media.
_CALL_FIELDS = ("output_dir", "filename", "preview")


def _finished(record: JobRecord) -> Outcome | None:
    from .results import Outcome

    if record.state == "done" and record.result:
        result = GenerationResult.model_validate(record.result)
        if all(item.path is None or Path(item.path).is_file() for item in result.items):
            return Outcome(result=result)
        raise NotFound(f"job {record.id} finished but its files were moved or deleted; start a new request")
    if record.state in ("failed", "cancelled"):
        error = record.error or {"message": f"the job was {record.state}"}
        raise ProviderError(f"job {record.id} {record.state}: {error.get('message')}", backend=record.backend)
    if record.state == "submitting":  # another server process is submitting it right now
        raise ProviderError(
            f"job {record.id} is still being submitted to {record.backend}; call again with "
            f"job_id={record.id!r} in a moment",
            backend=record.backend,
            job_id=record.id,
        )
    if not any(key != "request_digest" for key in record.handle):
        raise ProviderError(
            f"job {record.id} never got a provider id (the server stopped while submitting); start a new request",
            backend=record.backend,
        )
    return None


# --- waiting ---------------------------------------------------------------------------------------


@dataclass
class _Clock:
    """Times of one wait: the caller's budget (0 = to the end) and the job's overall deadline."""

    budget: float
    deadline_at: float  # wall clock, from the job's creation (survives restarts)
    interval: float
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> bool:
        return bool(self.budget) and time.monotonic() - self.started >= self.budget

    def budget_left(self) -> float:
        return math.inf if not self.budget else self.budget - (time.monotonic() - self.started)

    def overdue(self) -> bool:
        return time.time() >= self.deadline_at

    def next_delay(self, status: JobStatus, current: float) -> tuple[float, float]:
        """(this pause, the next backoff step): the provider's hint wins, else grow the pause."""
        cap = max(self.interval, min(self.interval * 6, 30.0))
        if status.poll_after is not None and status.poll_after >= 0:
            return min(status.poll_after, MAX_POLL_S), current
        return current, min(current * 1.5, cap)


async def _sleep(clock: _Clock, seconds: float, reporter: _Progress, record: JobRecord) -> bool:
    """Pause between polls, sending heartbeats; False when the caller's budget ran out first."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if clock.spent():
            return False
        await anyio.sleep(max(0.0, min(left, HEARTBEAT_S, clock.budget_left())))
        if reporter.due():
            await reporter.job(record)
    return not clock.spent()


async def _poll_until_done(
    service: MediaService, record: JobRecord, call: ItemCall, runner: Any, reporter: _Progress, budget: float
) -> JobStatus | None:
    """Poll to a terminal state; None when the caller's wait budget is spent first."""
    settings = service.settings
    interval = max(settings.poll_interval_s, 0.01)
    clock = _Clock(budget=budget, deadline_at=record.created + settings.job_deadline_s, interval=interval)
    delay = interval
    while True:
        status: JobStatus = await retrying(
            lambda: call.guarded(lambda: runner.poll(call, record.handle)), service.retry_policy()
        )
        _update(service, record, status)
        if status.state in _TERMINAL:
            return status
        await reporter.job(record)
        if clock.overdue():
            await _deadline(service, record, call, runner)
        pause, delay = clock.next_delay(status, delay)
        if not await _sleep(clock, pause, reporter, record):
            return None


async def _wait(
    service: MediaService, record: JobRecord, call: ItemCall, runner: Any, caller: Caller, reporter: _Progress
) -> Outcome:
    from .output import writing
    from .results import Outcome

    budget, source = choose_wait_budget(call.request.wait_s, service.settings.wait_budget_s, caller.client)
    waited = {"wait_budget_s": budget, "wait_budget_from": source}
    try:
        status = await _poll_until_done(service, record, call, runner, reporter, budget)
        if status is None:
            return Outcome(result=_pending(service, record).model_copy(update=waited))
        if status.state != "done":
            raise _job_failed(record, status)
        await reporter.report(100.0, 100.0, f"downloading from {record.backend}")
        with writing(call.directory):
            produced = await retrying(
                lambda: call.guarded(lambda: runner.fetch(call, record.handle, status)), service.retry_policy()
            )
            for item in produced:  # what the backend noted at submit time (a cropped frame...) reaches the result
                item.warnings.extend(record.handle.get("warnings") or [])
            saved: list[Any] = []
            items = await service.save_produced(call, produced, 0, caller, saved, batch=False)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await _cancel(service, record, call, runner)
        raise
    except GenerateMediaError as exc:
        raise _settle(service, record, exc) from None
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
        warnings=_deprecation(service, call),
        **waited,
    )
    record.state, record.percent, record.result = "done", 100.0, result.model_dump(mode="json")
    service.jobs.save(record)
    return Outcome(result=result, files=saved)


def _settle(service: MediaService, record: JobRecord, exc: GenerateMediaError) -> GenerateMediaError:
    """Record a failure. A transient one (the provider unreachable after retries) keeps the job
    resumable and never triggers failover to another backend: the paid job may still finish.
    Once the provider has finished, only an expired result ends the job: a failed download or a
    full disk leaves it resumable, since the provider still holds what was paid for."""
    if record.state == "downloading" and not isinstance(exc, NotFound):
        service.jobs.save(record)
        exc.message = (
            f"{exc.message}; the finished {record.media_type} is still at {record.backend}: call again with "
            f"job_id={record.id!r} to download it (nothing is submitted or paid twice)"
        )
        exc.args = (exc.message,)
        exc.details["job_id"] = record.id
        return exc
    if exc.retryable and record.state not in _TERMINAL:
        service.jobs.save(record)
        lost = ProviderError(
            f"lost contact with {record.backend} while waiting ({exc.message}); call again with "
            f"job_id={record.id!r} to resume",
            backend=record.backend,
            job_id=record.id,
        )
        lost.__cause__ = exc
        return lost
    if record.state not in ("failed", "cancelled"):
        record.state = "failed"
    record.error = service.redact.data(exc.to_dict())  # the state dir never holds a key
    service.jobs.save(record)
    exc.details.setdefault("job_id", record.id)
    return exc


def _job_failed(record: JobRecord, status: JobStatus) -> GenerateMediaError:
    message = status.error or f"the provider reports the job {status.state}"
    if status.error_code == SafetyBlocked.code:
        return SafetyBlocked(f"{record.backend} refused the video: {message}", backend=record.backend)
    return ProviderError(f"{record.backend} job failed: {message}", backend=record.backend)


def _deprecation(service: MediaService, call: ItemCall) -> list[str]:
    note = call.model.deprecation_warning(call.backend, service.today())
    return [note] if note else []


def _pending(service: MediaService, record: JobRecord) -> GenerationResult:
    waited = time.time() - record.created
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


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, GenerateMediaError):
        return exc.to_dict()
    return {"code": "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else "error", "message": str(exc)}


def _update(service: MediaService, record: JobRecord, status: JobStatus) -> None:
    state: str = "running" if status.state not in ("queued", *_TERMINAL) else status.state
    if state == "done":  # done at the provider; ours once the files are saved
        state = "downloading"
    if state == "failed":
        message = service.redact(status.error or "failed")
        record.error = {"code": status.error_code or "provider_error", "message": message}
    if (state, status.percent) != (record.state, record.percent):
        record.state = state
        record.percent = status.percent if status.percent is not None else record.percent
        service.jobs.save(record)


async def _deadline(service: MediaService, record: JobRecord, call: ItemCall, runner: Any) -> None:
    limit = service.settings.job_deadline_s
    with anyio.CancelScope(shield=True):
        await _cancel(service, record, call, runner, reason="it ran past the job deadline")
    raise ProviderError(
        f"{record.backend} did not finish the job within {limit:g} s (GENERATE_MEDIA_JOB_DEADLINE_S); "
        "try again later or raise the deadline",
        backend=record.backend,
    )


async def _cancel(
    service: MediaService, record: JobRecord, call: ItemCall, runner: Any, reason: str = "the client cancelled the call"
) -> None:
    """Cancel the provider job where its API allows; a job that cannot be cancelled stays resumable."""
    try:
        with anyio.fail_after(10):
            cancelled = await runner.cancel(call, record.handle)
    except Exception as exc:  # best effort: the provider may refuse or be unreachable
        log.info("cancel of %s on %s failed: %s", record.id, record.backend, type(exc).__name__)
        cancelled = False
    if cancelled is False:
        log.info("job %s keeps running on %s (no cancel there); resumable by id", record.id, record.backend)
        service.jobs.save(record)
        return
    record.state = "cancelled"
    record.error = ErrorInfo(code="cancelled", message=reason).model_dump()
    service.jobs.save(record)
