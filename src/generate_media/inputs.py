"""Input files (images, masks, audio): local paths inside the allowed directories, file:// URIs,
https:// URLs (size cap, timeout, redirect limit, no private addresses), data URIs.

A local path is checked before a byte is read, since inputs are uploaded to a third party.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import mimetypes
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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


def _read_confined(confinement: Confinement, path: Path, ref: str, limit: int) -> bytes:
    """Read a checked path through descriptors from its root, following no symlink at any component
    (one swapped in since the check is refused), and re-check through the open descriptor that it
    is a regular file (O_NONBLOCK: a FIFO never blocks)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = confinement.open_file(path, flags)
    except OSError as exc:
        raise AccessDenied(f"{ref[:80]} cannot be opened ({exc.strerror}); give a readable regular file") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise AccessDenied(f"{ref[:80]} is not a regular file; give an image, audio or video file")
        if info.st_size > limit:
            raise _too_big(ref, limit)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise _too_big(ref, limit)
    return data


async def _from_path(ref: str, confinement: Confinement, limit: int, base: Path | None) -> tuple[bytes, str]:
    path = confinement.regular_file(ref, base=base)
    if path.stat().st_size > limit:
        raise _too_big(str(ref), limit)
    return await anyio.to_thread.run_sync(_read_confined, confinement, path, str(ref), limit), path.name


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast only: private, loopback, link-local, CGNAT, unspecified, reserved and
    multicast are refused, including IPv4 addresses embedded in IPv6 (mapped, 6to4, NAT64)."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None and not _is_public(embedded):
            return False
    return addr.is_global and not addr.is_multicast


def _check_host(host: str, settings: Settings) -> str:
    """Resolve ``host`` once, check every address it has, and return the one to connect to.

    The connection goes to this very address (see :class:`_PinnedBackend`): resolving again when
    connecting could give another answer (DNS rebinding: public for the check, private for the use).
    """
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidRequest(f"cannot resolve {host}; check the URL") from exc
    addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addrs:
        raise InvalidRequest(f"cannot resolve {host}; check the URL")
    for addr in addrs:
        if not settings.allow_private_urls and not _is_public(addr):
            raise AccessDenied(
                f"{host} resolves to a private address ({addr}); URLs must point at public hosts "
                "(GENERATE_MEDIA_ALLOW_PRIVATE_URLS=1 allows it)"
            )
    return str(addrs[0])


class _PinnedBackend:
    """An httpcore network backend that connects to the address checked for a host, never to a
    fresh DNS answer. The URL keeps the host name, so the Host header, TLS SNI and certificate
    check all still use it."""

    def __init__(self, pins: dict[str, str]) -> None:
        import httpcore

        self.pins = pins
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, **kwargs: Any) -> Any:
        pinned = self.pins.get(host)
        if pinned is None:  # every hop is checked (and pinned) before it is requested
            raise AccessDenied(f"{host} was not checked before connecting; give the final URL")
        return await self._inner.connect_tcp(pinned, port, **kwargs)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise AccessDenied("unix sockets are not URL inputs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _pinned_transport(pins: dict[str, str]) -> Any:
    import httpcore
    import httpx

    transport = httpx.AsyncHTTPTransport()
    # httpx takes no network backend; the pool it wraps does. Same TLS settings, our connector.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=_PinnedBackend(pins),  # type: ignore[arg-type]  # duck-typed: the methods httpcore calls
    )
    return transport


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
    """GET a caller-supplied URL with the SSRF rules, a size cap, a timeout and a redirect limit.

    Every redirect hop is checked again (scheme and resolved address) before it is requested, the
    connection goes to the address that was checked (never a second DNS answer), and the whole
    download, however slowly the server drips bytes, ends within the request timeout.

    Raises:
        AccessDenied: plain http:// (unless allowed) or a private address.
        LimitExceeded: the body is over ``limit`` bytes.
        InvalidRequest: unreachable, an HTTP error, too many redirects or too slow.
    """
    import httpx

    total_s = min(settings.request_timeout_s, 60.0)
    timeout = httpx.Timeout(total_s, connect=min(10.0, total_s))
    try:
        with anyio.fail_after(total_s):
            pins: dict[str, str] = {}
            transport = _pinned_transport(pins)
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport) as client:
                return await _download(client, url, settings, limit, pins)
    except TimeoutError as exc:
        raise InvalidRequest(f"downloading {url[:80]} took longer than {total_s:g} s; use a faster host") from exc
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"downloading {url[:80]} failed ({type(exc).__name__}); check the URL") from exc


async def _download(client: Any, url: str, settings: Settings, limit: int, pins: dict[str, str]) -> bytes:
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        _check_url(url, settings)
        host = httpx.URL(url).raw_host.decode("ascii")  # as the connection pool will name it (IDNA-encoded)
        pins[host] = await anyio.to_thread.run_sync(_check_host, host, settings)
        async with client.stream("GET", url) as resp:
            if resp.is_redirect:
                url = urljoin(url, resp.headers.get("location", ""))
                continue
            if resp.status_code != 200:
                raise InvalidRequest(f"downloading {url[:80]} failed with HTTP {resp.status_code}; check the URL")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_big(url, limit)
            chunks: list[bytes] = []
            total = 0
            async for chunk in resp.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise _too_big(url, limit)
                chunks.append(chunk)
            return b"".join(chunks)
    raise InvalidRequest(f"{url[:80]} redirected more than {MAX_REDIRECTS} times; give the final URL")


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
