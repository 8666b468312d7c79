"""The one translation seam from HTTP statuses and SDK exceptions to our error tree.

Backends call :func:`from_status` (plain HTTP) or :func:`from_sdk` (any SDK exception carrying a
status code and headers) and ``raise ... from exc``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import (
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

__all__ = ["failure_code", "from_sdk", "from_status", "provider_message", "retry_after"]

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


def _unreadable(exc: BaseException) -> bool:
    """A 200 whose body is not what the API documents: not JSON (an HTML error page from a proxy), or
    JSON of the wrong shape (``null``, a list) that the SDK's models or parsers refuse."""
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | TypeError | AttributeError | IndexError):
        return True
    if type(exc).__name__ == "ValidationError":  # pydantic models (openai, google-genai, elevenlabs)
        return True
    return isinstance(exc, ValueError | KeyError) and "json" in str(exc).lower()


def from_sdk(exc: BaseException, *, backend: str, key_env: str = "") -> GenerateMediaError:
    """Classify any SDK exception by duck typing (openai, google-genai, elevenlabs, httpx)."""
    if isinstance(exc, GenerateMediaError):
        return exc
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if isinstance(status, int) and 100 <= status < 600:
        body = getattr(exc, "body", None)
        if body is None:
            body = getattr(exc, "message", None) or getattr(exc, "details", None) or str(exc)
        return from_status(status, body, backend=backend, headers=headers, key_env=key_env)
    name = type(exc).__name__.lower()
    if "timeout" in name or isinstance(exc, TimeoutError):
        return ProviderTimeout(f"{backend} did not answer in time; try again", backend=backend)
    if any(word in name for word in ("connect", "network", "protocol", "readerror", "remoteprotocol")):
        return ProviderUnavailable(f"{backend} connection failed ({type(exc).__name__}); try again", backend=backend)
    if _unreadable(exc):
        return BadProviderResponse(
            f"{backend} sent a response that could not be read ({type(exc).__name__}); try again", backend=backend
        )
    return ProviderError(f"{backend} failed: {type(exc).__name__}: {str(exc)[:200]}", backend=backend)


def failure_code(message: str, code: str | None = None) -> str:
    """The error code for a long job the provider reports failed: ``safety_blocked`` when its
    message is a refusal (so jobs.py raises SafetyBlocked), else the provider's code."""
    if _SAFETY_WORDS.search(message or ""):
        return "safety_blocked"
    return code or "provider_error"
