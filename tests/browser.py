"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

No driver package: Chromium reads commands from fd 3 and writes replies and events to fd 4, one
NUL-terminated JSON message each. :class:`Browser` opens one page and offers the handful of calls
the viewer test needs (navigate, evaluate in the page or in an iframe, real mouse clicks,
screenshots, page bindings).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
    "--remote-debugging-pipe",
)


def chromium() -> str | None:
    """The Chromium executable (Debian's ``chromium`` package), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, profile: Path, size: tuple[int, int] = (1100, 900)) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        # Chromium expects the pipe on fds 3 (commands in) and 4 (messages out); bash (not dash) takes fds > 9.
        args = [executable, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", "about:blank"]
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{cmd_r} 4>&{out_w}', "bash", *args],
            pass_fds=(cmd_r, out_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if not os.environ.get("BROWSER_LOG") else None,
        )
        os.close(cmd_r)
        os.close(out_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.iframes: dict[str, str] = {}  # target id -> session id of each out-of-process iframe
        target = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Runtime"):
            self.page(f"{domain}.enable")
        # Sandboxed iframes run in their own processes: attach to each as it appears.
        self.page("Target.setAutoAttach", autoAttach=True, waitForDebuggerOnStart=False, flatten=True)

    # -- the wire ---------------------------------------------------------------------------------

    def _read(self, timeout: float) -> dict[str, Any] | None:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._out_r], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium exited ({self.proc.poll()})")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        params = message.get("params") or {}
        if message.get("method") == "Target.attachedToTarget" and params["targetInfo"]["type"] == "iframe":
            self.iframes[params["targetInfo"]["targetId"]] = params["sessionId"]
        elif message.get("method") == "Target.detachedFromTarget":
            self.iframes = {t: s for t, s in self.iframes.items() if s != params.get("sessionId")}
        return message

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params: Any) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            reply = self._read(left)
            if reply is None:
                break
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise BrowserError(f"{method}: no reply in {timeout}s")

    def page(self, method: str, **params: Any) -> Any:
        return self.send(method, self.session, **params)

    def poll_events(self, timeout: float) -> list[dict[str, Any]]:
        """Events received so far, waiting up to ``timeout`` for at least one."""
        if not self.events and (event := self._read(timeout)) is not None and "method" in event:
            self.events.append(event)
        events, self.events = self.events, []
        return events

    # -- what the tests use -----------------------------------------------------------------------

    def evaluate(self, expression: str, session: str | None = None) -> Any:
        """The value of ``expression`` in the page, or in the iframe attached as ``session``."""
        params: dict[str, Any] = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        reply = self.send("Runtime.evaluate", session or self.session, **params)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression[:60]}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.page("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type_text(self, text: str) -> None:
        self.page("Input.insertText", text=text)

    def screenshot(self, path: Path) -> None:
        import base64

        path.write_bytes(base64.b64decode(self.page("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._out_r)
