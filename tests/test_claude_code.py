"""The real client finds the tool: Claude Code (npm, pinned, installed by .ci/run into .ci/node) runs
non-interactively with this server over stdio, and its tool search, which needs no model, is asked
for what people want in their own words.

Claude Code defers MCP tools behind a lexical ToolSearch. In place of the model, the loopback
stand-in for the Messages API (tests/fakes/anthropic.py) answers each turn with a ToolSearch call for
the next phrase and records the ``tool_reference`` list Claude Code sends back. One Claude Code
session answers every phrase. Skips, with the reason, where Node or Claude Code is missing.

Measured with Claude Code 2.1.328: before the search hint, the tool was in the top 3 for 2 of the
issue's 12 phrasings and 6 of the first 30 of PHRASES; with it, 12 of 12 and, on 2026-12-03 with video
edits and dialogue among PHRASES, 37 of 38 (the miss, "lofi beat to study to": each "to" scores 8 for
tools whose names contain it, such as ListMcpResourcesTool).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KEYS
from tests.fakes import anthropic, fake_env

ROOT = Path(__file__).resolve().parent.parent
CLAUDE = Path(os.environ.get("GENERATE_MEDIA_CLAUDE_CODE", ROOT / ".ci/node/node_modules/.bin/claude"))
SERVER = "generate-media"  # the name README and mcp.json.example give the server
TOOL = f"mcp__{SERVER}__generate_media"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not CLAUDE.exists(),
        reason="Claude Code not installed: npm install --prefix .ci/node @anthropic-ai/claude-code@2.1.328",
    ),
]

#: Ours, written to cover every operation, many worded unlike anything the tool says about itself.
PHRASES = (
    # images: create, edit, upscale, restyle
    "draw me a cartoon cat",
    "design a logo for my bakery",
    "render a photorealistic product shot",
    "remove the person from this photo",
    "put a hat on the dog in my picture",
    "upscale this screenshot to 4x",
    "make my low-res image sharper",
    "turn my photo into a van gogh painting",
    "apply an artistic style to a picture",
    # video: from text, from a picture, edit or extend a video (input_video, continue_from), a slideshow
    "make a short clip of waves crashing",
    "generate a 10 second video ad",
    "make this photo move",
    "turn this still image into a video",
    "extend this video",
    "continue this clip",
    "make my clip five seconds longer",
    "edit this video so it snows",
    "make a slideshow from my holiday photos",
    # audio: speech, dialogue, sound effects, music, voices, isolation, dubbing
    "narrate this paragraph",
    "convert my blog post to an mp3 voiceover",
    "record a podcast conversation between two hosts",
    "a dialogue between a knight and a dragon, voiced",
    "make a dialogue between two voices",
    "I need a whoosh sound for a transition",
    "footsteps sound effect for a game",
    "write a jingle for a podcast intro",
    "lofi beat to study to",
    "write a song with two verses and a chorus",
    "copy my voice from a recording",
    "make a synthetic voice that sounds like me",
    "invent a new voice for a wizard character",
    "describe a voice and create it",
    "make my recording sound like a different person",
    "change the voice in this audio clip",
    "clean up the background noise in my podcast",
    "extract the vocals from this recording",
    "translate this video into Spanish with voices",
    "dub my youtube video in french",
)

#: The phrasings of issue 21 (2 of 12 in the top 3 before the search hint).
ISSUE_PHRASES = (
    "generate an image",
    "compose music",
    "create a picture",
    "make a video",
    "clone a voice",
    "make a logo",
    "edit this photo",
    "text to speech",
    "read this text aloud",
    "animate this image",
    "sound effect",
    "dub this video",
)

#: Below this many characters loaded, keeping the tool always loaded (anthropic/alwaysLoad) would cost
#: little enough to weigh again; server/tool.py leaves it off for a tool of about 7,200.
ALWAYS_LOAD_WORTH = 2_000

#: Claude Code's switches for a machine with no internet and no account: no telemetry, updates,
#: error reports, feature-flag fetches or installation checks.
QUIET = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_UPDATES": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_GROWTHBOOK": "1",
    "DISABLE_INSTALLATION_CHECKS": "1",
}


def _rank(names: list[str]) -> int | None:
    return next((i for i, name in enumerate(names, 1) if name == TOOL), None)


def _run_claude_code(tmp_path: Path, fake, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "mcp.json"
    server_env = {"GENERATE_MEDIA_OUTPUT_DIR": str(tmp_path / "out"), "GENERATE_MEDIA_STATE_DIR": str(tmp_path / "st")}
    server_env.update(env or {})
    entry = {"command": sys.executable, "args": ["-m", "generate_media"], "env": server_env}
    config.write_text(json.dumps({"mcpServers": {SERVER: entry}}))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": fake.url + anthropic.PREFIX,
        "ANTHROPIC_API_KEY": "sk-ant-stand-in",
        **QUIET,
    }
    command = [str(CLAUDE), "-p", "Find the tools for these requests.", "--mcp-config", str(config)]
    command += ["--strict-mcp-config", "--output-format", "json", *args]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])


def test_claude_code_tool_search_finds_the_tool_for_the_words_people_use(tmp_path, fake):
    fake.state["tool_search_queries"] = [*PHRASES, *ISSUE_PHRASES]
    _run_claude_code(tmp_path, fake)

    results = dict(anthropic.search_results(fake))
    assert set(results) == {*PHRASES, *ISSUE_PHRASES}, "Claude Code did not answer every search"
    table = "\n".join(f"{_rank(names) or '-':>3}  {query!r}: {names}" for query, names in results.items())
    print(table)  # the figures, with pytest -s
    ours = [query for query in PHRASES if (_rank(results[query]) or 99) <= 3]
    issue = [query for query in ISSUE_PHRASES if (_rank(results[query]) or 99) <= 3]
    assert len(ours) >= len(PHRASES) - 1, f"top 3 for {len(ours)} of {len(PHRASES)}:\n{table}"
    assert len(issue) >= 11, f"top 3 for {len(issue)} of {len(ISSUE_PHRASES)} of the issue's phrasings:\n{table}"

    # What the model reads once the tool is loaded: the description opens with what it does. The search
    # hint and the rest of _meta stay in Claude Code (the model is sent name, description, input_schema).
    loaded = anthropic.loaded_tool(fake, "__generate_media")
    assert loaded is not None and loaded["description"].startswith("Makes media files for you.")
    assert set(loaded) <= {"name", "description", "input_schema", "defer_loading"}, sorted(loaded)
    sent = json.dumps({k: loaded[k] for k in ("name", "description", "input_schema")}, separators=(",", ":"))
    # alwaysLoad's price, which server/tool.py weighs: this many characters in every request (~4 a token).
    print(f"loaded, the tool costs {len(sent)} characters (~{len(sent) // 4} tokens) in every request")
    assert len(sent) > ALWAYS_LOAD_WORTH, "the tool got small: reconsider anthropic/alwaysLoad (server/tool.py)"


def test_claude_code_keeps_the_largest_batch_result_whole(tmp_path, fake):
    """anthropic/maxResultSizeChars at work in the real client: the result of the largest batch (32 prompts x
    10 images; about 355,000 characters as the model gets it) reaches the model whole, neither cut at
    Claude Code's 25,000-token limit for MCP results nor saved to a file in its place. With its four
    previews (as before server/app.py's PREVIEW_RESULT_CHARS) Claude Code cut it at 25,000 tokens."""
    prompts = [f"scene {i}: " + "a lighthouse on a cliff at dusk, gulls, long exposure, " * 5 for i in range(32)]
    fake.state["tool_search_queries"] = ["generate an image"]
    fake.state["tool_calls"] = [(TOOL, {"prompts": prompts, "n": 10, "max_concurrent": 16})]
    env = {**fake_env(fake), "OPENAI_API_KEY": KEYS["OPENAI_API_KEY"]}
    _run_claude_code(tmp_path, fake, env=env, args=("--allowedTools", TOOL))

    (content,) = anthropic.tool_results(fake, TOOL)
    texts = [content] if isinstance(content, str) else [b["text"] for b in content if b["type"] == "text"]
    size = sum(map(len, texts))
    print(f"the model got a result of {size} characters")
    assert not any("OUTPUT TRUNCATED" in text for text in texts), size  # what the 25,000-token cut adds
    structured = json.loads(texts[-1])  # the structured result, whole (a cut one does not parse)
    assert len(structured["items"]) == 320 and all(item["status"] == "ok" for item in structured["items"])
    assert not [b for b in content if isinstance(b, dict) and b.get("type") == "image"]  # none to cut it
