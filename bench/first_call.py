"""The first call of a session against the later ones (issue 19).

For each backend: a fresh stdio server with only that backend's key (``--all-keys``: every key),
against the loopback fake with no added latency; ``initialize``, ``tools/list``, a pause (what a
person takes to type the first request: the server is idle), then ``--calls`` identical image or
speech calls. Reported per backend: the first call, the median of the later ones, their difference,
the server's CPU time during the pause (what the warm-up cost: on a quiet machine it takes about that
long, on a loaded one longer), and its RSS after ``tools/list``, after the pause and after the calls.
PASS when the worst difference is at most ``--limit-ms`` (100 ms).

``--warm-up off`` sets GENERATE_MEDIA_WARM_UP=0 (what the server did before issue 19); ``both`` runs
the two one after the other. ``--importtime`` also runs each server under ``python -X importtime``
and lists the biggest imports that happen after ``tools/list`` (on the first call or in warm-up).

    /work/venv/bin/python bench/first_call.py [--pause 2] [--calls 5] [--warm-up on|off|both] [--all-keys]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from typing import Any

from common import (
    BENCH_KEYS,
    PYTHON,
    Report,
    StdioSession,
    fake_server,
    machine,
    median,
    our_server_argv,
    proc_status_kb,
    scratch_dir,
    server_env,
    tool_error,
)

IMAGE = {"media_type": "image", "prompt": "a lighthouse in fog"}
SPEECH = {"media_type": "audio", "prompt": "Hello there, and welcome."}
#: backend -> (the key that enables it, the call made)
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    backend: (key, {**call, "backend": backend})
    for backend, key, call in (
        ("openai", "OPENAI_API_KEY", IMAGE),
        ("google", "GEMINI_API_KEY", IMAGE),
        ("grok", "XAI_API_KEY", IMAGE),
        ("openrouter", "OPENROUTER_API_KEY", IMAGE),
        ("elevenlabs", "ELEVENLABS_API_KEY", SPEECH),
        ("fal", "FAL_KEY", IMAGE),
        ("replicate", "REPLICATE_API_TOKEN", IMAGE),
        ("cartesia", "CARTESIA_API_KEY", SPEECH),
    )
}


@dataclass
class Run:
    backend: str
    times_ms: list[float] = field(default_factory=list)
    rss_listed_mib: float = 0.0
    rss_paused_mib: float = 0.0
    rss_end_mib: float = 0.0
    pause_cpu_ms: float = 0.0  # the server's CPU time during the pause: the warm-up's cost, whatever the load
    imports: list[tuple[int, str]] = field(default_factory=list)  # (self µs, module) after tools/list

    @property
    def first(self) -> float:
        return self.times_ms[0]

    @property
    def later(self) -> float:
        return median(self.times_ms[1:])

    @property
    def extra(self) -> float:
        return self.first - self.later


def _rss_mib(pid: int) -> float:
    return proc_status_kb(pid, "VmRSS") / 1024


def _cpu_ms(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/<pid>/stat``, all its threads)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _imports_after_listing(stderr: str, listed_at: int) -> list[tuple[int, str]]:
    """``-X importtime`` lines written after the tools/list answer: (self µs, module), largest first."""
    found = []
    for line in stderr[listed_at:].splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[0].split(":")[1].strip().isdigit():
            found.append((int(parts[0].split(":")[1]), parts[2].strip()))
    return sorted(found, reverse=True)


def run_backend(backend: str, fake: Any, tmp: Any, args: argparse.Namespace, warm_up: bool, trace: bool) -> Run:
    key, arguments = CALLS[backend]
    env = server_env(fake, tmp / f"out-{backend}", tmp / f"state-{backend}", GENERATE_MEDIA_WARM_UP=str(int(warm_up)))
    env["ELEVENLABS_API_KEY"] = "test-key-elevenlabs-bench"  # the ElevenLabs fake checks the key's prefix
    if not args.all_keys:
        for name in BENCH_KEYS:
            if name != key:
                env.pop(name, None)
    argv = [PYTHON, "-X", "importtime", "-m", "generate_media"] if trace else our_server_argv()
    run = Run(backend)
    session = StdioSession(argv, env=env)
    try:
        session.handshake()
        session.request("tools/list")
        listed_at = len(session.stderr)
        run.rss_listed_mib = _rss_mib(session.pid)
        cpu = _cpu_ms(session.pid)
        time.sleep(args.pause)
        run.pause_cpu_ms = _cpu_ms(session.pid) - cpu
        run.rss_paused_mib = _rss_mib(session.pid)
        for _ in range(args.calls):
            started = time.perf_counter()
            result = session.call_tool("generate_media", dict(arguments))
            run.times_ms.append((time.perf_counter() - started) * 1000)
            if error := tool_error(result):
                raise RuntimeError(f"{backend}: generate_media failed: {error}")
        run.rss_end_mib = _rss_mib(session.pid)
    finally:
        session.close()
    if trace:
        run.imports = _imports_after_listing(session.stderr.decode("utf-8", "replace"), listed_at)
    return run


def report_for(runs: list[Run], args: argparse.Namespace, warm_up: bool) -> Report:
    keys = "every key set" if args.all_keys else "only its own key set"
    report = Report(
        f"First call vs later calls, warm-up {'on' if warm_up else 'off'}: fresh server per backend ({keys}), "
        f"{args.pause:g} s pause after tools/list, {args.calls} calls ({machine()})",
        (
            "backend",
            "first ms",
            "later median ms",
            "extra ms",
            "CPU in pause ms",
            "RSS listed MiB",
            "RSS paused MiB",
            "RSS end MiB",
        ),
    )
    for run in runs:
        report.row(
            run.backend,
            run.first,
            run.later,
            run.extra,
            run.pause_cpu_ms,
            run.rss_listed_mib,
            run.rss_paused_mib,
            run.rss_end_mib,
        )
    for run in runs:
        if run.imports:
            top = ", ".join(f"{name} {micros / 1000:.0f} ms" for micros, name in run.imports[:6])
            report.note(f"{run.backend}: largest imports after tools/list (self time): {top}")
    worst = max(runs, key=lambda r: r.extra)
    report.target(f"worst extra on the first call ({worst.backend})", worst.extra, args.limit_ms + 1e-9, unit=" ms")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pause", type=float, default=2.0, help="seconds idle after tools/list (default 2)")
    parser.add_argument("--calls", type=int, default=5, help="identical calls per backend (default 5)")
    parser.add_argument("--warm-up", choices=("on", "off", "both"), default="on", help="GENERATE_MEDIA_WARM_UP")
    parser.add_argument("--all-keys", action="store_true", help="every backend's key set in every server")
    parser.add_argument("--backends", default=",".join(CALLS), help="comma-separated (default: all keyed)")
    parser.add_argument("--limit-ms", type=float, default=100.0, help="PASS threshold for the extra (default 100)")
    parser.add_argument("--importtime", action="store_true", help="list the imports that happen after tools/list")
    args = parser.parse_args()
    if args.calls < 2:
        parser.error("--calls must be at least 2 (a first call and later ones)")

    modes = {"on": [True], "off": [False], "both": [False, True]}[args.warm_up]
    failed = False
    backends = [b.strip() for b in args.backends.split(",")]
    with fake_server() as fake, scratch_dir("first-call") as tmp:
        fake.state["fal_plan"] = [("done",)]  # fal's queue answers at the first status read (no poll wait)
        # The fake does first-time work of its own (encoding its media): pay it before measuring.
        primer = argparse.Namespace(**{**vars(args), "pause": 0.0, "calls": 1})
        for backend in backends:
            run_backend(backend, fake, tmp, primer, False, False)
        for warm_up in modes:
            runs = [run_backend(b, fake, tmp, args, warm_up, args.importtime) for b in backends]
            report = report_for(runs, args, warm_up)
            report.print()
            failed |= report.failed
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
