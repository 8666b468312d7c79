"""The MCP surface: one tool, a client-safe schema, error results that name the next move."""

from __future__ import annotations

import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters

from generate_media.registry import load_registry
from generate_media.spec import MediaType
from tests.conftest import KEYS
from tests.fakes import fake_env


def _walk(node, found):
    if isinstance(node, dict):
        found.update(node.keys())
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)
    return found


async def test_lists_exactly_one_tool_with_a_flat_enumerated_schema(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == ["generate_media"]
    tool = tools[0]
    schema = tool.input_schema
    registry = load_registry()
    assert schema["properties"]["backend"]["enum"] == ["auto", *registry.names()]
    served = [mt.value for mt in MediaType if registry.serving(mt)]
    assert schema["properties"]["media_type"]["enum"] == served
    assert not schema.get("required")
    keys = _walk(schema, set())
    assert not {"anyOf", "oneOf", "allOf", "$ref", "$defs"} & keys
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{name} is undocumented"
        assert "type" in prop, name
    ann = tool.annotations
    assert (ann.read_only_hint, ann.idempotent_hint, ann.open_world_hint, ann.destructive_hint) == (
        False,
        False,
        True,
        False,
    )
    assert tool.output_schema and "items" in tool.output_schema["properties"]


async def test_no_keys_gives_an_error_naming_the_env_vars_and_the_server_keeps_serving(make_server, mode):
    server = make_server()
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "a cat"})
        assert result.is_error
        text = result.content[0].text
        assert "OPENAI_API_KEY" in text and "\n" not in text
        assert result.structured_content["error"]["code"] == "missing_key"
        assert [t.name for t in (await client.list_tools()).tools] == ["generate_media"]


async def test_bad_arguments_get_one_line_errors(make_server, fake, out_dir, mode):
    cases = [
        ({"prompt": "x", "bogus": 1}, "bogus"),
        ({"prompt": "x", "media_type": "hologram"}, "media_type"),
        ({"prompt": "x", "backend": "nope"}, "backend"),
        ({"prompt": "x", "size": "7x7"}, "accepted"),
        ({"prompt": "x", "max_concurrent": 0}, "max_concurrent"),
        ({"prompt": "x", "n": 0}, "n must be"),
        ({"prompt": "x", "prompts": ["y"]}, "either prompt or prompts"),
        ({}, "prompt is required"),
        ({"prompt": "x", "filename": "../escape"}, "plain file name"),
        ({"prompt": "x", "output_dir": "/etc"}, "output folder /etc is outside the allowed directories"),
        ({"prompt": "x", "input_images": ["/etc/passwd"]}, "move the file there"),
        ({"prompt": "x", "continue_from": "openai_img_nope"}, "unknown continuation id"),
    ]
    async with Client(make_server("OPENAI_API_KEY"), mode=mode) as client:
        for args, expected in cases:
            result = await client.call_tool("generate_media", args)
            assert result.is_error, args
            text = result.content[0].text
            assert expected in text, (args, text)
            assert "\n" not in text
    assert [p.name for p in out_dir.iterdir()] == []  # nothing written, nothing half-written


async def test_provider_errors_are_classified(make_server, fake, out_dir):
    async with Client(make_server("OPENAI_API_KEY")) as client:
        fake.inject("openai:POST .*/images/generations", status=401, body={"error": {"message": "Incorrect API key"}})
        auth = await client.call_tool("generate_media", {"prompt": "x"})
        blocked = await client.call_tool("generate_media", {"prompt": "safety blocked content"})
        fake.inject("openai:POST .*/images/generations", status=429, headers={"retry-after": "0"}, times=1)
        retried = await client.call_tool("generate_media", {"prompt": "retry me"})
        fake.inject("openai:POST .*/images/generations", status=503, times=5)
        down = await client.call_tool("generate_media", {"prompt": "down"})
        fake.inject("openai:POST .*/images/generations", raw=b"{not json", times=5)
        garbled = await client.call_tool("generate_media", {"prompt": "garbled"})
    assert auth.structured_content["error"]["code"] == "auth" and "OPENAI_API_KEY" in auth.content[0].text
    assert blocked.structured_content["error"]["code"] == "safety_blocked"
    assert "safety system" in blocked.content[0].text
    assert not retried.is_error
    assert down.is_error and down.structured_content["error"]["code"] == "provider_error"
    assert garbled.is_error
    files = sorted(p.name for p in out_dir.iterdir())
    assert len(files) == 1 and files[0].startswith("retry-me_")  # only the success left a file


async def test_a_batch_runs_every_prompt_and_reports_each(make_server, fake):
    fake.inject("openai:POST .*/images/generations", status=400, body={"error": {"message": "bad prompt two"}}, times=1)
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompts": ["one", "two", "three"], "max_concurrent": 3})
    data = result.structured_content
    assert not result.is_error and data["status"] == "partial"
    statuses = sorted(i["status"] for i in data["items"])
    assert statuses == ["error", "ok", "ok"]
    assert len(fake.of("openai", "/images/generations")) == 3


async def test_a_batch_is_concurrent(make_server, fake):
    fake.gather = 6  # the fake answers once all six requests are in flight at once (timings: bench/batch.py)
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompts": [f"p{i}" for i in range(6)], "max_concurrent": 6})
    assert result.structured_content["status"] == "completed"
    assert fake.most_in_flight == 6


async def test_over_real_stdio_with_the_console_script(fake, tmp_path):
    out = tmp_path / "out"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "OPENAI_API_KEY": KEYS["OPENAI_API_KEY"],
        "GENERATE_MEDIA_OUTPUT_DIR": str(out),
        "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "state"),
        **fake_env(fake),
    }
    script = os.path.join(os.path.dirname(sys.executable), "generate-media-mcp")
    params = StdioServerParameters(command=script, args=[], env=env)
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            tools = await client.list_tools()
            result = await client.call_tool("generate_media", {"prompt": "over stdio"})
    assert [t.name for t in tools.tools] == ["generate_media"]
    assert not result.is_error, result.content
    path = result.structured_content["items"][0]["path"]
    assert path.startswith(str(out)) and path.endswith(".png")
    assert KEYS["OPENAI_API_KEY"] not in json.dumps(result.structured_content)
