"""xAI Grok Imagine images over xAI's REST API (httpx; the xai-sdk speaks gRPC only).

``POST /images/generations`` makes images; ``POST /images/edits`` (JSON, not multipart) edits one
to three source images (five on ``grok-imagine-image-2.0``) sent as data URIs. Continuation sends the
stored output back as the edit's source image, on the same model. xAI rejects ``size`` and ``style``,
and ``quality`` on every model but 2.0 (its price tier, low or medium), so they are sent only there.

``grok-imagine-image-quality`` was retired on 2026-11-02: xAI now serves that slug with
``grok-imagine-image-2.0`` at ``quality: "low"``, at 2.0's price (docs.x.ai migration guide
"grok-imagine-image-quality Retirement on November 2, 2026", read 2026-12-03). It is declared retired,
so naming it names 2.0 instead of silently getting another model at another price.
"""

from __future__ import annotations

from typing import Any

from ...errors import BadProviderResponse, InvalidRequest, SafetyBlocked
from ...leaderboards import ARENA_EDIT
from ...spec import PICTURES, Call, Endpoint, MediaSupport, MediaType, ModelSpec, Produced
from .._clients import httpx_client
from .._download import download
from .._errors import ErrorMap, from_status, httpx_errors
from .._image_payload import LiftedJSON
from .._ranked import RANKED

MEDIA = MediaType.IMAGE
KEY_ENV = "XAI_API_KEY"
ERRORS = ErrorMap("grok", KEY_ENV, httpx_errors)
MAX_SOURCES = 3  # source images per edit (docs.x.ai image editing); 2.0 takes five
CHECKED = "2026-12-03"
_MIGRATION = "docs.x.ai/developers/migration/imagine-image-quality-nov-2"

_ASPECTS = (
    "1:1",
    "3:4",
    "4:3",
    "9:16",
    "16:9",
    "2:3",
    "3:2",
    "9:19.5",
    "19.5:9",
    "9:20",
    "20:9",
    "1:2",
    "2:1",
    "auto",
)
_COMMON: dict[str, Any] = {
    "max_outputs": 10,
    "max_input_images": MAX_SOURCES,
    "continuation": True,
    "aspect_ratios": _ASPECTS,
    "sizes": ("1k", "2k"),  # sent as `resolution`
}

_V2: dict[str, Any] = {
    **_COMMON,
    "max_input_images": 5,
    "aspect_ratios": (*_ASPECTS[:-1], "21:9", "5:2", "auto"),
    "qualities": ("low", "medium"),
}

SUPPORT = MediaSupport(
    priority=60,
    default_model="grok-imagine-image",
    continuation_prefix="grok_img",
    operations=(PICTURES,),
    models=(
        ModelSpec(
            id="grok-imagine-image",
            notes="size is the resolution (1k, 2k); a single-image edit keeps the input's aspect ratio.",
            source=_MIGRATION + " (1.0 is not affected by the 2026-11-02 retirement)",
            checked=CHECKED,
            **_COMMON,
        ),
        ModelSpec(
            id="grok-imagine-image-2.0",
            notes="Grok Imagine Image 2.0: quality low or medium (the price tier; xAI's default medium), "
            "up to 5 source images, size is the resolution (1k, 2k).",
            source=_MIGRATION + "; docs.comfy.org xai/grok-imagine-image-2-0 schema (quality, default medium)",
            checked=CHECKED,
            standings=RANKED["grok-imagine-image-2.0"],
            **_V2,
        ),
        ModelSpec(
            id="grok-imagine-image-quality",
            notes="Retired: xAI serves this slug with grok-imagine-image-2.0 at quality low.",
            status="retired",
            deprecated_on="2026-09-02",
            shutdown_on="2026-11-02",
            replacement="grok-imagine-image-2.0",
            lifecycle_note="xAI redirects it to grok-imagine-image-2.0 at quality low, at 2.0's price",
            source=_MIGRATION + " (60-day notice from 2026-09-02)",
            checked=CHECKED,
            standings=(ARENA_EDIT.at(10, 1390),),
            **_COMMON,
        ),
    ),
)


async def _sources(call: Call) -> list[str]:
    """Data URIs of the images to edit: the continued output first, then the input images."""
    uris: list[str] = []
    if call.continuation is not None:
        stored = await call.load_file(call.continuation.files[0], ("image/",))
        uris.append(stored.data_uri())
    uris.extend(image.data_uri() for image in call.input_images)
    most = call.model.max_input_images
    if len(uris) > most:
        raise InvalidRequest(
            f"{call.model.id} edits at most {most} images and continuing counts the stored image as one; "
            f"give at most {most - 1} input_images with continue_from"
        )
    return uris


def _body(call: Call, sources: list[str]) -> dict[str, Any]:
    req = call.request
    body: dict[str, Any] = {"model": call.model.id, "prompt": call.prompt, "n": req.n, "response_format": "b64_json"}
    if req.size:
        body["resolution"] = req.size
    if req.quality and call.model.qualities:
        body["quality"] = req.quality
    if len(sources) == 1:
        if req.aspect_ratio:
            raise InvalidRequest(
                "grok keeps the input image's aspect ratio when editing one image; drop aspect_ratio "
                "(it applies to new images and multi-image edits)"
            )
        body["image"] = {"url": sources[0], "type": "image_url"}
    elif sources:
        body["images"] = [{"url": uri, "type": "image_url"} for uri in sources]
    if req.aspect_ratio:
        body["aspect_ratio"] = req.aspect_ratio
    return body


async def warm(endpoint: Endpoint) -> None:
    """Import httpx and build the client images and video share."""
    await httpx_client(endpoint, "grok-httpx")


async def generate(call: Call) -> list[Produced]:
    client = await httpx_client(call, "grok-httpx")
    sources = await _sources(call)
    body = _body(call, sources)
    path = "/images/edits" if sources else "/images/generations"
    base = (call.base_url or "").rstrip("/")  # the spec declares the default
    headers = {"Authorization": f"Bearer {call.api_key}"}
    with ERRORS:
        resp = await client.post(base + path, json=body, headers=headers)
    if resp.status_code != 200:
        raise from_status(resp.status_code, resp.content, backend="grok", headers=resp.headers, key_env=KEY_ENV)
    try:
        answer = LiftedJSON(resp.content, "b64_json")  # the base64 is never copied into a str
    except ValueError as exc:
        raise BadProviderResponse("grok sent a malformed response; try again", backend="grok") from exc
    return await _produced(call, answer, body)


async def _image_bytes(call: Call, answer: LiftedJSON, item: dict[str, Any]) -> bytes | None:
    if item.get("b64_json"):
        return answer.b64(item["b64_json"], backend="grok")
    if item.get("url"):
        return await download(item["url"], backend="grok", settings=call.settings, key_env=KEY_ENV)
    return None


async def _produced(call: Call, answer: LiftedJSON, body: dict[str, Any]) -> list[Produced]:
    items = answer.value.get("data") if isinstance(answer.value, dict) else None
    if not isinstance(items, list) or not items:
        raise BadProviderResponse("grok returned no images; try again", backend="grok")
    out: list[Produced] = []
    withheld = 0
    for item in items:
        data = await _image_bytes(call, answer, item) if isinstance(item, dict) else None
        if data is None:
            withheld += 1
            continue
        meta = {"mime_type": item.get("mime_type"), "resolution": body.get("resolution")}
        out.append(
            Produced(
                data=data,
                revised_prompt=item.get("revised_prompt") or None,
                state={"resolution": body.get("resolution")},
                metadata={k: v for k, v in meta.items() if v},
            )
        )
    if not out:
        if any(isinstance(i, dict) and i.get("respect_moderation") is False for i in items):
            raise SafetyBlocked(
                "grok withheld the image (respect_moderation=false); rephrase the prompt", backend="grok"
            )
        raise BadProviderResponse("grok returned images without data; try again", backend="grok")
    if withheld:
        out[0].warnings.append(f"grok withheld {withheld} of {len(items)} images")
    return out


RUN = generate
