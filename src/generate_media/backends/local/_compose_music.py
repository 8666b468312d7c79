"""Algorithmic composition: a seeded plan read from the prompt (key, mode, tempo, progression,
pad/bass/lead/drums), written as MIDI with pretty-midi and rendered with midirenderer (rustysynth)
through the General MIDI SoundFont pretty-midi ships (TimGM6mb.sf2).

This is real music, but not a generative model: it follows mood, tempo and instrument words, never
"lofi jazz with vocals". Results say ``"composition": "algorithmic"``.
"""

from __future__ import annotations

import functools
import io
import math
import random
import re
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RATE", "Plan", "compose", "plan_for", "render"]

RATE = 48_000  # midirenderer's fixed output rate
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
_PROGRESSIONS = {
    False: ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 3), (5, 3, 0, 4), (0, 3, 0, 4)),
    True: ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4)),
}
_MINOR_WORDS = re.compile(
    r"\b(sad|dark|melanchol\w*|minor|night|rain\w*|lonely|mysterious|tense|haunting|somber|sombre|epic|horror|cold)\b"
)
_MAJOR_WORDS = re.compile(r"\b(happy|bright|upbeat|sunny|cheerful|joyful|major|playful|uplifting|summer|warm)\b")
_SLOW_WORDS = re.compile(r"\b(slow|calm|ambient|chill|lofi|lo-fi|relax\w*|sleep\w*|peaceful|lullaby|meditat\w*)\b")
_FAST_WORDS = re.compile(r"\b(fast|energetic|upbeat|dance|action|epic|chase|rock|techno|running|battle)\b")
_QUIET_WORDS = re.compile(
    r"\b(ambient|calm|soft|gentle|solo|no drums|without drums|meditat\w*|lullaby|peaceful|sleep\w*)\b"
)
#: Instrument words: which part they take and its General MIDI program.
_INSTRUMENTS = {
    "piano": ("lead", 0),
    "bell": ("lead", 14),
    "vibraphone": ("lead", 11),
    "guitar": ("lead", 25),
    "violin": ("lead", 40),
    "trumpet": ("lead", 56),
    "brass": ("lead", 61),
    "sax": ("lead", 65),
    "flute": ("lead", 73),
    "synth": ("lead", 81),
    "organ": ("pad", 19),
    "strings": ("pad", 48),
    "choir": ("pad", 52),
    "cello": ("bass", 42),
}
_DEFAULTS = {"pad": (88, 89, 48, 91), "bass": (33, 38, 32), "lead": (0, 11, 73, 80, 46)}
_RHYTHMS = ((1, 1, 1, 1), (0.5, 0.5, 1, 1, 1), (1.5, 0.5, 1, 1), (2, 1, 1), (1, 0.5, 0.5, 2))


@dataclass(frozen=True)
class Plan:
    seed: int
    root: int
    minor: bool
    tempo: int
    progression: tuple[int, ...]
    programs: dict[str, int]
    drums: bool

    @property
    def scale(self) -> tuple[int, ...]:
        return _MINOR if self.minor else _MAJOR

    def describe(self) -> dict[str, Any]:
        import pretty_midi

        numerals = [_ROMAN[d].lower() if self._is_minor_chord(d) else _ROMAN[d] for d in self.progression]
        parts = {part: pretty_midi.program_to_instrument_name(p) for part, p in self.programs.items()}
        if self.drums:
            parts["drums"] = "Standard kit"
        return {
            "key": f"{_NAMES[self.root]} {'minor' if self.minor else 'major'}",
            "tempo_bpm": self.tempo,
            "progression": "-".join(numerals),
            "instruments": parts,
            "seed": self.seed,
        }

    def _is_minor_chord(self, degree: int) -> bool:
        scale = self.scale
        return (scale[(degree + 2) % 7] - scale[degree]) % 12 == 3


def plan_for(prompt: str, seed: int) -> Plan:
    """Read mood, tempo and instruments from the prompt; the seed decides everything else."""
    text = prompt.lower()
    rng = random.Random(seed)
    minor = bool(_MINOR_WORDS.search(text)) or (not _MAJOR_WORDS.search(text) and rng.random() < 0.4)
    low, high = (60, 84) if _SLOW_WORDS.search(text) else (124, 150) if _FAST_WORDS.search(text) else (88, 118)
    programs = {part: rng.choice(choices) for part, choices in _DEFAULTS.items()}
    for word, (part, program) in _INSTRUMENTS.items():
        if word in text:
            programs[part] = program
    return Plan(
        seed=seed,
        root=rng.randrange(12),
        minor=minor,
        tempo=rng.randint(low, high),
        progression=rng.choice(_PROGRESSIONS[minor]),
        programs=programs,
        drums=not _QUIET_WORDS.search(text),
    )


def _pitch(plan: Plan, degree: int, octave: int) -> int:
    """MIDI pitch of scale ``degree`` (any integer; wraps into octaves) from ``octave``'s tonic."""
    return 12 * (octave + 1) + plan.root + plan.scale[degree % 7] + 12 * (degree // 7)


def _add(instrument: Any, pitch: int, start: float, length: float, velocity: int, end: float) -> None:
    import pretty_midi

    if start < end:
        note_end = min(start + length, end)
        instrument.notes.append(pretty_midi.Note(velocity=velocity, pitch=pitch, start=start, end=note_end))


def _harmony(plan: Plan, pad: Any, bass: Any, bars: int, bar: float, end: float) -> None:
    beat = bar / 4
    for index in range(bars):
        degree, start = plan.progression[index % len(plan.progression)], index * bar
        for step in (0, 2, 4):
            _add(pad, _pitch(plan, degree + step, 3), start, bar, 58, end)
        for hit in (0, 2) if plan.tempo < 100 else (0, 1.5, 2, 3):
            _add(bass, _pitch(plan, degree, 1), start + hit * beat, beat * 0.9, 92, end)


def _melody(plan: Plan, lead: Any, bars: int, bar: float, end: float, rng: random.Random) -> None:
    beat, current = bar / 4, 7
    for index in range(1, bars):  # one bar of intro, then the tune
        chord = plan.progression[index % len(plan.progression)]
        time = index * bar
        for position, length in enumerate(rng.choice(_RHYTHMS)):
            if position == 0:
                current = chord + rng.choice((0, 2, 4)) + 7  # a chord tone on the downbeat
            elif rng.random() < 0.15:
                time += length * beat  # a rest
                continue
            else:
                current = max(3, min(13, current + rng.choice((-2, -1, -1, 1, 1, 2))))
            _add(lead, _pitch(plan, current, 4), time, length * beat * 0.95, rng.randint(78, 100), end)
            time += length * beat


def _drums(kit: Any, bars: int, bar: float, end: float) -> None:
    beat = bar / 4
    _add(kit, 49, 0.0, beat, 90, end)  # crash on the first bar
    for index in range(bars):
        start = index * bar
        for eighth in range(8):
            _add(kit, 42, start + eighth * beat / 2, beat / 4, 60 if eighth % 2 else 75, end)
        for hit, pitch in ((0, 36), (1, 38), (2, 36), (3, 38)):
            _add(kit, pitch, start + hit * beat, beat / 2, 100, end)


def compose(plan: Plan, duration: float) -> bytes:
    """The plan as a Standard MIDI File covering ``duration`` seconds."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=plan.tempo)
    bar = 4 * 60.0 / plan.tempo
    bars = math.ceil(duration / bar)
    parts = {part: pretty_midi.Instrument(program=program, name=part) for part, program in plan.programs.items()}
    _harmony(plan, parts["pad"], parts["bass"], bars, bar, duration)
    _melody(plan, parts["lead"], bars, bar, duration, random.Random(plan.seed + 1))
    midi.instruments.extend(parts.values())
    if plan.drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
        _drums(kit, bars, bar, duration)
        midi.instruments.append(kit)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@functools.cache
def _soundfont() -> bytes:
    """The General MIDI SoundFont pretty-midi ships (6 MB), read once per process."""
    import pretty_midi

    return (Path(pretty_midi.__file__).parent / "TimGM6mb.sf2").read_bytes()


def render(midi: bytes, duration: float) -> Any:
    """Exactly ``duration`` seconds of stereo float samples at ``RATE``, with a short fade out.

    midirenderer (rustysynth, a SoundFont synthesizer with reverb and chorus, in a wheel with no
    dependencies) renders 16-bit stereo WAV at 48 kHz; the caller normalises the level.
    """
    import numpy as np
    from midirenderer import render_wave_from

    with wave.open(io.BytesIO(render_wave_from(_soundfont(), midi))) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (RATE, 2, 2):
            raise RuntimeError(f"midirenderer returned {wav.getframerate()} Hz x{wav.getnchannels()}, not {RATE} Hz x2")
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    frames = round(duration * RATE)
    audio = np.zeros((frames, 2), dtype=np.float32)
    audio[: min(frames, len(pcm))] = pcm[:frames] / 32768.0
    fade = min(frames, int(RATE * min(2.0, duration / 4)))
    if fade:
        audio[frames - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return audio
