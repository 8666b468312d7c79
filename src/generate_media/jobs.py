"""Long jobs (video, dubbing): the job runner. It owns the job store, leases, polling and progress;
the service hands it a submitted call and gets back produced files (downloaded, not yet saved),
a finished job's stored result, or "pending". It never imports the service.

Life of a job::

    submit ─ record "submitting" (key + lease) ─ provider submit ─ record handle ("queued") ─┐
    wait(job) ─ take the lease? ──────────────────────────────────────────────────────────────┤
        no: follow the record (someone else polls) until it finishes, the lease frees or the budget ends
        yes ▼
      poll (provider hint, else backoff) ─ progress ─ budget spent? → release the lease, "pending"
         │ done                            │ failed / deadline          │ client cancelled
         ▼                                 ▼                            ▼
      "downloading" ─ fetch → the service saves → complete → "done"   "failed"   provider cancel → "cancelled"
         │ download or disk failure
         ▼
      still "downloading": resumable by job_id (the provider keeps the paid result)

Exactly one paid job per request: the job's idempotency key (what changes the media, per principal)
is unique among unfinished jobs, so a retry (on this server or a replica) attaches to the job. A
lease (:meth:`stores.JobStore.take`) lets one waiter at a time poll and download; the holder renews
it while it works, and when its server dies another takes over once the lease expires. The
background finisher (:meth:`JobRunner.orphans`, driven by the service) completes jobs nobody waits
for.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio

from .clients import choose_wait_budget
from .config import Settings
from .errors import (
    GenerateMediaError,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    ProviderError,
    ProviderTimeout,
    Redactor,
    SafetyBlocked,
)
from .links import ResourceRow
from .output import writing
from .retry import RetryPolicy, retrying
from .spec import Call, JobStatus, Produced
from .stores import JobRecord, JobStore

__all__ = ["HEARTBEAT_S", "JobCall", "JobOwner", "JobRunner", "JobWait", "request_key"]

log = logging.getLogger("generate_media.jobs")

T = TypeVar("T")

#: Longest silence between progress notifications while a job runs.
HEARTBEAT_S = 10.0
#: Longest pause between polls, whatever the provider hints.
MAX_POLL_S = 60.0
_TERMINAL = ("done", "failed", "cancelled")
#: How long a job the background finisher completed (nobody waiting) stays the answer to the next
#: identical request, instead of a second paid job.
UNDELIVERED_S = 24 * 3600.0
#: How many poll intervals a call attached to a job still being submitted waits before saying so.
SUBMIT_GRACE_POLLS = 20
ProgressFn = Callable[[float, float | None, str], Awaitable[None]]


class JobCall(Call, Protocol):
    """What the runner needs of the service's call for one job (``service.ItemCall`` is one)."""

    backend: str
    reporter: ProgressFn | None

    @property
    def directory(self) -> Path: ...

    async def guarded(self, fn: Callable[[], Awaitable[T]]) -> T: ...

    def cleanup(self) -> None: ...


@dataclass(frozen=True)
class JobOwner:
    """Who a job belongs to: the principal owns it, the session gets its continuations."""

    principal: str
    session: str = ""
    remote: bool = False
    client: str = ""  # its clientInfo name (chooses the wait budget)


@dataclass
class JobWait:
    """What one wait came to: files to save (``produced``), a result saved earlier (``finished``),
    or neither (still pending)."""

    record: JobRecord
    waited: dict[str, Any]
    produced: list[Produced] = field(default_factory=list)
    finished: dict[str, Any] | None = None
    result: dict[str, Any] | None = None  # set by the service once the files are saved
    resources: list[ResourceRow] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return not self.produced and self.finished is None

    def complete(self, result: dict[str, Any], resources: list[ResourceRow] | None = None) -> None:
        """The saved files' result: the job is recorded ``done`` with it when the wait ends, and
        ``resources`` (its files' links) are indexed in that same write."""
        self.result = result
        self.resources = list(resources or [])


class LeaseLost(ProviderError):
    """Another server took the job over (this one stopped renewing in time)."""


# --- progress ------------------------------------------------------------------------------------


class _Progress:
    """Makes every notification's ``progress`` strictly larger than the last, as MCP requires,
    whether it comes from the provider's percentage or is a plain heartbeat. Installed as the
    call's reporter so a backend's own ``call.progress`` goes through it too."""

    def __init__(self, call: JobCall) -> None:
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


# --- the request's identity ----------------------------------------------------------------------

#: Request fields that do not change the media made: how long to wait, where and under what name
#: to save it, the inline preview, batch concurrency. A retry differing only in these is the same
#: paid job. ``backend``/``model`` are replaced by the selection ('auto' and the name it picks are
#: one request); input images, the mask and the input video count by their bytes, not by the path they came from.
_NOT_MEDIA = frozenset(
    {"wait_s", "output_dir", "filename", "preview", "max_concurrent", "job_id"}
    | {"backend", "model", "prefer", "input_images", "mask", "input_video"}
)


def request_key(call: Call, request: dict[str, Any], backend: str, model: str) -> str:
    """The idempotency key: a digest of only what changes the media."""
    media = {k: v for k, v in request.items() if k not in _NOT_MEDIA}
    digest = hashlib.sha256(json.dumps([backend, model, media], sort_keys=True, default=str).encode())
    for image in call.input_images:
        digest.update(hashlib.sha256(image.data).digest())
    if call.mask is not None:
        digest.update(b"mask" + hashlib.sha256(call.mask.data).digest())
    if call.input_video is not None:
        digest.update(b"video" + hashlib.sha256(call.input_video.data).digest())
    return digest.hexdigest()


# --- timing --------------------------------------------------------------------------------------


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

    def submit_grace(self) -> bool:
        """Whether to keep waiting for another caller's submit (a few poll intervals, within the budget)."""
        return not self.spent() and time.monotonic() - self.started < SUBMIT_GRACE_POLLS * self.interval

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


def _unwrap(group: BaseExceptionGroup) -> BaseException:
    """The one real exception of a two-task group (the other task was only cancelled)."""
    real = [e for e in group.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
    return real[0] if len(real) == 1 else group


# --- the runner ----------------------------------------------------------------------------------


class JobRunner:
    """Submits, leases, polls and downloads long jobs; see the module docstring."""

    def __init__(
        self,
        store: JobStore,
        settings: Settings,
        *,
        implementation: Callable[[str, str], Any],
        retry_policy: Callable[[], RetryPolicy],
        redact: Redactor,
    ) -> None:
        self.store = store
        self.settings = settings
        self.implementation = implementation  # (backend, media type) -> the backend's JobRunner
        self.retry_policy = retry_policy
        self.redact = redact

    @property
    def lease_s(self) -> float:
        return max(self.settings.job_lease_s, 0.05)

    def _backend(self, record: JobRecord) -> Any:
        return self.implementation(record.backend, record.media_type)

    # --- submitting ------------------------------------------------------------------------------

    async def submit(self, call: JobCall, owner: JobOwner) -> tuple[JobRecord, str | None]:
        """Submit ``call`` as a new provider job, or find the owner's running job for the same request.

        Returns (the job, this caller's lease holder): the holder is None when the call attached to
        a job already running, else the lease the submit holds, to pass on to :meth:`wait`.
        """
        req = call.request
        if req.prompts and len(req.prompts) > 1:
            raise InvalidRequest(f"{req.media.value} jobs take one prompt; call once per {req.media.value}")
        request = req.model_dump(exclude_none=True, exclude_defaults=True)
        request.update(prompt=call.prompt, output_dir=str(call.directory), media_type=req.media.value)
        request.pop("prompts", None)
        key = request_key(call, request, call.backend, call.model.id)
        record = await self._claim(call, owner, request, key)
        if record.lease_holder is None:  # attached to the running twin
            log.info("attaching to running job %s instead of submitting again", record.id)
            return record, None
        holder = record.lease_holder
        reporter = _Progress(call)
        await reporter.report(0.0, None, f"submitting to {call.backend}/{call.model.id}")
        backend = self._backend(record)
        try:
            submit = functools.partial(_submit_once, backend, call, record.backend)
            handle = await self._renewing(record, holder, lambda: retrying(submit, self.retry_policy()))
        except BaseException as exc:
            record.state, record.error = "failed", _error_dict(exc)
            with anyio.CancelScope(shield=True):
                await self.store.save(record)
            call.cleanup()
            raise
        record.handle, record.state = handle, "queued"
        await self.store.save(record, holder)  # durable before the first poll: a restart can resume it
        return record, holder

    async def _claim(self, call: JobCall, owner: JobOwner, request: dict[str, Any], key: str) -> JobRecord:
        """A new ``submitting`` record holding its lease, or the running twin (lease_holder None)."""
        while True:
            twin = await self.store.twin(owner.principal, key)
            if twin is not None:
                twin = await self.recover(twin)
                if not twin.finished:
                    twin.lease_holder = None
                    return twin
                recent = time.time() - twin.updated < UNDELIVERED_S
                if await self.store.deliver(twin) and recent:  # finished with nobody waiting: its result, once
                    twin.lease_holder = None
                    return twin
                continue  # a dead submit was retired (and gave up its key), or the result went to another
            await self._check_limit(owner.principal)
            holder = self.store.store.new_holder()
            record = JobRecord(
                id=f"job_{uuid.uuid4().hex}",
                owner=owner.principal,
                session=owner.session,
                remote=owner.remote,
                backend=call.backend,
                media_type=call.request.media.value,
                model=call.model.id,
                request=request,
                request_key=key,
                lease_holder=holder,
                lease_until=time.time() + self.lease_s,
            )
            if await self.store.create(record):
                return record
            # An identical request won the insert an instant earlier: attach to it.

    async def _check_limit(self, principal: str) -> None:
        limit = self.settings.limits.max_jobs_per_client
        running = [r for r in await self.store.list(principal, unfinished=True)]
        alive = [r for r in [await self.recover(r) for r in running] if not r.finished]
        if len(alive) >= limit:
            raise LimitExceeded(
                f"{limit} jobs are already running for this client (GENERATE_MEDIA_MAX_JOBS_PER_CLIENT); "
                "resume one with job_id or wait"
            )

    async def recover(self, record: JobRecord) -> JobRecord:
        """A record still ``submitting`` whose submitter is gone (killed, crashed, machine restarted)
        never got a provider id: nothing can be resumed, so it is retired as failed, saying that the
        provider may have started the job. It then no longer holds back identical requests, nor
        counts against the per-client job limit."""
        if record.state != "submitting" or record.leased():
            return record
        error = {
            "code": "interrupted",
            "message": (
                f"the server stopped while submitting it to {record.backend}, before a provider id was recorded; "
                f"{record.backend} may have started it, so check its console, then start a new request"
            ),
        }
        if await self.store.retire(record, error):
            log.warning("job %s was interrupted mid-submit by a server that stopped; retired", record.id)
            return record
        return await self.store.get(record.id, None) or record  # retired by another, or its submit went on

    # --- resuming --------------------------------------------------------------------------------

    async def find(self, job_id: str, owner: str) -> JobRecord:
        """The owner's job, recovered if its submitter died.

        Raises:
            NotFound: unknown id (or another client's).
        """
        record = await self.store.get(job_id, owner)
        if record is None:
            raise NotFound(f"unknown job id {job_id!r} (from another client or never issued); start a new request")
        return await self.recover(record)

    async def orphans(self) -> list[JobRecord]:
        """Jobs nobody works on (their lease free or expired), dead submits retired on the way."""
        found = []
        for record in await self.store.orphans():
            record = await self.recover(record)
            if not record.finished:
                found.append(record)
        return found

    # --- waiting ---------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def wait(
        self,
        record: JobRecord,
        call: JobCall,
        client: str = "",
        holder: str | None = None,
        *,
        follow: bool = True,
        waiter: bool = True,
    ) -> AsyncIterator[JobWait]:
        """Wait for ``record`` within the call's budget; yields what it came to. ``follow=False``
        gives up (pending) when another waiter holds the lease, instead of watching it finish.
        ``waiter=False`` (the background finisher: no client gets the result) keeps the job's request
        key once done, so the next identical request gets this result instead of paying again.

        With files to save, the service saves them inside the block and calls
        :meth:`JobWait.complete`; the job is recorded ``done`` on the way out. A failure inside the
        block (a full disk) leaves the job resumable.

        Raises:
            ProviderError: the job failed, was cancelled, or never reached the provider.
            GenerateMediaError: the provider's own failure, classified.
        """
        budget, source = choose_wait_budget(call.request.wait_s, self.settings.wait_budget_s, client)
        waited = {"wait_budget_s": budget, "wait_budget_from": source}
        interval = max(self.settings.poll_interval_s, 0.01)
        clock = _Clock(budget=budget, deadline_at=record.created + self.settings.job_deadline_s, interval=interval)
        reporter = _Progress(call)
        holder = holder or self.store.store.new_holder()
        try:
            outcome = await self._settle_wait(record, call, clock, reporter, holder, waited, follow)
            if outcome.produced:
                async with self._holding(record, holder):  # saving and uploading can outlast a lease
                    yield outcome
            else:
                yield outcome
            if outcome.produced and outcome.result is not None:
                record = outcome.record
                record.state, record.percent, record.result = "done", 100.0, outcome.result
                await self.store.save(record, holder, outcome.resources, undelivered=not waiter)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                if record.lease_holder == holder and not record.finished:
                    await self._cancel(record, call)
            raise
        except GenerateMediaError as exc:
            if record.lease_holder != holder:  # not this waiter's to record (a follower, or checks)
                raise
            with anyio.CancelScope(shield=True):
                raise await self._settle(record, exc, holder) from None
        finally:
            call.cleanup()
            with anyio.CancelScope(shield=True):
                await self.store.release(record, holder)

    async def _settle_wait(
        self,
        record: JobRecord,
        call: JobCall,
        clock: _Clock,
        reporter: _Progress,
        holder: str,
        waited: dict[str, Any],
        follow: bool,
    ) -> JobWait:
        """Lead (hold the lease and poll) or follow (watch the record) until something to yield."""
        announced = False
        while True:
            fresh = await self.store.get(record.id, None)
            if fresh is None:
                raise NotFound(f"job {record.id} is gone from the state store; start a new request")
            fresh = await self.recover(fresh)
            record.__dict__.update(fresh.__dict__ | {"lease_holder": record.lease_holder})
            if record.state == "submitting" and clock.submit_grace():
                # An identical request is being submitted right now (here or on a replica): wait for it.
                await _sleep(clock, clock.interval, reporter, record)
                continue
            self.check(record)
            if record.state == "done":
                await self.store.deliver(record)  # finished by the background finisher: this caller has it now
                return JobWait(record=record, waited=waited, finished=record.result)
            if await self.store.take(record, holder, self.lease_s):
                try:
                    return await self._lead(record, call, clock, reporter, holder, waited, announced)
                except LeaseLost:
                    log.info("lost the lease on job %s to another server; following it", record.id)
            if not follow:
                return JobWait(record=record, waited=waited)
            if not announced:
                await reporter.job(record, "resuming: ")
                announced = True
            if not await _sleep(clock, clock.interval, reporter, record):
                return JobWait(record=record, waited=waited)

    def check(self, record: JobRecord) -> None:
        """Raise what a failed, cancelled, still-submitting or never-submitted job answers."""
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
        if record.state != "done" and not record.handle:
            raise ProviderError(
                f"job {record.id} never got a provider id (the server stopped while submitting); start a new request",
                backend=record.backend,
            )

    async def _lead(
        self,
        record: JobRecord,
        call: JobCall,
        clock: _Clock,
        reporter: _Progress,
        holder: str,
        waited: dict[str, Any],
        announced: bool,
    ) -> JobWait:
        backend = self._backend(record)
        if announced or record.state != "queued" or record.percent:
            await reporter.report(
                record.percent or 0.0, 100.0 if record.percent else None, f"resuming: {_rendering(record)}"
            )
        status = await self._renewing(record, holder, lambda: self._poll_until_done(record, call, clock, reporter))
        if status is None:
            return JobWait(record=record, waited=waited)
        if status.state != "done":
            raise _job_failed(record, status)
        await reporter.report(100.0, 100.0, f"downloading from {record.backend}")

        async def fetch() -> list[Produced]:
            with writing(call.directory):
                return await retrying(
                    lambda: call.guarded(lambda: backend.fetch(call, record.handle, status)), self.retry_policy()
                )

        produced = await self._renewing(record, holder, fetch)
        for item in produced:  # what the backend noted at submit time (a cropped frame...) reaches the result
            item.warnings.extend(record.handle.get("warnings") or [])
        return JobWait(record=record, waited=waited, produced=produced)

    async def _renewing(self, record: JobRecord, holder: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` while renewing ``holder``'s lease; LeaseLost when another server took it."""
        box: list[T] = []

        async def work() -> None:
            box.append(await fn())
            tg.cancel_scope.cancel()

        async def renew() -> None:
            await self._keep_lease(record, holder, tolerant=False)
            raise LeaseLost(
                f"another server took job {record.id} over; call again with job_id={record.id!r}",
                backend=record.backend,
                job_id=record.id,
            )

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(work)
                tg.start_soon(renew)
        except BaseExceptionGroup as group:
            raise _unwrap(group) from None
        return box[0]

    async def _keep_lease(self, record: JobRecord, holder: str, *, tolerant: bool) -> None:
        """Renew ``holder``'s lease every third of it; returns when another server has taken it.
        ``tolerant``: a renewal the store could not make (the database away for a moment) is logged
        and the next beat tries again; otherwise its error is raised."""
        while True:
            await anyio.sleep(self.lease_s / 3)
            try:
                if not await self.store.take(record, holder, self.lease_s):
                    return
            except GenerateMediaError as exc:
                if not tolerant:
                    raise
                log.warning("could not renew the lease on job %s: %s", record.id, exc.message)

    @contextlib.asynccontextmanager
    async def _holding(self, record: JobRecord, holder: str) -> AsyncIterator[None]:
        """Renew ``holder``'s lease (a heartbeat every third of it) while the body runs: a large
        video's save and upload must not let another server take the job over and download it again.
        LeaseLost, the body cancelled, when another server took it meanwhile (the store unreachable
        for a whole lease)."""
        lost = False

        async def heartbeat() -> None:
            nonlocal lost
            await self._keep_lease(record, holder, tolerant=True)
            lost = True
            tg.cancel_scope.cancel()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(heartbeat)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise _unwrap(group) from None
        if lost:
            record.lease_holder = None  # not this waiter's to record any more
            raise LeaseLost(
                f"another server took job {record.id} over while its files were saved; call again with "
                f"job_id={record.id!r}",
                backend=record.backend,
                job_id=record.id,
            )

    async def _poll_until_done(
        self, record: JobRecord, call: JobCall, clock: _Clock, reporter: _Progress
    ) -> JobStatus | None:
        """Poll to a terminal state; None when the caller's wait budget is spent first."""
        backend = self._backend(record)
        delay = clock.interval
        while True:
            status: JobStatus = await retrying(
                lambda: call.guarded(lambda: backend.poll(call, record.handle)), self.retry_policy()
            )
            await self._update(record, status)
            if status.state in _TERMINAL:
                return status
            await reporter.job(record)
            if clock.overdue():
                await self._deadline(record, call)
            pause, delay = clock.next_delay(status, delay)
            if not await _sleep(clock, pause, reporter, record):
                return None

    async def _update(self, record: JobRecord, status: JobStatus) -> None:
        state: str = "running" if status.state not in ("queued", *_TERMINAL) else status.state
        if state == "done":  # done at the provider; ours once the files are saved
            state = "downloading"
        if state == "failed":
            message = self.redact(status.error or "failed")
            record.error = {"code": status.error_code or "provider_error", "message": message}
        if (state, status.percent) != (record.state, record.percent):
            record.state = state
            record.percent = status.percent if status.percent is not None else record.percent
            await self.store.save(record)

    async def _settle(self, record: JobRecord, exc: GenerateMediaError, holder: str) -> GenerateMediaError:
        """Record a failure. A transient one (the provider unreachable after retries) keeps the job
        resumable and never triggers failover to another backend: the paid job may still finish.
        Once the provider has finished, only an expired result ends the job: a failed download or a
        full disk leaves it resumable, since the provider still holds what was paid for."""
        if record.finished:  # cancelled at the deadline: already recorded
            exc.details.setdefault("job_id", record.id)
            return exc
        if record.state == "downloading" and not isinstance(exc, NotFound):
            await self.store.save(record)
            exc.message = (
                f"{exc.message}; the finished {record.media_type} is still at {record.backend}: call again with "
                f"job_id={record.id!r} to download it (nothing is submitted or paid twice)"
            )
            exc.args = (exc.message,)
            exc.details["job_id"] = record.id
            return exc
        if exc.retryable and record.state not in _TERMINAL:
            await self.store.save(record)
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
        record.error = self.redact.data(exc.to_dict())  # the state store never holds a key
        await self.store.save(record)
        exc.details.setdefault("job_id", record.id)
        return exc

    async def _deadline(self, record: JobRecord, call: JobCall) -> None:
        limit = self.settings.job_deadline_s
        with anyio.CancelScope(shield=True):
            await self._cancel(record, call, reason="it ran past the job deadline")
        raise ProviderError(
            f"{record.backend} did not finish the job within {limit:g} s (GENERATE_MEDIA_JOB_DEADLINE_S); "
            "try again later or raise the deadline",
            backend=record.backend,
        )

    async def _cancel(self, record: JobRecord, call: JobCall, reason: str = "the client cancelled the call") -> None:
        """Cancel the provider job where its API allows; a job that cannot be cancelled stays resumable."""
        try:
            with anyio.fail_after(10):
                cancelled = await self._backend(record).cancel(call, record.handle)
        except Exception as exc:  # best effort: the provider may refuse or be unreachable
            log.info("cancel of %s on %s failed: %s", record.id, record.backend, type(exc).__name__)
            cancelled = False
        if cancelled is False:
            log.info("job %s keeps running on %s (no cancel there); resumable by id", record.id, record.backend)
            await self.store.save(record)
            return
        record.state = "cancelled"
        record.error = {"code": "cancelled", "message": reason}
        await self.store.save(record)


async def _submit_once(backend: Any, call: JobCall, name: str) -> dict[str, Any]:
    """A submit that timed out may have started a paid job: it is not retried blindly."""
    try:
        handle: dict[str, Any] = await call.guarded(lambda: backend.submit(call))
    except ProviderTimeout as exc:
        raise ProviderError(
            f"{name} did not confirm the job in time (it may have started); check the provider's console "
            "before trying again",
            backend=name,
        ) from exc
    return handle


def _job_failed(record: JobRecord, status: JobStatus) -> GenerateMediaError:
    message = status.error or f"the provider reports the job {status.state}"
    if status.error_code == SafetyBlocked.code:
        return SafetyBlocked(f"{record.backend} refused the video: {message}", backend=record.backend)
    return ProviderError(f"{record.backend} job failed: {message}", backend=record.backend)


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, GenerateMediaError):
        return exc.to_dict()
    return {"code": "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else "error", "message": str(exc)}
