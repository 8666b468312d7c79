"""Spend per principal per UTC day, kept on disk so a restart forgets nothing.

One JSON file per day under ``<state_dir>/spend`` maps each principal to the dollars its calls were
estimated at. A reservation checks the budget and records the estimate in one step, under a file
lock, so concurrent calls (or two server processes sharing the state dir) cannot overspend
between the check and the record; a call that fails gives its reservation back.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Reservation", "SpendLedger"]


@dataclass(frozen=True)
class Reservation:
    """The outcome of :meth:`SpendLedger.reserve`: whether it fit, and the day's figures."""

    ok: bool
    day: str
    spent_usd: float  # before this reservation
    remaining_usd: float  # after it when ok, else before it

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day, "spent_usd": round(self.spent_usd, 6), "remaining_usd": round(self.remaining_usd, 6)}


class SpendLedger:
    def __init__(self, directory: Path, clock: Any = time) -> None:
        self.directory = directory
        self.clock = clock
        self._lock = threading.Lock()

    def day(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self.clock.time()))

    def _path(self, day: str) -> Path:
        return self.directory / f"{day}.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, (self.directory / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, day: str) -> dict[str, float]:
        try:
            data = json.loads(self._path(day).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}

    def _write(self, day: str, data: dict[str, float]) -> None:
        path = self._path(day)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with temp.open("w", encoding="utf-8") as fh:
            json.dump({k: round(v, 6) for k, v in data.items()}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)

    def spent(self, principal: str) -> float:
        return self._read(self.day()).get(principal, 0.0)

    def reserve(self, principal: str, usd: float, budget: float) -> Reservation:
        """Record ``usd`` for ``principal`` today if it fits in ``budget``; otherwise record nothing."""
        with self._locked():
            day = self.day()
            data = self._read(day)
            spent = data.get(principal, 0.0)
            if spent + usd > budget + 1e-9:
                return Reservation(ok=False, day=day, spent_usd=spent, remaining_usd=max(budget - spent, 0.0))
            data[principal] = spent + usd
            self._write(day, data)
            return Reservation(ok=True, day=day, spent_usd=spent, remaining_usd=max(budget - spent - usd, 0.0))

    def refund(self, principal: str, usd: float, day: str) -> None:
        """Give back (part of) a reservation made on ``day`` (a failed call is not billed)."""
        if usd <= 0:
            return
        with self._locked():
            data = self._read(day)
            if principal in data:
                data[principal] = max(data[principal] - usd, 0.0)
                self._write(day, data)
