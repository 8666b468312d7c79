"""Durable job records in the state database (``jobs`` table), with leases and idempotency keys.

A job is recorded before its submit, so a restart loses no paid job and a resumed call never
submits a second provider job. Ids are ``job_{uuid4 hex}``; a job owned by another client is
answered like one that never existed.

Exactly one paid job per request: an unfinished job carries its request's idempotency key
(``request_key``, a digest of what changes the media), unique per owner; a second insert of the
same key fails on the constraint and the caller attaches to the job that won. The key is cleared
when the job finishes, so asking again later makes a new one.

Leases: whoever submits, polls or downloads a job holds its lease, a conditional update
(:meth:`JobStore.take`) that succeeds only when the lease is free, expired, already this holder's,
or held by a process of this host that is gone. The holder renews it while it works; a server that
dies stops renewing and another takes the job over when the lease expires.
"""

from __future__ import annotations

import builtins
import os
import re
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ._sa import sa

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .db import StateStore
    from .resources import ResourceRow

__all__ = ["FINISHED", "JobRecord", "JobStore", "holder_gone"]

_ID = re.compile(r"^job_[0-9a-f]{32}$")
FINISHED = ("done", "failed", "cancelled")


@dataclass
class JobRecord:
    id: str
    owner: str
    backend: str
    media_type: str
    model: str
    request: dict[str, Any]
    state: str = "submitting"  # submitting | queued | running | downloading | done | failed | cancelled
    handle: dict[str, Any] = field(default_factory=dict)
    percent: float | None = None
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    #: The MCP session that started it (owns continuation ids the finished job makes).
    session: str = ""
    #: Started over HTTP (its files belong in the principal's own area).
    remote: bool = False
    request_key: str | None = None
    lease_holder: str | None = None
    lease_until: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def leased(self, now: float | None = None) -> bool:
        """Someone alive holds the lease (see the module docstring)."""
        now = time.time() if now is None else now
        if not self.lease_holder or (self.lease_until or 0.0) <= now:
            return False
        return not holder_gone(self.lease_holder)


def holder_gone(holder: str) -> bool:
    """True when ``holder`` (``host:pid:random``) names a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


_COLUMNS = [f.name for f in fields(JobRecord)]
_DATA = [c for c in _COLUMNS if c not in ("id", "lease_holder", "lease_until", "created")]


class JobStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    @property
    def table(self) -> sa.Table:
        from .schema import jobs

        return jobs

    def _record(self, row: Any) -> JobRecord:
        return JobRecord(**{name: getattr(row, name) for name in _COLUMNS})

    async def new(self, **kwargs: Any) -> JobRecord:
        """Record a job in state ``submitting`` with no lease (tests and tools use it; a submit goes through
        :meth:`create`)."""
        record = JobRecord(id=f"job_{uuid.uuid4().hex}", **kwargs)
        await self.create(record)
        return record

    async def create(self, record: JobRecord) -> bool:
        """Insert ``record``; False when its owner already has an unfinished job with its ``request_key``."""
        record.created = record.updated = time.time()
        statement = sa.insert(self.table).values(**asdict(record))
        try:
            await self.store.run(lambda conn: conn.execute(statement))
        except sa.exc.IntegrityError:
            if record.request_key is None:
                raise
            return False
        return True

    async def twin(self, owner: str, request_key: str) -> JobRecord | None:
        """``owner``'s unfinished job for this request key, if any."""
        t = self.table
        query = sa.select(t).where(t.c.owner == owner, t.c.request_key == request_key)
        row = await self.store.run(lambda conn: conn.execute(query).first())
        return self._record(row) if row is not None else None

    async def get(self, job_id: str, owner: str | None) -> JobRecord | None:
        """The record, when it exists and belongs to ``owner`` (None: any owner, for the finisher)."""
        if not _ID.match(job_id or ""):
            return None
        t = self.table
        query = sa.select(t).where(t.c.id == job_id)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        row = await self.store.run(lambda conn: conn.execute(query).first())
        return self._record(row) if row is not None else None

    async def list(self, owner: str | None = None, *, unfinished: bool = False) -> list[JobRecord]:
        t = self.table
        query = sa.select(t).order_by(t.c.created, t.c.id)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        if unfinished:
            query = query.where(t.c.state.not_in(FINISHED))
        rows = await self.store.run(lambda conn: conn.execute(query).all())
        return [self._record(row) for row in rows]

    async def save(
        self,
        record: JobRecord,
        holder: str | None = None,
        resources: Sequence[ResourceRow] = (),
        *,
        undelivered: bool = False,
    ) -> bool:
        """Write ``record``'s state (not its lease); with ``holder``, only while that holder has the lease.
        ``resources`` (the links of the files it saved) are indexed in the same transaction, if it is written.

        A finished job gives up its request key (a new identical request makes a new job) and its lease;
        one finished ``done`` with ``undelivered`` (nobody was waiting: the background finisher) keeps the
        key until :meth:`deliver` hands its result to the next identical request.
        Returns False when ``holder`` lost the lease (nothing is written).
        """
        record.updated = time.time()
        if record.finished and not (undelivered and record.state == "done"):
            record.request_key = None
        values = {name: getattr(record, name) for name in _DATA}
        if record.finished:
            values.update(lease_holder=None, lease_until=None)
        t = self.table
        query = sa.update(t).where(t.c.id == record.id).values(**values)
        if holder is not None:
            query = query.where(t.c.lease_holder == holder)
        index = self.store.resources.insert(resources) if resources else None

        def unit(conn: sa.Connection) -> bool:
            if conn.execute(query).rowcount != 1:
                return False
            if index is not None:
                conn.execute(index)
            return True

        done = await self.store.run(unit)
        if done and record.finished:
            record.lease_holder = record.lease_until = None
        return done

    async def deliver(self, record: JobRecord) -> bool:
        """Give up the request key a ``done`` job kept while undelivered (one conditional UPDATE, so of
        two identical requests at once only one gets the result). True when this call took it."""
        if record.request_key is None:
            return False
        t = self.table
        query = (
            sa.update(t)
            .where(t.c.id == record.id, t.c.state == "done", t.c.request_key == record.request_key)
            .values(request_key=None)
        )
        done = await self.store.run(lambda conn: conn.execute(query).rowcount == 1)
        record.request_key = None
        return done

    async def take(self, record: JobRecord, holder: str, ttl_s: float) -> bool:
        """Take (or renew) the lease on ``record`` for ``ttl_s`` seconds; True when ``holder`` has it.

        A conditional UPDATE: it matches only while the lease is free, expired or ``holder``'s own, or
        still names the process of this host seen gone, so two takers never both succeed; a finished
        job is never taken (a late waiter reads its result instead of downloading again).
        """
        now = time.time()
        t = self.table
        free = sa.or_(t.c.lease_holder.is_(None), t.c.lease_holder == holder, t.c.lease_until < now)

        def unit(conn: sa.Connection) -> bool:
            current = conn.execute(sa.select(t.c.lease_holder).where(t.c.id == record.id)).scalar()
            unheld = (
                sa.or_(free, t.c.lease_holder == current)
                if current and current != holder and holder_gone(current)
                else free
            )
            query = (
                sa.update(t)
                .where(t.c.id == record.id, t.c.state.not_in(FINISHED), unheld)
                .values(lease_holder=holder, lease_until=now + ttl_s)
            )
            return bool(conn.execute(query).rowcount == 1)

        taken = await self.store.run(unit)
        if taken:
            record.lease_holder, record.lease_until = holder, now + ttl_s
        return taken

    async def retire(self, record: JobRecord, error: dict[str, Any]) -> bool:
        """Mark ``record`` failed with ``error`` if it is still ``submitting`` and nobody alive holds
        it (one conditional UPDATE: never a live submit, never twice). True when this call retired it."""
        now = time.time()
        t = self.table
        stale = sa.or_(t.c.lease_holder.is_(None), t.c.lease_until < now)
        if record.lease_holder and holder_gone(record.lease_holder):
            stale = sa.or_(stale, t.c.lease_holder == record.lease_holder)
        values = {"state": "failed", "error": error, "request_key": None, "updated": now}
        query = (
            sa.update(t)
            .where(t.c.id == record.id, t.c.state == "submitting", stale)
            .values(**values, lease_holder=None, lease_until=None)
        )
        done = await self.store.run(lambda conn: conn.execute(query).rowcount == 1)
        if done:
            record.state, record.error, record.request_key = "failed", error, None
            record.lease_holder = record.lease_until = None
        return done

    async def release(self, record: JobRecord, holder: str) -> None:
        """Give up ``holder``'s lease (no-op when it no longer has it)."""
        t = self.table
        query = (
            sa.update(t)
            .where(t.c.id == record.id, t.c.lease_holder == holder)
            .values(lease_holder=None, lease_until=None)
        )
        await self.store.run(lambda conn: conn.execute(query))
        if record.lease_holder == holder:
            record.lease_holder = record.lease_until = None

    async def orphans(self, limit: int = 32) -> builtins.list[JobRecord]:
        """Unfinished jobs whose lease is free or expired (or names a dead local process): nobody works on them."""
        now = time.time()
        t = self.table
        query = (
            sa.select(t)
            .where(t.c.state.not_in(FINISHED), sa.or_(t.c.lease_holder.is_(None), t.c.lease_until < now))
            .order_by(t.c.created)
            .limit(limit)
        )
        held = sa.select(t).where(t.c.state.not_in(FINISHED), t.c.lease_holder.is_not(None), t.c.lease_until >= now)
        rows, live = await self.store.run(lambda conn: (conn.execute(query).all(), conn.execute(held).all()))
        found = [self._record(row) for row in rows]
        found += [r for r in map(self._record, live) if r.lease_holder and holder_gone(r.lease_holder)]
        return found
