"""OpenAI GPT image models: ``images.generate``; ``images.edit`` for input images, masks and
continuation (the stored output is edited with the new prompt, on the same model).

The 2.5 and 2.6 lines (flare: fast; sunburst: finer detail) add the ``xhigh`` and ``max`` qualities,
GIF (no mask) and SVG (one image per request) output and, like gpt-image-2, custom
``WIDTHxHEIGHT`` sizes (multiples of 16, ratio 1:3 to 3:1, up to 3840x2160). Source: openai 3.57.0
``types/image_model.py`` and the ``images.generate``/``images.edit`` docstrings (read 2026-12-03);
OpenAI's deprecations page for the retirement of gpt-image-1.5 and gpt-image-1-mini on 2026-12-01.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BadProviderResponse, InvalidRequest
from ...leaderboards import AA_T2I, ARENA_EDIT, ARENA_T2I
from ...spec import PICTURES, Call, MediaSupport, MediaType, ModelSpec, Option, PixelSizes, Produced
from .._clients import openai_session
from .._errors import ErrorMap, openai_errors
from .._image_payload import LiftedJSON

if TYPE_CHECKING:
    from openai.types import ImagesResponse

ERRORS = ErrorMap("openai", "OPENAI_API_KEY", openai_errors)

MEDIA = MediaType.IMAGE

_ASPECT_TO_SIZE = {"1:1": "1024x1024", "3:2": "1536x1024", "2:3": "1024x1536"}
CHECKED = "2026-12-03"
_SDK = "openai 3.57.0 (types/image_model.py, resources/images.py docstrings)"
#: gpt-image-2 and later: arbitrary WxH, both edges multiples of 16, ratio 1:3 to 3:1, at most 3840x2160.
_PIXELS = PixelSizes(multiple=16, max_edge=3840, max_pixels=3840 * 2160, max_ratio=3.0)
_COMMON = {
    "max_outputs": 10,
    "max_input_images": 16,
    "mask": True,
    "continuation": True,
    "aspect_ratios": tuple(_ASPECT_TO_SIZE),
    "sizes": ("auto", "1024x1024", "1536x1024", "1024x1536"),
    "qualities": ("low", "medium", "high", "auto"),
    "output_formats": ("png", "jpeg", "webp"),
    "options": frozenset({"background"}),
    "checked": CHECKED,
}
#: The 2.5/2.6 lines: two more qualities and GIF/SVG output.
_LINE_2X = {
    **_COMMON,
    "pixel_sizes": _PIXELS,
    "qualities": ("low", "medium", "high", "xhigh", "max", "auto"),
    "output_formats": ("png", "jpeg", "webp", "gif", "svg"),
    "source": _SDK + "; 2.6 parameters also per wavespeed.ai and docs.comfy.org gpt-image-2-6 pages",
}
_RETIRED_1X = {
    **_COMMON,
    "status": "retired",
    "deprecated_on": "2026-06-02",
    "shutdown_on": "2026-12-01",
    "source": "developers.openai.com/api/docs/deprecations (notice 2026-06-02, shutdown 2026-12-01)",
}

#: GPT Image 2 on the boards (Arena: "gpt-image-2 (medium)"; AA: "GPT Image 2 (high)").
GPT_IMAGE_2 = (ARENA_T2I.at(3, 1383), AA_T2I.at(3, 1171), ARENA_EDIT.at(3, 1461))

SUPPORT = MediaSupport(
    priority=80,
    default_model="gpt-image-2.6-flare",
    continuation_prefix="openai_img",
    options=(Option("background", str, "Image background.", values=("transparent", "opaque", "auto")),),
    operations=(PICTURES,),
    models=(
        ModelSpec(
            id="gpt-image-2.6-flare",
            notes="GPT Image 2.6, fast tier (released 2026-11-04). xhigh/max quality, GIF/SVG output, custom WxH.",
            **_LINE_2X,  # type: ignore[arg-type]
        ),
        ModelSpec(
            id="gpt-image-2.6-sunburst",
            notes="GPT Image 2.6, precision tier: slower, finer detail, steadier over repeated edits.",
            **_LINE_2X,  # type: ignore[arg-type]
        ),
        ModelSpec(
            id="gpt-image-2.5-flare",
            notes="GPT Image 2.5, fast tier (2026-09-08).",
            standings=(ARENA_T2I.at(2, 1401), AA_T2I.at(2, 1189), ARENA_EDIT.at(2, 1482)),
            **_LINE_2X,  # type: ignore[arg-type]
        ),
        ModelSpec(
            id="gpt-image-2.5-sunburst",
            notes="GPT Image 2.5, precision tier.",
            standings=(ARENA_T2I.at(1, 1424), AA_T2I.at(1, 1195), ARENA_EDIT.at(1, 1526)),
            **_LINE_2X,  # type: ignore[arg-type]
        ),
        ModelSpec(
            id="gpt-image-2",
            notes="GPT Image 2 (2026-04-21); custom WxH; transparent background in preview.",
            pixel_sizes=_PIXELS,
            standings=GPT_IMAGE_2,
            source=_SDK,
            **_COMMON,  # type: ignore[arg-type]
        ),
        ModelSpec(id="gpt-image-1.5", replacement="gpt-image-2.6-sunburst", **_RETIRED_1X),  # type: ignore[arg-type]
        ModelSpec(id="gpt-image-1-mini", replacement="gpt-image-2.6-flare", **_RETIRED_1X),  # type: ignore[arg-type]
    ),
)


def _check_format(call: Call) -> None:
    """GIF and SVG limits from the SDK docstrings, checked before the paid call."""
    fmt = call.request.output_format
    if fmt == "gif" and call.mask is not None:
        raise InvalidRequest("output_format='gif' cannot use a mask; remove mask or pick png, jpeg or webp")
    if fmt == "svg" and call.request.n != 1:
        raise InvalidRequest("output_format='svg' makes one image per request: use n=1 (or prompts for a batch)")


def _size(call: Call) -> str | None:
    req = call.request
    if req.size and req.aspect_ratio and _ASPECT_TO_SIZE.get(req.aspect_ratio) != req.size:
        raise InvalidRequest(f"size={req.size} and aspect_ratio={req.aspect_ratio} disagree; give one of them")
    return req.size or (_ASPECT_TO_SIZE[req.aspect_ratio] if req.aspect_ratio else None)


def _options(call: Call) -> dict[str, Any]:
    req = call.request
    opts: dict[str, Any] = {"model": call.model.id, "prompt": call.prompt, "n": req.n}
    for key, value in (
        ("size", _size(call)),
        ("quality", req.quality),
        ("background", req.background),
        ("output_format", req.output_format),
    ):
        if value is not None:
            opts[key] = value
    return opts


def _file(name: str, data: bytes, mime: str) -> tuple[str, bytes, str]:
    return (name, data, mime)


async def _sources(call: Call) -> list[tuple[str, bytes, str]]:
    files = []
    if call.continuation is not None:
        stored = Path(call.continuation.files[0])
        loaded = await call.load_file(str(stored), ("image/",))
        files.append(_file(stored.name, loaded.data, loaded.mime_type))
    files.extend(_file(img.name, img.data, img.mime_type) for img in call.input_images)
    return files


async def generate(call: Call) -> list[Produced]:
    opts = _options(call)
    sources = await _sources(call)
    _check_format(call)
    if call.mask is not None and not sources:
        raise InvalidRequest("mask needs an image to edit: give input_images or continue_from")
    from openai.types import ImagesResponse

    async with openai_session(call) as client:
        with ERRORS:
            # The raw answer, parsed here without walking its base64 (LiftedJSON): the SDK's own parse
            # copies a 1 MB image's 1.4 MB into a str first, 3.5 ms of the call's CPU.
            images = client.images.with_raw_response
            if sources:
                extra: dict[str, Any] = {}
                if call.mask is not None:
                    extra["mask"] = _file(call.mask.name, call.mask.data, call.mask.mime_type)
                image = sources[0] if len(sources) == 1 else sources
                raw = await images.edit(image=image, **opts, **extra)
            else:
                raw = await images.generate(**opts)
            body = LiftedJSON(raw.content, "b64_json")
            # Built as the SDK builds its answers: typed, not validated (its literals lag the API).
            return _produced(ImagesResponse.construct(**body.object(backend="openai")), body, opts)


def _produced(response: ImagesResponse, body: LiftedJSON, opts: dict[str, Any]) -> list[Produced]:
    out = []
    for item in response.data or []:
        if not item.b64_json:
            raise BadProviderResponse("openai returned an image without data; try again", backend="openai")
        data = body.b64(item.b64_json, backend="openai", lenient=True)
        meta = {k: getattr(response, k, None) for k in ("size", "quality", "background", "output_format")}
        if opts.get("output_format") == "svg":
            meta["mime_type"] = "image/svg+xml"  # text, so it cannot be sniffed: say what it is
        out.append(
            Produced(
                data=data,
                revised_prompt=item.revised_prompt,
                state={"size": opts.get("size")},
                metadata={k: v for k, v in meta.items() if v is not None},
            )
        )
    return out


RUN = generate
