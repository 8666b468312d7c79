"""SQLAlchemy for the state store, imported on first use rather than with the server.

Importing SQLAlchemy 2 takes 0.3-0.4 s and ~10-15 MiB on a quiet machine:
on the startup path that would be most of what the server adds to the cost of importing ``mcp``
(``bench/cold_start.py``). The store's modules write ``sa.select(...)``, ``sa.exc.IntegrityError``
as usual; ``sa`` is the real module for type checkers, and at run time an object that imports it at
its first attribute access (the warm-up after the handshake does it in a worker thread:
:func:`load`).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

__all__ = ["load", "sa"]


def load(*, asyncio: bool = False) -> ModuleType:
    """Import SQLAlchemy: Core, and with ``asyncio`` its asyncio extension (PostgreSQL's engine; it
    brings the ORM, ~8 MiB more)."""
    if asyncio:
        importlib.import_module("sqlalchemy.ext.asyncio")
    return importlib.import_module("sqlalchemy")


class _OnFirstUse:
    """Stands for the ``sqlalchemy`` module; its first attribute access imports it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(load(), name)


if TYPE_CHECKING:
    import sqlalchemy as sa
else:
    sa = _OnFirstUse()
