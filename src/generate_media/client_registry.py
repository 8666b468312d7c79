"""SDK and HTTP clients shared for the server's lifetime: built once per key, off the event loop, and
closed at shutdown.

Building a client imports its SDK on first use (0.6 s for openai, about a second of holding the GIL
for google-genai) and creates SSL contexts (~0.1-0.2 s each). Done per request on the event loop,
that would stall every other request and serialize a batch; done once, in a worker thread, it costs
nothing after the first call, and the client's connections are reused.

One registry lives as long as the MCP server's lifespan (``MediaService.serving``). Each key has
its own lock, so a call that arrives while the warm-up builds its client waits for that build
instead of starting a second one, and a slow build of one backend never holds up another.
"""

from __future__ import annotations

import logging
import sys
import types
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import anyio

__all__ = ["BackendEndpoint", "ClientKey", "ClientRegistry", "Closer", "defer_httpx_cli"]

log = logging.getLogger("generate_media.clients")

T = TypeVar("T")
#: ``(kind, ...)``: the kind names the SDK ("openai-sdk", "google-genai"...), the rest what the client
#: was built for (a digest of the key, the endpoint, the timeout).
ClientKey = tuple[Hashable, ...]
Closer = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class BackendEndpoint:
    """A backend's key, endpoint and settings without a request (``spec.Endpoint``): what the warm-up
    and the CLI hand a backend's client builders."""

    api_key: str
    base_url: str | None
    settings: Any  # config.Settings
    clients: ClientRegistry


@dataclass
class _Slot:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    client: Any = None
    close: Closer | None = None
    ready: bool = False


class ClientRegistry:
    """The clients of one server lifetime, by key. ``builds`` counts how many were built per kind."""

    def __init__(self) -> None:
        self._slots: dict[ClientKey, _Slot] = {}
        self.builds: Counter[str] = Counter()
        self.closed = False

    async def get(self, key: ClientKey, build: Callable[[], T], close: Callable[[T], Awaitable[None]]) -> T:
        """The client under ``key``, built once by ``build`` in a worker thread; ``close`` ends it at shutdown."""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        if not slot.ready:
            async with slot.lock:
                if not slot.ready:
                    slot.client = await anyio.to_thread.run_sync(build)
                    slot.close = cast(Closer, close)
                    slot.ready = True
                    self.builds[str(key[0])] += 1
        return cast(T, slot.client)

    def kinds(self) -> list[str]:
        """The kinds of the clients built and open, in the order they were built."""
        return [str(key[0]) for key, slot in self._slots.items() if slot.ready]

    def clients(self) -> list[Any]:
        return [slot.client for slot in self._slots.values() if slot.ready]

    async def aclose(self) -> None:
        """Close every client (a failure to close one is logged, never raised); later ``get`` calls
        build afresh, so a straggler after shutdown still works."""
        slots, self._slots = self._slots, {}
        self.closed = True
        with anyio.CancelScope(shield=True):
            for key, slot in slots.items():
                if not slot.ready or slot.close is None:
                    continue
                try:
                    await slot.close(slot.client)
                except Exception:
                    log.warning("closing the %s client failed", key[0], exc_info=True)


def defer_httpx_cli() -> None:
    """Make ``httpx.main`` (httpx's command-line client) load when called, not with httpx.

    httpx 0.28 imports its command-line client whenever rich, click and pygments are installed
    (they are: our CLI uses rich, and uvicorn brings click), and every SDK built on httpx imports
    httpx: 3.2 MiB resident for the server's lifetime, and ~40 ms of its first import. httpx2 already
    defers it the same way. Only before httpx's first import (a no-op after it); ``httpx.main``
    still runs the real client.
    """
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main", "httpx's command-line client, loaded when httpx.main is called")

    def main(*args: Any, **kwargs: Any) -> Any:
        if sys.modules.get("httpx._main") is stand_in:
            del sys.modules["httpx._main"]
        from httpx._main import main as real

        return real(*args, **kwargs)

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in
