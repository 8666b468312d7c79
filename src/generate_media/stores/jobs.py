"""Durable job records: one JSON file per job under ``<state_dir>/jobs``, written atomically.

A job is recorded before its first poll, so a restart loses no paid job and a resumed call never
submits a second provider job. Ids are ``job_{uuid4 hex}``; a job owned by another client is
answered like one that never existed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["JobRecord", "JobStore"]

_ID = re.compile(r"^job_[0-9a-f]{32}$")


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

    def new(self, **kwargs: Any) -> JobRecord:
        record = JobRecord(id=f"job_{uuid.uuid4().hex}", **kwargs)
        self.save(record)
        return record

    def save(self, record: JobRecord) -> None:
        record.updated = time.time()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(record.id)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with temp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(record), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)

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
