"""SDK/HTTP clients shared for the server's lifetime (``call.cache``), built off the event loop.

Building a client imports its SDK on first use (about a second of holding the GIL for
google-genai) and creates SSL contexts (~0.1-0.2 s each). Done per request on the event loop,
that would stall every other request and serialize a batch; done once, in a worker thread, it
costs nothing after the first call, and the client's connections are reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

import anyio

__all__ = ["fingerprint", "shared_client"]

T = TypeVar("T")
_LOCK = "backends._clients.lock"


def fingerprint(secret: str) -> str:
    """A short digest to key a cache by API key without holding the key in the key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


async def shared_client(cache: dict[str, Any], key: Hashable, build: Callable[[], T]) -> T:
    """The client cached under ``key``, built once by ``build`` in a worker thread."""
    lock = cache.setdefault(_LOCK, anyio.Lock())
    slot = f"client:{key!r}"
    async with lock:
        client = cache.get(slot)
        if client is None:
            client = await anyio.to_thread.run_sync(build)
            cache[slot] = client
    return cast(T, client)
