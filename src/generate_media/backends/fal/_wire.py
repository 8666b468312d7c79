"""The request body fal receives, built from our request through one field mapping.

A mapping names, for each of our request fields, the field of the endpoint's input that carries it
(``input_images`` -> ``image_url`` on Seedance, ``start_image_url`` on Wan 3.0...). Declared families
write theirs down (``_catalog.py``); an undeclared ``fal:`` endpoint gets one read off its OpenAPI
schema (``_schema.py``). A field whose fal name ends in ``_urls`` takes a list, otherwise one value.
Local files go as data URIs, which fal's file inputs accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...spec import Call

__all__ = ["Wire", "body"]

#: Request fields sent as they are (after the value conversion of ``duration``).
_PLAIN = ("aspect_ratio", "size", "quality", "seed", "negative_prompt", "generate_audio", "output_format")


@dataclass(frozen=True)
class Wire:
    """How one endpoint (or a family of them) spells our fields."""

    fields: Mapping[str, str]
    #: How ``duration`` is written: "str" ("5"), "int" (5) or "float" (5.0).
    duration: str = "str"
    #: Fields always sent, whatever the request (a required field with the value we choose).
    fixed: Mapping[str, Any] = field(default_factory=dict)


def _seconds(value: float, kind: str) -> Any:
    whole = float(value).is_integer()
    if kind == "int":
        return round(value)
    if kind == "float":
        return float(value)
    return str(int(value)) if whole else f"{value:g}"


def _put(payload: dict[str, Any], name: str, uris: list[str]) -> None:
    payload[name] = uris if name.endswith("_urls") or name.endswith("_images") else uris[0]


async def body(call: Call, wire: Wire, *, mode: str) -> dict[str, Any]:
    """The JSON input for ``call``; ``mode`` (text, image, reference, edit; any) says which images go."""
    req = call.request
    names = wire.fields
    payload: dict[str, Any] = {}
    if "prompt" in names and call.prompt:
        payload[names["prompt"]] = call.prompt
    for name in _PLAIN:
        value = getattr(req, name, None)  # options are declared by backends: absent when none declares it
        if value is not None and name in names:
            payload[names[name]] = value
    if req.duration is not None and "duration" in names:
        payload[names["duration"]] = _seconds(req.duration, wire.duration)
    if "n" in names and req.n > 1:
        payload[names["n"]] = req.n
    if mode in ("image", "edit", "any") and call.input_images and "input_images" in names:
        _put(payload, names["input_images"], [image.data_uri() for image in call.input_images])
    if mode in ("reference", "any") and req.reference_images and "reference_images" in names:
        refs = [await call.load_file(ref, ("image/",)) for ref in req.reference_images]
        _put(payload, names["reference_images"], [ref.data_uri() for ref in refs])
    if req.last_frame and "last_frame" in names:
        last = await call.load_file(req.last_frame, ("image/",))
        payload[names["last_frame"]] = last.data_uri()
    return {**wire.fixed, **payload}
