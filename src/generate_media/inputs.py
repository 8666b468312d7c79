"""Input files (images, masks, audio): local paths inside the allowed directories, file:// URIs,
https:// URLs (size cap, timeout, redirect limit, no private addresses), data URIs.

A local path is checked before a byte is read, since inputs are uploaded to a third party.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import mimetypes
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import anyio

from .config import Settings
from .errors import AccessDenied, InvalidRequest, LimitExceeded
from .output import Confinement, sniff

__all__ = ["LoadedFile", "load_input"]

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class LoadedFile:
    data: bytes
    mime_type: str
    name: str
    source: str

    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"

    def b64(self) -> str:
        return base64.b64encode(self.data).decode()


def _kind_check(data: bytes, source: str, kinds: tuple[str, ...], name: str) -> LoadedFile:
    found = sniff(data[:8192])
    if found is None or not found[0].startswith(kinds):
        what = " or ".join(k.rstrip("/") for k in kinds)
        got = found[0] if found else "unknown data"
        raise InvalidRequest(f"{source[:80]} is {got}, not {what}; give a PNG, JPEG or WebP image or a supported file")
    return LoadedFile(data=data, mime_type=found[0], name=name, source=source)


def _too_big(source: str, limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"{source[:80]} is larger than the input limit of {limit} bytes (GENERATE_MEDIA_MAX_INPUT_BYTES)"
    )


def _from_data_uri(ref: str, limit: int) -> tuple[bytes, str]:
    header, _, payload = ref.partition(",")
    if ";base64" not in header:
        raise InvalidRequest("data URIs must be base64 encoded (data:image/png;base64,...)")
    if len(payload) * 3 // 4 > limit:
        raise _too_big("data URI", limit)
    try:
        return base64.b64decode(payload, validate=True), "data-uri"
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("data URI is not valid base64") from exc


async def _from_path(ref: str, confinement: Confinement, limit: int, base: Path | None) -> tuple[bytes, str]:
    path = confinement.regular_file(ref, base=base)
    size = path.stat().st_size
    if size > limit:
        raise _too_big(str(ref), limit)
    return await anyio.Path(path).read_bytes(), path.name


def _check_host(host: str, settings: Settings) -> None:
    if settings.allow_private_urls:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise InvalidRequest(f"cannot resolve {host}; check the URL") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved or addr.is_multicast:
            raise AccessDenied(
                f"{host} resolves to a private address ({addr}); URLs must point at public hosts "
                "(GENERATE_MEDIA_ALLOW_PRIVATE_URLS=1 allows it)"
            )


def _check_url(url: str, settings: Settings) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidRequest(f"unsupported URL {url[:80]}; use https://")
    if parts.scheme == "http" and not settings.allow_http_urls:
        raise AccessDenied(
            "plain http:// inputs are refused; use https:// (GENERATE_MEDIA_ALLOW_HTTP_URLS=1 allows it)"
        )
    return parts.hostname


async def fetch_url(url: str, settings: Settings, limit: int) -> bytes:
    """GET a caller-supplied URL with the SSRF rules, a size cap, a timeout and a redirect limit."""
    import httpx

    timeout = httpx.Timeout(min(settings.request_timeout_s, 60.0), connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host = _check_url(url, settings)
            await anyio.to_thread.run_sync(_check_host, host, settings)
            async with client.stream("GET", url) as resp:
                if resp.is_redirect:
                    url = urljoin(url, resp.headers.get("location", ""))
                    continue
                if resp.status_code != 200:
                    raise InvalidRequest(f"downloading {url[:80]} failed with HTTP {resp.status_code}; check the URL")
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.aiter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise _too_big(url, limit)
                    chunks.append(chunk)
                return b"".join(chunks)
    raise InvalidRequest(f"{url[:80]} redirected more than {MAX_REDIRECTS} times")


async def load_input(
    ref: str,
    *,
    settings: Settings,
    confinement: Confinement,
    kinds: tuple[str, ...] = ("image/",),
    base: Path | None = None,
) -> LoadedFile:
    """Load one input reference and check it is the expected kind of media.

    Raises:
        AccessDenied: a path outside the allowed directories, a private URL, a non-regular file.
        LimitExceeded: over GENERATE_MEDIA_MAX_INPUT_BYTES.
        InvalidRequest: missing, unreadable or the wrong kind of file.
    """
    limit = settings.limits.max_input_bytes
    ref = ref.strip()
    if not ref:
        raise InvalidRequest("an input reference is empty")
    if ref.startswith("data:"):
        data, name = _from_data_uri(ref, limit)
    elif ref.startswith(("https://", "http://")):
        data = await fetch_url(ref, settings, limit)
        name = Path(urlsplit(ref).path).name or "download"
    elif ref.startswith("file://"):
        data, name = await _from_path(unquote(urlsplit(ref).path), confinement, limit, base)
    elif "://" in ref:
        raise InvalidRequest(f"unsupported input {ref[:40]}; use a path, file://, https:// or a data URI")
    else:
        data, name = await _from_path(ref, confinement, limit, base)
    loaded = _kind_check(data, ref if not ref.startswith("data:") else "data URI", kinds, name)
    if not Path(loaded.name).suffix:
        ext = mimetypes.guess_extension(loaded.mime_type) or ""
        loaded = LoadedFile(loaded.data, loaded.mime_type, loaded.name + ext, loaded.source)
    return loaded
