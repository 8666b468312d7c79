"""Local piper dialogue and word timings for real (no fakes, no keys), through an MCP client: the
speakers get distinct voices (joe and a pitch-shifted joe, measured), the turns are joined with a
pause, and the timings come from piper's phoneme alignments."""

from __future__ import annotations

import itertools
import json
import wave
from pathlib import Path

import anyio
import pytest
from mcp import Client

from generate_media.backends.local._probe import extra_missing
from tests.assertions import one_line_error

pytestmark = [
    pytest.mark.local,
    pytest.mark.skipif(extra_missing() is not None, reason=f"local extra: {extra_missing()}"),
]

LINE = "Hello there, how are you doing today? The weather is lovely and warm this morning."
# Two sentences per turn: piper's prosody is random from run to run, and one short sentence gave too few
# voiced frames for a steady median pitch (its ratio once measured 0.97 on CI; with this line 20 runs gave
# 0.805 to 0.891, while joe against joe gave 0.94 to 1.08 in 10).
WORDS = len(LINE.split())


def _samples(path: str):
    import numpy as np

    with wave.open(path) as wav:
        rate, frames = wav.getframerate(), wav.getnframes()
        data = np.frombuffer(wav.readframes(frames), dtype="<i2").astype(float) / 32768
    return data, rate


def _pitch(samples, rate: int) -> float:
    """Median fundamental frequency (Hz) of the voiced frames, by autocorrelation."""
    import numpy as np

    size, found = 1024, []
    for start in range(0, len(samples) - size, size // 2):
        frame = samples[start : start + size] - np.mean(samples[start : start + size])
        if np.sqrt(np.mean(frame**2)) < 0.05:
            continue
        corr = np.correlate(frame, frame, "full")[size - 1 :]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.3 * corr[0]:
            found.append(rate / lag)
    return float(np.median(found))


async def _call(server, **arguments):
    with anyio.fail_after(120):
        async with Client(server) as client:
            return await client.call_tool("generate_media", {"media_type": "audio", "backend": "local", **arguments})


async def test_speech_timestamps_name_every_word_from_the_phoneme_alignment(make_server):
    text = "It is 42 degrees in Paris today."
    result = await _call(make_server(), prompt=text, timestamps=True)
    assert not result.is_error, result.content
    item = result.structured_content["items"][0]
    timings = json.loads(Path(item["sidecars"]["json"]).read_text())
    assert timings["source"] == "piper phoneme alignment" and timings["granularity"] == "word"
    words = timings["words"]
    assert [w["text"] for w in words] == text.split()  # "42" is one word spoken as two ("forty two")
    assert all(w["start"] < w["end"] for w in words)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(words))
    samples, rate = _samples(item["path"])
    seconds = len(samples) / rate
    assert rate == 22050 and words[-1]["end"] <= seconds and words[-1]["end"] > 0.7 * seconds
    longest = max(words, key=lambda w: w["end"] - w["start"])
    assert longest["text"] in ("42", "degrees")  # the long words take the longest
    assert Path(item["sidecars"]["srt"]).read_text().startswith("1\n00:00:00,")
    assert item["metadata"]["timings"] == "word"


async def test_a_dialogue_gives_each_speaker_a_distinct_voice_joined_with_pauses(make_server):
    turns = [{"speaker": "Ann", "text": LINE}, {"speaker": "Bob", "text": LINE}]
    result = await _call(make_server(), audio_type="dialogue", dialogue=turns, timestamps=True)
    assert not result.is_error, result.content
    item = result.structured_content["items"][0]
    assert item["metadata"]["speakers"] == {"Ann": "joe", "Bob": "joe-deep"}
    words = json.loads(Path(item["sidecars"]["json"]).read_text())["words"]
    assert [w["speaker"] for w in words] == ["Ann"] * WORDS + ["Bob"] * WORDS
    assert [w["text"] for w in words] == LINE.split() * 2
    samples, rate = _samples(item["path"])
    ann_end, bob_start = words[WORDS - 1]["end"], words[WORDS]["start"]
    gap = samples[int(ann_end * rate) + 200 : int(bob_start * rate) - 200]
    assert bob_start - ann_end >= 0.35 and float(abs(gap).max()) < 0.05  # a pause of silence between turns
    ann = _pitch(samples[: int(ann_end * rate)], rate)
    bob = _pitch(samples[int(bob_start * rate) :], rate)
    assert 0.72 < bob / ann < 0.93, (ann, bob)  # joe-deep is joe at 0.82 of the pitch
    assert "Ann: Hello there," in Path(item["sidecars"]["srt"]).read_text()


async def test_dialogue_voices_can_be_chosen_and_unknown_ones_are_one_line(make_server):
    turns = [{"speaker": "A", "text": "Hi."}, {"speaker": "B", "text": "Hey."}]
    bad = await _call(make_server(), audio_type="dialogue", dialogue=turns, speaker_voices={"A": "joe", "B": "Rachel"})
    one_line_error(bad, "'rachel'", "joe-deep")
    many = [{"speaker": s, "text": "Hi."} for s in "ABCD"]
    crowded = await _call(make_server(), audio_type="dialogue", dialogue=many)
    one_line_error(crowded, "local-piper-joe speaks dialogues of 1 to 3 speakers, this one has 4")


async def test_auto_skips_a_backend_that_cannot_speak_that_many_speakers(make_server, fake):
    # A Gemini key reaches only two-speaker dialogue; three speakers go to the local voices.
    turns = [{"speaker": s, "text": "Hi."} for s in "ABC"]
    with anyio.fail_after(120):
        async with Client(make_server("GEMINI_API_KEY")) as client:
            result = await client.call_tool(
                "generate_media", {"media_type": "audio", "audio_type": "dialogue", "dialogue": turns}
            )
            two = await client.call_tool(
                "generate_media", {"media_type": "audio", "audio_type": "dialogue", "dialogue": turns[:2]}
            )
    assert not result.is_error, result.content
    assert (result.structured_content["backend"], result.structured_content["model"]) == ("local", "local-piper-joe")
    assert result.structured_content["items"][0]["metadata"]["speakers"] == {
        "A": "joe",
        "B": "joe-deep",
        "C": "joe-bright",
    }
    assert two.structured_content["backend"] == "google"
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests] == ["gemini-3.8-flash-tts:generateContent"]
