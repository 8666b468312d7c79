"""The resource index in the state database (``resources`` table): a ``media://outputs/{id}`` id
to its owner (the principal), file and MIME type, so links survive a restart and resolve on every
replica sharing the database.

Rows are written by the service with the other writes of the call that made the files (the
continuation's transaction, or the job's completion), never in a transaction of their own when
there is one: :meth:`ResourceStore.insert` is the statement, run on the caller's connection. A row
is never updated: ids derive from (owner, path), so adding one again is a no-op (``ON CONFLICT DO
NOTHING`` on both engines, which keeps the surrounding transaction alive where a failed plain
INSERT would abort it on PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..links import ResourceRow
from ._sa import sa

if TYPE_CHECKING:
    from .db import StateStore

__all__ = ["ResourceRow", "ResourceStore"]

_ID = re.compile(r"^[0-9a-f]{24}$")


class ResourceStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    @property
    def table(self) -> sa.Table:
        from .schema import resources

        return resources

    def insert(self, rows: Sequence[ResourceRow]) -> Any:
        """The INSERT of ``rows`` that skips ids already indexed, in this engine's SQL (run it on a
        connection of a transaction you hold)."""
        if self.store.sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        now = self.store.clock()
        values = [{**asdict(row), "created": now} for row in {row.id: row for row in rows}.values()]
        return insert(self.table).values(values).on_conflict_do_nothing(index_elements=["id"])

    async def add_many(self, rows: Sequence[ResourceRow]) -> None:
        """Index ``rows`` in a transaction of their own (with other writes: run :meth:`insert` in yours)."""
        if rows:
            statement = self.insert(rows)
            await self.store.run(lambda conn: conn.execute(statement))

    async def add(self, resource_id: str, owner: str, path: str, mime_type: str | None) -> None:
        """Index one file (a second add of the same id is the same entry)."""
        await self.add_many([ResourceRow(resource_id, owner, path, mime_type)])

    async def get(self, resource_id: str, owner: str) -> tuple[str, str | None] | None:
        """(path, mime type) when ``resource_id`` is indexed for ``owner``; None otherwise (another
        owner's id is answered exactly like one never issued)."""
        if not _ID.match(resource_id or ""):
            return None
        t = self.table
        query = sa.select(t).where(t.c.id == resource_id, t.c.owner == owner)
        row = await self.store.run(lambda conn: conn.execute(query).first())
        return (row.path, row.mime_type) if row is not None else None
