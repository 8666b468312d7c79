"""Per-call overhead: one ~1 MB image through ``generate_media`` over stdio, against the same
request made directly with the OpenAI SDK (``AsyncOpenAI().images.generate``), both against the
loopback fake with no added latency, interleaved in the same run. The fake runs in a process of its
own, so no subject shares a core's interpreter lock with it (in a thread of this process it slowed the
subjects measured here, and not our stdio server).

Rows (medians of ``--calls`` calls each):
  direct SDK, one client   the floor: what any program calling OpenAI pays
  direct SDK, new client   the same with a fresh ``AsyncOpenAI`` per call (as our backend does)
  service in-process       ``MediaService.generate`` without MCP (validation, selection, file, preview)
  generate_media (stdio)   the whole thing: our server as a subprocess, JSON-RPC over pipes

Overhead = stdio median - direct (one client) median. It includes sniffing and verifying the
image, the atomic file write, the inline preview and the continuation record. ``--profile`` adds a
cProfile of the in-process path (where the time goes, without the transport).

CPU ms per call is what each subject burned, far less dependent on the machine's load than wall
times (which on a shared machine are mostly waiting for a core), though contention inflates it too:
for the stdio server, its whole process (every thread); for the subjects in this process, this
process. The fake's own CPU per call (it encodes the same 1.4 MB
JSON body for every subject) is in the fake column: it is in every subject's wall time.

    /work/venv/bin/python bench/call_overhead.py [--calls 30] [--mb 1.0] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import io
import json
import math
import os
import pstats
import subprocess
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from common import (
    PYTHON,
    REPO,
    Report,
    StdioSession,
    machine,
    median,
    our_server_argv,
    percentile,
    scratch_dir,
    server_env,
    tool_error,
)

ARGS = {"media_type": "image", "prompt": "a lighthouse in fog", "backend": "openai", "model": "gpt-image-2"}


def sized_png(megabytes: float) -> bytes:
    from tests.fakes.media import noisy_png

    side = int(math.sqrt(megabytes * 1_000_000 / 3))  # random RGB barely compresses: ~3 bytes/pixel
    return noisy_png(side, side)


class Subjects:
    """The four ways of making the same image, each a zero-argument callable timed per call."""

    def __init__(self, env: dict[str, str], session: StdioSession, loop: asyncio.AbstractEventLoop) -> None:
        from openai import AsyncOpenAI

        from generate_media.config import Settings
        from generate_media.service import MediaService

        self.base_url = env["OPENAI_BASE_URL"]
        self.key = env["OPENAI_API_KEY"]
        self.loop = loop
        self.session = session
        self.client = AsyncOpenAI(api_key=self.key, base_url=self.base_url, max_retries=0)
        self.service = MediaService(Settings.from_env(env))

    def run(self, coro: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def direct(self) -> None:
        response = self.run(self.client.images.generate(model=ARGS["model"], prompt=ARGS["prompt"], n=1))
        assert response.data and response.data[0].b64_json

    def direct_fresh(self) -> None:
        from openai import AsyncOpenAI

        async def once() -> Any:
            async with AsyncOpenAI(api_key=self.key, base_url=self.base_url, max_retries=0) as client:
                return await client.images.generate(model=ARGS["model"], prompt=ARGS["prompt"], n=1)

        assert self.run(once()).data

    def in_process(self) -> None:
        outcome = self.run(self.service.generate(dict(ARGS)))
        assert outcome.result.status == "completed" and bool(outcome.previews) == ARGS.get("preview", True)

    def stdio(self) -> None:
        result = self.session.call_tool("generate_media", dict(ARGS))
        error = tool_error(result)
        if error:
            raise RuntimeError(f"generate_media failed: {error}")


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(stat_path: str) -> float:
    """User + system CPU of a process or thread (``/proc/.../stat``), in ms (clock-tick resolution)."""
    with open(stat_path) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_MS


class CpuMeter:
    """CPU per subject: ours (the server process, or this process) and the fake's."""

    def __init__(self, fake_pid: int, server_pid: int) -> None:
        self.fake = f"/proc/{fake_pid}/stat"
        self.server = f"/proc/{server_pid}/stat"
        self.ours: dict[str, float] = {}
        self.fakes: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], None], *, remote: bool) -> None:
        fake0, here0 = cpu_ms(self.fake), time.process_time() * 1000
        server0 = cpu_ms(self.server) if remote else 0.0
        fn()
        fake = cpu_ms(self.fake) - fake0
        ours = cpu_ms(self.server) - server0 if remote else time.process_time() * 1000 - here0
        self.ours[name] = self.ours.get(name, 0.0) + ours
        self.fakes[name] = self.fakes.get(name, 0.0) + fake


def profile_in_process(subjects: Subjects, calls: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        subjects.in_process()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"generate_media|openai|PIL|json|base64|filetype|pydantic", 25)
    return out.getvalue()


def components(payload: bytes, directory: Path, loop: asyncio.AbstractEventLoop, base_url: str) -> dict[str, float]:
    """Median milliseconds of the pieces of our path, timed alone (no fake, no transport)."""
    from openai import AsyncOpenAI

    from generate_media.output import Confinement, Folder, make_preview, save_artifact

    def timed(fn: Callable[[], Any], n: int = 15) -> float:
        fn()
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        return median(samples)

    saved: list[Path] = []

    directory.mkdir(parents=True, exist_ok=True)
    folder = Folder.open(Confinement.of([directory]), directory)

    def save(preview: tuple[int, int] | None = None) -> None:
        kw: dict[str, Any] = {"prompt": "component", "filename": None, "index": None, "expect": ("image/",)}
        saved.append(save_artifact(folder=folder, data=payload, preview=preview, **kw).path)

    def decode() -> None:
        from generate_media.backends._image_payload import decode_b64

        decode_b64(encoded, backend="bench")

    encoded = base64.b64encode(payload).decode()

    def new_client() -> None:
        loop.run_until_complete(AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0).close())

    out = {
        "AsyncOpenAI() construct + close": timed(new_client),
        "base64 decode of the payload": timed(decode),
        "save_artifact, no preview (write, sniff, PNG CRC check)": timed(save),
        "save_artifact with the preview (+ decode, thumbnail, JPEG)": timed(lambda: save((256, 48 * 1024))),
    }
    out["make_preview (decode, thumbnail, JPEG)"] = timed(lambda: make_preview(saved[0]))
    return out


_FAKE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/bench"]
from call_overhead import sized_png
from tests.fakes import start_fake
fake = start_fake()
fake.state["openai_image_bytes"] = sized_png(float(sys.argv[2]))
print(json.dumps({"url": fake.url, "size": len(fake.state["openai_image_bytes"])}), flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
fake.stop()
"""


@contextmanager
def fake_process(megabytes: float) -> Iterator[tuple[Any, int, int]]:
    """The tests' loopback fake in a child process: (an object with its ``url``, its pid, the PNG's size)."""
    proc = subprocess.Popen(
        [PYTHON, "-c", _FAKE, str(REPO), str(megabytes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake did not start")
        started = json.loads(line)
        yield types.SimpleNamespace(url=started["url"]), proc.pid, int(started["size"])
    finally:
        with suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="timed calls per subject (default 30)")
    parser.add_argument("--mb", type=float, default=1.0, help="image size in MB (default 1.0)")
    parser.add_argument("--profile", action="store_true", help="also profile the in-process path")
    parser.add_argument("--no-preview", action="store_true", help="ask for no inline preview (preview=false)")
    args = parser.parse_args()
    if args.no_preview:
        ARGS["preview"] = False

    payload = sized_png(args.mb)
    report = Report(
        f"Per-call overhead: one {len(payload) / 1e6:.2f} MB PNG, fake latency 0 (median of {args.calls}; {machine()})",
        ("subject", "median ms", "p90 ms", "min ms", "x direct", "CPU ms/call", "fake CPU ms/call"),
    )
    with fake_process(args.mb) as (fake, fake_pid, served), scratch_dir("overhead") as tmp:
        assert abs(served - len(payload)) < len(payload) // 100  # the same size of (random) PNG
        env = server_env(fake, tmp / "out", tmp / "state")
        loop = asyncio.new_event_loop()
        session = StdioSession(our_server_argv(), env=env)
        try:
            session.handshake()
            subjects = Subjects(env, session, loop)
            order: list[tuple[str, Callable[[], None]]] = [
                ("direct SDK, one client", subjects.direct),
                ("direct SDK, new client per call", subjects.direct_fresh),
                ("service in-process (no MCP)", subjects.in_process),
                ("generate_media over stdio", subjects.stdio),
            ]
            times: dict[str, list[float]] = {name: [] for name, _ in order}
            for _ in range(3):  # warm-up: imports, connection pools, page cache
                for _, fn in order:
                    fn()
            meter = CpuMeter(fake_pid, session.pid)
            for _ in range(args.calls):
                for name, fn in order:
                    started = time.perf_counter()
                    meter.run(name, fn, remote=fn == subjects.stdio)
                    times[name].append((time.perf_counter() - started) * 1000)
            profile = profile_in_process(subjects, min(args.calls, 20)) if args.profile else ""
            parts = components(payload, tmp / "parts", loop, env["OPENAI_BASE_URL"])
            loop.run_until_complete(subjects.client.close())
        finally:
            session.close()
            loop.close()
        written = sum(1 for _ in (tmp / "out").glob("*.png"))

    direct = median(times["direct SDK, one client"])
    for name, values in times.items():
        cpu, fake_cpu = meter.ours[name] / args.calls, meter.fakes[name] / args.calls
        report.row(name, median(values), percentile(values, 90), min(values), median(values) / direct, cpu, fake_cpu)
    ours = median(times["generate_media over stdio"])
    inproc = median(times["service in-process (no MCP)"])
    cpu_over = (meter.ours["generate_media over stdio"] - meter.ours["direct SDK, one client"]) / args.calls
    previews = "previews off (preview=false)" if args.no_preview else "previews on (the default)"
    report.note(f"{written} PNG files written by our server and service; {previews}")
    report.note(
        f"split of the overhead: service (validate, select, write, sniff, preview) {inproc - direct:.1f} ms, "
        f"MCP over stdio (JSON, preview base64, pipes, second process) {ours - inproc:.1f} ms"
    )
    report.note("pieces of our path timed alone (median ms): " + "; ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    if profile:
        print(profile)
    report.note(
        f"CPU overhead (stdio server's CPU - the direct SDK client's CPU, per call): {cpu_over:.1f} ms; "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    report.target("per-call overhead (stdio - direct SDK)", ours - direct, 10, unit=" ms")
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
