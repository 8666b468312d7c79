"""Streamable HTTP end to end: a real uvicorn server on 127.0.0.1, bearer auth, per-client scoping,
generated files served as ``media://`` resources; and one suite both transports pass."""

from __future__ import annotations

import base64
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from generate_media.registry import load_registry
from generate_media.server.http import HttpConfigError, HttpServer, TokenTable, create_http_app
from generate_media.server.resources import MediaResources, resource_id
from generate_media.service import MediaService
from generate_media.spec import MediaType
from tests.conftest import KEYS
from tests.fakes import media

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-fedcba9876543210xyz"
TOKENS = {"GENERATE_MEDIA_HTTP_TOKENS": f"alice:{ALICE},bob:{BOB}"}


async def _no_sleep(_: float) -> None:
    return None


@asynccontextmanager
async def serving(settings: Any, **kwargs: Any) -> AsyncIterator[str]:
    app = create_http_app(settings, service=MediaService(settings, retry_sleep=_no_sleep), **kwargs)
    server = HttpServer(app, "127.0.0.1", 0)
    async with anyio.create_task_group() as tg:
        url = await tg.start(server.serve)
        try:
            yield url
        finally:
            server.stop()


@asynccontextmanager
async def connect(url: str, token: str | None, mode: str = "auto") -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "generate_media", "arguments": {"prompt": "should never run"}},
}


async def test_requests_without_a_valid_token_get_401_and_no_work_is_done(make_settings, fake, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings("OPENAI_API_KEY", env=TOKENS)
    accept = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
    async with serving(settings) as url, httpx2.AsyncClient(timeout=10) as http:
        for auth in (None, "Bearer wrong-token-0123456789abcdef", f"Basic {ALICE}", f"Bearer {ALICE}x"):
            headers = {**accept, **({"authorization": auth} if auth else {})}
            for body in (INITIALIZE, CALL):
                response = await http.post(url, json=body, headers=headers)
                assert response.status_code == 401, (auth, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert "GENERATE_MEDIA_HTTP_TOKEN" in response.json()["message"]
        ok = await http.post(url, json=INITIALIZE, headers={**accept, "authorization": f"Bearer {ALICE}"})
        assert ok.status_code == 200
    assert fake.of("openai") == []
    assert ALICE not in caplog.text and BOB not in caplog.text


async def test_an_authenticated_client_gets_its_image_as_a_media_resource(make_settings, fake, out_dir, mode):
    settings = make_settings("OPENAI_API_KEY", env=TOKENS)
    async with serving(settings) as url, connect(url, ALICE, mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "a fox over http"})
        assert not result.is_error, result.content
        item = result.structured_content["items"][0]
        link = next(b for b in result.content if b.type == "resource_link")
        assert str(link.uri) == item["resource_uri"] and str(link.uri).startswith("media://outputs/")
        read = await client.read_resource(str(link.uri))
        templates = await client.list_resource_templates()
    content = read.contents[0]
    assert content.mime_type == "image/png"
    assert base64.b64decode(content.blob) == Path(item["path"]).read_bytes()
    assert [t.uri_template for t in templates.resource_templates] == ["media://outputs/{id}"]
    assert fake.of("openai", "/images/generations")[-1].json["prompt"] == "a fox over http"


async def test_one_clients_continuations_and_resources_are_unknown_to_another(make_settings, fake, out_dir):
    settings = make_settings("OPENAI_API_KEY", env=TOKENS)
    async with serving(settings) as url:
        async with connect(url, ALICE) as alice:
            made = await alice.call_tool("generate_media", {"prompt": "alice's cat"})
            item = made.structured_content["items"][0]
            own = await alice.read_resource(item["resource_uri"])
            assert own.contents[0].mime_type == "image/png"
            edited = await alice.call_tool(
                "generate_media", {"prompt": "now blue", "continue_from": item["continuation_id"]}
            )
            assert not edited.is_error, edited.content
        async with connect(url, BOB) as bob:
            stolen = await bob.call_tool(
                "generate_media", {"prompt": "mine now", "continue_from": item["continuation_id"]}
            )
            with pytest.raises(MCPError) as theirs:
                await bob.read_resource(item["resource_uri"])
            missing_uri = "media://outputs/" + "0" * 24
            with pytest.raises(MCPError) as missing:
                await bob.read_resource(missing_uri)
    assert stolen.is_error and "unknown continuation id" in stolen.content[0].text
    assert theirs.value.error.code == missing.value.error.code
    assert str(theirs.value).replace(item["resource_uri"], "URI") == str(missing.value).replace(missing_uri, "URI")
    assert len(fake.of("openai")) == 2  # bob's attempt never reached the provider


async def test_files_outside_the_output_and_allowed_dirs_are_never_served(make_settings, fake, out_dir, tmp_path):
    settings = make_settings(env=TOKENS)
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (out_dir / "escape.png").symlink_to(secret)
    resources = MediaResources(settings)
    uris = []
    for path in (secret, out_dir / "escape.png"):  # indexed as alice's: the index is not the only check
        uris.append(resources.link(path, "alice", "image/png"))
        await resources.index.add(resource_id(path, "alice"), "alice", str(path), "image/png")
    async with serving(settings) as url, connect(url, ALICE) as alice:
        for uri in uris:
            with pytest.raises(MCPError, match="Unknown resource"):
                await alice.read_resource(uri)


async def test_a_long_job_streams_progress_over_http(make_settings, fake):
    registry = load_registry()
    video = [s for s in registry.serving(MediaType.VIDEO) if set(s.env_keys) & set(KEYS)]
    if not video:
        pytest.skip("no video backend in the registry yet: nothing long-running to stream progress from")
    spec = video[0]
    key = next(k for k in spec.env_keys if k in KEYS)
    settings = make_settings(key, env=TOKENS)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with serving(settings) as url, connect(url, ALICE) as client:
        with anyio.fail_after(60):
            result = await client.call_tool(
                "generate_media",
                {"prompt": "a slow pan over hills", "media_type": "video", "backend": spec.name},
                progress_callback=on_progress,
            )
    assert not result.is_error, result.content
    assert seen and all(m for _, _, m in seen)


def test_http_refuses_no_auth_off_loopback_and_weak_or_missing_tokens(make_settings):
    with pytest.raises(HttpConfigError, match="only allowed on 127"):
        create_http_app(make_settings(), host="0.0.0.0", no_auth=True)
    with pytest.raises(HttpConfigError, match="GENERATE_MEDIA_HTTP_TOKEN"):
        create_http_app(make_settings())
    with pytest.raises(HttpConfigError, match="at least 16"):
        TokenTable.from_settings(make_settings(env={"GENERATE_MEDIA_HTTP_TOKEN": "short"}))
    with pytest.raises(HttpConfigError, match="twice"):
        TokenTable.from_settings(make_settings(env={"GENERATE_MEDIA_HTTP_TOKENS": f"a:{ALICE},b:{ALICE}"}))
    single = "single-token-0123456789abcdef"
    table = TokenTable.from_settings(make_settings(env={"GENERATE_MEDIA_HTTP_TOKEN": single, **TOKENS}))
    assert table.principal(f"Bearer {ALICE}") == "alice" and table.principal(f"bearer {BOB}") == "bob"
    assert table.principal(f"Bearer {single}") == "default"
    assert table.principal(None) is None and table.principal("Bearer ") is None


async def test_no_auth_on_loopback_serves_the_local_user(make_settings, fake):
    async with serving(make_settings("OPENAI_API_KEY"), no_auth=True) as url, connect(url, None) as client:
        result = await client.call_tool("generate_media", {"prompt": "no token needed on loopback"})
        read = await client.read_resource(result.structured_content["items"][0]["resource_uri"])
    assert read.contents[0].mime_type == "image/png"


# --- the same suite over both transports -------------------------------------------------------


@asynccontextmanager
async def over_http(make_settings: Callable[..., Any], keys: tuple[str, ...]) -> AsyncIterator[Client]:
    async with serving(make_settings(*keys, env=TOKENS)) as url, connect(url, ALICE, "legacy") as client:
        yield client


@asynccontextmanager
async def over_stdio(make_settings: Callable[..., Any], keys: tuple[str, ...]) -> AsyncIterator[Client]:
    settings = make_settings(*keys)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(settings.state_dir.parent),
        "GENERATE_MEDIA_OUTPUT_DIR": str(settings.output_dir),
        "GENERATE_MEDIA_STATE_DIR": str(settings.state_dir),
        **dict(settings.env),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "generate_media"], env=env)
    async with Client(params, mode="legacy") as client:
        yield client


@pytest.mark.parametrize("transport", [over_http, over_stdio], ids=["http", "stdio"])
async def test_both_transports_pass_the_same_end_to_end_suite(transport, make_settings, fake, out_dir):
    with anyio.fail_after(60):
        async with transport(make_settings, ("OPENAI_API_KEY",)) as client:
            tools = await client.list_tools()
            made = await client.call_tool("generate_media", {"prompt": "same on every transport"})
        async with transport(make_settings, ()) as client:
            keyless = await client.call_tool("generate_media", {"prompt": "no keys"})
    assert [t.name for t in tools.tools] == ["generate_media"]
    assert not made.is_error, made.content
    path = Path(made.structured_content["items"][0]["path"])
    home = out_dir / "clients" / "alice" if transport is over_http else out_dir  # HTTP: the principal's own area
    assert path.parent == home.resolve() and path.read_bytes().startswith(b"\x89PNG")
    assert keyless.is_error and keyless.structured_content["error"]["code"] == "missing_key"
    assert "OPENAI_API_KEY" in keyless.content[0].text


# --- what a remote client may reach --------------------------------------------------------------


async def test_a_remote_clients_roots_never_widen_what_the_server_reads_or_writes(make_settings, fake, tmp_path, mode):
    """A remote client's roots name folders of its machine, not ours: file:/// must open nothing, in a
    session (legacy) or stateless (auto, 2026-07-28)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "in.png").write_bytes(media.png(16, 16))
    asked: list[int] = []

    async def roots(_ctx: Any) -> types.ListRootsResult:
        asked.append(1)
        offered = ["file:///", elsewhere.as_uri(), tmp_path.as_uri(), "file://localhost/"]
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in offered])

    settings = make_settings("OPENAI_API_KEY", env=TOKENS)
    cases = [
        {"prompt": "x", "input_images": [str(elsewhere / "in.png")]},
        {"prompt": "x", "input_images": [(elsewhere / "in.png").as_uri()]},
        {"prompt": "x", "input_images": ["/etc/hostname"]},
        {"prompt": "x", "output_dir": str(elsewhere)},
        {"prompt": "x", "output_dir": "/tmp"},
        {"prompt": "x", "output_dir": "../../elsewhere"},
    ]
    async with serving(settings) as url:
        headers = {"Authorization": f"Bearer {ALICE}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode, list_roots_callback=roots) as client,
        ):
            results = [await client.call_tool("generate_media", case) for case in cases]
    codes = [r.structured_content["error"]["code"] if r.is_error else "ok" for r in results]
    assert codes == ["access_denied"] * len(cases), [r.content[0].text for r in results]
    assert asked == []  # never even asked: nothing it could answer would count
    assert sorted(p.name for p in elsewhere.iterdir()) == ["in.png"]
    assert fake.of("openai") == []


async def test_each_principals_files_are_its_own(make_settings, fake, out_dir, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "logo.png").write_bytes(media.png(16, 16))
    settings = make_settings("OPENAI_API_KEY", env=TOKENS, allowed_dirs=(shared,))
    async with serving(settings) as url:
        async with connect(url, ALICE) as alice:
            made = await alice.call_tool("generate_media", {"prompt": "alice's secret sketch"})
            path = made.structured_content["items"][0]["path"]
            own = await alice.call_tool("generate_media", {"prompt": "edit mine", "input_images": [path]})
            shared_in = await alice.call_tool(
                "generate_media", {"prompt": "use the logo", "input_images": [str(shared / "logo.png")]}
            )
            sub = await alice.call_tool("generate_media", {"prompt": "in a subfolder", "output_dir": "drafts"})
        async with connect(url, BOB) as bob:
            alice_area = str(Path(path).parent)
            attempts = [
                {"prompt": "steal", "input_images": [path]},
                {"prompt": "steal", "input_images": [Path(path).as_uri()]},
                {"prompt": "steal", "input_images": [f"{out_dir}/clients/bob/../alice/{Path(path).name}"]},
                {"prompt": "plant", "output_dir": alice_area},
                {"prompt": "plant", "output_dir": "../alice"},
                {"prompt": "plant", "output_dir": str(out_dir)},
                {"prompt": "plant", "output_dir": str(shared)},  # the allowed dirs are read-only over HTTP
            ]
            refused = [await bob.call_tool("generate_media", args) for args in attempts]
    assert not made.is_error and not own.is_error and not shared_in.is_error, (own.content, shared_in.content)
    assert Path(path).parent == (out_dir / "clients" / "alice").resolve()
    assert (
        Path(sub.structured_content["items"][0]["path"]).parent == (out_dir / "clients" / "alice" / "drafts").resolve()
    )
    codes = [r.structured_content["error"]["code"] if r.is_error else "ok" for r in refused]
    assert codes == ["access_denied"] * len(attempts), [r.content[0].text for r in refused]
    assert all("\n" not in r.content[0].text for r in refused)
    assert sorted(p.name for p in shared.iterdir()) == ["logo.png"]
    assert not (out_dir / "clients" / "bob").exists() or not any((out_dir / "clients" / "bob").iterdir())
    assert len(fake.of("openai")) == 4  # alice's four calls; none of bob's reached the provider


async def test_each_principals_files_are_its_own_with_outputs_in_a_bucket(make_settings, fake, out_dir, s3):
    """With S3 storage the local folder is only a cache: a file missing here (made on another replica)
    is fetched back only for the principal that made it, never for another token naming it."""
    import uuid

    prefix = f"t-{uuid.uuid4().hex[:12]}"
    settings = make_settings("OPENAI_API_KEY", env={**TOKENS, **s3.env(prefix)})
    async with serving(settings) as url:
        async with connect(url, ALICE) as alice:
            made = await alice.call_tool("generate_media", {"prompt": "alice's bucket sketch"})
        item = made.structured_content["items"][0]
        path = Path(item["path"])
        path.unlink()  # only the bucket has it now, as on a replica that did not make it
        async with connect(url, BOB) as bob:
            attempts = [
                {"prompt": "steal", "input_images": [str(path)]},
                {"prompt": "steal", "input_images": [item["uri"]]},
                {"prompt": "steal", "input_images": [f"{out_dir}/clients/bob/../alice/{path.name}"]},
                {"prompt": "steal", "continue_from": item["continuation_id"]},
                {"prompt": "plant", "output_dir": str(path.parent)},
            ]
            refused = [await bob.call_tool("generate_media", args) for args in attempts]
        async with connect(url, ALICE) as alice:
            again = await alice.call_tool(
                "generate_media", {"prompt": "edit it", "continue_from": item["continuation_id"]}
            )
    assert not made.is_error, made.content
    codes = [r.structured_content["error"]["code"] if r.is_error else "ok" for r in refused]
    assert codes == ["access_denied", "invalid_request", "access_denied", "not_found", "access_denied"], codes
    assert all("\n" not in r.content[0].text for r in refused)
    assert not again.is_error, again.content  # the owner's continuation fetches it back from the bucket
    assert path.is_file() and len(fake.of("openai")) == 2  # alice's two calls; none of bob's was sent
    assert not (out_dir / "clients" / "bob").exists() or not any((out_dir / "clients" / "bob").rglob("*.png"))


# --- sessions ------------------------------------------------------------------------------------

SESSION_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def _open_session(http: httpx2.AsyncClient, url: str, token: str) -> httpx2.Response:
    return await http.post(url, json=INITIALIZE, headers={**SESSION_HEADERS, "authorization": f"Bearer {token}"})


async def test_one_token_cannot_lock_the_others_out(make_settings, fake):
    limit = 3
    env = {**TOKENS, "GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN": str(limit)}
    async with serving(make_settings("OPENAI_API_KEY", env=env)) as url, httpx2.AsyncClient(timeout=10) as http:
        opened = [await _open_session(http, url, ALICE) for _ in range(limit)]
        refused = [await _open_session(http, url, ALICE) for _ in range(5)]
        async with connect(url, BOB, "legacy") as bob:
            made = await bob.call_tool("generate_media", {"prompt": "bob still gets in"})
        with pytest.raises(Exception) as via_client:
            async with connect(url, ALICE, "legacy") as alice:
                await alice.list_tools()
        first = opened[0].headers["mcp-session-id"]
        ended = await http.delete(
            url, headers={**SESSION_HEADERS, "authorization": f"Bearer {ALICE}", "mcp-session-id": first}
        )
        again = await _open_session(http, url, ALICE)
    assert [r.status_code for r in opened] == [200] * limit
    assert {r.status_code for r in refused} == {429}
    error = refused[0].json()["error"]
    assert "GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN=3" in error["message"] and "DELETE" in error["message"]
    assert "\n" not in error["message"] and ALICE not in error["message"]
    assert refused[0].headers["retry-after"] == "300"
    assert not made.is_error, made.content
    assert "429" in repr(via_client.value) or "sessions" in repr(via_client.value)
    assert ended.status_code in (200, 204) and again.status_code == 200


async def test_a_session_belongs_to_the_token_that_opened_it(make_settings, fake):
    async with serving(make_settings("OPENAI_API_KEY", env=TOKENS)) as url, httpx2.AsyncClient(timeout=10) as http:
        opened = await _open_session(http, url, ALICE)
        sid = opened.headers["mcp-session-id"]
        as_alice = {**SESSION_HEADERS, "authorization": f"Bearer {ALICE}", "mcp-session-id": sid}
        as_bob = {**as_alice, "authorization": f"Bearer {BOB}", "mcp-protocol-version": "2025-11-25"}
        await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=as_alice)
        bob_call = await http.post(url, json=CALL, headers=as_bob)
        bob_delete = await http.delete(url, headers=as_bob)
        ping = {"jsonrpc": "2.0", "id": 9, "method": "ping"}
        alice_ping = await http.post(url, json=ping, headers={**as_alice, "mcp-protocol-version": "2025-11-25"})
    assert bob_call.status_code == 404 and bob_delete.status_code == 404
    assert alice_ping.status_code == 200 and '"result"' in alice_ping.text
    assert fake.of("openai") == []


def test_idle_sessions_end_after_the_configured_time(make_settings):
    app = create_http_app(make_settings(env={**TOKENS, "GENERATE_MEDIA_HTTP_SESSION_IDLE_S": "42"}))
    assert app.sessions is not None and app.sessions.idle_s == 42
    default = create_http_app(make_settings(env=TOKENS))
    assert default.sessions is not None and default.sessions.idle_s == 300 and default.sessions.limit == 16
    with pytest.raises(HttpConfigError, match="GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN"):
        create_http_app(make_settings(env={**TOKENS, "GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN": "0"}))


async def test_an_idle_session_is_closed_and_frees_its_slot(make_settings, fake):
    env = {**TOKENS, "GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN": "1", "GENERATE_MEDIA_HTTP_SESSION_IDLE_S": "0.3"}
    async with serving(make_settings(env=env)) as url, httpx2.AsyncClient(timeout=10) as http:
        first = await _open_session(http, url, ALICE)
        statuses = [(await _open_session(http, url, ALICE)).status_code]
        with anyio.fail_after(20):
            while statuses[-1] != 200:  # the idle session is reaped, then the slot is free again
                await anyio.sleep(0.1)
                statuses.append((await _open_session(http, url, ALICE)).status_code)
        gone = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 3, "method": "ping"},
            headers={
                **SESSION_HEADERS,
                "authorization": f"Bearer {ALICE}",
                "mcp-session-id": first.headers["mcp-session-id"],
            },
        )
    assert first.status_code == 200 and statuses[0] == 429 and statuses[-1] == 200
    assert gone.status_code == 404


# --- unreadable messages -------------------------------------------------------------------------

DEPTHS = [200, 1_000, 20_000]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _deep_call(depth: int) -> bytes:
    arguments = f'{{"prompt": "x", "extra": {_nested(depth)}}}'
    params = f'{{"name": "generate_media", "arguments": {arguments}}}'
    return f'{{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {params}}}'.encode()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_deeply_nested_json_gets_a_json_rpc_error_over_http(make_settings, fake, mode):
    answers = []
    async with serving(make_settings(env=TOKENS)) as url, httpx2.AsyncClient(timeout=30) as http:
        headers = {**SESSION_HEADERS, "authorization": f"Bearer {ALICE}"}
        if mode == "legacy":
            opened = await _open_session(http, url, ALICE)
            headers.update({"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"})
        else:
            headers["mcp-protocol-version"] = "2026-07-28"
        for depth in DEPTHS:
            with anyio.fail_after(20):
                answers.append(await http.post(url, content=_deep_call(depth), headers=headers))
        async with connect(url, ALICE, mode) as client:
            healthy = await client.list_tools()
    for depth, answer in zip(DEPTHS, answers, strict=True):
        body = _sse_or_json(answer)
        assert "error" in body or body.get("result", {}).get("isError"), (depth, answer.status_code, answer.text[:200])
        assert answer.status_code < 500, (depth, answer.status_code)
    assert [t.name for t in healthy.tools] == ["generate_media"]
    assert fake.requests == []


def _sse_or_json(response: httpx2.Response) -> dict[str, Any]:
    import json

    text = response.text
    if text.lstrip().startswith("{"):
        return dict(json.loads(text))
    data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
    return dict(json.loads(data[-1])) if data else {}


async def test_deeply_nested_json_gets_a_parse_error_over_stdio(make_settings, fake):
    """The SDK's stdio reader gives up at about 200 levels and dropped the line: the client waited."""
    with anyio.fail_after(60):
        async with over_stdio(make_settings, ()) as client:
            with pytest.raises(MCPError) as caught, anyio.fail_after(15):
                await client.call_tool("generate_media", {"prompt": "x", "extra": json_nested(200)})
            after = await client.call_tool("generate_media", {"prompt": "still answering"})
    assert caught.value.error.code == -32700 and "nested too deeply" in caught.value.error.message
    assert after.is_error and after.structured_content["error"]["code"] == "missing_key"


async def test_every_unreadable_line_over_stdio_is_answered(make_settings, fake):
    """Deeper than any client would send, not JSON, not JSON-RPC: each line gets its error, with
    the request id when the line still yields one, and the server keeps serving."""
    import json

    settings = make_settings()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(settings.state_dir.parent),
        "GENERATE_MEDIA_OUTPUT_DIR": str(settings.output_dir),
        "GENERATE_MEDIA_STATE_DIR": str(settings.state_dir),
    }
    lines = {
        1_000: _deep_call(1_000),
        20_000: _deep_call(20_000),
        "not json": b"{this is not json",
        "not json-rpc": b'{"jsonrpc": "2.0", "id": 5, "method": 42}',
    }
    expected = {1_000: (None, -32700), 20_000: (None, -32700), "not json": (None, -32700), "not json-rpc": (5, -32600)}
    answers = {}
    with anyio.fail_after(60):
        async with await anyio.open_process([sys.executable, "-m", "generate_media"], env=env) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            reader = _Lines(proc.stdout)
            await proc.stdin.send(json.dumps(INITIALIZE).encode() + b"\n")
            await reader.next()
            await proc.stdin.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
            for name, line in lines.items():
                await proc.stdin.send(line + b"\n")
                answers[name] = json.loads(await reader.next())
            await proc.stdin.send(b'{"jsonrpc": "2.0", "id": 99, "method": "ping"}\n')
            pong = json.loads(await reader.next())
            await proc.stdin.aclose()
    got = {name: (a.get("id"), a["error"]["code"]) for name, a in answers.items()}
    assert got == expected
    assert pong == {"jsonrpc": "2.0", "id": 99, "result": {}}


class _Lines:
    def __init__(self, stream: Any) -> None:
        self.stream, self.buffer = stream, b""

    async def next(self) -> bytes:
        while b"\n" not in self.buffer:
            self.buffer += await self.stream.receive()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


def json_nested(depth: int) -> Any:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


async def test_stateless_http_caps_the_requests_one_token_has_in_flight(make_settings, fake):
    """No sessions to cap in stateless mode: the same setting caps a token's requests in flight on
    this server, with a one-line 429 naming it; another token and the freed slot still get in."""
    env = {**TOKENS, "GENERATE_MEDIA_HTTP_STATELESS": "1", "GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN": "1"}
    fake.state["xai_video_hold"] = True
    video = {"media_type": "video", "prompt": "a long wave", "backend": "grok", "wait_s": 60}
    settings = make_settings("XAI_API_KEY", "OPENAI_API_KEY", env=env)
    async with serving(settings) as url, httpx2.AsyncClient(timeout=10) as http:
        results = []

        async def long_call() -> None:
            async with connect(url, ALICE) as alice:
                results.append(await alice.call_tool("generate_media", video))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(long_call)
                while not fake.of("xai", "/videos/"):  # alice's call is in flight, polling
                    await anyio.sleep(0.02)
                refused = await _open_session(http, url, ALICE)
                async with connect(url, BOB) as bob:
                    made = await bob.call_tool("generate_media", {"prompt": "bob still gets in"})
                fake.state["xai_video_hold"] = False
            again = await _open_session(http, url, ALICE)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    message = refused.json()["error"]["message"]
    assert "GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN=1" in message and "job_id" in message
    assert "\n" not in message and ALICE not in message
    assert not made.is_error, made.content
    assert results[0].structured_content["status"] == "completed", results[0].content
    assert again.status_code == 200
