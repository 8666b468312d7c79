"""Continuation records in the state database (``continuations`` table): a time-to-live, a
least-recently-used bound per client (a get refreshes recency), and ids scoped to the client
that created them. They survive a restart and are shared by replicas on one database.

Ids are ``{prefix}_{uuid4 hex}`` (122 random bits). A record holds the output file paths and small
provider state, never image bytes. An id owned by another client is answered exactly like an id
that never existed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._sa import sa

if TYPE_CHECKING:
    from .db import StateStore
    from .resources import ResourceRow

__all__ = ["ContinuationRecord", "ContinuationStore"]


@dataclass
class ContinuationRecord:
    id: str
    owner: str
    backend: str
    media_type: str
    model: str
    files: list[str]
    state: dict[str, Any] = field(default_factory=dict)
    prompt: str = ""
    created: float = 0.0


#: Expired records (invisible to :meth:`ContinuationStore.get` already) are deleted by a put at
#: most this often (seconds, or a tenth of the time-to-live if shorter): one statement fewer a call.
SWEEP_EVERY_S = 60.0


class ContinuationStore:
    def __init__(self, store: StateStore, *, ttl_s: float = 24 * 3600, max_per_owner: int = 512) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.max_per_owner = max_per_owner
        self._swept = float("-inf")

    @property
    def table(self) -> sa.Table:
        from .schema import continuations

        return continuations

    @functools.cached_property
    def _statements(self) -> tuple[Any, Any, Any]:
        """The put's statements with bound parameters, built once (building them per call cost more
        CPU than running them): the insert, the owner's least recently used beyond the bound (older
        than the newest ones' last, read from the (owner, touched) index; two records touched in the
        same instant are both kept), and the expired of every owner."""
        t = self.table
        last_kept = (
            sa.select(t.c.touched)
            .where(t.c.owner == sa.bindparam("owner"))
            .order_by(t.c.touched.desc())
            .limit(1)
            .offset(self.max_per_owner - 1)
            .scalar_subquery()
        )
        prune = t.delete().where(t.c.owner == sa.bindparam("owner"), t.c.touched < last_kept)
        return sa.insert(t), prune, t.delete().where(t.c.touched < sa.bindparam("cutoff"))

    async def put(
        self,
        *,
        prefix: str,
        owner: str,
        backend: str,
        media_type: str,
        model: str,
        files: list[str],
        state: dict[str, Any] | None = None,
        prompt: str = "",
        resources: Sequence[ResourceRow] = (),
    ) -> ContinuationRecord:
        """Record a continuation; ``resources`` (the links of the same files) are indexed in the same
        transaction."""
        now = self.store.clock()
        record = ContinuationRecord(
            id=f"{prefix}_{uuid.uuid4().hex}",
            owner=owner,
            backend=backend,
            media_type=media_type,
            model=model,
            files=files,
            state=dict(state or {}),
            prompt=prompt,
            created=now,
        )
        sweep = now - self._swept >= min(SWEEP_EVERY_S, self.ttl_s / 10)
        insert, prune, expire = self._statements
        index = self.store.resources.insert(resources) if resources else None

        def unit(conn: sa.Connection) -> None:
            if sweep:
                conn.execute(expire, {"cutoff": now - self.ttl_s})
            conn.execute(insert, {**asdict(record), "touched": now})
            conn.execute(prune, {"owner": owner})
            if index is not None:
                conn.execute(index)

        await self.store.run(unit)
        if sweep:
            self._swept = now
        return record

    async def get(
        self, continuation_id: str, owner: str, *, present: Callable[[Path], Awaitable[bool]] | None = None
    ) -> ContinuationRecord | None:
        """The record, if it exists, is alive, belongs to ``owner`` and its files still exist.

        ``present(path)`` says whether a file is (or can be made) available here: with outputs in a
        bucket, a replica fetches a file another replica made (``storage.localize``), outside any
        transaction. Without it, a file must exist on this disk.
        """
        now = self.store.clock()
        t = self.table
        query = sa.select(t).where(t.c.id == continuation_id, t.c.owner == owner, t.c.touched >= now - self.ttl_s)
        row = await self.store.run(lambda conn: conn.execute(query).first())
        if row is None:
            return None
        record = ContinuationRecord(**{k: getattr(row, k) for k in ContinuationRecord.__dataclass_fields__})
        found = [await present(Path(f)) if present else Path(f).exists() for f in record.files]
        if not all(found):
            await self.store.run(lambda conn: conn.execute(t.delete().where(t.c.id == continuation_id)))
            return None
        await self.store.run(
            lambda conn: conn.execute(sa.update(t).where(t.c.id == continuation_id).values(touched=now))
        )
        return record

    async def count(self, owner: str | None = None) -> int:
        t = self.table
        query = sa.select(sa.func.count()).select_from(t)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        counted: int | None = await self.store.run(lambda conn: conn.execute(query).scalar())
        return int(counted or 0)
