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
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from generate_media.registry import load_registry
from generate_media.server.http import HttpConfigError, HttpServer, TokenTable, create_http_app
from generate_media.server.resources import MediaResources
from generate_media.service import MediaService
from generate_media.spec import MediaType
from tests.conftest import KEYS

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
    uris = [resources.link(p, "alice", "image/png") for p in (secret, out_dir / "escape.png")]
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
    assert path.parent == out_dir.resolve() and path.read_bytes().startswith(b"\x89PNG")
    assert keyless.is_error and keyless.structured_content["error"]["code"] == "missing_key"
    assert "OPENAI_API_KEY" in keyless.content[0].text
