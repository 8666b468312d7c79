"""Provider-issued result links (a video, a short-lived image URL) through the one download path
(:mod:`generate_media.downloads`), with a provider's wording for what goes wrong.

A video can be hundreds of megabytes: it is never held in memory. Bytes go to ``call.temp_file()``
(inside the output directory), and the output writer later links that file into place atomically.
A failed or cancelled download removes its partial file. A provider's link is its own answer, not
caller input, so it is fetched as given, at once (xAI and OpenRouter image URLs expire).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..downloads import fetch, fetch_to_file, parse_url
from ..errors import (
    DISK_ERRNOS,
    BadProviderResponse,
    GenerateMediaError,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    ProviderError,
    storage_error,
)
from ..output import cleanup_temp
from ..spec import Call
from ._errors import from_sdk, from_status

if TYPE_CHECKING:
    import httpx

__all__ = ["download", "download_url"]


def _checked_link(url: str, backend: str, what: str) -> None:
    try:
        parse_url(url)
    except InvalidRequest:
        usable = False
    else:
        usable = url.startswith(("https://", "http://"))
    if not usable:
        raise BadProviderResponse(f"{backend} returned an unusable {what}; try again", backend=backend)


def _status_check(backend: str, expired: str, key_env: str = "") -> Any:
    async def check(resp: httpx.Response) -> None:
        if resp.status_code in (403, 404, 410):
            raise NotFound(expired.format(status=resp.status_code), backend=backend)
        if resp.status_code != 200:
            body = await resp.aread()
            raise from_status(resp.status_code, body, backend=backend, headers=resp.headers, key_env=key_env)

    return check


def _classify(exc: Exception, backend: str) -> ProviderError:
    error = from_sdk(exc, backend=backend)
    return error if isinstance(error, ProviderError) else ProviderError(error.message, backend=backend)


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
        LimitExceeded: over GENERATE_MEDIA_MAX_DOWNLOAD_BYTES.
        StorageError: the output folder cannot take the file (disk full, read-only).
        ProviderError: any other failure, classified (5xx and timeouts are retryable).
    """
    import httpx

    _checked_link(url, backend, "download link")
    path = call.temp_file(suffix)
    settings = call.settings
    limit = settings.limits.max_download_bytes
    timeout = httpx.Timeout(settings.request_timeout_s, connect=min(settings.request_timeout_s, 30.0))
    expired = f"{backend}'s download link for the result has expired (HTTP {{status}}); start a new request"
    try:
        size = await fetch_to_file(
            url,
            path,
            limit=limit,
            timeout=timeout,
            on_status=_status_check(backend, expired),
            too_big=lambda: LimitExceeded(
                f"{backend} sent more than {limit} bytes (GENERATE_MEDIA_MAX_DOWNLOAD_BYTES); raise the limit"
            ),
            headers=headers,
        )
        if size == 0:
            raise BadProviderResponse(f"{backend} sent an empty file; try again", backend=backend)
    except BaseException as exc:
        cleanup_temp(path)
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            # The folder as it is named now (a temp path may go through an open directory descriptor).
            raise storage_error(exc, os.path.realpath(path.parent), move="pass another output_dir") from exc
        if isinstance(exc, GenerateMediaError) or not isinstance(exc, Exception):
            raise
        raise _classify(exc, backend) from exc
    return path


async def download(url: str, *, backend: str, settings: Any, key_env: str = "") -> bytes:
    """GET a provider-issued image URL now, capped at GENERATE_MEDIA_MAX_DOWNLOAD_BYTES."""
    import httpx

    _checked_link(url, backend, "image URL")
    limit = settings.limits.max_download_bytes
    timeout = httpx.Timeout(settings.request_timeout_s, connect=10.0)
    try:
        data = await fetch(
            url,
            limit=limit,
            timeout=timeout,
            on_status=_status_check(
                backend, f"{backend}'s image link has expired (HTTP {{status}}); generate again", key_env
            ),
            too_big=lambda: BadProviderResponse(
                f"{backend}'s image is larger than {limit} bytes (GENERATE_MEDIA_MAX_DOWNLOAD_BYTES)", backend=backend
            ),
        )
    except httpx.HTTPError as exc:
        raise from_sdk(exc, backend=backend) from exc
    if not data:
        raise BadProviderResponse(f"{backend} served an empty image file; try again", backend=backend)
    return data
