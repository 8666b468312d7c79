"""One generation end to end: validate, select, load inputs, call the backend, write files, record
continuations and jobs. The MCP tool and the CLI both call :meth:`MediaService.generate`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel

from .client_registry import BackendEndpoint, ClientRegistry
from .clients import shows_content
from .config import Settings
from .errors import (
    AccessDenied,
    BadProviderResponse,
    BudgetExceeded,
    GenerateMediaError,
    InvalidRequest,
    ModelUnavailable,
    NotFound,
    QuotaExceeded,
    Redactor,
)
from .inputs import LoadedFile, load_input
from .jobs import JobOwner, JobRunner
from .links import URI_TEMPLATE, ResourceRow, resource_rows
from .output import (
    Confinement,
    Folder,
    SavedFile,
    check_output_dir,
    cleanup_temp,
    make_preview,
    new_temp,
    save_artifact,
    save_sidecar,
    sweep_stale_temps,
    writing,
)
from .pricing import Estimate, estimate
from .registry import Registry, load_registry
from .requests import MediaRequest, check_known, parse_request, validate_limits
from .results import CostEstimate, ErrorInfo, GenerationResult, ItemResult, Outcome
from .retry import RetryPolicy, bounded, retrying
from .selector import Selection, backend_unavailable, ordered_backends, select
from .spec import BackendSpec, MediaType, ModelSpec, Produced
from .storage import open_storage
from .stores import ContinuationRecord, JobRecord, Reservation, SpendLedger, StateStore, database_url

__all__ = ["Caller", "ItemCall", "MediaService", "Outcome", "ProgressFn"]

log = logging.getLogger("generate_media")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Seconds between the tools/list answer and the warm-up's first import (the store's too).
WARM_UP_DELAY_S = 0.05

#: How long a model the provider answered "not found" for is skipped by ``auto`` (one day).
GONE_FOR_S = 24 * 3600.0
#: How long after the start a server with no client in session waits before opening the state store
#: (and finishing the jobs nobody waits for). Clients list the tools at once, but on a loaded machine
#: the handshake itself can take seconds, and opening the store must not compete with it. A job left
#: by a dead server waits for its lease (GENERATE_MEDIA_JOB_LEASE_S, 30 s) to run out anyway.
STORE_GRACE_S = 10.0

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
T = TypeVar("T")

_EXPECT = {
    MediaType.IMAGE: ("image/",),
    MediaType.VIDEO: ("video/",),
    MediaType.AUDIO: ("audio/", "video/"),
}


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``principal`` owns jobs and files, ``session`` owns continuation ids."""

    principal: str = "local"
    session: str = "local"
    roots: tuple[Path, ...] = ()  # stdio: the local client's roots (README: "Files and folders")
    remote: bool = False  # HTTP: files are the principal's own (see MediaService.confinement)
    client: str = ""  # its clientInfo name, when it sent one (chooses the long-job wait budget)
    #: Its result links files as ``media://outputs/{id}``: the call indexes them (``stores.resources``),
    #: with its other store writes.
    index_links: bool = False


@dataclass
class ItemCall:
    """Implements ``spec.Call`` for one prompt of a request."""

    request: MediaRequest
    prompt: str
    model: ModelSpec
    backend: str
    api_key: str
    base_url: str | None
    settings: Settings
    folder: Folder
    confinement: Confinement
    continuation: ContinuationRecord | None = None
    input_images: list[LoadedFile] = field(default_factory=list)
    mask: LoadedFile | None = None
    input_video: LoadedFile | None = None
    reporter: ProgressFn | None = None
    clients: ClientRegistry = field(default_factory=ClientRegistry)  # the server's (MediaService.serving)
    deadline_s: float | None = None  # each provider call's overall deadline; None for offline backends
    temps: list[Path] = field(default_factory=list)
    #: Links of saved files not yet in the resource index (written with the call's last store write).
    unindexed: list[ResourceRow] = field(default_factory=list)
    _ticks: int = 0

    @property
    def directory(self) -> Path:
        """Where the files go (as checked; writes go through ``folder``'s descriptor)."""
        return self.folder.path

    async def progress(self, message: str, percent: float | None = None) -> None:
        if self.reporter is None:
            return
        self._ticks += 1
        if percent is not None:
            await self.reporter(percent, 100.0, message)
        else:
            await self.reporter(float(self._ticks), None, message)

    def temp_file(self, suffix: str = "") -> Path:
        path = new_temp(self.folder, suffix)
        self.temps.append(path)
        return path

    async def load_file(self, ref: str, kinds: tuple[str, ...] = ("image/", "audio/", "video/")) -> LoadedFile:
        return await load_input(ref, settings=self.settings, confinement=self.confinement, kinds=kinds)

    async def guarded(self, fn: Callable[[], Awaitable[T]]) -> T:
        """One attempt of a provider call, under the overall deadline and the shared translation."""
        return await bounded(fn, backend=self.backend, deadline_s=self.deadline_s)

    def cleanup(self) -> None:
        for temp in self.temps:
            cleanup_temp(temp)


class MediaService:
    def __init__(
        self,
        settings: Settings,
        *,
        registry: Registry | None = None,
        store: StateStore | None = None,
        clock: Any = time,
        retry_sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.settings = settings
        self.registry = registry or load_registry()
        #: Jobs, continuations and the resource index: SQLite in the state dir, or GENERATE_MEDIA_DATABASE_URL.
        self.store = store or StateStore(database_url(settings.database_url, settings.state_dir))
        self.continuations = self.store.continuations
        self.jobs = self.store.jobs
        self.spend = SpendLedger(settings.state_dir / "spend", clock=clock)
        self.clock = clock
        self.retry_sleep = retry_sleep
        #: The SDK clients of this server's lifetime (see ``serving``).
        self.clients = ClientRegistry()
        self._lifespans = 0
        self._background: anyio.abc.TaskGroup | None = None
        self._warmed: ClientRegistry | None = None
        self._warming: anyio.Event | None = None
        self._started: anyio.Event | None = None  # set once a client is in session (``running``)
        self._in_session: Callable[[], object] | None = None  # ``running``'s step, until it has run
        self._in_session_lock: anyio.Lock | None = None
        self.redact = Redactor(settings.secrets(self.registry.secret_names()))
        self.storage = open_storage(settings)  # the local folder, or an S3 bucket the files also go to
        self.job_runner = JobRunner(
            self.jobs,
            settings,
            implementation=lambda backend, media: getattr(self.registry.implementation(backend), media),
            retry_policy=self.retry_policy,
            redact=self.redact,
        )
        self._finishing: set[str] = set()
        self._swept: set[Path] = set()
        self._sweep(settings.output_dir.expanduser())  # partial files a crashed server left behind
        #: (backend, model) -> until when ``auto`` skips it: the provider said it no longer serves it.
        self.gone: dict[tuple[str, str], float] = {}

    def _sweep(self, directory: Path) -> None:
        if directory not in self._swept:
            self._swept.add(directory)
            sweep_stale_temps(directory)

    def today(self) -> date:
        """The UTC date by the service's clock: lifecycle dates take effect on it, with no release."""
        return datetime.fromtimestamp(self.clock.time(), UTC).date()

    def gone_models(self) -> frozenset[tuple[str, str]]:
        now = self.clock.time()
        return frozenset(pair for pair, until in self.gone.items() if until > now)

    # --- the server's lifetime ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ClientRegistry]:
        """The MCP server's lifespan: one client registry for its lifetime, warmed in the background
        after the first ``tools/list`` (``warm_up``), its warm-up stopped and its clients closed on
        shutdown. Nested lifespans (several in-process clients of one server) share it; the last out
        closes it."""
        if self._lifespans == 0 and self.clients.closed:
            self.clients = ClientRegistry()
        self._lifespans += 1
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as background:
                self._background = self._background or background
                try:
                    yield self.clients
                except Exception as exc:  # raised below as it is, not wrapped in the task group's ExceptionGroup
                    failure = exc
                finally:
                    background.cancel_scope.cancel()
                    if self._background is background:
                        self._background = None
            if failure is not None:
                raise failure
        finally:
            self._lifespans -= 1
            if self._lifespans == 0:
                await self.clients.aclose()

    def warm_up(self) -> None:
        """Start importing the SDKs and building the clients of the backends a first call would use, in
        the background (once per registry; never blocks: the builds run in worker threads).

        Warmed: for each media type, the backend with a key that ``auto`` picks first (its priority
        order), so a first call that names no backend finds everything ready, and idle memory stays
        that of at most three SDKs however many keys are set. A call that arrives meanwhile waits for
        its own backend's build (``ClientRegistry.get``) instead of starting a second one; a failed
        warm-up is logged and the call builds the client itself.
        """
        self.started()
        if not self.settings.warm_up or self._background is None or self._warmed is self.clients:
            return
        self._warmed = self.clients
        chosen = self._first_choices()
        if chosen:
            self._warming = anyio.Event()
            self._background.start_soon(self._warm_all, chosen, self._warming)

    async def _warm_all(self, chosen: list[BackendSpec], done: anyio.Event) -> None:
        try:
            # Started from the tools/list answer's middleware: let the answer reach the client before
            # the imports compete with writing it.
            await anyio.sleep(WARM_UP_DELAY_S)
            await self._in_session_step()  # before the warm-up's threads: the allocator limits their heaps
            async with anyio.create_task_group() as tg:
                for spec in chosen:
                    if spec.warm is not None:
                        endpoint = BackendEndpoint(
                            self.settings.api_key(spec.env_keys), self._base_url(spec), self.settings, self.clients
                        )
                        tg.start_soon(self._warm, spec.name, spec.warm, endpoint)
                # PyAV only when no keyed backend makes images: then every call is audio or video (probed).
                # With an image backend too, the first call is most likely an image, and PyAV's ~18 MiB
                # would stay resident for a first audio call that pays ~0.15 s to import it itself.
                tg.start_soon(self._warm_core, not any(MediaType.IMAGE in spec.media for spec in chosen))
                tg.start_soon(self._open_store)  # every call reads or writes it
        finally:
            done.set()

    async def warmed(self) -> None:
        """Wait until a running warm-up has ended. A call waits for it rather than importing alongside it:
        two threads importing intertwined packages at once can see each other's half-made modules."""
        if self._warming is not None:
            await self._warming.wait()

    def _first_choices(self) -> list[BackendSpec]:
        """Per media type, the first backend with a key in ``auto``'s order (each listed once)."""
        chosen: dict[str, BackendSpec] = {}
        for media_type in MediaType:
            for spec in ordered_backends(self.registry, media_type, self.settings):
                if spec.env_keys and backend_unavailable(spec, self.settings) is None:
                    chosen.setdefault(spec.name, spec)
                    break
        return list(chosen.values())

    async def _warm_core(self, probes: bool) -> None:
        """What any first call does whatever the backend: build the request model, and load the file
        sniffer and Pillow (images are verified and previewed); with ``probes`` (no keyed backend makes
        images, so every call is probed) PyAV too (about 0.15 s of CPU and 18 MiB)."""

        def load() -> None:
            import filetype  # noqa: F401
            import pybase64  # noqa: F401  (decodes every base64 payload)
            from PIL import Image

            Image.preinit()  # BMP, GIF, JPEG, PPM and PNG
            if probes:
                import av  # noqa: F401
            self.registry.request_type  # noqa: B018  (built once, on first use)

        try:
            await anyio.to_thread.run_sync(load, abandon_on_cancel=True)  # imports: a shutdown need not wait
        except Exception:
            log.warning("warming up the file checks failed; the first call loads them", exc_info=True)

    @staticmethod
    async def _warm(name: str, warm: Callable[[BackendEndpoint], Awaitable[None]], endpoint: BackendEndpoint) -> None:
        started = time.perf_counter()
        try:
            await warm(endpoint)
        except Exception:
            log.warning("warming up %s failed; its first call builds its client", name, exc_info=True)
            return
        log.debug("warmed up %s in %.0f ms", name, (time.perf_counter() - started) * 1000)

    def _base_url(self, spec: BackendSpec) -> str | None:
        return (self.settings.get(spec.base_url_env) if spec.base_url_env else "") or spec.default_base_url

    # --- entry point -----------------------------------------------------------------------

    def parse(self, arguments: dict[str, Any]) -> MediaRequest:
        media_types = [mt.value for mt in MediaType if self.registry.serving(mt)]
        req = parse_request(
            arguments,
            media_types=media_types,
            backends=self.registry.names(),
            audio_types=self.registry.operation_names(MediaType.AUDIO),
            request_type=self.registry.request_type,
        )
        validate_limits(req, self.settings.limits)
        serving = [s.media[req.media] for s in self.registry.serving(req.media)]
        models = [m for support in serving for m in support.models]
        # A model named by an id a backend resolves beyond its declared ones (fal:<endpoint id>).
        resolved = [m for support in serving if req.model and (m := support.model(req.model)) and m not in models]
        check_known(req, models + resolved, self.registry.options())
        return req

    def _request(self, arguments: dict[str, Any], caller: Caller) -> MediaRequest:
        """The parsed request with the caller's defaults: no preview for a client whose model never sees one."""
        req = self.parse(arguments)
        if req.preview is None and not shows_content(caller.client):
            return req.model_copy(update={"preview": False})
        return req

    async def generate(
        self, arguments: dict[str, Any], caller: Caller | None = None, progress: ProgressFn | None = None
    ) -> Outcome:
        """Run one ``generate_media`` call.

        Raises:
            GenerateMediaError: every failure, already classified and one line long.
        """
        caller = caller or Caller()
        self.started()
        await self.warmed()
        req = self._request(arguments, caller)
        if req.job_id:
            return await self._resume(req, caller, progress)
        record = await self._continuation(req, caller)
        confinement = self.confinement(caller)
        folder = self._output_dir(req, confinement)
        selection = self._route(req, record)  # first: a call no backend can take fetches no input
        inputs, mask, video = await self._load_inputs(req, confinement, caller)
        tried: list[dict[str, Any]] = []
        failed: set[str] = set()  # backends ruled out for this request
        while True:
            calls = [
                self._item_call(req, prompt, selection, folder, confinement, record, inputs, mask, progress, video)
                for prompt in req.prompt_list
            ]
            cost = estimate(selection.name, selection.model.id, req)
            hold = await self._reserve(cost, selection, caller)  # before any paid request
            try:
                outcome = await self._run(req, selection, calls, caller, progress)
            except GenerateMediaError as exc:
                await self._refund(caller, hold, cost.usd)
                if not self._fails_over(req, record, exc):
                    raise
                tried.append({"backend": selection.name, "model": selection.model.id, "error": exc.to_dict()})
                if isinstance(exc, ModelUnavailable):
                    self.gone[(selection.name, selection.model.id)] = self.clock.time() + GONE_FOR_S
                if not _replaced_in_place(exc, selection):
                    failed.add(selection.name)
                log.info("failing over from %s/%s: %s", selection.name, selection.model.id, exc.code)
                if not self._has_alternative(req, frozenset(failed)):
                    exc.details["backends_tried"] = tried
                    raise
                selection = self._route(req, record, frozenset(failed))
                continue
            if selection.reason:
                outcome.result.chosen = selection.reason
            if tried:
                outcome.result.backends_tried = [*tried, {"backend": selection.name, "model": selection.model.id}]
                outcome.result.warnings[:0] = _failover_warnings(tried, selection)
            await self._settle(outcome.result, cost, hold, caller)
            return outcome

    async def _run(
        self,
        req: MediaRequest,
        selection: Selection,
        calls: list[ItemCall],
        caller: Caller,
        progress: ProgressFn | None,
    ) -> Outcome:
        runner = getattr(self.registry.implementation(selection.name), req.media.value)
        if selection.model.long_job:
            record, holder = await self.job_runner.submit(calls[0], _owner(caller))
            return await self._wait_job(record, calls[0], caller, holder)
        return await self._run_items(req, selection, runner, calls, caller)

    # --- long jobs (the runner waits; the service builds calls and saves files) ------------------

    async def _resume(self, req: MediaRequest, caller: Caller, progress: ProgressFn | None) -> Outcome:
        """Continue waiting for a recorded job, or answer its finished result without the provider.

        Raises:
            NotFound: unknown id (or another client's), or the finished job's files are gone.
            ProviderError: the job failed, was cancelled, or never reached the provider.
        """
        record = await self.job_runner.find(req.job_id or "", caller.principal)
        if record.state == "done" and record.result:
            await self.job_runner.store.deliver(record)  # delivered now: a new identical request makes a new job
            return _stored(record.id, record.result)
        self.job_runner.check(record)
        call = self._job_call(record, req, caller, progress)
        return await self._wait_job(record, call, caller, None)

    def _job_call(
        self, record: JobRecord, req: MediaRequest | None, caller: Caller, progress: ProgressFn | None
    ) -> ItemCall:
        """The call for a recorded job: its own request, pinned to its backend and model. A resuming
        call's wait budget applies (not the one the job started with); a destination, name or
        preview flag given now applies to the file this call saves."""
        update: dict[str, Any] = {"wait_s": req.wait_s if req is not None else 0.0}
        if req is not None:
            update.update({k: v for k in _CALL_FIELDS if (v := getattr(req, k)) is not None})
        original = self.parse(record.request).model_copy(update=update)
        pinned = original.model_copy(update={"backend": record.backend, "model": record.model, "continue_from": None})
        selection = self._route(pinned, None)
        confinement = self.confinement(caller)
        folder = self._output_dir(original, confinement)
        prompt = record.request.get("prompt", "")
        return self._item_call(original, prompt, selection, folder, confinement, None, [], None, progress)

    async def _wait_job(
        self,
        record: JobRecord,
        call: ItemCall,
        caller: Caller,
        holder: str | None,
        *,
        follow: bool = True,
        waiter: bool = True,
    ) -> Outcome:
        """Wait for a job through the runner; save what it produced (the one save path)."""
        async with self.job_runner.wait(record, call, caller.client, holder, follow=follow, waiter=waiter) as job:
            if job.finished is not None:
                return _stored(job.record.id, job.finished)
            if job.pending:
                return Outcome(result=_pending(job.record).model_copy(update=job.waited))
            saved: list[SavedFile] = []
            with writing(call.directory):
                items = await self.save_produced(call, job.produced, 0, caller, saved, batch=False)
            deprecation = call.model.deprecation_warning(call.backend, self.today())
            result = GenerationResult(
                status="completed",
                media_type=job.record.media_type,
                backend=job.record.backend,
                model=job.record.model,
                items=items,
                job_id=job.record.id,
                progress_percent=100.0,
                warnings=[deprecation] if deprecation else [],
                **job.waited,
            )
            job.complete(result.model_dump(mode="json"), call.unindexed)
        return Outcome(result=result, files=saved)

    # --- the background finisher ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self, *, in_session: Callable[[], object] | None = None) -> AsyncIterator[MediaService]:
        """The service while a server runs: the background finisher completing jobs nobody waits for
        (a client gone, a server that died).

        The state store opens off the startup path (importing SQLAlchemy and applying the migrations
        takes 0.3-1 s that ``initialize`` and ``tools/list`` must not wait for): in the warm-up after
        the first ``tools/list``, when the first call comes, or ``STORE_GRACE_S`` after the start
        without either (at once when something opened it already); a call that needs it before then
        opens it itself (``StateStore.begin``). ``in_session`` (the server's allocator settings) runs
        in a worker thread at that moment too, before the warm-up starts."""
        self._started = anyio.Event()
        self._in_session, self._in_session_lock = in_session, anyio.Lock()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._finisher, tg)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            real = [e for e in group.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
            raise (real[0] if len(real) == 1 else group) from None
        finally:
            with anyio.CancelScope(shield=True):
                await self.store.close()

    def started(self) -> None:
        """A client is in session (it listed the tools, or called one): the store may open now."""
        if self._started is not None:
            self._started.set()

    async def _open_store(self) -> None:
        try:
            await self.store.open()
        except GenerateMediaError as exc:  # images still work; each job says what is wrong
            log.warning("the state store is unavailable: %s", exc.message)

    async def _in_session_step(self) -> None:
        """Run ``running``'s ``in_session`` step once, in a worker thread (the first caller runs it, a
        second waits for it)."""
        if self._in_session_lock is None:
            return
        async with self._in_session_lock:
            step, self._in_session = self._in_session, None
            if step is not None:
                try:
                    await anyio.to_thread.run_sync(step)
                except Exception:  # an optimisation: the server works without it
                    log.warning("the in-session step failed", exc_info=True)

    async def _finisher(self, tg: anyio.abc.TaskGroup) -> None:
        if self._started is not None and not self.store.opened:
            with anyio.move_on_after(STORE_GRACE_S):
                await self._started.wait()
                await anyio.sleep(WARM_UP_DELAY_S)  # the answer that started the session goes out first
        await self._in_session_step()
        await self._open_store()
        every = max(self.settings.job_lease_s / 3, self.settings.poll_interval_s, 0.05)
        while True:
            try:
                for record in await self.job_runner.orphans():
                    if record.id not in self._finishing:
                        self._finishing.add(record.id)
                        tg.start_soon(self.finish_job, record)
            except GenerateMediaError as exc:  # the database unreachable for a moment: try again later
                log.warning("the job finisher could not read the state store: %s", exc.message)
            await anyio.sleep(every)

    async def finish_job(self, record: JobRecord) -> None:
        """Take over ``record`` (nobody holds its lease) and wait for it to the end, saving its files
        where its caller asked; a client that comes back gets the finished result by ``job_id``."""
        caller = Caller(
            principal=record.owner,
            session=record.session,
            roots=(Path(record.request.get("output_dir") or self.settings.output_dir),),
            remote=record.remote,
            index_links=True,  # its waiter's links are unknown here: indexed with the completion, at no cost
        )
        try:
            if record.state == "submitting" or not record.handle:
                return
            call = self._job_call(record, None, caller, None)
            outcome = await self._wait_job(record, call, caller, None, follow=False, waiter=False)
            if outcome.result.status == "completed":
                log.info("finished job %s that nobody was waiting for", record.id)
        except GenerateMediaError as exc:
            log.info("job %s ended without a waiter: %s", record.id, self.redact(exc.message))
        finally:
            self._finishing.discard(record.id)

    # --- cost and budget ------------------------------------------------------------------------

    async def _reserve(self, cost: Estimate, selection: Selection, caller: Caller) -> Reservation | None:
        """Record the estimate against today's budget, or refuse the call before anything is paid.

        A call whose price is unknown is not counted (a warning in the result says so).
        """
        budget = self.settings.budget_usd
        if budget is None or cost.usd is None:
            return None
        hold = await anyio.to_thread.run_sync(self.spend.reserve, caller.principal, cost.usd, budget)
        if not hold.ok:
            raise BudgetExceeded(
                f"{selection.name}/{selection.model.id} is estimated at ${cost.usd:.4f} and only "
                f"${hold.remaining_usd:.4f} of today's ${budget:g} budget (GENERATE_MEDIA_BUDGET_USD) is left; "
                "choose a cheaper model or quality, fewer outputs, or wait for the next UTC day",
                backend=selection.name,
                budget={**hold.as_dict(), "budget_usd": budget, "estimated_usd": cost.usd},
            )
        return hold

    async def _refund(self, caller: Caller, hold: Reservation | None, usd: float | None) -> None:
        if hold is not None and usd:
            await anyio.to_thread.run_sync(self.spend.refund, caller.principal, usd, hold.day)

    async def _settle(self, result: GenerationResult, cost: Estimate, hold: Reservation | None, caller: Caller) -> None:
        """Put the estimate on the result; give back the share of prompts that failed (not billed)."""
        failed = [i for i in result.items if i.status == "error"]
        if failed and cost.usd:
            prompts = {i.index for i in result.items}
            share = cost.usd * len({i.index for i in failed}) / max(len(prompts), 1)
            await self._refund(caller, hold, share)
        remaining = None
        if hold is not None and self.settings.budget_usd is not None:
            spent = await anyio.to_thread.run_sync(self.spend.spent, caller.principal)
            remaining = round(max(self.settings.budget_usd - spent, 0.0), 6)
        result.estimated_cost = CostEstimate(**cost.as_dict(), budget_remaining_usd=remaining)
        if self.settings.budget_usd is not None and cost.usd is None:
            result.warnings.append(
                f"the price of {result.backend}/{result.model} is unknown, so this call was not counted "
                "against GENERATE_MEDIA_BUDGET_USD"
            )

    @staticmethod
    def _fails_over(req: MediaRequest, record: ContinuationRecord | None, exc: GenerateMediaError) -> bool:
        """Only ``backend='auto'`` fails over: for transient or capacity failures, and for a model the
        provider no longer serves (then to its replacement on the same backend, or the next backend)."""
        if req.backend != "auto" or req.model or record is not None:
            return False
        return exc.retryable or isinstance(exc, QuotaExceeded | ModelUnavailable)

    def _has_alternative(self, req: MediaRequest, failed: frozenset[str]) -> bool:
        try:
            self._select(req, failed)
        except GenerateMediaError:
            return False
        return True

    def _select(self, req: MediaRequest, exclude: frozenset[str] = frozenset()) -> Selection:
        return select(
            req, self.registry, self.settings, exclude=exclude, exclude_models=self.gone_models(), today=self.today()
        )

    # --- routing -----------------------------------------------------------------------------

    async def _continuation(self, req: MediaRequest, caller: Caller) -> ContinuationRecord | None:
        if not req.continue_from:
            return None
        if req.prompts and len(req.prompts) > 1:
            raise InvalidRequest("continue_from works with one prompt; call once per edit")
        record = await self.continuations.get(req.continue_from, caller.session, present=self.storage.localize)
        if record is None:
            raise NotFound(
                f"unknown continuation id {req.continue_from!r} (expired, from another client, or never issued); "
                "generate again without continue_from"
            )
        if record.media_type != req.media.value:
            raise InvalidRequest(
                f"{req.continue_from} is a {record.media_type} continuation; use media_type={record.media_type!r}"
            )
        return record

    def _route(
        self, req: MediaRequest, record: ContinuationRecord | None, exclude: frozenset[str] = frozenset()
    ) -> Selection:
        if record is None:
            return self._select(req, exclude)
        # A continuation goes back to the backend and model it came from, whatever is selected now.
        if req.backend not in ("auto", record.backend):
            raise InvalidRequest(f"{req.continue_from} belongs to backend {record.backend!r}; omit backend or use it")
        if req.model and req.model != record.model:
            raise InvalidRequest(f"{req.continue_from} belongs to model {record.model!r}; omit model or use it")
        spec = self.registry.get(record.backend)
        model = self.registry.model(record.backend, req.media, record.model) if spec else None
        if spec is None or model is None:
            raise NotFound(f"continuation {req.continue_from} refers to a backend or model no longer available")
        # Pinned to its backend and model, the selector checks the key and what the model accepts.
        pinned = req.model_copy(update={"backend": record.backend, "model": record.model})
        return self._select(pinned)

    def area(self, principal: str) -> Path:
        """An HTTP principal's own folder: ``<output dir>/clients/<principal>``."""
        if principal in ("", ".", "..") or "/" in principal or "\\" in principal:
            raise AccessDenied(f"principal {principal!r} cannot name a folder; rename it in GENERATE_MEDIA_HTTP_TOKENS")
        return self.settings.output_dir / "clients" / principal

    def confinement(self, caller: Caller) -> Confinement:
        """Where ``caller`` may read and write.

        stdio and in-process: the output directory, the allowed directories and the client's roots.
        HTTP: its own area (read and write) and the allowed directories (read only); every other
        client's area is fenced off, whatever directory contains it.
        """
        settings = self.settings
        if not caller.remote:
            return Confinement.of([settings.output_dir, *settings.allowed_dirs, *caller.roots])
        return Confinement.of(
            [self.area(caller.principal)],
            read_only=settings.allowed_dirs,
            fenced=[settings.output_dir / "clients"],
        )

    def _output_dir(self, req: MediaRequest, confinement: Confinement) -> Folder:
        """The checked output directory, held open (see ``output.Folder``).

        Raises:
            InvalidRequest: a URI, look-alike characters, or not a directory.
            AccessDenied: outside the writable directories, or a symlink swapped in.
            StorageError: it cannot be made (read-only, disk full).
        """
        if req.output_dir:
            check_output_dir(req.output_dir)
        writable = confinement.writable()
        directory = writable.resolve(req.output_dir, base=confinement.home, output=True) if req.output_dir else None
        directory = directory or confinement.home
        if directory.exists() and not directory.is_dir():
            raise InvalidRequest(f"output folder {directory} is a file, not a folder; choose another output_dir")
        folder = Folder.open(writable, directory)
        self._sweep(directory)
        return folder

    async def _load(self, ref: str, confinement: Confinement) -> LoadedFile:
        return await load_input(ref, settings=self.settings, confinement=confinement)

    async def _load_video(self, ref: str, confinement: Confinement, caller: Caller) -> LoadedFile:
        """``input_video``: a path, URL or data URI like any input, or an earlier output of this client."""
        ref = await self._earlier_output(ref, caller) or ref
        return await load_input(ref, settings=self.settings, confinement=confinement, kinds=("video/",))

    async def _earlier_output(self, ref: str, caller: Caller) -> str | None:
        """The file behind an earlier result's ``continuation_id`` or ``media://outputs/{id}`` link, when it is
        ``caller``'s (another client's id is unknown here too); read through the same confinement as a path."""
        prefix = URI_TEMPLATE.removesuffix("{id}")
        if ref.startswith(prefix):
            entry = await self.store.resources.get(ref.removeprefix(prefix), caller.principal)
            if entry is None:
                raise NotFound(f"unknown resource {ref[:60]} (expired or another client's); give the file's path")
            await self.storage.localize(Path(entry[0]))  # made by another replica: fetched from the bucket
            return entry[0]
        if "/" in ref or "." in ref:
            return None
        record = await self.continuations.get(ref, caller.session, present=self.storage.localize)
        return record.files[0] if record is not None and record.files else None

    async def _load_inputs(
        self, req: MediaRequest, confinement: Confinement, caller: Caller
    ) -> tuple[list[LoadedFile], LoadedFile | None, LoadedFile | None]:
        """The input images, the mask and the input video, loaded at once (URLs download side by side).
        The first failure cancels the rest and is the error (of several failing together, the first given)."""
        loads: list[Callable[[], Awaitable[LoadedFile]]] = [
            functools.partial(self._load, ref, confinement) for ref in req.input_images or []
        ]
        if req.mask:
            loads.append(functools.partial(self._load, req.mask, confinement))
        if req.input_video:
            loads.append(functools.partial(self._load_video, req.input_video, confinement, caller))
        loaded: dict[int, LoadedFile] = {}
        errors: dict[int, Exception] = {}

        async def load(index: int, fn: Callable[[], Awaitable[LoadedFile]]) -> None:
            try:
                loaded[index] = await fn()
            except Exception as exc:  # kept, not raised: a task group would wrap it in a group
                errors[index] = exc
                tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            for index, fn in enumerate(loads):
                tg.start_soon(load, index, fn)
        if errors:
            raise errors[min(errors)]
        files = [loaded[index] for index in range(len(loads))]
        video = files.pop() if req.input_video else None
        mask = files.pop() if req.mask else None
        return files, mask, video

    def _item_call(
        self,
        req: MediaRequest,
        prompt: str,
        selection: Selection,
        folder: Folder,
        confinement: Confinement,
        record: ContinuationRecord | None,
        inputs: list[LoadedFile],
        mask: LoadedFile | None,
        progress: ProgressFn | None,
        video: LoadedFile | None = None,
    ) -> ItemCall:
        spec = selection.backend
        return ItemCall(
            request=req,
            prompt=prompt,
            model=selection.model,
            backend=spec.name,
            api_key=self.settings.api_key(spec.env_keys),
            base_url=self._base_url(spec),
            settings=self.settings,
            folder=folder,
            confinement=confinement,
            continuation=record,
            input_images=list(inputs),
            mask=mask,
            input_video=video,
            reporter=progress,
            clients=self.clients,
            # Offline backends (no key) render on this machine: minutes of CPU are not a stalled provider.
            deadline_s=self.settings.provider_deadline_s if spec.env_keys else None,
        )

    # --- running -----------------------------------------------------------------------------

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.settings.max_retries + 1,
            deadline_s=max(self.settings.request_timeout_s * 3, 30.0),
            sleep=self.retry_sleep,
            scrub=self.redact.error,
        )

    async def _run_items(
        self, req: MediaRequest, selection: Selection, runner: Any, calls: list[ItemCall], caller: Caller
    ) -> Outcome:
        limiter = anyio.Semaphore(req.max_concurrent)
        slots: list[list[ItemResult] | GenerateMediaError | None] = [None] * len(calls)
        saved: list[SavedFile] = []

        async def one(index: int, call: ItemCall) -> None:
            async with limiter:
                try:
                    slots[index] = await self.produce(runner, call, index, caller, saved, batch=len(calls) > 1)
                except GenerateMediaError as exc:
                    slots[index] = exc
                finally:
                    call.cleanup()

        async with anyio.create_task_group() as tg:
            for index, call in enumerate(calls):
                tg.start_soon(one, index, call)
        outcome = self._assemble(req, selection, calls, slots, saved)
        await self._index([row for call in calls for row in call.unindexed], outcome.result)
        outcome.previews = self._previews(req, saved)
        return outcome

    async def _index(self, rows: list[ResourceRow], result: GenerationResult) -> None:
        """Index the links no continuation carried (one transaction for the whole call); a store
        that cannot says so on the result (the files are made; their media:// links will not resolve)."""
        try:
            await self.store.resources.add_many(rows)
        except GenerateMediaError as exc:
            result.warnings.append(f"no media:// links for these files: {exc.message}")

    async def produce(
        self, runner: Any, call: ItemCall, index: int, caller: Caller, saved: list[SavedFile], *, batch: bool
    ) -> list[ItemResult]:
        """Call the backend for one prompt (with retries) and save what it made."""
        with writing(call.directory):
            produced: list[Produced] = await retrying(lambda: call.guarded(lambda: runner(call)), self.retry_policy())
            return await self.save_produced(call, produced, index, caller, saved, batch=batch)

    async def save_produced(
        self,
        call: ItemCall,
        produced: list[Produced],
        index: int,
        caller: Caller,
        saved: list[SavedFile],
        *,
        batch: bool,
    ) -> list[ItemResult]:
        req = call.request
        if not produced:
            raise BadProviderResponse(
                "the provider returned no media; try again or rephrase the prompt", backend=call.backend
            )
        spec = self._preview_spec(req)
        thumbs: dict[int, tuple[bytes, str] | None] = {}
        failed: Exception | None = None

        def preview(k: int, source: Path | bytes, limits: tuple[int, int]) -> None:
            thumbs[k] = None
            previews.start_soon(self._make_preview, thumbs, k, source, limits)

        # Previews are made in worker threads beside the rest: a PNG's from its bytes while the file is
        # written and checked (its checksums, no decode), any other undecoded image's from its file
        # while the continuation is recorded. A save that decodes the image makes its preview itself.
        async with anyio.create_task_group() as previews:
            for k, art in enumerate(produced):
                if spec is not None and art.data is not None and art.data.startswith(_PNG_SIGNATURE):
                    preview(k, art.data, spec)
            await anyio.lowlevel.checkpoint()  # the previews into their threads before the save starts
            try:
                files = await self._save_all(call, produced, index, numbered=batch or len(produced) > 1, preview=spec)
                for k, file in enumerate(files):
                    if spec is not None and file.info.preview is None and k not in thumbs:
                        preview(k, file.path, spec)
                items = [
                    await self._item(call, art, file, index, caller) for art, file in zip(produced, files, strict=True)
                ]
            except Exception as exc:  # raised once the previews' threads are done (unwrapped by the group)
                failed = exc
        if failed is not None:
            raise failed
        for k, thumb in thumbs.items():
            files[k].info.preview = files[k].info.preview or thumb
        saved.extend(files)
        return items

    async def _save_all(
        self,
        call: ItemCall,
        produced: list[Produced],
        index: int,
        *,
        numbered: bool,
        preview: tuple[int, int] | None,
    ) -> list[SavedFile]:
        """Save what one prompt made, all or nothing (and upload it when outputs go to a bucket);
        ``preview``: the thumbnail's limits, for a save that decodes the image anyway."""
        req = call.request
        files: list[SavedFile] = []
        try:
            for k, art in enumerate(produced):
                save = functools.partial(
                    save_artifact,
                    folder=call.folder,
                    data=art.data,
                    temp=art.path,
                    prompt=call.prompt or (req.audio_type if req.media is MediaType.AUDIO else req.media.value),
                    filename=req.filename,
                    index=(index * len(produced) + k) if numbered else None,
                    expect=_EXPECT[req.media],
                    declared_mime=art.metadata.get("mime_type"),
                    clock=self.clock,
                    preview=preview,
                )
                # Shielded so a cancellation lands after the file is known and can be removed below.
                with anyio.CancelScope(shield=True):
                    files.append(await anyio.to_thread.run_sync(save))
                    for ext, data in art.sidecars.items():
                        sidecar = await anyio.to_thread.run_sync(save_sidecar, call.folder, files[-1].path, ext, data)
                        files[-1].sidecars[ext] = str(sidecar)
            await self._publish(files)
            await anyio.lowlevel.checkpoint()
        except BaseException:
            # All or nothing per prompt: no file the result does not report, no half-written one.
            for art in produced:
                cleanup_temp(art.path)
            for file in files:
                cleanup_temp(file.path)
                for written in file.sidecars.values():
                    cleanup_temp(Path(written))
            raise
        return files

    @staticmethod
    async def _make_preview(
        thumbs: dict[int, tuple[bytes, str] | None], k: int, source: Path | bytes, spec: tuple[int, int]
    ) -> None:
        """``thumbs[k]``: the thumbnail of an image (its bytes or its file), made in a worker thread;
        left out if it cannot be made."""
        make = functools.partial(make_preview, source, max_pixels=spec[0], max_bytes=spec[1])
        try:
            thumbs[k] = await anyio.to_thread.run_sync(make)
        except Exception as exc:  # Pillow raises many types for an image it cannot decode
            log.info("no preview: %s", exc)

    async def _publish(self, files: list[SavedFile]) -> None:
        """Upload the saved files (and their sidecars) when outputs go to a bucket; reported only after."""
        if not self.storage.remote:
            return
        sidecars = [Path(p) for file in files for p in file.sidecars.values()]
        uris = await self.storage.publish([*(file.path for file in files), *sidecars])
        for file in files:
            file.object_uri = uris[file.path]

    async def _item(self, call: ItemCall, art: Produced, file: SavedFile, index: int, caller: Caller) -> ItemResult:
        info = file.info
        support = self.registry.get(call.backend).media[call.request.media]  # type: ignore[union-attr]
        continuation_id = None
        rows = resource_rows(file.path, info.mime_type, file.sidecars, caller.principal) if caller.index_links else []
        if call.model.continuation and support.continuation_prefix and art.state is not None:
            continuation_id = await self._remember(call, art, file, caller, support.continuation_prefix, rows)
        if continuation_id is None:
            call.unindexed.extend(rows)
        meta = {k: v for k, v in art.metadata.items() if k != "mime_type"}
        return ItemResult(
            index=index,
            prompt=call.prompt,
            path=str(file.path),
            uri=file.object_uri or file.uri,
            mime_type=info.mime_type,
            size_bytes=file.size_bytes,
            width=info.width,
            height=info.height,
            duration_s=info.duration_s,
            sample_rate=info.sample_rate,
            channels=info.channels,
            continuation_id=continuation_id,
            revised_prompt=art.revised_prompt,
            placeholder=True if call.model.placeholder else None,
            sidecars=file.sidecars or None,
            metadata=meta,
            warnings=list(art.warnings),
        )

    async def _remember(
        self, call: ItemCall, art: Produced, file: SavedFile, caller: Caller, prefix: str, rows: list[ResourceRow]
    ) -> str | None:
        """Record the continuation, and index ``rows`` in the same transaction; None (and a warning on
        the item) when the state store cannot."""
        try:
            record = await self.continuations.put(
                prefix=prefix,
                owner=caller.session,
                backend=call.backend,
                media_type=call.request.media.value,
                model=call.model.id,
                files=[str(file.path)],
                state=art.state,
                prompt=call.prompt,
                resources=rows,
            )
        except GenerateMediaError as exc:
            art.warnings.append(f"no continuation_id: {exc.message}")
            return None
        return record.id

    def _assemble(
        self,
        req: MediaRequest,
        selection: Selection,
        calls: list[ItemCall],
        slots: list[list[ItemResult] | GenerateMediaError | None],
        saved: list[SavedFile],
    ) -> Outcome:
        items: list[ItemResult] = []
        errors: list[GenerateMediaError] = []
        for index, slot in enumerate(slots):
            if isinstance(slot, GenerateMediaError):
                errors.append(slot)
                info = ErrorInfo(**{k: v for k, v in slot.to_dict().items() if k in ErrorInfo.model_fields})
                items.append(ItemResult(index=index, prompt=calls[index].prompt, status="error", error=info))
            elif slot:
                items.extend(slot)
        if errors and len(errors) == len(calls):
            raise errors[0]
        warnings = []
        if (deprecation := selection.model.deprecation_warning(selection.name, self.today())) is not None:
            warnings.append(deprecation)
        if (hint := self._keyless_hint(req, selection)) is not None:
            warnings.append(hint)
        result = GenerationResult(
            status="partial" if errors else "completed",
            media_type=req.media.value,
            backend=selection.name,
            model=selection.model.id,
            items=items,
            warnings=warnings,
        )
        return Outcome(result=result, files=saved)

    def _keyless_hint(self, req: MediaRequest, selection: Selection) -> str | None:
        """When auto fell back to a backend that needs no key, say which keys would reach a provider."""
        if req.backend != "auto" or selection.backend.env_keys:
            return None
        today = self.today()
        keyed = [
            spec
            for spec in self.registry.serving(req.media)
            if spec.env_keys
            and any(
                req.operation in m.operations and m.status_on(today) != "retired" for m in spec.media[req.media].models
            )
        ]
        if not keyed:
            return None
        keys = "; ".join(" or ".join(spec.env_keys) for spec in keyed)
        return f"made offline by {selection.name} ({selection.model.id}); set {keys} to use a provider"

    def _preview_spec(self, req: MediaRequest) -> tuple[int, int] | None:
        """(max pixels, max bytes) when image previews are wanted: made while the file is verified."""
        want = self.settings.preview if req.preview is None else req.preview
        if not want or req.media is not MediaType.IMAGE:
            return None
        return self.settings.limits.preview_pixels, self.settings.limits.preview_bytes

    def _previews(self, req: MediaRequest, saved: list[SavedFile]) -> list[tuple[bytes, str]]:
        """The first few thumbnails, within the total byte budget."""
        if self._preview_spec(req) is None:
            return []
        budget = self.settings.limits.preview_bytes
        previews: list[tuple[bytes, str]] = []
        for file in saved[:4]:
            thumb = file.info.preview
            if thumb is None or len(thumb[0]) > budget:
                break
            budget -= len(thumb[0])
            previews.append(thumb)
        return previews


def _replaced_in_place(exc: GenerateMediaError, selection: Selection) -> bool:
    """A model the provider no longer serves, with a declared replacement on the same backend: that
    backend stays in play (the model itself is in ``MediaService.gone``); any other failure rules the
    backend out for this request."""
    model = selection.model
    return isinstance(exc, ModelUnavailable) and bool(model.replacement) and not model.replacement_backend


def _failover_warnings(tried: list[dict[str, Any]], selection: Selection) -> list[str]:
    used = f"{selection.name}/{selection.model.id}"
    warnings = []
    for attempt in tried:
        what = f"{attempt['backend']}/{attempt['model']}"
        if attempt["error"].get("code") == ModelUnavailable.code:
            warnings.append(f"{what} is no longer served by the provider (model not found); used {used} instead")
        else:
            warnings.append(f"{what} failed ({attempt['error'].get('code')}); used {used} instead")
    return warnings


def _owner(caller: Caller) -> JobOwner:
    return JobOwner(principal=caller.principal, session=caller.session, remote=caller.remote, client=caller.client)


#: What a resuming (or attaching) call may choose for itself: they do not change the media.
_CALL_FIELDS = ("output_dir", "filename", "preview")


def _stored(job_id: str, stored: dict[str, Any]) -> Outcome:
    """A finished job's result, answered again without the provider, while its files exist."""
    result = GenerationResult.model_validate(stored)
    if all(item.path is None or Path(item.path).is_file() for item in result.items):
        return Outcome(result=result)
    raise NotFound(f"job {job_id} finished but its files were moved or deleted; start a new request")


def _pending(record: JobRecord) -> GenerationResult:
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
