"""Choose a backend and model for a request: a pure function of (request, registry, settings).

Order: an explicit ``backend`` (and ``model``) if usable; else the backends serving the media type
by priority (``GENERATE_MEDIA_PRIORITY_<TYPE>=a,b`` reorders them), keeping the first that has a
key and a model that can honour the request. When nothing fits: ``missing_key`` naming only the
backends that could serve the request once set up (a key, an extra), and the parameter a set-up
backend would need changed; else (no backend could serve it at all) ``no_backend`` with each reason.

Lifecycle: the selector is given the day (``today``, from the service's clock). A model retired on
that day (its declared status, or a shutdown date that has come) is never a candidate, and naming it
explicitly is an error that names its replacement. Deprecated models come after current ones.
``exclude_models`` are (backend, model) pairs the provider answered "model not found" for.

``prefer`` (``quality`` or ``cost``, with ``backend='auto'`` and no ``model``): every current model of
every keyed backend that can serve the request is a candidate, and the best-ranked (by the leaderboard
standings the models declare for the request's task) or the cheapest (by the list price in pricing.py,
for this request) wins; the selection says why. Offline backends (no key) are not candidates: they
serve only when no keyed backend can. Unranked or unpriced models come last, in the usual order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NoReturn

from .config import Settings
from .errors import InvalidRequest, MissingKey, NoBackendAvailable
from .pricing import estimate
from .registry import Registry
from .requests import MediaRequest, unsupported
from .spec import BackendSpec, MediaType, ModelSpec, ask

__all__ = [
    "Selection",
    "backend_unavailable",
    "default_model_id",
    "ordered_backends",
    "select",
    "task_of",
    "utc_today",
]

Pair = tuple[str, str]


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Selection:
    backend: BackendSpec
    model: ModelSpec
    #: Why this model, when ``prefer`` chose it (one line for the result); empty otherwise.
    reason: str = ""

    @property
    def name(self) -> str:
        return self.backend.name


def backend_unavailable(spec: BackendSpec, settings: Settings) -> str | None:
    """Why a backend cannot be used at all right now (no key, extra not installed), or None."""
    if spec.env_keys and not settings.api_key(spec.env_keys):
        return f"set {' or '.join(spec.env_keys)}"
    return ask(spec.availability, settings)


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


def _problems(spec: BackendSpec, req: MediaRequest, model: ModelSpec, settings: Settings) -> list[str]:
    """Why ``model`` cannot honour ``req`` here: request mismatches first, then a missing install or a
    mode the settings leave off."""
    problems = unsupported(req, model, spec.media[req.media])
    why = None if problems else model.unavailable(settings)
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
        problems = _problems(spec, req, model, settings)
        if not problems:
            return model, ""
        reasons.append(problems[0])
    if not reasons:
        return None, f"no {req.media.value} models"
    return None, reasons[0] if len(reasons) == 1 else "; ".join(dict.fromkeys(reasons))


def _replaced_here(model: ModelSpec) -> bool:
    return bool(model.replacement) and not model.replacement_backend


def _auto_fit(
    spec: BackendSpec, req: MediaRequest, settings: Settings, today: date, exclude_models: frozenset[Pair]
) -> tuple[ModelSpec | None, str]:
    """The model ``backend='auto'`` would use on ``spec`` for ``req`` whether or not its key is set,
    else why none fits ('' when the backend has no model of that name: it is not a candidate at all).
    A named model that is retired is refused, naming its replacement."""
    if not req.model:
        default = spec.media[req.media].model(default_model_id(spec, req.media, settings))
        if default is not None and (spec.name, default.id) in exclude_models and not _replaced_here(default):
            # Its default is gone and nothing replaces it here: the next backend, as on the failed call.
            return None, f"{default.id} is no longer served (the provider answered model not found)"
        return _fit(spec, req, settings, today, auto=True, exclude=exclude_models)
    if spec.media[req.media].model(req.model) is None:
        return None, ""
    model = _named(spec, req, today)
    problems = _problems(spec, req, model, settings)
    return (None, problems[0]) if problems else (model, "")


def _made_for(spec: BackendSpec, req: MediaRequest) -> bool:
    """``spec`` has a real model for this kind of request (its operation, with the inputs it needs):
    when it still cannot do it, the reason is a parameter the caller may change, worth naming."""
    return any(
        req.operation in m.operations and not m.placeholder and all(getattr(req, f, None) for f in m.required)
        for m in spec.media[req.media].models
    )


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
        problems = _problems(spec, req, model, settings)
        if problems:
            raise InvalidRequest("; ".join(problems), backend=spec.name)
        return Selection(spec, model)
    fit, why = _fit(spec, req, settings, today, auto=False)
    if fit is None:
        raise InvalidRequest(f"{spec.name} cannot do this: {why}", backend=spec.name)
    return Selection(spec, fit)


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
    if req.prefer and not req.model:
        preferred = _preferred(req, registry, settings, today, exclude, exclude_models)
        if preferred is not None:
            return preferred
    survey = _Survey()
    deferred: Selection | None = None
    for spec in ordered_backends(registry, req.media, settings):
        if spec.name in exclude:
            survey.reasons.append(f"{spec.name}: already failed this request")
            continue
        model = survey.fit(spec, req, settings, today, exclude_models)
        if model is None:
            continue
        if model.status_on(today) == "deprecated" and not req.model:
            # A deprecated model runs only when no keyed backend has a current one.
            deferred = deferred or Selection(spec, model)
            continue
        return deferred if deferred is not None and not spec.env_keys else Selection(spec, model)
    if deferred is not None:
        return deferred
    survey.fail(req)


@dataclass
class _Survey:
    """What ``auto`` learnt of each backend that could not serve the request, for the one error."""

    reasons: list[str] = field(default_factory=list)  # why each backend cannot do this request
    mismatched: list[str] = field(default_factory=list)  # ...set up and made for it (a parameter to change)
    need_setup: list[str] = field(default_factory=list)  # could do it once their key is set (or extra installed)
    placeholders: list[str] = field(default_factory=list)  # would make a labelled placeholder if asked by name

    def fit(
        self, spec: BackendSpec, req: MediaRequest, settings: Settings, today: date, exclude_models: frozenset[Pair]
    ) -> ModelSpec | None:
        """The model ``spec`` would use, when it is set up; else None, with the reason noted."""
        unavailable = backend_unavailable(spec, settings)
        model, why = _auto_fit(spec, req, settings, today, exclude_models)
        if model is not None:
            if unavailable is None:
                return model
            self.need_setup.append(f"{spec.name}: {unavailable}")
        elif why:
            self.reasons.append(f"{spec.name}: {why}")
            if unavailable is None and _made_for(spec, req):
                self.mismatched.append(f"{spec.name}: {why}")
            if "placeholder" in why:
                self.placeholders.append(spec.name)
        return None

    def fail(self, req: MediaRequest) -> NoReturn:
        what = req.media.value if req.media is not MediaType.AUDIO else f"audio {req.audio_type}"
        if self.need_setup:
            # One situation, one code: setting a key (or installing an extra) would make this work. Only the
            # backends that could serve the request are named.
            alternative = "".join(
                f" (or backend={name!r} for a labelled placeholder)" for name in self.placeholders[:1]
            )
            lines = "; ".join(self.need_setup + self.mismatched)
            raise MissingKey(f"no backend set up can make this {what}: {lines}{alternative}")
        raise NoBackendAvailable(f"no backend can make this {what}: " + ("; ".join(self.reasons) or "none serves it"))


# --- prefer: quality or cost ---------------------------------------------------------------------


def task_of(req: MediaRequest) -> str | None:
    """The leaderboard task a request is ranked on (None: no board ranks it)."""
    if req.media is MediaType.VIDEO:
        return "image-to-video" if req.input_images else "text-to-video"
    if req.media is MediaType.IMAGE:
        return "image-edit" if req.input_images or req.continue_from or req.mask else "text-to-image"
    return "speech" if req.operation == "speech" else None


Candidate = tuple[BackendSpec, ModelSpec]


def _candidates(
    req: MediaRequest,
    registry: Registry,
    settings: Settings,
    today: date,
    exclude: frozenset[str],
    exclude_models: frozenset[Pair],
) -> list[Candidate]:
    """Every model of every keyed, set-up backend that can serve ``req``, in the usual order."""
    found: list[Candidate] = []
    for spec in ordered_backends(registry, req.media, settings):
        if spec.name in exclude or not spec.env_keys or backend_unavailable(spec, settings):
            continue
        for model in _candidate_models(spec, req.media, settings, today, exclude_models):
            if req.operation not in model.operations or model.placeholder:
                continue
            if not _problems(spec, req, model, settings):
                found.append((spec, model))
    return found


def _by_quality(found: list[Candidate], task: str | None) -> list[Candidate]:
    """Best first: by the board most candidates stand on (Arena first on a tie), then the next board."""
    if task is None:
        return found
    boards: dict[str, int] = {}
    for _, model in found:
        for standing in model.standings:
            if standing.board.task == task:
                boards[standing.board.name] = boards.get(standing.board.name, 0) + 1
    order = sorted(boards, key=lambda name: (-boards[name], not name.startswith("Arena")))

    def on(model: ModelSpec, board: str) -> Any:
        return next((s for s in model.standings if s.board.name == board and s.board.task == task), None)

    by_score = {board: all(s.score is not None for _, m in found if (s := on(m, board)) is not None) for board in order}

    def key(candidate: Candidate) -> tuple[tuple[int, float], ...]:
        parts = []
        for board in order:
            standing = on(candidate[1], board)
            if standing is None:
                parts.append((1, 0.0))
            elif by_score[board]:
                parts.append((0, -float(standing.score)))
            else:
                parts.append((0, float(standing.rank) if standing.rank is not None else math.inf))
        return tuple(parts)

    return sorted(found, key=key)


def _by_cost(found: list[Candidate], req: MediaRequest) -> list[Candidate]:
    """Cheapest first for this request (its size, quality, duration and length); unknown prices last."""

    def key(candidate: Candidate) -> tuple[bool, float]:
        usd = estimate(candidate[0].name, candidate[1].id, req).usd
        return usd is None, usd or 0.0

    return sorted(found, key=key)


def _why(req: MediaRequest, chosen: Candidate, task: str | None, considered: int) -> str:
    """ "prefer=quality: gpt-image-2 via openai, #3 on Arena text-to-image (2026-09-24), $0.211 per image ..."."""
    spec, model = chosen
    standing = model.standing(task) if task else None
    if task is None:
        rank = f"no leaderboard ranks {req.operation}"
    else:
        rank = standing.text() if standing else f"no standing on a {task} board"
    cost = estimate(spec.name, model.id, req)
    if cost.usd is None:
        price = "price unknown"
    else:
        price = f"${cost.unit_usd:g} per {cost.unit} (read {cost.checked})"
        if cost.units != 1:
            price += f", about ${cost.usd:.4g} for this request"
    first, second = (price, rank) if req.prefer == "cost" else (rank, price)
    best = "cheapest" if req.prefer == "cost" else "best ranked"
    what = f"{best} of {considered} models your keys reach"
    return f"prefer={req.prefer}: {model.id} via {spec.name}, {first}, {second}; {what}"


def _preferred(
    req: MediaRequest,
    registry: Registry,
    settings: Settings,
    today: date,
    exclude: frozenset[str],
    exclude_models: frozenset[Pair],
) -> Selection | None:
    """The best-ranked or cheapest candidate, with the reason; None when no keyed backend can serve it
    (the usual selection then answers, with its usual errors)."""
    found = _candidates(req, registry, settings, today, exclude, exclude_models)
    if not found:
        return None
    current = [c for c in found if c[1].status_on(today) == "current"] or found
    task = task_of(req)
    ranked = _by_cost(current, req) if req.prefer == "cost" else _by_quality(current, task)
    spec, model = ranked[0]
    return Selection(spec, model, reason=_why(req, ranked[0], task, len(current)))
