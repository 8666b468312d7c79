"""Durable job records: one JSON file per job under ``<state_dir>/jobs``, written atomically.

A job is recorded before its first poll, so a restart loses no paid job and a resumed call never
submits a second provider job. Ids are ``job_{uuid4 hex}``; a job owned by another client is
answered like one that never existed.

While a submit is in flight its process holds an exclusive ``flock`` on ``.<job_id>.submitting``.
The kernel drops it when the process dies (even by SIGKILL), so any server sharing the state
directory can tell a submit in progress from one whose server is gone. Where ``fcntl`` is missing
(Windows), a submit older than :data:`SUBMIT_STALE_S` counts as gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import storage_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["SUBMIT_STALE_S", "JobRecord", "JobStore"]

_ID = re.compile(r"^job_[0-9a-f]{32}$")
#: Without ``fcntl``: a submit older than this is taken for one whose server died.
SUBMIT_STALE_S = 900.0


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

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class JobStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.json"

    def _lock_path(self, job_id: str) -> Path:
        return self.directory / f".{job_id}.submitting"

    def new(self, **kwargs: Any) -> JobRecord:
        record = JobRecord(id=f"job_{uuid.uuid4().hex}", **kwargs)
        self.save(record)
        return record

    @contextlib.contextmanager
    def submitting(self, **kwargs: Any) -> Iterator[JobRecord]:
        """A new record in state ``submitting``, written while this process holds its submit lock.

        The caller saves the record's next state (its provider handle, or a failure) inside the
        block; the lock is released and removed after that, so anyone who finds the lock free
        reads the final record.
        """
        record = JobRecord(id=f"job_{uuid.uuid4().hex}", **kwargs)
        lock = self._lock_path(record.id)
        with self._writing():
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.save(record)
            yield record
        finally:
            lock.unlink(missing_ok=True)
            os.close(fd)  # releases the flock

    def submit_alive(self, record: JobRecord) -> bool:
        """True while some live process is still submitting ``record`` (see the module docstring)."""
        if record.state != "submitting":
            return False
        if fcntl is None:
            return time.time() - record.created < SUBMIT_STALE_S
        try:
            fd = os.open(self._lock_path(record.id), os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return False
        except OSError:  # unreadable lock: assume alive rather than retire a live submit
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def forget_lock(self, job_id: str) -> None:
        """Remove the lock file a dead submitter left behind."""
        with contextlib.suppress(OSError):
            self._lock_path(job_id).unlink()

    def save(self, record: JobRecord) -> None:
        """Write ``record`` atomically.

        Raises:
            StorageError: the state folder cannot be written (full, read-only); no temp file is left.
        """
        record.updated = time.time()
        path = self._path(record.id)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with self._writing():
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                with temp.open("w", encoding="utf-8") as fh:
                    json.dump(asdict(record), fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(temp, path)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            move = "set GENERATE_MEDIA_STATE_DIR to a writable folder (jobs are recorded there)"
            raise storage_error(exc, self.directory, role="state folder", move=move) from exc

    def get(self, job_id: str, owner: str) -> JobRecord | None:
        if not _ID.match(job_id or ""):
            return None
        try:
            data = json.loads(self._path(job_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        known = {f.name for f in fields(JobRecord)}
        record = JobRecord(**{k: v for k, v in data.items() if k in known})
        return record if record.owner == owner else None

    def list(self, owner: str | None = None) -> list[JobRecord]:
        records = []
        for path in sorted(self.directory.glob("job_*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if owner is None or data.get("owner") == owner:
                    records.append(JobRecord(**data))
        return sorted(records, key=lambda r: r.created)

    def active(self, owner: str) -> int:
        return sum(1 for r in self.list(owner) if not r.finished)
