"""The state store: jobs, continuations and the resource index in one database, on two engines.

One machine: a SQLite file, ``<state_dir>/state.db`` (Python's own sqlite3). Replicas: PostgreSQL,
chosen by ``GENERATE_MEDIA_DATABASE_URL`` (through asyncpg, the ``[postgres]`` extra). Both are
driven by SQLAlchemy 2 Core: the tables, the conditional updates and the unique constraints below
are written once and SQLAlchemy renders each engine's SQL; there is no dialect code here beyond
SQLite's connection pragmas.

A unit of work is a plain function of a SQLAlchemy ``Connection`` run in one transaction by
:meth:`StateStore.run`: on SQLite in one worker thread, whole (one hop off the event loop for the
unit; through aiosqlite every statement was three or four hops, and a continuation record cost
4-5 ms of a call instead of ~1); on PostgreSQL on the asyncio engine, through
``AsyncConnection.run_sync``.

Migrations are versioned: :data:`.schema.MIGRATIONS` is a list of numbered steps, each made of SQLAlchemy
DDL constructs. :meth:`StateStore.open` applies the steps above the version recorded in
``schema_version``, each in one transaction together with its version row; two servers starting at
once against one database collide on that row's primary key, and the loser reads the new version
and goes on. A later step appends to the list (never edits an applied one).

Every timestamp is wall-clock seconds (``time.time()``), so leases compare across machines that
keep their clocks in sync (NTP).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..errors import StorageError, storage_error
from ._sa import load as load_sqlalchemy
from ._sa import sa
from .continuations import ContinuationStore
from .jobs import JobStore
from .resources import ResourceStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["StateStore", "database_url"]

log = logging.getLogger("generate_media.stores")

T = TypeVar("T")


_MOVE = "set GENERATE_MEDIA_STATE_DIR to a writable folder (jobs and continuations are recorded there)"


def database_url(configured: str, state_dir: Path) -> str:
    """The SQLAlchemy URL: ``configured`` with its async driver named, else the SQLite file in ``state_dir``.

    Raises:
        ValueError: a URL of another engine.
    """
    url = configured.strip()
    if not url:
        return f"sqlite:///{state_dir / 'state.db'}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"GENERATE_MEDIA_DATABASE_URL must be a URL (postgresql://... or sqlite:///...), got {url!r}")
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if base == "sqlite":
        return f"sqlite://{rest}"
    raise ValueError(f"GENERATE_MEDIA_DATABASE_URL: {base!r} is not supported; use postgresql:// or sqlite:///")


def _missing_extra(exc: ImportError) -> StorageError:
    return StorageError(
        f"GENERATE_MEDIA_DATABASE_URL names PostgreSQL, which needs the [postgres] extra ({exc.name or 'greenlet'} "
        "is not installed): pip install 'generate-media-mcp[postgres]'"
    )


def _wal(cursor: Any) -> None:
    """Switch the file to the write-ahead log. While another connection creates the file in a
    transaction, the switch fails at once with "database is locked" (SQLite's busy timeout does not
    cover it): it is tried again for up to ~2 s, then left to the next connection (the mode is kept
    in the file, so one switch is enough). Runs in a worker thread."""
    import sqlite3

    for attempt in range(20):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01 * (attempt + 1))
    log.info("state database: the write-ahead log is left for the next connection to switch on")


def _sqlite_errno(exc: BaseException, path: Path | None) -> int:
    """The errno behind a SQLite failure, which SQLite itself does not pass on: a full disk
    (SQLITE_FULL), the file size limit (an I/O error on a write while ``ulimit -f`` is at the size of
    the database or its log), a folder or file that cannot be written, else an I/O error."""
    import resource

    cause = getattr(exc, "orig", exc)
    name = str(getattr(cause, "sqlite_errorname", ""))
    if name == "SQLITE_FULL" or "disk is full" in str(exc):
        return errno.ENOSPC
    if (path is not None and not os.access(path.parent, os.W_OK)) or "readonly" in str(exc):
        return errno.EROFS
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if path is not None and name.startswith("SQLITE_IOERR") and limit != resource.RLIM_INFINITY:
        sizes = [p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
        if any(size + 64 * 1024 >= limit for size in sizes):
            return errno.EFBIG
    return errno.EIO


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
        #: The SQLite file's path as the URL gives it (None: no path in the URL)
        self._file = url.split(":///", 1)[1] if ":///" in url else None
        self._engine: AsyncEngine | None = None  # PostgreSQL
        self._sqlite: sa.Engine | None = None
        self._making = threading.Lock()
        self._opened = False
        self._opening: anyio.Lock | None = None
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
        """PostgreSQL's asyncio engine (asyncpg)."""
        from sqlalchemy.ext.asyncio import create_async_engine

        return create_async_engine(
            self.url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"timeout": 10, "command_timeout": 30},  # shielded work must end
        )

    def _make_sqlite(self) -> sa.Engine:
        """The SQLite file's engine: pooled sqlite3 connections, used by one worker thread at a time
        each (SQLAlchemy pools a file database and lets a connection move between threads)."""
        if self._file and self._file != ":memory:":
            Path(self._file).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(self.url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
            # The write-ahead log with synchronous=FULL: a commit is durable after one fsync of the
            # log, where the rollback journal took three (journal, database, journal removed): a
            # continuation record cost 2-10 ms of a call on a busy disk, now ~0.6 ms. The log is
            # checkpointed into the database every 1000 pages (SQLite's default), so it stays small;
            # the pool's idle connections keep it open (the last connection's close checkpoints and
            # deletes it: two more fsyncs, once per unit of work when connections were not pooled).
            cursor = dbapi_connection.cursor()
            _wal(cursor)
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # IMMEDIATE: the write lock is taken up front, so a read-then-update never deadlocks
            # against another writer (busy_timeout makes the loser wait instead of failing).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @property
    def sync_engine(self) -> sa.Engine:
        """The engine whose ``Connection`` each unit of work gets (events can be listened on it)."""
        if self.sqlite:
            with self._making:  # units of work start in several worker threads at once
                if self._sqlite is None:
                    self._sqlite = self._make_sqlite()
            return self._sqlite
        return self.engine.sync_engine

    @property
    def engine(self) -> AsyncEngine:
        """PostgreSQL's asyncio engine (SQLite has none: see :attr:`sync_engine`)."""
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
        # The first open imports SQLAlchemy: not on the loop, and a shutdown does not wait for it.
        load = functools.partial(load_sqlalchemy, asyncio=not self.sqlite)
        try:
            await anyio.to_thread.run_sync(load, abandon_on_cancel=True)
        except ImportError as exc:  # greenlet, without the extra
            raise _missing_extra(exc) from exc
        if self._opening is None:
            self._opening = anyio.Lock()
        # Shielded as a unit of work is (see ``run``): a warm-up or call cancelled at shutdown in the
        # middle of a migration would leave a driver half-way through it.
        with anyio.CancelScope(shield=True):
            async with self._opening:
                if self._opened:
                    return
                try:
                    await self._migrate()
                except (sa.exc.DBAPIError, OSError) as exc:
                    raise self._unusable(exc) from exc
                except ImportError as exc:  # asyncpg or greenlet, without the extra
                    raise _missing_extra(exc) from exc
                self._opened = True

    def _unusable(self, exc: BaseException) -> StorageError:
        """What a failed open or write of the database says: the folder and the next move."""
        if self.sqlite:
            file = Path(self._file) if self._file is not None else None
            folder = file.parent if file is not None else Path(".")
            if isinstance(exc, OSError) and exc.errno is not None:
                return storage_error(exc, folder, role="state folder", move=_MOVE)
            code = _sqlite_errno(exc, file)
            return storage_error(OSError(code, os.strerror(code)), folder, role="state folder", move=_MOVE)
        return StorageError(
            f"the state database cannot be used ({type(exc).__name__}); check GENERATE_MEDIA_DATABASE_URL "
            "and that the database server is up"
        )

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        if self._sqlite is not None:
            # The last connection's close folds the write-ahead log into the file.
            await anyio.to_thread.run_sync(self._sqlite.dispose)
            self._sqlite = None
        self._opened = False

    async def version(self) -> int:
        return await self._unit(self._version)

    @staticmethod
    def _version(conn: sa.Connection) -> int:
        from .schema import schema_version

        schema_version.create(conn, checkfirst=True)
        return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

    async def _migrate(self) -> None:
        from .schema import MIGRATIONS, schema_version

        def applying(number: int, step: Callable[[sa.Connection], None]) -> Callable[[sa.Connection], bool]:
            """The unit of work applying one step with its version row (False: applied already)."""

            def unit(conn: sa.Connection) -> bool:
                if self._version(conn) >= number:
                    return False
                step(conn)
                conn.execute(sa.insert(schema_version).values(version=number, applied=time.time()))
                return True

            return unit

        for attempt in range(10):
            try:
                current = await self._unit(self._version)
                for number, what, step in MIGRATIONS:
                    if number > current and await self._unit(applying(number, step)):
                        log.info("state database migrated to version %d (%s)", number, what)
                return
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                # Another server applied the same step at the same moment: read its version again.
                if attempt == 9:
                    raise
                await anyio.sleep(0.05 * (attempt + 1))

    async def _unit(self, unit: Callable[[sa.Connection], T]) -> T:
        """``unit(conn)`` in one transaction: SQLite's in a worker thread, PostgreSQL's on the loop."""
        if self.sqlite:
            return await anyio.to_thread.run_sync(self._in_thread, unit)
        async with self.engine.begin() as conn:
            return await conn.run_sync(unit)

    def _in_thread(self, unit: Callable[[sa.Connection], T]) -> T:
        with self.sync_engine.begin() as conn:
            return unit(conn)

    async def run(self, unit: Callable[[sa.Connection], T]) -> T:
        """Run ``unit(conn)`` in one transaction (opening the store first) and return what it returns.

        ``unit`` is a plain function of a SQLAlchemy ``Connection``: a few statements, no awaiting.
        Shielded: a driver cancelled in the middle of a transaction is left half-closed (an asyncpg
        protocol state); a cancellation lands right after instead.

        Raises:
            StorageError: the database cannot be reached or written.
            sqlalchemy.exc.IntegrityError: a constraint refused a write (the callers check their
                idempotency keys with it).
        """
        with anyio.CancelScope(shield=True):
            await self.open()
            try:
                result = await self._unit(unit)
            except sa.exc.IntegrityError:
                raise
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                raise self._unusable(exc) from exc
        return result
