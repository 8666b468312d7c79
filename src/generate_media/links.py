"""The ids behind ``media://outputs/{id}`` links: derived from (owner, path), so the link of a file is
known without a lookup, and recorded in the state store's resource index (``stores.resources``) so
links survive a restart and resolve on every replica sharing the database. The service indexes the
files of a call with that call's other writes; the server serves them (``server.resources``); the
service resolves one given back as an input.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SIDECAR_MIME", "URI_TEMPLATE", "ResourceRow", "resource_id", "resource_rows"]

URI_TEMPLATE = "media://outputs/{id}"

#: MIME types of the sidecar files a result may carry, by extension.
SIDECAR_MIME = {"json": "application/json", "srt": "application/x-subrip"}


@dataclass(frozen=True)
class ResourceRow:
    """One indexed file: ``id`` (see :func:`resource_id`) belongs to ``owner``."""

    id: str
    owner: str
    path: str
    mime_type: str | None


def resource_id(path: Path, owner: str) -> str:
    """The id of ``path`` as ``owner``'s: the same file gives another client another id."""
    return hashlib.sha256(f"{owner}\0{path}".encode()).hexdigest()[:24]


def resource_rows(path: Path, mime_type: str | None, sidecars: dict[str, str], owner: str) -> list[ResourceRow]:
    """The index rows of one output and its sidecars, as ``owner``'s (the links a result gives)."""
    rows = [ResourceRow(resource_id(path, owner), owner, str(path), mime_type)]
    for ext, sidecar in sidecars.items():
        rows.append(ResourceRow(resource_id(Path(sidecar), owner), owner, sidecar, SIDECAR_MIME.get(ext)))
    return rows
