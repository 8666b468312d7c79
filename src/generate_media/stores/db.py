"""The state store: jobs, continuations and the resource index in one database, on two engines.

One machine: a SQLite file, ``<state_dir>/state.db`` (through aiosqlite). Replicas: PostgreSQL,
chosen by ``GENERATE_MEDIA_DATABASE_URL`` (through asyncpg, the ``[postgres]`` extra). Both are
driven by SQLAlchemy 2 Core: the tables, the conditional updates and the unique constraints below
are written once and SQLAlchemy renders each engine's SQL; there is no dialect code here beyond
SQLite's connection pragmas.

Migrations are versioned: :data:`.schema.MIGRATIONS` is a list of numbered steps, each made of SQLAlchemy
DDL constructs. :meth:`StateStore.open` applies the steps above the version recorded in
``schema_version``, each in one transaction together with its version row; two servers starting at
once against one database collide on that row's primary key, and the loser reads the new version
and goes on. A later step appends to the list (never edits an applied one).

Every timestamp is wall-clock seconds (``time.time()``), so leases compare across machines that
keep their clocks in sync (NTP).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import StorageError, storage_error
from ._sa import load as load_sqlalchemy
from ._sa import sa
from .continuations import ContinuationStore
from .jobs import JobStore
from .resources import ResourceStore

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["StateStore", "database_url"]

log = logging.getLogger("generate_media.stores")


_MOVE = "set GENERATE_MEDIA_STATE_DIR to a writable folder (jobs and continuations are recorded there)"


def database_url(configured: str, state_dir: Path) -> str:
    """The SQLAlchemy URL: ``configured`` with its async driver named, else the SQLite file in ``state_dir``.

    Raises:
        ValueError: a URL of another engine.
    """
    url = configured.strip()
    if not url:
        return f"sqlite+aiosqlite:///{state_dir / 'state.db'}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"GENERATE_MEDIA_DATABASE_URL must be a URL (postgresql://... or sqlite:///...), got {url!r}")
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(f"GENERATE_MEDIA_DATABASE_URL: {base!r} is not supported; use postgresql:// or sqlite:///")


def _holder_prefix() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class StateStore:
    """One database holding jobs (:attr:`jobs`), continuations (:attr:`continuations`) and the
    resource index (:attr:`resources`). Opens (and migrates) on first use or :meth:`open`."""

    def __init__(
        self,
        url: str,
        *,
        continuation_ttl_s: float = 24 * 3600,
        continuations_per_owner: int = 512,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.clock = clock
        self.sqlite = url.startswith("sqlite")
        self._engine: AsyncEngine | None = None
        self._opened = False
        self._opening: anyio.Lock | None = None
        self._keeper: sqlite3.Connection | None = None
        self.jobs = JobStore(self)
        self.continuations = ContinuationStore(self, ttl_s=continuation_ttl_s, max_per_owner=continuations_per_owner)
        self.resources = ResourceStore(self)

    @property
    def opened(self) -> bool:
        """Connected and migrated (the server opens it after the handshake, or the first use does)."""
        return self._opened

    @property
    def dialect(self) -> str:
        return "sqlite" if self.sqlite else "postgresql"

    def new_holder(self) -> str:
        """A lease holder token unique to one waiter: ``host:pid:random`` (a dead local pid frees it)."""
        return f"{_holder_prefix()}:{uuid.uuid4().hex[:12]}"

    def _make_engine(self) -> AsyncEngine:
        from sqlalchemy.ext.asyncio import create_async_engine

        if not self.sqlite:
            return create_async_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=10,
                connect_args={"timeout": 10, "command_timeout": 30},  # shielded work must end
            )
        path = self.url.split(":///", 1)[1] if ":///" in self.url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per unit of work: an aiosqlite connection is a thread bound to an event
        # loop, and a pooled one would outlive the loop that made it.
        engine = create_async_engine(self.url, poolclass=sa.NullPool, connect_args={"timeout": 30})

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
            # The write-ahead log with synchronous=FULL: a commit is durable after one fsync of the
            # log, where the rollback journal took three (journal, database, journal removed): a
            # continuation record cost 2-10 ms of a call on a busy disk, now ~0.6 ms. The log is
            # checkpointed into the database every 1000 pages (SQLite's default), so it stays small;
            # ``_keep_open`` stops each unit of work's close from checkpointing (see there).
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @sa.event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # IMMEDIATE: the write lock is taken up front, so a read-then-update never deadlocks
            # against another writer (busy_timeout makes the loser wait instead of failing).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    async def open(self) -> None:
        """Connect and apply pending migrations (once per store; safe for replicas starting together).

        Raises:
            StorageError: the database cannot be reached or written.
        """
        if self._opened:
            return
        if self._opening is None:
            self._opening = anyio.Lock()
        # Shielded as a unit of work is (see ``begin``): a warm-up or call cancelled at shutdown in the
        # middle of a migration would leave aiosqlite's thread answering an event loop that has closed.
        with anyio.CancelScope(shield=True):
            async with self._opening:
                if self._opened:
                    return
                await anyio.to_thread.run_sync(load_sqlalchemy)  # the first open imports it: not on the loop
                try:
                    await self._migrate()
                    await anyio.to_thread.run_sync(self._keep_open)
                except (sa.exc.DBAPIError, OSError) as exc:
                    raise self._unusable(exc) from exc
                self._opened = True

    def _keep_open(self) -> None:
        """Hold one idle connection to the SQLite file while the store is open. Each unit of work
        opens and closes its own connection (``NullPool``), and SQLite checkpoints the write-ahead
        log and deletes it when the last connection closes: that would be two more fsyncs a call.
        The idle one holds no lock (readers and writers go on) and is closed by :meth:`close`.
        Only a saving: when it cannot be opened, the store works without it."""
        import sqlite3

        path = self.url.split(":///", 1)[1] if self.sqlite and ":///" in self.url else ""
        if not path or path == ":memory:" or self._keeper is not None:
            return
        try:
            keeper = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # opens the log's shared memory
        except sqlite3.Error as exc:
            log.info("state database: no idle connection held (%s); each unit of work checkpoints", exc)
            return
        self._keeper = keeper

    def _unusable(self, exc: BaseException) -> StorageError:
        """What a failed open or write of the database says: the folder and the next move."""
        if self.sqlite:
            folder = Path(self.url.split(":///", 1)[1]).parent if ":///" in self.url else Path(".")
            if isinstance(exc, OSError) and exc.errno is not None:
                return storage_error(exc, folder, role="state folder", move=_MOVE)
            denied = not os.access(folder, os.W_OK) or "readonly" in str(exc)
            code = errno.EROFS if denied else errno.EIO
            return storage_error(OSError(code, os.strerror(code)), folder, role="state folder", move=_MOVE)
        return StorageError(
            f"the state database cannot be used ({type(exc).__name__}); check GENERATE_MEDIA_DATABASE_URL "
            "and that the database server is up"
        )

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        if self._keeper is not None:
            self._keeper.close()  # the last connection: the log is checkpointed into the file
            self._keeper = None
        self._opened = False

    async def version(self) -> int:
        async with self.engine.connect() as conn:
            return await self._version(conn)

    @staticmethod
    async def _version(conn: AsyncConnection) -> int:
        from .schema import schema_version

        await conn.run_sync(lambda c: schema_version.create(c, checkfirst=True))
        return int((await conn.execute(sa.select(sa.func.max(schema_version.c.version)))).scalar() or 0)

    async def _migrate(self) -> None:
        from .schema import MIGRATIONS, schema_version

        for attempt in range(10):
            try:
                async with self.engine.begin() as conn:
                    current = await self._version(conn)
                for number, what, step in MIGRATIONS:
                    if number <= current:
                        continue
                    async with self.engine.begin() as conn:
                        if await self._version(conn) >= number:
                            continue
                        await conn.run_sync(step)
                        await conn.execute(sa.insert(schema_version).values(version=number, applied=time.time()))
                    log.info("state database migrated to version %d (%s)", number, what)
                return
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                # Another server applied the same step at the same moment: read its version again.
                if attempt == 9:
                    raise
                await anyio.sleep(0.05 * (attempt + 1))

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction (opening the store first). Shielded: the units of work are a few statements,
        and a driver cancelled in the middle of one is left half-closed (aiosqlite's thread, an
        asyncpg protocol state); a cancellation lands right after instead."""
        with anyio.CancelScope(shield=True):
            await self.open()
            try:
                async with self.engine.begin() as conn:
                    yield conn
            except sa.exc.IntegrityError:
                raise  # the callers' constraint checks (an idempotency key already held)
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                raise self._unusable(exc) from exc
