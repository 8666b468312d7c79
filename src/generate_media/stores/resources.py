"""The resource index in the state database (``resources`` table): a ``media://outputs/{id}`` id
to its owner, file and MIME type, so links survive a restart and resolve on every replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._sa import sa

if TYPE_CHECKING:
    from .db import StateStore

__all__ = ["ResourceStore"]


class ResourceStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._known: set[str] = set()

    @property
    def table(self) -> sa.Table:
        from .schema import resources

        return resources

    async def add(self, resource_id: str, owner: str, path: str, mime_type: str | None) -> None:
        """Index ``resource_id`` (ids derive from owner and path, so a second add is the same entry)."""
        if resource_id in self._known:
            return
        values = {"id": resource_id, "owner": owner, "path": path, "mime_type": mime_type}
        try:
            async with self.store.begin() as conn:
                await conn.execute(sa.insert(self.table).values(**values, created=self.store.clock()))
        except sa.exc.IntegrityError:
            pass  # already indexed (by this server before a restart, or by another replica)
        self._known.add(resource_id)

    async def get(self, resource_id: str, owner: str) -> tuple[str, str | None] | None:
        """(path, mime type) when ``resource_id`` is indexed for ``owner``; None otherwise."""
        t = self.table
        async with self.store.begin() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == resource_id, t.c.owner == owner))).first()
        return (row.path, row.mime_type) if row is not None else None
