"""The in-chat media viewer: an MCP Apps (``io.modelcontextprotocol/ui``) view of ``generate_media`` results.

The tool's ``_meta.ui.resourceUri`` points at ``ui://generate-media/viewer.html``, one small
self-contained HTML document (no external script, style or font; its own CSP allows only inline
code and ``data:`` media). A client that renders MCP Apps shows it in the chat with each result:
images as a gallery, audio and video in native players, the prompt, model and list-price cost
beside each item, and buttons that call the tool again through the app bridge ("Variation",
"Edit with…" with ``continue_from``, "Resume" with ``job_id``).

The viewer gets the bytes with ``resources/read`` of ``media://outputs/{id}`` through the host, the
same owner-checked, confined resource HTTP clients already read. Over HTTP the id is the item's
``resource_uri``; over stdio, for clients that negotiated Apps only, the result's ``_meta`` carries
the ids (:data:`RESULT_META_KEY`), so the structured content the model reads is the same for
everyone. A client without Apps gets exactly the result it got before; only the tool's ``_meta``
carries the UI pointer, which such clients ignore.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, client_supports_apps

__all__ = ["RESULT_META_KEY", "VIEWER_URI", "client_supports_apps", "tool_meta", "viewer_extension", "viewer_html"]

VIEWER_URI = "ui://generate-media/viewer.html"
#: Result ``_meta`` key (Apps clients over stdio): ``{"resources": [media URI or None per item]}``.
RESULT_META_KEY = "generate-media/viewer"


@cache
def viewer_html() -> str:
    return files(__package__).joinpath("viewer.html").read_text(encoding="utf-8")


def tool_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """The tool's ``_meta`` with the UI pointer added (other keys are kept as they are)."""
    return {**(meta or {}), "ui": {"resourceUri": VIEWER_URI}}


def viewer_extension() -> Apps:
    """The Apps extension carrying the viewer resource (the capability is advertised by the server)."""
    apps = Apps()
    apps.add_html_resource(
        VIEWER_URI,
        viewer_html(),
        name="generate-media-viewer",
        title="Generated media viewer",
        description="Shows generate_media results in the chat: gallery, players, and buttons to call again.",
        prefers_border=True,
    )
    return apps
