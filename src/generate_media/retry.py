"""Retries for transient provider failures: exponential backoff with jitter, honouring Retry-After,
within a per-request deadline. SDK-level retries are switched off so this is the one policy.

:func:`bounded` is the other half: one attempt of a provider call under an overall deadline (SDK
timeouts are per read, so a response dripped a few bytes at a time would never end), with anything
unexpected escaping the backend classified as a bad provider response.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from .errors import BadProviderResponse, GenerateMediaError, ProviderTimeout

__all__ = ["RetryPolicy", "bounded", "retrying"]

log = logging.getLogger("generate_media.retry")

T = TypeVar("T")


class RetryPolicy:
    def __init__(
        self,
        *,
        attempts: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        deadline_s: float = 300.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        scrub: Callable[[GenerateMediaError], object] | None = None,
    ) -> None:
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.deadline_s = deadline_s
        self.sleep = sleep
        self.clock = clock
        self.scrub = scrub  # secrets out of every error before anyone logs or stores it

    def delay(self, attempt: int, error: GenerateMediaError) -> float:
        hinted = getattr(error, "retry_after", None)
        if isinstance(hinted, int | float) and hinted >= 0:
            return float(hinted)  # never earlier than asked; retrying() gives up if it is too long
        backoff = min(self.base_delay * (2**attempt), self.max_delay)
        return backoff * (0.5 + random.random() / 2)


async def retrying(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
) -> T:
    """Run ``fn``; retry retryable errors per ``policy``; re-raise the last error otherwise."""
    start = policy.clock()
    attempt = 0
    while True:
        try:
            return await fn()
        except GenerateMediaError as exc:
            if policy.scrub is not None:
                policy.scrub(exc)
            attempt += 1
            if not exc.retryable or attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt - 1, exc)
            if wait > policy.max_delay or policy.clock() - start + wait > policy.deadline_s:
                raise  # the caller gets the error, with retry_after, instead of a long silent wait
            await policy.sleep(wait)


async def bounded(fn: Callable[[], Awaitable[T]], *, backend: str, deadline_s: float | None) -> T:
    """One attempt of a provider call: ended after ``deadline_s`` however the provider answers.

    The backends translate SDK and HTTP errors at their seams; an exception that still escapes is
    our reading of a 200 whose body was not what the API documents (HTML, ``null``, a list), so it
    becomes a :class:`BadProviderResponse` naming the backend, not an internal error.

    Raises:
        ProviderTimeout: the call took longer than ``deadline_s`` (GENERATE_MEDIA_CALL_DEADLINE_S).
        BadProviderResponse: the backend could not read what the provider sent.
    """
    with anyio.move_on_after(deadline_s if deadline_s and deadline_s > 0 else None):
        try:
            return await fn()
        except GenerateMediaError:
            raise
        except Exception as exc:
            log.warning("%s sent a response that could not be read", backend, exc_info=True)
            raise BadProviderResponse(
                f"{backend} sent a response that could not be read ({type(exc).__name__}); try again",
                backend=backend,
            ) from exc
    raise ProviderTimeout(
        f"{backend} did not finish within {deadline_s:g} s (GENERATE_MEDIA_CALL_DEADLINE_S); try again",
        backend=backend,
    )
