"""One exception tree for everything that can go wrong in a generation.

    GenerateMediaError                 internal     (a bug: the server caught it and keeps running)
    ├── InvalidRequest                 invalid_request
    │   └── NoBackendAvailable         no_backend   (lists every backend and why it was rejected)
    ├── MissingKey                     missing_key
    ├── NotFound                       not_found    (unknown continuation, job or resource id)
    ├── AccessDenied                   access_denied (a path outside the allowed directories)
    ├── LimitExceeded                  limit_exceeded
    │   └── BudgetExceeded             budget_exceeded (GENERATE_MEDIA_BUDGET_USD; carries the figures)
    ├── StorageError                   storage_error (a folder could not be written; names it)
    │   ├── DiskFull                   disk_full     (no space, quota or file size limit)
    │   └── NotWritable                not_writable  (read-only or permission denied)
    └── ProviderError                  provider_error  (anything the provider did)
        ├── AuthError                  auth
        ├── RateLimited                rate_limited  yes (carries retry_after)
        ├── QuotaExceeded              quota
        ├── ModelUnavailable           model_unavailable (the provider no longer serves the model)
        ├── SafetyBlocked              safety_blocked (carries the provider's reason)
        ├── ProviderTimeout            timeout       yes
        ├── ProviderUnavailable        provider_error yes (5xx, connection reset)
        └── BadProviderResponse        bad_provider_response (malformed body, truncated media)

Every error's message is one line that names the next move. Backends translate SDK and HTTP
errors into this tree in one place each (``raise ... from exc``); the server turns any of them into
an MCP error result carrying ``code`` in its structured content.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any, ClassVar

__all__ = [
    "DISK_ERRNOS",
    "ERROR_CODES",
    "AccessDenied",
    "AuthError",
    "BadProviderResponse",
    "BudgetExceeded",
    "DiskFull",
    "GenerateMediaError",
    "InvalidRequest",
    "LimitExceeded",
    "MissingKey",
    "ModelUnavailable",
    "NoBackendAvailable",
    "NotFound",
    "NotWritable",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QuotaExceeded",
    "RateLimited",
    "RedactingFilter",
    "Redactor",
    "SafetyBlocked",
    "StorageError",
    "redact_logs",
    "storage_error",
]


class GenerateMediaError(Exception):
    """Base of every error this package raises on purpose; raised as is, it is an internal error."""

    code: ClassVar[str] = "internal"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, backend: str | None = None, **details: Any) -> None:
        # One line: a provider's multi-line message must not break the contract.
        message = " ".join(str(message).split())
        super().__init__(message)
        self.message = message
        self.backend = backend
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.backend:
            data["backend"] = self.backend
        data.update(self.details)
        return data


class InvalidRequest(GenerateMediaError):
    code = "invalid_request"


class NoBackendAvailable(InvalidRequest):
    code = "no_backend"


class MissingKey(GenerateMediaError):
    code = "missing_key"


class NotFound(GenerateMediaError):
    code = "not_found"


class AccessDenied(GenerateMediaError):
    code = "access_denied"


class LimitExceeded(InvalidRequest):
    code = "limit_exceeded"


class BudgetExceeded(LimitExceeded):
    """A call whose estimate does not fit in what is left of today's budget: refused before any request."""

    code = "budget_exceeded"


class StorageError(GenerateMediaError):
    """A folder of ours could not be written (the output or the state folder)."""

    code = "storage_error"


class DiskFull(StorageError):
    code = "disk_full"


class NotWritable(StorageError):
    code = "not_writable"


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_DENIED = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
#: errno values that mean "this folder cannot take the file", whatever raised them.
DISK_ERRNOS = _FULL | _DENIED | frozenset({errno.EIO})


def storage_error(exc: OSError, folder: Path | str, *, role: str = "output folder", move: str = "") -> StorageError:
    """Say what happened to a write in ``folder`` and what to do next (``move``: how to pick another
    folder, e.g. "pass another output_dir"). One seam for every write, so the codes stay stable."""
    move = move or "use another folder"
    if exc.errno in _FULL:
        why = "the file size limit (ulimit -f) was reached" if exc.errno == errno.EFBIG else "the disk is full"
        return DiskFull(
            f"could not write to the {role} {folder}: {why}; free some space or {move}, then call again",
            folder=str(folder),
        )
    if exc.errno in _DENIED:
        return NotWritable(
            f"the {role} {folder} is not writable ({exc.strerror or 'read-only'}); make it writable or {move}",
            folder=str(folder),
        )
    return StorageError(
        f"could not write to the {role} {folder} ({exc.strerror or type(exc).__name__}); check the disk or {move}",
        folder=str(folder),
    )


class ProviderError(GenerateMediaError):
    """The provider failed or refused; ``status`` is its HTTP status when there was one."""

    code = "provider_error"

    def __init__(self, message: str, *, backend: str | None = None, status: int | None = None, **details: Any) -> None:
        super().__init__(message, backend=backend, status=status, **details)
        self.status = status


class AuthError(ProviderError):
    code = "auth"


class RateLimited(ProviderError):
    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after


class QuotaExceeded(ProviderError):
    code = "quota"


class ModelUnavailable(ProviderError):
    """The provider answered that the model does not exist (retired, renamed or not on this key).

    Under ``backend='auto'`` the service fails over to the model's declared replacement or the next
    backend, and skips the model for a day."""

    code = "model_unavailable"


class SafetyBlocked(ProviderError):
    code = "safety_blocked"


class ProviderTimeout(ProviderError):
    code = "timeout"
    retryable = True


class ProviderUnavailable(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after


class BadProviderResponse(ProviderError):
    """The provider answered, but with something we cannot use (HTML, ``null``, a truncated image)."""

    code = "bad_provider_response"


def _codes(cls: type[GenerateMediaError]) -> list[str]:
    found = [cls.code]
    for sub in cls.__subclasses__():
        found.extend(c for c in _codes(sub) if c not in found)
    return found


#: Every ``code`` an error result can carry (the output schema's enum). An error class added
#: elsewhere must reuse one of these or add its code here (a test imports everything and checks).
ERROR_CODES: tuple[str, ...] = tuple(_codes(GenerateMediaError))


class Redactor:
    """Replaces every secret value with ``[redacted]``: in text, in nested result data, and inside an
    error (its message and details) before it is shown, logged or stored."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def error(self, exc: GenerateMediaError) -> GenerateMediaError:
        """Scrub ``exc`` in place (message, args, details) and return it."""
        if self.secrets:
            exc.message = self(exc.message)
            exc.args = (exc.message,)
            exc.details = self.data(exc.details)
        return exc


class RedactingFilter(logging.Filter):
    """Scrubs every record a handler emits: its message (arguments merged in), traceback and stack.

    Installed on the handlers, not on loggers: a handler sees every record that reaches it,
    including those of libraries that log on their own (httpx, httpcore, uvicorn, the SDKs print
    URLs with keys in the query and provider headers at DEBUG).
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redact.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_logs(secrets: list[str], logger: logging.Logger | None = None) -> RedactingFilter:
    """Put a :class:`RedactingFilter` on every handler of ``logger`` (default: the root logger)."""
    log_filter = RedactingFilter(Redactor(secrets))
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(log_filter)
    return log_filter
