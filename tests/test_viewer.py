"""The MCP Apps viewer through an MCP client: the tool's UI pointer, the ui:// resource, the media
links an Apps client gets, and that a client without Apps sees exactly what it saw before."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from generate_media.server.viewer import RESULT_META_KEY, VIEWER_URI
from tests.assertions import only_item

OA = "OPENAI_API_KEY"
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


async def test_the_tool_points_at_a_small_self_contained_viewer(make_server, mode):
    async with Client(make_server(OA), mode=mode, extensions=[APPS]) as client:
        listed = await client.list_tools()
        read = await client.read_resource(VIEWER_URI)
        caps = client.server_capabilities
    [tool] = listed.tools
    assert tool.meta["ui"] == {"resourceUri": VIEWER_URI}
    if mode == "auto":  # handshake-era capabilities have no extensions field
        assert EXTENSION_ID in (caps.extensions or {})
    # The pointer costs tools/list a few dozen characters, not the viewer.
    assert len(json.dumps(tool.meta["ui"])) < 80
    [content] = read.contents
    assert content.mime_type == APP_MIME_TYPE and content.meta == {"ui": {"prefersBorder": True}}
    html = content.text
    assert len(html) < 9000, len(html)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "img-src data:;" in csp and "media-src data:;" in csp
    assert "connect-src" not in csp  # default-src 'none' forbids every fetch
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html)
    assert "http://" not in html and "https://" not in html


async def test_an_apps_client_gets_media_links_the_viewer_can_read(make_server, fake, mode):
    async with Client(make_server(OA), mode=mode, extensions=[APPS]) as client:
        result = await client.call_tool("generate_media", {"prompt": "a red fox"})
        item = only_item(result)
        [uri] = result.meta[RESULT_META_KEY]["resources"]
        assert re.fullmatch(r"media://outputs/[0-9a-f]{24}", uri)
        read = await client.read_resource(uri)
    [content] = read.contents
    assert content.mime_type == "image/png"
    assert base64.b64decode(content.blob) == Path(item["path"]).read_bytes()
    assert "resource_uri" not in item  # stdio: the structured content is what every client gets


async def test_another_principal_cannot_read_a_viewer_link(make_settings, fake):
    from generate_media.server import create_server

    settings = make_settings(OA)
    server = create_server(settings, principal_of=lambda ctx: "alice")
    async with Client(server, extensions=[APPS]) as client:
        result = await client.call_tool("generate_media", {"prompt": "a red fox"})
        [uri] = result.meta[RESULT_META_KEY]["resources"]
    other = create_server(settings, principal_of=lambda ctx: "bob")
    async with Client(other, extensions=[APPS]) as client:
        try:
            await client.read_resource(uri)
        except Exception as exc:
            assert "Unknown resource" in str(exc)
        else:
            raise AssertionError("bob read alice's output")


def _normalised(result, out_dir: Path) -> str:
    """A result as JSON with the run-specific parts (file names, ids, previews) masked."""
    text = json.dumps(result.model_dump(by_alias=True, mode="json", exclude_none=True), sort_keys=True)
    text = text.replace(str(out_dir.resolve()), "<out>")
    text = re.sub(r"a-red-fox_[^\"\\ ]+?\.png", "<file>", text)
    text = re.sub(r'"(data|continuation_id)": "[^"]+"', r'"\1": "<x>"', text)
    return re.sub(r"\(continuation_id: [^)]+\)", "(continuation_id: <x>)", text)


async def test_a_client_without_apps_sees_what_it_saw_before_the_viewer(make_server, fake, out_dir, mode):
    seen = {}
    for viewer in (True, False):
        async with Client(make_server(OA, viewer=viewer), mode=mode) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("generate_media", {"prompt": "a red fox"})
            templates = (await client.list_resource_templates()).resource_templates
        assert not result.is_error and RESULT_META_KEY not in (result.meta or {})
        seen[viewer] = (tools[0], _normalised(result, out_dir), [t.uri_template for t in templates])
    with_viewer, without = seen[True], seen[False]
    assert with_viewer[0].meta == {**(without[0].meta or {}), "ui": {"resourceUri": VIEWER_URI}}
    assert with_viewer[0].model_copy(update={"meta": None}) == without[0].model_copy(update={"meta": None})
    assert with_viewer[1] == without[1]
    # The one other difference: the media:// template the viewer reads is served over stdio too.
    assert with_viewer[2] == ["media://outputs/{id}"] and without[2] == []


async def test_over_http_the_viewer_reads_the_items_own_resource_uri(make_settings, fake):
    """With media:// links (the HTTP transport) the item's resource_uri is the viewer's link; no extra _meta."""
    from generate_media.server import create_server

    server = create_server(make_settings(OA), resource_links="media")
    async with Client(server, extensions=[APPS]) as client:
        [tool] = (await client.list_tools()).tools
        result = await client.call_tool("generate_media", {"prompt": "a red fox"})
        item = only_item(result)
        read = await client.read_resource(item["resource_uri"])
    assert tool.meta["ui"] == {"resourceUri": VIEWER_URI}
    assert RESULT_META_KEY not in (result.meta or {})
    assert base64.b64decode(read.contents[0].blob) == Path(item["path"]).read_bytes()


async def test_with_the_viewer_off_no_ui_is_offered(make_server, fake):
    async with Client(make_server(OA, viewer=False), extensions=[APPS]) as client:
        [tool] = (await client.list_tools()).tools
        result = await client.call_tool("generate_media", {"prompt": "a red fox"})
        templates = (await client.list_resource_templates()).resource_templates
        resources = (await client.list_resources()).resources
    assert "ui" not in (tool.meta or {}) and RESULT_META_KEY not in (result.meta or {})
    assert templates == [] and not any(str(r.uri).startswith("ui://") for r in resources)
