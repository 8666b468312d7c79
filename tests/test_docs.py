"""Docs derived from the registry cannot go stale: TOOL.md, the tool description, the backends
listing, mcp.json.example and server.json all agree with the code."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from mcp import Client

from generate_media import __version__
from generate_media.docs import backend_rows, tool_description, tool_markdown
from generate_media.registry import load_registry
from generate_media.requests import MediaRequest

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_tool_md_matches_the_registry():
    committed = (ROOT / "TOOL.md").read_text(encoding="utf-8")
    assert committed == tool_markdown(load_registry()), "TOOL.md is stale: run `generate-media docs --write TOOL.md`"


def test_tool_md_documents_every_parameter_backend_model_and_key():
    text = tool_markdown(load_registry())
    front = text.split("---\n")[1]
    assert re.search(r"^name: generate_media$", front, re.M) and "keywords: [" in front
    for name in MediaRequest.model_fields:
        assert f"| `{name}` |" in text, name
    for spec in load_registry():
        assert f"| `{spec.name}` |" in text
        for key in spec.env_keys:
            assert key in front and f"`{key}`" in text
        for _, model in spec.models():
            assert f"| `{model.id}` |" in text, model.id
            dates = [d for d in (model.deprecated_on, model.shutdown_on) if d]
            if dates or model.status != "current":
                # The lifecycle table has a row with every date, the status and the replacement.
                row = next(line for line in text.splitlines() if line.startswith(f"| `{spec.name}/{model.id}` |"))
                assert all(d in row for d in dates) and model.status in row, row
                assert model.replacement_ref(spec.name) in row, row
        for media_type in spec.media:
            assert f"### {spec.name}: {media_type.value}" in text


async def test_the_tool_description_and_the_backends_listing_come_from_the_registry(make_server, make_settings):
    registry = load_registry()
    async with Client(make_server()) as client:
        tool = (await client.list_tools()).tools[0]
    assert tool.description == tool_description(registry)
    for spec in registry:  # each backend with the keys that reach it
        assert f"{spec.name} {' or '.join(spec.env_keys) or 'no key'} (" in tool.description
    rows = backend_rows(registry, make_settings("OPENAI_API_KEY"))
    pairs = {(r.backend, r.media_type) for r in rows}
    assert pairs == {(s.name, mt.value) for s in registry for mt in s.media}
    assert all(r.default_model in r.models for r in rows)


def test_the_docs_command_prints_and_writes_the_same_text(tmp_path, capsys):
    from generate_media.cli import _docs, _parser

    assert _docs(_parser().parse_args(["docs"])) == 0
    printed = capsys.readouterr().out
    assert _docs(_parser().parse_args(["docs", "--write", str(tmp_path / "TOOL.md")])) == 0
    assert printed == (tmp_path / "TOOL.md").read_text(encoding="utf-8") == tool_markdown(load_registry())


def test_mcp_json_example_has_a_working_entry_per_client():
    config = json.loads((ROOT / "mcp.json.example").read_text(encoding="utf-8"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert "generate-media-mcp" in scripts
    assert set(config) >= {"claude-desktop", "claude-code", "cursor", "vscode"}
    for client, section in config.items():
        if client.startswith("_"):
            continue
        servers = section["servers" if client == "vscode" else "mcpServers"]
        assert servers["generate-media"]["command"] == "uvx"
        assert servers["generate-media"]["args"] == ["generate-media-mcp"]
        assert servers["generate-media-checkout"]["command"].endswith("/.venv/bin/generate-media-mcp")
        http = json.dumps(servers["generate-media-http"])
        assert "http://127.0.0.1:8765/mcp" in http and "Bearer" in http
        if client == "vscode":
            assert all(s["type"] in ("stdio", "http") for s in servers.values())


def test_server_json_matches_the_package_and_declares_every_key_as_secret():
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert server["$schema"].startswith("https://static.modelcontextprotocol.io/schemas/")
    assert re.match(r"^io\.github\.[\w-]+/generate-media-mcp$", server["name"])
    assert server["version"] == __version__ == project["version"] and len(server["description"]) <= 100
    (package,) = server["packages"]
    assert (package["registryType"], package["identifier"], package["runtimeHint"]) == ("pypi", project["name"], "uvx")
    assert package["version"] == __version__ and package["transport"] == {"type": "stdio"}
    env = {v["name"]: v for v in package["environmentVariables"]}
    for spec in load_registry():
        for key in spec.env_keys:
            assert env[key]["isSecret"] is True and env[key]["isRequired"] is False, key
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {server['name']}" in readme  # PyPI ownership marker the registry checks


def test_the_readme_section_mcp_json_example_points_to_exists_and_no_key_is_required():
    example = json.loads((ROOT / "mcp.json.example").read_text(encoding="utf-8"))
    (section,) = re.findall(r"README: '([^']+)'", example["_readme"])
    assert f"## {section}" in (ROOT / "README.md").read_text(encoding="utf-8")
    front = (ROOT / "TOOL.md").read_text(encoding="utf-8").split("---")[1]
    assert "requires_api_keys: []" in front and "optional_api_keys: [" in front
