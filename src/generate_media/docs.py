"""Text derived from the registry: the tool description, the backends listing rows and TOOL.md.

The MCP tool description, ``generate-media backends`` and TOOL.md all come from here, so they
cannot disagree with each other or with the code. TOOL.md depends only on the registry and the
request model (never on the environment), so regenerating it is deterministic:
``generate-media docs --write TOOL.md``.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .config import Settings
from .errors import GenerateMediaError
from .pricing import PRICES, Price
from .registry import Registry
from .requests import OPTION_FIELDS, MediaRequest, Taker
from .selector import backend_unavailable, default_model_id, ordered_backends, select, utc_today
from .settings import CORE_SETTINGS, Setting
from .spec import BackendSpec, MediaType, ModelSpec

__all__ = [
    "BackendRow",
    "backend_rows",
    "capabilities",
    "declared_settings",
    "env_names",
    "search_hint",
    "tool_description",
    "tool_markdown",
    "what_it_does",
]

TOOL_SUMMARY = (
    "Results: file paths, resource links, metadata. To edit a result, pass its continuation_id as continue_from; "
    "to resume a pending one, its job_id."
)

_EXAMPLES: tuple[tuple[MediaType, str, dict[str, object]], ...] = (
    (MediaType.IMAGE, "An image, backend chosen from the keys you have", {"prompt": "a red fox at dawn"}),
    (
        MediaType.IMAGE,
        "Edit the previous result",
        {"prompt": "now make the sky purple", "continue_from": "<continuation_id from the last result>"},
    ),
    (
        MediaType.IMAGE,
        "A batch, three prompts at once",
        {"prompts": ["a cat", "a dog", "an owl"], "aspect_ratio": "1:1", "max_concurrent": 3},
    ),
    (MediaType.VIDEO, "A video (long job: progress, then a file)", {"media_type": "video", "prompt": "waves at dusk"}),
    (MediaType.VIDEO, "Resume a pending video without paying twice", {"job_id": "<job_id from a pending result>"}),
    (MediaType.AUDIO, "Speech (the prompt is the text spoken)", {"media_type": "audio", "prompt": "Hello there!"}),
    (
        MediaType.AUDIO,
        "A two-person dialogue with a voice per speaker (dialogue turns, speaker_voices)",
        {
            "media_type": "audio",
            "audio_type": "dialogue",
            "dialogue": [{"speaker": "Ana", "text": "Ready?"}, {"speaker": "Ben", "text": "Always."}],
            "speaker_voices": {"Ana": "Kore", "Ben": "Puck"},
        },
    ),
    (
        MediaType.AUDIO,
        "A sound effect",
        {"media_type": "audio", "audio_type": "sound_effect", "prompt": "thunder", "duration": 5},
    ),
)


def what_it_does(registry: Registry) -> str:
    """The description's opening: what the tool makes for a person, in the words the backends declare."""
    parts = []
    for media_type in _served(registry):
        ops = [op for mt, op in registry.operations() if mt is media_type]
        if media_type is MediaType.AUDIO:
            phrases = [f"{op.what} ({op.name})" for op in ops]
            parts.append(f"Audio (audio_type): {'; '.join(phrases)}.")
        elif ops:
            parts.append(f"{media_type.value.capitalize()}: {'; '.join(op.what for op in ops)}.")
    return " ".join(["Makes media files for you.", *parts])


def search_hint(registry: Registry) -> str:
    """Words a client's tool search matches requests against (Claude Code reads ``anthropic/searchHint``):
    the media types served, every phrase the backends' operations declare and the file formats their
    models write ("mp3"). Clients match word by word, so a phrase adding no new word is left out."""
    phrases = [mt.value for mt in _served(registry)] + [say for _, op in registry.operations() for say in op.says]
    real = [m for spec in registry for _, m in spec.models() if not m.placeholder]
    phrases += [fmt for m in real for fmt in (*m.output_formats, *m.audio_formats)]
    kept: list[str] = []
    seen: set[str] = set()
    for phrase in phrases:
        words = set(phrase.lower().split())
        if not words <= seen:
            kept.append(phrase)
            seen |= words
    return ", ".join(kept)


def _live_media(spec: BackendSpec) -> str:
    """The media types ``spec`` still serves (a type whose models are all retired is left out)."""
    return ", ".join(
        mt.value for mt in MediaType if mt in spec.media and any(m.status != "retired" for m in spec.media[mt].models)
    )


def tool_description(registry: Registry) -> str:
    """What the tool does, then which key reaches which backend (models are listed in TOOL.md)."""
    backends = "; ".join(
        f"{spec.name} {' or '.join(spec.env_keys) or 'no key'} ({_live_media(spec)})"
        for spec in registry
        if _live_media(spec)
    )
    return "\n".join(
        [
            what_it_does(registry),
            TOOL_SUMMARY,
            f"Backends, keys (backend='auto' picks the first set): {backends}.",
            _cost_line(),
        ]
    )


def _typical_usd(price: Price) -> float:
    """The list price of one ordinary call: one image, or the provider's default clip length."""
    return price.high * (price.default_seconds or 8.0) if price.unit == "second" else price.high


def _cost_line(limit: int = 3) -> str:
    """The expensive calls, from the price table, for the tool description (kept to one line): the costliest
    of each backend, so one provider's range does not crowd out the others."""
    costly = sorted(((k, p) for k, p in PRICES.items() if _typical_usd(p) >= 0.10), key=lambda kp: -_typical_usd(kp[1]))
    first = {backend: (model_id, price) for (backend, model_id), price in reversed(costly)}  # costliest wins
    parts = []
    for model_id, price in sorted(first.values(), key=lambda mp: -_typical_usd(mp[1]))[:limit]:
        per = f"{price.default_seconds or 8.0:g} s" if price.unit == "second" else price.unit
        parts.append(f"{model_id} ~${_typical_usd(price):.2f}/{per}")
    costly_text = f"Costly: {'; '.join(parts)}. " if parts else ""
    return f"{costly_text}Results carry estimated_cost."


def _inputs(model: ModelSpec) -> list[str]:
    """The core inputs a model declares beyond its input images: reference images (up to a limit), a video."""
    refs = [f"reference_images≤{model.max_reference_images}"] if model.max_reference_images else []
    return refs + (["input_video"] if model.input_video else [])


def capabilities(model: ModelSpec) -> list[str]:
    """Short capability notes for one model (what it takes beyond a prompt)."""
    notes: list[str] = []
    if model.operations != ("generate",):
        notes.append("/".join(model.operations))
    if model.max_outputs > 1:
        notes.append(f"n≤{model.max_outputs}")
    if model.max_input_images:
        notes.append(f"{model.max_input_images} input image(s)")
    notes.extend(_inputs(model))
    notes.extend(label for flag, label in ((model.mask, "mask"), (model.continuation, "continue_from")) if flag)
    if model.takes_duration:
        notes.append(f"duration {model.duration_choices()} s")
    if model.speakers is not None:
        low, high = model.speakers
        notes.append(f"{low} speakers" if low == high else f"{low}–{high} speakers")
    notes.extend(sorted(model.options))
    return notes


@dataclass(frozen=True)
class BackendRow:
    backend: str
    media_type: str
    priority: int
    default_model: str
    models: list[str]
    status: str  # "ready" or why not
    key_set: bool
    would_be_chosen: bool
    deprecated: list[str]  # one warning per model deprecated today, with its shutdown date
    retired: list[str]  # models retired today (never chosen), with their replacement
    marks: dict[str, str] = field(default_factory=dict)  # model -> "deprecated, shutdown D" / "retired D"
    capabilities: list[str] = field(default_factory=list)  # of the default model


def _chosen(registry: Registry, media_type: MediaType, settings: Settings, today: date) -> str | None:
    """What ``backend='auto'`` picks now for a plain prompt (the selector itself, so it cannot disagree)."""
    try:
        return select(MediaRequest(media_type=media_type.value, prompt="x"), registry, settings, today=today).name
    except GenerateMediaError:
        return None


def _mark(model: ModelSpec, today: date) -> str:
    status = model.status_on(today)
    if status == "retired":
        return f"retired {model.shutdown_on}" if model.shutdown_on else "retired"
    if status == "deprecated":
        return f"deprecated, shutdown {model.shutdown_on or 'not announced'}"
    return ""


def backend_rows(registry: Registry, settings: Settings, today: date | None = None) -> list[BackendRow]:
    """One row per (backend, media type) on ``today`` (default: now). Shows whether a key is set, never the key."""
    today = today or utc_today()
    rows: list[BackendRow] = []
    for media_type in MediaType:
        order = ordered_backends(registry, media_type, settings)
        chosen = _chosen(registry, media_type, settings, today)
        for spec in order:
            support = spec.media[media_type]
            why = backend_unavailable(spec, settings)
            default = default_model_id(spec, media_type, settings)
            model = support.model(default)
            rows.append(
                BackendRow(
                    backend=spec.name,
                    media_type=media_type.value,
                    priority=support.priority,
                    default_model=default,
                    models=[m.id for m in support.models],
                    status="ready" if why is None else why,
                    key_set=bool(spec.env_keys) and bool(settings.api_key(spec.env_keys)),
                    would_be_chosen=spec.name == chosen,
                    deprecated=[w for m in support.models if (w := m.deprecation_warning(spec.name, today))],
                    retired=[m.retired_message(spec.name) for m in support.models if m.status_on(today) == "retired"],
                    marks={m.id: mark for m in support.models if (mark := _mark(m, today))},
                    capabilities=capabilities(model) if model else [],
                )
            )
    return rows


# --- TOOL.md -------------------------------------------------------------------------------------


def _cell(values: Iterable[object]) -> str:
    text = ", ".join(str(v) for v in values)
    return text.replace("|", "\\|") if text else "—"


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in rows)
    return lines


def _served(registry: Registry) -> list[MediaType]:
    return [mt for mt in MediaType if registry.serving(mt)]


def _yaml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def declared_settings(registry: Registry) -> list[Setting[Any]]:
    """Every environment variable the server reads: the core's, then each backend's (keys first)."""
    return [*CORE_SETTINGS, *(s for spec in registry for s in spec.all_settings())]


def _instances(setting: Setting[Any], registry: Registry) -> list[str]:
    """A pattern's names for this registry (``GENERATE_MEDIA_PRIORITY_<TYPE>`` for each media type served)."""
    if not setting.is_pattern:
        return [setting.name]
    pairs = [(spec.name, mt) for spec in registry for mt in spec.media] if "<BACKEND>" in setting.name else []
    if not pairs:
        pairs = [("", mt) for mt in _served(registry)]
    names = [setting.name.replace("<BACKEND>", b.upper()).replace("<TYPE>", mt.value.upper()) for b, mt in pairs]
    return list(dict.fromkeys(names))


def env_names(registry: Registry) -> list[str]:
    """Every variable name the server reads, patterns spelled out (backends' first), for TOOL.md's front matter."""
    backend = [n for spec in registry for s in spec.all_settings() for n in _instances(s, registry)]
    core = [n for s in CORE_SETTINGS for n in _instances(s, registry)]
    return list(dict.fromkeys([*backend, *core]))


def _frontmatter(registry: Registry) -> list[str]:
    keys = list(dict.fromkeys(k for spec in registry for k in spec.env_keys))
    served = _served(registry)
    keywords = ["mcp", *(f"{mt.value}-generation" for mt in served), *registry.names()]
    keywords += [support.default_model for spec in registry for support in spec.media.values()]
    tasks = [f"Generate {mt.value} ({', '.join(s.name for s in registry.serving(mt))})" for mt in served]
    return [
        "---",
        "name: generate_media",
        f"description: {json.dumps(what_it_does(registry))}",
        "category: multimodal",
        "requires_api_keys: []  # none: the local backend runs offline; any key below adds a provider",
        f"optional_api_keys: {_yaml_list(keys)}",
        f"env: {_yaml_list(env_names(registry))}",
        "tasks:",
        *(f"  - {json.dumps(task)}" for task in tasks),
        f"keywords: {_yaml_list(dict.fromkeys(keywords))}",
        "---",
    ]


def _type_name(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        return f"list[{_type_name(typing.get_args(annotation)[0])}]"
    return str(getattr(annotation, "__name__", annotation))


def _accepted_by(takers: list[Taker]) -> str:
    """Who takes a declared option, with what: ``elevenlabs 0.7 to 1.2, openai 0.25 to 4``."""
    found: dict[str, str] = {}
    for taker in takers:
        values = taker.option.accepted(taker.values)
        found.setdefault(f"{taker.backend} {taker.media.value}", values)
    return ", ".join(f"{who} ({values})" if values else who for who, values in found.items())


def _parameters(registry: Registry) -> list[str]:
    rows = []
    declared = registry.options()
    for name, info in registry.request_type.model_fields.items():
        default = "" if info.default is None else json.dumps(info.default)
        note = " Model option: only models listing it accept it." if name in OPTION_FIELDS else ""
        if name in declared:
            note = f" Model option: {_accepted_by(declared[name])}."
        rows.append([f"`{name}`", _type_name(info.annotation), default or "—", (info.description or "") + note])
    return ["## Parameters", "", "Every parameter is optional.", "", *_table(["name", "type", "default", "what"], rows)]


def _backends(registry: Registry) -> list[str]:
    rows = []
    for spec in registry:
        media = ", ".join(f"{mt.value} (priority {s.priority})" for mt, s in spec.media.items())
        keys = " or ".join(f"`{k}`" for k in spec.env_keys) or "none (offline)"
        url = f"`{spec.base_url_env}`" if spec.base_url_env else "—"
        rows.append([f"`{spec.name}`", spec.title, media, keys, url, spec.docs_url or "—"])
    return ["## Backends", "", *_table(["backend", "provider", "media", "key", "base URL env", "docs"], rows)]


def _lifecycle(backend: str, model: ModelSpec) -> str:
    """The declared lifecycle in words (deterministic: dates, not "today")."""
    dates = [f"deprecated {model.deprecated_on}"] if model.deprecated_on else []
    dates += [f"shutdown {model.shutdown_on}"] if model.shutdown_on else []
    if model.status == "current" and not dates:
        return ""
    status = "retired" if model.status == "retired" else "deprecated" if model.status == "deprecated" else ""
    when = ", ".join(dates)
    text = f"{status} ({when})" if status and when else status or when
    return f"{text}; replacement {model.replacement_ref(backend)}"


def _status(backend: str, support_default: str, model: ModelSpec) -> str:
    marks = ["**default**"] if model.id == support_default else []
    if lifecycle := _lifecycle(backend, model):
        marks.append(lifecycle)
    if model.placeholder:
        marks.append("placeholder (only with an explicit backend)")
    if getattr(model, "required", ()):
        marks.append("requires " + ", ".join(model.required))
    if model.notes:
        marks.append(model.notes)
    return "; ".join(marks) or "—"


def _model_row(backend: str, default: str, m: ModelSpec) -> list[str]:
    formats = [*m.output_formats, *m.audio_formats]
    voices = "any (provider list)" if m.voices is None else _cell(m.voices)
    return [
        f"`{m.id}`",
        _cell(m.operations),
        str(m.max_outputs),
        str(m.max_input_images),
        "yes" if m.mask else "—",
        "yes" if m.continuation else "—",
        _cell(m.aspect_ratios),
        _cell([*m.sizes, *([m.pixel_sizes.describe()] if m.pixel_sizes else []), *m.qualities]),
        m.duration_choices() if m.takes_duration else "—",
        _cell(formats),
        voices,
        _cell([*_inputs(m), *sorted(m.options)]),
        _status(backend, default, m),
    ]


_MODEL_HEADER = [
    "model",
    "operations",
    "max n",
    "input images",
    "mask",
    "continue_from",
    "aspect ratios",
    "sizes / qualities",
    "durations (s)",
    "formats",
    "voices",
    "options",
    "status",
]


def _models(registry: Registry) -> list[str]:
    lines = ["## Models and capabilities", ""]
    for spec in registry:
        for mt, support in spec.media.items():
            lines += [f"### {spec.name}: {mt.value}", ""]
            lines += _table(_MODEL_HEADER, (_model_row(spec.name, support.default_model, m) for m in support.models))
            lines.append("")
    return lines[:-1]


def _priorities(registry: Registry) -> list[str]:
    rows = []
    for mt in _served(registry):
        order = sorted(registry.serving(mt), key=lambda s: -s.media[mt].priority)
        chain = " → ".join(f"{s.name} ({s.media[mt].priority})" for s in order)
        rows.append([mt.value, chain, f"`GENERATE_MEDIA_PRIORITY_{mt.value.upper()}`"])
    intro = (
        "With `backend='auto'` the first backend in this order that has its key set and a model able to honour "
        "the request is used; on a transient or capacity failure the next one is tried."
    )
    return ["## Selection order", "", intro, "", *_table(["media", "order (priority)", "override"], rows)]


def _asked_for(registry: Registry) -> list[str]:
    rows = [[mt.value, f"`{op.name}`", op.what, _cell(op.says)] for mt, op in registry.operations()]
    intro = (
        "What each backend declares it does, in the words people use. The tool description opens with these, "
        "and clients that search tools by words (Claude Code's `anthropic/searchHint`) match requests against them."
    )
    return ["## What it does", "", intro, "", *_table(["media", "operation", "what", "words"], rows)]


def _audio_operations(registry: Registry) -> list[str]:
    rows = []
    for op in registry.operation_names(MediaType.AUDIO):
        found = [
            f"{spec.name}/{m.id}"
            for spec in registry
            for mt, m in spec.models()
            if mt is MediaType.AUDIO and op in m.operations
        ]
        rows.append([f"`{op}`", _cell(found)])
    return ["## Audio operations", "", *_table(["audio_type", "backend/model"], rows)]


_LIFECYCLE_INTRO = (
    "Retired models are never chosen, and naming one is an error that names its replacement. Deprecated models "
    "still run, after current ones, and every result they make carries a warning with the shutdown date. On its "
    "shutdown date a model stops being used, with no new release. A provider answering 'model not found' makes "
    "`auto` try the replacement or the next backend (with a warning) and skip that model for a day."
)


def _lifecycle_rows(registry: Registry) -> list[list[str]]:
    rows = []
    for spec in registry:
        for _, m in spec.models():
            if m.status == "current" and not (m.deprecated_on or m.shutdown_on):
                continue
            rows.append(
                [
                    f"`{spec.name}/{m.id}`",
                    m.status,
                    m.deprecated_on or "—",
                    m.shutdown_on or "—",
                    m.replacement_ref(spec.name),
                    "; ".join(part for part in (m.lifecycle_note, m.source) if part) or "—",
                    m.checked or "—",
                ]
            )
    return rows


def _flagged(registry: Registry) -> list[str]:
    header = ["model", "status", "deprecated", "shutdown", "replacement", "source", "checked"]
    rows = _lifecycle_rows(registry)
    placeholders = [f"- `{s.name}/{m.id}`" for s in registry for _, m in s.models() if m.placeholder]
    lifecycle = [_LIFECYCLE_INTRO, "", *_table(header, rows)] if rows else ["None."]
    lines = ["## Model lifecycle", "", *lifecycle, "", "## Placeholders", ""]
    note = "Placeholder models make stand-in output (marked `placeholder: true`) and are never chosen by 'auto':"
    return lines + ([note, "", *placeholders] if placeholders else ["None."])


def _prices(registry: Registry) -> list[str]:
    """Every declared model's published price with the date it was read; unknown stays unknown."""
    rows = []
    for spec in registry:
        if not spec.env_keys:
            continue  # offline backends cost nothing
        for mt, model in spec.models():
            price = PRICES.get((spec.name, model.id))
            if price is None:
                rows.append([f"`{spec.name}/{model.id}`", mt.value, "unknown", "—", "—", "—"])
                continue
            tiers = ", ".join(f"{k}: ${v:g}" for k, v in price.usd.items()) if price.by else f"${price.high:g}"
            note = f"{price.source}" + (f" ({price.note})" if price.note else "")
            rows.append([f"`{spec.name}/{model.id}`", mt.value, f"per {price.unit}", tiers, price.checked, note])
    intro = (
        "List prices per unit as published by the provider, with the date they were read. Results carry "
        "`estimated_cost` computed from them; `GENERATE_MEDIA_BUDGET_USD` caps each client's estimated spend per "
        "UTC day. Unknown means no per-unit price was published or confirmed: such calls are not counted."
    )
    header = ["backend/model", "media", "unit", "price (USD)", "read on", "source"]
    return ["## Prices", "", intro, "", *_table(header, rows)]


def _standings(registry: Registry) -> list[str]:
    """Every declared leaderboard standing, with the board's snapshot date: what ``prefer='quality'`` ranks by."""
    rows = [
        [f"`{spec.name}/{model.id}`", st.board.name, f"#{st.rank}" if st.rank else "—",
         f"{st.score:g}" if st.score else "—", st.board.snapshot, st.note or "—"]
        for spec in registry
        for _, model in spec.models()
        for st in model.standings
    ]  # fmt: skip
    intro = (
        "Where declared models stand on the public human-preference boards (Arena, Artificial Analysis), as dated "
        "snapshots. `prefer='quality'` picks the best-ranked model your keys reach for the request's task "
        "(text-to-video, image-to-video, text-to-image, image-edit, speech); `prefer='cost'` the cheapest by the "
        "prices above; the result's `chosen` says which and why. Models released after a snapshot are unranked."
    )
    header = ["backend/model", "board", "rank", "score", "snapshot", "listed as"]
    return ["## Leaderboard standings", "", intro, "", *_table(header, rows)]


def _examples(registry: Registry) -> list[str]:
    lines = ["## Examples", ""]
    served = set(_served(registry))
    for mt, title, args in _EXAMPLES:
        if mt in served:
            lines += [f"{title}:", "", "```json", json.dumps(args), "```", ""]
    return lines[:-1]


def _setting_row(setting: Setting[Any]) -> list[str]:
    return [f"`{setting.name}`", setting.kind, setting.shown_default, setting.what]


def _settings(registry: Registry) -> list[str]:
    example = next((f"{s.name}_{mt.value}" for s in registry for mt in s.media if s.env_keys), "local_image").upper()
    intro = (
        "Every environment variable the server reads, all optional; read once at startup. Names in `<...>` "
        f"stand for a backend name or media type in capitals (`GENERATE_MEDIA_{example}_MODEL`). Flags take "
        "1/true/yes/on; a limit is named in the error that enforces it."
    )
    core = _table(["env var", "type", "default", "what"], (_setting_row(s) for s in CORE_SETTINGS))
    own = [[f"`{spec.name}`", *_setting_row(s)] for spec in registry for s in spec.all_settings()]
    backend = _table(["backend", "env var", "type", "default", "what"], own)
    return ["## Settings", "", intro, "", *core, "", "### Backend settings", "", *backend]


def tool_markdown(registry: Registry) -> str:
    """TOOL.md: the user-facing reference of ``generate_media``, generated from the registry."""
    sections = [
        _frontmatter(registry),
        [
            "# generate_media",
            "",
            "<!-- Generated from the backend registry by `generate-media docs --write TOOL.md`; do not edit. -->",
            "",
            what_it_does(registry),
            "",
            TOOL_SUMMARY,
        ],
        _asked_for(registry),
        _parameters(registry),
        _backends(registry),
        _priorities(registry),
        _models(registry),
        _audio_operations(registry),
        _flagged(registry),
        _prices(registry),
        _standings(registry),
        _examples(registry),
        _settings(registry),
    ]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"
