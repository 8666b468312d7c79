"""The offline ``local`` backend for real (no fakes, no keys): piper speech, MIDI music, the
narrated slideshow, restyle and upscale, and the labelled placeholders, through an MCP client."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import anyio
import pytest
from mcp import Client
from PIL import Image

from generate_media.backends.local._probe import extra_missing, music_missing, upscale_missing
from tests.fakes import media

pytestmark = [
    pytest.mark.local,
    pytest.mark.skipif(extra_missing() is not None, reason=f"local extra: {extra_missing()}"),
]

SENTENCE = "The quick brown fox jumps over the lazy dog while the sun goes down."


def _samples(path: Path) -> tuple[list[float], int, float]:
    """(mono float samples, sample rate, seconds) of a 16-bit WAV file."""
    import numpy as np

    with wave.open(str(path)) as wav:
        rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.getnframes()
        data = np.frombuffer(wav.readframes(frames), dtype="<i2").astype(float) / 32768
    return data.reshape(-1, channels).mean(axis=1), rate, frames / rate


def _rms(samples) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0


def _picture(folder: Path, name: str, size: tuple[int, int], colour=(40, 120, 200)) -> Path:
    path = folder / name
    path.write_bytes(media.image(size[0], size[1], "PNG", colour))
    return path


async def _call(server, mode: str = "auto", **arguments):
    with anyio.fail_after(60):
        async with Client(server, mode=mode) as client:
            return await client.call_tool("generate_media", arguments)


# --- speech -----------------------------------------------------------------------------------


async def test_with_no_keys_an_audio_prompt_is_spoken_by_the_local_neural_voice(make_server, out_dir, mode):
    result = await _call(make_server(), mode, media_type="audio", prompt=SENTENCE)
    assert not result.is_error, result.content
    data = result.structured_content
    assert (data["backend"], data["model"]) == ("local", "local-piper-joe")
    item = data["items"][0]
    assert item["mime_type"] == "audio/wav" and not item.get("placeholder")
    samples, rate, seconds = _samples(Path(item["path"]))
    expected = len(SENTENCE.split()) / 2.5
    assert 0.5 * expected <= seconds <= 2 * expected, seconds
    assert rate == item["sample_rate"] == 22050
    assert _rms(samples) > 0.02  # speech, not silence
    assert "PLACEHOLDER" not in result.content[0].text


async def test_speech_speed_shortens_the_audio_and_an_out_of_range_speed_is_one_line(make_server):
    server = make_server()
    async with Client(server) as client:
        slow = await client.call_tool("generate_media", {"media_type": "audio", "prompt": SENTENCE, "speed": 0.8})
        fast = await client.call_tool("generate_media", {"media_type": "audio", "prompt": SENTENCE, "speed": 1.6})
        bad = await client.call_tool("generate_media", {"media_type": "audio", "prompt": SENTENCE, "speed": 9})
    lengths = [r.structured_content["items"][0]["duration_s"] for r in (slow, fast)]
    assert lengths[1] < lengths[0] * 0.75
    assert bad.is_error and "speed" in bad.content[0].text and "\n" not in bad.content[0].text


# --- music and sound effects --------------------------------------------------------------------


@pytest.mark.skipif(music_missing() is not None, reason=str(music_missing()))
async def test_music_lasts_the_requested_seconds_and_says_it_is_algorithmic(make_server):
    result = await _call(
        make_server(), media_type="audio", audio_type="music", prompt="an upbeat synth dance tune", duration=6
    )
    assert not result.is_error, result.content
    item = result.structured_content["items"][0]
    assert result.structured_content["model"] == "local-midi-composer"
    assert item["duration_s"] == pytest.approx(6.0, abs=0.05)
    assert item["metadata"]["composition"] == "algorithmic"
    assert item["metadata"]["instruments"]["lead"].startswith("Lead 2")  # "synth" picked the lead
    assert item["metadata"]["tempo_bpm"] >= 120  # "upbeat" and "dance" picked the tempo
    samples, _, _ = _samples(Path(item["path"]))
    assert _rms(samples) > 0.05


@pytest.mark.skipif(music_missing() is not None, reason=str(music_missing()))
async def test_an_offline_fallback_says_which_key_would_reach_a_provider(make_server):
    # Only an OpenAI key: OpenAI makes no music, so auto falls back to the local composer and says
    # which key enables provider music instead of failing or hiding the fallback.
    result = await _call(
        make_server("OPENAI_API_KEY"), media_type="audio", audio_type="music", prompt="calm", duration=6
    )
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["backend"] == "local"
    assert any("ELEVENLABS_API_KEY" in w for w in data["warnings"])
    assert "ELEVENLABS_API_KEY" in result.content[0].text


async def test_the_same_music_prompt_and_seed_compose_the_same_piece(make_server):
    server = make_server()
    args = {"media_type": "audio", "audio_type": "music", "prompt": "sad rain", "duration": 3, "seed": 7}
    async with Client(server) as client:
        first = await client.call_tool("generate_media", args)
        second = await client.call_tool("generate_media", args)
    a, b = (Path(r.structured_content["items"][0]["path"]) for r in (first, second))
    assert a != b and a.read_bytes() == b.read_bytes()
    assert first.structured_content["items"][0]["metadata"]["key"].endswith("minor")


async def test_sound_effects_are_labelled_placeholders_and_only_with_backend_local(make_server, out_dir):
    auto = await _call(make_server(), media_type="audio", audio_type="sound_effect", prompt="a laser zap")
    assert auto.is_error and auto.structured_content["error"]["code"] == "missing_key"
    assert "ELEVENLABS_API_KEY" in auto.content[0].text and "backend='local'" in auto.content[0].text
    assert not list(out_dir.iterdir())

    result = await _call(
        make_server(), media_type="audio", audio_type="sound_effect", prompt="a laser zap", backend="local", duration=1
    )
    item = result.structured_content["items"][0]
    assert item["placeholder"] is True and item["metadata"]["placeholder"] is True
    assert item["metadata"]["recipe"] == "laser" and item["duration_s"] == pytest.approx(1.0, abs=0.02)
    assert "PLACEHOLDER" in result.content[0].text


# --- images -----------------------------------------------------------------------------------


async def test_a_prompt_alone_makes_a_labelled_placeholder_image_only_with_backend_local(make_server, mode):
    auto = await _call(make_server(), mode, prompt="a red fox at dawn")
    text = auto.content[0].text
    assert auto.is_error and "OPENAI_API_KEY" in text and "backend='local'" in text

    result = await _call(make_server(), mode, prompt="a red fox at dawn", backend="local", aspect_ratio="3:2")
    assert not result.is_error, result.content
    data = result.structured_content
    item = data["items"][0]
    assert data["model"] == "local-placeholder-image" and item["placeholder"] is True
    assert item["metadata"] == {"placeholder": True, "backend": "local", "seed": item["metadata"]["seed"]}
    assert (item["width"], item["height"]) == (768, 512)
    assert "PLACEHOLDER" in result.content[0].text


async def test_with_an_openai_key_image_requests_never_go_to_local(make_server, fake, out_dir):
    picture = _picture(out_dir, "in.png", (64, 64))
    server = make_server("OPENAI_API_KEY")
    async with Client(server) as client:
        plain = await client.call_tool("generate_media", {"prompt": "a cat"})
        edit = await client.call_tool("generate_media", {"prompt": "make it blue", "input_images": [str(picture)]})
    assert plain.structured_content["backend"] == edit.structured_content["backend"] == "openai"


async def test_a_style_restyles_the_input_at_its_size_with_visibly_different_pixels(make_server, out_dir):
    import numpy as np

    source = out_dir / "photo.png"
    Image.open(io.BytesIO(media.image(160, 96))).save(source)
    result = await _call(make_server(), prompt="paint it", input_images=[str(source)], style="starry-swirl")
    assert not result.is_error, result.content
    data = result.structured_content
    item = data["items"][0]
    assert (data["backend"], data["model"]) == ("local", "local-styletransfer")
    assert (item["width"], item["height"]) == (160, 96)
    assert item["metadata"] == {"operation": "restyle", "style": "starry-swirl", "style_index": 19}
    assert item["warnings"] and "not interpreted" in item["warnings"][0]
    with Image.open(source) as before, Image.open(item["path"]) as after:
        diff = np.abs(np.asarray(before.convert("RGB"), float) - np.asarray(after.convert("RGB"), float))
    assert diff.mean() > 20


async def test_an_unknown_style_is_one_line_listing_every_style_and_writes_nothing(make_server, out_dir):
    source = _picture(out_dir, "photo.png", (64, 64))
    result = await _call(make_server(), prompt="x", input_images=[str(source)], style="cubism", backend="local")
    text = result.content[0].text
    assert result.is_error and "\n" not in text
    assert "0=sandstone" in text and "25=dark-mosaic" in text
    assert sorted(p.name for p in out_dir.iterdir()) == ["photo.png"]


@pytest.mark.skipif(upscale_missing() is not None, reason=f"upscale: {upscale_missing()}")
async def test_an_input_image_without_a_style_is_upscaled_four_times(make_server, out_dir):
    source = _picture(out_dir, "small.png", (48, 32))
    result = await _call(make_server(), input_images=[str(source)])
    assert not result.is_error, result.content
    data = result.structured_content
    item = data["items"][0]
    assert data["model"] == "local-realesrgan-x4"
    assert (item["width"], item["height"]) == (192, 128)
    assert item["metadata"] == {"operation": "upscale", "scale": 4}


# --- video ------------------------------------------------------------------------------------


def _decode(path: Path) -> tuple[int, float, list[str], tuple[int, int]]:
    """(decoded video frames, seconds, codec names, frame size), decoding every frame."""
    import av

    with av.open(str(path)) as container:
        codecs = [s.codec_context.name for s in container.streams]
        stream = container.streams.video[0]
        size = (stream.codec_context.width, stream.codec_context.height)
        frames = sum(1 for _ in container.decode(video=0))
        seconds = container.duration / 1_000_000
    return frames, seconds, codecs, size


async def test_a_slideshow_of_the_input_images_decodes_fully_at_the_requested_length(make_server, out_dir):
    pictures = [_picture(out_dir, f"p{i}.png", (120, 90), c) for i, c in enumerate([(200, 40, 40), (40, 200, 90)])]
    result = await _call(
        make_server(),
        media_type="video",
        prompt="Two colours.",
        input_images=[str(p) for p in pictures],
        duration=3,
        size="360p",
    )
    assert not result.is_error, result.content
    data = result.structured_content
    item = data["items"][0]
    assert (data["backend"], data["model"]) == ("local", "local-slideshow")
    assert item["metadata"] == {"composition": "slideshow", "slides": 2, "narration": True}
    frames, seconds, codecs, size = _decode(Path(item["path"]))
    assert codecs == ["h264", "aac"] and size == (640, 360)
    assert seconds == pytest.approx(3.0, abs=0.15) and frames == pytest.approx(90, abs=3)
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".gm-partial-")]


async def test_a_slideshow_without_images_uses_labelled_placeholder_slides_and_lasts_as_long_as_the_words(
    make_server,
):
    result = await _call(
        make_server(), media_type="video", prompt="Hello hills.", backend="local", size="360p", aspect_ratio="1:1"
    )
    assert not result.is_error, result.content
    assert result.structured_content["model"] == "local-placeholder-slideshow"
    item = result.structured_content["items"][0]
    assert item["placeholder"] is True and "[PLACEHOLDER" in result.content[0].text
    assert item["metadata"]["placeholder_slides"] is True and "PLACEHOLDER" in item["warnings"][0]
    _, seconds, codecs, size = _decode(Path(item["path"]))
    assert "aac" in codecs and size == (360, 360)
    assert 2.0 <= seconds <= 5.0  # two words spoken plus a second of picture


def _ffmpeg_children() -> list[int]:
    """PIDs of ffmpeg processes whose parent is this test process."""
    import os

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"ffmpeg" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find child processes")
async def test_cancelling_a_slideshow_kills_ffmpeg_and_leaves_no_partial_file(make_server, out_dir):
    service = make_server().media_service
    encoding = anyio.Event()

    async def progress(done: float, total: float | None, message: str) -> None:
        if "encoding" in message:
            encoding.set()

    args = {"media_type": "video", "backend": "local", "duration": 60, "size": "360p", "generate_audio": False}
    args["prompt"] = "A long slideshow that will be cancelled."
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.generate, args, None, progress)
            await encoding.wait()
            assert _ffmpeg_children()
            tg.cancel_scope.cancel()
        while _ffmpeg_children():  # reaped promptly; bounded by fail_after
            await anyio.sleep(0.05)
    assert list(out_dir.iterdir()) == []
