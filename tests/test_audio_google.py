"""Google audio end to end through an MCP client against the loopback fake: Gemini TTS (speech,
style, two-speaker dialogue) and Lyria music, the request on the wire and the file written."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from mcp import Client

from tests.assertions import one_line_error, only_item
from tests.conftest import KEYS
from tests.fakes import google_audio

GK = "GEMINI_API_KEY"


def audio(**args):
    return {"media_type": "audio", **args}


def _wav(path: str) -> tuple[int, int, float]:
    with wave.open(path, "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getnframes() / w.getframerate()


async def test_a_gemini_only_user_gets_speech_as_a_real_24khz_wav(make_server, fake, out_dir, mode):
    text = "Welcome to the show, everyone."
    async with Client(make_server(GK), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(prompt=text, voice="Puck", instructions="warm and slow", source_language="en-US"),
        )
    item = only_item(result)
    assert (result.structured_content["backend"], result.structured_content["model"]) == (
        "google",
        "gemini-3.8-flash-tts",
    )
    sent = fake.of("google", ":generateContent")[-1]
    assert sent.path.endswith("/models/gemini-3.8-flash-tts:generateContent")
    assert sent.headers["x-goog-api-key"] == KEYS[GK]
    assert sent.json["contents"] == [
        {"role": "user", "parts": [{"text": text, "speechMetadata": {"style": "warm and slow"}}]}
    ]
    assert sent.json["generationConfig"] == {
        "responseModalities": ["AUDIO"],
        # google-genai 3.6.1 sends speechConfig's fields in snake_case (the API accepts either case)
        "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Puck"}}, "language_code": "en-US"},
    }
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".wav" and path.read_bytes()[:4] == b"RIFF"
    rate, channels, seconds = _wav(item["path"])
    expected = len(text) * google_audio.TTS_SECONDS_PER_CHAR
    assert (rate, channels) == (24000, 1) and seconds == pytest.approx(expected, abs=0.01)
    assert (item["sample_rate"], item["duration_s"]) == (24000, pytest.approx(expected, abs=0.01))
    assert item["metadata"]["voice"] == "Puck" and "wrapped as WAV" in item["metadata"]["wrapped"]


async def test_the_lite_model_and_the_default_voice(make_server, fake):
    async with Client(make_server(GK)) as client:
        result = await client.call_tool("generate_media", audio(prompt="Short.", model="gemini-3.8-flash-lite-tts"))
    only_item(result)
    sent = fake.of("google", ":generateContent")[-1]
    assert sent.path.endswith("/models/gemini-3.8-flash-lite-tts:generateContent")
    assert sent.json["generationConfig"]["speechConfig"] == {
        "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}
    }
    assert "speechMetadata" not in sent.json["contents"][0]["parts"][0]


async def test_an_unknown_voice_is_refused_before_any_request(make_server, fake):
    async with Client(make_server(GK)) as client:
        result = await client.call_tool("generate_media", audio(prompt="hi", voice="Rachel"))
    one_line_error(result, "voice='Rachel'", "Kore", "Puck")
    assert fake.requests == []


async def test_a_two_speaker_dialogue_sends_one_part_per_turn_with_its_speaker(make_server, fake, mode):
    turns = [
        {"speaker": "Ana", "text": "Did you hear the news?"},
        {"speaker": "Ben", "text": "No, tell me everything."},
        {"speaker": "Ana", "text": "We won."},
    ]
    async with Client(make_server(GK), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(
                audio_type="dialogue",
                dialogue=turns,
                speaker_voices={"Ana": "kore", "Ben": "Charon"},
                instructions="excited",
            ),
        )
    item = only_item(result)
    sent = fake.of("google", ":generateContent")[-1].json
    assert sent["contents"][0]["parts"] == [
        {"text": t["text"], "speechMetadata": {"speaker": t["speaker"], "style": "excited"}} for t in turns
    ]
    assert sent["generationConfig"]["speechConfig"] == {
        "multi_speaker_voice_config": {
            "speaker_voice_configs": [
                {"speaker": "Ana", "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}},
                {"speaker": "Ben", "voice_config": {"prebuilt_voice_config": {"voice_name": "Charon"}}},
            ]
        }
    }
    rate, _, seconds = _wav(item["path"])
    spoken = sum(len(t["text"]) for t in turns) + len(turns) - 1  # the fake joins the parts with spaces
    assert rate == 24000 and seconds == pytest.approx(spoken * google_audio.TTS_SECONDS_PER_CHAR, abs=0.01)
    assert item["metadata"]["speakers"] == {"Ana": "Kore", "Ben": "Charon"}
    assert item["prompt"].startswith("Ana: Did you hear the news?\nBen:")
    assert Path(item["path"]).name.startswith("ana-did-you-hear-the-news")


async def test_a_dialogue_without_voices_gets_two_distinct_defaults(make_server, fake):
    async with Client(make_server(GK)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=["A: One.", "B: Two."], backend="google")
        )
    only_item(result)
    speech = google_audio.camel(fake.of("google", ":generateContent")[-1].json)["generationConfig"]["speechConfig"]
    configs = speech["multiSpeakerVoiceConfig"]["speakerVoiceConfigs"]
    voices = [c["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] for c in configs]
    assert voices == ["Kore", "Puck"]


async def test_three_speakers_are_refused_with_the_backends_that_can(make_server, fake):
    turns = [{"speaker": s, "text": "Hi."} for s in ("A", "B", "C")]
    async with Client(make_server(GK)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=turns, backend="google")
        )
        unknown = await client.call_tool(
            "generate_media",
            audio(audio_type="dialogue", dialogue=turns[:2], speaker_voices={"A": "Kore", "B": "Nobody"}),
        )
        missing = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=turns[:2], speaker_voices={"A": "Kore"})
        )
    one_line_error(result, "gemini-3.8-flash-tts speaks dialogues of exactly 2 speakers, this one has 3")
    one_line_error(unknown, "'Nobody'", "not a Gemini voice")
    one_line_error(missing, "no voice for B")
    assert fake.requests == []


# --- Lyria ---------------------------------------------------------------------------------------


async def test_lyria_song_with_lyrics_saves_a_stereo_mp3_of_the_asked_length(make_server, fake, out_dir, mode):
    async with Client(make_server(GK), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="music", prompt="an upbeat synth-pop song about the sea", duration=12)
        )
    item = only_item(result)
    assert result.structured_content["model"] == "lyria-3.5"
    sent = fake.of("google", "/interactions")[-1]
    assert sent.headers["x-goog-api-key"] == KEYS[GK]
    assert sent.json["model"] == "lyria-3.5"
    assert sent.json["input"] == "an upbeat synth-pop song about the sea\nLength: about 0:12."
    assert item["path"].endswith(".mp3") and item["mime_type"] == "audio/mpeg"
    assert (item["sample_rate"], item["channels"]) == (44100, 2)
    assert item["duration_s"] == pytest.approx(12.0, abs=0.1)
    assert item["metadata"]["lyrics"] == google_audio.LYRICS


async def test_lyria_sections_become_a_timed_structure_in_the_prompt(make_server, fake):
    sections = [
        {"name": "Intro", "duration": 4, "styles": ["soft piano"]},
        {"name": "Verse 1", "duration": 8, "lyrics": "Lights on the water\nWaves in the night"},
    ]
    async with Client(make_server(GK)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="music", prompt="dreamy ballad", sections=sections, backend="google")
        )
    item = only_item(result)
    assert fake.of("google", "/interactions")[-1].json["input"] == (
        "dreamy ballad\nSong structure (0:12 in total):\n[Intro] [0:00 - 0:04] (soft piano)\n(instrumental)\n"
        "[Verse 1] [0:04 - 0:12]\nLights on the water\nWaves in the night"
    )
    assert item["duration_s"] == pytest.approx(12.0, abs=0.1)


async def test_lyria_clip_is_thirty_seconds_and_instrumental_is_a_direction(make_server, fake):
    async with Client(make_server(GK)) as client:
        result = await client.call_tool(
            "generate_media",
            audio(audio_type="music", prompt="lofi beat", model="lyria-3-clip-preview", instrumental=True),
        )
        too_long = await client.call_tool(
            "generate_media", audio(audio_type="music", prompt="lofi", model="lyria-3-clip-preview", duration=60)
        )
    item = only_item(result)
    assert fake.of("google", "/interactions")[-1].json == {
        "model": "lyria-3-clip-preview",
        "input": "lofi beat\nInstrumental only, no vocals.",
    }
    assert item["duration_s"] == pytest.approx(30.0, abs=0.1)
    one_line_error(too_long, "duration=60", "30")
