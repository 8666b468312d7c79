"""A third-party MCP client drives the stdio server: the official MCP Inspector CLI (npm), installed
by .ci/run into .ci/node. Skips, with the reason, where Node or the Inspector is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KEYS
from tests.fakes import fake_env

ROOT = Path(__file__).resolve().parent.parent
INSPECTOR = Path(os.environ.get("GENERATE_MEDIA_INSPECTOR", ROOT / ".ci/node/node_modules/.bin/mcp-inspector"))

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not INSPECTOR.exists(),
        reason="MCP Inspector not installed: npm install --prefix .ci/node @modelcontextprotocol/inspector@2.12.0",
    ),
]


def inspect(tmp_path: Path, fake, *method: str, keys: bool = True) -> dict:
    """The Inspector's JSON answer. It exits 5 (``tool_is_error``) after printing an error result, and 1
    with its own message when it rejects a result (a schema mismatch): only 0 and 5 are answers."""
    server_env = {
        **({"OPENAI_API_KEY": KEYS["OPENAI_API_KEY"]} if keys else {}),
        "GENERATE_MEDIA_OUTPUT_DIR": str(tmp_path / "out"),
        "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "state"),
        **fake_env(fake),
    }
    flags = [arg for name, value in server_env.items() for arg in ("-e", f"{name}={value}")]
    command = [str(INSPECTOR), "--cli", *flags, sys.executable, "-m", "generate_media", "--method", *method]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}  # its catalog goes to a throwaway home
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 5), (done.stdout[-2000:], done.stderr[-2000:])
    answer = json.loads(done.stdout)
    assert (done.returncode == 5) == bool(answer.get("isError")), done.stderr[-2000:]
    return answer


def test_the_inspector_lists_the_tool_and_generates_an_image_over_stdio(tmp_path, fake):
    listed = inspect(tmp_path, fake, "tools/list")
    called = inspect(
        tmp_path,
        fake,
        "tools/call",
        "--tool-name",
        "generate_media",
        "--tool-arg",
        "prompt=a fox seen by the inspector",
    )
    (tool,) = listed["tools"]
    assert tool["name"] == "generate_media" and "backend" in tool["inputSchema"]["properties"]
    assert not called.get("isError"), called
    item = called["structuredContent"]["items"][0]
    assert Path(item["path"]).read_bytes().startswith(b"\x89PNG")
    assert any(block["type"] == "resource_link" for block in called["content"])
    assert fake.of("openai", "/images/generations")[-1].json["prompt"] == "a fox seen by the inspector"


def test_the_inspector_gets_our_message_for_a_call_without_a_key(tmp_path, fake):
    called = inspect(
        tmp_path, fake, "tools/call", "--tool-name", "generate_media", "--tool-arg", "prompt=a fox", keys=False
    )
    assert called["isError"] is True
    text = called["content"][0]["text"]
    assert text.startswith("Error (missing_key):") and "OPENAI_API_KEY" in text
    assert called["structuredContent"]["error"]["code"] == "missing_key"
    assert fake.of("openai") == []
