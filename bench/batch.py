"""Batch concurrency: ``prompts`` of 16 with ``max_concurrent=8`` while the loopback fake adds
500 ms to every request, for every image backend in the registry that talks to a provider.

With 16 items, 8 at a time and one 500 ms request per item, the physical limit is 2 x 500 ms.
A backend that needs several sequential requests per item (e.g. create, then download) has a
limit of 2 x that many x 500 ms; the script counts the requests the fake received and says so.

The backend list is read from the registry when the script runs, so new image backends are
measured without editing this file. Backends without an API key (``local``) make no request to
the fake and are listed as skipped.

    /work/venv/bin/python bench/batch.py [--prompts 16] [--concurrent 8] [--latency 0.5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import time

from common import (
    Report,
    StdioSession,
    fake_server,
    machine,
    median,
    our_server_argv,
    scratch_dir,
    server_env,
    tool_error,
)

TARGET = 1.15


def image_backends() -> tuple[list[str], list[str]]:
    """(backends that call a provider, backends skipped) for media_type image, from the registry."""
    from generate_media.registry import load_registry
    from generate_media.spec import MediaType

    remote: list[str] = []
    skipped: list[str] = []
    for spec in load_registry().serving(MediaType.IMAGE):
        (remote if spec.env_keys else skipped).append(spec.name)
    return remote, skipped


def batch_once(session: StdioSession, fake: object, backend: str, args: argparse.Namespace) -> tuple[float, int, int]:
    """(wall seconds, requests the fake received, items that failed) for one batch call."""
    fake.requests.clear()  # type: ignore[attr-defined]
    arguments = {
        "media_type": "image",
        "backend": backend,
        "prompts": [f"a lighthouse in fog, variation {i}" for i in range(args.prompts)],
        "max_concurrent": args.concurrent,
    }
    started = time.perf_counter()
    result = session.call_tool("generate_media", arguments, timeout=120)
    wall = time.perf_counter() - started
    error = tool_error(result)
    if error:
        raise RuntimeError(f"{backend}: {error}")
    items = (result.get("structuredContent") or {}).get("items", [])
    failed = sum(1 for item in items if item.get("status") != "ok")
    return wall, len(fake.requests), failed  # type: ignore[attr-defined]


def profile_in_process(backend: str, args: argparse.Namespace) -> str:
    """cProfile of one batch through the service in this process (no MCP): where the time goes."""
    import asyncio
    import cProfile
    import io
    import pstats

    from generate_media.config import Settings
    from generate_media.service import MediaService

    arguments = {
        "media_type": "image",
        "backend": backend,
        "prompts": [f"variation {i}" for i in range(args.prompts)],
        "max_concurrent": args.concurrent,
    }
    with fake_server() as fake, scratch_dir("batch-profile") as tmp:
        service = MediaService(Settings.from_env(server_env(fake, tmp / "out", tmp / "state")))
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(service.generate(dict(arguments)))  # warm-up
            fake.latency = args.latency
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            loop.run_until_complete(service.generate(dict(arguments)))
            profiler.disable()
            wall = time.perf_counter() - started
        finally:
            loop.close()
    out = io.StringIO()
    out.write(f"in-process batch on {backend}: {wall:.2f} s (event-loop thread profile, by own time)\n")
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the fake adds to every request")
    parser.add_argument("--repeats", type=int, default=3, help="batches per backend (median reported)")
    parser.add_argument("--profile", metavar="BACKEND", help="only profile one batch on BACKEND in-process")
    args = parser.parse_args()
    if args.profile:
        print(profile_in_process(args.profile, args))
        return 0

    waves = math.ceil(args.prompts / args.concurrent)
    report = Report(
        f"Batch: {args.prompts} prompts, max_concurrent={args.concurrent}, fake latency {args.latency * 1000:.0f} ms "
        f"per request (median of {args.repeats}; {machine()})",
        ("backend", "median wall s", "min wall s", "requests/item", "limit s", "x limit", "failed items"),
    )
    remote, skipped = image_backends()
    for name in skipped:
        report.note(f"{name} skipped: it has no API key and makes no request to the fake (nothing to overlap)")
    results: dict[str, float] = {}
    with fake_server() as fake, scratch_dir("batch") as tmp:
        env = server_env(fake, tmp / "out", tmp / "state", GENERATE_MEDIA_PREVIEW="true")
        with StdioSession(our_server_argv(), env=env) as session:
            session.handshake()
            for backend in remote:
                fake.latency = 0.0
                try:
                    session.call_tool("generate_media", {"media_type": "image", "backend": backend, "prompt": "warm"})
                    fake.latency = args.latency
                    runs = [batch_once(session, fake, backend, args) for _ in range(args.repeats)]
                except Exception as exc:
                    report.row(backend, "failed", "", "", "", "", "")
                    report.note(f"{backend} failed: {exc}"[:300])
                    results[backend] = float("inf")
                    continue
                walls = [w for w, _, _ in runs]
                per_item = max(1, round(runs[-1][1] / args.prompts))
                limit = waves * per_item * args.latency
                results[backend] = median(walls) / limit
                failed = sum(f for _, _, f in runs)
                report.row(backend, median(walls), min(walls), per_item, limit, results[backend], failed)
                if failed:
                    results[backend] = float("inf")
                    report.note(f"{backend}: {failed} items failed across {args.repeats} batches")
            fake.latency = 0.0
    for backend, ratio in results.items():
        report.target(f"batch wall time vs physical limit [{backend}]", ratio, TARGET)
    if not remote:
        report.skip("batch wall time vs physical limit", "no image backend with an API key in the registry")
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
