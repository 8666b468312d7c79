"""The request model (every tool parameter, documented once) and its checks against a model.

:class:`MediaRequest` holds the parameters the core knows; each backend declares its own options
(:class:`~generate_media.spec.Option`) and :func:`request_model` merges them into one request type
per registry. The MCP tool's input schema and the CLI's options are both derived from that type,
so they cannot drift. :func:`unsupported` answers "can this model honour this request?" with the
reasons it cannot, which the selector uses to filter and the service uses to reject.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from .audio_parts import DialogueTurn, SongSection, parse_sections, parse_speaker_voices, parse_turns
from .config import Limits
from .errors import InvalidRequest, LimitExceeded
from .spec import MediaSupport, MediaType, ModelSpec, Option

__all__ = [
    "CLI_FORMS",
    "KNOWN_FIELDS",
    "OPTION_FIELDS",
    "TAKEN_BY",
    "MediaRequest",
    "Taker",
    "applies",
    "check_known",
    "known_values",
    "option_bounds",
    "parse_request",
    "request_model",
    "unsupported",
    "validate_limits",
]


#: How the terminal takes the structured fields (added to their CLI help; the tool schema stays short).
CLI_FORMS: dict[str, str] = {
    "dialogue": "on the CLI: 'Speaker: text' per turn",
    "speaker_voices": "on the CLI: 'Alice=Kore,Bob=Puck'",
    "sections": "on the CLI: one JSON object per section",
}


class MediaRequest(BaseModel):
    """Arguments of ``generate_media``. Field descriptions are the tool's parameter docs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    if TYPE_CHECKING:  # the backends' declared options are fields of the subclass request_model builds

        def __getattr__(self, name: str) -> Any: ...

    media_type: str = Field("image", description="What to make.")
    prompt: str | None = Field(None, description="What to make; for speech, the exact text to speak.")
    prompts: list[str] | None = Field(None, description="Batch: several prompts, one file each.")
    backend: str = Field("auto", description="Provider; 'auto' picks one with a key set.")
    model: str | None = Field(None, description="Model id (default: the backend's); see `generate-media models`.")
    prefer: Literal["quality", "cost"] | None = Field(None, description="auto: by leaderboard rank or list price.")
    n: int = Field(1, description="Outputs per prompt (per model).")
    input_images: list[str] | None = Field(
        None,
        description="Images to edit or animate: paths, URLs, data URIs.",
    )
    mask: str | None = Field(None, description="Inpainting mask (PNG, transparent = repaint).")
    input_video: str | None = Field(
        None, description="Video to edit (extend: add duration); path, URL, continuation_id."
    )
    continue_from: str | None = Field(None, description="An earlier result's continuation_id, to edit that output.")
    job_id: str | None = Field(
        None,
        description="Resume a pending job (nothing is resubmitted).",
    )
    aspect_ratio: str | None = Field(None, description="Such as 1:1, 16:9, 9:16 (per model).")
    size: str | None = Field(None, description="Size or resolution (per model): 1024x1024, 1K, 2k, 720p...")
    quality: str | None = Field(None, description="Quality tier.")
    output_format: str | None = Field(None, description="Image file format.")
    duration: float | None = Field(None, description="Seconds of video, music or sound effect (per model).")
    last_frame: str | None = Field(None, description="Video: image to end on.")
    reference_images: list[str] | None = Field(None, description="Video: reference images for subject or style.")
    audio_type: str = Field("speech", description="Audio operation (see the description).")
    voice: str | None = Field(None, description="Voice id or name.")
    audio_format: str | None = Field(None, description="Audio format: mp3, wav, opus...")
    input_audio: str | None = Field(None, description="Source audio/video for voice_conversion, isolation or dubbing.")
    voice_samples: list[str] | None = Field(None, description="Audio samples for voice_clone.")
    dialogue: list[DialogueTurn] | None = Field(
        None,
        description="Dialogue script: {speaker, text} turns in order.",
    )
    speaker_voices: dict[str, str] | None = Field(
        None,
        description="Dialogue: {speaker: voice}.",
    )
    sections: list[SongSection] | None = Field(
        None,
        description="Music: a song's sections in order (duration in seconds); the prompt gives the overall style.",
    )
    output_dir: str | None = Field(None, description="Output folder, inside the allowed directories.")
    filename: str | None = Field(None, description="Base file name (the extension is added).")
    max_concurrent: int = Field(4, description="Batch: prompts run at once.")
    wait_s: float | None = Field(
        None, description="Long jobs: seconds to wait before a pending job_id (0: to the end)."
    )
    preview: bool | None = Field(
        None,
        description="Include a small inline image preview (default on; off for a client whose model sees only "
        "structured content, such as Codex).",
    )

    @field_validator("media_type", "backend", "audio_type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("dialogue", mode="before")
    @classmethod
    def _turns(cls, value: Any) -> Any:
        return parse_turns(value)

    @field_validator("speaker_voices", mode="before")
    @classmethod
    def _speaker_voices(cls, value: Any) -> Any:
        return parse_speaker_voices(value)

    @field_validator("sections", mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        return parse_sections(value)

    def options(self) -> dict[str, Any]:
        """The backend-declared options this request sets, by name (see :func:`request_model`)."""
        core = MediaRequest.model_fields
        return {n: v for n in type(self).model_fields if n not in core and (v := getattr(self, n)) is not None}

    @property
    def media(self) -> MediaType:
        return MediaType(self.media_type)

    @property
    def operation(self) -> str:
        return self.audio_type if self.media is MediaType.AUDIO else "generate"

    @property
    def prompt_list(self) -> list[str]:
        if self.dialogue and not self.prompt and not self.prompts:  # the script is what is "said"
            return ["\n".join(f"{turn.speaker}: {turn.text}" for turn in self.dialogue)]
        return list(self.prompts) if self.prompts else [self.prompt or ""]


#: Core fields honoured only when the model lists them in ``ModelSpec.options``: the core loads their
#: files or parses their structure. A backend's own parameters are declared by the backend (``Option``).
OPTION_FIELDS: tuple[str, ...] = (
    "last_frame",
    "input_audio",
    "voice_samples",
    "sections",
)


class Taker(NamedTuple):
    """One model that takes a declared option, with its backend's declaration of it."""

    backend: str
    media: MediaType
    model: ModelSpec
    option: Option

    @property
    def values(self) -> tuple[str, ...]:
        """The strings this model accepts (its ``choices`` narrow the option's ``values``)."""
        return tuple(self.model.choices.get(self.option.name, self.option.values))


def request_model(options: Mapping[str, list[Taker]]) -> type[MediaRequest]:
    """:class:`MediaRequest` with one optional field per declared option (the first declaration's
    type and description).

    Raises:
        RuntimeError: an option reuses a core parameter's name, or two backends give it different types.
    """
    fields: dict[str, Any] = {}
    for name, takers in options.items():
        first = takers[0].option
        if name in MediaRequest.model_fields:
            raise RuntimeError(f"backend {takers[0].backend} declares option {name!r}, a core parameter; rename it")
        if clash := next((t for t in takers if t.option.type is not first.type), None):
            raise RuntimeError(
                f"option {name!r} is a {first.type.__name__} on {takers[0].backend} but a "
                f"{clash.option.type.__name__} on {clash.backend}; declare one type"
            )
        fields[name] = (first.type | None, Field(None, description=first.description))
    if not fields:
        return MediaRequest
    return create_model("MediaRequest", __base__=MediaRequest, __module__=__name__, **fields)


def option_bounds(takers: Iterable[Taker]) -> tuple[float, float] | None:
    """The union of the takers' ranges (None when no taker bounds the option)."""
    ranges = [t.option.range for t in takers if t.option.range is not None]
    return (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None


def _offers(attribute: str) -> Callable[[ModelSpec], bool]:
    return lambda model: bool(getattr(model, attribute))


def _option(name: str) -> Callable[[ModelSpec], bool]:
    return lambda model: name in model.options


#: Fields only some models take, with the capability that says a model takes it. The other fields
#: (prompt, backend, model, output_dir, wait_s...) apply to every request.
TAKEN_BY: dict[str, Callable[[ModelSpec], bool]] = {
    "n": lambda model: model.max_outputs > 1,
    "input_images": lambda model: model.max_input_images > 0,
    "reference_images": lambda model: model.max_reference_images > 0,
    "input_video": _offers("input_video"),
    "mask": _offers("mask"),
    "continue_from": _offers("continuation"),
    "aspect_ratio": _offers("aspect_ratios"),
    "size": _offers("sizes"),
    "quality": _offers("qualities"),
    "output_format": _offers("output_formats"),
    "audio_format": _offers("audio_formats"),
    "duration": lambda model: model.takes_duration,
    "voice": lambda model: model.voices is None or bool(model.voices),
    "audio_type": lambda model: model.operations != ("generate",),
    "dialogue": lambda model: "dialogue" in model.operations,
    "speaker_voices": lambda model: "dialogue" in model.operations,
    **{name: _option(name) for name in OPTION_FIELDS},
}


def applies(field: str, models: Iterable[ModelSpec]) -> bool:
    """Whether some model of ``models`` takes ``field`` (the CLI shows each media type only those)."""
    if field not in MediaRequest.model_fields:  # a declared option
        return any(field in model.options for model in models)
    taken = TAKEN_BY.get(field)
    return taken is None or any(taken(model) for model in models)


def _choice(field: str, values: str) -> Callable[[MediaRequest, ModelSpec], str | None]:
    def check(req: MediaRequest, model: ModelSpec) -> str | None:
        value = getattr(req, field)
        allowed: tuple[str, ...] = getattr(model, values)
        if value is None or value in allowed:
            return None
        if not allowed:
            return f"{model.id} takes no {field}"
        return f"{field}={value!r} is not accepted by {model.id} (accepted: {', '.join(allowed)})"

    return check


def _check_size(req: MediaRequest, model: ModelSpec) -> str | None:
    if req.size is None or req.size in model.sizes or model.pixel_sizes is None:
        return _choice("size", "sizes")(req, model)
    why = model.pixel_sizes.problem(req.size)
    if why is None:
        return None
    named = f"{', '.join(model.sizes)} or " if model.sizes else ""
    return f"size={req.size!r} is not accepted by {model.id}: {why} (accepted: {named}{model.pixel_sizes.describe()})"


def _check_declared(req: MediaRequest, model: ModelSpec, support: MediaSupport | None) -> str | None:
    """A declared option's value outside what this model accepts (its range or values)."""
    for name, value in req.options().items():
        option = support.option(name) if support is not None else None
        if option is None or name not in model.options:
            continue  # _check_options names an option the model does not take
        values = model.choices.get(name)
        if not option.accepts(value, values):
            shown = f"{value:g}" if isinstance(value, float) else repr(value)
            return f"{name}={shown} is not accepted by {model.id} (accepted: {option.accepted(values)})"
    return None


def _check_n(req: MediaRequest, model: ModelSpec) -> str | None:
    if req.n > model.max_outputs:
        return f"n={req.n} exceeds {model.id}'s maximum of {model.max_outputs}"
    return None


def _over_limit(model: ModelSpec, what: str, count: int, limit: int) -> str | None:
    """Why ``count`` files of kind ``what`` are too many for ``model`` (None when within ``limit``)."""
    if count <= limit:
        return None
    if limit == 0:
        return f"{model.id} takes no {what}"
    return f"{count} {what} exceed {model.id}'s limit of {limit}"


def _check_inputs(req: MediaRequest, model: ModelSpec) -> str | None:
    return _over_limit(model, "input images", len(req.input_images or []), model.max_input_images)


def _check_references(req: MediaRequest, model: ModelSpec) -> str | None:
    return _over_limit(model, "reference_images", len(req.reference_images or []), model.max_reference_images)


def _check_input_video(req: MediaRequest, model: ModelSpec) -> str | None:
    return f"{model.id} takes no input_video" if req.input_video and not model.input_video else None


def _check_mask(req: MediaRequest, model: ModelSpec) -> str | None:
    return f"{model.id} does not support inpainting masks" if req.mask and not model.mask else None


def _check_continuation(req: MediaRequest, model: ModelSpec) -> str | None:
    return f"{model.id} does not support continue_from" if req.continue_from and not model.continuation else None


def _check_duration(req: MediaRequest, model: ModelSpec) -> str | None:
    if req.duration is None or model.accepts_duration(req.duration):
        return None
    if not model.takes_duration:
        return f"{model.id} takes no duration"
    return f"duration={req.duration:g} is not accepted by {model.id} (accepted seconds: {model.duration_choices()})"


def _check_voice(req: MediaRequest, model: ModelSpec) -> str | None:
    if req.voice is None or model.voices is None or req.voice in model.voices:
        return None
    if not model.voices:
        return f"{model.id} takes no voice"
    return f"voice={req.voice!r} is not a voice of {model.id} (voices: {', '.join(model.voices)})"


def _check_speakers(req: MediaRequest, model: ModelSpec) -> str | None:
    if not req.dialogue or model.speakers is None:
        return None
    count = len({turn.speaker for turn in req.dialogue})
    low, high = model.speakers
    if low <= count <= high:
        return None
    allowed = f"exactly {low}" if low == high else f"{low} to {high}"
    return f"{model.id} speaks dialogues of {allowed} speakers, this one has {count}"


def _check_operation(req: MediaRequest, model: ModelSpec) -> str | None:
    if req.operation in model.operations:
        return None
    return f"{model.id} does not do {req.operation}"


def _check_required(req: MediaRequest, model: ModelSpec) -> str | None:
    missing = [f for f in model.required if not getattr(req, f, None)]
    if not missing:
        return None
    return f"{model.id} needs {' and '.join(missing)}"


def _check_options(req: MediaRequest, model: ModelSpec) -> str | None:
    given = [f for f in OPTION_FIELDS if getattr(req, f) is not None] + list(req.options())
    extra = [f for f in given if f not in model.options]
    if not extra:
        return None
    return f"{model.id} does not support {', '.join(extra)}"


_CHECKS: tuple[Callable[[MediaRequest, ModelSpec], str | None], ...] = (
    _check_operation,
    _check_required,
    _check_n,
    _check_inputs,
    _check_references,
    _check_input_video,
    _check_mask,
    _check_continuation,
    _choice("aspect_ratio", "aspect_ratios"),
    _check_size,
    _choice("quality", "qualities"),
    _choice("output_format", "output_formats"),
    _choice("audio_format", "audio_formats"),
    _check_duration,
    _check_voice,
    _check_speakers,
    _check_options,
)


def unsupported(req: MediaRequest, model: ModelSpec, support: MediaSupport | None = None) -> list[str]:
    """Every reason ``model`` cannot honour ``req`` (empty when it can); ``support`` (the model's media
    type on its backend) holds the declarations its option values are checked against."""
    reasons = [r for check in _CHECKS if (r := check(req, model))]
    if why := _check_declared(req, model, support):
        reasons.append(why)
    return reasons


#: Core fields whose every accepted value the registry declares: checked before any backend is called,
#: and offered as enums in the tool's input schema (declared options with values are too).
KNOWN_FIELDS: tuple[str, ...] = ("model", "quality", "output_format")


def known_values(models: list[ModelSpec]) -> dict[str, list[str]]:
    """Every value of each known field that some model of ``models`` accepts (declaration order)."""
    values: dict[str, dict[str, None]] = {name: {} for name in KNOWN_FIELDS}  # dicts: ordered sets
    for model in models:
        values["model"][model.id] = None
        values["quality"].update(dict.fromkeys(model.qualities))
        values["output_format"].update(dict.fromkeys(model.output_formats))
    return {name: list(found) for name, found in values.items()}


def _union(takers: list[Taker]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for t in takers for v in t.values))


def _check_option(req: MediaRequest, name: str, value: Any, takers: list[Taker]) -> None:
    """Refuse a declared option's value that no model of the request's media type accepts."""
    media = req.media.value
    if not takers:
        raise InvalidRequest(f"no {media} model takes {name}; remove it")
    if any(t.option.accepts(value, t.values) for t in takers):
        return
    values = _union(takers)
    if values:
        by_index = any(t.option.by_index for t in takers)
        listed = [f"{i}={v}" for i, v in enumerate(values)] if by_index else values  # a name or its index
        raise InvalidRequest(f"{name}={value!r} is not known for media_type={media!r}; use one of: {', '.join(listed)}")
    ranges = dict.fromkeys(t.option.accepted() for t in takers if t.option.range is not None)
    raise InvalidRequest(f"{name}={value:g} is out of range for media_type={media!r}; use {' or '.join(ranges)}")


def check_known(req: MediaRequest, models: list[ModelSpec], options: Mapping[str, list[Taker]] | None = None) -> None:
    """Refuse a value no model of the request's media type accepts, listing the ones that exist.

    ``options`` are the declared options by name with the models that take them (``Registry.options``).

    Raises:
        InvalidRequest: naming the field and its allowed values (before any provider is called).
    """
    if req.job_id:
        return
    known = known_values(models)
    for name in KNOWN_FIELDS:
        value = getattr(req, name)
        if value is None:
            continue
        allowed = known[name]
        if not allowed:
            raise InvalidRequest(f"no {req.media.value} model takes {name}; remove it")
        if value not in allowed:
            raise InvalidRequest(
                f"{name}={value!r} is not known for media_type={req.media.value!r}; use one of: {', '.join(allowed)}"
            )
    for name, value in req.options().items():
        takers = [t for t in (options or {}).get(name, []) if t.media is req.media]
        _check_option(req, name, value, takers)


def parse_request(
    arguments: dict[str, Any],
    *,
    media_types: list[str],
    backends: list[str],
    audio_types: list[str],
    request_type: type[MediaRequest] = MediaRequest,
) -> MediaRequest:
    """Build a request from tool/CLI arguments, turning validation errors into one clear line.

    The accepted values come from the registry: what it serves, its backends, the audio operations
    its models do and ``request_type`` (the request with the backends' options)."""
    args = {k: v for k, v in arguments.items() if v is not None}
    try:
        req = request_type(**args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "arguments"
        if first.get("type") == "extra_forbidden":
            raise InvalidRequest(
                f"unknown parameter {where!r}; see the tool schema for the accepted parameters"
            ) from exc
        raise InvalidRequest(f"{where}: {first.get('msg', 'invalid value')}; fix the value and call again") from exc
    if req.media_type not in media_types:
        raise InvalidRequest(f"media_type={req.media_type!r} is not one of: {', '.join(media_types)}")
    if req.backend != "auto" and req.backend not in backends:
        raise InvalidRequest(f"backend={req.backend!r} is not one of: auto, {', '.join(backends)}")
    if req.media is MediaType.AUDIO and req.audio_type not in audio_types:
        raise InvalidRequest(f"audio_type={req.audio_type!r} is not one of: {', '.join(audio_types)}")
    if req.prefer and (req.backend != "auto" or req.model):
        named = f"model={req.model!r}" if req.model else f"backend={req.backend!r}"
        raise InvalidRequest(f"prefer chooses the backend and model; drop {named} or drop prefer")
    return req


def _check_prompts(req: MediaRequest, limits: Limits) -> None:
    if req.prompt is not None and req.prompts is not None:
        raise InvalidRequest("give either prompt or prompts, not both")
    if req.prompts is not None and not req.prompts:
        raise InvalidRequest("prompts is empty; give at least one prompt")
    if req.prompts is not None and len(req.prompts) > limits.max_batch:
        raise LimitExceeded(
            f"{len(req.prompts)} prompts exceed the batch limit of {limits.max_batch} "
            "(GENERATE_MEDIA_MAX_BATCH); split the batch"
        )
    for text in req.prompt_list:
        if len(text) > limits.max_prompt_chars:
            raise LimitExceeded(
                f"prompt of {len(text)} characters exceeds the limit of {limits.max_prompt_chars} "
                "(GENERATE_MEDIA_MAX_PROMPT_CHARS); shorten it"
            )
        if "\x00" in text:
            raise InvalidRequest("prompt contains a NUL character; remove it")


def _check_numbers(req: MediaRequest, limits: Limits) -> None:
    if "max_concurrent" not in req.model_fields_set:  # the default never exceeds a lower configured limit
        req.max_concurrent = max(1, min(req.max_concurrent, limits.max_concurrent))
    if not 1 <= req.max_concurrent <= min(16, limits.max_concurrent):
        raise InvalidRequest(
            f"max_concurrent must be 1 to {min(16, limits.max_concurrent)} (GENERATE_MEDIA_MAX_CONCURRENT), "
            f"got {req.max_concurrent}"
        )
    if req.n < 1:
        raise InvalidRequest(f"n must be at least 1, got {req.n}")
    if req.duration is not None and req.duration <= 0:
        raise InvalidRequest(f"duration must be a positive number of seconds, got {req.duration:g}")
    if req.wait_s is not None and req.wait_s < 0:
        raise InvalidRequest(f"wait_s must be 0 (wait to the end) or a positive number, got {req.wait_s:g}")
    if req.input_video and req.continue_from:
        raise InvalidRequest("continue_from already names the video to edit; give input_video or continue_from")
    files = len(req.input_images or []) + len(req.reference_images or []) + len(req.voice_samples or [])
    if files > limits.max_input_files:
        raise LimitExceeded(
            f"{files} input files exceed the limit of {limits.max_input_files} (GENERATE_MEDIA_MAX_INPUT_FILES)"
        )


def _check_dialogue(req: MediaRequest) -> None:
    is_dialogue = req.media is MediaType.AUDIO and req.audio_type == "dialogue"
    if not is_dialogue:
        for name in ("dialogue", "speaker_voices"):
            if getattr(req, name) is not None:
                raise InvalidRequest(
                    f"{name} is only for audio_type='dialogue'; remove it or set audio_type='dialogue'"
                )
        return
    if not req.dialogue:
        raise InvalidRequest("audio_type='dialogue' needs dialogue: a list of {speaker, text} turns")
    if req.prompt or req.prompts:
        raise InvalidRequest("a dialogue is spoken from its turns: remove prompt (put the delivery in instructions)")
    if req.voice:
        raise InvalidRequest("a dialogue takes a voice per speaker: use speaker_voices instead of voice")
    missing = sorted({t.speaker for t in req.dialogue} - set(req.speaker_voices or {}))
    if req.speaker_voices is not None and missing:
        raise InvalidRequest(f"speaker_voices has no voice for {', '.join(missing)}; give one voice per speaker")
    extra = sorted(set(req.speaker_voices or {}) - {t.speaker for t in req.dialogue})
    if extra:
        raise InvalidRequest(f"speaker_voices names {', '.join(extra)}, who never speak in the dialogue; remove them")


def validate_limits(req: MediaRequest, limits: Limits) -> None:
    """Checks that do not depend on the model: prompt/prompts, numbers, limits.

    Raises:
        InvalidRequest: naming the parameter and what to change.
        LimitExceeded: naming the limit and its env var.
    """
    if req.job_id:
        return
    _check_prompts(req, limits)
    _check_numbers(req, limits)
    _check_dialogue(req)
    needs_prompt = req.media is not MediaType.AUDIO or req.audio_type in (
        "speech",
        "sound_effect",
        "music",
        "voice_design",
    )
    if req.sections:  # a structured song: the sections are the content, the prompt only the style
        needs_prompt = False
    if needs_prompt and not any(p.strip() for p in req.prompt_list) and not req.input_images:
        raise InvalidRequest("prompt is required: say what to generate")
