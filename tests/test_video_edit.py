"""Editing a supplied video (``input_video``), reference-image limits and last frames, through an MCP
client against the loopback fakes: what Gemini Omni and xAI receive, the file written, and the
refusals that come before any paid request."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from mcp import Client

from generate_media.registry import load_registry
from generate_media.spec import MediaType
from tests.fakes import media
from tests.videohelp import data_uri_image, leftovers, video_seconds

GEMINI, XAI = "GEMINI_API_KEY", "XAI_API_KEY"


def _clip(folder: Path, seconds: float = 2.0, name: str = "source.mp4") -> Path:
    path = folder / name
    path.write_bytes(media.mp4(seconds))
    return path


def _posts(fake, provider: str, path: str) -> list:
    return [r for r in fake.of(provider, path) if r.method == "POST"]


def _one_line(result, *words: str) -> None:
    text = result.content[0].text
    assert result.is_error and "\n" not in text, text
    assert all(w in text for w in words), text


async def test_omni_edits_a_supplied_video_sent_as_a_video_block(make_server, fake, out_dir):
    source = _clip(out_dir, 2.0)
    fake.state["video_seconds"] = 2.0
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "make it snow", "input_video": str(source)}
        )
    assert not result.is_error, result.content
    [sent] = _posts(fake, "google", "/interactions")
    body = sent.json
    assert body["model"] == "gemini-omni-1.2-flash"
    [turn] = body["input"]
    text, video = turn["content"]
    assert text == {"type": "text", "text": "make it snow"}
    assert video["type"] == "video" and video["mime_type"] == "video/mp4"
    assert base64.b64decode(video["data"]) == source.read_bytes()
    assert body["generation_config"] == {"video_config": {"task": "edit"}}
    assert "aspect_ratio" not in body["response_format"]
    item = result.structured_content["items"][0]
    assert item["mime_type"] == "video/mp4" and video_seconds(item["path"]) == pytest.approx(2.0, abs=0.15)
    assert item["metadata"]["task"] == "edit" and item["continuation_id"].startswith("gemini_vid_")
    assert source.read_bytes() == media.mp4(2.0) and leftovers(out_dir) == []


async def test_omni_extends_a_supplied_video_with_reference_images_after_it(make_server, fake, out_dir):
    source = _clip(out_dir, 3.0)
    refs = []
    for i in range(2):
        ref = out_dir / f"hat{i}.png"
        ref.write_bytes(media.png(32, 32))
        refs.append(str(ref))
    args = {"media_type": "video", "prompt": "he walks on", "input_video": str(source), "duration": 6}
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool("generate_media", {**args, "reference_images": refs})
    assert not result.is_error, result.content
    body = _posts(fake, "google", "/interactions")[0].json
    assert [b["type"] for b in body["input"][0]["content"]] == ["text", "video", "image", "image"]
    assert body["generation_config"]["video_config"]["task"] == "extend"
    assert body["response_format"]["duration"] == "6s"


async def test_grok_edits_a_video_given_by_url_after_the_url_checks(make_server, fake, out_dir):
    url = f"{fake.url}/files/clip.mp4"
    args = {"media_type": "video", "prompt": "night time", "input_video": url, "backend": "grok"}
    async with Client(make_server(XAI)) as client:
        refused = await client.call_tool("generate_media", args)  # loopback: refused unless allowed
    _one_line(refused, "GENERATE_MEDIA_ALLOW")
    assert fake.of("xai") == []
    server = make_server(XAI, allow_http_urls=True, allow_private_urls=True)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", args)
    assert not result.is_error, result.content
    [sent] = _posts(fake, "xai", "/videos/edits")
    assert sent.json["model"] == "grok-imagine-video" and sent.json["prompt"] == "night time"
    header, _, payload = sent.json["video"]["url"].partition(",")
    assert header == "data:video/mp4;base64" and base64.b64decode(payload) == media.mp4(2.0)
    assert "duration" not in sent.json and fake.of("xai", "/videos/generations") == []
    item = result.structured_content["items"][0]
    assert item["metadata"]["operation"] == "edits" and Path(item["path"]).suffix == ".mp4"


async def test_an_earlier_output_of_another_backend_is_extended_by_its_continuation_id(make_server, fake, out_dir):
    fake.state["video_seconds"] = 3.0
    async with Client(make_server(GEMINI, XAI)) as client:
        first = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "a fox", "backend": "google"}
        )
        item = first.structured_content["items"][0]
        extended = await client.call_tool(
            "generate_media",
            {
                "media_type": "video",
                "prompt": "the fox runs off",
                "input_video": item["continuation_id"],
                "backend": "grok",
                "duration": 4,
            },
        )
    assert not extended.is_error, extended.content
    [sent] = _posts(fake, "xai", "/videos/extensions")
    assert sent.json["duration"] == 4
    assert base64.b64decode(sent.json["video"]["url"].partition(",")[2]) == Path(item["path"]).read_bytes()


async def test_a_media_resource_link_of_this_client_is_an_input_video(make_settings, fake):
    from generate_media.server import create_server
    from generate_media.service import MediaService

    settings = make_settings(GEMINI)
    fake.state["video_seconds"] = 2.0
    server = create_server(settings, service=MediaService(settings), resource_links="media")
    async with Client(server) as client:
        first = await client.call_tool("generate_media", {"media_type": "video", "prompt": "a boat"})
        [link] = [b for b in first.content if b.type == "resource_link"]
        assert str(link.uri).startswith("media://outputs/")
        edit = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "at night", "input_video": str(link.uri)}
        )
        unknown = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "x", "input_video": "media://outputs/" + "0" * 24},
        )
    assert not edit.is_error, edit.content
    source = Path(first.structured_content["items"][0]["path"]).read_bytes()
    video = _posts(fake, "google", "/interactions")[-1].json["input"][0]["content"][1]
    assert base64.b64decode(video["data"]) == source
    _one_line(unknown, "unknown resource")
    assert len(_posts(fake, "google", "/interactions")) == 2


async def test_refusals_come_before_any_paid_request(make_server, fake, out_dir, tmp_path):
    inside = _clip(out_dir, 2.0)
    outside = _clip(tmp_path, 2.0, "elsewhere.mp4")
    long = _clip(out_dir, 16.0, "long.mp4")
    picture = out_dir / "still.png"
    picture.write_bytes(media.png(16, 16))
    refs = [str(picture)] * 8
    video = {"media_type": "video", "prompt": "x"}
    cases = [
        ({**video, "input_video": str(inside), "model": "grok-imagine-video-1.5"}, "takes no input_video"),
        ({**video, "input_video": str(inside), "model": "veo-3.1-generate-001"}, "takes no input_video"),
        ({"prompt": "x", "input_video": str(inside)}, "takes no input_video"),  # an image model
        ({**video, "input_video": str(outside)}, "outside"),
        ({**video, "input_video": str(picture)}, "not video"),
        ({**video, "input_video": str(long), "backend": "google"}, "up to 15 s"),
        ({**video, "input_video": str(inside), "continue_from": "gemini_vid_x"}, "input_video or continue_from"),
        ({**video, "reference_images": refs, "backend": "grok"}, "8 reference_images exceed", "limit of 7"),
        ({**video, "reference_images": refs[:4], "model": "veo-3.1-generate-001"}, "limit of 3"),
        ({**video, "reference_images": refs[:1], "model": "veo-3.1-lite-generate-001"}, "takes no reference_images"),
    ]
    async with Client(make_server(GEMINI, XAI, "OPENAI_API_KEY")) as client:
        for arguments, *words in cases:
            _one_line(await client.call_tool("generate_media", arguments), *words)
        assert (await client.list_tools()).tools
    assert [r for r in fake.requests if r.method == "POST"] == []
    assert sorted(p.name for p in out_dir.iterdir()) == ["long.mp4", "source.mp4", "still.png"]


async def test_grok_refuses_a_source_too_long_to_edit_before_submitting(make_server, fake, out_dir):
    source = _clip(out_dir, 9.0)
    async with Client(make_server(XAI)) as client:
        edit = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "x", "input_video": str(source)}
        )
    _one_line(edit, "up to 8.7 s", "give duration to extend")
    assert fake.of("xai") == []


async def test_omni_1_1_takes_a_last_frame(make_server, fake, out_dir):
    first, last = out_dir / "first.png", out_dir / "last.png"
    first.write_bytes(media.png(160, 90))
    last.write_bytes(media.png(160, 90))
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool(
            "generate_media",
            {
                "media_type": "video",
                "prompt": "dusk to night",
                "model": "gemini-omni-1.1-flash",
                "input_images": [str(first)],
                "last_frame": str(last),
            },
        )
    assert not result.is_error, result.content
    body = _posts(fake, "google", "/interactions")[0].json
    assert body["model"] == "gemini-omni-1.1-flash"
    assert [b["type"] for b in body["input"][0]["content"]] == ["text", "image", "image"]


def test_every_video_model_declares_its_reference_limit_and_input_video():
    declared = {
        (spec.name, m.id): (m.max_reference_images, m.input_video, "last_frame" in m.options)
        for spec in load_registry()
        for mt, m in spec.models()
        if mt is MediaType.VIDEO and m.status_on(__import__("datetime").date(2026, 12, 3)) == "current"
    }
    assert declared[("google", "gemini-omni-1.2-flash")] == (6, True, True)
    assert declared[("google", "gemini-omni-1.1-flash")] == (3, False, True)
    assert declared[("google", "veo-3.1-generate-001")] == (3, False, True)
    assert declared[("google", "veo-3.1-lite-generate-001")] == (0, False, True)
    assert declared[("grok", "grok-imagine-video")] == (7, True, False)
    assert declared[("grok", "grok-imagine-video-1.5")] == (7, False, True)


async def test_grok_1_5_pins_a_last_frame_beside_the_first(make_server, fake, out_dir):
    first, last = out_dir / "first.png", out_dir / "last.png"
    first.write_bytes(media.png(160, 90))
    last.write_bytes(media.png(90, 160))  # portrait: cropped or letterboxed to the 16:9 frame
    args = {"media_type": "video", "prompt": "sunrise to noon", "input_images": [str(first)], "last_frame": str(last)}
    async with Client(make_server(XAI)) as client:
        pinned = await client.call_tool(
            "generate_media", {**args, "model": "grok-imagine-video-1.5", "aspect_ratio": "16:9"}
        )
        refused = await client.call_tool("generate_media", {**args, "model": "grok-imagine-video"})
    assert not pinned.is_error, pinned.content
    [sent] = _posts(fake, "xai", "/videos/generations")
    assert sent.json["model"] == "grok-imagine-video-1.5"
    assert data_uri_image(sent.json["image"]["url"]) == (160, 90)
    width, height = data_uri_image(sent.json["last_frame"]["url"])
    assert abs(width / height - 16 / 9) < 0.02
    assert any(w.startswith("last frame") for w in pinned.structured_content["items"][0]["warnings"])
    _one_line(refused, "grok-imagine-video does not support last_frame")
