"""CPU work off the event loop, and the local backend's one error translation seam."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from ...errors import GenerateMediaError, NoBackendAvailable, ProviderError
from ._probe import EXTRA_FIX

__all__ = ["in_thread", "translate"]

T = TypeVar("T")


def translate(exc: BaseException, what: str) -> GenerateMediaError:
    """A library failure as one of ours: a missing import says how to install, anything else says what broke."""
    if isinstance(exc, GenerateMediaError):
        return exc
    if isinstance(exc, ImportError):
        name = getattr(exc, "name", None) or str(exc)
        return NoBackendAvailable(f"local {what} is not installed ({name} missing): {EXTRA_FIX}", backend="local")
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ProviderError(
        f"local {what} failed ({type(exc).__name__}: {detail}); check the inputs and try again", backend="local"
    )


async def in_thread(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a worker thread (models and encoders block), translating its failures."""
    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
    except Exception as exc:
        raise translate(exc, what) from exc
