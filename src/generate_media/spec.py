"""What a backend declares about itself, and the protocol it implements.

A backend module (``backends/<name>.py``) exports ``SPEC: BackendSpec`` and ``BACKEND``, an object
with one coroutine per media type it serves (``image``, ``audio``) or, for long jobs, a
``video`` attribute implementing :class:`JobRunner`. The registry, selector, tool schema,
TOOL.md and the ``backends`` listing are all derived from these declarations.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .client_registry import ClientRegistry
from .settings import Setting

if TYPE_CHECKING:  # the types a backend is handed; those modules build on this one
    from .config import Settings
    from .inputs import LoadedFile
    from .requests import MediaRequest
    from .stores import ContinuationRecord

__all__ = [
    "ANIMATE",
    "AUDIO_ISOLATION",
    "DIALOGUE",
    "DUBBING",
    "LIFECYCLE_STATUSES",
    "MUSIC",
    "PICTURES",
    "SOUND_EFFECTS",
    "SPEECH",
    "VIDEO_CLIPS",
    "VIDEO_EDITS",
    "VOICE_CLONE",
    "VOICE_CONVERSION",
    "VOICE_DESIGN",
    "BackendSpec",
    "Board",
    "Call",
    "Endpoint",
    "JobState",
    "JobStatus",
    "MediaSupport",
    "MediaType",
    "ModelSpec",
    "Operation",
    "Option",
    "PixelSizes",
    "Produced",
    "Standing",
    "ask",
]

#: A model's lifecycle status, as declared: ``current``, ``deprecated`` (works, shutdown announced or
#: expected) or ``retired`` (the provider no longer serves it).
LIFECYCLE_STATUSES: tuple[str, ...] = ("current", "deprecated", "retired")


class MediaType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class Operation:
    """Something a backend does for a person, named as the request names it and worded as people ask.

    ``name`` is the request's operation: the ``audio_type`` for audio, "generate" for images and video.
    ``what`` is a short phrase for the opening of the tool description ("read text aloud"); ``says``
    holds the words people use for it ("text to speech", "narration", "voiceover"). A backend lists
    what it does in ``MediaSupport.operations``; the tool description and the search hint clients match
    requests against are built from those declarations, so a backend with a new operation declares
    its words next to it and nothing else changes.

    ``needs`` names model inputs (``ModelSpec`` fields) of which a model must take one to do it:
    animating a picture needs input images, editing or extending a video ``input_video`` or a continued
    clip. Only what a live model does is said: see :meth:`done_by`.
    """

    name: str
    what: str
    says: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    def done_by(self, model: ModelSpec) -> bool:
        """Whether ``model`` does this: it has the operation and, if any are named, one of the inputs."""
        return self.name in model.operations and (not self.needs or any(getattr(model, f) for f in self.needs))


# The operations several backends share, worded once. A backend with something of its own declares
# its Operation in its module (the local backend's upscale and restyle do).
PICTURES = Operation(
    "generate",
    "create or edit a picture, photo, illustration or logo",
    ("image", "picture", "photo", "illustration", "logo", "drawing", "art", "icon", "edit my photo", "inpainting"),
)
VIDEO_CLIPS = Operation("generate", "make a video clip", ("video", "clip", "movie", "footage", "text to video"))
ANIMATE = Operation(
    "generate", "animate a picture", ("animate a picture", "image to video"), needs=("max_input_images",)
)
VIDEO_EDITS = Operation(
    "generate",
    "edit or extend a video",
    ("edit a video", "extend a video", "continue a clip", "make it longer", "lengthen", "video to video"),
    needs=("input_video", "continuation"),
)
SPEECH = Operation(
    "speech",
    "read text aloud",
    (
        "speech",
        "text to speech",
        "convert text to speech",
        "tts",
        "read aloud",
        "narrate",
        "narration",
        "voiceover",
        "speak",
    ),
)
DIALOGUE = Operation(
    "dialogue", "a conversation between voices", ("dialogue", "conversation", "podcast", "several voices")
)
SOUND_EFFECTS = Operation("sound_effect", "sound effects", ("sound effects", "sound effect", "sfx", "foley"))
MUSIC = Operation(
    "music",
    "songs, background music",
    ("music", "song", "jingle", "background music", "soundtrack", "melody", "beat", "compose"),
)
VOICE_CONVERSION = Operation(
    "voice_conversion", "change a voice", ("voice changer", "change a voice", "speech to speech")
)
AUDIO_ISOLATION = Operation(
    "audio_isolation",
    "remove noise, extract vocals",
    ("noise removal", "remove background noise", "isolate vocals", "extract vocals", "denoise"),
)
VOICE_DESIGN = Operation("voice_design", "design a voice", ("voice design", "new voice"))
VOICE_CLONE = Operation("voice_clone", "clone a voice", ("voice cloning", "clone a voice"))
DUBBING = Operation(
    "dubbing", "dub into another language", ("dubbing", "dub", "translation of speech", "translate a video")
)


@dataclass(frozen=True)
class PixelSizes:
    """Custom ``WIDTHxHEIGHT`` sizes a model accepts besides its named ``sizes``: both edges a
    multiple of ``multiple``, the long edge at most ``max_edge``, at most ``max_pixels`` pixels and
    an aspect ratio no wider than ``max_ratio``:1 either way."""

    multiple: int
    max_edge: int
    max_pixels: int
    max_ratio: float
    min_pixels: int = 0

    def problem(self, size: str) -> str | None:
        """Why ``size`` (``"WxH"``) is not accepted, or None. Not ``WxH`` at all is a problem too."""
        width, sep, height = size.lower().partition("x")
        if not sep or not width.isdigit() or not height.isdigit() or not int(width) or not int(height):
            return "not a WIDTHxHEIGHT size"
        w, h = int(width), int(height)
        if w % self.multiple or h % self.multiple:
            return f"width and height must be multiples of {self.multiple}"
        if max(w, h) > self.max_edge or w * h > self.max_pixels:
            return f"larger than the maximum ({self.max_edge} px edge, {self.max_pixels:,} pixels)"
        if w * h < self.min_pixels:
            return f"smaller than the minimum ({self.min_pixels:,} pixels)"
        if max(w, h) > self.max_ratio * min(w, h):
            return f"aspect ratio beyond 1:{self.max_ratio:g} or {self.max_ratio:g}:1"
        return None

    def describe(self) -> str:
        return (
            f"WxH: multiples of {self.multiple}, edge ≤{self.max_edge}, ≤{self.max_pixels:,} px, "
            f"ratio within 1:{self.max_ratio:g}–{self.max_ratio:g}:1"
        )


def ask(check: Callable[..., str | None] | None, settings: Any) -> str | None:
    """An availability check's answer: ``check(settings)``, or ``check()`` for one that reads no settings."""
    if check is None:
        return None
    try:
        takes = bool(inspect.signature(check).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        takes = False
    return check(settings) if takes else check()


@dataclass(frozen=True)
class Option:
    """A request parameter a backend adds to the tool: its name, type, accepted values and words.

    A backend lists its options in ``MediaSupport.options`` (next to the models of that media type); a
    model takes one when its ``ModelSpec.options`` names it (its ``choices`` may narrow ``values``). The tool's input
    schema, the CLI flags, TOOL.md and validation are merged from these declarations over the
    registry, so adding an option touches only the backend that declares it. Options of the same
    name from several backends must agree on the type; the first declaration's description is the
    tool's (shared ones are worded once in ``backends/_options.py``), and the accepted values and
    ranges are their union.

    ``range`` bounds a number (inclusive); ``values`` lists the accepted strings; ``by_index`` also
    accepts a value's position in ``values`` ("3" for the fourth).
    """

    name: str
    type: type
    description: str
    range: tuple[float, float] | None = None
    values: tuple[str, ...] = ()
    by_index: bool = False

    def within(self, low: float, high: float) -> Option:
        """This option with another range (a backend's own bounds for a shared option)."""
        return replace(self, range=(low, high))

    def accepted(self, values: tuple[str, ...] | None = None) -> str:
        """The accepted values in words: ``0 to 1`` or ``a, b, c``."""
        if self.range is not None:
            return f"{self.range[0]:g} to {self.range[1]:g}"
        return ", ".join(self.values if values is None else values)

    def accepts(self, value: Any, values: tuple[str, ...] | None = None) -> bool:
        """Whether ``value`` is within the range or among ``values`` (the model's, else the option's)."""
        if self.range is not None and isinstance(value, int | float) and not isinstance(value, bool):
            return self.range[0] <= value <= self.range[1]
        allowed = self.values if values is None else values
        if not allowed or not isinstance(value, str):
            return True
        if value in allowed:
            return True
        return self.by_index and value.isdigit() and int(value) < len(allowed)


@dataclass(frozen=True)
class Board:
    """A public leaderboard snapshot: ``name`` ("Arena text-to-video"), the ``task`` it ranks
    (``text-to-video``, ``image-to-video``, ``text-to-image``, ``image-edit``, ``speech``), the date the
    board was updated (``snapshot``) and where it was read (``source``). See ``leaderboards.py``."""

    name: str
    task: str
    snapshot: str
    source: str

    def at(self, rank: int | None, score: float | None = None, note: str = "") -> Standing:
        return Standing(self, rank, score, note)


@dataclass(frozen=True)
class Standing:
    """A model's place on a :class:`Board`: its ``rank`` (None when only the score was captured), its
    ``score`` (Elo) and a ``note`` (the board's own name for the model, when it differs)."""

    board: Board
    rank: int | None
    score: float | None = None
    note: str = ""

    def text(self) -> str:
        """``#3 on Arena text-to-image (2026-09-24)``, or ``score 1322 on AA speech (2026-10-07)`` without a rank."""
        place = f"#{self.rank}" if self.rank is not None else f"score {self.score:g}"
        return f"{place} on {self.board.name} ({self.board.snapshot})"


@dataclass(frozen=True)
class ModelSpec:
    """Capabilities of one model. An empty tuple means "this model takes no such parameter".

    ``options`` names further request fields the model honours (``background``, ``seed``,
    ``negative_prompt``, ``speed``, ``instructions``...); a field not listed is rejected, never
    silently dropped. ``required`` names fields the model cannot run without; ``availability``
    says why the model is not usable here (the selector skips it with that reason).

    Lifecycle is data: ``status`` as declared, the provider's ``deprecated_on`` and ``shutdown_on``
    dates (ISO ``YYYY-MM-DD``), the ``replacement`` model (on ``replacement_backend``, default this
    backend), ``lifecycle_note``, and where it was read (``source``) and when (``checked``). A model
    is retired from its shutdown date on, whatever its declared status: :meth:`status_on` says what
    it is on a given day, so a shutdown takes effect on the day with no release.
    """

    id: str
    operations: tuple[str, ...] = ("generate",)
    max_outputs: int = 1
    max_input_images: int = 0
    #: Reference images (subject or style) the model takes besides its input images (0: none).
    max_reference_images: int = 0
    #: Whether the model edits or extends a supplied video (``input_video``).
    input_video: bool = False
    input_image_formats: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp")
    mask: bool = False
    continuation: bool = False
    #: Runs as a provider job (submit, poll, fetch; see :class:`JobRunner`) rather than one call.
    long_job: bool = False
    aspect_ratios: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ()
    durations: tuple[float, ...] = ()
    duration_range: tuple[float, float] | None = None
    voices: tuple[str, ...] | None = ()
    audio_formats: tuple[str, ...] = ()
    #: (fewest, most) distinct speakers of a dialogue, for models with the dialogue operation (None: any).
    speakers: tuple[int, int] | None = None
    options: frozenset[str] = frozenset()
    #: Custom WIDTHxHEIGHT sizes accepted besides ``sizes`` (None: only the named sizes).
    pixel_sizes: PixelSizes | None = None
    #: The accepted values of option fields that have a known set, e.g. ``{"background": ("auto", ...)}``.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    placeholder: bool = False
    notes: str = ""
    #: Request fields that must be set for this model (e.g. ``("input_images", "style")``).
    required: tuple[str, ...] = ()
    #: Why the model cannot run here (an extra or system library missing, a mode the settings leave
    #: off), or None: called with the settings (``config.Settings``) when it takes an argument.
    availability: Callable[..., str | None] | None = field(default=None, compare=False)
    # --- lifecycle ---
    status: str = "current"
    deprecated_on: str | None = None
    shutdown_on: str | None = None
    replacement: str | None = None
    replacement_backend: str | None = None
    lifecycle_note: str = ""
    source: str = ""
    checked: str = ""
    #: Where the model stands on public leaderboards (dated snapshots): ``prefer='quality'`` ranks by it.
    standings: tuple[Standing, ...] = field(default=(), compare=False)

    def standing(self, task: str) -> Standing | None:
        """The first declared standing on a board of ``task`` (boards are declared best source first)."""
        return next((s for s in self.standings if s.board.task == task), None)

    def status_on(self, today: date) -> str:
        """``current``, ``deprecated`` or ``retired`` on ``today``: a passed shutdown date retires it."""
        day = today.isoformat()
        if self.status == "retired" or (self.shutdown_on is not None and day >= self.shutdown_on):
            return "retired"
        if self.status == "deprecated" or (self.deprecated_on is not None and day >= self.deprecated_on):
            return "deprecated"
        return "current"

    def replacement_ref(self, backend: str) -> str:
        """``backend/model`` of the replacement (or "none announced")."""
        if not self.replacement:
            return "none announced"
        return f"{self.replacement_backend or backend}/{self.replacement}"

    def retired_message(self, backend: str) -> str:
        """One line for an explicit request of a retired model: when, and what to use instead."""
        when = f" on {self.shutdown_on}" if self.shutdown_on else ""
        use = self.replacement_ref(backend)
        move = f"use model={self.replacement!r}" if self.replacement and not self.replacement_backend else ""
        if self.replacement_backend:
            move = f"use backend={self.replacement_backend!r} model={self.replacement!r}"
        note = f" ({self.lifecycle_note})" if self.lifecycle_note else ""
        return f"{backend}/{self.id} was retired{when}{note}; replacement: {use}" + (f"; {move}" if move else "")

    def deprecation_warning(self, backend: str, today: date) -> str | None:
        """The warning a result carries when this model is deprecated on ``today``, else None."""
        if self.status_on(today) != "deprecated":
            return None
        shutdown = f"shuts down on {self.shutdown_on}" if self.shutdown_on else "no shutdown date announced"
        note = f" ({self.lifecycle_note})" if self.lifecycle_note else ""
        return f"{backend}/{self.id} is deprecated: {shutdown}{note}; replacement: {self.replacement_ref(backend)}"

    def unavailable(self, settings: Any = None) -> str | None:
        return ask(self.availability, settings)

    def accepts_duration(self, seconds: float) -> bool:
        if self.durations:
            return seconds in self.durations
        if self.duration_range is not None:
            low, high = self.duration_range
            return low <= seconds <= high
        return False

    def duration_choices(self) -> str:
        if self.durations:
            return ", ".join(f"{d:g}" for d in self.durations)
        if self.duration_range is not None:
            return f"{self.duration_range[0]:g} to {self.duration_range[1]:g}"
        return "none"

    @property
    def takes_duration(self) -> bool:
        return bool(self.durations) or self.duration_range is not None


@dataclass(frozen=True)
class MediaSupport:
    """One media type a backend serves: its default priority, default model, models and what they do."""

    priority: int
    default_model: str
    models: tuple[ModelSpec, ...]
    continuation_prefix: str | None = None
    #: What these models do, in people's words. Every operation a real (non-placeholder) model
    #: does must be worded here; the registry refuses a backend that leaves one out.
    operations: tuple[Operation, ...] = ()
    #: Request parameters these models add to the tool (a model takes those its ``options`` name).
    options: tuple[Option, ...] = ()
    #: Models named by an id beyond the declared ones (fal's ``fal:<endpoint id>``): the spec for
    #: such an id, or None. Pure and cheap: the selector calls it.
    resolve: Callable[[str], ModelSpec | None] | None = field(default=None, compare=False)

    def model(self, model_id: str) -> ModelSpec | None:
        found = next((m for m in self.models if m.id == model_id), None)
        if found is None and self.resolve is not None and model_id:
            return self.resolve(model_id)
        return found

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


@dataclass(frozen=True)
class BackendSpec:
    """Everything the core knows about a provider, as data.

    ``env_keys``: any one of them enables the backend (first set wins). A backend with no keys
    (``local``) is enabled when ``availability()`` returns None; otherwise it returns why not (it is
    handed the settings when it takes an argument, as ``ModelSpec.availability`` is).
    """

    name: str
    title: str
    env_keys: tuple[str, ...]
    media: Mapping[MediaType, MediaSupport]
    base_url_env: str | None = None
    default_base_url: str | None = None  # used when base_url_env is unset (None: the SDK's own default)
    docs_url: str = ""
    availability: Callable[..., str | None] | None = field(default=None, compare=False)
    notes: str = ""
    #: Environment variables this backend reads beyond its keys and base URL (e.g. Vertex mode).
    settings: tuple[Setting[Any], ...] = ()
    #: Import the SDK and build the clients a call will need (into ``endpoint.clients``); run in the
    #: background after the handshake when the backend has a key (``GENERATE_MEDIA_WARM_UP``).
    warm: Callable[[Endpoint], Awaitable[None]] | None = field(default=None, compare=False)

    def all_settings(self) -> tuple[Setting[Any], ...]:
        """Every variable the backend reads: its keys, its base URL override, then its own settings."""
        first = self.env_keys[0] if self.env_keys else ""
        keys = tuple(
            Setting(
                k, "secret", "", f"API key; enables {self.title}" + (f" when {first} is unset" if i else ""), self.name
            )
            for i, k in enumerate(self.env_keys)
        )
        url: tuple[Setting[Any], ...] = ()
        if self.base_url_env:
            what = "endpoint override (proxies, gateways, tests)"
            default = self.default_base_url or ""
            url = (Setting(self.base_url_env, "url", default, what, self.name, "" if default else "the SDK's own"),)
        return (*keys, *url, *self.settings)

    def _fallback(self, index: int) -> str:
        return f" when {self.env_keys[0]} is unset" if index else ""

    def models(self) -> list[tuple[MediaType, ModelSpec]]:
        return [(mt, m) for mt, support in self.media.items() for m in support.models]


# --- what a backend receives and returns -------------------------------------------------------


@dataclass
class Produced:
    """One artifact a backend made. Exactly one of ``data`` or ``path`` is set.

    ``path`` is a temporary file the backend streamed into through ``Call.temp_file`` (large
    media); the output writer sniffs it and renames it into place.
    ``state`` is plain, serialisable continuation state (never a live SDK object).
    ``sidecars`` are companion files written next to the artifact under its final name with another
    extension (``{"json": ..., "srt": ...}`` for word timings), all or nothing with it.
    """

    data: bytes | None = None
    path: Path | None = None
    revised_prompt: str | None = None
    state: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sidecars: dict[str, bytes] = field(default_factory=dict)


ProgressFn = Callable[[str, float | None], Awaitable[None]]


class Endpoint(Protocol):
    """What a backend's clients are built for (its key, endpoint and settings), and where they are kept.

    A ``Call`` is one; the warm-up after the handshake hands a backend one without a request.
    """

    @property
    def api_key(self) -> str: ...
    @property
    def base_url(self) -> str | None: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def clients(self) -> ClientRegistry: ...  # lives as long as the server


class Call(Endpoint, Protocol):
    """What the service hands a backend for one item: the validated request and helpers."""

    @property
    def request(self) -> MediaRequest: ...
    @property
    def prompt(self) -> str: ...
    @property
    def model(self) -> ModelSpec: ...
    @property
    def continuation(self) -> ContinuationRecord | None: ...
    @property
    def input_images(self) -> list[LoadedFile]: ...
    @property
    def mask(self) -> LoadedFile | None: ...
    @property
    def input_video(self) -> LoadedFile | None: ...  # the video to edit or extend

    async def progress(self, message: str, percent: float | None = None) -> None: ...
    def temp_file(self, suffix: str = "") -> Path: ...
    async def load_file(self, ref: str, kinds: tuple[str, ...] = ...) -> LoadedFile: ...


#: Where a provider job stands, as a poll reports it.
JobState = Literal["queued", "running", "done", "failed", "cancelled"]


@dataclass
class JobStatus:
    """What a poll of a provider job says."""

    state: JobState
    percent: float | None = None
    error: str | None = None
    error_code: str | None = None
    result: dict[str, Any] | None = None  # plain data the fetch step needs (urls, ids)
    poll_after: float | None = None  # the provider's hint, in seconds


class JobRunner(Protocol):
    """A long job: submit once, poll, fetch the result, cancel when the caller goes away."""

    # submit returns plain data identifying the provider job; its optional "warnings" list is added
    # to every fetched product by jobs.py.
    async def submit(self, call: Call) -> dict[str, Any]: ...
    async def poll(self, call: Call, handle: dict[str, Any]) -> JobStatus: ...
    async def fetch(self, call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]: ...
    async def cancel(self, call: Call, handle: dict[str, Any]) -> bool | None: ...  # False: cannot cancel
