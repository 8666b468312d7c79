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
from typing import Any

from ...errors import InvalidRequest
from ...spec import MediaType, ModelSpec
from .._ranked import RANKED
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


def _image(
    fid: str,
    *,
    text: str = "text-to-image",
    edit: str | None = "edit",
    ranked: str | None = None,
    fields: Mapping[str, str] | None = None,
    how: str | None = None,
    **spec: Any,
) -> Family:
    """An image family: its text-to-image and edit endpoints (relative to ``fid``; "" is ``fid``
    itself, ``edit=None`` none), its standings (``RANKED[ranked]``) and the rest of its spec."""
    routes = {"text": f"{fid}/{text}".rstrip("/"), **({"edit": f"{fid}/{edit}"} if edit is not None else {})}
    spec.setdefault("source", _src(*routes.values(), **({"how": how} if how else {})))
    spec.setdefault("max_outputs", 4)
    standings = RANKED[ranked] if ranked else ()
    model = ModelSpec(id=fid, checked=CHECKED, standings=standings, **spec)
    return Family(model, routes, Wire(fields={**_IMAGE_FIELDS, **(fields or {})}))


VIDEO_FAMILIES: tuple[Family, ...] = (
    _video(
        "bytedance/seedance-2.5",
        ("text", "image", "reference"),
        standings=RANKED["seedance-2.5"],
        max_input_images=1,
        aspect_ratios=_SEEDANCE_ASPECTS,
        sizes=("480p", "720p"),
        duration_range=(4, 30),
        max_reference_images=9,
        options=frozenset({"generate_audio", "last_frame"}),
        notes="Seedance 2.5: 4-30 s, 480p/720p, native audio; no seed; up to 9 references.",
    ),
    _video(
        "bytedance/seedance-2.0",
        ("text", "image", "reference"),
        standings=RANKED["seedance-2.0"],
        max_input_images=1,
        aspect_ratios=_SEEDANCE_ASPECTS,
        sizes=("480p", "720p", "1080p"),
        duration_range=(4, 15),
        max_reference_images=9,
        options=frozenset({"seed", "generate_audio", "last_frame"}),
        notes="Seedance 2.0: 4-15 s up to 1080p, native audio, first and last frame.",
    ),
    _video(
        "alibaba/wan-3.0",
        ("text", "image", "reference"),
        standings=RANKED["wan-3.0"],
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
        notes="Wan 3.0: 2-30 s up to 1080p with sound; no seed.",
    ),
    _video(
        "minimax/h3-max",
        ("text", "image", "reference"),
        standings=RANKED["minimax-h3-max"],
        fields={"reference_images": "reference_image_urls"},
        duration="int",
        fixed={"prompt_expansion_mode": "balanced"},
        max_input_images=1,
        aspect_ratios=("16:9", "9:16", "1:1"),
        sizes=("480P", "768P", "1080P"),
        duration_range=(1, 15),
        max_reference_images=4,
        options=frozenset({"seed", "last_frame"}),
        notes="fal's post-train of MiniMax H3 (Arena ranks the base model). Up to 15 s at 480P/768P/1080P; "
        "prompt_expansion_mode (required) is sent as 'balanced'.",
    ),
    _video(
        "blackforestlabs/flux-3",
        ("text", "image"),
        standings=RANKED["flux-3-video"],
        max_input_images=1,
        aspect_ratios=("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"),
        sizes=("720p", "1080p"),
        durations=(5, 6, 8, 10, 12, 15, 20),
        options=frozenset({"seed", "generate_audio", "last_frame"}),
        notes="FLUX 3 Video: 5-20 s at 720p/1080p with audio; first and last frame.",
    ),
    _video(
        "alibaba/happy-horse",
        ("text", "image", "reference"),
        standings=RANKED["happyhorse-1.0"],
        fields={"reference_images": "reference_image_urls"},
        duration="int",
        max_input_images=1,
        aspect_ratios=_ASPECTS,
        sizes=("720p", "1080p"),
        duration_range=(3, 15),
        max_reference_images=9,
        options=frozenset({"seed"}),
        notes="HappyHorse 1.0: 3-15 s at 720p/1080p; up to 9 references.",
    ),
    _video(
        "google/gemini-omni-flash/v1.1",
        ("text", "image", "reference"),
        standings=RANKED["gemini-omni-1.1-flash"],
        duration="int",
        max_input_images=1,
        aspect_ratios=("16:9", "9:16"),
        duration_range=(3, 10),
        max_reference_images=3,
        options=frozenset(),
        notes="Gemini Omni 1.1 Flash on fal; also direct with GEMINI_API_KEY.",
    ),
    _video(
        "xai/grok-imagine-video/v1.5",
        ("text", "image"),
        standings=RANKED["grok-imagine-video-1.5"],
        duration="int",
        max_input_images=1,
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"),
        sizes=("480p", "720p"),
        duration_range=(1, 15),
        notes="Grok Imagine Video 1.5 on fal; also direct with XAI_API_KEY.",
    ),
)

_GPT: dict[str, Any] = {
    "fields": {"quality": "quality"},
    "max_input_images": 16,
    "qualities": ("low", "medium", "high"),
}
_FORMATS = ("png", "jpeg", "webp")
_REVE_21_ASPECTS = (
    *("4:1", "3:1", "21:9", "2:1", "17:9", "16:9", "3:2", "4:3", "5:4", "1:1"),
    *("4:5", "3:4", "2:3", "9:16", "1:2", "1:3", "1:4"),
)

#: Routes are relative to the family id ("" is the family id itself); ``ranked`` names the model's
#: standings in ``leaderboards.RANKED``; every family takes num_images 1 to 4 unless it says otherwise.
IMAGE_FAMILIES: tuple[Family, ...] = (
    _image(
        "bytedance/seedream/v5/pro",
        ranked="seedream-5.0-pro",
        max_input_images=10,
        sizes=_IMAGE_SIZES,
        options=frozenset(),
        notes="Seedream 5.0 Pro. No seed; edits with up to 10 images.",
    ),
    _image(
        "reve/2.1",
        ranked="reve-2.1",
        fields={"input_images": "image_url"},
        max_input_images=1,
        aspect_ratios=_REVE_21_ASPECTS,
        output_formats=_FORMATS,
        how="ids, fields and $0.25/image as three public integrations read them from fal's OpenAPI (2026-09)",
        notes="Reve 2.1: a native-4K picture, 17 aspect ratios; edits one image. No seed.",
    ),
    _image(
        "meta/muse-image",
        ranked="muse-image",
        max_outputs=10,
        max_input_images=10,
        aspect_ratios=("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"),
        output_formats=_FORMATS,
        how="ids, fields and $0.01/image as several public integrations use them (2026-08 to 10)",
        notes="Meta's Muse Image (2026-07-07): up to 10 images a call; edits with up to 10 images. No seed.",
    ),
    _image(
        "microsoft/mai-image-2.5",
        text="",
        ranked="mai-image-2.5",
        max_input_images=4,
        aspect_ratios=("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3"),
        output_formats=_FORMATS,
        how="fal's own llms.txt for both endpoints (stored copies)",
        notes="MAI-Image-2.5 (fal does not serve the 2.6 ranked #4 on Arena); the aspect ratios both endpoints take.",
    ),
    _image(
        "fal-ai/flux-2-max",
        text="",
        max_input_images=10,
        sizes=_IMAGE_SIZES,
        output_formats=("png", "jpeg"),
        options=frozenset({"seed"}),
        notes="FLUX.2 [max], Black Forest Labs' current top image model; edits with up to 10 images.",
    ),
    _image("openai/gpt-image-2.5/sunburst", ranked="gpt-image-2.5-sunburst", **_GPT, notes="GPT Image 2.5 Sunburst."),
    _image("openai/gpt-image-2.5/flare", ranked="gpt-image-2.5-flare", **_GPT, notes="GPT Image 2.5 Flare."),
    _image("openai/gpt-image-2", text="", ranked="gpt-image-2", **_GPT, notes="GPT Image 2."),
    _image(
        "xai/grok-imagine-image/v2.0",
        edit=None,
        ranked="grok-imagine-image-2.0",
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"),
        notes="Grok Imagine Image 2.0 on fal; text to image only.",
    ),
    _image(
        "fal-ai/nano-banana-2",
        text="",
        ranked="nano-banana-2",
        fields={"size": "resolution"},
        max_input_images=14,
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"),
        sizes=("1K", "2K", "4K"),
        output_formats=_FORMATS,
        options=frozenset({"seed"}),
        lifecycle_note="Google deprecated gemini-3.1-flash-image on 2026-10-06; fal may stop serving it",
        notes="Nano Banana 2 on fal.",
    ),
    _image(
        "fal-ai/reve",
        fields={"input_images": "image_url"},
        max_input_images=1,
        aspect_ratios=("16:9", "9:16", "3:2", "2:3", "4:3", "3:4", "1:1"),
        output_formats=_FORMATS,
        notes='Reve\'s first model ("Reve Image 1.0" per lumenfall.ai); the ranked Reve 2.1 is reve/2.1.',
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
