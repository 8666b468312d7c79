"""Helpers shared by the video and job tests (not fixtures: plain functions)."""

from __future__ import annotations

import base64
import inspect
import io
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
from PIL import Image

from generate_media.stores import StateStore, database_url


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Wait (bounded) until ``condition()`` (or what it awaits to) is truthy; returns its value."""
    with anyio.fail_after(timeout):
        while True:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            await anyio.sleep(0.01)


async def job_records(state_dir: Path, url: str = "") -> list[dict[str, Any]]:
    """Every job recorded in the state store (the SQLite default under ``state_dir``), oldest first."""
    store = StateStore(database_url(url, state_dir))
    try:
        return [asdict(r) for r in await store.jobs.list()]
    finally:
        await store.close()


def video_seconds(path: str | Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration / 1_000_000)


def data_uri_image(uri: str) -> tuple[int, int]:
    header, _, payload = uri.partition(",")
    assert header.startswith("data:image/") and header.endswith(";base64")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as img:
        return img.size


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def leftovers(directory: Path) -> list[str]:
    """Partial or temporary files left in an output directory."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".gm-partial-"))


class Progress:
    """Collects progress notifications from ``Client.call_tool(progress_callback=...)``."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    @property
    def values(self) -> list[float]:
        return [e[0] for e in self.events]

    @property
    def messages(self) -> list[str]:
        return [e[2] or "" for e in self.events]
