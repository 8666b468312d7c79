"""What the providers list, compared with what we declare: ``generate-media models --check``.

Each keyed provider's model-list endpoint is asked once (through its official SDK where the SDK's
list keeps the fields we need, httpx otherwise), honouring the ``*_BASE_URL`` overrides:

    openai      GET /v1/models                        openai SDK ``models.list()``; ``shutdown_date``
    google      GET /v1beta/models                    google-genai ``aio.models.list()`` (Developer API)
    grok        GET /v1/image-generation-models, GET /v1/video-generation-models   httpx
    openrouter  GET /api/v1/models?output_modalities=image                         httpx; ``expiration_date``
    elevenlabs  GET /v1/models                        elevenlabs SDK ``models.list()``
    fal         GET api.fal.ai/v1/models?endpoint_id=...   httpx; each declared endpoint (backends/fal/_list.py)
    replicate   GET /v1/models/{owner}/{name}, GET /v1/collections/{slug}   httpx (backends/replicate/_list.py)

A list only speaks for the models it covers: Gemini's Developer API list says nothing of the Veo
models served on Vertex, ElevenLabs' list holds its speech and voice-changer models only,
OpenRouter is asked only for the modalities we use and fal only for the endpoints we declare. Drift
is reported only inside that coverage:

* declared models the provider no longer lists (not counting ones we already declare retired),
* media models the provider lists that we do not declare,
* shutdown dates the provider publishes that our declaration does not have (or has differently).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .backends.fal import _list as fal_list
from .config import Settings
from .pricing import price_of, price_text
from .registry import Registry
from .selector import default_model_id
from .spec import BackendSpec, MediaType, ModelSpec

__all__ = ["Drift", "Listed", "check", "drift_lines", "list_models", "model_rows"]


@dataclass(frozen=True)
class Listed:
    """One model as a provider's list shows it."""

    id: str
    media: bool  # makes images, video or audio, as far as the list tells
    shutdown: str | None = None  # ISO date the provider says it shuts down
    aliases: tuple[str, ...] = ()


@dataclass
class Drift:
    backend: str
    listed: int = 0
    missing: list[str] = field(default_factory=list)  # declared, no longer listed
    undeclared: list[str] = field(default_factory=list)  # listed media models we do not declare
    shutdowns: list[dict[str, str | None]] = field(default_factory=list)  # {model, listed, declared}
    error: str | None = None
    skipped: str | None = None  # why the provider was not asked (no key)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.undeclared or self.shutdowns or self.error)


Fetch = Callable[[str, str | None, float], Awaitable[list[Listed]]]


# --- the providers' lists ----------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    """A date as YYYY-MM-DD from an ISO string or a Unix timestamp; None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return date.fromtimestamp(value).isoformat()
    match = re.match(r"\d{4}-\d{2}-\d{2}", str(value))
    return match.group(0) if match else None


_OPENAI_MEDIA = re.compile(r"(^|-)(image|dall-e|sora|tts)(-|$)|^dall-e|^gpt-image|^sora|tts")


async def _openai(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    from openai import AsyncOpenAI

    async with AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0) as client:
        models = [m async for m in client.models.list()]
    return [Listed(m.id, bool(_OPENAI_MEDIA.search(m.id)), _iso(getattr(m, "shutdown_date", None))) for m in models]


_GEMINI_MEDIA = re.compile(r"image|imagen|veo|omni|tts|lyria|banana")


async def _google(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=base_url, timeout=int(timeout * 1000))
    client = genai.Client(vertexai=False, api_key=api_key, http_options=options)
    try:
        pager = await client.aio.models.list(config={"page_size": 1000})
        models = [m async for m in pager]
    finally:
        await client.aio.aclose()
    out = []
    for m in models:
        name = (m.name or "").removeprefix("models/")
        actions = set(m.supported_actions or ())
        media = bool(_GEMINI_MEDIA.search(name)) or bool(actions & {"predict", "predictLongRunning"})
        out.append(Listed(name, media))
    return out


async def _get_json(url: str, headers: dict[str, str], timeout: float, params: dict[str, str] | None = None) -> Any:
    import httpx

    async with httpx.AsyncClient(timeout=timeout) as client:
        response = await client.get(url, headers=headers, params=params)
    if response.status_code >= 400:
        raise RuntimeError(f"GET {httpx.URL(url).path} answered HTTP {response.status_code}")
    return response.json()


async def _grok(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    base = (base_url or "https://api.x.ai/v1").rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"}
    out = []
    for family in ("image-generation-models", "video-generation-models"):
        data = await _get_json(f"{base}/{family}", headers, timeout)
        for m in data.get("models") or []:
            out.append(Listed(str(m["id"]), True, _iso(m.get("shutdown_date")), tuple(m.get("aliases") or ())))
    return out


async def _openrouter(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    base = (base_url or "https://openrouter.ai/api/v1").rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"}
    data = await _get_json(f"{base}/models", headers, timeout, params={"output_modalities": "image"})
    out = []
    for m in data.get("data") or []:
        outputs = set((m.get("architecture") or {}).get("output_modalities") or ())
        out.append(Listed(str(m["id"]), "image" in outputs, _iso(m.get("expiration_date"))))
    return out


async def _elevenlabs(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    from .backends.elevenlabs._client import NO_RETRIES, open_client

    async with open_client(api_key, base_url, timeout) as client:
        models = await client.models.list(request_options=NO_RETRIES)
    return [Listed(m.model_id, True) for m in models]


async def _fal(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    return [Listed(name, family) for name, family in await fal_list.listed(api_key, base_url, timeout)]


async def _replicate(api_key: str, base_url: str | None, timeout: float) -> list[Listed]:
    from .backends.replicate import _list

    return [Listed(name, True) for name in await _list.listed(api_key, base_url, timeout)]


#: backend -> (its list call, whether a declared model is one that list speaks for)
LISTS: dict[str, tuple[Fetch, Callable[[MediaType, ModelSpec], bool]]] = {
    "openai": (_openai, lambda mt, m: True),
    "google": (_google, lambda mt, m: m.id.startswith("gemini-")),
    "grok": (_grok, lambda mt, m: True),
    "openrouter": (_openrouter, lambda mt, m: mt is MediaType.IMAGE),
    "elevenlabs": (_elevenlabs, lambda mt, m: bool({"speech", "voice_conversion"} & set(m.operations))),
    "fal": (_fal, lambda mt, m: not m.id.startswith("fal:")),
    "replicate": (_replicate, lambda mt, m: True),
}
#: backend -> (setting, default) of the URL its list is read from, where that is not the backend's base URL.
LIST_URLS: dict[str, tuple[str, str]] = {"fal": (fal_list.API_URL_ENV, fal_list.API_URL_DEFAULT)}


# --- comparing ---------------------------------------------------------------------------------


def _declared_shutdown(model: ModelSpec) -> str | None:
    value = getattr(model, "shutdown_on", None)
    return value if isinstance(value, str) else None


def _retired(model: ModelSpec, today: date) -> bool:
    status_on = getattr(model, "status_on", None)
    return bool(status_on and status_on(today) == "retired")


def compare(spec: BackendSpec, listed: list[Listed], today: date) -> Drift:
    _, covers = LISTS[spec.name]
    drift = Drift(backend=spec.name, listed=len(listed))
    by_id: dict[str, Listed] = {}
    for item in listed:
        for name in (item.id, *item.aliases):
            by_id.setdefault(name, item)
    declared = [(mt, m) for mt, m in spec.models() if covers(mt, m)]
    ids = {m.id for _, m in spec.models()}
    for _, model in declared:
        found = by_id.get(model.id)
        if found is None:
            if not _retired(model, today):
                drift.missing.append(model.id)
            continue
        if found.shutdown and found.shutdown != _declared_shutdown(model):
            drift.shutdowns.append({"model": model.id, "listed": found.shutdown, "declared": _declared_shutdown(model)})
    for item in listed:
        if item.media and item.id not in ids and not ids & set(item.aliases):
            drift.undeclared.append(item.id)
    drift.undeclared.sort()
    return drift


async def list_models(spec: BackendSpec, settings: Settings) -> list[Listed]:
    fetch, _ = LISTS[spec.name]
    base_url = (settings.get(spec.base_url_env) if spec.base_url_env else "") or spec.default_base_url
    if spec.name in LIST_URLS:
        env, default = LIST_URLS[spec.name]
        base_url = settings.get(env) or default
    return await fetch(settings.api_key(spec.env_keys), base_url, settings.request_timeout_s)


async def check(registry: Registry, settings: Settings, today: date | None = None) -> list[Drift]:
    """Ask every keyed provider's list and compare; one :class:`Drift` per backend with a list."""
    import anyio

    today = today or date.today()
    specs = [spec for spec in registry if spec.name in LISTS]
    results: dict[str, Drift] = {}

    async def one(spec: BackendSpec) -> None:
        if not settings.api_key(spec.env_keys):
            results[spec.name] = Drift(backend=spec.name, skipped=f"set {' or '.join(spec.env_keys)}")
            return
        try:
            listed = await list_models(spec, settings)
        except Exception as exc:  # one provider's failure must not hide the others' drift
            results[spec.name] = Drift(backend=spec.name, error=f"{type(exc).__name__}: {exc}")
            return
        results[spec.name] = compare(spec, listed, today)

    async with anyio.create_task_group() as tg:
        for spec in specs:
            tg.start_soon(one, spec)
    return [results[spec.name] for spec in specs]


# --- printing ----------------------------------------------------------------------------------


def lifecycle_text(model: ModelSpec, today: date) -> str:
    """``current``, ``deprecated (shuts down YYYY-MM-DD)`` or ``retired (YYYY-MM-DD)``."""
    status_on = getattr(model, "status_on", None)
    if status_on is None:  # declarations without lifecycle data
        old = getattr(model, "deprecated", None)
        return f"deprecated: {old}" if old else "current"
    status = status_on(today)
    shutdown = _declared_shutdown(model)
    if status == "retired":
        return f"retired ({shutdown})" if shutdown else "retired"
    if status == "deprecated":
        return f"deprecated (shuts down {shutdown})" if shutdown else "deprecated"
    return f"current (shuts down {shutdown})" if shutdown else "current"


def model_rows(registry: Registry, settings: Settings, today: date | None = None) -> list[dict[str, Any]]:
    """One row per declared model: lifecycle and published price (never anything about keys)."""
    today = today or date.today()
    rows = []
    for spec in registry:
        for media_type, support in spec.media.items():
            default = default_model_id(spec, media_type, settings)
            for model in support.models:
                price = price_of(spec.name, model.id)
                rows.append(
                    {
                        "backend": spec.name,
                        "media_type": media_type.value,
                        "model": model.id,
                        "default": model.id == default,
                        "lifecycle": lifecycle_text(model, today),
                        "price": price_text(price),
                        "price_usd": dict(price.usd) if price else None,
                        "price_unit": price.unit if price else None,
                        "price_by": price.by if price else None,
                        "price_checked": price.checked if price else None,
                        "price_source": price.source if price else None,
                        "ranks": "; ".join(st.text() for st in model.standings),
                        "standings": [
                            {
                                "board": st.board.name,
                                "rank": st.rank,
                                "score": st.score,
                                "snapshot": st.board.snapshot,
                                "source": st.board.source,
                            }
                            for st in model.standings
                        ],
                    }
                )
    return rows


def drift_lines(drifts: list[Drift]) -> list[str]:
    """The drift report as text, one block per provider."""
    lines: list[str] = []
    for d in drifts:
        if d.skipped:
            lines.append(f"{d.backend}: not checked ({d.skipped})")
            continue
        if d.error:
            lines.append(f"{d.backend}: the model list could not be read: {d.error}")
            continue
        head = f"{d.backend}: {d.listed} models listed"
        if d.clean:
            lines.append(f"{head}; no drift")
            continue
        lines.append(head)
        if d.missing:
            lines.append("  declared but no longer listed (retired?): " + ", ".join(d.missing))
        if d.undeclared:
            lines.append("  listed media models we do not declare: " + ", ".join(d.undeclared))
        for s in d.shutdowns:
            known = s["declared"] or "none"
            lines.append(f"  shutdown date we do not know: {s['model']} shuts down {s['listed']} (declared: {known})")
    return lines
