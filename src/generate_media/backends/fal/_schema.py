"""Any fal endpoint by id: ``model="fal:<endpoint id>"``, checked against the input schema fal publishes.

fal publishes two documents per endpoint: ``fal.ai/models/<id>/llms.txt`` (prose for people and
agents, its layout unversioned) and the OpenAPI document at
``https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=<id>`` (machine-readable JSON Schema of
the input, the one integrations read). This reads the OpenAPI one (``FAL_SCHEMA_URL`` overrides it),
without the key, on first use of an endpoint, and keeps it for the life of the server.

Before the paid submit, every field of our request is mapped to the endpoint's input
(``prompt`` -> ``prompt``, ``input_images`` -> ``image_url`` or ``image_urls``...) and its value
checked against the schema (enum, type, bounds); a field the endpoint does not take, a value it
refuses, or a required input we cannot send is refused naming the endpoint's fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import BadProviderResponse, InvalidRequest, ModelUnavailable
from ...spec import Call, MediaType, ModelSpec, PixelSizes
from .._clients import httpx_client
from .._errors import from_status
from ._queue import ERRORS
from ._wire import Wire, _seconds

__all__ = ["PREFIX", "SCHEMA_URL_DEFAULT", "SCHEMA_URL_ENV", "EndpointSchema", "open_spec", "schema_for", "wire_for"]

PREFIX = "fal:"
SCHEMA_URL_ENV = "FAL_SCHEMA_URL"
SCHEMA_URL_DEFAULT = "https://fal.ai/api/openapi/queue/openapi.json"
_ENDPOINT = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*){1,5}")

#: Our field -> the input fields of a fal endpoint that can carry it, in order of preference.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt",),
    "input_images": ("image_url", "image_urls", "start_image_url", "first_frame_url"),
    "reference_images": ("reference_image_urls", "image_urls", "reference_images"),
    "last_frame": ("end_image_url", "last_frame_url", "tail_image_url"),
    "aspect_ratio": ("aspect_ratio",),
    "size": ("resolution", "image_size"),
    "quality": ("quality",),
    "duration": ("duration",),
    "seed": ("seed",),
    "negative_prompt": ("negative_prompt",),
    "generate_audio": ("generate_audio", "audio"),
    "n": ("num_images",),
    "output_format": ("output_format",),
}

# What a fal: model may be asked for before its schema is read: anything some fal endpoint takes.
# The endpoint's own schema then decides, before anything is paid.
_ANY_ASPECT = ("auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16", "9:21")
_ANY_SIZE = (
    *("480p", "540p", "580p", "720p", "768p", "1080p", "1440p", "2160p", "4k", "480P", "768P", "1080P"),
    *("1K", "2K", "4K", "auto", "square_hd", "square", "portrait_4_3", "portrait_16_9"),
    *("landscape_4_3", "landscape_16_9"),
)
_OPTIONS = frozenset({"seed", "negative_prompt", "generate_audio", "last_frame"})


def open_spec(media: MediaType, model_id: str) -> ModelSpec | None:
    """The spec of ``fal:<endpoint id>`` (None for anything else): broad, checked by its schema later."""
    endpoint = model_id.removeprefix(PREFIX)
    if not model_id.startswith(PREFIX) or not _ENDPOINT.fullmatch(endpoint):
        return None
    video = media is MediaType.VIDEO
    return ModelSpec(
        id=model_id,
        max_outputs=1 if video else 8,
        max_input_images=16,
        max_reference_images=16 if video else 0,  # the endpoint's schema has the last word
        long_job=video,
        aspect_ratios=_ANY_ASPECT,
        sizes=_ANY_SIZE,
        pixel_sizes=PixelSizes(multiple=1, max_edge=16384, max_pixels=16384 * 16384, max_ratio=16.0),
        qualities=("low", "medium", "high", "auto"),
        output_formats=("png", "jpeg", "webp"),
        duration_range=(0.5, 600.0) if video else None,
        options=_OPTIONS if video else _OPTIONS - {"generate_audio", "last_frame"},
        notes="any fal endpoint, checked against its published OpenAPI input schema before the paid call",
        source="fal OpenAPI (per endpoint, read at first use)",
    )


@dataclass(frozen=True)
class EndpointSchema:
    endpoint: str
    properties: Mapping[str, Any]
    required: tuple[str, ...]

    def fields(self) -> str:
        return ", ".join(self.properties) or "none"


def _lookup(doc: Mapping[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _deref(node: Any, doc: Mapping[str, Any]) -> Any:
    for _ in range(8):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            break
        node = _lookup(doc, node["$ref"])
    return node


def parse(endpoint: str, doc: Any) -> EndpointSchema:
    """The input schema of ``endpoint``'s submit (``POST /<endpoint id>``) in its OpenAPI document."""
    paths = doc.get("paths", {}) if isinstance(doc, dict) else {}
    operation = (paths.get(f"/{endpoint}") or {}).get("post") if isinstance(paths, dict) else None
    content = ((operation or {}).get("requestBody") or {}).get("content", {})
    schema = _deref((content.get("application/json") or {}).get("schema"), doc)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise BadProviderResponse(
            f"fal's OpenAPI document for {endpoint} has no input schema; try again later", backend="fal"
        )
    props = {name: _deref(prop, doc) for name, prop in schema["properties"].items()}
    return EndpointSchema(endpoint, props, tuple(str(r) for r in schema.get("required", ())))


#: Endpoint input schemas read so far, by (schema URL, endpoint id): public documents, kept for the process.
_SCHEMAS: dict[tuple[str, str], EndpointSchema] = {}


async def schema_for(call: Call, endpoint: str) -> EndpointSchema:
    """The endpoint's input schema: read once per server (no key is sent: the document is public)."""
    url = call.settings.get(SCHEMA_URL_ENV) or SCHEMA_URL_DEFAULT
    if (url, endpoint) in _SCHEMAS:
        return _SCHEMAS[(url, endpoint)]
    client = await httpx_client(call, "fal-httpx")
    with ERRORS:
        resp = await client.get(url, params={"endpoint_id": endpoint})
    if resp.status_code == 404:
        raise ModelUnavailable(
            f"fal publishes no endpoint {endpoint!r}; check the id on fal.ai/models", backend="fal", status=404
        )
    if resp.status_code >= 400:
        raise from_status(resp.status_code, resp.content, backend="fal", headers=resp.headers)
    try:
        found = parse(endpoint, resp.json())
    except ValueError as exc:
        raise BadProviderResponse(
            f"fal's OpenAPI document for {endpoint} is not JSON; try again", backend="fal"
        ) from exc
    _SCHEMAS[(url, endpoint)] = found
    return found


def _sent(req: Any, name: str) -> Any:
    if name == "n":
        return req.n if req.n > 1 else None
    return getattr(req, name, None)


def _value_problem(name: str, value: Any, prop: Mapping[str, Any]) -> str | None:
    options = prop.get("enum")
    if options is None and isinstance(prop.get("anyOf"), list):
        options = next((v.get("enum") for v in prop["anyOf"] if isinstance(v, dict) and "enum" in v), None)
    if isinstance(options, list) and value not in options:
        return f"{name}={value!r} is not accepted (accepted: {', '.join(str(o) for o in options)})"
    low, high = prop.get("minimum"), prop.get("maximum")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    below = number and isinstance(low, int | float) and value < low
    if below or (number and isinstance(high, int | float) and value > high):
        return f"{name}={value!r} is out of range ({low} to {high})"
    return None


def _converted(ours: str, value: Any, prop: Mapping[str, Any]) -> Any:
    if ours != "duration":
        return value
    kind = prop.get("type")
    enum = prop.get("enum") or []
    if kind == "string" or (enum and all(isinstance(e, str) for e in enum)):
        return _seconds(value, "str")
    return _seconds(value, "int" if kind == "integer" else "float")


def wire_for(schema: EndpointSchema, req: Any, model_id: str) -> Wire:
    """The mapping of ``req`` onto the endpoint's input, or a refusal naming its fields."""
    fields: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for ours, theirs in CANDIDATES.items():
        value = _sent(req, ours)
        if value is None or (ours == "prompt" and not value):
            continue
        target = next((t for t in theirs if t in schema.properties), None)
        if target is None:
            raise InvalidRequest(f"{model_id} takes no {ours}; its input fields: {schema.fields()}")
        prop = schema.properties[target]
        if ours not in ("input_images", "reference_images", "last_frame"):
            value = _converted(ours, value, prop)
            if (why := _value_problem(ours, value, prop)) is not None:
                raise InvalidRequest(f"{model_id}: {why}")
        if ours == "duration":
            kinds["duration"] = "str" if isinstance(value, str) else "int" if isinstance(value, int) else "float"
        fields[ours] = target
    missing = [name for name in schema.required if name not in fields.values()]
    if missing:
        raise InvalidRequest(
            f"{model_id} requires {', '.join(missing)}, which this request does not give; its input fields: "
            f"{schema.fields()}"
        )
    return Wire(fields=fields, duration=kinds.get("duration", "str"))
