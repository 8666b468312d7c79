"""Local audio: piper speech (real, neural), algorithmic music (real composition, MIDI +
SoundFont) and sound effects (PLACEHOLDER numpy recipes). The request's ``audio_type`` picks the
model through its declared operations; the operation picks the function here."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...spec import DIALOGUE, MUSIC, SPEECH, Call, MediaSupport, MediaType, ModelSpec, Produced
from .._options import INSTRUMENTAL, LOOP, SEED, SPEED, TIMESTAMPS
from .._timings import sidecars
from . import _piper
from ._piper import SPEED_RANGE, VOICE, VOICES
from ._probe import music_missing
from ._wav import prompt_seed, wav_bytes
from ._work import in_thread

MEDIA = MediaType.AUDIO
DEFAULT_MUSIC_S = 30.0
DEFAULT_EFFECT_S = 2.0

SUPPORT = MediaSupport(
    priority=1,  # the lowest: local audio only when asked for or when no keyed backend fits
    default_model="local-piper-joe",
    options=(SPEED.within(*SPEED_RANGE), TIMESTAMPS, SEED, INSTRUMENTAL, LOOP),
    operations=(SPEECH, DIALOGUE, MUSIC),
    models=(
        ModelSpec(
            id="local-piper-joe",
            operations=("speech", "dialogue"),
            voices=tuple(VOICES),
            audio_formats=("wav",),
            speakers=(1, len(VOICES)),
            options=frozenset({"speed", "timestamps"}),
            notes="Neural speech offline: piper-tts with the en_US joe voice. speed 0.5 to 2. joe-deep and "
            "joe-bright are joe pitch-shifted (one piper voice ships); a dialogue of up to three speakers gives each "
            "one of them. timestamps: word timings from piper's phoneme alignments.",
        ),
        ModelSpec(
            id="local-midi-composer",
            operations=("music",),
            duration_range=(3.0, 300.0),
            audio_formats=("wav",),
            options=frozenset({"seed", "instrumental"}),
            availability=music_missing,
            notes="Algorithmic composition (mood, tempo and instrument words; pretty-midi + TimGM6mb), "
            f"instrumental only; default {DEFAULT_MUSIC_S:g} s.",
        ),
        ModelSpec(
            id="local-sfx-synth",
            operations=("sound_effect",),
            duration_range=(0.5, 30.0),
            audio_formats=("wav",),
            options=frozenset({"seed", "loop"}),
            placeholder=True,
            notes="PLACEHOLDER: a keyword picks a synthesized recipe (whoosh, laser, boom, chime, rain, siren).",
        ),
    ),
)


TIMINGS_SOURCE = "piper phoneme alignment"


def _produced(speech: _piper.Speech, **metadata: Any) -> Produced:
    produced = Produced(data=_piper.to_wav(speech.samples, speech.rate), metadata={"engine": "piper", **metadata})
    if speech.words is not None:
        produced.sidecars = sidecars(speech.words, source=TIMINGS_SOURCE, granularity=speech.granularity)
        produced.metadata["timings"] = speech.granularity
    return produced


async def _speech(call: Call) -> list[Produced]:
    req = call.request
    voice = req.voice or VOICE
    speech = await in_thread("speech", _piper.speak, call.prompt, req.speed, voice, bool(req.timestamps))
    return [_produced(speech, voice=voice)]


def _cast(call: Call) -> dict[str, str]:
    speakers = list(dict.fromkeys(turn.speaker for turn in call.request.dialogue or ()))
    if call.request.speaker_voices is not None:
        return {s: call.request.speaker_voices[s].strip().lower() for s in speakers}
    return dict(zip(speakers, VOICES, strict=False))  # the model declares at most len(VOICES) speakers


async def _dialogue(call: Call) -> list[Produced]:
    req = call.request
    cast = _cast(call)
    turns = [(turn.speaker, cast[turn.speaker], turn.text) for turn in req.dialogue or ()]
    speech = await in_thread("dialogue", _piper.dialogue, turns, req.speed, bool(req.timestamps))
    return [_produced(speech, speakers=cast)]


def _music_wav(prompt: str, seed: int, duration: float) -> tuple[bytes, dict[str, Any]]:
    from ._compose_music import RATE, compose, plan_for, render

    plan = plan_for(prompt, seed)
    return wav_bytes(render(compose(plan, duration), duration), RATE), plan.describe()


async def _music(call: Call) -> list[Produced]:
    req = call.request
    if req.instrumental is False:
        raise InvalidRequest("local-midi-composer makes instrumental music only; omit instrumental or use a provider")
    seed = prompt_seed(call.prompt, req.seed)
    await call.progress("composing", None)
    data, plan = await in_thread("music", _music_wav, call.prompt, seed, req.duration or DEFAULT_MUSIC_S)
    return [Produced(data=data, metadata={"composition": "algorithmic", **plan})]


def _effect_wav(prompt: str, seed: int, duration: float, loop: bool) -> tuple[bytes, str]:
    from ._sfx import RATE, synthesize

    samples, recipe = synthesize(prompt, duration, seed, loop)
    return wav_bytes(samples, RATE), recipe


async def _sound_effect(call: Call) -> list[Produced]:
    req = call.request
    seed = prompt_seed(call.prompt, req.seed)
    duration = req.duration or DEFAULT_EFFECT_S
    data, recipe = await in_thread("sound effect", _effect_wav, call.prompt, seed, duration, bool(req.loop))
    meta = {"placeholder": True, "backend": "local", "recipe": recipe, "seed": seed}
    return [Produced(data=data, metadata=meta)]


_OPERATIONS = {"speech": _speech, "dialogue": _dialogue, "music": _music, "sound_effect": _sound_effect}


async def generate(call: Call) -> list[Produced]:
    return await _OPERATIONS[call.request.operation](call)


RUN = generate
