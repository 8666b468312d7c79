"""Google images: Gemini image models through ``generate_content`` (Developer API).

Gemini answers one image per request, so ``n`` runs n requests concurrently. Input images are
inline parts after the prompt. ``search_grounding`` (opt-in) adds the Google Search tool; the
queries and pages a grounded answer used come back in the item's ``metadata.grounding``.
Continuation (``gemini_chat_*``) re-posts the conversation with each model image's
``thoughtSignature`` (see ``_history.py``).

Nano Banana 2.1 (``gemini-nano-banana-2.1``, GA 2026-10-06) is the default: 14 aspect ratios,
1K/2K/4K (no 512), up to 14 reference images. ``gemini-3.1-flash-image`` (Nano Banana 2) was
deprecated that day and is reported shut down on 2026-10-29. Imagen 4 is retired (shut down
2026-06-30 to 2026-08-17 per Google's migration guide and changelog): declared retired, never
selected, and its ``generate_images`` path is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ...errors import BadProviderResponse, GenerateMediaError, ProviderError, SafetyBlocked
from ...leaderboards import AA_T2I, ARENA_EDIT, ARENA_T2I
from ...spec import PICTURES, Call, MediaSupport, MediaType, ModelSpec, Option, Produced
from . import _history
from ._client import ERRORS, gemini_client

MEDIA = MediaType.IMAGE

_ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")
_PRO_ASPECTS = (*_ASPECTS, "4:5", "5:4")
_FLASH_ASPECTS = (*_PRO_ASPECTS, "1:4", "4:1", "1:8", "8:1")
CHECKED = "2026-12-03"
_SDK = "google-genai 3.6.1 (_gaos/types/interactions/model.py)"
_IMAGEN: dict[str, Any] = {
    "status": "retired",
    "deprecated_on": "2026-06-15",
    "shutdown_on": "2026-08-17",
    "replacement": "gemini-nano-banana-2.1",
    "lifecycle_note": "the Gemini API changelog gives 2026-08-17; Firebase says as early as 2026-06-30",
    "source": "ai.google.dev changelog 2026-06-15 (deprecated, shut down 2026-08-17); "
    "firebase.google.com/docs/ai-logic/imagen-models-migration",
    "checked": CHECKED,
    "max_outputs": 4,
    "aspect_ratios": ("1:1", "3:4", "4:3", "9:16", "16:9"),
}

#: Opt-in Google Search grounding (google-genai 3.6.1 ``types.Tool(google_search=GoogleSearch())``): the
#: model may look facts up (weather, scores, a product) before drawing. Nano Banana 2.1 and 3 Pro Image
#: ground (ai.google.dev nanobanana "Grounding with Google Search"; vercel.com and inference.sh model pages).
SEARCH_GROUNDING = Option("search_grounding", bool, "Image: ground in Google Search results.")
_GROUNDED = frozenset({SEARCH_GROUNDING.name})

SUPPORT = MediaSupport(
    priority=100,
    default_model="gemini-nano-banana-2.1",
    continuation_prefix="gemini_chat",
    options=(SEARCH_GROUNDING,),
    operations=(PICTURES,),
    models=(
        ModelSpec(
            id="gemini-nano-banana-2.1",
            max_outputs=4,
            max_input_images=14,
            continuation=True,
            aspect_ratios=_FLASH_ASPECTS,
            sizes=("1K", "2K", "4K"),
            options=_GROUNDED,
            notes="Nano Banana 2.1: sharper text, steadier multi-turn edits. size 1K/2K/4K; n runs n requests.",
            source=_SDK + "; ai.google.dev changelog 2026-10-06 (GA); tanstack/ai-gemini 0.36.0 (ratios, sizes)",
            checked=CHECKED,
        ),
        ModelSpec(
            id="gemini-3-pro-image",
            max_outputs=4,
            max_input_images=14,
            continuation=True,
            aspect_ratios=_PRO_ASPECTS,
            sizes=("1K", "2K", "4K"),
            options=_GROUNDED,
            notes="Nano Banana Pro: best quality and text rendering; slower.",
            standings=(ARENA_EDIT.at(9, 1390, "nano-banana-pro (2k)"),),
            source=_SDK,
            checked=CHECKED,
        ),
        ModelSpec(
            id="gemini-3.1-flash-lite-image",
            max_outputs=4,
            max_input_images=4,
            continuation=True,
            aspect_ratios=_ASPECTS,
            sizes=("1K",),
            notes="Cheapest Gemini image model (limits declared conservatively).",
            source=_SDK,
            checked=CHECKED,
        ),
        ModelSpec(
            id="gemini-3.1-flash-image",
            max_outputs=4,
            max_input_images=14,
            continuation=True,
            aspect_ratios=_FLASH_ASPECTS,
            sizes=("512", "1K", "2K", "4K"),
            notes="Nano Banana 2.",
            standings=(ARENA_T2I.at(9, 1261, "nano-banana-2 [web-search]"), AA_T2I.at(6, 1124)),
            status="retired",
            deprecated_on="2026-10-06",
            shutdown_on="2026-10-29",
            replacement="gemini-nano-banana-2.1",
            lifecycle_note="shutdown date reported by third parties (Google announced none)",
            source="ai.google.dev changelog 2026-10-06 (deprecation); BerriAI/litellm #44983 and a 2026-10-18 "
            "skills.sh snapshot (shutdown)",
            checked=CHECKED,
        ),
        ModelSpec(id="imagen-4.0-generate-001", sizes=("1K", "2K"), **_IMAGEN),
        ModelSpec(id="imagen-4.0-ultra-generate-001", sizes=("1K", "2K"), **_IMAGEN),
        ModelSpec(id="imagen-4.0-fast-generate-001", **_IMAGEN),
    ),
)

#: finishReason / blockReason values that mean "withheld by a safety or policy filter".
_BLOCKED = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)


def _name(enum_value: Any) -> str:
    return str(getattr(enum_value, "value", enum_value) or "")


async def _concurrently(n: int, fn: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run ``fn`` n times at once; the first failure is raised after all have finished."""
    results: list[Any] = [None] * n

    async def one(i: int) -> None:
        try:
            results[i] = await fn()
        except GenerateMediaError as exc:
            results[i] = exc

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    failed = [r for r in results if isinstance(r, GenerateMediaError)]
    if failed:
        raise failed[0]
    return results


def _config(call: Call) -> Any:
    from google.genai import types

    req = call.request
    image_config = None
    if req.aspect_ratio or req.size:
        image_config = types.ImageConfig(aspect_ratio=req.aspect_ratio, image_size=req.size)
    # Opt-in: the model may look things up on Google Search (web results) before drawing.
    tools = [types.Tool(google_search=types.GoogleSearch())] if req.options().get(SEARCH_GROUNDING.name) else None
    return types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"], image_config=image_config, tools=tools)


def _grounding(candidate: Any) -> dict[str, Any] | None:
    """What a grounded answer searched for and the pages it drew on (Google asks apps to show them)."""
    found = candidate.grounding_metadata
    if found is None:
        return None
    sources = [
        {"title": chunk.web.title, "uri": chunk.web.uri}
        for chunk in found.grounding_chunks or []
        if chunk.web is not None and chunk.web.uri
    ]
    grounding = {"queries": list(found.web_search_queries or []), "sources": sources[:10]}
    return grounding if grounding["queries"] or grounding["sources"] else None


async def _gemini(call: Call) -> list[Produced]:
    async with gemini_client(call) as aio:  # first: it imports the SDK off the event loop
        history = _history.history_of(call)
        contents = [*await _history.to_contents(call, history), _history.user_parts(call)]
        config = _config(call)

        async def ask() -> Any:
            with ERRORS:
                return await aio.models.generate_content(model=call.model.id, contents=contents, config=config)

        responses = await _concurrently(call.request.n, ask)
    user, warnings = _history.user_turn(call)
    out: list[Produced] = []
    for response in responses:
        out.extend(_read(call, response, [*history, user]))
    for produced in out:
        produced.warnings.extend(warnings)
    return out


def _refusal(call: Call, candidate: Any, text: str) -> GenerateMediaError:
    reason = _name(candidate.finish_reason)
    said = candidate.finish_message or text  # finishMessage reaches us on Vertex only
    quote = f": {said[:200]!r}" if said else ""
    if reason in _BLOCKED:
        flagged = [_name(r.category) for r in candidate.safety_ratings or [] if r.blocked]
        categories = f" [{', '.join(flagged)}]" if flagged else ""
        return SafetyBlocked(
            f"google withheld the image ({reason}){categories}{quote}; rephrase the prompt",
            backend="google",
            reason=reason,
        )
    if text:  # a well-formed answer, just not an image: the model's choice, not a malformed response
        return ProviderError(
            f"{call.model.id} answered with text and no image{quote}; rephrase the prompt as an image request",
            backend="google",
        )
    return BadProviderResponse(
        f"google returned no image (finishReason {reason or 'none'}); try again", backend="google"
    )


def _read(call: Call, response: Any, history: list[dict[str, Any]]) -> list[Produced]:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = _name(feedback.block_reason)
        detail = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
        raise SafetyBlocked(
            f"google blocked the prompt ({reason}){detail}; rephrase the prompt", backend="google", reason=reason
        )
    candidate = (response.candidates or [None])[0]
    if candidate is None:
        raise BadProviderResponse("google returned no candidates; try again", backend="google")
    parts = [p for p in (candidate.content.parts or [] if candidate.content else []) if not p.thought]
    text = " ".join(p.text.strip() for p in parts if p.text).strip()
    images = [p for p in parts if p.inline_data is not None and p.inline_data.data]
    if not images:
        raise _refusal(call, candidate, text)
    out = []
    for image in images:
        turns = [*history, _history.model_turn(parts, image)]
        meta = {
            "mime_type": image.inline_data.mime_type,
            "text": text[:500] or None,
            "grounding": _grounding(candidate),
        }
        out.append(
            Produced(
                data=image.inline_data.data,
                state={"history": turns},
                metadata={k: v for k, v in meta.items() if v},
            )
        )
    return out


async def generate(call: Call) -> list[Produced]:
    return await _gemini(call)


RUN = generate
