"""Continuation records in the state database (``continuations`` table): a time-to-live, a
least-recently-used bound per client (a get refreshes recency), and ids scoped to the client
that created them. They survive a restart and are shared by replicas on one database.

Ids are ``{prefix}_{uuid4 hex}`` (122 random bits). A record holds the output file paths and small
provider state, never image bytes. An id owned by another client is answered exactly like an id
that never existed.
"""

from __future__ import annotations

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


class ContinuationStore:
    def __init__(self, store: StateStore, *, ttl_s: float = 24 * 3600, max_per_owner: int = 512) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.max_per_owner = max_per_owner

    @property
    def table(self) -> sa.Table:
        from .schema import continuations

        return continuations

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
        t = self.table
        async with self.store.begin() as conn:
            await conn.execute(t.delete().where(t.c.touched < now - self.ttl_s))
            await conn.execute(sa.insert(t).values(**asdict(record), touched=now))
            # The owner's least recently used records beyond the bound.
            keep = (
                sa.select(t.c.id)
                .where(t.c.owner == owner)
                .order_by(t.c.touched.desc(), t.c.created.desc())
                .limit(self.max_per_owner)
            )
            await conn.execute(t.delete().where(t.c.owner == owner, t.c.id.not_in(keep.scalar_subquery())))
            await self.store.resources.add_many(resources, conn)
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
        async with self.store.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(t).where(t.c.id == continuation_id, t.c.owner == owner, t.c.touched >= now - self.ttl_s)
                )
            ).first()
        if row is None:
            return None
        record = ContinuationRecord(**{k: getattr(row, k) for k in ContinuationRecord.__dataclass_fields__})
        found = [await present(Path(f)) if present else Path(f).exists() for f in record.files]
        async with self.store.begin() as conn:
            if not all(found):
                await conn.execute(t.delete().where(t.c.id == continuation_id))
                return None
            await conn.execute(sa.update(t).where(t.c.id == continuation_id).values(touched=now))
        return record

    async def count(self, owner: str | None = None) -> int:
        t = self.table
        query = sa.select(sa.func.count()).select_from(t)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        async with self.store.begin() as conn:
            return int((await conn.execute(query)).scalar() or 0)
