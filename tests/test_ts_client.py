"""A second client stack: the official MCP TypeScript SDK client, 1.x (what most desktop and IDE
clients ship), drives the stdio server through tests/ts_client.mjs. It validates structuredContent
against the outputSchema even when isError is set. .ci/run installs it into .ci/node, pinned; the
tests skip, with the reason, where Node or the package is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KEYS
from tests.fakes import fake_env

ROOT = Path(__file__).resolve().parent.parent
SDK = Path(os.environ.get("GENERATE_MEDIA_TS_SDK", ROOT / ".ci/node/node_modules/@modelcontextprotocol/sdk"))
PINNED = "1.32.2"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not (SDK / "package.json").exists(),
        reason=f"MCP TypeScript SDK not installed: npm install --prefix .ci/node @modelcontextprotocol/sdk@{PINNED}",
    ),
]


def drive(tmp_path: Path, fake: Any, calls: list[dict[str, Any]], client: dict[str, str] | None = None) -> dict:
    server_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "OPENAI_API_KEY": KEYS["OPENAI_API_KEY"],
        "GENERATE_MEDIA_OUTPUT_DIR": str(tmp_path / "out"),
        "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "state"),
        **fake_env(fake),
    }
    spec = {
        "sdk": str(SDK),
        "command": sys.executable,
        "args": ["-m", "generate_media"],
        "env": server_env,
        "client": client or {"name": "generate-media-ts-test", "version": "0.0.0"},
        "calls": [{"name": "generate_media", "arguments": arguments} for arguments in calls],
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    done = subprocess.run(
        ["node", str(ROOT / "tests/ts_client.mjs"), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict = json.loads(done.stdout)
    assert answer["sdkVersion"] == PINNED
    return answer


def test_the_typescript_sdk_lists_generates_and_gets_our_error_message(tmp_path, fake):
    answer = drive(
        tmp_path,
        fake,
        [
            {"prompt": "a fox seen from typescript"},
            {"prompt": "a fox", "backend": "grok"},  # no XAI_API_KEY: our message, not a schema complaint
            {"prompt": "x", "n": 0},  # bad input
        ],
    )
    (tool,) = answer["tools"]
    assert tool["name"] == "generate_media" and tool["outputSchema"]["type"] == "object"
    assert answer["serverVersion"]["name"] == "generate-media"
    made, keyless, bad = answer["results"]

    assert "thrown" not in made and not made.get("isError"), made
    item = made["structuredContent"]["items"][0]
    assert Path(item["path"]).read_bytes().startswith(b"\x89PNG")
    assert any(block["type"] == "resource_link" for block in made["content"])
    assert fake.of("openai", "/images/generations")[-1].json["prompt"] == "a fox seen from typescript"

    assert "thrown" not in keyless, keyless  # today's main: "Structured content does not match ..."
    assert keyless["isError"] is True
    text = keyless["content"][0]["text"]
    assert text.startswith("Error (missing_key):") and "XAI_API_KEY" in text
    assert keyless["structuredContent"]["error"]["code"] == "missing_key"

    assert "thrown" not in bad and bad["isError"] is True, bad
    assert bad["structuredContent"]["error"]["code"] == "invalid_request"
    assert fake.of("xai") == []
