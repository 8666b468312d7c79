"""Large media: a big video download (default 500 MB) from the loopback fake through
``generate_media`` over stdio, against ``curl`` writing the same body to the same disk.

The video backend is Grok Imagine: its fake answers the poll with a ``video.url`` served by the
fake, and ``fake.state["xai_video_big"] = N`` makes that URL stream a real MP4 followed by N MiB
of ``free``-box padding (a valid file the output writer can verify). The server streams the body
to a temporary file in the output directory, so its memory must not grow with the size.

Measured:
  peak RSS growth  the server's peak RSS (VmHWM, reset after a warm-up call) minus its RSS before
  download time    the big call minus the same call with a 1 s video (submit, polls, verify)
  curl             ``curl -o`` of the same URL into the same directory

Each round runs the small call, curl and the big call back to back, and the ratio is of the medians
over the rounds (default 3): on a shared machine the load moves within seconds, so the two sides are
measured interleaved rather than one after the other.

    .venv/bin/python bench/large_media.py [--mb 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from common import (
    Report,
    StdioSession,
    fake_server,
    machine,
    median,
    our_server_argv,
    proc_status_kb,
    reset_peak_rss,
    scratch_dir,
    server_env,
    tool_error,
)

RSS_TARGET_MB = 64
SPEED_TARGET = 1.5
ARGS = {"media_type": "video", "backend": "grok", "prompt": "waves on a pebble beach", "duration": 1}


def unavailable() -> str | None:
    """Why the benchmark cannot run here, or None."""
    from generate_media.registry import load_registry
    from generate_media.spec import MediaType

    if "grok" not in [s.name for s in load_registry().serving(MediaType.VIDEO)]:
        return "no grok video backend in the registry (the backend whose fake serves a big streamed video)"
    try:
        from tests.fakes import xai_video
    except ImportError:
        return "tests/fakes/xai_video.py is missing"
    if not hasattr(xai_video, "big_mp4"):
        return "the xai video fake cannot serve a big body (fake.state['xai_video_big'])"
    if shutil.which("curl") is None:
        return "curl is not installed (apt-get install curl)"
    return None


def generate(session: StdioSession) -> tuple[float, dict[str, Any]]:
    """One video call, resumed by job_id while pending; (seconds, structured result)."""
    started = time.perf_counter()
    result = session.call_tool("generate_media", dict(ARGS), timeout=1800)
    while True:
        error = tool_error(result)
        if error:
            raise RuntimeError(f"generate_media failed: {error}")
        data = result.get("structuredContent") or {}
        if data.get("status") != "pending":
            return time.perf_counter() - started, data
        result = session.call_tool("generate_media", {"job_id": data["job_id"]}, timeout=1800)


def curl(url: str, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["curl", "-sSf", "-o", str(target), url], check=True, timeout=1800)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def saved_size(data: dict[str, Any]) -> int:
    items = data.get("items") or [{}]
    path = Path(items[0].get("path", ""))
    size = path.stat().st_size
    path.unlink()
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=500, help="padding in MiB added to the video (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of small call, curl, big call")
    args = parser.parse_args()

    report = Report(
        f"Large media: a {args.mb} MiB video download through generate_media vs curl ({machine()})",
        ("measure", "value", "unit"),
    )
    reason = unavailable()
    if reason:
        report.skip("peak RSS growth", reason)
        report.skip("download time vs curl", reason)
        report.print()
        return 0
    from tests.fakes.xai_video import PREFIX

    with fake_server() as fake, scratch_dir("large") as tmp:
        env = server_env(
            fake,
            tmp / "out",
            tmp / "state",
            GENERATE_MEDIA_POLL_INTERVAL_S="0.05",
            GENERATE_MEDIA_WAIT_BUDGET_S="1800",
            GENERATE_MEDIA_REQUEST_TIMEOUT_S="600",
        )
        url = f"{fake.url}{PREFIX}/_vidgen/bench.mp4"
        with StdioSession(our_server_argv(), env=env) as session:
            session.handshake()
            generate(session)  # warm-up: imports (httpx, av), connection setup
            before_kb = proc_status_kb(session.pid, "VmRSS")
            peak_reset = reset_peak_rss(session.pid)
            small_runs: list[float] = []
            big_runs: list[float] = []
            curl_runs: list[float] = []
            for n in range(args.rounds):
                fake.state["xai_video_big"] = 0
                small_s, small = generate(session)
                saved_size(small)
                small_runs.append(small_s)
                fake.state["xai_video_big"] = args.mb
                curl_runs.append(curl(url, tmp / "out" / f"curl-{n}.mp4"))
                big_s, big = generate(session)
                big_runs.append(big_s)
                size = saved_size(big)
            peak_kb = proc_status_kb(session.pid, "VmHWM")
            after_kb = proc_status_kb(session.pid, "VmRSS")

    growth_mb = (peak_kb - before_kb) / 1024
    small_s, big_s, curl_s = median(small_runs), median(big_runs), median(curl_runs)
    download_s = max(big_s - small_s, 1e-6)
    report.row("file size", size / 1e6, "MB")
    report.row("server RSS before", before_kb / 1024, "MiB")
    report.row("server peak RSS during", peak_kb / 1024, "MiB")
    report.row("server RSS after", after_kb / 1024, "MiB")
    report.row(f"generate_media call, big video (median of {args.rounds})", big_s, "s")
    report.row(f"generate_media call, 1 s video (median of {args.rounds})", small_s, "s")
    report.row("our download (difference)", download_s, "s")
    report.row("our throughput", size / download_s / 1e6, "MB/s")
    report.row(f"curl (median of {args.rounds})", curl_s, "s")
    report.row("curl throughput", size / curl_s / 1e6, "MB/s")
    if not peak_reset:
        report.note("could not reset the peak RSS counter (needs /proc/<pid>/clear_refs): growth is an upper bound")
    report.note(f"whole call / curl, without subtracting the fixed part: {big_s / curl_s:.2f}x")
    report.note(
        "rounds (ours, curl): "
        + ", ".join(f"{b - s:.2f}/{c:.2f} s" for s, b, c in zip(small_runs, big_runs, curl_runs, strict=True))
    )
    report.target("peak RSS growth", growth_mb, RSS_TARGET_MB, unit=" MiB")
    report.target("download time vs curl", download_s / curl_s, SPEED_TARGET)
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
