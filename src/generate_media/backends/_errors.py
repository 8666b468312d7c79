"""The one translation seam from HTTP statuses and SDK exceptions to our error tree.

Each SDK has one :class:`ErrorMap`: an explicit table from its exception types to our errors (the
most specific type wins, as in httpx's ``map_httpcore_exceptions``), used as one ``with`` block
around each provider call::

    with OPENAI_ERRORS:  # or the backend's own map
        response = await client.images.generate(...)

Plain HTTP answers are classified by :func:`from_status`. The tables import their SDK only when
an exception has to be translated, so nothing here costs an import on the startup path.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from ..errors import (
    DISK_ERRNOS,
    AuthError,
    BadProviderResponse,
    GenerateMediaError,
    InvalidRequest,
    ModelUnavailable,
    NotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    SafetyBlocked,
)

__all__ = [
    "ErrorMap",
    "Handler",
    "Table",
    "failure_code",
    "from_sdk",
    "from_status",
    "genai_errors",
    "httpx_errors",
    "openai_errors",
    "provider_message",
    "retry_after",
    "stainless_errors",
    "status_error",
]

_SAFETY_WORDS = re.compile(r"safety|moderation|content[_ -]?policy|blocked|prohibited|flagged", re.I)
_QUOTA_WORDS = re.compile(r"quota|insufficient[_ ]credits|billing|credit balance|payment", re.I)
#: "This model is gone": OpenAI's ``model_not_found``, Gemini's "models/x is not found for API version",
#: and the retired / deprecated / shut down wording providers use for a model they stopped serving.
_MODEL_GONE = re.compile(
    r"model[_ ]not[_ ]found|\bmodels?\b.{0,80}\b(not found|does not exist|not exist|no longer|retired|"
    r"decommissioned|shut ?down|discontinued|is not available)|invalid model|no endpoints found",
    re.I,
)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if raw is None:
        ms = headers.get("retry-after-ms")
        return float(ms) / 1000 if ms and ms.replace(".", "", 1).isdigit() else None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _message_of(err: Any) -> str | None:
    if isinstance(err, str):
        return err
    if isinstance(err, dict):
        for key in ("message", "msg", "detail", "status"):
            value = err.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict):
                return json.dumps(value)
    return None


def provider_message(body: Any) -> str:
    """The human message inside a provider error body, whatever its shape."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body.strip()[:300]
    if isinstance(body, dict):
        found = _message_of(body.get("error", body.get("detail"))) or _message_of(body)
        if found:
            return found[:300]
    return str(body)[:300] if body else ""


def _not_found(status: int, message: str, where: str, backend: str) -> GenerateMediaError | None:
    """A model the provider no longer serves (failover-eligible), or another 404 (a job or file id)."""
    if status in (400, 404, 410) and _MODEL_GONE.search(message):
        return ModelUnavailable(
            where + "; the provider no longer serves this model: use its replacement or another model",
            backend=backend,
            status=status,
        )
    if status == 404:
        return NotFound(where + "; check the model id or job id", backend=backend, status=status)
    return None


def from_status(
    status: int, body: Any, *, backend: str, headers: Mapping[str, str] | None = None, key_env: str = ""
) -> GenerateMediaError:
    """Classify an HTTP error response."""
    message = provider_message(body) or f"HTTP {status}"
    where = f"{backend} answered {status}: {message}"
    wait = retry_after(headers)
    if 200 <= status < 300:  # a success status only reaches here when its body could not be read
        return BadProviderResponse(
            f"{backend} answered {status} with a body that could not be read ({message[:80]}); try again",
            backend=backend,
            status=status,
        )
    if status == 401 or (status == 403 and not _SAFETY_WORDS.search(message)):
        hint = f"; check {key_env} (and the endpoint/region)" if key_env else "; check the API key"
        return AuthError(where + hint, backend=backend, status=status)
    if status == 402 or (status == 429 and _QUOTA_WORDS.search(message)):
        return QuotaExceeded(where + "; add credits or raise the quota", backend=backend, status=status)
    if status == 429:
        return RateLimited(where + "; wait and retry", backend=backend, status=status, retry_after=wait)
    if _SAFETY_WORDS.search(message) and status in (400, 403, 422):
        return SafetyBlocked(
            f"{backend} refused the request: {message}; rephrase the prompt", backend=backend, status=status
        )
    if (gone := _not_found(status, message, where, backend)) is not None:
        return gone
    if status in (408, 504, 524):
        return ProviderTimeout(where + "; try again", backend=backend, status=status)
    if status >= 500:
        return ProviderUnavailable(where + "; try again shortly", backend=backend, status=status, retry_after=wait)
    if status in (400, 413, 415, 422):
        return InvalidRequest(where + "; fix the parameters", backend=backend)
    return ProviderError(where, backend=backend, status=status)


#: How one exception type becomes our error: ``handler(exc, backend, key_env)``.
Handler = Callable[[Any, str, str], GenerateMediaError]
Table = Mapping[type[BaseException], Handler]


def _timeout(exc: BaseException, backend: str, key_env: str) -> GenerateMediaError:
    return ProviderTimeout(f"{backend} did not answer in time; try again", backend=backend)


def _unavailable(exc: BaseException, backend: str, key_env: str) -> GenerateMediaError:
    return ProviderUnavailable(f"{backend} connection failed ({type(exc).__name__}); try again", backend=backend)


def _unreadable(exc: BaseException, backend: str, key_env: str) -> GenerateMediaError:
    """A 200 whose body is not what the API documents: not JSON (an HTML error page from a proxy), or
    JSON of the wrong shape (``null``, a list) that the SDK's models or parsers refuse."""
    return BadProviderResponse(
        f"{backend} sent a response that could not be read ({type(exc).__name__}); try again", backend=backend
    )


def _failed(exc: BaseException, backend: str, key_env: str) -> GenerateMediaError:
    return ProviderError(f"{backend} failed: {type(exc).__name__}: {str(exc)[:200]}", backend=backend)


def status_error(
    status: int, body: Any, headers: Any, backend: str, key_env: str, *, fallback: Any = None
) -> GenerateMediaError:
    """An SDK exception that carries the provider's HTTP answer, classified by its status and body."""
    return from_status(status, fallback if body is None else body, backend=backend, headers=headers, key_env=key_env)


def _headers(exc: Any) -> Any:
    return getattr(getattr(exc, "response", None), "headers", None)


@functools.cache
def _base_errors() -> Table:
    """What any SDK call may raise besides its own types: our parsing of a body it handed back."""
    import pydantic

    return {
        TimeoutError: _timeout,
        json.JSONDecodeError: _unreadable,
        UnicodeDecodeError: _unreadable,
        pydantic.ValidationError: _unreadable,  # the SDKs' response models (openai, google-genai, elevenlabs)
        TypeError: _unreadable,  # ``null`` or a list where an object was documented
        AttributeError: _unreadable,
        IndexError: _unreadable,
    }


def _transport(httpx: Any) -> Table:
    return {
        httpx.TimeoutException: _timeout,  # connect, read, write and pool timeouts
        httpx.TransportError: _unavailable,  # connection refused or reset, protocol and proxy errors
        httpx.DecodingError: _unreadable,  # a body that does not decode (bad gzip, bad charset)
        httpx.TooManyRedirects: _failed,
    }


@functools.cache
def httpx_errors() -> Table:
    """httpx and its fork httpx2 (openai and google-genai speak httpx2): transport failures, which
    every SDK here lets through raw while a body streams."""
    import httpx
    import httpx2

    return {**_base_errors(), **_transport(httpx), **_transport(httpx2)}


def _stainless_status(exc: Any, backend: str, key_env: str) -> GenerateMediaError:
    return status_error(exc.status_code, exc.body, exc.response.headers, backend, key_env, fallback=exc.message)


def stainless_errors(sdk: Any) -> Table:
    """The errors of an SDK generated by Stainless (openai, cartesia, google-genai's Interactions API):
    the same four exception types in each, from the module or namespace ``sdk``."""
    return {
        sdk.APIStatusError: _stainless_status,
        sdk.APITimeoutError: _timeout,
        sdk.APIConnectionError: _unavailable,
        sdk.APIResponseValidationError: _unreadable,
    }


@functools.cache
def openai_errors() -> Table:
    """The openai SDK (OpenAI and the OpenAI-compatible providers)."""
    import openai

    return {**httpx_errors(), **stainless_errors(openai)}


def _genai_status(exc: Any, backend: str, key_env: str) -> GenerateMediaError:
    body = exc.message or exc.details or str(exc)
    return status_error(exc.code, body, _headers(exc), backend, key_env)


@functools.cache
def genai_errors() -> Table:
    """google-genai: ``APIError`` (and its Client/ServerError) carries the HTTP ``code`` and ``message``;
    the Interactions API (Lyria, Gemini Omni video) raises openai-shaped errors of its own."""
    from google.genai import _interactions_errors as interactions
    from google.genai import errors

    return {
        **httpx_errors(),
        errors.APIError: _genai_status,
        errors.UnknownApiResponseError: _unreadable,  # a body that is not the JSON the API documents
        **stainless_errors(interactions),
    }


class ErrorMap:
    r"""One SDK's translation to our errors, as a table (exception type -> handler) and a ``with`` seam.

    The handler of the most specific type in the exception's MRO wins; an exception no table names is
    a :class:`ProviderError` carrying its type and message. Our own errors pass through unchanged, and
    so do ``BaseException``\ s that are not errors (cancellation).
    """

    def __init__(self, backend: str, key_env: str, table: Callable[[], Table]) -> None:
        self.backend = backend
        self.key_env = key_env
        self.table = table

    def translate(self, exc: BaseException) -> GenerateMediaError:
        if isinstance(exc, GenerateMediaError):
            return exc
        table = self.table()
        for cls in type(exc).__mro__:
            handler = table.get(cls)
            if handler is not None:
                return handler(exc, self.backend, self.key_env)
        if isinstance(exc, ValueError | KeyError) and "json" in str(exc).lower():
            return _unreadable(exc, self.backend, self.key_env)
        return _failed(exc, self.backend, self.key_env)

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None or isinstance(exc, GenerateMediaError) or not isinstance(exc, Exception):
            return
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            return  # our disk, not the provider: the caller names the folder (errors.storage_error)
        raise self.translate(exc) from exc


def from_sdk(exc: BaseException, *, backend: str, key_env: str = "") -> GenerateMediaError:
    """An httpx (or parsing) exception of a plain-HTTP call as our error: ``ErrorMap`` over :func:`httpx_errors`."""
    return ErrorMap(backend, key_env, httpx_errors).translate(exc)


def failure_code(message: str, code: str | None = None) -> str:
    """The error code for a long job the provider reports failed: ``safety_blocked`` when its
    message is a refusal (so jobs.py raises SafetyBlocked), else the provider's code."""
    if _SAFETY_WORDS.search(message or ""):
        return "safety_blocked"
    return code or "provider_error"
