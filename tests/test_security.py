"""Security through the front door: file confinement, URL (SSRF) rules, secrets never emitted,
per-client isolation of continuation and job ids."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import sys
import warnings
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from generate_media import cli
from generate_media.config import Settings
from generate_media.downloads import is_public as _is_public
from generate_media.server import create_server
from generate_media.service import MediaService
from tests.conftest import KEYS
from tests.fakes import media


def _code(result) -> str:
    assert result.is_error, result.content
    text = result.content[0].text
    assert "\n" not in text
    return result.structured_content["error"]["code"]


def _leftovers(*dirs: Path) -> list[Path]:
    return [p for d in dirs if d.exists() for p in d.rglob("*") if p.name.startswith(".gm-partial-")]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A HOME with a private key that must never be read: a FIFO, so opening it would block."""
    home = tmp_path / "home"
    ssh = home / ".ssh"
    ssh.mkdir(parents=True)
    os.mkfifo(ssh / "id_rsa")
    (ssh / "id_ed25519").write_bytes(media.png(8, 8))  # a readable one, to prove nothing is sent
    monkeypatch.setenv("HOME", str(home))
    return home


# --- file confinement ----------------------------------------------------------------------------


async def test_reading_the_ssh_key_is_refused_before_a_byte_is_read(make_server, fake, home, out_dir, mode):
    attempts = [
        {"input_images": ["~/.ssh/id_rsa"]},
        {"input_images": [str(home / ".ssh" / "id_rsa")]},
        {"input_images": [(home / ".ssh" / "id_rsa").as_uri()]},
        {"input_images": [str(out_dir / ".." / "home" / ".ssh" / "id_rsa")]},
        {"input_images": [str(home / ".ssh" / "id_ed25519")]},
        {"mask": str(home / ".ssh" / "id_ed25519"), "input_images": [str(home / ".ssh" / "id_ed25519")]},
    ]
    async with Client(make_server("OPENAI_API_KEY"), mode=mode) as client:
        for args in attempts:
            with anyio.fail_after(10):  # opening the FIFO would block here forever
                result = await client.call_tool("generate_media", {"prompt": "steal", **args})
            assert _code(result) == "access_denied", args
            assert "outside the allowed directories" in result.content[0].text
    assert fake.of("openai") == []  # the provider never saw a byte
    assert list(out_dir.iterdir()) == []


async def test_symlinks_are_resolved_before_the_check(make_server, fake, home, out_dir):
    (out_dir / "innocent.png").symlink_to(home / ".ssh" / "id_ed25519")
    (out_dir / "folder").symlink_to(home / ".ssh", target_is_directory=True)
    inside = out_dir / "real.png"
    inside.write_bytes(media.png(16, 16))
    (out_dir / "alias.png").symlink_to(inside)
    async with Client(make_server("OPENAI_API_KEY")) as client:
        escapes = [
            await client.call_tool("generate_media", {"prompt": "x", "input_images": [str(out_dir / "innocent.png")]}),
            await client.call_tool(
                "generate_media", {"prompt": "x", "input_images": [str(out_dir / "folder" / "id_ed25519")]}
            ),
            await client.call_tool("generate_media", {"prompt": "x", "output_dir": str(out_dir / "folder")}),
        ]
        fine = await client.call_tool("generate_media", {"prompt": "x", "input_images": [str(out_dir / "alias.png")]})
    assert [_code(r) for r in escapes] == ["access_denied"] * 3
    assert not fine.is_error, fine.content
    assert [e.files("image")[0][1] for e in fake.of("openai", "/images/edits")] == [inside.read_bytes()]
    assert not (home / ".ssh" / "generated").exists() and not _leftovers(home, out_dir)


async def test_fifos_devices_and_directories_are_refused_without_blocking(make_server, fake, out_dir, tmp_path):
    os.mkfifo(out_dir / "pipe.png")
    (out_dir / "dir.png").mkdir()
    server = make_server("OPENAI_API_KEY", allowed_dirs=(Path("/dev"),))
    async with Client(server) as client:
        for ref in (out_dir / "pipe.png", out_dir / "dir.png", Path("/dev/zero"), Path("/dev/urandom")):
            with anyio.fail_after(10):
                result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [str(ref)]})
            assert _code(result) == "access_denied", ref
            assert "not a regular file" in result.content[0].text
    assert fake.of("openai") == []


async def test_outputs_stay_inside_the_allowed_directories(make_server, fake, out_dir, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    cases = [
        ({"output_dir": str(tmp_path / "elsewhere")}, "access_denied"),
        ({"output_dir": str(out_dir / ".." / "elsewhere")}, "access_denied"),
        ({"output_dir": "/tmp"}, "access_denied"),
        ({"filename": "../../elsewhere/x"}, "invalid_request"),
        ({"filename": "/etc/cron.d/x"}, "invalid_request"),
        ({"filename": "a\\..\\b"}, "invalid_request"),
    ]
    async with Client(make_server("OPENAI_API_KEY")) as client:
        for args, code in cases:
            assert _code(await client.call_tool("generate_media", {"prompt": "x", **args})) == code, args
        sub = await client.call_tool("generate_media", {"prompt": "x", "output_dir": "sub"})  # relative: under out
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert Path(sub.structured_content["items"][0]["path"]).parent == (out_dir / "sub").resolve()


async def test_allowed_dirs_widen_confinement(make_server, fake, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.png").write_bytes(media.png(16, 16))
    settings = Settings.from_env({"GENERATE_MEDIA_ALLOWED_DIRS": f"{shared}{os.pathsep}/nonexistent"})
    assert settings.allowed_dirs == (shared, Path("/nonexistent"))
    async with Client(make_server("OPENAI_API_KEY", allowed_dirs=settings.allowed_dirs)) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [str(shared / "in.png")]})
    assert not result.is_error, result.content


async def test_a_clients_mcp_roots_are_allowed_only_for_that_client(make_server, fake, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "in.png").write_bytes(media.png(16, 16))
    asked: list[int] = []

    async def roots(_ctx) -> types.ListRootsResult:
        asked.append(1)
        return types.ListRootsResult(roots=[types.Root(uri=project.as_uri(), name="project")])

    server = make_server("OPENAI_API_KEY")
    args = {"prompt": "x", "input_images": [str(project / "in.png")]}
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        with_roots = await client.call_tool("generate_media", args)
        out_to_root = await client.call_tool("generate_media", {"prompt": "y", "output_dir": str(project)})
    async with Client(server, mode="legacy") as other:
        without = await other.call_tool("generate_media", args)
    assert asked and not with_roots.is_error, with_roots.content
    assert Path(out_to_root.structured_content["items"][0]["path"]).parent == project.resolve()
    assert _code(without) == "access_denied"


# --- URLs and SSRF -------------------------------------------------------------------------------

PRIVATE_HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
    "10.0.0.8",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "[::ffff:127.0.0.1]",
    "[fd00::1]",
    "[fe80::1]",
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f.1",
]


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_urls_to_private_addresses_are_refused_before_connecting(make_server, fake, host):
    server = make_server("OPENAI_API_KEY", allow_http_urls=True)
    async with Client(server) as client:
        with anyio.fail_after(10):
            result = await client.call_tool(
                "generate_media", {"prompt": "x", "input_images": [f"https://{host}:{fake.port}/files/image.png"]}
            )
    assert _code(result) == "access_denied"
    assert "private address" in result.content[0].text and "GENERATE_MEDIA_ALLOW_PRIVATE_URLS" in result.content[0].text
    assert fake.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://0177.0.0.1/x.png",  # an octal IPv4 httpx will not read
        "https://[::1/x.png",
        "https://8.8.8.8:99999/x.png",  # a port no socket takes
        "https://:443/x.png",
        "https://.../x.png",  # empty labels: the IDNA codec refuses the name
        "https://" + "a" * 64 + ".example/x.png",  # a label over 63 characters
    ],
)
async def test_a_url_no_parser_reads_is_an_invalid_request_naming_it(make_server, fake, url):
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
        fine = await client.call_tool("generate_media", {"prompt": "still healthy"})
    assert _code(result) == "invalid_request" and "check the URL" in result.content[0].text, result.content
    assert not fine.is_error and len(fake.requests) == 1


@pytest.mark.parametrize(
    "addr",
    ["127.0.0.1", "::1", "0.0.0.0", "169.254.169.254", "100.64.0.1", "224.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"],
)
def test_embedded_and_special_addresses_are_not_public(addr):
    assert not _is_public(ipaddress.ip_address(addr))


def test_public_addresses_pass():
    assert _is_public(ipaddress.ip_address("8.8.8.8")) and _is_public(ipaddress.ip_address("2606:4700::1111"))


async def test_plain_http_is_refused_unless_allowed(make_server, fake):
    url = f"{fake.url}/files/image.png"
    async with Client(make_server("OPENAI_API_KEY", allow_private_urls=True)) as client:
        refused = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
    assert _code(refused) == "access_denied" and "GENERATE_MEDIA_ALLOW_HTTP_URLS" in refused.content[0].text
    assert fake.requests == []
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, allow_private_urls=True)
    async with Client(server) as client:
        allowed = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
    assert not allowed.is_error, allowed.content
    assert fake.of("openai", "/images/edits")[-1].files("image")[0][1] == media.png(48, 48)


async def test_redirects_are_checked_hop_by_hop_and_limited(make_server, fake):
    base = f"{fake.url}/files"
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, allow_private_urls=True)
    cases = {
        f"{base}/hops/3": None,  # three redirects: allowed
        f"{base}/hops/4": "redirected more than 3 times",
        f"{base}/redirect?to=file:///etc/passwd": "unsupported URL",
        f"{base}/redirect?to=ftp://example.com/x.png": "unsupported URL",
        f"{base}/redirect?to=gopher://127.0.0.1:6379/_INFO": "unsupported URL",
        f"{base}/gone.png": "HTTP 410",
    }
    async with Client(server) as client:
        for url, expected in cases.items():
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
            if expected is None:
                assert not result.is_error, result.content
            else:
                assert result.is_error and expected in result.content[0].text, (url, result.content[0].text)
    assert len(fake.of("openai", "/images/edits")) == 1


async def test_a_redirect_cannot_downgrade_to_plain_http_or_reach_private_hosts(make_server, fake, tmp_path):
    # Only the first hop is allowed to be loopback here: the check runs again for the hop it leads to.
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, allow_private_urls=True)
    service: MediaService = server.media_service
    from generate_media.inputs import fetch_url

    strict = Settings(env={}, output_dir=tmp_path, allow_http_urls=False, allow_private_urls=False)
    with pytest.raises(Exception) as first:
        await fetch_url(f"{fake.url}/files/redirect?to=http://169.254.169.254/", strict, 10_000)
    assert "http://" in str(first.value)
    assert fake.requests == []
    data = await fetch_url(f"{fake.url}/files/hops/1", service.settings, 10_000)
    assert data == media.png(48, 48)


async def test_downloads_are_capped_in_size_and_time(make_server, fake):
    base = f"{fake.url}/files"
    server = make_server(
        "OPENAI_API_KEY",
        allow_http_urls=True,
        allow_private_urls=True,
        request_timeout_s=1.0,
        env={"GENERATE_MEDIA_MAX_INPUT_BYTES": "50000"},
        limits=Settings.from_env({"GENERATE_MEDIA_MAX_INPUT_BYTES": "50000"}).limits,
    )
    async with Client(server) as client:
        sized = await client.call_tool("generate_media", {"prompt": "x", "input_images": [f"{base}/big.png"]})
        chunked = await client.call_tool(
            "generate_media", {"prompt": "x", "input_images": [f"{base}/big.png?chunked=1"]}
        )
        with anyio.fail_after(10):
            slow = await client.call_tool("generate_media", {"prompt": "x", "input_images": [f"{base}/slow.png"]})
        refused_port = await client.call_tool(
            "generate_media", {"prompt": "x", "input_images": [f"http://127.0.0.1:{_free_port()}/x.png"]}
        )
    assert _code(sized) == _code(chunked) == "limit_exceeded"
    assert "GENERATE_MEDIA_MAX_INPUT_BYTES" in chunked.content[0].text
    assert _code(slow) == "invalid_request" and "took longer" in slow.content[0].text
    assert _code(refused_port) == "invalid_request" and "check the URL" in refused_port.content[0].text
    assert fake.of("openai") == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- secrets -------------------------------------------------------------------------------------


def _assert_no_keys(where: str, text: str) -> None:
    for name, key in KEYS.items():
        assert key not in text, f"{name} leaked in {where}"
        assert key[-8:] not in text, f"part of {name} leaked in {where}"


async def test_keys_never_appear_in_anything_the_server_emits(make_server, fake, out_dir, tmp_path, caplog, mode):
    caplog.set_level(logging.DEBUG)
    server = make_server("all", max_retries=1, request_timeout_s=0.5)
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    pattern = r"^[a-z_]+:"  # every provider the fake speaks, a new one included
    # "times" outlasts every backend auto may fail over to (two tries each): a fault that runs out lets a
    # later backend succeed, and the call is then not an error.
    faults = [
        {"status": 401, "echo_auth": True},
        {"status": 403, "echo_auth": True},
        {"status": 429, "echo_auth": True, "times": 100},
        {"status": 500, "echo_auth": True, "times": 100},
        {"status": 400, "echo_auth": True, "times": 100},
        {"raw": json.dumps(KEYS).encode(), "times": 100},
        {"delay": 1.0, "times": 100},
        {"drop": True, "times": 100},
    ]
    emitted: list[str] = []
    async with Client(server, mode=mode) as client:
        for fault in faults:
            fake.faults.clear()
            fake.inject(pattern, **fault)
            result = await client.call_tool(
                "generate_media", {"prompt": f"fault {fault}"}, progress_callback=on_progress
            )
            assert result.is_error, fault
            emitted.append(result.model_dump_json())
        for backend in server.media_service.registry.names():
            fake.faults.clear()
            fake.inject(pattern, status=401, echo_auth=True, times=10)
            result = await client.call_tool("generate_media", {"prompt": "x", "backend": backend})
            emitted.append(result.model_dump_json())
        fake.faults.clear()
        emitted.append((await client.call_tool("generate_media", {"prompt": "x", "size": "7x7"})).model_dump_json())
        emitted.append((await client.call_tool("generate_media", {"prompt": "ok"})).model_dump_json())
        emitted.append((await client.list_tools()).model_dump_json())
    assert any("[redacted]" in e for e in emitted)  # the fake did echo keys: the redactor removed them
    async with Client(make_server(), mode=mode) as client:
        emitted.append((await client.call_tool("generate_media", {"prompt": "x"})).model_dump_json())
    _assert_no_keys("results", "\n".join(emitted))
    _assert_no_keys("progress", "\n".join(progress))
    _assert_no_keys("logs", "\n".join(r.getMessage() for r in caplog.records))
    _assert_no_keys("log tracebacks", caplog.text)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            _assert_no_keys(str(path), path.read_bytes().decode("latin-1"))


def _stdio(settings: Settings, *args: str) -> StdioServerParameters:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(settings.state_dir.parent),
        "GENERATE_MEDIA_OUTPUT_DIR": str(settings.output_dir),
        "GENERATE_MEDIA_STATE_DIR": str(settings.state_dir),
        **dict(settings.env),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "generate_media", *args], env=env)


async def test_debug_logs_of_every_library_pass_the_redactor(make_settings, fake, tmp_path):
    """At DEBUG, httpx/httpcore print request URLs (Gemini's key can ride in the query) and the
    provider's response headers; a careless provider echoes the credentials in a header."""
    fake.echo_credentials = True
    settings = make_settings("all", env={"GENERATE_MEDIA_HTTP_TOKENS": "alice:alice-token-0123456789abcdef"})
    errlog = tmp_path / "stderr.log"
    backends = ["openai", "google", "grok", "openrouter"]
    with errlog.open("w") as err, anyio.fail_after(90):
        async with Client(stdio_client(_stdio(settings, "--log-level", "DEBUG"), errlog=err), mode="legacy") as c:
            results = [await c.call_tool("generate_media", {"prompt": "x", "backend": b}) for b in backends]
            failed = await c.call_tool("generate_media", {"prompt": "x", "backend": "openai", "size": "1x1"})
    assert all(not r.is_error for r in results), [r.content for r in results if r.is_error]
    assert failed.is_error
    text = errlog.read_text()
    assert "x-echoed-credentials" in text and "[redacted]" in text  # the headers were logged, scrubbed
    assert "DEBUG httpcore" in text or "DEBUG httpcore2" in text or "DEBUG httpx" in text
    _assert_no_keys("stderr at DEBUG", text)
    assert "alice-token-0123456789abcdef" not in text


def test_the_backends_listing_and_cli_errors_show_no_keys(fake, capsys, monkeypatch, tmp_path):
    from tests.fakes import fake_env

    for name, value in {**KEYS, **fake_env(fake)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GENERATE_MEDIA_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("GENERATE_MEDIA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GENERATE_MEDIA_MAX_RETRIES", "0")
    for argv in (["backends"], ["backends", "--json"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
    fake.inject(r"^(openai|xai):", status=401, echo_auth=True, times=5)
    with pytest.raises(SystemExit):
        cli.main(["image", "a cat", "--backend", "openai"])
    captured = capsys.readouterr()
    assert "openai" in captured.out and "invalid credentials: Bearer" in captured.err  # the fake did echo it
    _assert_no_keys("cli", captured.out + captured.err)


# --- isolation -----------------------------------------------------------------------------------


async def test_job_ids_belong_to_the_principal_that_started_them(make_settings, fake, out_dir):
    settings = make_settings("OPENAI_API_KEY")
    service = MediaService(settings)
    path = out_dir / "done.png"
    path.write_bytes(media.png(8, 8))
    record = await service.jobs.new(
        owner="alice", backend="openai", media_type="image", model="gpt-image-2", request={}
    )
    record.state = "done"
    record.result = {
        "status": "completed",
        "media_type": "image",
        "backend": "openai",
        "model": "gpt-image-2",
        "items": [
            {
                "index": 0,
                "prompt": "p",
                "path": str(path),
                "uri": path.as_uri(),
                "mime_type": "image/png",
                "size_bytes": path.stat().st_size,
            }
        ],
    }
    await service.jobs.save(record)
    who = {"name": "alice"}
    server = create_server(settings, service=service, principal_of=lambda _ctx: who["name"])
    async with Client(server) as client:
        mine = await client.call_tool("generate_media", {"job_id": record.id})
        who["name"] = "bob"
        theirs = await client.call_tool("generate_media", {"job_id": record.id})
        never = await client.call_tool("generate_media", {"job_id": "job_" + "0" * 24})
    assert not mine.is_error and mine.structured_content["items"][0]["path"] == str(path)
    assert _code(theirs) == _code(never) == "not_found"
    assert theirs.content[0].text.replace(record.id, "ID") == never.content[0].text.replace("job_" + "0" * 24, "ID")


async def test_local_roots_widen_only_to_real_project_folders_and_warn_nothing(
    make_server, make_settings, fake, home, tmp_path
):
    """stdio: a root may add a project folder; '/', the home folder or its ancestors are ignored
    (they would open ~/.ssh), and asking for roots logs no deprecation warning."""
    project = home / "code" / "project"
    project.mkdir(parents=True)
    (project / "in.png").write_bytes(media.png(16, 16))
    offered = ["file:///", home.as_uri(), home.parent.as_uri(), (home / "missing").as_uri(), project.as_uri()]

    async def roots(_ctx) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in offered])

    cases = {
        "project": {"prompt": "x", "input_images": [str(project / "in.png")]},
        "ssh key": {"prompt": "x", "input_images": [str(home / ".ssh" / "id_ed25519")]},
        "home": {"prompt": "x", "output_dir": str(home)},
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Client(make_server("OPENAI_API_KEY"), mode="legacy", list_roots_callback=roots) as client:
            results = {name: await client.call_tool("generate_media", args) for name, args in cases.items()}
    ours = [w for w in caught if "roots" in str(w.message) and "generate_media" in w.filename]
    assert ours == [], [str(w.message) for w in ours]
    assert not results["project"].is_error, results["project"].content
    assert _code(results["ssh key"]) == _code(results["home"]) == "access_denied"
    assert len(fake.of("openai")) == 1

    settings = make_settings("OPENAI_API_KEY")
    errlog = tmp_path / "stderr.log"
    with errlog.open("w") as err, anyio.fail_after(60):
        async with Client(stdio_client(_stdio(settings), errlog=err), mode="legacy", list_roots_callback=roots) as c:
            over_stdio = [await c.call_tool("generate_media", cases["project"]) for _ in range(2)]
    assert all(not r.is_error for r in over_stdio), over_stdio[0].content
    assert "MCPDeprecationWarning" not in errlog.read_text() and "deprecated" not in errlog.read_text()


class _Dns:
    """A resolver that answers differently the second time (DNS rebinding), for one host name."""

    def __init__(self, monkeypatch, host: str, answers: list[str]) -> None:
        self.host, self.answers, self.asked = host, answers, 0
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host  # anyio asks with IDNA-encoded bytes
        if name != self.host:
            return self._real(host, port, *args, **kwargs)
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port or 0))]


async def test_the_address_checked_is_the_address_connected_to(make_server, fake, monkeypatch):
    """Checked public, then rebound to loopback: the download must never reach the loopback service."""
    port = fake.url.rsplit(":", 1)[1]
    dns = _Dns(monkeypatch, "rebind.example", ["93.184.216.34", "127.0.0.1"])
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, request_timeout_s=2.0)
    url = f"http://rebind.example:{port}/files/image.png"
    async with Client(server) as client:
        with anyio.fail_after(30):
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
    assert result.is_error and _code(result) == "invalid_request", result.content
    assert dns.asked == 1  # resolved once, for the check; the connection used that answer
    assert [r for r in fake.requests if r.path.startswith("/files")] == []
    assert fake.of("openai") == []


async def test_a_pinned_connection_keeps_the_host_name_in_the_request(make_server, fake, monkeypatch):
    """Pinned to the checked address, the request still names its host (Host header; SNI for https)."""
    port = fake.url.rsplit(":", 1)[1]
    dns = _Dns(monkeypatch, "images.example", ["127.0.0.1", "10.255.255.1"])
    server = make_server("OPENAI_API_KEY", allow_http_urls=True, allow_private_urls=True, request_timeout_s=2.0)
    async with Client(server) as client:
        with anyio.fail_after(30):
            url = f"http://images.example:{port}/files/image.png"
            result = await client.call_tool("generate_media", {"prompt": "x", "input_images": [url]})
    assert not result.is_error, result.content
    got = [r for r in fake.requests if r.path.startswith("/files")]
    assert [r.headers["host"] for r in got] == [f"images.example:{port}"]
    assert dns.asked == 1
    assert fake.of("openai", "/images/edits")[-1].files("image")[0][1] == media.png(48, 48)
