"""Backend discovery: walk ``generate_media.backends`` and collect each module's ``SPEC``.

Importing a backend module must stay cheap: provider SDKs are imported inside the functions
that call them, so building the registry never loads openai, google-genai or elevenlabs.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import Any

from .requests import OPTION_FIELDS, MediaRequest, Taker, request_model
from .spec import BackendSpec, MediaType, ModelSpec, Operation

__all__ = ["Registry", "load_registry"]


@dataclass(frozen=True)
class Registry:
    """The backends, in discovery order, with their implementations."""

    specs: dict[str, BackendSpec]
    modules: dict[str, ModuleType]

    def __iter__(self) -> Iterator[BackendSpec]:
        return iter(self.specs.values())

    def names(self) -> list[str]:
        return list(self.specs)

    def get(self, name: str) -> BackendSpec | None:
        return self.specs.get(name)

    def implementation(self, name: str) -> Any:
        return self.modules[name].BACKEND

    def serving(self, media_type: MediaType) -> list[BackendSpec]:
        return [s for s in self.specs.values() if media_type in s.media]

    def model(self, backend: str, media_type: MediaType, model_id: str) -> ModelSpec | None:
        spec = self.specs.get(backend)
        support = spec.media.get(media_type) if spec else None
        return support.model(model_id) if support else None

    def operations(self) -> list[tuple[MediaType, Operation]]:
        """What the backends do, in people's words: each declared operation that a live model does (not
        a placeholder, not retired) once, by media type then backend (discovery order)."""
        found: dict[tuple[MediaType, Operation], None] = {}
        for media_type in MediaType:
            for spec in self.serving(media_type):
                support = spec.media[media_type]
                live = [m for m in support.models if not m.placeholder and m.status != "retired"]
                done = [op for op in support.operations if any(op.done_by(m) for m in live)]
                found.update(dict.fromkeys((media_type, op) for op in done))
        return list(found)

    def operation_names(self, media_type: MediaType) -> list[str]:
        """What the models of ``media_type`` do, as requests name it (for audio: the ``audio_type`` values)."""
        models = [m for spec in self.serving(media_type) for m in spec.media[media_type].models]
        return list(dict.fromkeys(name for m in models for name in m.operations))

    def options(self) -> dict[str, list[Taker]]:
        """Every option the backends declare, by name, with each model that takes it
        (by media type, then backend in discovery order). Merged once (every call checks against it);
        the caller must not change it."""
        return self._options

    @cached_property
    def _options(self) -> dict[str, list[Taker]]:
        found: dict[str, list[Taker]] = {}
        for media_type in MediaType:
            for spec in self.serving(media_type):
                support = spec.media[media_type]
                for option in support.options:
                    takers = [m for m in support.models if option.name in m.options]
                    found.setdefault(option.name, []).extend(Taker(spec.name, media_type, m, option) for m in takers)
        return found

    def secret_names(self) -> list[str]:
        """Every variable declared secret: the backends' keys and the core's tokens."""
        from .settings import CORE_SETTINGS

        declared = [*CORE_SETTINGS, *(s for spec in self.specs.values() for s in spec.all_settings())]
        return list(dict.fromkeys(s.name for s in declared if s.kind == "secret"))

    @cached_property
    def request_type(self) -> type[MediaRequest]:
        """The request with every declared option as a parameter (see ``requests.request_model``)."""
        return request_model(self.options())


def load_registry(package: str = "generate_media.backends") -> Registry:
    """Import every module of ``package`` that defines ``SPEC`` (modules starting with _ are helpers)."""
    pkg = importlib.import_module(package)
    specs: dict[str, BackendSpec] = {}
    modules: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, BackendSpec) or not spec.media:
            continue
        if spec.name != info.name:
            raise RuntimeError(f"backend module {info.name} declares SPEC.name={spec.name!r}; they must match")
        _check_worded(spec)
        _check_options(spec)
        specs[spec.name] = spec
        modules[spec.name] = module
    return Registry(specs=specs, modules=modules)


#: Model inputs that make an operation of their own for people (a video model that edits a supplied
#: video or extends a continued one): a model taking one must be worded by an Operation that needs it.
_WORDED_INPUTS: dict[MediaType, tuple[str, ...]] = {MediaType.VIDEO: ("input_video", "continuation")}


def _check_worded(spec: BackendSpec) -> None:
    """Every operation a real model does is worded (``MediaSupport.operations``), and every worded one is
    done by a model, so the tool description and the search hint, built from those words, neither leave a
    backend's operation out nor claim one it lacks."""
    for media_type, support in spec.media.items():
        where = f"backend {spec.name} ({media_type.value})"
        real = [m for m in support.models if not m.placeholder]
        worded = {op.name for op in support.operations}
        if missing := sorted({name for m in real for name in m.operations} - worded):
            raise RuntimeError(
                f"{where} does {', '.join(missing)} without saying so in words: "
                "add an Operation for each to its MediaSupport.operations"
            )
        _check_worded_inputs(where, media_type, support.operations, real)
        if idle := [op.what for op in support.operations if not any(op.done_by(m) for m in real)]:
            raise RuntimeError(f"{where} says it can {idle[0]!r}, which none of its models does: remove it")


def _check_worded_inputs(where: str, media_type: MediaType, ops: tuple[Operation, ...], real: list[ModelSpec]) -> None:
    for name in _WORDED_INPUTS.get(media_type, ()):
        if any(getattr(m, name) for m in real) and not any(name in op.needs for op in ops):
            raise RuntimeError(
                f"{where} takes {name} without saying what it does in words: "
                "add an Operation that needs it (such as VIDEO_EDITS) to its MediaSupport.operations"
            )


def _check_options(spec: BackendSpec) -> None:
    """Every option a model names is a core one or declared next to it, and every declared one is taken."""
    for media_type, support in spec.media.items():
        declared = [o.name for o in support.options]
        if dup := sorted({n for n in declared if declared.count(n) > 1}):
            raise RuntimeError(f"backend {spec.name} ({media_type.value}) declares option {dup[0]} twice")
        for model in support.models:
            if unknown := sorted(model.options - set(OPTION_FIELDS) - set(declared)):
                raise RuntimeError(
                    f"{spec.name}/{model.id} takes {', '.join(unknown)}, which {spec.name} does not declare: "
                    "add an Option for each to its MediaSupport.options"
                )
        if idle := [n for n in declared if not any(n in m.options for m in support.models)]:
            raise RuntimeError(f"backend {spec.name} declares option {idle[0]} that no model takes; remove it")
