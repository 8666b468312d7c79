"""Local video: a narrated Ken Burns slideshow of the input images (``local-slideshow``) or, with
none, of placeholder scenes (``local-placeholder-slideshow``, only with ``backend="local"``), the
prompt spoken by the local voice, encoded to H.264 + AAC MP4. Real composition, not generative
video: results say ``"composition": "slideshow"``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import anyio

from ...spec import Call, MediaSupport, MediaType, ModelSpec, Operation, Produced
from .._options import GENERATE_AUDIO, SEED
from ._piper import speak_wav
from ._placeholder import scene
from ._slideshow import HEIGHTS, Slideshow, encode, frame_size, prepare_slides
from ._wav import prompt_seed
from ._work import in_thread

MEDIA = MediaType.VIDEO
MAX_SLIDES = 8
PLACEHOLDER_SLIDES = 3
DURATION_RANGE = (2.0, 60.0)
_TAIL_S = 1.0  # the picture stays a moment after the last word
SLIDESHOW = Operation("generate", "narrated slideshow", ("slideshow", "montage"))

_SLIDESHOW = ModelSpec(
    id="local-slideshow",
    max_input_images=MAX_SLIDES,
    required=("input_images",),
    duration_range=DURATION_RANGE,
    aspect_ratios=("16:9", "9:16", "1:1"),
    sizes=tuple(HEIGHTS),
    options=frozenset({"generate_audio", "seed"}),
    notes="Ken Burns slideshow of the input images narrated by the local voice; duration defaults to the "
    "narration's length. Composition, not generative video.",
)

SUPPORT = MediaSupport(
    priority=1,  # the lowest: a keyed provider always wins in auto mode
    default_model="local-slideshow",
    options=(GENERATE_AUDIO, SEED),
    operations=(SLIDESHOW,),
    models=(
        _SLIDESHOW,
        # Without input images the slides are made-up scenes: a placeholder like any other, labelled in
        # the result and never chosen by backend="auto".
        dataclasses.replace(
            _SLIDESHOW,
            id="local-placeholder-slideshow",
            max_input_images=0,
            required=(),
            placeholder=True,
            notes="PLACEHOLDER: captioned made-up scenes (no input images) narrated by the local voice.",
        ),
    ),
)


def _sources(call: Call, seed: int, size: tuple[int, int]) -> tuple[list[Any], bool]:
    """PIL images of the inputs, or captioned placeholder scenes; and whether they are placeholders."""
    import io

    from PIL import Image

    if call.input_images:
        return [Image.open(io.BytesIO(item.data)) for item in call.input_images], False
    return [scene(call.prompt, seed + k, size) for k in range(PLACEHOLDER_SLIDES)], True


def _wav_seconds(data: bytes) -> float:
    import io
    import wave

    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


def _length(requested: float | None, narration: bytes | None) -> float:
    if requested is not None:
        return requested
    spoken = _wav_seconds(narration) + _TAIL_S if narration else 5.0
    return min(max(spoken, DURATION_RANGE[0]), DURATION_RANGE[1])


async def _narration(call: Call) -> bytes | None:
    if call.request.generate_audio is False or not call.prompt.strip():
        return None
    await call.progress("speaking the narration", None)
    return await in_thread("slideshow narration", speak_wav, call.prompt)


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


async def generate(call: Call) -> list[Produced]:
    req = call.request
    size = frame_size(req.aspect_ratio, req.size)
    seed = prompt_seed(call.prompt, req.seed)
    speech = await _narration(call)
    total = _length(req.duration, speech)
    await call.progress("preparing the slides", None)
    images, placeholders = await in_thread("slideshow", _sources, call, seed, size)
    folder = call.temp_file(".d")
    folder.mkdir()
    try:
        slides = await in_thread("slideshow", prepare_slides, images, folder, size)
        narration: Path | None = None
        if speech is not None:
            narration = folder / "narration.wav"
            await in_thread("slideshow", narration.write_bytes, speech)
        out = call.temp_file(".mp4")
        show = Slideshow(slides, size, total, seed)
        await encode(show.command(await in_thread("slideshow", _ffmpeg), narration, out), total, call.progress)
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled call still removes its scratch files
            await in_thread("slideshow cleanup", _remove_tree, folder)
    return [Produced(path=out, metadata=_metadata(len(slides), speech, placeholders), warnings=_warnings(placeholders))]


def _metadata(slides: int, speech: bytes | None, placeholders: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"composition": "slideshow", "slides": slides, "narration": speech is not None}
    if placeholders:
        meta["placeholder_slides"] = True
    return meta


def _warnings(placeholders: bool) -> list[str]:
    if not placeholders:
        return []
    return ["no input_images: the slides are PLACEHOLDER scenes; give input_images for real pictures"]


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


RUN = generate
