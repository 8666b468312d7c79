"""ElevenLabs audio end to end through an MCP client against the loopback fake: all eight operations,
the wire shape of each, formats requested and found in the bytes, voices, errors and dubbing jobs."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.assertions import one_line_error, only_item
from tests.conftest import KEYS
from tests.fakes import media

EL = "ELEVENLABS_API_KEY"
GEORGE = "JBFqnCBsd6RMkjVDRZzb"


def audio(**args):
    return {"media_type": "audio", **args}


# --- speech ---------------------------------------------------------------------------------------


async def test_speech_by_voice_name_requests_wav_and_saves_a_real_wav(make_server, fake, out_dir, mode):
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(
                prompt="Hello there, friend.",
                voice="Rachel",
                audio_format="wav",
                voice_stability=0.4,
                voice_similarity=0.8,
                seed=7,
                source_language="en",
            ),
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/text-to-speech/")[-1]
    assert sent.path.endswith("/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM")
    assert sent.query["output_format"] == "wav_44100"
    assert sent.headers["xi-api-key"] == KEYS[EL]
    assert sent.json == {
        "text": "Hello there, friend.",
        "model_id": "eleven_v4",
        "voice_settings": {"stability": 0.4, "similarity_boost": 0.8},
        "seed": 7,
        "language_code": "en",
    }
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".wav" and path.read_bytes()[:4] == b"RIFF"
    # read back from the file: the fake encodes the rate the output_format asked for
    assert (item["mime_type"], item["sample_rate"], item["channels"]) == ("audio/wav", 44100, 1)
    assert item["duration_s"] == pytest.approx(1.0, abs=0.05)
    assert item["metadata"]["voice_id"] == "21m00Tcm4TlvDq8ikWAM" and item["metadata"]["output_format"] == "wav_44100"
    assert result.structured_content["backend"] == "elevenlabs"
    assert not [b for b in result.content if b.type == "audio"]  # never inlined by default
    assert "base64" not in json.dumps(result.structured_content)


@pytest.mark.parametrize(
    ("fmt", "code", "suffix", "mime"),
    [
        ("mp3", "mp3_44100_128", ".mp3", "audio/mpeg"),
        ("opus", "opus_48000_128", ".ogg", "audio/ogg"),
        ("pcm", "pcm_44100", ".pcm", "audio/pcm"),
    ],
)
async def test_each_audio_format_is_requested_and_the_extension_matches_the_bytes(
    make_server, fake, fmt, code, suffix, mime
):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="Format check.", audio_format=fmt))
    item = only_item(result)
    assert fake.of("elevenlabs", "/text-to-speech/")[-1].query["output_format"] == code
    assert item["path"].endswith(suffix) and item["mime_type"] == mime
    if fmt == "pcm":  # raw samples cannot be sniffed: the provider's format is recorded instead
        assert item["metadata"]["pcm_sample_rate"] == 44100 and item["metadata"]["pcm_encoding"] == "s16le"
    else:
        assert item["duration_s"] == pytest.approx(1.0, abs=0.1)


async def test_without_a_voice_the_default_premade_voice_is_used_without_listing_voices(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="Default voice."))
    only_item(result)
    assert fake.of("elevenlabs", "/text-to-speech/")[-1].path.endswith(GEORGE)
    assert fake.of("elevenlabs", "/voices") == []
    assert fake.of("elevenlabs", "/text-to-speech/")[-1].query["output_format"] == "mp3_44100_128"


async def test_the_voice_list_is_fetched_once_per_server(make_server, fake):
    async with Client(make_server(EL)) as client:
        for voice in ("Rachel", "charlotte", "George"):  # "George" matches "George - Warm, ..."
            only_item(await client.call_tool("generate_media", audio(prompt="hi", voice=voice)))
    assert len(fake.of("elevenlabs", "/v1/voices")) == 1
    paths = [r.path.rsplit("/", 1)[1] for r in fake.of("elevenlabs", "/text-to-speech/")]
    assert paths == ["21m00Tcm4TlvDq8ikWAM", "XB0fDUnXU5powFXDhCwa", GEORGE]


async def test_an_unknown_voice_name_lists_close_matches_and_nothing_is_spoken(make_server, fake, mode):
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool("generate_media", audio(prompt="hi", voice="Charlote"))
    text = one_line_error(result, "Charlote", "close matches", "Charlotte")
    assert "Charlie" in text
    assert result.structured_content["error"]["code"] == "invalid_request"
    assert fake.of("elevenlabs", "/text-to-speech/") == []


async def test_an_unsupported_format_lists_the_supported_ones(make_server, fake):
    async with Client(make_server(EL)) as client:
        speech = await client.call_tool("generate_media", audio(prompt="hi", audio_format="aac"))
        music = await client.call_tool(
            "generate_media", audio(prompt="a tune", audio_type="music", audio_format="wav", backend="elevenlabs")
        )
    one_line_error(speech, "audio_format='aac'", "mp3, wav, pcm, opus")
    one_line_error(music, "audio_format='wav'", "mp3, pcm, opus")
    assert fake.requests == []


async def test_parameters_of_other_operations_are_refused_not_dropped(make_server, fake, out_dir):
    sample = out_dir / "me.wav"
    sample.write_bytes(media.wav(1.0))
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="hi", voice_samples=[str(sample)]))
        fast = await client.call_tool("generate_media", audio(prompt="hi", speed=3.0))
    one_line_error(result, "voice_samples is only for audio_type voice_clone")
    one_line_error(fast, "speed=3", "0.7 to 1.2")
    assert fake.requests == []


# --- sound effects and music ----------------------------------------------------------------------


async def test_a_sound_effect_maps_duration_influence_and_loop(make_server, fake, mode):
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(prompt="door creak", audio_type="sound_effect", duration=1.5, prompt_influence=0.6, loop=True),
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/v1/sound-generation")[-1]
    assert sent.query["output_format"] == "mp3_44100_128"
    assert sent.json == {
        "text": "door creak",
        "model_id": "eleven_text_to_sound_v2",
        "duration_seconds": 1.5,
        "prompt_influence": 0.6,
        "loop": True,
    }
    assert item["path"].endswith(".mp3") and item["duration_s"] == pytest.approx(1.5, abs=0.1)
    assert result.structured_content["model"] == "eleven_text_to_sound_v2"


async def test_a_sound_effect_duration_out_of_range_names_the_range(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="boom", audio_type="sound_effect", duration=45))
    one_line_error(result, "duration=45", "0.5 to 30")
    assert fake.requests == []


async def test_music_maps_duration_to_milliseconds_and_instrumental(make_server, fake, mode):
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", audio(prompt="calm lo-fi beat", audio_type="music", duration=5, instrumental=True)
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/v1/music")[-1]
    assert sent.json == {
        "prompt": "calm lo-fi beat",
        "model_id": "music_v2_5",
        "music_length_ms": 5000,
        "force_instrumental": True,
    }
    assert sent.query["output_format"] == "mp3_44100_128"
    assert item["path"].endswith(".mp3") and item["mime_type"] == "audio/mpeg"


async def test_a_slow_composition_sends_progress_while_waiting(make_server, fake):
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    fake.latency = 0.3
    async with Client(make_server(EL)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool(
                "generate_media", audio(prompt="epic score", audio_type="music"), progress_callback=on_progress
            )
    only_item(result)
    assert messages and messages[0].startswith("music on elevenlabs/music_v2_5") and " s elapsed" in messages[0]


async def test_music_with_only_an_openai_key_names_the_elevenlabs_key(make_server, fake, mode):
    # mp3 keeps the key-less local composer (wav only) out of the way: no keyed backend but
    # ElevenLabs makes music, and OpenAI is never asked.
    async with Client(make_server("OPENAI_API_KEY"), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", audio(prompt="a song", audio_type="music", audio_format="mp3")
        )
        named = await client.call_tool(
            "generate_media", audio(prompt="a song", audio_type="music", backend="elevenlabs")
        )
    text = one_line_error(result, "Error (missing_key):", "elevenlabs: set ELEVENLABS_API_KEY")
    assert "openai" not in text  # it makes no music: only backends that could serve the request are named
    one_line_error(named, "set ELEVENLABS_API_KEY")
    assert named.structured_content["error"]["code"] == "missing_key"
    assert fake.requests == []


# --- operations on input audio --------------------------------------------------------------------


async def test_voice_conversion_uploads_the_input_audio_with_settings_as_json(make_server, fake, out_dir, mode):
    source = out_dir / "take1.wav"
    source.write_bytes(media.wav(1.0))
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(
                audio_type="voice_conversion",
                input_audio=str(source),
                voice="George",
                voice_stability=0.3,
                seed=11,
                audio_format="wav",
            ),
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/voice-changer/")[-1]
    assert sent.path.endswith(f"/v1/voice-changer/{GEORGE}")
    assert sent.query["output_format"] == "wav_44100"
    (name, data, mime) = sent.files("audio")[0]
    assert data == source.read_bytes() and name == "take1.wav" and mime == "audio/wav"
    assert sent.form["model_id"] == "eleven_multilingual_sts_v2" and sent.form["seed"] == "11"
    assert json.loads(sent.form["voice_settings"]) == {"stability": 0.3}
    assert item["path"].endswith(".wav") and item["sample_rate"] == 44100


async def test_voice_conversion_without_input_audio_says_what_is_missing(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(audio_type="voice_conversion"))
    one_line_error(result, "needs input_audio")
    assert fake.requests == []


async def test_audio_isolation_uploads_the_input_and_saves_the_clean_audio(make_server, fake, out_dir):
    source = out_dir / "noisy.mp3"
    source.write_bytes(media.mp3(1.0))
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(audio_type="audio_isolation", input_audio=str(source)))
    item = only_item(result)
    sent = fake.of("elevenlabs", "/v1/audio-isolation")[-1]
    assert sent.files("audio")[0][1] == source.read_bytes()
    assert item["path"].endswith(".mp3") and Path(item["path"]).name.startswith("audio-isolation_")


async def test_an_input_outside_the_allowed_directories_is_refused(make_server, fake, tmp_path):
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(media.wav(0.5))
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(audio_type="audio_isolation", input_audio=str(outside)))
    one_line_error(result, "outside the allowed directories")
    assert fake.requests == []


# --- voices made on the account -------------------------------------------------------------------


async def test_voice_design_saves_the_preview_and_creates_a_usable_voice(make_server, fake, mode):
    description = "A warm, gravelly old sea captain with a slow drawl"
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", audio(prompt=description, audio_type="voice_design", voice_name="Captain")
        )
        item = only_item(result)
        again = await client.call_tool("generate_media", audio(prompt="Ahoy.", voice="Captain"))
    design = fake.of("elevenlabs", "/v1/text-to-voice/design")[-1]
    assert design.json == {
        "voice_description": description,
        "model_id": "eleven_ttv_v3",
        "auto_generate_text": True,
    }
    assert design.query["output_format"] == "mp3_44100_128"
    create = fake.of("elevenlabs", "/v1/text-to-voice")[-1]
    assert create.path.endswith("/v1/text-to-voice")
    assert create.json["voice_name"] == "Captain" and create.json["generated_voice_id"].startswith("gen0")
    voice_id = item["metadata"]["voice_id"]
    assert item["path"].endswith(".mp3") and item["duration_s"] == pytest.approx(1.0, abs=0.1)
    assert any("persistent voice" in w for w in item["warnings"])
    only_item(again)
    assert fake.of("elevenlabs", "/text-to-speech/")[-1].path.endswith(voice_id)


async def test_voice_design_needs_a_description_of_twenty_characters(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="deep voice", audio_type="voice_design"))
    one_line_error(result, "20 to 1000 characters")
    assert fake.requests == []


async def test_voice_clone_uploads_the_samples_then_speaks_with_the_new_voice(make_server, fake, out_dir, mode):
    one, two = out_dir / "s1.wav", out_dir / "s2.mp3"
    one.write_bytes(media.wav(1.0))
    two.write_bytes(media.mp3(1.0))
    args = audio(prompt="This is my cloned voice.", audio_type="voice_clone", voice_samples=[str(one), str(two)])
    args["voice_name"] = "Me"
    async with Client(make_server(EL), mode=mode) as client:
        first = await client.call_tool("generate_media", args)
        second = await client.call_tool("generate_media", args)
    item = only_item(first)
    added = fake.of("elevenlabs", "/v1/voices/add")
    assert len(added) == 1  # the repeat reuses the clone instead of filling the account
    assert added[0].form["name"] == "Me"
    assert [f[1] for f in added[0].files("files")] == [one.read_bytes(), two.read_bytes()]
    voice_id = item["metadata"]["voice_id"]
    speeches = fake.of("elevenlabs", "/text-to-speech/")
    assert [s.path.rsplit("/", 1)[1] for s in speeches] == [voice_id, voice_id]
    assert speeches[0].json["text"] == "This is my cloned voice."
    assert item["metadata"]["cloned_voice"] is True
    assert any("persistent voice 'Me'" in w for w in item["warnings"])
    assert only_item(second)["metadata"]["reused_voice"] is True


# --- provider errors ------------------------------------------------------------------------------


async def test_a_rejected_key_is_an_auth_error_naming_the_env_var(make_server, fake, mode):
    fake.inject(
        "elevenlabs:POST .*/text-to-speech/",
        status=401,
        body={"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
    )
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool("generate_media", audio(prompt="hi"))
    text = one_line_error(result, "Invalid API key", "ELEVENLABS_API_KEY")
    assert KEYS[EL] not in text and KEYS[EL] not in json.dumps(result.structured_content)
    assert result.structured_content["error"]["code"] == "auth"


async def test_a_busy_provider_is_retried_once_by_our_policy(make_server, fake):
    fake.inject(
        "elevenlabs:POST .*/sound-generation",
        status=429,
        body={"detail": {"status": "system_busy", "message": "The system is busy"}},
        headers={"retry-after": "1"},
    )
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="rain", audio_type="sound_effect"))
    only_item(result)
    assert len(fake.of("elevenlabs", "/sound-generation")) == 2  # the SDK's own retries are off


async def test_a_validation_error_is_reported_with_the_providers_message(make_server, fake):
    fake.inject(
        "elevenlabs:POST .*/music",
        status=422,
        body={"detail": [{"loc": ["body", "prompt"], "msg": "prompt is too long", "type": "value_error"}]},
    )
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="a song", audio_type="music"))
    one_line_error(result, "prompt is too long")
    assert result.structured_content["error"]["code"] == "invalid_request"
    assert len(fake.of("elevenlabs", "/music")) == 1


async def test_quota_exceeded_is_not_mistaken_for_a_bad_key(make_server, fake):
    fake.inject(
        "elevenlabs:POST .*/text-to-speech/",
        status=401,
        body={"detail": {"status": "quota_exceeded", "message": "You have 3 credits remaining"}},
    )
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(prompt="hi", backend="elevenlabs"))
    one_line_error(result, "quota", "3 credits remaining")
    assert result.structured_content["error"]["code"] == "quota"


# --- dubbing: a long job --------------------------------------------------------------------------


async def test_dubbing_submits_once_polls_until_dubbed_and_saves_the_dub(make_server, fake, out_dir, mode):
    fake.state["elevenlabs_dubbing_script"] = ["dubbing", "dubbing", "dubbed"]
    source = out_dir / "talk.mp3"
    source.write_bytes(media.mp3(1.0))
    server = make_server(EL)
    async with Client(server, mode=mode) as client:
        with anyio.fail_after(30):
            result = await client.call_tool(
                "generate_media",
                audio(audio_type="dubbing", input_audio=str(source), target_language="es", source_language="en"),
            )
    item = only_item(result)
    data = result.structured_content
    assert data["status"] == "completed" and data["job_id"] and data["model"] == "dubbing"
    created = fake.of("elevenlabs", "/v1/dubbing")
    submit = [r for r in created if r.method == "POST"]
    assert len(submit) == 1
    assert submit[0].files("file")[0][1] == source.read_bytes()
    assert submit[0].form["target_lang"] == "es" and submit[0].form["source_lang"] == "en"
    dubbing_id = item["metadata"]["dubbing_id"]
    polls = [r for r in created if r.method == "GET" and r.path.endswith(dubbing_id)]
    assert len(polls) == 3  # queued -> dubbing, dubbing -> dubbed
    assert fake.of("elevenlabs", f"/dubbing/{dubbing_id}/audio/es")
    assert item["path"].endswith(".mp3") and item["metadata"]["target_language"] == "es"
    record = await server.media_service.jobs.get(data["job_id"], "local")
    assert record is not None and record.state == "done"


async def test_a_dubbed_video_is_saved_as_video_with_its_real_extension(make_server, fake, out_dir):
    source = out_dir / "clip.mp4"
    source.write_bytes(media.mp4(1.0))
    async with Client(make_server(EL)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool(
                "generate_media", audio(audio_type="dubbing", input_audio=str(source), target_language="fr")
            )
    item = only_item(result)
    assert fake.of("elevenlabs", "/v1/dubbing")[0].files("file")[0][2] == "video/mp4"
    assert item["path"].endswith(".mp4") and item["mime_type"] == "video/mp4"


async def test_a_failed_dub_is_an_error_with_the_providers_reason(make_server, fake, out_dir):
    fake.state["elevenlabs_dubbing_script"] = ["dubbing", "failed"]
    source = out_dir / "silence.wav"
    source.write_bytes(media.wav(0.5))
    async with Client(make_server(EL)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool(
                "generate_media", audio(audio_type="dubbing", input_audio=str(source), target_language="de")
            )
    one_line_error(result, "no speech detected")
    assert not fake.of("elevenlabs", "/audio/de")
    assert not [p for p in out_dir.iterdir() if p.name != "silence.wav"]  # no half-written file


async def test_a_pending_dub_resumes_by_job_id_without_resubmitting(make_server, fake, out_dir):
    fake.state["elevenlabs_dubbing_script"] = ["dubbing"] * 1000
    source = out_dir / "talk.wav"
    source.write_bytes(media.wav(0.5))
    async with Client(make_server(EL)) as client:
        with anyio.fail_after(30):
            pending = await client.call_tool(
                "generate_media",
                audio(audio_type="dubbing", input_audio=str(source), target_language="it", wait_s=0.05),
            )
            assert not pending.is_error, pending.content
            assert pending.structured_content["status"] == "pending"
            job_id = pending.structured_content["job_id"]
            for dub in fake.state["elevenlabs_dubs"].values():
                dub["script"] = ["dubbed"]
            done = await client.call_tool("generate_media", {"job_id": job_id})
    item = only_item(done)
    assert done.structured_content["status"] == "completed" and item["path"].endswith(".mp3")
    assert len([r for r in fake.of("elevenlabs", "/v1/dubbing") if r.method == "POST"]) == 1


async def test_dubbing_without_a_target_language_is_refused_before_upload(make_server, fake, out_dir):
    source = out_dir / "talk.wav"
    source.write_bytes(media.wav(0.5))
    async with Client(make_server(EL)) as client:
        result = await client.call_tool("generate_media", audio(audio_type="dubbing", input_audio=str(source)))
    one_line_error(result, "target_language")
    assert fake.requests == []


async def test_listing_voices_for_the_cli_returns_ids_and_names(make_settings, fake):
    from generate_media.backends.elevenlabs.voices import list_voices

    voices = await list_voices(make_settings(EL))
    assert {"voice_id": GEORGE, "name": "George - Warm, Captivating Storyteller", "category": "premade"} in voices
    assert fake.of("elevenlabs", "/v1/voices")[-1].headers["xi-api-key"] == KEYS[EL]


async def test_a_dub_past_the_job_deadline_is_deleted_at_the_provider(make_server, fake, out_dir):
    fake.state["elevenlabs_dubbing_script"] = ["dubbing"] * 1000
    source = out_dir / "long.wav"
    source.write_bytes(media.wav(0.5))
    async with Client(make_server(EL, job_deadline_s=0.05)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool(
                "generate_media", audio(audio_type="dubbing", input_audio=str(source), target_language="es", wait_s=0)
            )
    one_line_error(result, "GENERATE_MEDIA_JOB_DEADLINE_S")
    deletes = [r for r in fake.of("elevenlabs", "/v1/dubbing/") if r.method == "DELETE"]
    assert len(deletes) == 1
    assert [p.name for p in out_dir.iterdir()] == ["long.wav"]
