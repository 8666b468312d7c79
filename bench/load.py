"""Load: many MCP clients calling generate_media at once against the loopback fake.

    python bench/load.py                          # 200 calls from 20 clients, in-memory and over HTTP
    python bench/load.py --calls 1000 --clients 50 --transport memory

Prints, per transport: calls accounted for (ok / error), files written vs. unique paths (nothing lost
or duplicated), leftover partial files, requests the provider saw, wall time, throughput, latency
percentiles, and RSS before, after a warm-up round and after the measured round (memory stable?).
HTTP is skipped with a note when the streamable HTTP transport is not present.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ClientFactory = Callable[[], AbstractAsyncContextManager[Any]]

TOKEN = "load-token-0123456789abcdef"


@dataclass
class Figures:
    transport: str
    calls: int
    clients: int
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    files_on_disk: int = 0
    unique_paths: int = 0
    partial_files: int = 0
    provider_requests: int = 0
    wall_s: float = 0.0
    calls_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    rss_before_mb: float = 0.0
    rss_warm_mb: float = 0.0
    rss_after_mb: float = 0.0

    @property
    def accounted(self) -> bool:
        return self.ok + sum(self.errors.values()) == self.calls

    @property
    def intact(self) -> bool:
        return self.files_on_disk == self.unique_paths == self.ok and self.partial_files == 0


def rss_mb() -> float:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def drive(connect: ClientFactory, *, calls: int, clients: int, tag: str) -> tuple[list[Any], list[float]]:
    """``clients`` concurrent clients share ``calls`` calls; returns the results and latencies."""
    results: list[Any] = []
    latencies: list[float] = []
    share = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]

    async def one_client(index: int, count: int) -> None:
        async with connect() as client:
            for k in range(count):
                start = time.perf_counter()
                result = await client.call_tool("generate_media", {"prompt": f"{tag} client {index} call {k}"})
                latencies.append(time.perf_counter() - start)
                results.append(result)

    async with anyio.create_task_group() as tg:
        for index, count in enumerate(share):
            tg.start_soon(one_client, index, count)
    return results, latencies


def tally(figures: Figures, results: list[Any], latencies: list[float], out_dir: Path) -> Figures:
    paths: list[str] = []
    for result in results:
        if result.is_error:
            code = (result.structured_content or {}).get("error", {}).get("code", "unknown")
            figures.errors[code] = figures.errors.get(code, 0) + 1
        else:
            figures.ok += 1
            paths.extend(i["path"] for i in result.structured_content["items"] if i.get("path"))
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    figures.files_on_disk = sum(1 for p in files if not p.name.startswith(".gm-partial-"))
    figures.partial_files = len(files) - figures.files_on_disk
    figures.unique_paths = len(set(paths))
    ordered = sorted(latencies) or [0.0]
    figures.p50_ms = round(statistics.median(ordered) * 1000, 1)
    figures.p95_ms = round(ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0] * 1000, 1)
    figures.max_ms = round(ordered[-1] * 1000, 1)
    return figures


async def measure(
    transport: str, connect: ClientFactory, out_dir: Path, fake: Any, *, calls: int, clients: int, warmup: int
) -> Figures:
    figures = Figures(transport=transport, calls=calls, clients=clients)
    gc.collect()
    figures.rss_before_mb = round(rss_mb(), 1)
    if warmup:
        await drive(connect, calls=warmup, clients=min(clients, warmup), tag="warmup")
        gc.collect()
    figures.rss_warm_mb = round(rss_mb(), 1)
    for path in list(out_dir.rglob("*")):  # count only the measured round's files
        if path.is_file():
            path.unlink()
    fake.requests.clear()
    start = time.perf_counter()
    results, latencies = await drive(connect, calls=calls, clients=clients, tag="load")
    figures.wall_s = round(time.perf_counter() - start, 2)
    figures.calls_per_s = round(calls / figures.wall_s, 1) if figures.wall_s else 0.0
    figures.provider_requests = len(fake.requests)
    gc.collect()
    figures.rss_after_mb = round(rss_mb(), 1)
    return tally(figures, results, latencies, out_dir)


def _settings(fake: Any, out_dir: Path, state_dir: Path) -> Any:
    from tests.conftest import KEYS
    from tests.fakes import fake_env

    from generate_media.config import Settings

    env = {
        **fake_env(fake),
        "OPENAI_API_KEY": KEYS["OPENAI_API_KEY"],
        "GENERATE_MEDIA_HTTP_TOKEN": TOKEN,
        "GENERATE_MEDIA_OUTPUT_DIR": str(out_dir),
        "GENERATE_MEDIA_STATE_DIR": str(state_dir),
        "GENERATE_MEDIA_PREVIEW": "0",
    }
    return Settings.from_env(env)


def memory_factory(settings: Any) -> ClientFactory:
    from mcp import Client

    from generate_media.server import create_server

    server = create_server(settings)
    return lambda: Client(server)


def http_available() -> bool:
    try:
        import generate_media.server.http  # noqa: F401
    except ImportError:
        return False
    return True


@asynccontextmanager
async def http_factory(settings: Any) -> AsyncIterator[ClientFactory]:
    """Serve over streamable HTTP on 127.0.0.1 (port 0) for the duration; yields a client factory."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from generate_media.server.http import HttpServer, create_http_app

    server = HttpServer(create_http_app(settings), "127.0.0.1", 0)

    @asynccontextmanager
    async def connect() -> AsyncIterator[Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            yield client

    async with anyio.create_task_group() as tg:
        await tg.start(server.serve)
        try:
            yield connect
        finally:
            server.stop()


async def run(transports: list[str], *, calls: int, clients: int, warmup: int) -> list[Figures]:
    from tests.fakes import start_fake

    fake = start_fake()
    out: list[Figures] = []
    try:
        for transport in transports:
            with tempfile.TemporaryDirectory(prefix=f"gm-load-{transport}-") as tmp:
                out_dir, state_dir = Path(tmp) / "out", Path(tmp) / "state"
                out_dir.mkdir()
                settings = _settings(fake, out_dir, state_dir)
                if transport == "memory":
                    connect = memory_factory(settings)
                    out.append(
                        await measure(transport, connect, out_dir, fake, calls=calls, clients=clients, warmup=warmup)
                    )
                elif transport == "http":
                    if not http_available():
                        print("http: skipped (streamable HTTP transport not present)", file=sys.stderr)
                        continue
                    async with http_factory(settings) as connect:
                        out.append(
                            await measure(
                                transport, connect, out_dir, fake, calls=calls, clients=clients, warmup=warmup
                            )
                        )
    finally:
        fake.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=40, help="calls before measuring (RSS baseline)")
    parser.add_argument("--transport", choices=["memory", "http", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    transports = ["memory", "http"] if args.transport == "both" else [args.transport]
    figures = anyio.run(lambda: run(transports, calls=args.calls, clients=args.clients, warmup=args.warmup))
    for f in figures:
        if args.json:
            print(json.dumps({**asdict(f), "accounted": f.accounted, "intact": f.intact}))
            continue
        print(
            f"{f.transport}: {f.calls} calls from {f.clients} clients: ok {f.ok}, errors {f.errors or 0}; "
            f"accounted={f.accounted}; files {f.files_on_disk}, unique paths {f.unique_paths}, "
            f"partial {f.partial_files}, provider requests {f.provider_requests}; intact={f.intact}\n"
            f"  {f.wall_s} s wall, {f.calls_per_s} calls/s, latency p50 {f.p50_ms} ms, p95 {f.p95_ms} ms, "
            f"max {f.max_ms} ms; RSS {f.rss_before_mb} MB before, {f.rss_warm_mb} MB warm, "
            f"{f.rss_after_mb} MB after"
        )
    return 0 if all(f.accounted and f.intact for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
