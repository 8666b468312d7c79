"""What fal lists, for ``generate-media models --check``: fal's platform API (``GET /v1/models``,
"Model search") in its find mode, asked for every endpoint our families route to
(``?endpoint_id=a&endpoint_id=b...``, cursor-paged), with the key as ``Authorization: Key``.

An endpoint counts as listed when fal returns it with ``metadata.status`` ``active``; a family counts
as listed when every endpoint it routes to does, so a family fal stopped serving (or marked
deprecated) on any route shows as "declared but no longer listed". Find mode answers only what it is
asked, so nothing shows as undeclared. ``FAL_API_URL`` stands in for ``https://api.fal.ai/v1``.
Source: fal.ai/docs/platform-apis/v1/models (read 2026-12-03; the response shape
``{models: [{endpoint_id, metadata: {status, ...}}], next_cursor, has_more}`` as public integrations read it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._catalog import IMAGE_FAMILIES, VIDEO_FAMILIES

if TYPE_CHECKING:
    import httpx

__all__ = ["API_URL_DEFAULT", "API_URL_ENV", "listed"]

API_URL_ENV = "FAL_API_URL"
API_URL_DEFAULT = "https://api.fal.ai/v1"
#: Endpoint ids asked for in one request (the ids ride in the query string).
_BATCH = 25


async def _active(client: httpx.AsyncClient, base: str, api_key: str, endpoints: list[str]) -> set[str]:
    found: set[str] = set()
    cursor: str | None = None
    for _ in range(100):  # pages; fal answers a find in one, this only bounds a misbehaving cursor
        params: dict[str, str | list[str]] = {"endpoint_id": endpoints, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{base}/models", params=params, headers={"Authorization": f"Key {api_key}"})
        if response.status_code >= 400:
            raise RuntimeError(f"GET {response.url.path} answered HTTP {response.status_code}")
        data = response.json()
        for model in data.get("models") or []:
            if str((model.get("metadata") or {}).get("status", "active")) == "active":
                found.add(str(model.get("endpoint_id")))
        cursor = data.get("next_cursor") if data.get("has_more") else None
        if not cursor:
            break
    return found


async def listed(api_key: str, base_url: str | None, timeout: float) -> list[tuple[str, bool]]:
    """(id, is a declared family) for every declared endpoint fal lists as active, and every family whose
    endpoints all are."""
    import httpx

    families = (*VIDEO_FAMILIES, *IMAGE_FAMILIES)
    endpoints = sorted({endpoint for family in families for endpoint in family.routes.values()})
    base = (base_url or API_URL_DEFAULT).rstrip("/")
    active: set[str] = set()
    async with httpx.AsyncClient(timeout=timeout) as client:
        for start in range(0, len(endpoints), _BATCH):
            active |= await _active(client, base, api_key, endpoints[start : start + _BATCH])
    whole = [f.id for f in families if all(e in active for e in f.routes.values())]
    return [(endpoint, False) for endpoint in sorted(active)] + [(family, True) for family in whole]
