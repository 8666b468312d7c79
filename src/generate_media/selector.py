"""Choose a backend and model for a request: a pure function of (request, registry, settings).

Order: an explicit ``backend`` (and ``model``) if usable; else the backends serving the media type
by priority (``GENERATE_MEDIA_PRIORITY_<TYPE>=a,b`` reorders them), keeping the first that has a
key and a model that can honour the request. When nothing fits, the error lists every backend with
the reason it was rejected.

Lifecycle: the selector is given the day (``today``, from the service's clock). A model retired on
that day (its declared status, or a shutdown date that has come) is never a candidate, and naming it
explicitly is an error that names its replacement. Deprecated models come after current ones.
``exclude_models`` are (backend, model) pairs the provider answered "model not found" for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from .config import Settings
from .errors import InvalidRequest, MissingKey, NoBackendAvailable
from .registry import Registry
from .requests import MediaRequest, unsupported
from .spec import BackendSpec, MediaType, ModelSpec

__all__ = ["Selection", "backend_unavailable", "default_model_id", "ordered_backends", "select", "utc_today"]

Pair = tuple[str, str]


def utc_today() -> date:
    return datetime.now(UTC).date()


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


def _candidate_models(
    spec: BackendSpec, media_type: MediaType, settings: Settings, today: date, exclude: frozenset[Pair] = frozenset()
) -> list[ModelSpec]:
    """The default first, then current models, then deprecated ones; never a retired or excluded one.

    A default that is deprecated keeps its place (the operator chose it); a retired default gives
    way to its declared replacement, ahead of the rest."""
    support = spec.media[media_type]
    live = [m for m in support.models if m.status_on(today) != "retired" and (spec.name, m.id) not in exclude]
    chosen = support.model(default_model_id(spec, media_type, settings))
    first: list[ModelSpec] = []
    if chosen is not None and chosen in live:
        first = [chosen]
    elif chosen is not None and chosen.replacement and not chosen.replacement_backend:
        first = [m for m in live if m.id == chosen.replacement]
    rest = [m for m in live if m not in first and m.status_on(today) == "current"]
    deprecated = [m for m in live if m not in first and m not in rest]
    return first + rest + deprecated


def _problems(req: MediaRequest, model: ModelSpec) -> list[str]:
    """Why ``model`` cannot honour ``req`` here: request mismatches first, then a missing install."""
    problems = unsupported(req, model)
    why = None if problems else model.unavailable()
    return [f"{model.id}: {why}"] if why else problems


def _retired_reason(spec: BackendSpec, req: MediaRequest, today: date) -> str | None:
    """When every model of ``spec`` doing this operation is retired: the first one's one-line story."""
    doing = [m for m in spec.media[req.media].models if req.operation in m.operations]
    if doing and all(m.status_on(today) == "retired" for m in doing):
        return doing[0].retired_message(spec.name)
    return None


def _fit(
    spec: BackendSpec,
    req: MediaRequest,
    settings: Settings,
    today: date,
    *,
    auto: bool,
    exclude: frozenset[Pair] = frozenset(),
) -> tuple[ModelSpec | None, str]:
    """The first model of ``spec`` that honours ``req``, else the reason none does."""
    reasons: list[str] = []
    candidates = _candidate_models(spec, req.media, settings, today, exclude)
    # Models made for another operation are not candidates: one line each would bury the real reason.
    doing = [m for m in candidates if req.operation in m.operations]
    if not doing and (retired := _retired_reason(spec, req, today)):
        return None, retired
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


def _named(spec: BackendSpec, req: MediaRequest, today: date) -> ModelSpec:
    """The model the request names on ``spec``, refused when it is retired on ``today``."""
    model = spec.media[req.media].model(req.model or "")
    if model is None:
        ids = ", ".join(m.id for m in spec.media[req.media].models if m.status_on(today) != "retired")
        raise InvalidRequest(f"model={req.model!r} is not a {spec.name} {req.media.value} model (models: {ids})")
    if model.status_on(today) == "retired":
        raise InvalidRequest(model.retired_message(spec.name), backend=spec.name)
    return model


def _explicit(req: MediaRequest, registry: Registry, settings: Settings, today: date) -> Selection:
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
        model = _named(spec, req, today)
        problems = _problems(req, model)
        if problems:
            raise InvalidRequest("; ".join(problems), backend=spec.name)
        return Selection(spec, model)
    fit, why = _fit(spec, req, settings, today, auto=False)
    if fit is None:
        raise InvalidRequest(f"{spec.name} cannot do this: {why}", backend=spec.name)
    return Selection(spec, fit)


def _replaced_here(model: ModelSpec) -> bool:
    return bool(model.replacement) and not model.replacement_backend


def _skip(spec: BackendSpec, req: MediaRequest, settings: Settings, exclude: frozenset[str]) -> str | None:
    """Why ``auto`` passes over ``spec`` before looking at its models, or None."""
    if spec.name in exclude:
        return "already failed this request"
    why = backend_unavailable(spec, settings)
    if why:
        return why
    if req.model and spec.media[req.media].model(req.model) is None:
        return f"has no model {req.model!r}"
    return None


def _auto_pick(
    spec: BackendSpec, req: MediaRequest, settings: Settings, today: date, exclude_models: frozenset[Pair]
) -> tuple[ModelSpec | None, str]:
    if not req.model:
        default = spec.media[req.media].model(default_model_id(spec, req.media, settings))
        if default is not None and (spec.name, default.id) in exclude_models and not _replaced_here(default):
            # Its default is gone and nothing replaces it here: the next backend, as on the failed call.
            return None, f"{default.id} is no longer served (the provider answered model not found)"
        return _fit(spec, req, settings, today, auto=True, exclude=exclude_models)
    model = _named(spec, req, today)  # a named retired model is refused, naming its replacement
    problems = _problems(req, model)
    return (None, problems[0]) if problems else (model, "")


def select(
    req: MediaRequest,
    registry: Registry,
    settings: Settings,
    *,
    exclude: frozenset[str] = frozenset(),
    exclude_models: frozenset[Pair] = frozenset(),
    today: date | None = None,
) -> Selection:
    """Pick the backend and model for ``req`` on ``today`` (default: the UTC date now).

    ``exclude``: backends that already failed it; ``exclude_models``: (backend, model) pairs the
    provider said it no longer serves.

    Raises:
        InvalidRequest: the explicit backend/model cannot honour the request, or is retired (says why).
        MissingKey: the explicit backend has no key (names the env var).
        NoBackendAvailable: nothing fits; lists every backend with its reason.
    """
    today = today or utc_today()
    if req.backend != "auto":
        return _explicit(req, registry, settings, today)
    rejected: list[str] = []
    missing_keys = True
    deferred: Selection | None = None
    for spec in ordered_backends(registry, req.media, settings):
        why = _skip(spec, req, settings, exclude)
        if why:
            rejected.append(f"{spec.name}: {why}")
            continue
        model, why = _auto_pick(spec, req, settings, today, exclude_models)
        if model is None:
            rejected.append(f"{spec.name}: {why}")
            # A backend that only offers placeholders does not make the failure a capability one.
            missing_keys = missing_keys and "placeholder" in why
            continue
        if model.status_on(today) == "deprecated" and not req.model:
            # A deprecated model runs only when no keyed backend has a current one.
            deferred = deferred or Selection(spec, model)
            continue
        return deferred if deferred is not None and not spec.env_keys else Selection(spec, model)
    if deferred is not None:
        return deferred
    for spec in registry:
        if req.media not in spec.media:
            rejected.append(f"{spec.name}: no {req.media.value} support")
    what = req.media.value if req.media is not MediaType.AUDIO else f"audio {req.audio_type}"
    error = MissingKey if missing_keys else NoBackendAvailable
    raise error(f"no backend can make this {what}: " + "; ".join(rejected))
