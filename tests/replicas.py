"""Replicas for the tests and benches: ``generate-media-mcp --http`` processes on free ports, and a
small round-robin HTTP proxy in front of them (a load balancer without sticky sessions).

The proxy forwards each HTTP request to the next live replica and streams the answer back chunk by
chunk (SSE progress passes through as it comes). The turn is kept per JSON-RPC method, so a test
knows where a call lands: a client's first ``tools/call`` goes to A, its second to B, whatever
other requests it made in between. It records which replica served which
JSON-RPC method, so a test can say that two calls of one client landed on two processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from generate_media.server.http import HttpServer

__all__ = ["Replica", "RoundRobin", "proxy", "read_body", "replicas", "start_replica"]

_URL = re.compile(r"serving MCP over streamable HTTP at (http://\S+)")
_HOP = {b"host", b"content-length", b"connection", b"transfer-encoding", b"keep-alive"}


async def read_body(receive: Any) -> bytes:
    """An ASGI request's whole body (the proxies here forward it in one piece)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


@dataclass
class Replica:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def base(self) -> str:
        return self.url.removesuffix("/mcp")

    def kill(self) -> None:
        """kill -9: no shutdown code runs (a crashed machine)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_replica(name: str, env: Mapping[str, str], log_dir: Path, *, timeout_s: float = 60.0) -> Replica:
    """Start ``generate-media-mcp --http --port 0`` with exactly ``env`` (plus PATH and HOME)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "PYTHONPATH") if k in os.environ}
    args = [sys.executable, "-m", "generate_media.server", "--http", "--port", "0", "--log-level", "INFO"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env={**base, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    replica = Replica(name, process, "", log)
    done = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if process.poll() is not None:
            break
        found = _URL.search(log.read_text(errors="replace"))
        if found:
            replica.url = found.group(1)
            return replica
        done.wait(0.05)
    replica.kill()
    raise RuntimeError(f"replica {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class RoundRobin:
    """ASGI app: each request to the next live upstream; ``served`` records (replica, method)."""

    upstreams: list[Replica]
    served: list[tuple[str, str]] = field(default_factory=list)
    _turns: dict[str, int] = field(default_factory=dict)
    _client: httpx.AsyncClient | None = None

    def methods_by(self, method: str) -> list[str]:
        return [name for name, m in self.served if m == method]

    def _next(self, method: str) -> Replica:
        for _ in range(len(self.upstreams)):
            turn = self._turns.get(method, 0)
            self._turns[method] = turn + 1
            replica = self.upstreams[turn % len(self.upstreams)]
            if replica.process.poll() is None:
                return replica
        raise RuntimeError("no live replica")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            if self._client is not None:
                await self._client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60, read=None))
        body = await read_body(receive)
        method = _method(body, scope["method"])
        replica = self._next(method)
        self.served.append((replica.name, method))
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP]
        url = replica.base + scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        request = self._client.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b"replica unreachable"})
            return
        try:
            out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.encode() not in _HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            with contextlib.suppress(httpx.TransportError):  # the replica died mid-answer
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


def _method(body: bytes, verb: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return verb
    return str(data.get("method", "response")) if isinstance(data, dict) else "batch"


@contextlib.asynccontextmanager
async def proxy(upstreams: list[Replica]) -> AsyncIterator[tuple[str, RoundRobin]]:
    """Serve a :class:`RoundRobin` over ``upstreams`` on a free loopback port: (its /mcp URL, it)."""
    balancer = RoundRobin(list(upstreams))
    server = HttpServer(balancer, "127.0.0.1", 0)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        url = await tg.start(server.serve)
        try:
            yield url, balancer
        finally:
            server.stop()


@contextlib.contextmanager
def replicas(envs: list[Mapping[str, str]], log_dir: Path) -> Iterator[list[Replica]]:
    """One replica per env (named A, B, ...), all killed at the end."""
    started: list[Replica] = []
    try:
        for i, env in enumerate(envs):
            started.append(start_replica(chr(ord("A") + i), env, log_dir))
        yield started
    finally:
        for replica in started:
            replica.kill()
