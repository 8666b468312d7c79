"""The fal model families we declare: each is named by its endpoint family (``bytedance/seedance-2.5``)
and routes a request to its text-, image- or reference-to-video endpoint (text-to-image or edit for
pictures) by the inputs given. The full endpoint id is accepted as a model too: it pins the route.

Ids, parameters and prices were read on 2026-12-03 from fal's model pages and per-endpoint OpenAPI
documents as quoted by public integrations (fal's own pages were not reachable from here), and from
the dated leaderboard catalogue; each spec's ``source`` says which. A fal partner model has no
``fal-ai/`` prefix (the prefixed form answers 404).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ...errors import InvalidRequest
from ...spec import MediaType, ModelSpec
from ._wire import Wire

__all__ = ["IMAGE_FAMILIES", "VIDEO_FAMILIES", "Family", "family_of", "pinned", "route"]

CHECKED = "2026-12-03"
_SEEDANCE_ASPECTS = ("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_ASPECTS = ("16:9", "9:16", "1:1", "4:3", "3:4")
_IMAGE_SIZES = ("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
_VIDEO_FIELDS = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "size": "resolution",
    "duration": "duration",
    "seed": "seed",
    "generate_audio": "generate_audio",
    "input_images": "image_url",
    "last_frame": "end_image_url",
    "reference_images": "image_urls",
}
_IMAGE_FIELDS = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "size": "image_size",
    "n": "num_images",
    "seed": "seed",
    "output_format": "output_format",
    "input_images": "image_urls",
}


@dataclass(frozen=True)
class Family:
    """One declared model: its capabilities, its endpoints by mode, and how they spell our fields."""

    spec: ModelSpec
    routes: Mapping[str, str]  # mode (text, image, reference, edit) -> endpoint id
    wire: Wire

    @property
    def id(self) -> str:
        return self.spec.id


def _src(*endpoints: str, how: str = "third-party capture of the fal model page / OpenAPI") -> str:
    return "; ".join(f"fal.ai/models/{e}" for e in endpoints) + f" ({how})"


def _video(
    fid: str,
    modes: tuple[str, ...],
    *,
    fields: Mapping[str, str] | None = None,
    duration: str = "str",
    fixed: Mapping[str, object] | None = None,
    **spec: object,
) -> Family:
    routes = {m: f"{fid}/{m}-to-video" for m in modes}
    spec.setdefault("source", _src(*routes.values()))
    spec["long_job"] = True  # a queue job: durable id, resume, the wait budget
    if "reference" not in modes:
        spec["max_reference_images"] = 0
    model = ModelSpec(id=fid, checked=CHECKED, **spec)  # type: ignore[arg-type]
    wire = Wire(fields={**_VIDEO_FIELDS, **(fields or {})}, duration=duration, fixed=dict(fixed or {}))
    return Family(model, routes, wire)


def _image(fid: str, text: str, edit: str | None, *, fields: Mapping[str, str] | None = None, **spec: object) -> Family:
    routes = {"text": text, **({"edit": edit} if edit else {})}
    spec.setdefault("source", _src(*routes.values()))
    model = ModelSpec(id=fid, checked=CHECKED, **spec)  # type: ignore[arg-type]
    return Family(model, routes, Wire(fields={**_IMAGE_FIELDS, **(fields or {})}))


VIDEO_FAMILIES: tuple[Family, ...] = (
    _video(
        "bytedance/seedance-2.5",
        ("text", "image", "reference"),
        max_input_images=1,
        aspect_ratios=_SEEDANCE_ASPECTS,
        sizes=("480p", "720p"),
        duration_range=(4, 30),
        max_reference_images=9,
        options=frozenset({"generate_audio", "last_frame"}),
        notes="Arena T2V #7, I2V #4 (2026-09-21). 4-30 s, 480p/720p, native audio; no seed; up to 9 references.",
    ),
    _video(
        "bytedance/seedance-2.0",
        ("text", "image", "reference"),
        max_input_images=1,
        aspect_ratios=_SEEDANCE_ASPECTS,
        sizes=("480p", "720p", "1080p"),
        duration_range=(4, 15),
        max_reference_images=9,
        options=frozenset({"seed", "generate_audio", "last_frame"}),
        notes="Arena T2V #5, I2V #5 (2026-09-21). 4-15 s up to 1080p, native audio, first and last frame.",
    ),
    _video(
        "alibaba/wan-3.0",
        ("text", "image", "reference"),
        fields={
            "input_images": "start_image_url",
            "generate_audio": "audio",
            "reference_images": "reference_image_urls",
        },
        duration="int",
        max_input_images=1,
        aspect_ratios=_ASPECTS,
        sizes=("480p", "720p", "1080p"),
        duration_range=(2, 30),
        max_reference_images=4,
        options=frozenset({"generate_audio"}),
        source=_src("alibaba/wan-3.0/text-to-video", how="llms.txt, confirmed in the leaderboard catalogue")
        + "; image/reference routes: third-party captures",
        notes="Arena T2V #6, I2V #3 (2026-09-21). 2-30 s up to 1080p with sound; no seed.",
    ),
    _video(
        "minimax/h3-max",
        ("text", "image", "reference"),
        fields={"reference_images": "reference_image_urls"},
        duration="int",
        fixed={"prompt_expansion_mode": "balanced"},
        max_input_images=1,
        aspect_ratios=("16:9", "9:16", "1:1"),
        sizes=("480P", "768P", "1080P"),
        duration_range=(1, 15),
        max_reference_images=4,
        options=frozenset({"seed", "last_frame"}),
        notes="fal's post-train of MiniMax H3 (Arena T2V #8, I2V #1, 2026-09-21). Up to 15 s at 480P/768P/1080P; "
        "prompt_expansion_mode (required) is sent as 'balanced'.",
    ),
    _video(
        "blackforestlabs/flux-3",
        ("text", "image"),
        max_input_images=1,
        aspect_ratios=("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"),
        sizes=("720p", "1080p"),
        durations=(5, 6, 8, 10, 12, 15, 20),
        options=frozenset({"seed", "generate_audio", "last_frame"}),
        notes="Arena T2V #3, I2V #9 (2026-09-21). 5-20 s at 720p/1080p with audio; first and last frame.",
    ),
    _video(
        "alibaba/happy-horse",
        ("text", "image", "reference"),
        fields={"reference_images": "reference_image_urls"},
        duration="int",
        max_input_images=1,
        aspect_ratios=_ASPECTS,
        sizes=("720p", "1080p"),
        duration_range=(3, 15),
        max_reference_images=9,
        options=frozenset({"seed"}),
        notes="HappyHorse 1.0 (Arena T2V #10, I2V #10, 2026-09-21). 3-15 s at 720p/1080p; up to 9 references.",
    ),
    _video(
        "google/gemini-omni-flash/v1.1",
        ("text", "image", "reference"),
        duration="int",
        max_input_images=1,
        aspect_ratios=("16:9", "9:16"),
        duration_range=(3, 10),
        max_reference_images=3,
        options=frozenset(),
        notes="Gemini Omni 1.1 Flash on fal (Arena T2V #1, I2V #2, 2026-09-21); also direct with GEMINI_API_KEY.",
    ),
    _video(
        "xai/grok-imagine-video/v1.5",
        ("text", "image"),
        duration="int",
        max_input_images=1,
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"),
        sizes=("480p", "720p"),
        duration_range=(1, 15),
        notes="Grok Imagine Video 1.5 on fal (Arena T2V #4, I2V #8, 2026-09-21); also direct with XAI_API_KEY.",
    ),
)

IMAGE_FAMILIES: tuple[Family, ...] = (
    _image(
        "bytedance/seedream/v5/pro",
        "bytedance/seedream/v5/pro/text-to-image",
        "bytedance/seedream/v5/pro/edit",
        max_outputs=4,
        max_input_images=10,
        sizes=_IMAGE_SIZES,
        options=frozenset(),
        notes="Seedream 5.0 Pro (Arena T2I #10, 2026-09-24). No seed; edits with up to 10 images.",
    ),
    _image(
        "fal-ai/reve",
        "fal-ai/reve/text-to-image",
        "fal-ai/reve/edit",
        fields={"input_images": "image_url"},
        max_outputs=4,
        max_input_images=1,
        aspect_ratios=("16:9", "9:16", "3:2", "2:3", "4:3", "3:4", "1:1"),
        output_formats=("png", "jpeg", "webp"),
        notes="Reve (Arena T2I #5 and #8 as 2.1 and 2.0, 2026-09-24; fal does not say which version it serves).",
    ),
    _image(
        "microsoft/mai-image-2.5",
        "microsoft/mai-image-2.5",
        "microsoft/mai-image-2.5/edit",
        max_input_images=4,
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4"),
        notes="MAI-Image-2.5 (AA T2I #10, 2026-09-29); fal does not serve the 2.6 ranked #4 on Arena.",
    ),
    _image(
        "fal-ai/flux-2-max",
        "fal-ai/flux-2-max",
        "fal-ai/flux-2-max/edit",
        max_outputs=4,
        max_input_images=10,
        sizes=_IMAGE_SIZES,
        output_formats=("png", "jpeg"),
        options=frozenset({"seed"}),
        notes="FLUX.2 [max], Black Forest Labs' current top image model; edits with up to 10 images.",
    ),
    _image(
        "openai/gpt-image-2.5/sunburst",
        "openai/gpt-image-2.5/sunburst/text-to-image",
        "openai/gpt-image-2.5/sunburst/edit",
        fields={"quality": "quality"},
        max_outputs=4,
        max_input_images=16,
        qualities=("low", "medium", "high"),
        notes="GPT Image 2.5 Sunburst on fal (Arena T2I #1, 2026-09-24); also direct with OPENAI_API_KEY.",
    ),
    _image(
        "openai/gpt-image-2.5/flare",
        "openai/gpt-image-2.5/flare/text-to-image",
        "openai/gpt-image-2.5/flare/edit",
        fields={"quality": "quality"},
        max_outputs=4,
        max_input_images=16,
        qualities=("low", "medium", "high"),
        notes="GPT Image 2.5 Flare on fal (Arena T2I #2, 2026-09-24).",
    ),
    _image(
        "openai/gpt-image-2",
        "openai/gpt-image-2",
        "openai/gpt-image-2/edit",
        fields={"quality": "quality"},
        max_outputs=4,
        max_input_images=16,
        qualities=("low", "medium", "high"),
        notes="GPT Image 2 on fal (Arena T2I #3, 2026-09-24).",
    ),
    _image(
        "xai/grok-imagine-image/v2.0",
        "xai/grok-imagine-image/v2.0/text-to-image",
        None,
        max_outputs=4,
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"),
        notes="Grok Imagine Image 2.0 on fal (Arena T2I #6, 2026-09-24); text to image only.",
    ),
    _image(
        "fal-ai/nano-banana-2",
        "fal-ai/nano-banana-2",
        "fal-ai/nano-banana-2/edit",
        fields={"size": "resolution"},
        max_outputs=4,
        max_input_images=14,
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"),
        sizes=("1K", "2K", "4K"),
        output_formats=("png", "jpeg", "webp"),
        options=frozenset({"seed"}),
        lifecycle_note="Google deprecated gemini-3.1-flash-image on 2026-10-06; fal may stop serving it",
        notes="Nano Banana 2 on fal (Arena T2I #9, 2026-09-24).",
    ),
)

_BY_MEDIA = {MediaType.VIDEO: VIDEO_FAMILIES, MediaType.IMAGE: IMAGE_FAMILIES}


def family_of(media: MediaType, model_id: str) -> tuple[Family, str | None] | None:
    """The family ``model_id`` names, with the mode it pins (a full endpoint id) or None."""
    for family in _BY_MEDIA[media]:
        if family.id == model_id:
            return family, None
        for mode, endpoint in family.routes.items():
            if endpoint == model_id:
                return family, mode
    return None


def pinned(family: Family, mode: str) -> ModelSpec:
    """The family's spec narrowed to one endpoint: its inputs are what that endpoint takes."""
    spec = family.spec
    endpoint = family.routes[mode]
    if mode == "reference":
        return dataclasses.replace(spec, id=endpoint, max_input_images=0, required=("reference_images",))
    narrowed = dataclasses.replace(spec, id=endpoint, max_reference_images=0)
    if mode == "text":
        return dataclasses.replace(narrowed, max_input_images=0, options=spec.options - {"last_frame"}, required=())
    return dataclasses.replace(narrowed, required=("input_images",))


def route(family: Family, model_id: str, req: object) -> tuple[str, str]:
    """(endpoint id, mode) for a request: the pinned endpoint, else chosen by the inputs."""
    for mode, endpoint in family.routes.items():
        if endpoint == model_id:
            return endpoint, mode
    if getattr(req, "last_frame", None) and not getattr(req, "input_images", None):
        raise InvalidRequest(f"{family.id} takes last_frame with a first frame: add input_images")
    if getattr(req, "reference_images", None):
        mode = "reference"
    elif getattr(req, "input_images", None):
        mode = "edit" if "edit" in family.routes else "image"
    else:
        mode = "text"
    if mode not in family.routes:
        offered = ", ".join(family.routes)
        raise InvalidRequest(f"{family.id} has no {mode} endpoint on fal (it offers: {offered}); change the inputs")
    return family.routes[mode], mode
