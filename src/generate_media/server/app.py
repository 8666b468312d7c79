"""The MCP surface: ``create_server`` builds an ``MCPServer`` with the one tool, ``generate_media``.

Every failure becomes an error result (``isError``) with one line naming the next move and the
error ``code`` in its structured content; API keys are scrubbed from everything returned.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
from mcp import types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools.base import Tool
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from .. import __version__
from ..client_registry import ClientRegistry, defer_httpx_cli
from ..config import Settings
from ..errors import DISK_ERRNOS, GenerateMediaError, Redactor, storage_error
from ..links import SIDECAR_MIME
from ..results import failure
from ..service import Caller, MediaService, Outcome
from .resources import Links, MediaResources, links_for
from .tool import build_tool
from .viewer import RESULT_META_KEY, client_supports_apps, tool_meta, viewer_extension

__all__ = ["MediaServer", "Redactor", "caller_of", "create_server"]

log = logging.getLogger("generate_media.server")

INSTRUCTIONS = (
    "Use generate_media to make images, video or audio files. Results give file paths and resource links; "
    "pass a continuation_id back as continue_from to edit. A 'pending' result carries a job_id: call again "
    "with job_id to resume without paying twice."
)


def caller_of(
    ctx: Context,
    principal: str | None = None,
    roots: tuple[Path, ...] = (),
    *,
    remote: bool = False,
    stateless: bool = False,
) -> Caller:
    """Who is calling. Over HTTP (``remote``) the principal comes from the auth token; stdio and
    in-process clients are the local user. The session distinguishes connections of one principal;
    over stateless HTTP (replicas) there are none, and every request of a principal is one client."""
    principal = principal or "local"
    session = principal
    try:
        connection = getattr(ctx.request_context.session, "_connection", None)
    except ValueError:
        connection = None
    if connection is not None and not stateless:
        if getattr(connection, "session_id", None):
            session = f"{principal}/http:{connection.session_id}"
        elif connection.protocol_version < "2026-07-28":
            # Handshake-era connections are long-lived: each is its own client.
            session = f"{principal}/conn:{id(connection)}"
    return Caller(principal=principal, session=session, roots=roots, remote=remote, client=client_name(ctx))


#: Where a 2026-07-28 client names itself on every request (it sends no ``initialize``).
CLIENT_INFO_META = "io.modelcontextprotocol/clientInfo"


def client_name(ctx: Context) -> str:
    """The client's ``clientInfo.name``: from this request's ``_meta`` (2026-07-28), else from the
    connection's ``initialize``; '' when it sent none."""
    try:
        request = ctx.request_context
    except ValueError:
        return ""
    info = (request.meta or {}).get(CLIENT_INFO_META)
    if isinstance(info, dict) and isinstance(info.get("name"), str):
        return str(info["name"])
    params = getattr(request.session, "client_params", None)
    return params.client_info.name if params is not None and params.client_info else ""


async def _client_roots(ctx: Context) -> tuple[Path, ...]:
    """The client's MCP roots that may widen what it can read and write (stdio only, see README).

    Asked with a plain ``roots/list`` request: the SDK's ``list_roots()`` helper warns on every call
    (roots are deprecated as of protocol 2026-07-28, yet clients still offer them).
    """
    try:
        session = ctx.request_context.session
        caps = session.client_capabilities
        if caps is None or caps.roots is None or not session.can_send_request:
            return ()
        with anyio.fail_after(5):
            listed = await session.send_request(types.ListRootsRequest(), types.ListRootsResult)
    except Exception:
        log.debug("the client's roots could not be listed", exc_info=True)
        return ()
    return tuple(root for item in listed.roots if (root := usable_root(str(item.uri))) is not None)


async def _caller(ctx: Context, principal: str | None, *, remote: bool, stateless: bool = False) -> Caller:
    if remote or ctx.headers is not None:
        # A remote client's roots name folders of its own machine: they never widen ours.
        return caller_of(ctx, principal, remote=True, stateless=stateless)
    return caller_of(ctx, principal, await _client_roots(ctx))


def usable_root(uri: str) -> Path | None:
    """A local client's root as a directory it may use, or None.

    Only ``file://`` directories that exist; never the filesystem root, the home directory or one of
    its ancestors (a client offering ``file:///`` would otherwise open every file of the user, such as
    ``~/.ssh``, to upload as an input image).
    """
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = Path(unquote(parts.path)).resolve()
    except (OSError, ValueError):
        return None
    home = Path.home().resolve()
    if not path.is_dir() or path == Path(path.anchor) or home == path or home.is_relative_to(path):
        log.info("ignoring the client root %s: too broad or not a directory", uri[:200])
        return None
    return path


def _error_result(exc: GenerateMediaError, redact: Redactor) -> CallToolResult:
    data = redact.data(exc.to_dict())  # details too: backends_tried carries provider messages
    return CallToolResult(
        content=[TextContent(text=f"Error ({exc.code}): {data['message']}")],
        structured_content=failure(data),
        is_error=True,
    )


def _disk_failure(exc: BaseException) -> GenerateMediaError | None:
    """A disk error no seam translated (possibly inside an exception group), said plainly."""
    if isinstance(exc, BaseExceptionGroup):
        return next((found for sub in exc.exceptions if (found := _disk_failure(sub)) is not None), None)
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        folder = Path(str(exc.filename)).parent if exc.filename else "a folder of the server"
        return storage_error(exc, folder, role="folder", move="check the output and state folders")
    return None


def _unexpected(exc: Exception) -> GenerateMediaError:
    """An exception no seam translated: a disk failure said plainly, anything else an internal error."""
    wrapped = _disk_failure(exc)
    if wrapped is None:
        log.exception("generate_media crashed")
        wrapped = GenerateMediaError(f"internal error ({type(exc).__name__}); the server is still running, try again")
    return wrapped


#: Image previews ride along only with a result whose structured data is at most this many characters.
#: A client may cut a result that carries images at a token limit of its own, and a cut result loses
#: its last items: Claude Code cuts one at 25,000 tokens (MAX_MCP_OUTPUT_TOKENS, counting an image as
#: 1,600), and anthropic/maxResultSizeChars lifts that only for results without images. 40,000
#: characters (about 10,000 tokens) and four previews stay well under it.
PREVIEW_RESULT_CHARS = 40_000
PREVIEWS_LEFT_OUT = "previews left out of this large result (so no client cuts it); the files are listed"


def _previews_fit(outcome: Outcome, redact: Redactor) -> bool:
    """Whether the result keeps its previews; if not, it says so in its warnings."""
    if not outcome.previews:
        return False
    size = len(json.dumps(redact.data(outcome.result.model_dump(mode="json", exclude_none=True))))
    if size <= PREVIEW_RESULT_CHARS:
        return True
    outcome.result.warnings.append(PREVIEWS_LEFT_OUT)
    return False


def _content(outcome: Outcome, redact: Redactor, uris: dict[str, str]) -> CallToolResult:
    """Summary text, a resource link per file (``uris``: path -> link URI), previews, structured data."""
    result = outcome.result
    previews = outcome.previews if _previews_fit(outcome, redact) else []
    blocks: list[ContentBlock] = [TextContent(text=redact(result.summary()))]
    for item in result.items:
        if item.path not in uris:
            continue
        uri = uris[item.path]
        blocks.append(
            ResourceLink(
                uri=uri,
                name=Path(item.path).name,
                mime_type=item.mime_type,
                size=item.size_bytes,
                description=f"{result.media_type} from {result.backend}/{result.model}",
            )
        )
        for ext, path in (item.sidecars or {}).items():
            description = "word timings" if ext == "json" else "subtitles"
            blocks.append(
                ResourceLink(
                    uri=uris[path], name=Path(path).name, mime_type=SIDECAR_MIME.get(ext), description=description
                )
            )
    for data, mime in previews:
        blocks.append(ImageContent(data=base64.b64encode(data).decode(), mime_type=mime))
    structured = redact.data(result.model_dump(mode="json", exclude_none=True))
    return CallToolResult(content=blocks, structured_content=structured, is_error=False)


def _link_items(outcome: Outcome, links: Any, owner: str, *, set_resource_uri: bool) -> dict[str, str]:
    """path -> link URI for every file of the result (outputs and their sidecars)."""
    uris: dict[str, str] = {}
    for item in outcome.result.items:
        if item.status == "ok" and item.path:
            uris[item.path] = links.link_item(item, owner)  # once: a signed link costs an HMAC
            if set_resource_uri:
                item.resource_uri = uris[item.path]
            for ext, path in (item.sidecars or {}).items():
                uris[path] = links.link(Path(path), owner, SIDECAR_MIME.get(ext))
    return uris


def _viewer_links(settings: Settings, links: Links, principal_of: Any, service: MediaService) -> MediaResources | None:
    """The media:// resources the viewer reads through the host (over stdio too), or None: no viewer."""
    if not settings.viewer:
        return None
    if isinstance(links, MediaResources):
        return links
    return MediaResources(settings, principal_of, service.storage, service.store.resources)


def _viewer(tool: Tool) -> list[Extension]:
    """Point the tool at the viewer (keeping its other ``_meta`` keys); the Apps extension serving it."""
    tool.meta = tool_meta(tool.meta)
    return [viewer_extension()]


def _add_viewer_links(result: CallToolResult, ctx: Context, outcome: Outcome, links: Any, owner: str) -> None:
    """Over stdio, an Apps client gets a media:// URI per item (None for failed ones) in the result's ``_meta``;
    the structured content stays what every client sees. (Over HTTP items carry ``resource_uri`` already.)"""
    if not _apps(ctx, links):
        return
    uris = [links.link_item(i, owner) if i.status == "ok" and i.path else None for i in outcome.result.items]
    result.meta = {**(result.meta or {}), RESULT_META_KEY: {"resources": uris}}


def _apps(ctx: Context, links: Any) -> bool:
    """Whether ``ctx``'s client renders the viewer and gets media:// links from ``links`` for it."""
    return isinstance(links, MediaResources) and client_supports_apps(ctx)


@contextlib.contextmanager
def _without_rich_log_handler() -> Iterator[None]:
    """While the SDK's server is built: when logging is already set up (the entry point does it
    first), its ``configure_logging`` would only import rich for a handler that ``basicConfig`` then
    drops (1.5 MiB resident for the server's life). Its import is refused for that moment, and
    ``configure_logging`` falls back to the standard handler, which ``basicConfig`` drops as well."""
    if "rich" in sys.modules or not logging.getLogger().handlers:
        yield
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # the import system's "not importable"
    try:
        yield
    finally:
        if "rich" in sys.modules and sys.modules["rich"] is None:
            del sys.modules["rich"]


def create_server(
    settings: Settings | None = None,
    *,
    service: MediaService | None = None,
    principal_of: Any = None,
    resource_links: str = "file",
    stateless: bool = False,
) -> MediaServer:
    """Build the MCP server.

    ``principal_of(ctx)`` names the authenticated client (HTTP); ``resource_links`` is ``"file"``
    (stdio: file:// URIs) or ``"media"`` (HTTP: ``media://outputs/{id}`` served as resources, or
    signed links when outputs go to a bucket); ``stateless``: HTTP without sessions (replicas).
    """
    defer_httpx_cli()  # before any SDK imports httpx
    settings = settings or Settings.from_env()
    service = service or MediaService(settings)
    redact = Redactor([*settings.secrets(), *service.redact.secrets])
    links = links_for(resource_links, settings, principal_of, service.storage, service.store.resources)
    remote = resource_links == "media" or principal_of is not None  # HTTP
    viewer_links = _viewer_links(settings, links, principal_of, service)

    async def handler(ctx: Context, arguments: dict[str, Any]) -> CallToolResult:
        caller = await _caller(ctx, principal_of(ctx) if principal_of else None, remote=remote, stateless=stateless)
        if isinstance(links, MediaResources) or (viewer_links is not links and _apps(ctx, viewer_links)):
            # media:// links resolve through the state store's resource index: the call fills it.
            caller = dataclasses.replace(caller, index_links=True)

        async def progress(value: float, total: float | None, message: str) -> None:
            try:
                await ctx.report_progress(value, total, redact(message))
            except Exception:  # a client that went away must not fail the job
                log.debug("progress notification not delivered")

        try:
            outcome = await service.generate(arguments, caller, progress)
        except GenerateMediaError as exc:
            log.info("generate_media failed: %s", redact(f"{exc.code}: {exc.message}"))
            return _error_result(exc, redact)
        except Exception as exc:
            return _error_result(_unexpected(exc), redact)
        uris = _link_items(outcome, links, caller.principal, set_resource_uri=resource_links == "media")
        result = _content(outcome, redact, uris)
        if viewer_links is not links:
            _add_viewer_links(result, ctx, outcome, viewer_links, caller.principal)
        return result

    tool = build_tool(service.registry, handler)
    server = MediaServer(
        service,
        name="generate-media",
        title="Generate media",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=[tool],
        extensions=_viewer(tool) if viewer_links is not None else None,
    )
    (viewer_links or links).register(server)
    return server


class MediaServer(MCPServer[ClientRegistry]):
    """The MCP server of one ``MediaService``: its lifespan is the service's (one client registry,
    closed at shutdown), and once a client has listed the tools the keyed backends warm up."""

    def __init__(self, service: MediaService, **kwargs: Any) -> None:
        self.media_service = service

        @asynccontextmanager
        async def lifespan(_: MCPServer[ClientRegistry]) -> AsyncIterator[ClientRegistry]:
            async with service.serving() as clients:
                yield clients

        async def warm_after_listing(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
            result = await call_next(ctx)
            if ctx.method == "tools/list":  # the handshake is over and the client is idle: warm up
                service.warm_up()
            return result

        with _without_rich_log_handler():
            super().__init__(lifespan=lifespan, middleware=[warm_after_listing], **kwargs)
