"""OpenAI text to speech end to end through an MCP client against the loopback fake (bodies are
validated against OpenAI's OpenAPI document by tests/fakes/openai.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from tests.assertions import one_line_error, only_item
from tests.conftest import KEYS

OA = "OPENAI_API_KEY"


def speech(**args):
    return {"media_type": "audio", "audio_type": "speech", **args}


async def test_speech_streams_the_requested_format_to_a_real_file(make_server, fake, out_dir, mode):
    async with Client(make_server(OA), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            speech(prompt="Welcome aboard.", voice="marin", audio_format="flac", speed=1.25, instructions="cheerful"),
        )
    item = only_item(result)
    sent = fake.of("openai", "/audio/speech")[-1]
    assert sent.json == {
        "model": "gpt-4o-mini-tts",
        "input": "Welcome aboard.",
        "voice": "marin",
        "response_format": "flac",
        "speed": 1.25,
        "instructions": "cheerful",
    }
    assert sent.headers["authorization"] == f"Bearer {KEYS[OA]}"
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".flac" and path.read_bytes()[:4] == b"fLaC"
    assert (item["mime_type"], item["sample_rate"], item["channels"]) == ("audio/flac", 44100, 1)
    assert item["duration_s"] == pytest.approx(1.0, abs=0.05)
    data = result.structured_content
    assert data["backend"] == "openai" and data["model"] == "gpt-4o-mini-tts"
    assert any("2027-01-06" in w for w in data["warnings"])  # the announced shutdown is surfaced
    assert not [b for b in result.content if b.type == "audio"]  # never inlined by default


@pytest.mark.parametrize(
    ("fmt", "suffix", "mime"),
    [
        ("mp3", ".mp3", "audio/mpeg"),
        ("wav", ".wav", "audio/wav"),
        ("opus", ".ogg", "audio/ogg"),
        ("aac", ".aac", "audio/aac"),
        ("pcm", ".pcm", "audio/pcm"),
    ],
)
async def test_each_response_format_is_requested_and_the_extension_matches_the_bytes(
    make_server, fake, fmt, suffix, mime
):
    async with Client(make_server(OA)) as client:
        result = await client.call_tool("generate_media", speech(prompt="Format check.", audio_format=fmt))
    item = only_item(result)
    assert fake.of("openai", "/audio/speech")[-1].json["response_format"] == fmt
    assert item["path"].endswith(suffix) and item["mime_type"] == mime
    if fmt == "pcm":
        assert item["metadata"]["pcm_sample_rate"] == 24000
    else:
        assert item["duration_s"] == pytest.approx(1.0, abs=0.1)


async def test_defaults_are_mp3_and_the_first_voice(make_server, fake):
    async with Client(make_server(OA)) as client:
        item = only_item(await client.call_tool("generate_media", speech(prompt="Hi.")))
    sent = fake.of("openai", "/audio/speech")[-1].json
    assert (sent["voice"], sent["response_format"]) == ("alloy", "mp3")
    assert "speed" not in sent and "instructions" not in sent
    assert item["metadata"]["voice"] == "alloy" and item["path"].endswith(".mp3")


async def test_tts_1_refuses_instructions(make_server, fake):
    async with Client(make_server(OA)) as client:
        result = await client.call_tool("generate_media", speech(prompt="Hi.", model="tts-1", instructions="calm"))
        plain = await client.call_tool("generate_media", speech(prompt="Hi.", model="tts-1-hd", speed=0.5))
    one_line_error(result, "tts-1 does not support instructions")
    only_item(plain)
    assert [r.json["model"] for r in fake.of("openai", "/audio/speech")] == ["tts-1-hd"]


async def test_an_unknown_voice_lists_the_openai_voices(make_server, fake, mode):
    async with Client(make_server(OA), mode=mode) as client:
        result = await client.call_tool("generate_media", speech(prompt="Hi.", voice="Rachel"))
    one_line_error(result, "voice='Rachel'", "alloy", "marin", "cedar")
    assert fake.requests == []


async def test_speed_out_of_range_names_the_range(make_server, fake):
    async with Client(make_server(OA)) as client:
        result = await client.call_tool("generate_media", speech(prompt="Hi.", speed=5))
    one_line_error(result, "speed=5", "0.25 to 4")
    assert fake.requests == []


async def test_operations_openai_does_not_offer_are_not_routed_to_it(make_server, fake):
    async with Client(make_server(OA)) as client:
        result = await client.call_tool(
            "generate_media", speech(prompt="boom", audio_type="sound_effect", backend="openai")
        )
    one_line_error(result, "no model does sound_effect")
    assert fake.requests == []


async def test_with_both_keys_elevenlabs_speaks_unless_only_openai_offers_the_format(make_server, fake):
    async with Client(make_server(OA, "ELEVENLABS_API_KEY")) as client:
        default = await client.call_tool("generate_media", speech(prompt="Hi."))
        aac = await client.call_tool("generate_media", speech(prompt="Hi.", audio_format="aac"))
    assert default.structured_content["backend"] == "elevenlabs"
    assert aac.structured_content["backend"] == "openai" and only_item(aac)["path"].endswith(".aac")


async def test_a_rejected_key_is_an_auth_error_without_the_key(make_server, fake):
    fake.inject("openai:POST .*/audio/speech", status=401, body={"error": {"message": "Incorrect API key provided"}})
    async with Client(make_server(OA)) as client:
        result = await client.call_tool("generate_media", speech(prompt="Hi."))
    text = one_line_error(result, "Incorrect API key", "OPENAI_API_KEY")
    assert KEYS[OA] not in text and KEYS[OA] not in json.dumps(result.structured_content)
    assert result.structured_content["error"]["code"] == "auth"


async def test_a_rate_limit_is_retried_by_our_policy(make_server, fake, out_dir):
    fake.inject("openai:POST .*/audio/speech", status=429, body={"error": {"message": "Rate limit reached"}})
    async with Client(make_server(OA)) as client:
        result = await client.call_tool("generate_media", speech(prompt="Hi."))
    only_item(result)
    assert len(fake.of("openai", "/audio/speech")) == 2
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".gm-partial-")]


async def test_a_non_audio_body_is_an_error_and_leaves_no_file(make_server, fake, out_dir):
    fake.state["openai_speech_bytes"] = b"<html>gateway hiccup</html>"
    async with Client(make_server(OA)) as client:
        result = await client.call_tool("generate_media", speech(prompt="Hi."))
    one_line_error(result, "not a known media format")
    assert list(out_dir.iterdir()) == []
