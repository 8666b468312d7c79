"""Many concurrent sessions over streamable HTTP: 50 clients, 10 ``generate_media`` calls each,
against our server started as ``generate-media-mcp --http`` with a bearer token (or
``--no-auth``), every provider pointed at the loopback fake (no added latency).

All clients connect first; then the call phase is timed. Reported: throughput (calls/s),
per-call latency and overhead p50/p99 (overhead = latency minus the median of the same image
request made directly with the OpenAI SDK in the same run, unloaded), errors, and the server's RSS
before the call phase versus after it. The clients, the fake and the server share the machine's
cores, so throughput here is a floor, not the server's ceiling.

    /work/venv/bin/python bench/http_sessions.py [--clients 50] [--calls 10] [--no-auth] [--mode auto]
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import threading
import time
from contextlib import AsyncExitStack
from typing import Any

import anyio

from common import (
    Report,
    fake_server,
    machine,
    median,
    our_server_argv,
    percentile,
    proc_status_kb,
    scratch_dir,
    server_env,
)

BASELINE_MODEL = "gpt-image-2"
ARGS = {"media_type": "image", "prompt": "a lighthouse in fog", "backend": "openai", "model": BASELINE_MODEL}
_URL = re.compile(r"(http://\S+/mcp)")


class HttpServer:
    """Our server as a child process serving HTTP on a free port; stderr is drained in a thread."""

    def __init__(self, env: dict[str, str], no_auth: bool) -> None:
        argv = [*our_server_argv(), "--http", "--host", "127.0.0.1", "--port", "0"]
        if no_auth:
            argv.append("--no-auth")
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            found = _URL.search(line)
            if found and self.url is None:
                self.url = found.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 60.0) -> str:
        if not self._ready.wait(timeout) or self.url is None:
            self.stop()
            tail = " | ".join(self.lines[-5:]) or "no output"
            raise RuntimeError(f"the HTTP server did not start: {tail}")
        return self.url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def first_text(result: Any) -> str:
    return str(getattr(result.content[0], "text", "error")) if result.content else "error"


def http_unavailable() -> str | None:
    help_text = subprocess.run([*our_server_argv(), "--help"], capture_output=True, text=True, timeout=60).stdout
    return None if "--http" in help_text else "generate-media-mcp has no --http option yet"


async def direct_baseline(env: dict[str, str], calls: int = 20) -> float:
    """Median ms of the same request made directly with the OpenAI SDK (unloaded)."""
    from openai import AsyncOpenAI

    samples = []
    async with AsyncOpenAI(api_key=env["OPENAI_API_KEY"], base_url=env["OPENAI_BASE_URL"], max_retries=0) as client:
        for i in range(calls + 3):
            started = time.perf_counter()
            await client.images.generate(model=BASELINE_MODEL, prompt=ARGS["prompt"], n=1)
            if i >= 3:
                samples.append((time.perf_counter() - started) * 1000)
    return median(samples)


async def run_clients(url: str, token: str | None, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors: list[str] = []
    go = anyio.Event()
    connected = 0
    all_connected = anyio.Event()

    async def one_client(index: int) -> None:
        nonlocal connected
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120))
            )
            client = await stack.enter_async_context(
                Client(streamable_http_client(url, http_client=http), mode=args.mode)
            )
            connected += 1
            if connected == args.clients:
                all_connected.set()
            await go.wait()
            for call in range(args.calls):
                started = time.perf_counter()
                try:
                    result = await client.call_tool(
                        "generate_media", {**ARGS, "prompt": f"{ARGS['prompt']} {index}/{call}"}
                    )
                except Exception as exc:
                    errors.append(f"client {index} call {call}: {type(exc).__name__}: {exc}"[:200])
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if result.is_error:
                    errors.append(f"client {index} call {call}: {first_text(result)}"[:200])

    with anyio.fail_after(args.timeout):
        async with anyio.create_task_group() as tg:
            for index in range(args.clients):
                tg.start_soon(one_client, index)
            await all_connected.wait()
            rss_start = proc_status_kb(pid, "VmRSS")
            started = time.perf_counter()
            go.set()
        wall = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "wall": wall, "rss_start": rss_start}


async def warm_up(url: str, token: str | None, mode: str) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        for _ in range(3):
            result = await client.call_tool("generate_media", dict(ARGS))
            if result.is_error:
                raise RuntimeError(f"warm-up call failed: {first_text(result)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10, help="calls per client")
    parser.add_argument("--no-auth", action="store_true", help="run the server with --no-auth (default: a token)")
    parser.add_argument("--mode", default="auto", help="client protocol mode: auto (2026-07-28) or legacy")
    parser.add_argument("--backend", default="openai", help="image backend to call (overhead only for openai)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    ARGS["backend"] = args.backend
    if args.backend != "openai":
        ARGS.pop("model")

    total = args.clients * args.calls
    report = Report(
        f"HTTP sessions: {args.clients} clients x {args.calls} calls, mode={args.mode}, "
        f"{'no auth' if args.no_auth else 'bearer token'} ({machine()})",
        ("measure", "value", "unit"),
    )
    reason = http_unavailable()
    if reason:
        report.skip("errors across all calls", reason)
        report.print()
        return 0
    token = None if args.no_auth else secrets.token_hex(24)
    with fake_server() as fake, scratch_dir("http") as tmp:
        extra = {} if token is None else {"GENERATE_MEDIA_HTTP_TOKEN": token}
        # Every simulated client shares the one token: let it hold them all (and the warm-up's), in
        # legacy mode where each client holds an MCP session.
        extra["GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN"] = str(args.clients + 1)
        env = server_env(fake, tmp / "out", tmp / "state", **extra)
        server = HttpServer(env, args.no_auth)
        try:
            url = server.wait_ready()
            direct_ms = anyio.run(direct_baseline, env)
            anyio.run(warm_up, url, token, args.mode)
            run = anyio.run(run_clients, url, token, args, server.proc.pid)
            rss_end = proc_status_kb(server.proc.pid, "VmRSS")
            peak = proc_status_kb(server.proc.pid, "VmHWM")
        finally:
            server.stop()
        written = sum(1 for p in (tmp / "out").rglob("*") if p.is_file())  # HTTP: under clients/<name>/

    lat = run["latencies"]
    overhead = [v - direct_ms for v in lat] if args.backend == "openai" else []
    errors = run["errors"]
    report.row("calls completed", len(lat), f"of {total}")
    report.row("errors", len(errors), "")
    report.row("wall time (call phase)", run["wall"], "s")
    report.row("throughput", len(lat) / run["wall"], "calls/s")
    report.row("latency p50", percentile(lat, 50), "ms")
    report.row("latency p99", percentile(lat, 99), "ms")
    report.row("direct SDK, unloaded, median", direct_ms, "ms")
    if overhead:
        report.row("overhead p50", percentile(overhead, 50), "ms")
        report.row("overhead p99", percentile(overhead, 99), "ms")
    report.row("server RSS before calls", run["rss_start"] / 1024, "MiB")
    report.row("server RSS after calls", rss_end / 1024, "MiB")
    report.row("server peak RSS", peak / 1024, "MiB")
    report.note(f"{written} files written on backend {args.backend}; the image is the fake's small default")
    for line in errors[:5]:
        report.note(f"error: {line}")
    report.check("errors across all calls", not errors and len(lat) == total, f"measured {len(errors)}, target 0")
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
