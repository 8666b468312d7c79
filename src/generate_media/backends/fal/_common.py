"""What the fal media modules share: resolving a model id, building the submit, reading the result."""

from __future__ import annotations

from typing import Any

from ...errors import BadProviderResponse
from ...spec import Call, MediaType, ModelSpec
from . import _catalog, _schema, _wire

__all__ = ["file_urls", "prepared", "resolver"]


def resolver(media: MediaType) -> Any:
    """``MediaSupport.resolve`` for ``media``: a full endpoint id of a family, or ``fal:<endpoint id>``."""

    def resolve(model_id: str) -> ModelSpec | None:
        found = _catalog.family_of(media, model_id)
        if found is not None:
            family, mode = found
            return _catalog.pinned(family, mode) if mode else family.spec
        return _schema.open_spec(media, model_id)

    return resolve


async def prepared(call: Call, media: MediaType) -> tuple[str, dict[str, Any]]:
    """(endpoint id, input) for ``call``: a declared family's route, or an open endpoint checked
    against its schema (refused here, before anything is paid, when it does not fit)."""
    model_id = call.model.id
    if model_id.startswith(_schema.PREFIX):
        endpoint = model_id.removeprefix(_schema.PREFIX)
        schema = await _schema.schema_for(call, endpoint)
        wire = _schema.wire_for(schema, call.request, model_id)
        return endpoint, await _wire.body(call, wire, mode="any")
    found = _catalog.family_of(media, model_id)
    if found is None:  # the selector only hands us models the resolver knows
        raise BadProviderResponse(f"fal has no model {model_id!r} here", backend="fal")
    family, _ = found
    endpoint, mode = _catalog.route(family, model_id, call.request)
    return endpoint, await _wire.body(call, family.wire, mode=mode)


def file_urls(result: dict[str, Any], media: MediaType) -> list[tuple[str, str | None]]:
    """(url, content type) of each file in a fal result: ``video``, ``images`` or ``image``."""
    keys = ("video", "videos") if media is MediaType.VIDEO else ("images", "image")
    found: list[tuple[str, str | None]] = []
    for key in keys:
        value = result.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                found.append((item["url"], item.get("content_type")))
    return found
