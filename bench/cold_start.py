"""Cold start: spawn the stdio server, ``initialize``, ``tools/list``, exit.

Measured for our server, for two peer media MCP servers from PyPI (``elevenlabs-mcp``,
``minimax-mcp``), for the seed's standalone server (``massgen``) when it installs, and for two
floors: a bare ``python -c pass`` and ``python -c "import mcp.server.mcpserver"`` (spawning
Python and importing the MCP server framework alone). Runs are interleaved round-robin so machine
noise hits every subject alike; the median of ``--runs`` runs is reported.

Peers are installed once into throwaway virtualenvs under /tmp/bench-peers (cached between runs;
``--reinstall-peers`` retries a failed install). They get placeholder keys: they refuse to start
without one set, but listing tools makes no provider call.

Also proves that no provider SDK is imported before the first call: our server runs once under
``python -X importtime`` through the same handshake and ``tools/list``, and the imported modules
are checked.

    /work/venv/bin/python bench/cold_start.py [--runs 10] [--no-peers] [--compare-src OTHER_CHECKOUT/src]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import PYTHON, Report, StdioSession, machine, median, our_server_argv, scratch_dir

PEERS_DIR = Path(os.environ.get("BENCH_PEERS_DIR", "/tmp/bench-peers"))
#: Modules that must not be loaded before the first generate_media call.
LAZY = (
    "openai",
    "google.genai",
    "elevenlabs",
    "cartesia",
    "xai_sdk",
    "httpx",
    "sqlalchemy",
    "av",
    "numpy",
    "piper",
    "PIL",
    "rich",
)
#: The SDKs the target names explicitly (and the state store's SQLAlchemy: it opens after the handshake).
PROVIDER_SDKS = ("openai", "google.genai", "elevenlabs", "cartesia", "sqlalchemy")


@dataclass
class Subject:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    handshake: bool = True  # floors only spawn and exit
    times: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)  # spawn to the tools/list answer
    tools: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Peer:
    name: str
    package: str
    argv: tuple[str, ...]  # relative to the venv's bin/
    env: tuple[tuple[str, str], ...]


PEERS = (
    Peer(
        "elevenlabs-mcp",
        "elevenlabs-mcp",
        ("elevenlabs-mcp",),
        (("ELEVENLABS_API_KEY", "placeholder-not-a-key"),),
    ),
    Peer(
        "minimax-mcp",
        "minimax-mcp",
        ("minimax-mcp",),
        (("MINIMAX_API_KEY", "placeholder-not-a-key"), ("MINIMAX_API_HOST", "https://api.minimax.io")),
    ),
    Peer("massgen media_server", "massgen", ("python", "-m", "massgen.mcp_tools.standalone.media_server"), ()),
)


# --- peers in throwaway venvs ---------------------------------------------------------------------


def ensure_peer(peer: Peer, reinstall: bool) -> tuple[Path | None, str | None]:
    """(venv, None) when installed, else (None, reason). Installs once; the result is cached."""
    venv = PEERS_DIR / peer.package
    ok, failed = venv / ".bench-ok", venv / ".bench-failed"
    if ok.exists():
        return venv, None
    if failed.exists() and not reinstall:
        return None, failed.read_text().strip()
    base = getattr(sys, "_base_executable", sys.executable)
    print(f"installing {peer.package} into {venv} (once; cached) ...", file=sys.stderr, flush=True)
    try:
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True, timeout=300)
        pip = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", peer.package],
            capture_output=True,
            text=True,
            timeout=1200,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        reason = f"install failed: {exc}"
    else:
        if pip.returncode == 0:
            ok.write_text("ok\n")
            return venv, None
        lines = [ln for ln in (pip.stderr or pip.stdout).splitlines() if ln.strip()]
        reason = "pip install failed: " + (lines[-1] if lines else f"exit {pip.returncode}")
    venv.mkdir(parents=True, exist_ok=True)
    failed.write_text(reason + "\n")
    return None, reason


def peer_subjects(base_env: dict[str, str], out: Path, reinstall: bool, report: Report) -> list[Subject]:
    subjects = []
    for peer in PEERS:
        venv, reason = ensure_peer(peer, reinstall)
        if venv is None:
            report.note(f"{peer.name} skipped: {reason}")
            continue
        argv = [str(venv / "bin" / peer.argv[0]), *peer.argv[1:]]
        env = {**base_env, **dict(peer.env)}
        env.update({"ELEVENLABS_MCP_BASE_PATH": str(out), "MINIMAX_MCP_BASE_PATH": str(out)})
        subjects.append(Subject(peer.name, argv, env))
    return subjects


# --- one run ------------------------------------------------------------------------------------


def run_once(subject: Subject) -> None:
    if not subject.handshake:
        started = time.perf_counter()
        subprocess.run(subject.argv, env=subject.env, check=True, stdin=subprocess.DEVNULL)
        subject.times.append(time.perf_counter() - started)
        return
    session = StdioSession(subject.argv, env=subject.env)
    try:
        session.handshake(timeout=60)
        listed = session.request("tools/list", timeout=60)
        subject.tools = len(listed.get("tools", []))
        subject.ready.append(time.perf_counter() - session.started)
    finally:
        elapsed = session.close()
    subject.times.append(elapsed)


def importtime(argv: list[str], env: dict[str, str], handshake: bool) -> dict[str, int]:
    """Modules a process loads (``-X importtime``) -> self microseconds. With ``handshake`` it is
    driven through initialize + tools/list first."""
    if handshake:
        session = StdioSession([PYTHON, "-X", "importtime", *argv], env=env)
        try:
            session.handshake()
            session.request("tools/list")
            listed_at = len(session.stderr)  # what the warm-up loads after the answer is not counted
        finally:
            session.close()
        text = session.stderr[:listed_at].decode("utf-8", "replace")
    else:
        done = subprocess.run([PYTHON, "-X", "importtime", *argv], env=env, capture_output=True, text=True, check=True)
        text = done.stderr
    modules: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            modules[parts[2].strip()] = int(parts[0].split(":")[1])
    return modules


def extra_imports(ours: dict[str, int], floor: dict[str, int]) -> list[tuple[float, str]]:
    """Self time of the modules we load beyond the floor, summed by top-level package (seconds)."""
    by_package: dict[str, int] = {}
    for name, micros in ours.items():
        if name not in floor:
            top = name.split(".")[0]
            by_package[top] = by_package.get(top, 0) + micros
    return sorted(((us / 1e6, name) for name, us in by_package.items()), reverse=True)


def loaded(modules: dict[str, int], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per subject (median reported; default 10)")
    parser.add_argument(
        "--slow-runs", type=int, default=3, help="runs for a subject whose warm-up took over 10 s (default 3)"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip the peer servers")
    parser.add_argument(
        "--compare-src",
        metavar="DIR",
        help="also run our server from another checkout's src/ (PYTHONPATH), e.g. a before/after in one run",
    )
    parser.add_argument("--reinstall-peers", action="store_true", help="retry peer installs that failed before")
    args = parser.parse_args()

    report = Report(
        f"Cold start: spawn, initialize, tools/list, exit (median of {args.runs}; {machine()})",
        ("subject", "median s", "min s", "listed at s", "x mcp floor", "x bare python", "tools"),
    )
    with scratch_dir("cold") as tmp:
        base_env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        base_env = {k: v for k, v in base_env.items() if not k.startswith("GENERATE_MEDIA_")}
        ours_env = {
            **base_env,
            "GENERATE_MEDIA_OUTPUT_DIR": str(tmp / "out"),
            "GENERATE_MEDIA_STATE_DIR": str(tmp / "state"),
        }
        bare = Subject("floor: python -c pass", [PYTHON, "-c", "pass"], base_env, handshake=False)
        floor = Subject(
            "floor: python + import mcp.server.mcpserver",
            [PYTHON, "-c", "import mcp.server.mcpserver"],
            base_env,
            handshake=False,
        )
        ours = Subject("generate-media-mcp (ours)", our_server_argv(), ours_env)
        subjects = [bare, floor, ours]
        if args.compare_src:
            other_env = {**ours_env, "PYTHONPATH": args.compare_src, "GENERATE_MEDIA_STATE_DIR": str(tmp / "state-2")}
            subjects.append(Subject(f"generate-media-mcp from {args.compare_src}", our_server_argv(), other_env))
        if not args.no_peers:
            subjects += peer_subjects(base_env, tmp / "peer-out", args.reinstall_peers, report)

        slow: set[str] = set()
        for subject in subjects:  # warm-up: page cache, .pyc files
            try:
                run_once(subject)
            except Exception as exc:
                subject.error = f"{type(exc).__name__}: {exc}"[:300]
            if subject.times and subject.times[0] > 10 and subject is not ours:
                slow.add(subject.name)  # keeps the run within minutes; said in the table
            subject.times.clear()
            subject.ready.clear()
        live = [s for s in subjects if s.error is None]
        for round_ in range(args.runs):
            random.shuffle(live)
            for subject in live:
                if subject.name not in slow or round_ < args.slow_runs:
                    run_once(subject)

        modules = importtime(["-m", "generate_media"], ours_env, handshake=True)
        top = extra_imports(modules, importtime(["-c", "import mcp.server.mcpserver"], base_env, handshake=False))

    floor_s, bare_s = median(floor.times), median(bare.times)
    for s in subjects:
        if s.error:
            report.row(s.name, "failed", "", "", "", "", "")
            report.note(f"{s.name} failed to start: {s.error}")
            continue
        m = median(s.times)
        ready = median(s.ready) if s.ready else ""
        label = f"{s.name} ({len(s.times)} runs)" if len(s.times) != args.runs else s.name
        report.row(label, m, min(s.times), ready, m / floor_s, m / bare_s, "" if s.tools is None else s.tools)
    ours_s = median(ours.times)
    for s in subjects[3:]:
        if not s.error:
            report.note(f"ours / {s.name} = {ours_s / median(s.times):.2f}x (below 1 = we start faster)")
    early = [m for m in LAZY if loaded(modules, m)]
    report.note("loaded before the first call (of " + ", ".join(LAZY) + "): " + (", ".join(early) or "none"))
    report.note(
        "what we import beyond the mcp floor (self time, under -X importtime): "
        + ", ".join(f"{n} {t * 1000:.0f} ms" for t, n in top[:8])
    )

    report.target("cold start vs python+mcp floor", ours_s / floor_s, 1.0 + 1e-9)
    sdks = [m for m in PROVIDER_SDKS if loaded(modules, m)]
    report.check(
        "provider SDKs (and SQLAlchemy) imported by the tools/list answer",
        not sdks,
        f"measured {len(sdks)} ({', '.join(sdks) or 'none'} of {', '.join(PROVIDER_SDKS)}), target 0",
    )
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
