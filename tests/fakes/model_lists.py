"""The providers' model-list endpoints, in each provider's own shape.

    openai      GET /openai/v1/models         {"object": "list", "data": [{id, created, owned_by, shutdown_date}]}
    google      GET /gemini/{v}/models        {"models": [{name: "models/...", supportedGenerationMethods}]}
    xai         GET /xai/v1/{image,video}-generation-models    {"models": [{id, aliases, output_modalities}]}
    openrouter  GET /openrouter/api/v1/models?output_modalities=image   {"data": [{id, architecture, expiration_date}]}
    elevenlabs  GET /elevenlabs/v1/models     [{model_id, can_do_text_to_speech, can_do_voice_conversion, ...}]
    fal         GET /fal-api/v1/models?endpoint_id=...   {"models": [{endpoint_id, metadata: {status, ...}}],
                                              "next_cursor", "has_more"} (find mode: only the ids asked, in pages of 10)
    replicate   GET /replicate/v1/models/{owner}/{name}  the model, or 404;
                GET /replicate/v1/collections/{slug}     {"name", "slug", "description", "models": [{owner, name}]}

The default lists are realistic for 2026-12: retired models are gone (sora-2, gpt-image-1.5,
gemini-3.1-flash-image), newer ones are listed (including ``gpt-image-3-preview``, a model nobody
declares yet), OpenAI's speech models carry their 2027-01-06 ``shutdown_date`` and OpenRouter's
Nano Banana 2 route its ``expiration_date``.

``fake.state`` knobs: ``model_lists_drop`` (ids to leave out), ``model_lists_shutdown`` (id ->
ISO date to publish as its shutdown/expiration date), ``model_lists_deprecated`` (fal endpoint ids listed
with ``status: deprecated``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import fal, replicate
from .core import FakeServer, Recorded

_CREATED = 1_780_000_000
_TTS_SHUTDOWN = "2027-01-06"

OPENAI: list[dict[str, Any]] = [
    *({"id": i, "shutdown_date": None} for i in ("gpt-5.2", "gpt-4o", "whisper-1", "text-embedding-3-small")),
    *({"id": i, "shutdown_date": None} for i in ("gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst")),
    *({"id": i, "shutdown_date": None} for i in ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")),
    {"id": "gpt-image-3-preview", "shutdown_date": None},
    {"id": "gpt-realtime-2.1-mini", "shutdown_date": None},
    *({"id": i, "shutdown_date": _TTS_SHUTDOWN} for i in ("gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15")),
    *({"id": i, "shutdown_date": _TTS_SHUTDOWN} for i in ("tts-1", "tts-1-hd")),
]

GEMINI: list[tuple[str, list[str]]] = [
    ("gemini-2.5-flash", ["generateContent", "countTokens"]),
    ("gemini-embedding-001", ["embedContent"]),
    ("gemini-3-pro-image", ["generateContent"]),
    ("gemini-3.1-flash-lite-image", ["generateContent"]),
    ("gemini-nano-banana-2.1", ["generateContent"]),
    ("gemini-omni-1.1-flash", ["generateContent"]),
    ("gemini-omni-1.2-flash", ["generateContent"]),
    ("gemini-3.8-flash-tts", ["generateContent"]),
    ("lyria-3.5", ["generateContent"]),
]

XAI_IMAGE = [
    ("grok-imagine-image", ["grok-imagine-image-2026-03-02"], 200_000_000),
    ("grok-imagine-image-quality", ["grok-imagine-image-pro", "grok-imagine-image-latest"], 500_000_000),
    ("grok-imagine-image-2.0", [], 500_000_000),
]
XAI_VIDEO = [("grok-imagine-video", []), ("grok-imagine-video-1.5", []), ("grok-imagine-video-1.5-lite", [])]

OPENROUTER: list[tuple[str, list[str], str | None]] = [
    ("google/gemini-3-pro-image", ["image", "text"], None),
    ("google/gemini-3.1-flash-image", ["image", "text"], "2026-10-29"),
    ("google/gemini-nano-banana-2.1", ["image", "text"], None),
    ("openai/gpt-image-2", ["image"], None),
    ("black-forest-labs/flux.2-pro", ["image"], None),
    ("anthropic/claude-sonnet-5", ["text"], None),
]

ELEVENLABS: list[tuple[str, bool, bool]] = [  # model_id, text-to-speech, voice conversion
    ("eleven_multilingual_v2", True, False),
    ("eleven_v3", True, False),
    ("eleven_flash_v2_5", True, False),
    ("eleven_turbo_v2_5", True, False),
    ("eleven_v4", True, False),
    ("eleven_v4_turbo", True, False),
    ("eleven_multilingual_sts_v2", False, True),
    ("eleven_english_sts_v2", False, True),
]


#: Replicate's curated media collections: its official models and two nobody declares.
REPLICATE_COLLECTIONS: dict[str, list[str]] = {
    "text-to-image": ["black-forest-labs/flux-2-pro", "bytedance/seedream-5", "ideogram-ai/ideogram-v4"],
    "text-to-video": ["alibaba/wan-3", "minimax/h3", "black-forest-labs/flux-3", "kwaivgi/kling-v3"],
}


def _kept(fake: FakeServer, model_id: str) -> bool:
    return model_id not in fake.state.get("model_lists_drop", ())


def _shutdown(fake: FakeServer, model_id: str, default: str | None) -> str | None:
    return fake.state.get("model_lists_shutdown", {}).get(model_id, default)


def _no_bearer(rec: Recorded) -> bool:
    return not rec.headers.get("authorization", "").startswith("Bearer ")


async def openai_models(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if _no_bearer(rec):
        return JSONResponse({"error": {"message": "Missing bearer token", "type": "invalid_request_error"}}, 401)
    data = [
        {
            "id": m["id"],
            "object": "model",
            "created": _CREATED,
            "owned_by": "system",
            "shutdown_date": _shutdown(fake, m["id"], m["shutdown_date"]),
        }
        for m in OPENAI
        if _kept(fake, m["id"])
    ]
    return JSONResponse({"object": "list", "data": data})


async def gemini_models(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("x-goog-api-key"):
        return JSONResponse({"error": {"code": 403, "message": "API key missing", "status": "PERMISSION_DENIED"}}, 403)
    models = [
        {
            "name": f"models/{name}",
            "baseModelId": name,
            "version": "001",
            "displayName": name,
            "inputTokenLimit": 131072,
            "outputTokenLimit": 32768,
            "supportedGenerationMethods": methods,
        }
        for name, methods in GEMINI
        if _kept(fake, name)
    ]
    return JSONResponse({"models": models})


async def xai_models(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if _no_bearer(rec):
        return JSONResponse({"code": "unauthenticated", "error": "Missing bearer token"}, 401)
    image = rec.path.endswith("/image-generation-models")
    rows: list[tuple[str, list[str], int]] = (
        XAI_IMAGE if image else [(name, aliases, 500_000_000) for name, aliases in XAI_VIDEO]
    )
    models = []
    for name, aliases, price in rows:
        if not _kept(fake, name):
            continue
        row: dict[str, Any] = {
            "id": name,
            "fingerprint": "fp_" + name.replace("-", "")[:12],
            "created": _CREATED,
            "object": "model",
            "owned_by": "xai",
            "version": "1.0.0",
            "input_modalities": ["text", "image"],
            "output_modalities": ["image" if image else "video"],
            "aliases": aliases,
        }
        row["image_price" if image else "video_price_per_second"] = price
        if (date := _shutdown(fake, name, None)) is not None:
            row["shutdown_date"] = date
        models.append(row)
    return JSONResponse({"models": models})


async def openrouter_models(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if _no_bearer(rec):
        return JSONResponse({"error": {"code": 401, "message": "No auth credentials found"}}, 401)
    wanted = set(filter(None, rec.query.get("output_modalities", "text").split(",")))
    data = [
        {
            "id": slug,
            "canonical_slug": slug,
            "name": slug.split("/", 1)[1],
            "created": _CREATED,
            "architecture": {"input_modalities": ["text", "image"], "output_modalities": outputs},
            "pricing": {"prompt": "0.0000003", "completion": "0.0000025", "image": "0.0000003"},
            "expiration_date": _shutdown(fake, slug, expires),
        }
        for slug, outputs, expires in OPENROUTER
        if _kept(fake, slug) and ("all" in wanted or wanted & set(outputs))
    ]
    return JSONResponse({"data": data})


async def elevenlabs_models(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if not rec.headers.get("xi-api-key"):
        return JSONResponse({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
    return JSONResponse(
        [
            {
                "model_id": model_id,
                "name": model_id.replace("_", " ").title(),
                "can_be_finetuned": tts,
                "can_do_text_to_speech": tts,
                "can_do_voice_conversion": sts,
                "can_use_style": True,
                "can_use_speaker_boost": True,
                "serves_pro_voices": False,
                "token_cost_factor": 1.0,
                "requires_alpha_access": False,
                "max_characters_request_free_user": 2500,
                "max_characters_request_subscribed_user": 10000,
                "maximum_text_length_per_request": 10000,
                "languages": [{"language_id": "en", "name": "English"}],
                "model_rates": {"character_cost_multiplier": 1.0},
                "concurrency_group": "standard",
            }
            for model_id, tts, sts in ELEVENLABS
            if _kept(fake, model_id)
        ]
    )


async def fal_models(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    """fal's model search in find mode: the asked endpoints it serves, ten a page (``cursor`` is an offset)."""
    asked = request.query_params.getlist("endpoint_id")
    served = [e for e in asked if e in fal.schemas() and _kept(fake, e)]
    start = int(request.query_params.get("cursor") or 0)
    page = served[start : start + 10]
    deprecated = set(fake.state.get("model_lists_deprecated", ()))
    models = [
        {
            "endpoint_id": endpoint,
            "metadata": {
                "display_name": endpoint.rsplit("/", 1)[-1],
                "category": "text-to-video" if fal.is_video(endpoint) else "text-to-image",
                "status": "deprecated" if endpoint in deprecated else "active",
                "kind": "inference",
            },
        }
        for endpoint in page
    ]
    more = start + 10 < len(served)
    return JSONResponse({"models": models, "next_cursor": str(start + 10) if more else None, "has_more": more})


def _replicate_auth(rec: Recorded) -> Response | None:
    if _no_bearer(rec):
        return JSONResponse(
            {"title": "Unauthenticated", "detail": "You did not pass a valid token", "status": 401}, 401
        )
    return None


def _replicate_model(model_id: str) -> dict[str, Any]:
    owner, name = model_id.split("/", 1)
    return {"url": f"https://replicate.com/{model_id}", "owner": owner, "name": name, "visibility": "public"}


async def replicate_model(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (denied := _replicate_auth(rec)) is not None:
        return denied
    model_id = f"{rec.path_params['owner']}/{rec.path_params['name']}"
    served = model_id in replicate.SCHEMAS or any(model_id in ids for ids in REPLICATE_COLLECTIONS.values())
    if not served or not _kept(fake, model_id):
        return JSONResponse({"title": "Not found", "detail": "Not found.", "status": 404}, 404)
    return JSONResponse(_replicate_model(model_id))


async def replicate_collection(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    if (denied := _replicate_auth(rec)) is not None:
        return denied
    slug = rec.path_params["slug"]
    if slug not in REPLICATE_COLLECTIONS:
        return JSONResponse({"title": "Not found", "detail": "Not found.", "status": 404}, 404)
    models = [_replicate_model(m) for m in REPLICATE_COLLECTIONS[slug] if _kept(fake, m)]
    return JSONResponse({"name": slug.replace("-", " ").title(), "slug": slug, "description": "", "models": models})


def register(fake: FakeServer) -> None:
    fake.route("openai", "/openai/v1/models", ["GET"], openai_models)
    fake.route("google", "/gemini/{version}/models", ["GET"], gemini_models)
    fake.route("xai", "/xai/v1/image-generation-models", ["GET"], xai_models)
    fake.route("xai", "/xai/v1/video-generation-models", ["GET"], xai_models)
    fake.route("openrouter", "/openrouter/api/v1/models", ["GET"], openrouter_models)
    fake.route("elevenlabs", "/elevenlabs/v1/models", ["GET"], elevenlabs_models)
    fake.route("fal", "/fal-api/v1/models", ["GET"], fal_models)
    fake.route("replicate", "/replicate/v1/models/{owner}/{name}", ["GET"], replicate_model)
    fake.route("replicate", "/replicate/v1/collections/{slug}", ["GET"], replicate_collection)
