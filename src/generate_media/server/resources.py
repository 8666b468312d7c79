"""Generated files as MCP resources, for clients that cannot read the server's disk (HTTP).

``media://outputs/{id}`` serves a file's bytes with its real MIME type. The id is derived from
(owner, path) by :func:`resource_id`; the service records it in the state store's resource index
with the call's other writes (``MediaService.index_links``), so links survive a restart and
resolve on every replica sharing the database. A read succeeds only when the id is well formed and
indexed, the reader owns it, and the file still exists inside the output or allowed directories
(after resolving symlinks). Every other case is answered exactly like an id
that never existed, so one client cannot probe another's files.

With outputs in a bucket (``GENERATE_MEDIA_STORAGE_URL``), HTTP results link to time-limited signed
https URLs of the objects instead (:class:`SignedLinks`): clients download straight from the store,
and no replica reads a whole video into memory to send it as base64. A ``media://`` read (the
viewer) of a file another replica made fetches it from the bucket first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.mcpserver.resources import FunctionResource, ResourceTemplate
from mcp.server.mcpserver.utilities.context_injection import inject_context

from ..config import Settings
from ..links import URI_TEMPLATE, resource_id
from ..output import Confinement
from ..storage import LocalStorage, Storage
from ..stores import ResourceStore, StateStore, database_url

__all__ = [
    "URI_TEMPLATE",
    "FileLinks",
    "Links",
    "MediaResources",
    "SignedLinks",
    "links_for",
    "resource_id",
]

log = logging.getLogger("generate_media.server")


class _MediaTemplate(ResourceTemplate):
    """A template whose resources carry the MIME type of the file they serve.

    The SDK's template stamps one static MIME type on everything it serves; media files differ.
    The function returns ``(bytes, mime)``.
    """

    async def create_resource(self, uri: str, params: dict[str, Any], context: Any) -> Any:
        params = inject_context(self.fn, params, context, self.context_kwarg)
        data, mime = await self.fn(**params)
        return FunctionResource(
            uri=uri,  # type: ignore[arg-type]
            name=self.name,
            title=self.title,
            description=self.description,
            mime_type=mime,
            fn=lambda: data,
        )


class FileLinks:
    """stdio and in-process: results link to file:// URIs and nothing is served as a resource."""

    def link_item(self, item: Any, owner: str) -> str:
        return Path(item.path).as_uri()  # the local file, also when ``item.uri`` names its bucket object

    def link(self, path: Path, owner: str, mime_type: str | None) -> str:
        return path.as_uri()

    def register(self, server: MCPServer) -> None:
        return None


class MediaResources:
    """Links (``media://outputs/{id}``) for results, and the resource template that serves them.

    A link is computed, not written: the service indexes the files of a call (``index``, the state
    store's resource index) before the result that carries their links is sent."""

    def __init__(
        self,
        settings: Settings,
        principal_of: Callable[[Any], str | None] | None = None,
        storage: Storage | None = None,
        index: ResourceStore | None = None,
    ) -> None:
        self.settings = settings
        self.principal_of = principal_of
        self.storage = storage or LocalStorage()
        self.index = index or StateStore(database_url(settings.database_url, settings.state_dir)).resources
        self.confinement = Confinement.of([settings.output_dir, *settings.allowed_dirs])

    def link(self, path: Path, owner: str, mime_type: str | None) -> str:
        return URI_TEMPLATE.format(id=resource_id(path, owner))

    def link_item(self, item: Any, owner: str) -> str:
        return self.link(Path(item.path), owner, item.mime_type)

    def _owner(self, ctx: Context) -> str:
        principal = self.principal_of(ctx) if self.principal_of else None
        return principal or "local"

    def _servable(self, path: Path) -> Path | None:
        resolved = path.resolve()
        if not self.confinement.contains(resolved) or not resolved.is_file():
            return None
        return resolved

    async def read(self, id: str, ctx: Context) -> tuple[bytes, str]:
        """The bytes and MIME type of an output the caller owns.

        Raises:
            ResourceNotFoundError: unknown, not the caller's, gone, or outside the allowed directories.
        """
        uri = URI_TEMPLATE.format(id=id)
        entry = await self.index.get(id, self._owner(ctx))
        indexed = Path(entry[0]) if entry is not None else None
        if indexed is not None and self.confinement.contains(indexed.resolve()):
            await self.storage.localize(indexed)  # made by another replica: fetched from the bucket
        path = self._servable(indexed) if indexed is not None else None
        if entry is None or path is None:
            raise ResourceNotFoundError(f"Unknown resource: {uri}")
        return await anyio.to_thread.run_sync(path.read_bytes), entry[1] or "application/octet-stream"

    def register(self, server: MCPServer) -> None:
        template = _MediaTemplate.from_function(
            self.read,
            uri_template=URI_TEMPLATE,
            name="media-output",
            title="Generated media file",
            description="A file generate_media wrote, by the id in its result's resource link.",
            mime_type="application/octet-stream",
        )
        # mcp 2.3 has no public way to add a template object (the decorator builds its own, with one
        # static MIME type), so this reaches into the resource manager once, here.
        server._resource_manager._templates[URI_TEMPLATE] = template


class SignedLinks:
    """HTTP with outputs in a bucket: each link is a signed GET URL of the file's object, valid for
    ``GENERATE_MEDIA_STORAGE_LINK_TTL_S``, made afresh for every result (a job answered again later
    gets new links). Nothing is served as a resource."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def link_item(self, item: Any, owner: str) -> str:
        return self.link(Path(item.path), owner, item.mime_type)

    def link(self, path: Path, owner: str, mime_type: str | None) -> str:
        url = self.storage.signed_url(path)
        return url if url is not None else path.as_uri()

    def register(self, server: MCPServer) -> None:
        return None


Links = FileLinks | MediaResources | SignedLinks


def links_for(
    resource_links: str,
    settings: Settings,
    principal_of: Callable[[Any], str | None] | None = None,
    storage: Storage | None = None,
    index: ResourceStore | None = None,
) -> Links:
    """``"media"`` (HTTP): media:// links served as resources, or signed links to the bucket's
    objects when outputs go to one; ``"file"``: file:// links."""
    if resource_links == "media":
        if storage is not None and storage.remote:
            return SignedLinks(storage)
        return MediaResources(settings, principal_of, storage, index)
    if resource_links != "file":
        raise ValueError(f"resource_links must be 'file' or 'media', got {resource_links!r}")
    return FileLinks()
