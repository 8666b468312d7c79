"""The SDK clients' lifecycle (issue 17) and the warm-up after the handshake (issue 19).

One ``ClientRegistry`` lives as long as the server's lifespan: each backend's client is built once,
reused by every call, and closed at shutdown. Once a client has listed the tools, the backends that
have keys build theirs in the background; a call that arrives meanwhile waits for that build.
Observed through the registry's public state and the real clients' own ``closed`` state.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from mcp import Client

from generate_media.client_registry import ClientRegistry
from generate_media.registry import load_registry
from generate_media.spec import MediaType
from tests.conftest import KEYS
from tests.videohelp import until

IMAGE = {"prompt": "a lighthouse in fog"}


def _is_closed(client: object) -> bool:
    """The real client's own word: httpx's ``is_closed``, openai's ``is_closed()``, or ElevenLabs' httpx."""
    http = getattr(client, "http", client)  # elevenlabs: the Account's httpx client
    closed = http.is_closed
    return bool(closed() if callable(closed) else closed)


async def test_each_backends_client_is_built_once_and_closed_at_shutdown(make_server, fake, mode):
    server = make_server("OPENAI_API_KEY", "XAI_API_KEY", "ELEVENLABS_API_KEY", warm_up=False)
    service = server.media_service
    async with Client(server, mode=mode) as client:
        for backend in ("openai", "grok", "openai", "grok"):
            result = await client.call_tool("generate_media", {**IMAGE, "backend": backend})
            assert not result.is_error, result.content
        for _ in range(2):
            result = await client.call_tool("generate_media", {"prompt": "hello", "media_type": "audio"})
            assert not result.is_error, result.content
        registry = service.clients
        assert dict(registry.builds) == {"openai-sdk": 1, "grok-httpx": 1, "elevenlabs": 1}
        built = registry.clients()
        assert not any(_is_closed(c) for c in built)
    assert registry.closed and registry.kinds() == []
    assert all(_is_closed(c) for c in built)
    assert len(fake.of("openai", "/images/generations")) == 2 and len(fake.of("xai", "/images/generations")) == 2


async def test_a_second_lifespan_gets_fresh_clients(make_server, fake):
    server = make_server("XAI_API_KEY", warm_up=False)
    async with Client(server) as client:
        assert not (await client.call_tool("generate_media", IMAGE)).is_error
        first = server.media_service.clients
    async with Client(server) as client:
        assert not (await client.call_tool("generate_media", IMAGE)).is_error
        second = server.media_service.clients
        assert second is not first and not _is_closed(second.clients()[0])
    assert first.closed and second.closed


async def test_warm_up_starts_after_tools_list_and_only_for_backends_with_keys(make_server, fake, mode):
    server = make_server("OPENAI_API_KEY", "ELEVENLABS_API_KEY")
    async with Client(server, mode=mode) as client:
        registry = server.media_service.clients
        assert registry.kinds() == []  # initialize (or discovery) answered: nothing built yet
        await client.list_tools()
        await until(lambda: "openai-sdk" in registry.kinds())  # the only keyed image backend: auto's choice
        assert set(registry.kinds()) <= {"openai-sdk", "elevenlabs"}  # no google, grok or openrouter key
        result = await client.call_tool("generate_media", IMAGE)
        assert not result.is_error, result.content
        assert registry.builds["openai-sdk"] == 1  # the call used the warmed client
    assert registry.closed and registry.kinds() == []


async def test_a_call_during_warm_up_waits_for_it_instead_of_building_again(make_server, fake):
    server = make_server("OPENAI_API_KEY", "GEMINI_API_KEY", "XAI_API_KEY", "ELEVENLABS_API_KEY")
    async with Client(server) as client:
        await client.list_tools()  # warm-up starts in the background...
        registry = server.media_service.clients
        results = [
            await client.call_tool("generate_media", {**IMAGE, "backend": b}) for b in ("google", "openai", "grok")
        ]  # ...and these arrive while it runs
        assert not any(r.is_error for r in results), [r.content for r in results if r.is_error]
        assert {"google-genai", "openai-sdk", "grok-httpx"} <= set(registry.kinds())
        assert set(registry.builds.values()) == {1}, registry.builds  # each client built once


async def test_warm_up_can_be_turned_off(make_server, fake):
    server = make_server("OPENAI_API_KEY", "XAI_API_KEY", warm_up=False)
    async with Client(server) as client:
        await client.list_tools()
        assert not (await client.call_tool("generate_media", {**IMAGE, "backend": "grok"})).is_error
        assert server.media_service.clients.kinds() == ["grok-httpx"]  # openai's key alone builds nothing


async def test_shutdown_during_warm_up_stops_it_and_closes_what_was_built(make_server, fake, caplog):
    server = make_server("all")
    with caplog.at_level(logging.WARNING, logger="generate_media"):
        async with Client(server) as client:
            await client.list_tools()
            registry = server.media_service.clients
    assert registry.closed and registry.kinds() == []
    assert not [r for r in caplog.records if "warming up" in r.getMessage()]


async def test_a_registry_builds_once_per_key_even_when_asked_concurrently():
    import anyio

    registry = ClientRegistry()
    built: list[int] = []
    closed: list[int] = []

    def build() -> int:
        built.append(len(built))
        return len(built)

    async def close(value: int) -> None:
        closed.append(value)

    got: list[int] = []

    async def get() -> None:
        got.append(await registry.get(("kind", "key"), build, close))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(get)
    assert built == [0] and got == [1] * 5 and registry.builds["kind"] == 1
    await registry.aclose()
    assert closed == [1] and registry.kinds() == []


@pytest.fixture(autouse=True)
def _quiet_sdk_logs(caplog):
    caplog.set_level(logging.INFO, logger="httpx")


#: What must not be imported before ``initialize`` and ``tools/list`` are answered (cold start is
#: measured by bench/cold_start.py): the provider SDKs, the state store's SQLAlchemy, the file checks.
_HEAVY = ("openai", "google.genai", "elevenlabs", "cartesia", "httpx", "sqlalchemy", "PIL", "av")

_HANDSHAKE = """
import json, sys
import anyio
from mcp import Client
from generate_media.server.app import create_server

def heavy():
    return sorted(name for name in {heavy} if name in sys.modules)

async def main():
    server = create_server()
    service = server.media_service
    seen = {{"built": heavy()}}
    async with service.running(), Client(server) as client:
        seen["initialized"] = heavy()
        await client.list_tools()
        await service.warmed()
        seen["warmed"] = heavy()
        seen["store_opened"] = service.store.opened
    print(json.dumps(seen))

anyio.run(main)
"""


def _fresh_env(tmp_path, *keys: str) -> dict[str, str]:
    """This environment without any key or server setting, then only ``keys`` and private folders."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_API_TOKEN", "_KEY"))}
    env = {k: v for k, v in env.items() if not k.startswith("GENERATE_MEDIA_")}
    return (
        env
        | {key: KEYS[key] for key in keys}
        | {
            "GENERATE_MEDIA_OUTPUT_DIR": str(tmp_path / "out"),
            "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "state"),
        }
    )


def test_the_handshake_imports_no_sdk_and_the_warm_up_loads_the_keyed_one_and_the_store(tmp_path):
    """In a fresh interpreter (this one has every SDK loaded): building the server and answering
    ``initialize`` load none of ``_HEAVY``; after ``tools/list`` the warm-up loads the keyed backend's
    SDK (openai) and opens the state store, and nothing of the backends without a key."""
    env = _fresh_env(tmp_path, "OPENAI_API_KEY")
    code = _HANDSHAKE.format(heavy=repr(_HEAVY))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["built"] == [] and seen["initialized"] == [], seen
    assert {"openai", "sqlalchemy", "PIL"} <= set(seen["warmed"]), seen
    assert not {"google.genai", "elevenlabs", "cartesia"} & set(seen["warmed"]), seen
    assert seen["store_opened"] is True


_KEYED = [spec for spec in load_registry() if spec.env_keys]


@pytest.mark.parametrize("spec", _KEYED, ids=[spec.name for spec in _KEYED])
async def test_each_keyed_backend_warms_up_alone_and_its_first_call_builds_nothing(make_server, fake, spec):
    """Every backend with a key has a warm-up hook: with only its key, the clients its calls use are
    built after ``tools/list``, and the first call builds none of its own."""
    fake.state["fal_plan"] = [("done",)]  # fal's queue answers at the first status read
    server = make_server(spec.env_keys[0])
    service = server.media_service
    async with Client(server) as client:
        registry = service.clients
        await client.list_tools()
        await service.warmed()
        warmed = dict(registry.builds)
        assert spec.warm is not None and warmed and set(warmed.values()) == {1}, warmed
        media = "image" if MediaType.IMAGE in spec.media else "audio"
        result = await client.call_tool("generate_media", {**IMAGE, "media_type": media, "backend": spec.name})
        assert not result.is_error, result.content
        assert {kind: registry.builds[kind] for kind in warmed} == warmed  # the call found them ready
        memos = [c for c, kind in zip(registry.clients(), registry.kinds(), strict=True) if kind not in warmed]
        assert all(isinstance(memo, dict) for memo in memos), memos  # a call's memo, no SDK or HTTP client


def test_the_server_loads_neither_httpx_command_line_client_nor_rich_logging(tmp_path):
    """Two imports the server does not need, 4.7 MiB for its life: httpx 0.28 imports its
    command-line client (rich, pygments) whenever they are installed, and the SDK's server builds a
    rich log handler that ``logging.basicConfig`` drops when logging is set up (the entry point sets
    it up first). Checked in a fresh interpreter, logging set up as ``__main__`` does, after the
    warm-up of two backends on httpx (Grok, ElevenLabs); ``httpx.main`` still runs the real client."""
    env = _fresh_env(tmp_path, "XAI_API_KEY", "ELEVENLABS_API_KEY")
    setup = "import logging, sys\nlogging.basicConfig(stream=sys.stderr)\n"
    code = setup + _HANDSHAKE.format(heavy=repr(("httpx", "elevenlabs", "rich", "pygments")))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["warmed"] == ["elevenlabs", "httpx"], seen
    cli = "from generate_media.client_registry import defer_httpx_cli as d; d(); import httpx; httpx.main(['--help'])"
    ran = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and "Usage" in ran.stdout, ran.stderr
