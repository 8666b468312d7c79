"""Per-call overhead: one ~1 MB image through ``generate_media`` over stdio, against the same
request made directly with the OpenAI SDK (``AsyncOpenAI().images.generate``), both against the
loopback fake with no added latency, interleaved in the same run.

Rows (medians of ``--calls`` calls each):
  direct SDK, one client   the floor: what any program calling OpenAI pays
  direct SDK, new client   the same with a fresh ``AsyncOpenAI`` per call (as our backend does)
  service in-process       ``MediaService.generate`` without MCP (validation, selection, file, preview)
  generate_media (stdio)   the whole thing: our server as a subprocess, JSON-RPC over pipes

Overhead = stdio median - direct (one client) median. It includes sniffing and verifying the
image, the atomic file write and the inline preview. ``--profile`` adds a cProfile of the
in-process path (where the time goes, without the transport).

    /work/venv/bin/python bench/call_overhead.py [--calls 30] [--mb 1.0] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from common import (
    Report,
    StdioSession,
    fake_server,
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

    def __init__(self, fake: Any, env: dict[str, str], session: StdioSession, loop: asyncio.AbstractEventLoop) -> None:
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
        assert outcome.result.status == "completed" and outcome.previews

    def stdio(self) -> None:
        result = self.session.call_tool("generate_media", dict(ARGS))
        error = tool_error(result)
        if error:
            raise RuntimeError(f"generate_media failed: {error}")


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

    def save() -> None:
        kw: dict[str, Any] = {"prompt": "component", "filename": None, "index": None, "expect": ("image/",)}
        saved.append(save_artifact(folder=folder, data=payload, **kw).path)

    def new_client() -> None:
        loop.run_until_complete(AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0).close())

    out = {
        "AsyncOpenAI() construct + close": timed(new_client),
        "save_artifact (write, sniff, verify + decode)": timed(save),
    }
    out["make_preview (decode, thumbnail, JPEG)"] = timed(lambda: make_preview(saved[0]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="timed calls per subject (default 30)")
    parser.add_argument("--mb", type=float, default=1.0, help="image size in MB (default 1.0)")
    parser.add_argument("--profile", action="store_true", help="also profile the in-process path")
    args = parser.parse_args()

    payload = sized_png(args.mb)
    report = Report(
        f"Per-call overhead: one {len(payload) / 1e6:.2f} MB PNG, fake latency 0 (median of {args.calls}; {machine()})",
        ("subject", "median ms", "p90 ms", "min ms", "x direct"),
    )
    with fake_server() as fake, scratch_dir("overhead") as tmp:
        fake.state["openai_image_bytes"] = payload
        env = server_env(fake, tmp / "out", tmp / "state")
        loop = asyncio.new_event_loop()
        session = StdioSession(our_server_argv(), env=env)
        try:
            session.handshake()
            subjects = Subjects(fake, env, session, loop)
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
            for _ in range(args.calls):
                for name, fn in order:
                    started = time.perf_counter()
                    fn()
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
        report.row(name, median(values), percentile(values, 90), min(values), median(values) / direct)
    ours = median(times["generate_media over stdio"])
    inproc = median(times["service in-process (no MCP)"])
    report.note(f"{written} PNG files written by our server and service; previews on (the default)")
    report.note(
        f"split of the overhead: service (validate, select, write, sniff, preview) {inproc - direct:.1f} ms, "
        f"MCP over stdio (JSON, preview base64, pipes, second process) {ours - inproc:.1f} ms"
    )
    report.note("pieces of our path timed alone (median ms): " + "; ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    if profile:
        print(profile)
    report.target("per-call overhead (stdio - direct SDK)", ours - direct, 15, unit=" ms")
    report.target("per-call ratio (stdio / direct SDK)", ours / direct, 1.2)
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
