"""The one download path: caller-given input URLs and provider-issued result links alike.

One GET, its redirects and its body, read from the socket in large blocks (``BLOCK``) through a
small network backend of our own for httpcore (the stock one hands over at most 64 KiB per read and
pauses the transport between reads). A body goes to memory (:func:`fetch`) or to a file
(:func:`fetch_to_file`, for videos of hundreds of megabytes); the file is written by one worker
thread fed through a bounded queue, so the event loop never waits on the disk and never hops
threads per block.

A URL a caller gave (:class:`UrlRules`) is checked before a byte is sent: https only (unless
allowed), every address its host resolves to must be public, and every redirect hop is checked
again. The connection goes to the very address that was checked (no second DNS answer, so no DNS
rebinding); the request still names the host (Host header, TLS SNI and certificate check). A
provider's own result link is fetched as given.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import queue
import select
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import anyio
import anyio.abc
import anyio.lowlevel

from .errors import AccessDenied, InvalidRequest

if TYPE_CHECKING:
    import httpx

__all__ = ["BLOCK", "MAX_REDIRECTS", "UrlRules", "fetch", "fetch_to_file", "is_public", "open_url", "parse_url"]

#: Bytes asked of the socket per read (curl reads the same order of magnitude per call).
BLOCK = 1024 * 1024
#: Blocks handed to the file writer thread and not yet on disk; bounds memory at ~16 MiB.
QUEUED_BLOCKS = 16
#: Redirects followed for a caller's URL; a provider's link gets PROVIDER_REDIRECTS.
MAX_REDIRECTS = 3
PROVIDER_REDIRECTS = 10

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

# --- the rules for a caller's URL (SSRF) ---------------------------------------------------------

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast only: private, loopback, link-local, CGNAT, unspecified, reserved and
    multicast are refused, including IPv4 addresses embedded in IPv6 (mapped, 6to4, NAT64)."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return addr.is_global and not addr.is_multicast


@dataclass(frozen=True)
class UrlRules:
    """How a caller's URL is checked (GENERATE_MEDIA_ALLOW_HTTP_URLS / _ALLOW_PRIVATE_URLS)."""

    allow_http: bool = False
    allow_private: bool = False

    def check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise InvalidRequest(f"{url[:80]} is not a valid URL ({exc}); check the URL") from exc
        if parts.scheme not in ("https", "http"):
            raise InvalidRequest(f"unsupported URL {url[:80]}; use https://")
        if not parts.hostname:
            raise InvalidRequest(f"{url[:80]} names no host; check the URL")
        if parts.scheme == "http" and not self.allow_http:
            raise AccessDenied(
                "plain http:// inputs are refused; use https:// (GENERATE_MEDIA_ALLOW_HTTP_URLS=1 allows it)"
            )

    def check_host(self, host: str) -> str:
        """Resolve ``host`` once, check every address it has, and return the one to connect to.

        The connection goes to this very address (see :class:`_Network`): resolving again when
        connecting could give another answer (DNS rebinding: public for the check, private for the use).
        """
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: an empty label, or one over 63 characters
            raise InvalidRequest(f"cannot resolve {host[:80]}; check the URL") from exc
        addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addrs:
            raise InvalidRequest(f"cannot resolve {host}; check the URL")
        for addr in addrs:
            if not self.allow_private and not is_public(addr):
                raise AccessDenied(
                    f"{host} resolves to a private address ({addr}); URLs must point at public hosts "
                    "(GENERATE_MEDIA_ALLOW_PRIVATE_URLS=1 allows it)"
                )
        return str(addrs[0])


# --- the network backend: large reads straight from the socket ----------------------------------


@contextlib.contextmanager
def _mapped(timeout_error: type[Exception], other_error: type[Exception]) -> Iterator[None]:
    """OS and TLS failures as the httpcore exceptions httpx translates (the transport's contract)."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except (OSError, UnicodeError, ssl.SSLError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
        raise other_error(str(exc) or type(exc).__name__) from exc


class _Socket(anyio.abc.ByteStream):
    """A connected non-blocking socket. As an httpcore stream it reads up to ``BLOCK`` bytes per
    call whatever httpcore asks (it takes what comes); as an anyio byte stream it carries TLS."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def receive(self, max_bytes: int = BLOCK) -> bytes:  # TLS asks with the default
        while True:
            try:
                data = self._sock.recv(max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self._sock)
                continue
            await anyio.lowlevel.checkpoint()  # data was waiting: still let other tasks run
            if not data:
                raise anyio.EndOfStream
            return data

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            try:
                view = view[self._sock.send(view) :]
            except BlockingIOError:
                await anyio.wait_writable(self._sock)

    async def send_eof(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    async def aclose(self) -> None:
        self._sock.close()

    # httpcore.AsyncNetworkStream (duck-typed: httpcore calls exactly these)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        with _mapped(httpcore.ReadTimeout, httpcore.ReadError), anyio.fail_after(timeout):
            try:
                return await self.receive(max(max_bytes, BLOCK))
            except anyio.EndOfStream:
                return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        with _mapped(httpcore.WriteTimeout, httpcore.WriteError), anyio.fail_after(timeout):
            await self.send(buffer)

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, **kw: Any) -> _Tls:
        import httpcore
        from anyio.streams.tls import TLSStream

        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError), anyio.fail_after(kw.get("timeout")):
            try:
                tls = await TLSStream.wrap(
                    self, hostname=server_hostname, ssl_context=ssl_context, standard_compatible=False
                )
            except BaseException:
                await self.aclose()
                raise
        return _Tls(tls)

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._sock
        if info == "is_readable":  # an idle kept-alive connection that is readable was closed by the peer
            return bool(select.select([self._sock], [], [], 0)[0])
        if info in ("client_addr", "server_addr"):
            return self._sock.getsockname() if info == "client_addr" else self._sock.getpeername()
        return None


class _Tls:
    """httpcore's view of a TLS stream over :class:`_Socket` (anyio does the TLS)."""

    def __init__(self, tls: Any) -> None:
        self._tls = tls

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        with _mapped(httpcore.ReadTimeout, httpcore.ReadError), anyio.fail_after(timeout):
            try:
                return await self._tls.receive(max(max_bytes, BLOCK))  # type: ignore[no-any-return]
            except anyio.EndOfStream:
                return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        with _mapped(httpcore.WriteTimeout, httpcore.WriteError), anyio.fail_after(timeout):
            await self._tls.send(buffer)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._tls.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> _Tls:
        raise RuntimeError("TLS in TLS is not used for downloads")

    def get_extra_info(self, info: str) -> Any:
        from anyio.streams.tls import TLSAttribute

        if info == "ssl_object":
            return self._tls.extra(TLSAttribute.ssl_object, None)
        return self._tls.transport_stream.get_extra_info(info)


class _Network:
    """An httpcore network backend: connects to the address checked for a host when ``pins`` is
    given (a caller's URL), else to what DNS answers; streams read in large blocks."""

    def __init__(self, pins: dict[str, str] | None) -> None:
        self.pins = pins

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _Socket:
        import httpcore

        if self.pins is not None:
            pinned = self.pins.get(host)
            if pinned is None:  # every hop is checked (and pinned) before it is requested
                raise AccessDenied(f"{host} was not checked before connecting; give the final URL")
            targets = [(pinned, port)]
        else:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            targets = [(str(info[4][0]), port) for info in infos]
        failure: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for target in targets:
            try:
                with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError), anyio.fail_after(timeout):
                    return _Socket(await _connect(target, socket_options or ()))
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise AccessDenied("unix sockets are not URL inputs")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


async def _connect(target: tuple[str, int], options: Any) -> socket.socket:
    family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for option in options:
            sock.setsockopt(*option)
        err = sock.connect_ex(target)
        if err not in (0, getattr(os, "EINPROGRESS", 115), getattr(os, "EWOULDBLOCK", 11)):
            raise OSError(err, os.strerror(err))
        await anyio.wait_writable(sock)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
    except BaseException:
        sock.close()
        raise
    return sock


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default TLS settings, built once per CA location (loading the CA bundle takes 0.1-0.3 s).

    The arguments are the environment variables httpx reads, so a changed SSL_CERT_FILE gets its own
    context. A context is safe to share between connections and threads."""
    import httpx

    return httpx.create_ssl_context()


async def _client(pins: dict[str, str] | None, timeout: httpx.Timeout) -> httpx.AsyncClient:
    import httpcore
    import httpx

    where = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = await anyio.to_thread.run_sync(_ssl_context, *where)  # the first build is off the event loop
    transport = httpx.AsyncHTTPTransport(verify=context)  # verify=True would build a context of its own
    # httpx takes no network backend; the pool it wraps does. Same TLS settings, our connector.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context,
        network_backend=_Network(pins),  # type: ignore[arg-type]  # duck-typed: the methods httpcore calls
    )
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport)


# --- one GET with its redirects --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_url(
    url: str,
    *,
    timeout: httpx.Timeout,
    rules: UrlRules | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[httpx.Response]:
    """GET ``url`` and yield the final response (any status, body not read yet).

    With ``rules`` (a caller's URL) every hop is checked and pinned before it is requested;
    redirects are followed up to MAX_REDIRECTS, else PROVIDER_REDIRECTS. ``headers`` go only to
    the first URL's origin.

    Raises:
        AccessDenied / InvalidRequest: a hop breaks ``rules``, or too many redirects.
        httpx.HTTPError: the transport failed (the caller words it).
    """
    import httpx

    pins: dict[str, str] | None = {} if rules is not None else None
    hops = MAX_REDIRECTS if rules is not None else PROVIDER_REDIRECTS
    origin = parse_url(url).copy_with(path="/", query=None, fragment=None)
    async with await _client(pins, timeout) as client:
        for _ in range(hops + 1):
            target = parse_url(url)
            if rules is not None and pins is not None:
                rules.check_url(url)
                host = target.raw_host.decode("ascii")  # as the connection pool will name it (IDNA-encoded)
                pins[host] = await anyio.to_thread.run_sync(rules.check_host, host)
            same_origin = target.copy_with(path="/", query=None, fragment=None) == origin
            sent = {"Accept-Encoding": "identity", **(dict(headers or {}) if same_origin else {})}
            async with client.stream("GET", target, headers=sent) as resp:
                if not resp.is_redirect:
                    yield resp
                    return
                url = urljoin(str(target), resp.headers.get("location", ""))
                if not url.startswith(("https://", "http://")) and rules is None:
                    raise InvalidRequest(f"a download was redirected to an unsupported URL {url[:80]}")
    if rules is None:  # a provider's own link: the transport's error, classified like any other
        raise httpx.TooManyRedirects(f"more than {hops} redirects", request=httpx.Request("GET", url))
    raise InvalidRequest(f"{url[:80]} redirected more than {hops} times; give the final URL")


def parse_url(url: str) -> httpx.URL:
    """``url`` as httpx reads it.

    Raises:
        InvalidRequest: httpx cannot read it (``0177.0.0.1``, a port out of range...), naming the URL.
    """
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidRequest(f"{url[:80]} is not a valid URL ({exc}); check the URL") from exc
    if parsed.port is not None and not 0 < parsed.port < 65536:  # a socket would raise OverflowError
        raise InvalidRequest(f"{url[:80]} is not a valid URL (port {parsed.port}); check the URL")
    return parsed


def declared_size(resp: httpx.Response) -> int | None:
    declared = resp.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else None


async def read_body(resp: httpx.Response, limit: int, too_big: Callable[[], Exception]) -> bytes:
    """The whole body in memory, refused past ``limit`` bytes (before reading when declared)."""
    size = declared_size(resp)
    if size is not None and size > limit:
        raise too_big()
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise too_big()
        chunks.append(chunk)
    return b"".join(chunks)


class _Writer:
    """Blocks to a file descriptor from one thread: the event loop queues a block and goes on (it
    waits, in a worker thread, only while QUEUED_BLOCKS are not yet written)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.room = threading.Semaphore(QUEUED_BLOCKS)
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, name="generate-media-download", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            if self.error is None:
                try:
                    view = memoryview(block)
                    while view:
                        view = view[os.write(self.fd, view) :]
                except OSError as exc:
                    self.error = exc
            self.room.release()

    async def put(self, block: bytes) -> None:
        if self.error is not None:
            raise self.error
        if not self.room.acquire(blocking=False):
            await anyio.to_thread.run_sync(self.room.acquire)  # the disk is behind: wait for it
        self.queue.put(block)

    async def finish(self) -> None:
        """Wait until every queued block is written (shielded: the thread owns the descriptor)."""
        self.queue.put(None)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.thread.join)


async def write_body(resp: httpx.Response, path: Path, limit: int, too_big: Callable[[], Exception]) -> int:
    """Stream the body into the new file ``path`` (never all in memory); returns the byte count.

    The file is created here (``O_EXCL``, no symlink followed); on any failure it is removed.

    Raises:
        OSError: the disk refused the bytes (full, read-only...).
    """
    size = declared_size(resp)
    if size is not None and size > limit:
        raise too_big()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    total = 0
    try:
        writer = _Writer(fd)
        try:
            async for chunk in resp.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise too_big()
                if chunk:
                    await writer.put(chunk)
        finally:
            await writer.finish()
        if writer.error is not None:
            raise writer.error
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    finally:
        os.close(fd)
    return total


# --- the two entry points ------------------------------------------------------------------------


async def fetch(
    url: str,
    *,
    limit: int,
    timeout: httpx.Timeout,
    on_status: Callable[[httpx.Response], Awaitable[None]],
    too_big: Callable[[], Exception],
    rules: UrlRules | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """GET ``url`` into memory. ``on_status`` sees the final response first and raises for any it
    refuses (it may read the body of an error answer)."""
    async with open_url(url, timeout=timeout, rules=rules, headers=headers) as resp:
        await on_status(resp)
        return await read_body(resp, limit, too_big)


async def fetch_to_file(
    url: str,
    path: Path,
    *,
    limit: int,
    timeout: httpx.Timeout,
    on_status: Callable[[httpx.Response], Awaitable[None]],
    too_big: Callable[[], Exception],
    rules: UrlRules | None = None,
    headers: Mapping[str, str] | None = None,
) -> int:
    """GET ``url`` into the new file ``path``; returns the byte count. ``path`` exists only on success."""
    async with open_url(url, timeout=timeout, rules=rules, headers=headers) as resp:
        await on_status(resp)
        return await write_body(resp, path, limit, too_big)
