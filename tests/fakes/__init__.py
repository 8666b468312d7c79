"""Loopback fakes of the providers' HTTP APIs.

Each provider module here defines ``register(fake)`` (its routes and validators) and ``ENV`` (the
base-URL env var our code reads, mapped to the path prefix it serves). :func:`start_fake` walks
the package, so adding a provider fake is one module.
"""

from __future__ import annotations

import importlib
import pkgutil

from .core import FakeServer, Fault, Recorded

__all__ = ["FakeServer", "Fault", "Recorded", "fake_env", "start_fake"]

_HELPERS = {"core", "media", "openapi"}


def _providers() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name in _HELPERS or info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return modules


def start_fake() -> FakeServer:
    fake = FakeServer()
    for module in _providers():
        module.register(fake)
    return fake.start()


def fake_env(fake: FakeServer) -> dict[str, str]:
    """Base-URL env vars pointing every backend at the fake."""
    env: dict[str, str] = {}
    for module in _providers():
        for name, prefix in getattr(module, "ENV", {}).items():
            env[name] = fake.url + prefix
    return env
