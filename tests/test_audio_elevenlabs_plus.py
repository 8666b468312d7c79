"""ElevenLabs dialogue, timed speech and music composition plans, end to end through an MCP client
against the loopback fake: the request on the wire, the audio written and its sidecar files."""

from __future__ import annotations

import base64
import json
import wave
from pathlib import Path

import pytest
from mcp import Client

from tests.assertions import one_line_error, only_item
from tests.fakes import elevenlabs as el_fake

EL = "ELEVENLABS_API_KEY"
RACHEL, CHARLIE, GEORGE, CHARLOTTE = (
    "21m00Tcm4TlvDq8ikWAM",
    "IKne3meq5aSn9XLyUdCD",
    "JBFqnCBsd6RMkjVDRZzb",
    "XB0fDUnXU5powFXDhCwa",
)


def audio(**args):
    return {"media_type": "audio", **args}


def _sidecars(item: dict) -> tuple[dict, str]:
    paths = item["sidecars"]
    audio_path = Path(item["path"])
    assert Path(paths["json"]) == audio_path.with_suffix(".json")
    assert Path(paths["srt"]) == audio_path.with_suffix(".srt")
    return json.loads(Path(paths["json"]).read_text()), Path(paths["srt"]).read_text()


async def test_speech_with_timestamps_writes_word_timings_json_and_srt(make_server, fake, out_dir, mode):
    text = "Hello there. General Kenobi!"
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(prompt=text, voice="Rachel", audio_format="wav", timestamps=True, model="eleven_multilingual_v2"),
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/with-timestamps")[-1]
    assert sent.path.endswith(f"/v1/text-to-speech/{RACHEL}/with-timestamps")
    assert sent.query["output_format"] == "wav_44100"
    assert sent.json == {"text": text, "model_id": "eleven_multilingual_v2"}
    with wave.open(item["path"], "rb") as w:
        assert w.getframerate() == 44100
        assert w.getnframes() / w.getframerate() == pytest.approx(len(text) * el_fake.CHAR_S, abs=0.01)
    timings, subtitles = _sidecars(item)
    assert timings["source"] == "elevenlabs character alignment" and timings["granularity"] == "word"
    c = el_fake.CHAR_S
    assert timings["words"] == [
        {"text": "Hello", "start": 0.0, "end": pytest.approx(5 * c)},
        {"text": "there.", "start": pytest.approx(6 * c), "end": pytest.approx(12 * c)},
        {"text": "General", "start": pytest.approx(13 * c), "end": pytest.approx(20 * c)},
        {"text": "Kenobi!", "start": pytest.approx(21 * c), "end": pytest.approx(28 * c)},
    ]
    assert subtitles == (
        "1\n00:00:00,000 --> 00:00:00,600\nHello there.\n\n2\n00:00:00,650 --> 00:00:01,400\nGeneral Kenobi!\n"
    )
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        Path(p).name for p in (item["path"], *item["sidecars"].values())
    )
    assert item["metadata"]["word_count"] == 4


async def test_without_timestamps_no_sidecar_is_written(make_server, fake, out_dir):
    async with Client(make_server(EL)) as client:
        item = only_item(await client.call_tool("generate_media", audio(prompt="Plain.")))
    assert item.get("sidecars") is None and len(list(out_dir.iterdir())) == 1
    assert fake.of("elevenlabs", "/with-timestamps") == []


async def test_timestamps_on_an_operation_without_words_is_refused(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="sound_effect", prompt="boom", timestamps=True, backend="elevenlabs")
        )
    one_line_error(result, "timestamps")
    assert fake.requests == []


# --- dialogue ------------------------------------------------------------------------------------


TURNS = [
    {"speaker": "Ana", "text": "Ready?"},
    {"speaker": "Ben", "text": "Always ready."},
    {"speaker": "Cy", "text": "Then go!"},
]


async def test_dialogue_sends_each_turn_with_its_speakers_voice(make_server, fake, mode):
    voices = {"Ana": "Rachel", "Ben": "Charlie", "Cy": CHARLOTTE}
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(
                audio_type="dialogue",
                dialogue=TURNS,
                speaker_voices=voices,
                audio_format="mp3",
                seed=3,
                model="eleven_v3",
                backend="elevenlabs",
            ),
        )
    item = only_item(result)
    assert result.structured_content["model"] == "eleven_v3"
    sent = fake.of("elevenlabs", "/text-to-dialogue")[-1]
    assert sent.path.endswith("/v1/text-to-dialogue") and sent.query["output_format"] == "mp3_44100_128"
    assert sent.json == {
        "inputs": [
            {"text": "Ready?", "voice_id": RACHEL},
            {"text": "Always ready.", "voice_id": CHARLIE},
            {"text": "Then go!", "voice_id": CHARLOTTE},
        ],
        "model_id": "eleven_v3",
        "seed": 3,
    }
    assert item["mime_type"] == "audio/mpeg" and item["sample_rate"] == 44100
    assert item["duration_s"] == pytest.approx(sum(len(t["text"]) for t in TURNS) * el_fake.CHAR_S, abs=0.06)
    assert item["metadata"]["speakers"]["Ana"] == {"voice_id": RACHEL, "voice_name": "Rachel"}


async def test_dialogue_with_timestamps_labels_every_word_with_its_speaker(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=TURNS, timestamps=True, audio_format="wav")
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/text-to-dialogue/with-timestamps")[-1]
    assert [i["voice_id"] for i in sent.json["inputs"]] == [GEORGE, RACHEL, CHARLOTTE]  # distinct defaults
    timings, subtitles = _sidecars(item)
    assert [(w["speaker"], w["text"]) for w in timings["words"]] == [
        ("Ana", "Ready?"),
        ("Ben", "Always"),
        ("Ben", "ready."),
        ("Cy", "Then"),
        ("Cy", "go!"),
    ]
    assert timings["words"][1]["start"] == pytest.approx(6 * el_fake.CHAR_S)
    assert "Ana: Ready?" in subtitles and "Ben: Always ready." in subtitles and "Cy: Then go!" in subtitles
    with wave.open(item["path"], "rb") as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(27 * el_fake.CHAR_S, abs=0.01)


async def test_dialogue_is_declared_only_by_models_that_do_it(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=TURNS, model="eleven_multilingual_v2")
        )
        prompt_too = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=TURNS, prompt="extra")
        )
        voice_too = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=TURNS, voice="Rachel")
        )
        voices_elsewhere = await client.call_tool("generate_media", audio(prompt="hi", speaker_voices={"A": "Rachel"}))
    one_line_error(result, "eleven_multilingual_v2 does not do dialogue")
    one_line_error(prompt_too, "remove prompt")
    one_line_error(voice_too, "speaker_voices instead of voice")
    one_line_error(voices_elsewhere, "speaker_voices is only for audio_type='dialogue'")
    assert fake.requests == []


# --- composition plans ---------------------------------------------------------------------------

SECTIONS = [
    {"name": "Intro", "duration": 3, "styles": ["soft piano"]},
    {"name": "Verse 1", "duration": 5, "lyrics": ["Lights on the water", "Waves in the night"]},
]


async def test_sections_become_a_music_v1_composition_plan(make_server, fake, mode):
    async with Client(make_server(EL), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            audio(audio_type="music", prompt="dream pop, female vocals", sections=SECTIONS, model="music_v1"),
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/v1/music")[-1].json
    assert sent == {
        "composition_plan": {
            "positive_global_styles": ["dream pop", "female vocals"],
            "negative_global_styles": [],
            "sections": [
                {
                    "section_name": "Intro",
                    "positive_local_styles": ["soft piano"],
                    "negative_local_styles": [],
                    "duration_ms": 3000,
                    "lines": [],
                },
                {
                    "section_name": "Verse 1",
                    "positive_local_styles": [],
                    "negative_local_styles": [],
                    "duration_ms": 5000,
                    "lines": ["Lights on the water", "Waves in the night"],
                },
            ],
        },
        "model_id": "music_v1",
        "respect_sections_durations": True,
    }
    assert item["mime_type"] == "audio/mpeg" and item["duration_s"] == pytest.approx(8.0, abs=0.06)


async def test_sections_become_chunks_for_music_v2(make_server, fake):
    async with Client(make_server(EL)) as client:
        result = await client.call_tool(
            "generate_media",
            audio(audio_type="music", prompt="dream pop", sections=SECTIONS, model="music_v2_5", backend="elevenlabs"),
        )
    item = only_item(result)
    sent = fake.of("elevenlabs", "/v1/music")[-1].json
    assert sent["model_id"] == "music_v2_5" and "prompt" not in sent
    assert sent["composition_plan"] == {
        "chunks": [
            {"text": "[Intro]", "duration_ms": 3000, "positive_styles": ["dream pop", "soft piano"]},
            {
                "text": "[Verse 1]\nLights on the water\nWaves in the night",
                "duration_ms": 5000,
                "positive_styles": ["dream pop"],
            },
        ]
    }
    assert item["duration_s"] == pytest.approx(8.0, abs=0.06)


async def test_bad_sections_are_refused_before_any_request(make_server, fake):
    short = [{"name": "Blip", "duration": 1}]
    async with Client(make_server(EL)) as client:
        too_short = await client.call_tool(
            "generate_media", audio(audio_type="music", prompt="x", sections=short, backend="elevenlabs")
        )
        both = await client.call_tool(
            "generate_media",
            audio(audio_type="music", prompt="x", sections=SECTIONS, duration=30, backend="elevenlabs"),
        )
        sung = await client.call_tool(
            "generate_media",
            audio(audio_type="music", prompt="x", sections=SECTIONS, instrumental=True, backend="elevenlabs"),
        )
    one_line_error(too_short, "'Blip'", "3 to 120 s")
    one_line_error(both, "duration or sections")
    one_line_error(sung, "instrumental", "lyrics")
    assert fake.requests == []


async def test_sidecars_are_linked_and_served_as_media_resources(make_settings, fake):
    from generate_media.server import create_server
    from generate_media.service import MediaService

    settings = make_settings(EL)
    server = create_server(settings, service=MediaService(settings), resource_links="media")
    async with Client(server) as client:
        result = await client.call_tool("generate_media", audio(prompt="Linked words.", timestamps=True))
        item = only_item(result)
        links = [b for b in result.content if b.type == "resource_link"]
        assert [(Path(item["path"]).name, item["mime_type"])] + [
            (Path(p).name, m)
            for p, m in zip(item["sidecars"].values(), ("application/json", "application/x-subrip"), strict=True)
        ] == [(link.name, link.mime_type) for link in links]
        assert all(str(link.uri).startswith("media://outputs/") for link in links)
        timings = await client.read_resource(str(links[1].uri))
        subtitles = await client.read_resource(str(links[2].uri))
    for read, ext, mime in ((timings, "json", "application/json"), (subtitles, "srt", "application/x-subrip")):
        assert read.contents[0].mime_type == mime
        assert base64.b64decode(read.contents[0].blob) == Path(item["sidecars"][ext]).read_bytes()
    assert "word timings:" in result.content[0].text


async def test_more_speakers_than_the_model_declares_are_refused_before_any_request(make_server, fake):
    turns = [{"speaker": f"S{n}", "text": "Hi."} for n in range(11)]
    async with Client(make_server(EL)) as client:
        result = await client.call_tool(
            "generate_media", audio(audio_type="dialogue", dialogue=turns, backend="elevenlabs")
        )
    one_line_error(result, "eleven_v3 speaks dialogues of 1 to 10 speakers, this one has 11")
    assert fake.requests == []
