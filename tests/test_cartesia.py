"""Cartesia speech through an MCP client against the loopback TTS API: the request on the wire, the
file produced, word timings from the streaming endpoint, voices by name, and the faults."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.assertions import one_line_error
from tests.conftest import KEYS
from tests.videohelp import leftovers, until

KEY = "CARTESIA_API_KEY"


def _speech(**arguments):
    return {"media_type": "audio", "backend": "cartesia", "prompt": "Hello there, general Kenobi.", **arguments}


async def test_speech_is_an_mp3_with_the_request_on_the_wire(make_server, fake, out_dir):
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _speech(speed=1.2, source_language="en"))
    assert not result.is_error, result.content
    [sent] = fake.of("cartesia", "/tts/bytes")
    assert sent.headers["authorization"] == "Bearer " + KEYS[KEY] and sent.headers["cartesia-version"]
    assert sent.json == {
        "model_id": "sonic-3.6",
        "transcript": "Hello there, general Kenobi.",
        "voice": "9626c31c-bec5-4cca-baa8-f8ba9e84c8bc",
        "output_format": {"container": "mp3", "bit_rate": 128000, "sample_rate": 44100},
        "generation_config": {"speed": 1.2},
        "language": "en",
    }
    item = result.structured_content["items"][0]
    assert Path(item["path"]).parent == out_dir.resolve() and item["mime_type"] == "audio/mpeg"
    assert item["duration_s"] == pytest.approx(1.0, abs=0.1) and leftovers(out_dir) == []


async def test_a_voice_by_name_is_looked_up_once_and_wav_is_asked_as_wav(make_server, fake):
    async with Client(make_server(KEY)) as client:
        for _ in range(2):
            result = await client.call_tool("generate_media", _speech(voice="sarah", audio_format="wav"))
            assert not result.is_error, result.content
    assert len(fake.of("cartesia", "/voices")) == 1 and fake.of("cartesia", "/voices")[0].query["q"] == "sarah"
    sent = fake.of("cartesia", "/tts/bytes")[-1].json
    assert sent["voice"] == "694f9389-aac1-45b6-b726-9d9369183238"
    assert sent["output_format"] == {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 44100}
    assert result.structured_content["items"][0]["mime_type"] == "audio/wav"


async def test_timestamps_stream_words_into_the_timed_transcript_sidecars(make_server, fake, out_dir):
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _speech(timestamps=True))
    assert not result.is_error, result.content
    [sent] = fake.of("cartesia", "/tts/sse")
    assert sent.json["add_timestamps"] is True and sent.json["output_format"]["container"] == "raw"
    item = result.structured_content["items"][0]
    with wave.open(item["path"]) as wav:
        assert wav.getframerate() == 44100 and wav.getnframes() == int(0.25 * 4 * 44100)
    doc = json.loads(Path(item["sidecars"]["json"]).read_text())
    assert [w["text"] for w in doc["words"]] == ["Hello", "there,", "general", "Kenobi."]
    assert doc["words"][1] == {"text": "there,", "start": 0.25, "end": 0.45}
    assert "00:00:00,000 --> " in Path(item["sidecars"]["srt"]).read_text()


async def test_an_unknown_voice_name_or_speed_is_refused_before_speech_is_paid(make_server, fake):
    async with Client(make_server(KEY)) as client:
        voice = await client.call_tool("generate_media", _speech(voice="Nobody"))
        speed = await client.call_tool("generate_media", _speech(speed=3.0))
        mp3 = await client.call_tool("generate_media", _speech(timestamps=True, audio_format="mp3"))
    one_line_error(voice, "no Cartesia voice is named 'Nobody'")
    one_line_error(speed, "speed=3 is not accepted by sonic-3.6 (accepted: 0.6 to 1.5)")
    one_line_error(mp3, "audio_format='wav'")
    assert fake.of("cartesia", "/tts/") == []


async def test_a_stream_that_fails_mid_speech_is_an_error_and_no_file(make_server, fake, out_dir):
    fake.state["cartesia_fail_after"] = 1
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _speech(timestamps=True))
    one_line_error(result, "cartesia stopped mid-speech", "generation failed")
    assert list(out_dir.iterdir()) == []


async def test_cancelling_the_call_closes_the_stream_at_cartesia(make_server, fake, out_dir):
    fake.state["cartesia_hold"] = True
    async with Client(make_server(KEY)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", _speech(timestamps=True))
            await until(lambda: fake.of("cartesia", "/tts/sse"))
            await anyio.sleep(0.1)
            tg.cancel_scope.cancel()
        await until(lambda: fake.state.get("cartesia_disconnected"))
    assert list(out_dir.iterdir()) == []


async def test_429_with_retry_after_and_a_5xx_are_retried(make_server, fake):
    fake.inject(r"cartesia:POST /cartesia/tts/bytes", status=429, headers={"retry-after": "1"},
                body={"title": "Too Many Requests", "message": "rate limited"})  # fmt: skip
    fake.inject(r"cartesia:POST /cartesia/tts/bytes", status=503)
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _speech())
    assert not result.is_error, result.content
    assert len(fake.of("cartesia", "/tts/bytes")) == 3


async def test_a_model_cartesia_no_longer_serves_is_model_unavailable(make_server, fake):
    fake.state["cartesia_gone"] = {"sonic-3.6"}
    async with Client(make_server(KEY)) as client:
        explicit = await client.call_tool("generate_media", _speech())
        auto = await client.call_tool("generate_media", {"media_type": "audio", "prompt": "Hello."})
    assert explicit.structured_content["error"]["code"] == "model_unavailable"
    # auto moves on: the next backend that speaks (offline here), saying why
    assert not auto.is_error and "no longer served" in auto.structured_content["warnings"][0]


async def test_prefer_quality_for_speech_picks_sonic_over_the_unranked(make_server, fake):
    async with Client(make_server(KEY, "OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"media_type": "audio", "prompt": "Hi.", "prefer": "quality"})
    data = result.structured_content
    assert (data["backend"], data["model"]) == ("cartesia", "sonic-3.6")
    assert "#1 on AA speech (2026-08)" in data["chosen"]
