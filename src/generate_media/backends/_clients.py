"""How backends get their SDK and HTTP clients: from the server's ``ClientRegistry`` (``call.clients``).

Each builder takes an :class:`~generate_media.spec.Endpoint` (a ``Call`` is one; so is the warm-up's
view of a keyed backend), so the warm-up after the handshake and the first call build the very same
client under the very same key, and the call finds it ready (``client_registry``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from ..spec import Endpoint

__all__ = ["complete_models", "httpx_client", "key_digest", "openai_client", "openai_session", "openai_warmer", "touch"]


def key_digest(secret: str) -> str:
    """A short digest to key a registry by API key without holding the key in the key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


async def _close_openai(client: Any) -> None:
    await client.close()


async def openai_client(endpoint: Endpoint, prepare: Callable[[Any], None] | None = None) -> Any:
    """An ``AsyncOpenAI`` for this key and endpoint, shared for the server's lifetime.

    Used by OpenAI itself and by OpenAI-compatible providers (OpenRouter). Retries are ours
    (retry.py), so the SDK's are off; the timeout is the request timeout.
    """
    api_key, base_url = endpoint.api_key, endpoint.base_url  # the backend's spec declares its default_base_url
    timeout = endpoint.settings.request_timeout_s

    def build() -> Any:
        from openai import AsyncOpenAI

        client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        if prepare is not None:  # the warm-up's: done before any call can use the client
            prepare(client)
        return client

    key = ("openai-sdk", key_digest(api_key), base_url, timeout)
    return await endpoint.clients.get(key, build, _close_openai)


def touch(obj: Any, *paths: str) -> None:
    """Resolve attribute paths (``"audio.speech"``): SDKs import their resource modules on first access."""
    for path in paths:
        target = obj
        for name in path.split("."):
            target = getattr(target, name)


def complete_models(*roots: Any) -> None:
    """Build the validators the SDKs defer to first use (pydantic ``defer_build``: openai, google-genai)
    for ``roots`` (classes, or ``"module.Class"`` names) and every model their fields reach."""
    from pydantic import BaseModel

    seen: set[type] = set()
    stack: list[Any] = [_named(r) if isinstance(r, str) else r for r in roots]
    while stack:
        tp = stack.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                continue
            seen.add(tp)
            if not tp.__pydantic_complete__:
                with contextlib.suppress(Exception):  # a generic or abstract base: built when used, as before
                    tp.model_rebuild()
            stack.extend(field.annotation for field in tp.model_fields.values())
        else:
            stack.extend(typing.get_args(tp))


def _named(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def openai_warmer(*resources: str, models: tuple[str, ...] = ()) -> Callable[[Endpoint], Awaitable[None]]:
    """A ``BackendSpec.warm`` for an openai-SDK backend: import the SDK, build the client, import the
    ``resources`` it calls and build the ``models`` it parses, so its first call does none of it."""

    def prepare(client: Any) -> None:
        touch(client, *resources)
        complete_models("openai._models.FinalRequestOptions", *models)

    async def warm(endpoint: Endpoint) -> None:
        await openai_client(endpoint, prepare)

    return warm


@asynccontextmanager
async def openai_session(endpoint: Endpoint) -> AsyncIterator[Any]:
    """``async with openai_session(call) as client``: the shared client, left open afterwards."""
    yield await openai_client(endpoint)


async def _close_httpx(client: Any) -> None:
    await client.aclose()


async def httpx_client(endpoint: Endpoint, kind: str, *, connect_s: float = 10.0) -> Any:
    """A plain ``httpx.AsyncClient`` shared for the server's lifetime (callers send full URLs and their
    own headers, so one client serves every key and endpoint of ``kind``)."""
    timeout = endpoint.settings.request_timeout_s

    def build() -> Any:
        import httpx

        return httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, connect_s)))

    return await endpoint.clients.get((kind, timeout, connect_s), build, _close_httpx)
