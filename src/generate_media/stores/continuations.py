"""In-memory continuation store: true LRU (a get refreshes recency), a time-to-live, bounded size,
and ids scoped to the client that created them.

Ids are ``{prefix}_{uuid4 hex}`` (122 random bits). A record holds the output file paths and small
provider state, never image bytes. An id owned by another client is answered exactly like an id
that never existed.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    def __init__(
        self, *, max_items: int = 512, ttl_s: float = 24 * 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._items: OrderedDict[str, tuple[float, ContinuationRecord]] = OrderedDict()
        self._max = max_items
        self._ttl = ttl_s
        self._clock = clock

    def __len__(self) -> int:
        return len(self._items)

    def put(
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
    ) -> ContinuationRecord:
        record = ContinuationRecord(
            id=f"{prefix}_{uuid.uuid4().hex}",
            owner=owner,
            backend=backend,
            media_type=media_type,
            model=model,
            files=files,
            state=dict(state or {}),
            prompt=prompt,
            created=time.time(),
        )
        self._expire()
        self._items[record.id] = (self._clock(), record)
        while len(self._items) > self._max:
            self._items.popitem(last=False)
        return record

    def get(self, continuation_id: str, owner: str) -> ContinuationRecord | None:
        """The record, if it exists, is alive, belongs to ``owner`` and its files still exist."""
        self._expire()
        entry = self._items.get(continuation_id)
        if entry is None or entry[1].owner != owner:
            return None
        record = entry[1]
        if any(not Path(f).exists() for f in record.files):
            del self._items[continuation_id]
            return None
        self._items[continuation_id] = (self._clock(), record)
        self._items.move_to_end(continuation_id)
        return record

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            key, (stamp, _) = next(iter(self._items.items()))
            if now - stamp <= self._ttl:
                break
            del self._items[key]
