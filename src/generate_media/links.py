"""The ids behind ``media://outputs/{id}`` links: derived from (owner, path), recorded in a small
index (one JSON file per id under ``<state_dir>/resources``) so links survive a restart. The server
serves them (``server.resources``); the service resolves one given back as an input.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path

__all__ = ["URI_TEMPLATE", "ResourceIndex", "resource_id"]

URI_TEMPLATE = "media://outputs/{id}"
_ID = re.compile(r"^[0-9a-f]{24}$")


def resource_id(path: Path, owner: str) -> str:
    """The id of ``path`` as ``owner``'s: the same file gives another client another id."""
    return hashlib.sha256(f"{owner}\0{path}".encode()).hexdigest()[:24]


class ResourceIndex:
    """id → (owner, path, mime), one small JSON file per id, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._known: set[str] = set()

    def add(self, resource_id: str, owner: str, path: Path, mime_type: str | None) -> None:
        if resource_id in self._known:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{resource_id}.json"
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        temp.write_text(json.dumps({"owner": owner, "path": str(path), "mime_type": mime_type}), encoding="utf-8")
        os.replace(temp, target)
        self._known.add(resource_id)

    def get(self, resource_id: str, owner: str) -> tuple[Path, str] | None:
        """(path, mime) when ``resource_id`` exists and belongs to ``owner``; None otherwise."""
        if not _ID.match(resource_id):
            return None
        try:
            data = json.loads((self.directory / f"{resource_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("owner") != owner or not data.get("path"):
            return None
        return Path(data["path"]), str(data.get("mime_type") or "application/octet-stream")
