"""The one download path over TLS: a caller's https:// input is pinned to the checked address yet
verified by its host name (certificate and SNI), and a certificate for another name is refused.

The other end is a small TLS file host in the test (a certificate from a throwaway CA, trusted
through SSL_CERT_FILE as httpx reads it); the host name resolves to loopback through a patched
resolver, and private addresses are allowed for it, as for every loopback test.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.streams.tls import TLSStream
from mcp import Client

from tests.fakes import media

trustme = pytest.importorskip("trustme")

HOST = "images.example"


class _Resolver:
    """``HOST`` resolves to loopback; every other name as usual. Counts the questions about ``HOST``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked = 0
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name != HOST:
            return self._real(host, port, *args, **kwargs)
        self.asked += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0))]


@asynccontextmanager
async def tls_host(cert_for: str, body: bytes, seen: list[dict[str, str]]) -> AsyncIterator[int]:
    """Serve ``body`` over HTTPS with a certificate for ``cert_for``; yields the port. ``seen`` gets
    each request's SNI name and Host header."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(cert_for).configure_cert(context)
    names: list[str] = []
    context.sni_callback = lambda _obj, name, _ctx: names.append(name) or None  # type: ignore[func-returns-value]

    async def serve(client: anyio.abc.SocketStream) -> None:
        try:
            stream = await TLSStream.wrap(client, server_side=True, ssl_context=context, standard_compatible=False)
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive()
            lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            seen.append({"sni": names[-1] if names else "", "host": headers.get("host", "")})
            await stream.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await stream.aclose()
        except (anyio.BrokenResourceError, anyio.EndOfStream, ssl.SSLError, OSError):
            pass  # a client that refused our certificate hangs up mid-handshake

    with ca.cert_pem.tempfile() as ca_file, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", ca_file)
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, serve)
            yield listener.extra(anyio.abc.SocketAttribute.local_port)
            tg.cancel_scope.cancel()


async def test_an_https_input_is_pinned_and_verified_by_its_host_name(make_server, fake, monkeypatch):
    dns = _Resolver(monkeypatch)
    png = media.png(40, 30)
    seen: list[dict[str, str]] = []
    server = make_server("OPENAI_API_KEY", allow_private_urls=True, request_timeout_s=10.0)
    async with tls_host(HOST, png, seen) as port, Client(server) as client:
        with anyio.fail_after(30):
            url = f"https://{HOST}:{port}/pictures/cat.png"
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
    assert not result.is_error, result.content
    assert seen == [{"sni": HOST, "host": f"{HOST}:{port}"}]
    assert dns.asked == 1  # resolved once, for the check; the connection used that answer
    assert fake.of("openai", "/images/edits")[-1].files("image")[0][1] == png


async def test_a_certificate_for_another_name_is_refused(make_server, fake, monkeypatch):
    _Resolver(monkeypatch)
    seen: list[dict[str, str]] = []
    server = make_server("OPENAI_API_KEY", allow_private_urls=True, request_timeout_s=10.0)
    async with tls_host("elsewhere.example", media.png(8, 8), seen) as port, Client(server) as client:
        with anyio.fail_after(30):
            url = f"https://{HOST}:{port}/cat.png"
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
    assert result.is_error and result.structured_content["error"]["code"] == "invalid_request", result.content
    assert "check the URL" in result.content[0].text
    assert seen == [] and fake.of("openai") == []


# --- when inputs load --------------------------------------------------------------------------------


async def test_a_call_no_backend_can_take_fetches_no_input(make_server, fake):
    """The backend is chosen before any input is read: without its key, the URL is never fetched."""
    server = make_server(allow_http_urls=True, allow_private_urls=True)
    args = {"prompt": "x", "backend": "openai", "input_images": [f"{fake.url}/files/image.png"]}
    async with Client(server) as client:
        result = await client.call_tool("generate_media", args)
    assert result.is_error and "OPENAI_API_KEY" in result.content[0].text, result.content
    assert fake.requests == []


async def test_url_inputs_download_side_by_side(make_server, fake):
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, allow_private_urls=True)
    urls = [f"{fake.url}/files/image.png?n={n}" for n in range(2)]
    fake.gather = 2  # the file host answers once both downloads are in flight at once
    async with Client(server) as client:
        with anyio.fail_after(30):
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": urls})
    assert not result.is_error, result.content
    assert fake.most_in_flight >= 2
    sent = fake.of("openai", "/images/edits")[-1].files("image[]") or fake.of("openai", "/images/edits")[-1].files(
        "image"
    )
    assert [data for _, data, _ in sent] == [media.png(48, 48)] * 2


async def test_a_bad_input_cancels_the_downloads_still_running(make_server, fake):
    """A path outside the allowed directories fails at once; the URL beside it, which would drip for
    the whole request timeout, is cancelled rather than waited for."""
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, allow_private_urls=True, request_timeout_s=60.0)
    refs = [f"{fake.url}/files/slow.png?every=0.1", "/nowhere/at/all.png"]
    async with Client(server) as client:
        with anyio.fail_after(20):  # a hang guard: the slow download alone would take 60 s
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": refs})
    assert result.is_error and result.structured_content["error"]["code"] == "access_denied", result.content
    assert [r.path for r in fake.requests] in ([], ["/files/slow.png"]) and fake.of("openai") == []
