"""Plumbing shared by the ElevenLabs modules: the client, the error seam, streaming to disk, formats.

The SDK (``elevenlabs``) is imported inside the functions that use it, never at module level.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import anyio

from ...client_registry import BackendEndpoint, ClientRegistry
from ...errors import GenerateMediaError, InvalidRequest, QuotaExceeded
from ...spec import Call, Endpoint, Produced
from .._clients import key_digest, touch
from .._errors import ErrorMap, Table, httpx_errors, provider_message, status_error

__all__ = [
    "BACKEND",
    "DEFAULT_BASE_URL",
    "ERRORS",
    "KEY_ENV",
    "NO_RETRIES",
    "PCM_METADATA",
    "Account",
    "account",
    "client",
    "drop_none",
    "guarded",
    "open_client",
    "output_format",
    "produced_from",
    "stream_to_temp",
]

T = TypeVar("T")

BACKEND = "elevenlabs"
KEY_ENV = "ELEVENLABS_API_KEY"
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
#: Per-request options: the SDK's own retries are off so retry.py is the one policy.
NO_RETRIES: dict[str, Any] = {"max_retries": 0}
HEARTBEAT_S = 10.0

#: Our audio_format -> the ElevenLabs ``output_format`` code requested on the wire.
FORMAT_CODES = {"mp3": "mp3_44100_128", "wav": "wav_44100", "pcm": "pcm_44100", "opus": "opus_48000_128"}
#: Raw PCM has no header to sniff: the provider's word is recorded with the file.
PCM_METADATA = {"mime_type": "audio/pcm", "pcm_sample_rate": 44100, "pcm_encoding": "s16le", "pcm_channels": 1}


@dataclass
class Account:
    """One key's ``AsyncBaseElevenLabs`` (on an httpx client we own, closed at shutdown) and what this
    server learned about the account: its voice list, and the voices it cloned (samples -> voice id)."""

    sdk: Any
    http: Any
    voices: list[dict[str, str]] | None = None
    voices_lock: anyio.Lock = field(default_factory=anyio.Lock)
    clones: dict[str, str] = field(default_factory=dict)


async def _close(account: Account) -> None:
    await account.http.aclose()


async def account(endpoint: Endpoint, *, prepare: tuple[str, ...] = ()) -> Account:
    """The account of this key and endpoint, shared for the server's lifetime (``prepare``: the SDK
    resources the warm-up imports, when it is the one that builds it)."""
    api_key, base_url = endpoint.api_key, endpoint.base_url or DEFAULT_BASE_URL
    timeout = endpoint.settings.request_timeout_s

    def build() -> Account:
        import httpx
        from elevenlabs.base_client import AsyncBaseElevenLabs

        http = httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        # The SDK's generated client, which imports each resource on first access. ``AsyncElevenLabs``
        # (elevenlabs.client) subclasses it only to add helpers we do not call (webhooks, flows, the
        # speech engine, speech to text, detailed music), and imports all of them and their types up
        # front: 11.2 MiB and ~0.3 s where this one costs 2.4 MiB (elevenlabs 2.78, measured 2026-12-03).
        # api_key is explicit: the SDK's default reads the environment at import time.
        sdk = AsyncBaseElevenLabs(api_key=api_key, base_url=base_url, timeout=timeout, httpx_client=http)
        touch(sdk, *prepare)  # the warm-up's: done before any call can use the client
        return Account(sdk=sdk, http=http)

    return await endpoint.clients.get((BACKEND, key_digest(api_key), base_url, timeout), build, _close)


@asynccontextmanager
async def open_client(api_key: str, base_url: str | None, timeout: float) -> AsyncIterator[Any]:
    """A one-off ``AsyncBaseElevenLabs`` outside a server (the CLI's listings), closed on exit."""
    clients = ClientRegistry()
    try:
        settings = SimpleNamespace(request_timeout_s=timeout)
        yield (await account(BackendEndpoint(api_key, base_url, settings, clients))).sdk
    finally:
        await clients.aclose()


@asynccontextmanager
async def client(call: Call) -> AsyncIterator[Any]:
    """``async with client(call) as el``: the account's shared SDK client, left open afterwards."""
    yield (await account(call)).sdk


def _normalised_body(body: Any) -> Any:
    """ElevenLabs' 422 ``{"detail": [{"loc", "msg"}]}`` as one readable message."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts = []
        for entry in detail[:3]:
            if isinstance(entry, dict):
                loc = ".".join(str(p) for p in entry.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {entry.get('msg')}" if loc else str(entry.get("msg")))
        return {"detail": {"message": "; ".join(parts) or "validation failed"}}
    return body


def _api_error(exc: Any, backend: str, key_env: str) -> GenerateMediaError:
    """``elevenlabs.core.ApiError`` (and its subclasses): the status, headers and JSON body as received."""
    body = _normalised_body(exc.body)
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict) and detail.get("status") == "quota_exceeded":
        message = provider_message(body)
        return QuotaExceeded(
            f"elevenlabs quota exceeded: {message}; add credits or raise the quota",
            backend=backend,
            status=exc.status_code,
        )
    return status_error(exc.status_code, body, exc.headers or {}, backend, key_env)


@functools.cache
def _errors() -> Table:
    from elevenlabs.core.api_error import ApiError

    return {**httpx_errors(), ApiError: _api_error}


#: The one translation of the ElevenLabs SDK's errors (and of the httpx transport under it).
ERRORS = ErrorMap(BACKEND, KEY_ENV, _errors)


async def guarded(make: Callable[[], Awaitable[T]]) -> T:
    """Await an SDK call, translating its failures."""
    with ERRORS:
        return await make()


async def _heartbeat(call: Call, started: float) -> None:
    """Progress every HEARTBEAT_S while a long request runs (music can take minutes), so clients
    that reset their timeout on progress keep waiting."""
    what = f"{call.request.audio_type} on elevenlabs/{call.model.id}"
    while True:
        await call.progress(f"{what}, {time.monotonic() - started:.0f} s elapsed")
        await anyio.sleep(HEARTBEAT_S)


async def stream_to_temp(call: Call, chunks: Callable[[], AsyncIterator[bytes]]) -> Path:
    """Write an SDK byte stream to a temp file in the output directory (never all in memory)."""
    path = call.temp_file()
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(_heartbeat, call, time.monotonic())
        try:
            async with await anyio.open_file(path, "wb") as fh:
                async for chunk in chunks():
                    await fh.write(chunk)
        except Exception as exc:  # kept, not raised here: a task group would wrap it in a group
            failure = exc
        finally:
            tg.cancel_scope.cancel()
    if failure is not None:
        with ERRORS:
            raise failure
    return path


def output_format(call: Call, default: str = "mp3") -> tuple[str, str]:
    """(our format name, the ElevenLabs output_format code) for the request."""
    fmt = call.request.audio_format or default
    code = FORMAT_CODES.get(fmt)
    if code is None or fmt not in call.model.audio_formats:
        offered = ", ".join(call.model.audio_formats) or "none"
        raise InvalidRequest(f"audio_format={fmt!r} is not offered by {call.model.id} (formats: {offered})")
    return fmt, code


def produced_from(
    path: Path | None, fmt: str | None, code: str | None, *, data: bytes | None = None, **metadata: Any
) -> Produced:
    """The artifact at ``path`` (or in ``data``) with what the request asked recorded."""
    meta: dict[str, Any] = {k: v for k, v in metadata.items() if v is not None}
    if code:
        meta["output_format"] = code
    if fmt == "pcm":
        meta.update(PCM_METADATA)
    return Produced(path=path, data=data, metadata=meta)


def drop_none(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}
