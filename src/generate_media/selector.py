"""Choose a backend and model for a request: a pure function of (request, registry, settings).

Order: an explicit ``backend`` (and ``model``) if usable; else the backends serving the media type
by priority (``GENERATE_MEDIA_PRIORITY_<TYPE>=a,b`` reorders them), keeping the first that has a
key and a model that can honour the request. When nothing fits: ``missing_key`` naming only the
backends that could serve the request once set up (a key, an extra), and the parameter a set-up
backend would need changed; else (no backend could serve it at all) ``no_backend`` with each reason.
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


def _auto_fit(spec: BackendSpec, req: MediaRequest, settings: Settings) -> tuple[ModelSpec | None, str]:
    """The model ``backend='auto'`` would use on ``spec`` for ``req`` whether or not its key is set,
    else why none fits ('' when the backend has no model of that name: it is not a candidate at all)."""
    if not req.model:
        return _fit(spec, req, settings, auto=True)
    model = spec.media[req.media].model(req.model)
    if model is None:
        return None, ""
    problems = _problems(req, model)
    return (None, problems[0]) if problems else (model, "")


def _made_for(spec: BackendSpec, req: MediaRequest) -> bool:
    """``spec`` has a real model for this kind of request (its operation, with the inputs it needs):
    when it still cannot do it, the reason is a parameter the caller may change, worth naming."""
    return any(
        req.operation in m.operations and not m.placeholder and all(getattr(req, f) for f in m.required)
        for m in spec.media[req.media].models
    )


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
    reasons: list[str] = []  # why each backend cannot do this request
    mismatched: list[str] = []  # ...of those set up and made for this kind of request (a parameter to change)
    need_setup: list[str] = []  # backends that could do it, once their key is set (or extra installed)
    placeholders: list[str] = []  # backends that would make a labelled placeholder if asked by name
    for spec in ordered_backends(registry, req.media, settings):
        if spec.name in exclude:
            reasons.append(f"{spec.name}: already failed this request")
            continue
        unavailable = backend_unavailable(spec, settings)
        model, why = _auto_fit(spec, req, settings)
        if model is not None:
            if unavailable is None:
                return Selection(spec, model)
            need_setup.append(f"{spec.name}: {unavailable}")
        elif why:
            reasons.append(f"{spec.name}: {why}")
            if unavailable is None and _made_for(spec, req):
                mismatched.append(f"{spec.name}: {why}")
            if "placeholder" in why:
                placeholders.append(spec.name)
    what = req.media.value if req.media is not MediaType.AUDIO else f"audio {req.audio_type}"
    if need_setup:
        # One situation, one code: setting a key (or installing an extra) would make this work. Only the
        # backends that could serve the request are named.
        alternative = "".join(f" (or backend={name!r} for a labelled placeholder)" for name in placeholders[:1])
        raise MissingKey(f"no backend set up can make this {what}: {'; '.join(need_setup + mismatched)}{alternative}")
    raise NoBackendAvailable(f"no backend can make this {what}: " + ("; ".join(reasons) or "none serves it"))
