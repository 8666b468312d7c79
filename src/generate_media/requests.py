"""The request model (every tool parameter, documented once) and its checks against a model.

The MCP tool's input schema and the CLI's options are both derived from :class:`MediaRequest`,
so they cannot drift. :func:`unsupported` answers "can this model honour this request?" with the
reasons it cannot, which the selector uses to filter and the service uses to reject.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .audio_parts import DialogueTurn, SongSection, parse_sections, parse_speaker_voices, parse_turns
from .config import Limits
from .errors import InvalidRequest, LimitExceeded
from .spec import MediaType, ModelSpec

__all__ = [
    "CLI_FORMS",
    "KNOWN_FIELDS",
    "OPTION_FIELDS",
    "TAKEN_BY",
    "MediaRequest",
    "applies",
    "check_known",
    "known_values",
    "parse_request",
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

    media_type: str = Field("image", description="What to make.")
    prompt: str | None = Field(None, description="What to make; for speech, the exact text to speak.")
    prompts: list[str] | None = Field(None, description="Batch: several prompts, one file each.")
    backend: str = Field("auto", description="Provider; 'auto' picks one with a key set.")
    model: str | None = Field(None, description="Model id (default: the backend's default).")
    n: int = Field(1, description="Outputs per prompt (per model).")
    input_images: list[str] | None = Field(
        None,
        description="Images to edit or animate: paths, file:// or https:// URLs, data URIs.",
    )
    mask: str | None = Field(None, description="Inpainting mask (PNG with transparent areas to repaint).")
    continue_from: str | None = Field(None, description="An earlier result's continuation_id, to edit that output.")
    job_id: str | None = Field(
        None,
        description="Resume a pending job (nothing is resubmitted).",
    )
    aspect_ratio: str | None = Field(None, description="Such as 1:1, 16:9, 9:16 (per model).")
    size: str | None = Field(None, description="Size or resolution (per model): 1024x1024, 1K, 2k, 720p...")
    quality: str | None = Field(None, description="Quality tier.")
    background: str | None = Field(None, description="Image background (OpenAI).")
    output_format: str | None = Field(None, description="Image file format.")
    duration: float | None = Field(None, description="Seconds of video, music or sound effect (per model).")
    negative_prompt: str | None = Field(None, description="What to avoid.")
    seed: int | None = Field(None, description="Seed for repeatable output.")
    last_frame: str | None = Field(None, description="Video: image to end on.")
    reference_images: list[str] | None = Field(None, description="Video: reference images for subject or style.")
    generate_audio: bool | None = Field(None, description="Video: include a soundtrack.")
    audio_type: str = Field("speech", description="Audio operation (see the description).")
    voice: str | None = Field(None, description="Voice id or name.")
    audio_format: str | None = Field(None, description="Audio format: mp3, wav, opus...")
    input_audio: str | None = Field(None, description="Source audio/video for voice_conversion, isolation or dubbing.")
    voice_samples: list[str] | None = Field(None, description="Audio samples for voice_clone.")
    target_language: str | None = Field(None, description="Dubbing target language code (e.g. es, fr, de).")
    source_language: str | None = Field(None, description="Dubbing or speech source language code.")
    speed: float | None = Field(None, description="Speech speed multiplier (OpenAI 0.25 to 4).")
    instructions: str | None = Field(None, description="Speaking style instructions.")
    voice_stability: float | None = Field(None, description="ElevenLabs voice stability, 0 to 1.")
    voice_similarity: float | None = Field(None, description="ElevenLabs voice similarity boost, 0 to 1.")
    prompt_influence: float | None = Field(None, description="Sound effects: how closely to follow the prompt, 0 to 1.")
    loop: bool | None = Field(None, description="Sound effects: make a seamless loop.")
    instrumental: bool | None = Field(None, description="Music: no vocals.")
    voice_name: str | None = Field(None, description="Name for a designed or cloned voice.")
    dialogue: list[DialogueTurn] | None = Field(
        None,
        description="audio_type=dialogue: the script, a list of {speaker, text} turns in order.",
    )
    speaker_voices: dict[str, str] | None = Field(
        None,
        description="audio_type=dialogue: the voice of each speaker, {speaker: voice}.",
    )
    timestamps: bool | None = Field(
        None,
        description="Speech and dialogue: also write word timings (<name>.json, <name>.srt).",
    )
    sections: list[SongSection] | None = Field(
        None,
        description="Music: a structured song, a list of {name, duration (seconds), lyrics, styles} sections in order; "
        "the prompt gives the overall style.",
    )
    style: str | None = Field(None, description="Local image restyle: a style name (or its index).")
    output_dir: str | None = Field(None, description="Directory for the files, inside the allowed directories.")
    filename: str | None = Field(None, description="Base file name; the real extension is added.")
    max_concurrent: int = Field(4, description="Batch: prompts run at once.")
    wait_s: float | None = Field(
        None, description="Long jobs: seconds to wait before a pending job_id (0: to the end)."
    )
    preview: bool | None = Field(None, description="Include a small inline image preview (default on).")

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


#: Fields honoured only when the model lists them in ``ModelSpec.options``.
OPTION_FIELDS: tuple[str, ...] = (
    "background",
    "negative_prompt",
    "seed",
    "last_frame",
    "reference_images",
    "generate_audio",
    "input_audio",
    "voice_samples",
    "target_language",
    "source_language",
    "speed",
    "instructions",
    "voice_stability",
    "voice_similarity",
    "prompt_influence",
    "loop",
    "instrumental",
    "voice_name",
    "style",
    "timestamps",
    "sections",
)


def _offers(attribute: str) -> Callable[[ModelSpec], bool]:
    return lambda model: bool(getattr(model, attribute))


def _option(name: str) -> Callable[[ModelSpec], bool]:
    return lambda model: name in model.options


#: Fields only some models take, with the capability that says a model takes it. The other fields
#: (prompt, backend, model, output_dir, wait_s...) apply to every request.
TAKEN_BY: dict[str, Callable[[ModelSpec], bool]] = {
    "n": lambda model: model.max_outputs > 1,
    "input_images": lambda model: model.max_input_images > 0,
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


def _accepts(name: str, value: str, allowed: tuple[str, ...] | list[str]) -> bool:
    """``value`` is one of ``allowed``; a style may also be given by its index."""
    if value in allowed:
        return True
    return name == "style" and value.isdigit() and int(value) < len(allowed)


def _check_choices(req: MediaRequest, model: ModelSpec) -> str | None:
    for name, allowed in model.choices.items():
        value = getattr(req, name)
        if value is not None and name in model.options and not _accepts(name, value, allowed):
            return f"{name}={value!r} is not accepted by {model.id} (accepted: {', '.join(allowed)})"
    return None


def _check_n(req: MediaRequest, model: ModelSpec) -> str | None:
    if req.n > model.max_outputs:
        return f"n={req.n} exceeds {model.id}'s maximum of {model.max_outputs}"
    return None


def _check_inputs(req: MediaRequest, model: ModelSpec) -> str | None:
    count = len(req.input_images or [])
    if count > model.max_input_images:
        if model.max_input_images == 0:
            return f"{model.id} takes no input images"
        return f"{count} input images exceed {model.id}'s limit of {model.max_input_images}"
    return None


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
    missing = [f for f in model.required if not getattr(req, f)]
    if not missing:
        return None
    return f"{model.id} needs {' and '.join(missing)}"


def _check_options(req: MediaRequest, model: ModelSpec) -> str | None:
    extra = [f for f in OPTION_FIELDS if getattr(req, f) is not None and f not in model.options]
    if not extra:
        return None
    return f"{model.id} does not support {', '.join(extra)}"


_CHECKS: tuple[Callable[[MediaRequest, ModelSpec], str | None], ...] = (
    _check_operation,
    _check_required,
    _check_n,
    _check_inputs,
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
    _check_choices,
)


def unsupported(req: MediaRequest, model: ModelSpec) -> list[str]:
    """Every reason ``model`` cannot honour ``req`` (empty when it can)."""
    return [r for check in _CHECKS if (r := check(req, model))]


#: Fields whose every accepted value the registry declares: checked before any backend is called,
#: and offered as enums in the tool's input schema.
KNOWN_FIELDS: tuple[str, ...] = ("model", "quality", "background", "output_format", "style")


def known_values(models: list[ModelSpec]) -> dict[str, list[str]]:
    """Every value of each known field that some model of ``models`` accepts (declaration order)."""
    values: dict[str, list[str]] = {name: [] for name in KNOWN_FIELDS}
    for model in models:
        found = {
            "model": (model.id,),
            "quality": model.qualities,
            "output_format": model.output_formats,
            "background": model.choices.get("background", ()),
            "style": model.choices.get("style", ()),
        }
        for name, declared in found.items():
            values[name].extend(v for v in declared if v not in values[name])
    return values


def check_known(req: MediaRequest, models: list[ModelSpec]) -> None:
    """Refuse a value no model of the request's media type accepts, listing the ones that exist.

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
        if not _accepts(name, value, allowed):
            listed = [f"{i}={v}" for i, v in enumerate(allowed)] if name == "style" else allowed  # name or index
            raise InvalidRequest(
                f"{name}={value!r} is not known for media_type={req.media.value!r}; use one of: {', '.join(listed)}"
            )


def parse_request(
    arguments: dict[str, Any], *, media_types: list[str], backends: list[str], audio_types: list[str]
) -> MediaRequest:
    """Build a request from tool/CLI arguments, turning validation errors into one clear line.

    The accepted values come from the registry: what it serves, its backends and the audio operations
    its models do."""
    args = {k: v for k, v in arguments.items() if v is not None}
    try:
        req = MediaRequest(**args)
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
