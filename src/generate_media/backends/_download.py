"""Streaming downloads of provider results straight to a temporary file.

A video can be hundreds of megabytes: it is never held in memory. Bytes go in chunks to
``call.temp_file()`` (inside the output directory), and the output writer later links that file
into place atomically. A failed or cancelled download removes its partial file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import anyio

from ..errors import (
    DISK_ERRNOS,
    BadProviderResponse,
    GenerateMediaError,
    LimitExceeded,
    NotFound,
    ProviderError,
    storage_error,
)
from ..output import cleanup_temp
from ..spec import Call
from ._errors import from_sdk, from_status

__all__ = ["download_url", "write_stream"]

CHUNK = 1024 * 1024
WRITE_BATCH = 8 * 1024 * 1024


async def write_stream(chunks: AsyncIterator[bytes], path: Path, *, limit: int, backend: str) -> int:
    """Write ``chunks`` to ``path`` (created or truncated); returns the byte count.

    Raises:
        LimitExceeded: more than ``limit`` bytes (GENERATE_MEDIA_MAX_DOWNLOAD_BYTES).
        BadProviderResponse: nothing arrived.
        StorageError: the folder cannot take the bytes (disk full, read-only), naming the folder.
    """
    try:
        return await _write_stream(chunks, path, limit=limit, backend=backend)
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        # The folder as it is named now (a temp path may go through an open directory descriptor).
        raise storage_error(exc, os.path.realpath(path.parent), move="pass another output_dir") from exc


async def _write_stream(chunks: AsyncIterator[bytes], path: Path, *, limit: int, backend: str) -> int:
    total = 0
    pending: list[bytes] = []
    buffered = 0
    async with await anyio.open_file(path, "wb") as fh:
        async for chunk in chunks:
            if not chunk:
                continue
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(
                    f"{backend} sent more than {limit} bytes (GENERATE_MEDIA_MAX_DOWNLOAD_BYTES); raise the limit"
                )
            pending.append(chunk)
            buffered += len(chunk)
            # One worker-thread hop per WRITE_BATCH bytes, not per network read: bounded memory,
            # far fewer thread switches.
            if buffered >= WRITE_BATCH:
                await fh.write(b"".join(pending))
                pending, buffered = [], 0
        if pending:
            await fh.write(b"".join(pending))
    if total == 0:
        raise BadProviderResponse(f"{backend} sent an empty file; try again", backend=backend)
    return total


async def download_url(
    call: Call,
    url: str,
    *,
    backend: str,
    headers: Mapping[str, str] | None = None,
    suffix: str = ".mp4",
) -> Path:
    """GET ``url`` (a provider-issued result link) into a new temp file and return its path.

    Raises:
        NotFound: the link expired or is gone (403/404/410).
        ProviderError: any other failure, classified (5xx and timeouts are retryable).
    """
    import httpx

    if not url.startswith(("https://", "http://")):
        raise BadProviderResponse(f"{backend} returned an unusable download link; try again", backend=backend)
    path = call.temp_file(suffix)
    timeout = httpx.Timeout(call.settings.request_timeout_s, connect=min(call.settings.request_timeout_s, 30.0))
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers=dict(headers or {})) as resp,
        ):
            if resp.status_code in (403, 404, 410):
                raise NotFound(
                    f"{backend}'s download link for the result has expired (HTTP {resp.status_code}); "
                    "start a new request",
                    backend=backend,
                )
            if resp.status_code != 200:
                body = await resp.aread()
                raise from_status(resp.status_code, body, backend=backend, headers=resp.headers)
            limit = call.settings.limits.max_download_bytes
            await write_stream(resp.aiter_bytes(CHUNK), path, limit=limit, backend=backend)
    except BaseException as exc:
        cleanup_temp(path)
        if isinstance(exc, GenerateMediaError) or not isinstance(exc, Exception):
            raise
        raise _classify(exc, backend) from exc
    return path


def _classify(exc: Exception, backend: str) -> ProviderError:
    error = from_sdk(exc, backend=backend)
    return error if isinstance(error, ProviderError) else ProviderError(error.message, backend=backend)
