"""What Replicate lists, for ``generate-media models --check``, over its HTTP API with the token as
``Authorization: Bearer``:

* each declared model by name, ``GET /models/{owner}/{name}``: a 404 means Replicate no longer serves
  it (it shows as "declared but no longer listed");
* the models of its curated ``text-to-image`` and ``text-to-video`` collections,
  ``GET /collections/{slug}`` (``{name, slug, description, models: [{owner, name, ...}]}``): the
  ones we do not declare show as new.

Source: replicate.com/docs/reference/http (models.get, collections.get), read 2026-12-03.
"""

from __future__ import annotations

__all__ = ["COLLECTIONS", "listed"]

COLLECTIONS = ("text-to-image", "text-to-video")
_DEFAULT_BASE = "https://api.replicate.com/v1"


def _declared() -> list[str]:
    from . import images, video

    return [m.id for support in (images.SUPPORT, video.SUPPORT) for m in support.models]


async def listed(api_key: str, base_url: str | None, timeout: float) -> list[str]:
    """Every declared model Replicate still serves, and every model of its media collections."""
    import httpx

    base = (base_url or _DEFAULT_BASE).rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"}
    found: list[str] = []
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        for model_id in _declared():
            response = await client.get(f"{base}/models/{model_id}")
            if response.status_code == 404:
                continue
            if response.status_code >= 400:
                raise RuntimeError(f"GET /models/{model_id} answered HTTP {response.status_code}")
            found.append(model_id)
        for slug in COLLECTIONS:
            response = await client.get(f"{base}/collections/{slug}")
            if response.status_code >= 400:
                raise RuntimeError(f"GET /collections/{slug} answered HTTP {response.status_code}")
            for model in response.json().get("models") or []:
                found.append(f"{model['owner']}/{model['name']}")
    return list(dict.fromkeys(found))
