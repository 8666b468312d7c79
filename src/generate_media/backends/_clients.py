"""SDK/HTTP clients shared for the server's lifetime (``call.cache``), built off the event loop.

Building a client imports its SDK on first use (about a second of holding the GIL for
google-genai) and creates SSL contexts (~0.1-0.2 s each). Done per request on the event loop,
that would stall every other request and serialize a batch; done once, in a worker thread, it
costs nothing after the first call, and the client's connections are reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import anyio

__all__ = ["key_digest", "shared_client"]

T = TypeVar("T")
_LOCK = "backends._clients.lock"


def key_digest(secret: str) -> str:
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


async def openai_client(call: Any) -> Any:
    """An ``AsyncOpenAI`` for this key and endpoint, shared for the server's lifetime.

    Used by OpenAI itself and by OpenAI-compatible providers (OpenRouter). Retries are ours
    (retry.py), so the SDK's are off; the timeout is the request timeout.
    """
    base_url = call.base_url  # the backend's spec declares its default_base_url
    timeout = call.settings.request_timeout_s

    def build() -> Any:
        from openai import AsyncOpenAI

        return AsyncOpenAI(api_key=call.api_key, base_url=base_url, timeout=timeout, max_retries=0)

    return await shared_client(call.cache, ("openai-sdk", key_digest(call.api_key), base_url, timeout), build)


@asynccontextmanager
async def openai_session(call: Any) -> AsyncIterator[Any]:
    """``async with openai_session(call) as client``: the shared client, left open afterwards."""
    yield await openai_client(call)
