"""Choose a backend and model for a request: a pure function of (request, registry, settings).

Order: an explicit ``backend`` (and ``model``) if usable; else the backends serving the media type
by priority (``GENERATE_MEDIA_PRIORITY_<TYPE>=a,b`` reorders them), keeping the first that has a
key and a model that can honour the request. When nothing fits, the error lists every backend with
the reason it was rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .errors import InvalidRequest, MissingKey, NoBackendAvailable
from .registry import Registry
from .requests import MediaRequest, unsupported
from .spec import BackendSpec, MediaType, ModelSpec

__all__ = ["Selection", "backend_unavailable", "default_model_id", "ordered_backends", "select"]


@dataclass(frozen=True)
class Selection:
    backend: BackendSpec
    model: ModelSpec

    @property
    def name(self) -> str:
        return self.backend.name


def backend_unavailable(spec: BackendSpec, settings: Settings) -> str | None:
    """Why a backend cannot be used at all right now (no key, extra not installed), or None."""
    if spec.env_keys and not settings.api_key(spec.env_keys):
        return f"set {' or '.join(spec.env_keys)}"
    if spec.availability is not None:
        return spec.availability()
    return None


def default_model_id(spec: BackendSpec, media_type: MediaType, settings: Settings) -> str:
    """The backend's default model, overridable by ``GENERATE_MEDIA_<BACKEND>_<TYPE>_MODEL``."""
    override = settings.get(f"GENERATE_MEDIA_{spec.name.upper()}_{media_type.value.upper()}_MODEL")
    return override or spec.media[media_type].default_model


def ordered_backends(registry: Registry, media_type: MediaType, settings: Settings) -> list[BackendSpec]:
    """Backends serving ``media_type``, highest priority first; the env override goes first in its order."""
    serving = sorted(registry.serving(media_type), key=lambda s: -s.media[media_type].priority)
    override = [n.strip() for n in settings.get(f"GENERATE_MEDIA_PRIORITY_{media_type.value.upper()}").split(",")]
    named = [s for n in override for s in serving if s.name == n]
    return named + [s for s in serving if s not in named]


def _candidate_models(spec: BackendSpec, media_type: MediaType, settings: Settings) -> list[ModelSpec]:
    support = spec.media[media_type]
    default = support.model(default_model_id(spec, media_type, settings))
    rest = [m for m in support.models if m is not default and not m.deprecated]
    deprecated = [m for m in support.models if m is not default and m.deprecated]
    return ([default] if default else []) + rest + deprecated


def _problems(req: MediaRequest, model: ModelSpec) -> list[str]:
    """Why ``model`` cannot honour ``req`` here: request mismatches first, then a missing install."""
    problems = unsupported(req, model)
    why = None if problems else model.unavailable()
    return [f"{model.id}: {why}"] if why else problems


def _fit(spec: BackendSpec, req: MediaRequest, settings: Settings, *, auto: bool) -> tuple[ModelSpec | None, str]:
    """The first model of ``spec`` that honours ``req``, else the reason none does."""
    reasons: list[str] = []
    candidates = _candidate_models(spec, req.media, settings)
    # Models made for another operation are not candidates: one line each would bury the real reason.
    doing = [m for m in candidates if req.operation in m.operations]
    if candidates and not doing:
        return None, f"no model does {req.operation}"
    for model in doing:
        if auto and model.placeholder:
            reasons.append(f"{model.id} is a placeholder (only with backend={spec.name!r})")
            continue
        problems = _problems(req, model)
        if not problems:
            return model, ""
        reasons.append(problems[0])
    if not reasons:
        return None, f"no {req.media.value} models"
    return None, reasons[0] if len(reasons) == 1 else "; ".join(dict.fromkeys(reasons))


def _explicit(req: MediaRequest, registry: Registry, settings: Settings) -> Selection:
    spec = registry.get(req.backend)
    if spec is None:
        raise InvalidRequest(f"backend={req.backend!r} is not one of: auto, {', '.join(registry.names())}")
    if req.media not in spec.media:
        serving = ", ".join(s.name for s in registry.serving(req.media)) or "none"
        raise InvalidRequest(f"{spec.name} does not make {req.media.value}; backends that do: {serving}")
    why = backend_unavailable(spec, settings)
    if why:
        error = MissingKey if spec.env_keys else NoBackendAvailable
        raise error(f"{spec.name} is not available: {why}", backend=spec.name)
    if req.model:
        model = spec.media[req.media].model(req.model)
        if model is None:
            ids = ", ".join(m.id for m in spec.media[req.media].models)
            raise InvalidRequest(f"model={req.model!r} is not a {spec.name} {req.media.value} model (models: {ids})")
        problems = _problems(req, model)
        if problems:
            raise InvalidRequest("; ".join(problems), backend=spec.name)
        return Selection(spec, model)
    fit, why = _fit(spec, req, settings, auto=False)
    if fit is None:
        raise InvalidRequest(f"{spec.name} cannot do this: {why}", backend=spec.name)
    return Selection(spec, fit)


def select(
    req: MediaRequest, registry: Registry, settings: Settings, *, exclude: frozenset[str] = frozenset()
) -> Selection:
    """Pick the backend and model for ``req`` (``exclude``: backends that already failed it).

    Raises:
        InvalidRequest: the explicit backend/model cannot honour the request (says why).
        MissingKey: the explicit backend has no key (names the env var).
        NoBackendAvailable: nothing fits; lists every backend with its reason.
    """
    if req.backend != "auto":
        return _explicit(req, registry, settings)
    rejected: list[str] = []
    missing_keys = True
    for spec in ordered_backends(registry, req.media, settings):
        if spec.name in exclude:
            rejected.append(f"{spec.name}: already failed this request")
            continue
        why = backend_unavailable(spec, settings)
        if why:
            rejected.append(f"{spec.name}: {why}")
            continue
        if req.model and spec.media[req.media].model(req.model) is None:
            rejected.append(f"{spec.name}: has no model {req.model!r}")
            continue
        model, why = (spec.media[req.media].model(req.model), "") if req.model else _fit(spec, req, settings, auto=True)
        if model is not None and req.model:
            problems = _problems(req, model)
            model, why = (None, problems[0]) if problems else (model, "")
        if model is None:
            rejected.append(f"{spec.name}: {why}")
            # A backend that only offers placeholders does not make the failure a capability one.
            missing_keys = missing_keys and "placeholder" in why
            continue
        return Selection(spec, model)
    for spec in registry:
        if req.media not in spec.media:
            rejected.append(f"{spec.name}: no {req.media.value} support")
    what = req.media.value if req.media is not MediaType.AUDIO else f"audio {req.audio_type}"
    error = MissingKey if missing_keys else NoBackendAvailable
    raise error(f"no backend can make this {what}: " + "; ".join(rejected))
