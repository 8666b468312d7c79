"""Assemble a provider package's ``SPEC`` and ``BACKEND`` from its per-media modules.

A provider package (``backends/google/``) holds one module per media type it serves. Each such
module declares ``MEDIA`` (a MediaType), ``SUPPORT`` (its MediaSupport) and ``RUN`` (a coroutine
function taking a Call, or a JobRunner for long jobs). Adding video to a provider is adding
``video.py`` to its package: nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace
from typing import Any

from ..spec import BackendSpec, MediaType

__all__ = ["compose"]


def compose(package: str, **spec_fields: Any) -> tuple[BackendSpec, Any]:
    pkg = importlib.import_module(package)
    found: dict[MediaType, Any] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        media = getattr(module, "MEDIA", None)
        if isinstance(media, MediaType):
            found[media] = module
    ordered = [mt for mt in MediaType if mt in found]
    spec = BackendSpec(media={mt: found[mt].SUPPORT for mt in ordered}, **spec_fields)
    impl = SimpleNamespace(**{mt.value: found[mt].RUN for mt in ordered})
    return spec, impl
