"""OpenRouter image models through chat completions (the openai SDK pointed at OpenRouter).

The request is ``POST /chat/completions`` with ``modalities`` and, where the model declares them,
``image_config: {aspect_ratio, image_size}``; input images are ``image_url`` content parts (data
URIs). Images come back in ``choices[0].message.images[].image_url.url`` as data URLs (or URLs,
downloaded at once). Continuation sends the stored output back as the first input image.
"""

from __future__ import annotations

from typing import Any

from ...errors import BadProviderResponse, GenerateMediaError, InvalidRequest, ProviderError, SafetyBlocked
from ...leaderboards import AA_T2I, ARENA_EDIT, ARENA_T2I
from ...spec import PICTURES, Call, MediaSupport, MediaType, ModelSpec, Produced
from .._clients import openai_client
from .._download import download
from .._errors import ErrorMap, Table, from_status, openai_errors, status_error
from .._image_payload import LiftedJSON

MEDIA = MediaType.IMAGE
KEY_ENV = "OPENROUTER_API_KEY"

_GEMINI_ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")

CHECKED = "2026-12-03"

SUPPORT = MediaSupport(
    priority=40,
    default_model="google/gemini-nano-banana-2.1",
    continuation_prefix="openrouter_img",
    operations=(PICTURES,),
    models=(
        ModelSpec(
            id="google/gemini-nano-banana-2.1",
            max_input_images=14,
            continuation=True,
            aspect_ratios=(*_GEMINI_ASPECTS, "1:4", "4:1", "1:8", "8:1"),
            sizes=("1K", "2K", "4K"),
            notes="Nano Banana 2.1 via OpenRouter; image_config aspect_ratio and image_size (no 0.5K).",
            source="OpenRouter id as used by public OpenRouter clients (third party; not in an SDK literal); "
            "limits as Google's gemini-nano-banana-2.1",
            checked=CHECKED,
        ),
        ModelSpec(
            id="google/gemini-3.1-flash-image",
            max_input_images=14,
            continuation=True,
            aspect_ratios=(*_GEMINI_ASPECTS, "1:4", "4:1", "1:8", "8:1"),
            sizes=("0.5K", "1K", "2K", "4K"),
            notes="Nano Banana 2 via OpenRouter.",
            status="retired",
            deprecated_on="2026-10-06",
            shutdown_on="2026-10-29",
            replacement="google/gemini-nano-banana-2.1",
            lifecycle_note="the upstream Google model; shutdown date reported by third parties",
            source="ai.google.dev changelog 2026-10-06; BerriAI/litellm #44983",
            checked=CHECKED,
        ),
        ModelSpec(
            id="google/gemini-3-pro-image",
            max_input_images=14,
            continuation=True,
            aspect_ratios=_GEMINI_ASPECTS,
            sizes=("1K", "2K", "4K"),
            standings=(ARENA_EDIT.at(9, 1390, "nano-banana-pro (2k)"),),
        ),
        ModelSpec(
            id="openai/gpt-image-2",
            max_input_images=16,
            continuation=True,
            notes="Image-only output; OpenRouter's chat route takes no size or aspect ratio for it.",
            standings=(ARENA_T2I.at(3, 1383), AA_T2I.at(3, 1171), ARENA_EDIT.at(3, 1461)),
        ),
        ModelSpec(
            id="black-forest-labs/flux.2-pro",
            max_input_images=8,
            continuation=True,
            notes="Image-only output; reference images as inputs; no size or aspect ratio on this route.",
        ),
    ),
)

#: Models whose only output is an image ask for ``modalities: ["image"]`` (OpenRouter's docs).
_IMAGE_ONLY = frozenset({"openai/gpt-image-2", "black-forest-labs/flux.2-pro"})


async def _content(call: Call) -> list[dict[str, Any]]:
    images: list[str] = []
    if call.continuation is not None:
        stored = await call.load_file(call.continuation.files[0], ("image/",))
        images.append(stored.data_uri())
    images.extend(image.data_uri() for image in call.input_images)
    if len(images) > call.model.max_input_images:
        raise InvalidRequest(
            f"{call.model.id} takes at most {call.model.max_input_images} images and continuing counts the "
            "stored image as one; give fewer input_images"
        )
    parts: list[dict[str, Any]] = [{"type": "text", "text": call.prompt}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in images)
    return parts


def _extra_body(call: Call) -> dict[str, Any]:
    req = call.request
    modalities = ["image"] if call.model.id in _IMAGE_ONLY else ["image", "text"]
    extra: dict[str, Any] = {"modalities": modalities}
    config = {k: v for k, v in (("aspect_ratio", req.aspect_ratio), ("image_size", req.size)) if v}
    if config:
        extra["image_config"] = config
    return extra


def _forbidden(exc: Any, backend: str, key_env: str) -> GenerateMediaError:
    """OpenRouter's 403 moderation carries its reasons in ``error.metadata``; other 403s are generic."""
    body = exc.body
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if isinstance(metadata, dict) and metadata.get("reasons"):
        reasons = ", ".join(str(r) for r in metadata["reasons"])
        message = str(body.get("message") or "flagged by moderation")
        return SafetyBlocked(
            f"openrouter moderation blocked the request: {message} (reasons: {reasons}); rephrase the prompt",
            backend="openrouter",
            status=403,
        )
    return status_error(403, body, exc.response.headers, backend, key_env, fallback=exc.message)


def _errors() -> Table:
    """The openai SDK's table, with OpenRouter's moderation refusal read from its 403."""
    from openai import PermissionDeniedError

    return {**openai_errors(), PermissionDeniedError: _forbidden}


ERRORS = ErrorMap("openrouter", KEY_ENV, _errors)


async def generate(call: Call) -> list[Produced]:
    from openai.types.chat import ChatCompletion

    client = await openai_client(call)
    content = await _content(call)
    messages: Any = [{"role": "user", "content": content}]
    with ERRORS:
        # The raw answer, parsed here with its data URLs cut out (LiftedJSON): the SDK's own parse
        # copies each image's base64 into a str first, ~3.5 ms of CPU per MB.
        raw = await client.chat.completions.with_raw_response.create(
            model=call.model.id, messages=messages, extra_body=_extra_body(call)
        )
        answer = LiftedJSON(raw.content, "url", prefix=b"data:")
        # Built as the SDK builds its answers: typed, not validated, extra fields kept (images, error).
        completion = ChatCompletion.construct(**answer.object(backend="openrouter"))
    return await _produced(call, completion, answer)


def _check_answer(completion: Any) -> Any:
    """The assistant message, after in-band errors (HTTP 200 with an ``error`` object)."""
    error = (getattr(completion, "model_extra", None) or {}).get("error")
    if isinstance(error, dict):
        code = error.get("code")
        status = code if isinstance(code, int) and 400 <= code < 600 else 502
        raise from_status(status, {"error": error}, backend="openrouter", key_env=KEY_ENV)
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise BadProviderResponse("openrouter returned no choices; try again", backend="openrouter")
    choice = choices[0]
    if choice.finish_reason == "content_filter":
        raise SafetyBlocked(
            "openrouter's provider filtered the image (content_filter); rephrase the prompt", backend="openrouter"
        )
    return choice.message


def _urls(message: Any) -> list[str]:
    images = (getattr(message, "model_extra", None) or {}).get("images") or []
    urls = []
    for image in images:
        ref = image.get("image_url") if isinstance(image, dict) else None
        url = ref.get("url") if isinstance(ref, dict) else ref
        if isinstance(url, str) and url:
            urls.append(url)
    return urls


async def _produced(call: Call, completion: Any, answer: LiftedJSON) -> list[Produced]:
    message = _check_answer(completion)
    text = (message.content or "").strip() if isinstance(message.content, str) else ""
    urls = _urls(message)
    if not urls:
        said = f": {text[:200]!r}" if text else ""
        raise ProviderError(  # well formed, just no image: the model's choice
            f"{call.model.id} answered without an image{said}; rephrase the prompt as an image request",
            backend="openrouter",
        )
    out = []
    for url in urls:
        mime = None
        if answer.is_lifted(url) or url.startswith("data:"):
            data, mime = answer.data_url(url, backend="openrouter")
        else:
            data = await download(url, backend="openrouter", settings=call.settings, key_env=KEY_ENV)
        meta = {"mime_type": mime, "text": text[:500] or None, "id": getattr(completion, "id", None)}
        out.append(Produced(data=data, state={}, metadata={k: v for k, v in meta.items() if v}))
    return out


RUN = generate
