"""google-genai clients for one call, and the translation of their errors.

Everything the SDK could read from ``os.environ`` is passed explicitly (key, base URL, Vertex mode),
so settings read once at the edge are the only configuration. The SDK's own retries stay off
(``retry_options`` unset): retry.py is the one policy.

Vertex (Imagen) runs in express mode, ``Client(vertexai=True, api_key=...)``, and only when the
user opts in with ``GOOGLE_GENAI_USE_VERTEXAI=true`` or a ``GOOGLE_VERTEX_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from ...errors import InvalidRequest
from ...settings import Setting
from ...spec import Call, Endpoint
from .._clients import complete_models, key_digest
from .._errors import ErrorMap, genai_errors

__all__ = [
    "ERRORS",
    "KEY_ENV",
    "SETTINGS",
    "VERTEX_ENV",
    "gemini_client",
    "shared",
    "vertex_client",
    "vertex_enabled",
    "warm",
]

KEY_ENV = "GEMINI_API_KEY or GOOGLE_API_KEY"
VERTEX_ENV = "GOOGLE_GENAI_USE_VERTEXAI"
VERTEX_BASE_URL_ENV = "GOOGLE_VERTEX_BASE_URL"
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(VERTEX_ENV, "flag", False, "run Imagen and Veo on Vertex AI express mode with the API key", "google"),
    Setting(VERTEX_BASE_URL_ENV, "url", "", "a Vertex AI endpoint (implies Vertex mode)", "google"),
)


def vertex_enabled(settings: Any) -> bool:
    flag = settings.get(VERTEX_ENV).lower() in ("1", "true", "yes", "on")
    return flag or bool(settings.get(VERTEX_BASE_URL_ENV))


#: The one translation of google-genai's errors (``APIError`` carries the HTTP ``code`` and ``message``).
ERRORS = ErrorMap("google", KEY_ENV, genai_errors)


async def close(client: Any) -> None:
    """End a ``genai.Client``: its async transport, then its sync one."""
    await client.aio.aclose()
    client.close()


async def shared(endpoint: Endpoint, kind: str, base_url: str | None, build: Callable[[], Any]) -> Any:
    """A ``genai.Client`` shared for the server's lifetime, keyed by kind, key and endpoint."""
    key = (kind, key_digest(endpoint.api_key), base_url or "", endpoint.settings.request_timeout_s)
    try:
        return await endpoint.clients.get(key, build, close)
    except ValueError as exc:  # the SDK validates its arguments eagerly
        raise InvalidRequest(f"google client setup failed: {exc}", backend="google") from exc


async def _shared(endpoint: Endpoint, *, vertex: bool, prepare: bool = False) -> Any:
    api_key, timeout_ms = endpoint.api_key, int(endpoint.settings.request_timeout_s * 1000)
    base_url = (endpoint.settings.get(VERTEX_BASE_URL_ENV) or None) if vertex else endpoint.base_url

    def build() -> Any:
        from google import genai
        from google.genai import types

        options = types.HttpOptions(base_url=base_url, timeout=timeout_ms)
        client = genai.Client(vertexai=vertex, api_key=api_key, http_options=options)
        if prepare:  # the warm-up's: done before any call can use the client
            # google-genai builds each pydantic model on first use: the request and answer of the image
            # and speech calls would cost their first call about half a second.
            roots = ("GenerateContentConfig", "GenerateContentResponse", "Content", "Part", "HttpResponse")
            complete_models(*(f"google.genai.types.{name}" for name in roots))
        return client

    return await shared(endpoint, "google-vertex" if vertex else "google-genai", base_url, build)


@asynccontextmanager
async def _client(call: Call, *, vertex: bool) -> AsyncIterator[Any]:
    yield (await _shared(call, vertex=vertex)).aio


async def warm(endpoint: Endpoint) -> None:
    """Import google-genai and build the Gemini client (and the Vertex one when Vertex is enabled)."""
    await _shared(endpoint, vertex=False, prepare=True)
    if vertex_enabled(endpoint.settings):
        await _shared(endpoint, vertex=True)


def gemini_client(call: Call) -> Any:
    """``async with gemini_client(call) as aio:`` the Gemini Developer API (``client.aio``)."""
    return _client(call, vertex=False)


def vertex_client(call: Call) -> Any:
    """``async with vertex_client(call) as aio:`` Vertex express mode.

    Raises:
        InvalidRequest: Vertex is not enabled (names the env vars that enable it).
    """
    if not vertex_enabled(call.settings):
        raise InvalidRequest(
            f"{call.model.id} runs only on Vertex AI: set {VERTEX_ENV}=true (with a Vertex express API key in "
            f"GEMINI_API_KEY or GOOGLE_API_KEY) or {VERTEX_BASE_URL_ENV}, or use a gemini image model",
            backend="google",
        )
    return _client(call, vertex=True)
