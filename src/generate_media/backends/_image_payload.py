"""Image payloads as providers return them: base64 strings, data URLs, or short-lived URLs.

A provider URL is the provider's own answer (not caller input), so it is fetched as given, at once
(xAI and OpenRouter URLs expire), with a size cap and a timeout. Errors come back through the
backend's translation seam as ``BadProviderResponse`` or a classified HTTP error.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import BadProviderResponse, NotFound
from ._errors import from_sdk, from_status

__all__ = ["decode_b64", "decode_data_url", "download", "mime_of_data_url"]


def decode_b64(payload: str, *, backend: str) -> bytes:
    """Strict base64 decoding; a provider sending junk is a bad response, never a crash."""
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadProviderResponse(f"{backend} returned invalid base64 image data; try again", backend=backend) from exc
    if not data:
        raise BadProviderResponse(f"{backend} returned an empty image; try again", backend=backend)
    return data


def mime_of_data_url(url: str) -> str | None:
    header = url.partition(",")[0]
    mime = header[5:].split(";")[0] if header.startswith("data:") else ""
    return mime or None


def decode_data_url(url: str, *, backend: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise BadProviderResponse(
            f"{backend} returned an image URL that is not base64 data; try again", backend=backend
        )
    return decode_b64(payload, backend=backend)


async def download(url: str, *, backend: str, settings: Any, key_env: str = "") -> bytes:
    """GET a provider-issued image URL now, capped at GENERATE_MEDIA_MAX_DOWNLOAD_BYTES."""
    import httpx

    if not url.startswith(("https://", "http://")):
        raise BadProviderResponse(f"{backend} returned an unusable image URL; try again", backend=backend)
    limit = settings.limits.max_download_bytes
    timeout = httpx.Timeout(settings.request_timeout_s, connect=10.0)
    chunks: list[bytes] = []
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code in (403, 404, 410):
                raise NotFound(
                    f"{backend}'s image link has expired (HTTP {resp.status_code}); generate again", backend=backend
                )
            if resp.status_code != 200:
                body = await resp.aread()
                raise from_status(resp.status_code, body, backend=backend, headers=resp.headers, key_env=key_env)
            total = 0
            async for chunk in resp.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise BadProviderResponse(
                        f"{backend}'s image is larger than {limit} bytes (GENERATE_MEDIA_MAX_DOWNLOAD_BYTES)",
                        backend=backend,
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise from_sdk(exc, backend=backend) from exc
    if not chunks:
        raise BadProviderResponse(f"{backend} served an empty image file; try again", backend=backend)
    return b"".join(chunks)
