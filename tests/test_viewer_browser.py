"""The MCP Apps viewer in a real browser.

Headless Chromium loads a minimal host page that speaks the Apps bridge (JSON-RPC over
postMessage, ext-apps 2026-01-26): it answers ``ui/initialize``, sends ``tool-input`` and
``tool-result`` with real results from the loopback fakes (an image, a speech clip and a video),
and forwards the view's ``resources/read`` and ``tools/call`` to the real server through an MCP
client, as a host would. The view runs in a sandboxed iframe (``allow-scripts`` only: an opaque
origin) under its own CSP. The test checks that each media element decodes its file, and that a
real click on "Variation" sends the right ``tools/call``, which the server then serves.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from generate_media.server.viewer import VIEWER_URI
from tests.browser import Browser, chromium

pytestmark = pytest.mark.skipif(
    chromium() is None, reason="needs Chromium: apt-get install chromium (Debian's package; .ci/run installs it)"
)

OA = "OPENAI_API_KEY"
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
SCREENSHOT = Path(__file__).resolve().parent.parent / "bench" / "viewer.png"

HOST = """<!doctype html><html><head><meta charset="utf-8"><title>Apps host</title>
<style>body{margin:0;padding:8px;background:#eef0f3;font:13px sans-serif;display:flex;gap:8px;align-items:flex-start}
iframe{width:250px;height:120px;border:1px solid #c8ccd2;border-radius:10px;background:#fff}</style></head><body>
<script>
const VIEWER = __VIEWER__, CALLS = __CALLS__, frames = [], waiting = new Map();
let loaded = 0, seq = 0;
for (const call of CALLS) {
  const f = document.createElement("iframe");
  f.sandbox = "allow-scripts";
  f.onload = () => { loaded++; };
  f.srcdoc = VIEWER;
  document.body.append(f);
  frames.push({f, call});
}
const send = (win, m) => win.postMessage({jsonrpc: "2.0", ...m}, "*");
window.hostReply = (key, answer) => {
  const [win, id] = waiting.get(key);
  waiting.delete(key);
  send(win, {id, ...answer});
};
addEventListener("message", (ev) => {
  const fr = frames.find((x) => x.f.contentWindow === ev.source), m = ev.data;
  if (!fr || !m || m.jsonrpc !== "2.0") return;
  if (m.method === "ui/initialize") {
    send(ev.source, {id: m.id, result: {protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
      hostCapabilities: {serverTools: {}, serverResources: {}}, hostContext: {theme: "light", displayMode: "inline"}}});
  } else if (m.method === "ui/notifications/initialized") {
    send(ev.source, {method: "ui/notifications/tool-input", params: {arguments: fr.call.arguments}});
    send(ev.source, {method: "ui/notifications/tool-result", params: fr.call.result});
  } else if (m.method === "ui/notifications/size-changed") {
    fr.f.style.height = Math.min(m.params.height, 820) + "px";
  } else if (m.id != null && m.method) {
    const key = ++seq;
    waiting.set(key, [ev.source, m.id]);
    mcpForward(JSON.stringify({key, frame: frames.indexOf(fr), method: m.method, params: m.params}));
  }
});
</script></body></html>"""

MEDIA_STATE = """(() => [...document.querySelectorAll("img, audio, video")].map((m) => ({
  tag: m.tagName.toLowerCase(), src: m.src.slice(0, 40), error: m.error ? m.error.code : null,
  ready: m.tagName === "IMG" ? m.complete && m.naturalWidth > 0 : m.readyState >= 1,
  width: m.naturalWidth || m.videoWidth || 0, duration: m.duration || 0})))()"""

BUTTON_AT = """(() => { const b = [...document.querySelectorAll("button, input")].find((b) => b.textContent === %s
  || b.placeholder === %s); b.scrollIntoView({block: "center"}); const r = b.getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2]; })()"""
FRAME_AT = """(() => { const f = document.querySelectorAll("iframe")[%d], r = f.getBoundingClientRect();
  return [r.x + f.clientLeft, r.y + f.clientTop]; })()"""


class Host:
    """The test side of the host: forwards what the page hands it to the MCP server, as a host does."""

    def __init__(self, browser: Browser, client: Client) -> None:
        self.browser = browser
        self.client = client
        self.forwarded: list[dict[str, Any]] = []

    async def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request["params"] or {}
        try:
            if method == "tools/call":
                result: Any = await self.client.call_tool(params["name"], params.get("arguments") or {})
            elif method == "resources/read":
                result = await self.client.read_resource(params["uri"])
            else:
                return {"error": {"code": -32601, "message": f"host does not forward {method}"}}
        except Exception as exc:
            return {"error": {"code": -32000, "message": str(exc)}}
        return {"result": result.model_dump(by_alias=True, mode="json", exclude_none=True)}

    async def click(self, view: int, session: str, label: str) -> None:
        """A real mouse click on the button (or input) labelled ``label`` in view ``view``."""
        x, y = self.browser.evaluate(BUTTON_AT % (json.dumps(label), json.dumps(label)), session)
        left, top = self.browser.evaluate(FRAME_AT % view)
        self.browser.click(left + x, top + y)

    def calls(self) -> list[dict[str, Any]]:
        return [r for r in self.forwarded if r["method"] == "tools/call"]

    async def until(self, done: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        """Serve the page's requests until ``done()`` returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in await anyio.to_thread.run_sync(self.browser.poll_events, 0.1):
                if event["method"] == "Runtime.bindingCalled" and event["params"]["name"] == "mcpForward":
                    request = json.loads(event["params"]["payload"])
                    self.forwarded.append(request)
                    answer = await self._answer(request)
                    self.browser.evaluate(f"hostReply({request['key']}, {json.dumps(answer)})")
            if value := done():
                return value
        raise AssertionError(f"timed out waiting for {what}; forwarded: {[r['method'] for r in self.forwarded]}")


def _js(value: Any) -> str:
    """A JSON literal safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/")


def _views(browser: Browser, prompts: list[str]) -> list[str] | None:
    """The session of each view (an out-of-process iframe), in the order of ``prompts``, once all have rendered."""
    found: dict[str, str] = {}
    for session in list(browser.iframes.values()):
        text = browser.evaluate("document.body ? document.body.innerText : ''", session)
        found.update({p: session for p in prompts if p in text})
    return [found[p] for p in prompts] if len(found) == len(prompts) else None


def _all_ready(browser: Browser, sessions: list[str], counts: list[int]) -> Any:
    state = [browser.evaluate(MEDIA_STATE, session) for session in sessions]
    ok = all(len(s) == n and all(m["ready"] for m in s) for s, n in zip(state, counts, strict=True))
    return state if ok else None


async def _show(client: Client, calls: list[dict[str, Any]], tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Make each call through the MCP client and write a host page showing one view per result."""
    shown = []
    for arguments in calls:
        result = await client.call_tool("generate_media", arguments)
        assert result.is_error == ("model" in arguments), result.content
        shown.append({"arguments": arguments, "result": result.model_dump(by_alias=True, mode="json")})
    viewer = (await client.read_resource(VIEWER_URI)).contents[0].text  # as a host fetches it
    page = tmp_path / "host.html"
    page.write_text(HOST.replace("__VIEWER__", _js(viewer)).replace("__CALLS__", _js(shown)))
    return page, shown


async def test_the_viewer_plays_real_results_and_its_buttons_call_the_tool(make_server, fake, tmp_path):
    fake.state["video_seconds"] = 1.0
    fake.state["xai_video_plan"] = [("pending", 20)] * 3 + [("done",)]
    calls = [
        {"prompt": "a red fox at dawn"},
        {"media_type": "audio", "backend": "openai", "prompt": "Welcome aboard.", "audio_format": "mp3"},
        {"media_type": "video", "backend": "google", "prompt": "waves at dusk", "duration": 4},
        {"media_type": "video", "backend": "grok", "prompt": "a slow pan", "wait_s": 0.01},
        {"prompt": "a cat", "backend": "openai", "model": "no-such-model"},
    ]
    # OpenAI's Videos API is retired: the finished video comes from Gemini Omni; images stay on OpenAI.
    keys = (OA, "XAI_API_KEY", "GEMINI_API_KEY")
    async with Client(make_server(*keys, env={"GENERATE_MEDIA_PRIORITY_IMAGE": "openai"}), extensions=[APPS]) as client:
        page, shown = await _show(client, calls, tmp_path)
        browser = await anyio.to_thread.run_sync(Browser, chromium(), tmp_path / "profile", (1340, 900))
        try:
            host = Host(browser, client)
            browser.page("Runtime.addBinding", name="mcpForward")
            browser.page("Page.navigate", url=page.as_uri())
            prompts = [c["prompt"] for c in calls[:3]] + ["is running", "no-such-model"]
            views = await host.until(lambda: _views(browser, prompts), "the views to render")
            state = await host.until(lambda: _all_ready(browser, views, [1, 1, 1, 0, 0]), "the media to load")
            [[image], [audio], [video], [], []] = state
            # Each element decoded bytes it got from resources/read of our media:// resources.
            assert image["tag"] == "img" and image["src"].startswith("data:image/png;base64,") and image["width"] > 0
            assert audio["tag"] == "audio" and audio["src"].startswith("data:audio/mpeg;base64,")
            assert audio["duration"] > 0 and audio["error"] is None
            assert video["tag"] == "video" and video["src"].startswith("data:video/mp4;base64,")
            assert video["width"] == 160 and video["duration"] > 0 and video["error"] is None
            # An error result shows its one line, in the danger colour, and nothing else.
            error = browser.evaluate("[...document.querySelectorAll('.err')].map((e) => e.textContent)", views[4])
            assert error == [shown[4]["result"]["content"][0]["text"]] and "no-such-model" in error[0]
            reads = [r["params"]["uri"] for r in host.forwarded if r["method"] == "resources/read"]
            assert len(reads) == 3 and all(r.startswith("media://outputs/") for r in reads)

            # "Variation": the same request again, one output, through the bridge to the server.
            await host.click(0, views[0], "Variation")
            await host.until(lambda: _all_ready(browser, views, [2, 1, 1, 0, 0]), "the variation")
            [variation] = host.calls()
            assert variation["frame"] == 0
            assert variation["params"] == {
                "name": "generate_media",
                "arguments": {"prompt": "a red fox at dawn", "media_type": "image", "n": 1},
            }
            assert [s.json["prompt"] for s in fake.of("openai", "/images/generations")] == ["a red fox at dawn"] * 2

            # "Resume": the pending job by its id; nothing is submitted again.
            await host.click(3, views[3], "Resume")
            await host.until(lambda: _all_ready(browser, views, [2, 1, 1, 1, 0]), "the resumed video")
            job_id = shown[3]["result"]["structuredContent"]["job_id"]
            assert host.calls()[1]["params"]["arguments"] == {"job_id": job_id}
            assert [r.json["prompt"] for r in fake.of("xai", "/videos/generations")] == ["a slow pan"]

            # "Edit with…": the instruction typed in the view, applied to this output by its continuation id.
            await host.click(0, views[0], "Edit with…")
            await host.click(0, views[0], "What to change")
            browser.type_text("make the sky purple")
            await host.click(0, views[0], "Edit")
            await host.until(lambda: _all_ready(browser, views, [3, 1, 1, 1, 0]), "the edit")
            edit = host.calls()[2]["params"]["arguments"]
            assert edit["prompt"] == "make the sky purple" and edit["media_type"] == "image"
            assert edit["continue_from"].startswith("openai_")
            assert fake.of("openai", "/images/edits")[-1].form["prompt"] == "make the sky purple"

            browser.evaluate("scrollTo(0, 0)")
            shot = tmp_path / "viewer.png"
            browser.screenshot(shot)
            assert shot.stat().st_size > 1000
            if os.environ.get("UPDATE_VIEWER_SCREENSHOT"):
                shutil.copyfile(shot, SCREENSHOT)
        finally:
            await anyio.to_thread.run_sync(browser.close)
