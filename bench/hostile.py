"""Hostile and faulty cases against a running server (issue 13's reliability figures).

Our server runs as a real process (``generate-media-mcp``, over stdio, and ``--http`` where the class
is about HTTP), every provider is the loopback fake (in a thread of this process). Each class sends
many cases and counts, per class:

- crashes: no answer in time, the server process gone, a JSON-RPC internal error, a 5xx, or the
  catch-all ``internal error`` result;
- partial files: ``.gm-partial-*`` left anywhere under the output folder (or the scratch dirs);
- double submits: provider submits beyond one per distinct paid request;
- wrong: the case was answered, but not as the class requires (a path outside read or written, a
  private address reached, a session slot or token crossing, a fault that was not classified).

    /work/venv/bin/python bench/hostile.py [--only CLASS ...] [--crashes 4]

Exit code 1 when any class has a crash, a partial file, a double submit or a wrong answer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from common import BENCH_KEYS, Report, fake_server, machine, our_server_argv, scratch_dir, server_env
from session_flood import HEADERS as JSON_HEADERS
from session_flood import INITIALIZE

KEYS = {k: v for k, v in BENCH_KEYS.items() if k != "GOOGLE_API_KEY"}  # one Google key (the SDK warns on two)
KEYS.update({"FAL_KEY": "bench-key-fal", "REPLICATE_API_TOKEN": "bench-key-replicate"})
VERBOSE = [False]
ALICE, BOB = "alice-" + secrets.token_hex(12), "bob-" + secrets.token_hex(12)
CALL_TIMEOUT = 45.0
#: Codes that mean "an exception nobody translated".
CATCH_ALL = ("error", "internal")


@dataclass
class Tally:
    name: str
    cases: int = 0
    crashes: int = 0
    partial: int = 0
    double: int = 0
    wrong: int = 0
    examples: list[str] = field(default_factory=list)

    def bad(self, kind: str, what: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 4:
            self.examples.append(f"{kind}: {what[:160]}")


# --- outcomes ------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One tools/call: its result, or how it failed to get one."""

    result: Any = None
    failure: str = ""  # non-empty: a crash (no answer, protocol error, server gone)

    @property
    def code(self) -> str:
        if self.result is None or not self.result.is_error:
            return "ok"
        return str(((self.result.structured_content or {}).get("error") or {}).get("code") or "?")

    @property
    def text(self) -> str:
        if self.result is None:
            return self.failure
        blocks = self.result.content or []
        return str(getattr(blocks[0], "text", "")) if blocks else ""

    @property
    def crashed(self) -> str:
        if self.failure:
            return self.failure
        if self.code in CATCH_ALL or "internal error" in self.text:
            return self.text
        return ""

    @property
    def status(self) -> str:
        return str((self.result.structured_content or {}).get("status", "")) if self.result is not None else ""


async def call(client: Any, arguments: dict[str, Any], timeout: float = CALL_TIMEOUT) -> Answer:
    try:
        with anyio.fail_after(timeout):
            answer = Answer(result=await client.call_tool("generate_media", arguments))
    except TimeoutError:
        answer = Answer(failure=f"no answer in {timeout:g} s")
    except Exception as exc:  # a protocol error or a closed stream: no result
        answer = Answer(failure=f"{type(exc).__name__}: {exc}")
    if VERBOSE[0]:
        shown = {k: (v[:80] if isinstance(v, str) else v) for k, v in arguments.items()}
        print(f"  {shown} -> {answer.code}: {answer.text[:140]}", file=sys.stderr)
    return answer


def partials(*dirs: Path) -> list[Path]:
    return [p for d in dirs if d.exists() for p in d.rglob(".gm-partial-*")]


def files_in(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*") if p.is_file() or p.is_symlink()} if directory.exists() else set()


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Rig:
    fake: Any
    root: Path

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self, **extra: str) -> dict[str, str]:
        env = server_env(self.fake, self.out, self.state, GENERATE_MEDIA_POLL_INTERVAL_S="0.01", **extra)
        env.update(KEYS)
        env["HOME"] = str(self.home)
        return env

    def stdio(self, **extra: str) -> Any:
        from mcp import StdioServerParameters

        script = f'echo $$ > "{self.root}/server.pid"; exec {" ".join(our_server_argv())}'
        return StdioServerParameters(command="/bin/sh", args=["-c", script], env=self.env(**extra))

    def pid(self) -> int:
        return int((self.root / "server.pid").read_text())

    def alive(self) -> bool:
        with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
            os.kill(self.pid(), 0)
            return True
        return False


@contextlib.asynccontextmanager
async def stdio_client(params: Any) -> AsyncIterator[Any]:
    from mcp import Client

    async with Client(params, mode="legacy") as client:
        yield client


@contextlib.asynccontextmanager
async def http_server(rig: Rig, **extra: str) -> AsyncIterator[tuple[str, Any]]:
    from http_sessions import HttpServer

    env = rig.env(GENERATE_MEDIA_HTTP_TOKENS=f"alice:{ALICE},bob:{BOB}", **extra)
    server = HttpServer(env, no_auth=False)
    try:
        yield await anyio.to_thread.run_sync(server.wait_ready), server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def http_client(url: str, token: str, mode: str = "legacy") -> AsyncIterator[Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


# --- path escapes --------------------------------------------------------------------------------


def _escape_setup(rig: Rig) -> tuple[Path, Path, bytes]:
    from tests.fakes import media

    outside = rig.root / "outside"
    outside.mkdir(exist_ok=True)
    secret = media.noisy_png(40, 40)
    (outside / "secret.png").write_bytes(secret)
    ssh = rig.home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    if not (ssh / "id_rsa").exists():
        os.mkfifo(ssh / "id_rsa")  # opening it would block: proves nothing is opened
        (ssh / "id_ed25519").write_bytes(secret)
    rig.out.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        (rig.out / "link_out").symlink_to(outside)
        (rig.out / "link_secret.png").symlink_to(outside / "secret.png")
        os.mkfifo(rig.out / "fifo.png")
    (rig.out / "mine.png").write_bytes(media.png(16, 16))
    return outside, outside / "secret.png", secret


def escape_inputs(rig: Rig, outside: Path, secret: Path) -> list[str]:
    out = rig.out
    return [
        str(secret),
        secret.as_uri(),
        "file://localhost" + str(secret),
        "file://otherhost" + str(secret),
        str(out / ".." / "outside" / "secret.png"),
        "../outside/secret.png",
        "../../" * 8 + str(secret).lstrip("/"),
        str(out / "link_secret.png"),
        str(out / "link_out" / "secret.png"),
        "link_out/secret.png",
        "~/.ssh/id_ed25519",
        str(rig.home / ".ssh" / "id_ed25519"),
        str(rig.home / ".ssh" / "id_rsa"),
        "/etc/passwd",
        "/etc/shadow",
        "/proc/self/environ",
        "/proc/self/root" + str(secret),
        "/dev/zero",
        "/dev/stdin",
        str(out / "fifo.png"),
        str(out),
        "%2e%2e/outside/secret.png",
        str(out) + "/..%2foutside/secret.png",
        str(out / "mine.png") + "\x00.png",
        "．．/outside/secret.png",
        "..／outside／secret.png",
        "..\\outside\\secret.png",
        "/" + "a" * 5000 + ".png",
        str(out / "\u202egnp.png"),
    ]


def escape_output_dirs(rig: Rig, outside: Path) -> list[str]:
    return [
        str(outside),
        "../outside",
        "../../../../../tmp",
        "/tmp",
        "/",
        str(rig.out / "link_out"),
        "link_out",
        "link_out/sub",
        outside.as_uri(),
        "file:///tmp",
        "file:" + str(outside),
        "data:,x",
        "~",
        "~/x",
        "．．/outside",
        "..／outside",
        "‥/outside",
        "..\\outside",
        "sub/../../outside",
        "sub\x00x",
        "C:\\Windows",
        "//server/share",
        "http://example.com/x",
        "sub%2f..%2f..%2foutside",
        str(rig.home / ".ssh"),
        "/proc/self/cwd",
    ]


ESCAPE_FILENAMES = [
    "../outside/x",
    "/abs/x",
    "a/b",
    "..",
    ".",
    ".gm-partial-0123456789abcdef",
    "x\x00y",
    "CON",
    "a" * 300,
    "link_out/x",
    "~/x",
    "..\\x",
    "．．/x",
    "link_secret",
]


async def path_escapes(rig: Rig, tally: Tally, *, over_http: bool) -> None:
    outside, secret, _ = _escape_setup(rig)
    before_outside, before_home = files_in(outside), files_in(rig.home)
    refs = escape_inputs(rig, outside, secret)
    cases: list[tuple[dict[str, Any], str]] = []
    for ref in refs:
        cases.append(({"prompt": "x", "input_images": [ref]}, "refuse"))
        cases.append(({"prompt": "x", "input_images": [str(rig.out / "mine.png")], "mask": ref}, "refuse"))
    for folder in escape_output_dirs(rig, outside):
        cases.append(({"prompt": "x", "output_dir": folder}, "inside"))
    for name in ESCAPE_FILENAMES:
        cases.append(({"prompt": "x", "filename": name}, "inside"))
    if over_http:  # another principal's folder and the shared output root
        bob_area = rig.out / "clients" / "bob"
        bob_area.mkdir(parents=True, exist_ok=True)
        (bob_area / "bobs.png").write_bytes(secret.read_bytes())
        for ref in (str(bob_area / "bobs.png"), "../bob/bobs.png", (bob_area / "bobs.png").as_uri()):
            cases.append(({"prompt": "x", "input_images": [ref]}, "refuse"))
        for folder in (str(bob_area), "../bob", str(rig.out), str(rig.out / "clients")):
            cases.append(({"prompt": "x", "output_dir": folder}, "inside"))
    allowed = rig.out / "clients" / "alice" if over_http else rig.out

    async def run(client: Any) -> None:
        for arguments, expect in cases:
            tally.cases += 1
            before = files_in(rig.out)
            answer = await call(client, arguments)
            if answer.crashed:
                tally.bad("crashes", f"{arguments} -> {answer.crashed}")
                continue
            made = files_in(rig.out) - before
            if expect == "refuse" and answer.code == "ok":
                tally.bad("wrong", f"read outside: {arguments}")
            for path in made:
                if not path.resolve().is_relative_to(allowed.resolve()):
                    tally.bad("wrong", f"wrote {path} for {arguments}")

    if over_http:
        async with http_server(rig) as (url, _), http_client(url, ALICE) as client:
            await run(client)
    else:
        async with stdio_client(rig.stdio()) as client:
            await run(client)
    if files_in(outside) != before_outside or files_in(rig.home) != before_home:
        tally.bad("wrong", "a file outside the output folder changed")
    _leftover(tally, rig)


def _leftover(tally: Tally, rig: Rig) -> None:
    for path in partials(rig.root):
        tally.bad("partial", str(path))


# --- SSRF ----------------------------------------------------------------------------------------

PRIVATE_HOSTS = [
    "127.0.0.1",
    "127.1",
    "127.0.0.2",
    "0",
    "0.0.0.0",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "017700000001",
    "0177.0.0.1",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "ip6-localhost",
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[fd00::1]",
    "[fe80::1]",
    "[fd00:ec2::254]",
    "10.0.0.8",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.0.170",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "metadata.google.internal",
    "example.com@127.0.0.1",
    "127.0.0.1#@example.com",
]


async def ssrf(rig: Rig, tally: Tally) -> None:
    from tests.fakes import media

    rig.out.mkdir(parents=True, exist_ok=True)
    (rig.out / "mine.png").write_bytes(media.png(16, 16))
    port = rig.fake.port
    seen_before = len(rig.fake.of("files"))
    urls = []
    for host in PRIVATE_HOSTS:
        for scheme in ("http", "https"):
            urls.append(f"{scheme}://{host}:{port}/files/image.png")
        urls.append(f"http://{host}/files/image.png")
        urls.append(f"https://{host}:{port}/files/redirect?to=http://169.254.169.254/")
    # URLs no parser should accept, or that only fail when connecting.
    urls += [
        f"https://127.0.0.1:{port + 70000}/x.png",
        "https://8.8.8.8:99999/x.png",
        "https://8.8.8.8:-1/x.png",
        "https://[::1/x.png",
        "https://[fe80::1%25eth0]/x.png",
        "https://[::1]]/x.png",
        "https:///x.png",
        "https://:443/x.png",
        "https://user:pass@/x.png",
        "https://a b.example/x.png",
        "https://%zz/x.png",
        "https://" + "a" * 300 + ".example/x.png",
        "https://xn--/x.png",
        "https://.../x.png",
    ]
    # Plain http is allowed here, so the address check alone stands between the URL and the fake.
    async with stdio_client(rig.stdio(GENERATE_MEDIA_ALLOW_HTTP_URLS="1")) as client:
        for url in urls:
            for arguments in (
                {"prompt": "x", "input_images": [url]},
                {"prompt": "x", "input_images": [str(rig.out / "mine.png")], "mask": url},
            ):
                tally.cases += 1
                answer = await call(client, arguments, timeout=30)
                if answer.crashed:
                    tally.bad("crashes", f"{url} -> {answer.crashed}")
                elif answer.code == "ok":
                    tally.bad("wrong", f"fetched {url}")
    reached = len(rig.fake.of("files")) - seen_before
    if reached:
        tally.bad("wrong", f"{reached} requests reached the loopback fake")
    _leftover(tally, rig)


# --- sessions ------------------------------------------------------------------------------------


async def _answered(tally: Tally, what: str, request: Awaitable[Any], timeout: float | None = None) -> Any:
    """The HTTP response to ``request``, or None after counting a crash: no answer, or a 5xx."""
    try:
        with anyio.fail_after(timeout):
            response = await request
    except Exception as exc:
        tally.bad("crashes", f"{what}: {type(exc).__name__}")
        return None
    if response.status_code >= 500:
        tally.bad("crashes", f"{what}: HTTP {response.status_code}")
        return None
    return response


async def session_flood(rig: Rig, tally: Tally, opens: int = 400, cap: int = 8) -> None:
    import httpx2

    async with (
        http_server(rig, GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN=str(cap)) as (url, server),
        httpx2.AsyncClient(timeout=30) as http,
    ):
        opened: list[str] = []

        async def one() -> None:
            tally.cases += 1
            auth = {**JSON_HEADERS, "authorization": f"Bearer {ALICE}"}
            response = await _answered(tally, "open", http.post(url, json=INITIALIZE, headers=auth))
            if response is None:
                return
            if response.status_code == 200:
                opened.append(response.headers["mcp-session-id"])
            elif response.status_code != 429:
                tally.bad("wrong", f"open: HTTP {response.status_code}")

        for first in range(0, opens, 10):
            async with anyio.create_task_group() as tg:
                for _ in range(min(10, opens - first)):
                    tg.start_soon(one)
        if len(opened) > cap:
            tally.bad("wrong", f"one token holds {len(opened)} sessions (cap {cap})")
        # Another token's requests on alice's sessions: each must be refused.
        for sid in opened:
            for method in ("post", "delete"):
                tally.cases += 1
                headers = {**JSON_HEADERS, "authorization": f"Bearer {BOB}", "mcp-session-id": sid}
                headers["mcp-protocol-version"] = "2025-11-25"
                ping = {"jsonrpc": "2.0", "id": 5, "method": "ping"}
                if method == "post":
                    response = await http.post(url, json=ping, headers=headers)
                else:
                    response = await http.delete(url, headers=headers)
                if response.status_code >= 500:
                    tally.bad("crashes", f"cross-token {method}: HTTP {response.status_code}")
                elif response.status_code != 404:
                    tally.bad("wrong", f"cross-token {method}: HTTP {response.status_code}")
        tally.cases += 1
        async with http_client(url, BOB) as bob:
            answer = await call(bob, {"prompt": "bob still gets in"})
        if answer.crashed:
            tally.bad("crashes", answer.crashed)
        elif answer.code != "ok":
            tally.bad("wrong", f"the other token: {answer.text}")
        if server.proc.poll() is not None:
            tally.bad("crashes", "the HTTP server exited")
    _leftover(tally, rig)


# --- slow drip -----------------------------------------------------------------------------------


async def _providers(client: Any, fake: Any, backends: list[str]) -> dict[str, str]:
    """backend -> the fake provider name its requests arrive under (one clean call each)."""
    found = {}
    for backend in backends:
        fake.requests.clear()
        answer = await call(client, {"prompt": "probe", "backend": backend})
        if answer.code == "ok" and fake.requests:
            found[backend] = fake.requests[-1].provider
    return found


IMAGE_BACKENDS = ["openai", "google", "grok", "openrouter", "fal", "replicate"]


async def slow_drip(rig: Rig, tally: Tally, rates: tuple[float, ...] = (4, 16, 64)) -> None:
    body = json.dumps({"data": [{"b64_json": "A" * 2600}], "created": 1}).encode()
    extra = {
        "GENERATE_MEDIA_REQUEST_TIMEOUT_S": "0.5",
        "GENERATE_MEDIA_CALL_DEADLINE_S": "1.5",
        "GENERATE_MEDIA_MAX_RETRIES": "1",
    }
    async with stdio_client(rig.stdio(**extra)) as client:
        providers = await _providers(client, rig.fake, IMAGE_BACKENDS)
        for backend, provider in providers.items():
            for rate in rates:
                tally.cases += 1
                rig.fake.faults.clear()
                rig.fake.inject(f"^{provider}:", raw=body, drip=rate, times=100)
                answer = await call(client, {"prompt": "dripped", "backend": backend}, timeout=30)
                rig.fake.faults.clear()
                if answer.crashed:
                    tally.bad("crashes", f"{backend} at {rate} B/s: {answer.crashed}")
                elif answer.code != "timeout":
                    tally.bad("wrong", f"{backend} at {rate} B/s: {answer.text}")
    tally.examples.append(f"backends: {', '.join(providers)}")
    _leftover(tally, rig)


# --- nested JSON ---------------------------------------------------------------------------------

DEPTHS = [64, 200, 500, 1_000, 5_000, 20_000, 100_000]


def nested_lines() -> list[bytes]:
    lines = []
    for depth in DEPTHS:
        for open_, close in (("[", "]"), ('{"a":', "}"), ('[{"a":', "}]")):
            reps = depth // (2 if len(open_) > 4 else 1)
            value = open_ * reps + "0" * (open_ != "[") + close * reps
            if open_ == "[":
                value = "[" * depth + "]" * depth
            lines.append(value.encode())  # the whole message
            arguments = f'{{"prompt": "x", "extra": {value}}}'
            params = f'{{"name": "generate_media", "arguments": {arguments}}}'
            message = f'{{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {params}}}'
            lines.append(message.encode())
    return lines


async def nested_json(rig: Rig, tally: Tally) -> None:
    from common import StdioSession

    lines = nested_lines()
    with StdioSession(our_server_argv(), env=rig.env()) as session:
        session.handshake()
        for line in lines:
            tally.cases += 1
            assert session.proc.stdin is not None
            try:
                session.proc.stdin.write(line + b"\n")
                session.proc.stdin.flush()
                answer = session._read_message(time.monotonic() + 20)
            except Exception as exc:
                tally.bad("crashes", f"stdio depth line of {len(line)} B: {type(exc).__name__}")
                break
            if "error" not in answer and not answer.get("result", {}).get("isError"):  # shallow: a tool error
                tally.bad("wrong", f"stdio: {str(answer)[:100]}")
        tally.cases += 1
        try:
            session.request("tools/list", timeout=30)
        except Exception as exc:
            tally.bad("crashes", f"stdio after: {exc}")
    import httpx2

    async with http_server(rig) as (url, server), httpx2.AsyncClient(timeout=30) as http:
        for mode in ("legacy", "auto"):
            headers = {**JSON_HEADERS, "authorization": f"Bearer {ALICE}"}
            if mode == "legacy":
                opened = await http.post(url, json=INITIALIZE, headers=headers)
                headers.update(
                    {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
                )
            else:
                headers["mcp-protocol-version"] = "2026-07-28"
            for line in lines:
                tally.cases += 1
                response = await _answered(tally, f"http {mode}", http.post(url, content=line, headers=headers), 20)
                if response is None:
                    continue
                if "error" not in response.text and '"isError":true' not in response.text.replace(" ", ""):
                    tally.bad("wrong", f"http {mode}: HTTP {response.status_code} {response.text[:80]}")
            if mode == "legacy":
                await http.delete(url, headers=headers)
        if server.proc.poll() is not None:
            tally.bad("crashes", "the HTTP server exited")


# --- disk failures -------------------------------------------------------------------------------


def _limited(rig: Rig, limit: int) -> Any:
    from tests.disks import with_file_size_limit

    return with_file_size_limit(rig.env(GENERATE_MEDIA_PRIORITY_VIDEO="grok"), limit)


def _namespaced(rig: Rig, setup: str) -> Any:
    from mcp import StdioServerParameters

    script = f'{setup} && echo $$ > "{rig.root}/server.pid" && exec {" ".join(our_server_argv())}'
    args = ["--user", "--map-root-user", "--mount", "sh", "-c", script]
    return StdioServerParameters(command=shutil.which("unshare") or "unshare", args=args, env=rig.env())


async def _disk_cases(client: Any, tally: Tally, cases: list[dict[str, Any]], expect: tuple[str, ...]) -> None:
    for arguments in cases:
        tally.cases += 1
        answer = await call(client, arguments)
        if answer.crashed:
            tally.bad("crashes", f"{arguments} -> {answer.crashed}")
        elif answer.code not in expect:
            tally.bad("wrong", f"{arguments} -> {answer.code}: {answer.text}")
        elif answer.code != "ok" and "\n" in answer.text:
            tally.bad("wrong", f"multi-line error: {answer.text}")


IMAGE_CASES = [
    {"prompt": "big", "backend": "openai"},
    {"prompt": "big two", "backend": "openai", "n": 2},
    {"prompt": "big named", "backend": "openai", "filename": "named"},
    {"prompt": "big in sub", "backend": "openai", "output_dir": "sub"},
    {"prompts": ["a", "b", "c"], "backend": "openai"},
]


async def disk_failures(rig: Rig, tally: Tally) -> None:
    from tests.fakes import media

    rig.fake.state["openai_image_bytes"] = media.noisy_png(600, 600)  # ~1 MB
    rig.out.mkdir(parents=True, exist_ok=True)
    async with stdio_client(_limited(rig, 64 * 1024)) as client:  # writes past 64 KiB fail (EFBIG)
        await _disk_cases(client, tally, IMAGE_CASES * 2, ("disk_full",))
        rig.fake.state["xai_video_big"] = 2  # a 2 MiB video against the limit
        video = [{"media_type": "video", "backend": "grok", "prompt": f"clip {i}", "wait_s": 0} for i in range(3)]
        await _disk_cases(client, tally, video, ("disk_full",))
    rig.fake.state.pop("xai_video_big", None)
    _leftover(tally, rig)
    from tests.disks import namespaces_work

    if not namespaces_work():
        tally.examples.append("no user namespaces here: full tmpfs and read-only mounts skipped")
        return
    full = rig.root / "full"
    full.mkdir()
    ro = rig.root / "ro"
    ro.mkdir()
    mounts = {
        f'mount -t tmpfs -o size=64k tmpfs "{full}"': (
            [{**c, "output_dir": str(full)} for c in IMAGE_CASES],
            ("disk_full",),
        ),
        f'mount --bind "{ro}" "{ro}" && mount -o remount,bind,ro "{ro}"': (
            [{**c, "output_dir": str(ro / "sub"), "backend": "openai"} for c in IMAGE_CASES[:3]]
            + [{"prompt": "ro", "output_dir": str(ro)}],
            ("not_writable",),
        ),
    }
    for setup, (cases, expect) in mounts.items():
        extra_dirs = f"{full}:{ro}"
        params = _namespaced(rig, setup)
        params.env["GENERATE_MEDIA_ALLOWED_DIRS"] = extra_dirs
        async with stdio_client(params) as client:
            await _disk_cases(client, tally, cases, expect)
            seen = Path(f"/proc/{rig.pid()}/root") / str(full).lstrip("/")
            for path in seen.rglob(".gm-partial-*") if seen.exists() else []:
                tally.bad("partial", str(path))
    state_ro = f'mount --bind "{rig.state}" "{rig.state}" && mount -o remount,bind,ro "{rig.state}"'
    rig.state.mkdir(exist_ok=True)
    before = _submits(rig.fake)
    async with stdio_client(_namespaced(rig, state_ro)) as client:
        video = [{"media_type": "video", "backend": "grok", "prompt": f"state {i}"} for i in range(3)]
        await _disk_cases(client, tally, video, ("not_writable",))
    if _submits(rig.fake) != before:
        tally.bad("double", "a video was submitted with a read-only state folder")
    _leftover(tally, rig)


# --- malformed provider answers ------------------------------------------------------------------

MALFORMED = [
    b'{"data": [{"b64_json": ',
    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b"null",
    b"[]",
    b'"ok"',
    b"42",
    b"",
    b'{"data": "none", "candidates": 7, "choices": {"a": 1}, "images": null}',
    b'{"data": [{"b64_json": "!!!not base64!!!"}]}',
    b'{"data": [{"url": "javascript:alert(1)"}]}',
]
VIDEO_BACKENDS = ["grok", "google", "fal", "replicate"]


async def malformed(rig: Rig, tally: Tally) -> None:
    async with stdio_client(rig.stdio(GENERATE_MEDIA_MAX_RETRIES="1")) as client:
        providers = await _providers(client, rig.fake, IMAGE_BACKENDS)
        for backend, provider in providers.items():
            for body in MALFORMED:
                tally.cases += 1
                rig.fake.faults.clear()
                rig.fake.inject(f"^{provider}:", raw=body, times=100)
                answer = await call(client, {"prompt": "malformed", "backend": backend})
                rig.fake.faults.clear()
                if answer.crashed:
                    tally.bad("crashes", f"{backend} {body[:20]!r}: {answer.crashed}")
                elif answer.code not in ("bad_provider_response", "not_found"):
                    tally.bad("wrong", f"{backend} {body[:20]!r}: {answer.code} {answer.text}")
        for backend in VIDEO_BACKENDS:
            for body in MALFORMED[1:6]:
                tally.cases += 1
                rig.fake.faults.clear()
                rig.fake.inject(r"^(openai|xai|google|gemini|replicate|fal):POST ", raw=body, times=100)
                answer = await call(client, {"media_type": "video", "prompt": "waves", "backend": backend})
                rig.fake.faults.clear()
                if answer.crashed:
                    tally.bad("crashes", f"video {backend} {body[:20]!r}: {answer.crashed}")
                elif answer.code not in ("bad_provider_response", "invalid_request"):
                    tally.bad("wrong", f"video {backend} {body[:20]!r}: {answer.code} {answer.text}")
    _leftover(tally, rig)


# --- submit crashes and retries ------------------------------------------------------------------

VIDEO = {"media_type": "video", "backend": "grok"}


def _submits(fake: Any) -> int:
    return len([r for r in fake.of("xai", "/videos/generations") if r.method == "POST"])


async def _until(condition: Callable[[], bool], timeout: float) -> bool:
    with anyio.move_on_after(timeout):
        while not condition():
            await anyio.sleep(0.02)
        return True
    return False


async def submit_crashes(rig: Rig, tally: Tally, kills: int = 4) -> None:
    rig.fake.inject(r"xai:POST /xai/v1/videos/generations$", delay=120, times=kills)
    params = rig.stdio(GENERATE_MEDIA_MAX_JOBS_PER_CLIENT="1")
    prompts = [f"crash {i % 2}" for i in range(kills)]  # two distinct requests, each killed twice
    for prompt in prompts:
        tally.cases += 1
        before = _submits(rig.fake)
        with contextlib.suppress(Exception):
            async with stdio_client(params) as client, anyio.create_task_group() as tg:
                tg.start_soon(call, client, {**VIDEO, "prompt": prompt})
                if not await _until(lambda b=before: _submits(rig.fake) > b, 60):
                    tally.bad("wrong", "the submit never reached the provider")
                os.kill(rig.pid(), 9)
                tg.cancel_scope.cancel()
    rig.fake.faults.clear()
    killed = _submits(rig.fake)
    finished = 0
    async with stdio_client(params) as client:
        for prompt in [*sorted(set(prompts)), "after the crashes"]:
            tally.cases += 1
            answer = await call(client, {**VIDEO, "prompt": prompt, "wait_s": 0}, timeout=60)
            if answer.crashed:
                tally.bad("crashes", answer.crashed)
            elif answer.status != "completed":
                tally.bad("wrong", f"{prompt}: {answer.code} {answer.text}")  # limit_exceeded = locked out
            else:
                finished += 1
    extra = _submits(rig.fake) - killed - finished
    if extra:
        tally.bad("double", f"{extra} submits beyond one per finished request")
    _leftover(tally, rig)


async def other_waits(rig: Rig, tally: Tally, prompts: int = 4) -> None:
    rig.fake.state["xai_video_hold"] = True
    before = _submits(rig.fake)
    variants: list[dict[str, Any]] = [
        {"wait_s": 0.05},
        {"wait_s": 0.1},
        {"wait_s": 0.3},
        {"wait_s": 0.05, "output_dir": "elsewhere"},
        {"wait_s": 0.05, "filename": "mine"},
        {"wait_s": 0.05, "preview": False},
        {"wait_s": 0.05, "backend": "grok"},
    ]
    job_ids: dict[str, set[str]] = {}
    async with stdio_client(rig.stdio()) as first, stdio_client(rig.stdio()) as second:
        for i in range(prompts):
            prompt = f"waited {i}"
            for variant in variants:
                tally.cases += 1
                answer = await call(first, {**VIDEO, "prompt": prompt, **variant})
                if answer.crashed:
                    tally.bad("crashes", answer.crashed)
                    continue
                job_ids.setdefault(prompt, set()).add(str((answer.result.structured_content or {}).get("job_id")))

            async def twin(client: Any, p: str = prompt) -> None:  # the same request at once, two servers
                tally.cases += 1
                answer = await call(client, {**VIDEO, "prompt": p, "wait_s": 0.1})
                if answer.crashed:
                    tally.bad("crashes", answer.crashed)
                else:
                    sc = answer.result.structured_content or {}
                    job_ids[p].add(str(sc.get("job_id") or sc.get("error", {}).get("job_id")))

            async with anyio.create_task_group() as tg:
                tg.start_soon(twin, first)
                tg.start_soon(twin, second)
        rig.fake.state["xai_video_hold"] = False
        for prompt in job_ids:
            tally.cases += 1
            answer = await call(second, {**VIDEO, "prompt": prompt, "wait_s": 0}, timeout=60)
            if answer.crashed:
                tally.bad("crashes", answer.crashed)
            elif answer.status != "completed":
                tally.bad("wrong", f"{prompt}: {answer.text}")
    for prompt, ids in job_ids.items():
        if len(ids - {"None"}) != 1:
            tally.bad("wrong", f"{prompt}: jobs {sorted(ids)}")
    extra = _submits(rig.fake) - before - prompts
    if VERBOSE[0]:
        posts = [(r.path, (r.json or {}).get("prompt")) for r in rig.fake.of("xai", "/videos/generations")]
        print(f"  submits: {[p for p in posts if p[1]]}", file=sys.stderr)
    if extra:
        tally.bad("double", f"{extra} extra submits for {prompts} distinct videos")
    _leftover(tally, rig)


# --- the run -------------------------------------------------------------------------------------

CLASSES: dict[str, Callable[[Rig, Tally], Awaitable[None]]] = {
    "path escapes (stdio)": lambda rig, t: path_escapes(rig, t, over_http=False),
    "path escapes (HTTP)": lambda rig, t: path_escapes(rig, t, over_http=True),
    "SSRF": ssrf,
    "session flood (HTTP)": session_flood,
    "slow drip": slow_drip,
    "nested JSON": nested_json,
    "disk failures": disk_failures,
    "malformed provider answers": malformed,
    "submit crashes": submit_crashes,
    "retries with other wait_s": other_waits,
}


async def run_class(name: str, fn: Callable[[Rig, Tally], Awaitable[None]], fake: Any) -> Tally:
    tally = Tally(name)
    with scratch_dir("hostile") as root:
        rig = Rig(fake, root)
        rig.home.mkdir(parents=True, exist_ok=True)
        fake.reset()
        started = time.perf_counter()
        try:
            await fn(rig, tally)
        except Exception as exc:  # the harness itself, or a server that would not start: a crash
            tally.bad("crashes", f"{type(exc).__name__}: {exc}")
        tally.examples.append(f"{time.perf_counter() - started:.0f} s")
        fake.reset()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="classes to run (substring of the name)")
    parser.add_argument("--verbose", action="store_true", help="print every call and its answer on stderr")
    args = parser.parse_args()
    VERBOSE[0] = args.verbose
    chosen = {n: f for n, f in CLASSES.items() if not args.only or any(o.lower() in n.lower() for o in args.only)}
    columns = ("class", "cases", "crashes", "partial files", "double submits", "wrong")
    report = Report(f"Hostile and faulty cases ({machine()})", columns)
    tallies = []
    with fake_server() as fake:
        for name, fn in chosen.items():
            tally = anyio.run(run_class, name, fn, fake)
            tallies.append(tally)
            report.row(tally.name, tally.cases, tally.crashes, tally.partial, tally.double, tally.wrong)
            for line in tally.examples:
                report.note(f"{tally.name}: {line}")
    total = Tally("total")
    for t in tallies:
        for attr in ("cases", "crashes", "partial", "double", "wrong"):
            setattr(total, attr, getattr(total, attr) + getattr(t, attr))
    report.row("total", total.cases, total.crashes, total.partial, total.double, total.wrong)
    report.check("crashes", total.crashes == 0, f"{total.crashes} of {total.cases}")
    report.check("partial files", total.partial == 0, str(total.partial))
    report.check("double submits", total.double == 0, str(total.double))
    report.check("answered as the class requires", total.wrong == 0, f"{total.wrong} wrong")
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
