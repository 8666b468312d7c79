"""Shared helpers for the benchmarks: a minimal JSON-RPC client over stdio, the loopback fake,
process memory readings, statistics and the table and summary-line printers.

The client side of every benchmark is deliberately small and identical for every server measured
(ours and the peers), so differences come from the servers. Absolute times on a shared 2-core
machine are noise: each script reports ratios measured in the same run.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(REPO / "src") not in sys.path:
    sys.path.insert(1, str(REPO / "src"))

VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
#: The handshake-era protocol version every stdio server here speaks.
PROTOCOL = "2025-11-25"

#: Fake keys: never real ones. The loopback fake only checks that one is present.
BENCH_KEYS = {
    "OPENAI_API_KEY": "bench-key-openai",
    "GEMINI_API_KEY": "bench-key-gemini",
    "GOOGLE_API_KEY": "bench-key-google",
    "XAI_API_KEY": "bench-key-xai",
    "OPENROUTER_API_KEY": "bench-key-openrouter",
    "ELEVENLABS_API_KEY": "bench-key-elevenlabs",
    "FAL_KEY": "bench-key-fal",
    "REPLICATE_API_TOKEN": "bench-key-replicate",
    "CARTESIA_API_KEY": "bench-key-cartesia",
}


class RpcError(RuntimeError):
    """The server answered with a JSON-RPC error, died, or did not answer in time."""


# --- a minimal JSON-RPC client over a child's stdio ---------------------------------------------


class StdioSession:
    """Spawns a server and speaks newline-delimited JSON-RPC to it.

    Lines on stdout that are not JSON (some servers print a banner) are counted and skipped.
    """

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        self.argv = list(argv)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ, "out")
        self._sel.register(self.proc.stderr, selectors.EVENT_READ, "err")
        self._buf = b""
        self.stderr = bytearray()
        self.noise_lines = 0
        self.notifications: list[dict[str, Any]] = []
        self._next_id = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})})

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        rid = self._next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == rid and ("result" in message or "error" in message):
                if "error" in message:
                    raise RpcError(f"{method}: {message['error']}")
                return dict(message["result"])
            if "method" in message and "id" not in message:
                self.notifications.append(message)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    return dict(json.loads(line))
                except ValueError:
                    self.noise_lines += 1
            self._fill(deadline)

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RpcError(f"no answer in time from {self.argv[0]}; stderr tail: {self.stderr_tail()}")
        for key, _ in self._sel.select(timeout=min(remaining, 1.0)):
            chunk = os.read(key.fileobj.fileno(), 1 << 20)  # type: ignore[union-attr]
            if key.data == "err":
                self.stderr.extend(chunk)
                if not chunk:
                    self._sel.unregister(key.fileobj)
                continue
            if not chunk:
                raise RpcError(f"{self.argv[0]} exited (code {self.proc.poll()}); stderr tail: {self.stderr_tail()}")
            self._buf += chunk

    def stderr_tail(self, n: int = 400) -> str:
        return bytes(self.stderr[-n:]).decode("utf-8", "replace").strip()

    def handshake(self, timeout: float = 60.0) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
            timeout=timeout,
        )
        self.notify("notifications/initialized")
        return result

    def call_tool(self, name: str, arguments: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": arguments}, timeout=timeout)

    def close(self, timeout: float = 10.0) -> float:
        """Close stdin and wait for the process to exit; returns seconds since spawn."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with suppress(BrokenPipeError):
                self.proc.stdin.close()
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
                break
            self._drain(0.05)
        ended = time.perf_counter() - self.started
        self._drain(0)
        self._sel.close()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return ended

    def _drain(self, wait: float) -> None:
        for key, _ in self._sel.select(timeout=wait):
            chunk = os.read(key.fileobj.fileno(), 1 << 20)  # type: ignore[union-attr]
            if not chunk:
                self._sel.unregister(key.fileobj)
            elif key.data == "err":
                self.stderr.extend(chunk)

    def __enter__(self) -> StdioSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the loopback fake --------------------------------------------------------------------------


@contextmanager
def fake_server() -> Iterator[Any]:
    """The tests' loopback provider fake, started in a thread of this process."""
    from tests.fakes import start_fake

    fake = start_fake()
    try:
        yield fake
    finally:
        fake.stop()


def server_env(fake: Any, out_dir: Path, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for our server: every base URL pointed at the fake, fake keys, private dirs."""
    from tests.fakes import fake_env

    env = {k: v for k, v in os.environ.items() if k not in BENCH_KEYS and not k.endswith(("_API_KEY", "_BASE_URL"))}
    env = {k: v for k, v in env.items() if not k.startswith("GENERATE_MEDIA_")}
    env.update(fake_env(fake))
    env.update(BENCH_KEYS)
    env["GENERATE_MEDIA_OUTPUT_DIR"] = str(out_dir)
    env["GENERATE_MEDIA_STATE_DIR"] = str(state_dir)
    env.update(extra)
    return env


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def our_server_argv() -> list[str]:
    """The installed console script, as an MCP client would launch it."""
    script = VENV_BIN / "generate-media-mcp"
    return [str(script)] if script.exists() else [PYTHON, "-m", "generate_media"]


def tool_error(result: dict[str, Any]) -> str | None:
    """The error text of a tools/call result, or None when it succeeded."""
    if not result.get("isError"):
        return None
    blocks = result.get("content") or [{}]
    return str(blocks[0].get("text", "error"))


# --- process memory -----------------------------------------------------------------------------


def proc_status_kb(pid: int, field_name: str) -> int:
    """A ``/proc/<pid>/status`` field in KiB (VmRSS = now, VmHWM = peak)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def reset_peak_rss(pid: int) -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of a process; False when not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


# --- statistics and printing --------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Report:
    """A small table plus one summary line per target."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    failed: bool = False

    def row(self, *cells: Any) -> None:
        self.rows.append(cells)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def target(self, name: str, measured: float, target: float, *, unit: str = "x", below: bool = True) -> bool:
        ok = measured < target if below else measured > target
        self.failed |= not ok
        sign = "<" if below else ">"
        self.targets.append(
            f"{name}: measured {measured:.3g}{unit}, target {sign} {target:g}{unit}: {'PASS' if ok else 'FAIL'}"
        )
        return ok

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.failed |= not ok
        self.targets.append(f"{name}: {detail}: {'PASS' if ok else 'FAIL'}")
        return ok

    def skip(self, name: str, reason: str) -> None:
        self.targets.append(f"{name}: SKIP ({reason})")

    def print(self) -> None:
        cells = [[_fmt(c) for c in row] for row in self.rows]
        widths = [
            max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(self.columns)
        ]
        print(f"\n{self.title}")
        print("  ".join(str(h).ljust(w) for h, w in zip(self.columns, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for row in cells:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        for text in self.notes:
            print(f"note: {text}")
        print()
        for line in self.targets:
            print(line)
        sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def machine() -> str:
    cores = os.cpu_count()
    try:
        with open("/proc/meminfo") as fh:
            total_kb = int(fh.readline().split()[1])
        mem = f"{total_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        mem = "?"
    return f"{cores} cores, {mem} RAM, Python {sys.version.split()[0]}"
