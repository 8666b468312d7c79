"""Google video through an MCP client: Gemini Omni (Interactions API) and Veo (Vertex express)."""

from __future__ import annotations

import base64
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conftest import KEYS
from tests.fakes import media
from tests.videohelp import image_size, leftovers, until, video_seconds

GEMINI = "GEMINI_API_KEY"


async def test_omni_renders_an_mp4_with_the_interaction_request_on_the_wire(make_server, fake, out_dir, mode):
    fake.state["video_seconds"] = 2.0
    async with Client(make_server(GEMINI), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "a paper boat", "duration": 5, "aspect_ratio": "9:16", "size": "720p"},
        )
    assert not result.is_error, result.content
    [sent] = [r for r in fake.of("google", "/interactions") if r.method == "POST"]
    assert sent.path == "/gemini/v1beta/interactions" and sent.headers["x-goog-api-key"] == KEYS["GEMINI_API_KEY"]
    body = sent.json
    assert body["model"] == "gemini-omni-1.2-flash" and body["background"] is True
    assert body["response_modalities"] == ["video"]
    assert body["input"] == [{"type": "user_input", "content": [{"type": "text", "text": "a paper boat"}]}]
    assert body["response_format"] == {
        "type": "video",
        "delivery": "uri",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "duration": "5s",
    }
    assert body["generation_config"] == {"video_config": {"task": "text_to_video"}}
    [download] = fake.of("google", "/files/")
    assert download.path.startswith("/gemini/v1beta/files/") and download.path.endswith(":download")
    item = result.structured_content["items"][0]
    assert result.structured_content["backend"] == "google" and item["continuation_id"].startswith("gemini_vid_")
    assert video_seconds(item["path"]) == pytest.approx(2.0, abs=0.15)
    assert leftovers(out_dir) == []


async def test_an_inline_video_is_written_too(make_server, fake):
    fake.state["gemini_video_inline"] = True
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x", "backend": "google"})
    assert result.structured_content["items"][0]["mime_type"] == "video/mp4", result.content
    assert fake.of("google", "/files/") == []


async def test_a_portrait_first_frame_sets_9_16_and_is_cropped_to_it(make_server, fake, out_dir):
    src = out_dir / "portrait.png"
    src.write_bytes(media.png(60, 100))
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "wave", "input_images": [str(src)], "backend": "google"},
        )
    assert not result.is_error, result.content
    body = fake.of("google", "/interactions")[0].json
    assert body["response_format"]["aspect_ratio"] == "9:16"
    assert body["generation_config"]["video_config"]["task"] == "image_to_video"
    image = body["input"][0]["content"][1]
    assert image["type"] == "image" and image["mime_type"] == "image/png"
    assert image_size(base64.b64decode(image["data"])) == (56, 100)
    assert any("cropped" in w for w in result.structured_content["items"][0]["warnings"])


async def test_continuing_edits_or_extends_the_earlier_interaction(make_server, fake):
    async with Client(make_server(GEMINI, "XAI_API_KEY")) as client:
        first = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "a fox", "backend": "google"}
        )
        item = first.structured_content["items"][0]
        cid = item["continuation_id"]
        edit = await client.call_tool("generate_media", {"media_type": "video", "prompt": "snow", "continue_from": cid})
        extend = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "run on", "continue_from": cid, "duration": 4}
        )
    assert not edit.is_error and not extend.is_error, (edit.content, extend.content)
    posts = [r.json for r in fake.of("google", "/interactions") if r.method == "POST"]
    origin = item["metadata"]["interaction_id"]
    assert [p.get("previous_interaction_id") for p in posts] == [None, origin, origin]
    assert [p["generation_config"]["video_config"]["task"] for p in posts] == ["text_to_video", "edit", "extend"]
    assert posts[2]["response_format"]["duration"] == "4s"
    assert edit.structured_content["backend"] == "google" and fake.of("xai") == []


async def test_cancelling_the_call_cancels_the_interaction(make_server, fake, out_dir):
    fake.state["gemini_video_hold"] = True
    server = make_server(GEMINI)
    async with Client(server) as client:
        async with anyio.create_task_group() as tg:
            args = {"media_type": "video", "prompt": "stop", "wait_s": 0, "backend": "google"}
            tg.start_soon(client.call_tool, "generate_media", args)
            await until(lambda: len([r for r in fake.of("google", "/interactions/") if r.method == "GET"]) >= 2)
            tg.cancel_scope.cancel()
        [cancel] = await until(lambda: fake.of("google", "/cancel"))
        assert cancel.path.startswith("/gemini/v1beta/interactions/") and cancel.method == "POST"
        await until(lambda: _states(server, ["cancelled"]))
        assert list(out_dir.iterdir()) == []
        assert (await client.list_tools()).tools


async def test_a_failed_interaction_is_an_error_with_its_reason(make_server, fake, out_dir):
    fake.state["gemini_video_plan"] = [("in_progress",), ("failed", "the prompt was blocked for safety")]
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x", "backend": "google"})
    assert result.is_error and result.structured_content["error"]["code"] == "safety_blocked"
    assert "blocked for safety" in result.content[0].text and list(out_dir.iterdir()) == []


async def test_omni_1_2_takes_a_last_frame_as_a_second_image_and_up_to_15_seconds(make_server, fake, out_dir):
    first, last = out_dir / "first.png", out_dir / "last.png"
    first.write_bytes(media.png(160, 90))
    last.write_bytes(media.png(160, 90))
    args = {"media_type": "video", "prompt": "a sunrise", "input_images": [str(first)], "aspect_ratio": "16:9"}
    async with Client(make_server(GEMINI)) as client:
        framed = await client.call_tool("generate_media", {**args, "last_frame": str(last), "duration": 8})
        too_long = await client.call_tool("generate_media", {**args, "last_frame": str(last), "duration": 12})
        long = await client.call_tool("generate_media", {"media_type": "video", "prompt": "a long pan", "duration": 15})
    assert not framed.is_error, framed.content
    assert framed.structured_content["model"] == "gemini-omni-1.2-flash"
    posts = [r for r in fake.of("google", "/interactions") if r.method == "POST" and r.json]
    body = posts[0].json
    blocks = body["input"][0]["content"]
    assert [b["type"] for b in blocks] == ["text", "image", "image"]
    assert body["generation_config"] == {"video_config": {"task": "image_to_video"}}
    assert too_long.is_error and "at most 10 s" in too_long.content[0].text
    assert not long.is_error, long.content
    posts = [r for r in fake.of("google", "/interactions") if r.method == "POST" and r.json]
    assert long.structured_content["model"] == "gemini-omni-1.2-flash"
    assert posts[-1].json["response_format"]["duration"] == "15s"
    assert len(posts) == 2  # the 12 s clip with a last frame was never sent


async def test_more_reference_images_than_omni_takes_are_refused_before_the_call(make_server, fake, out_dir):
    refs = []
    for i in range(7):
        path = out_dir / f"ref{i}.png"
        path.write_bytes(media.png(16, 16))
        refs.append(str(path))
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "x", "reference_images": refs}
        )
    assert result.is_error and "limit of 6" in result.content[0].text
    assert fake.of("google", "/interactions") == []


async def test_a_last_frame_on_veo_goes_to_vertex_express(make_server, fake, out_dir):
    first, last = out_dir / "first.png", out_dir / "last.png"
    first.write_bytes(media.png(160, 90))
    last.write_bytes(media.png(160, 90))
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool(
            "generate_media",
            {
                "media_type": "video",
                "prompt": "a sunrise",
                "backend": "google",
                "model": "veo-3.1-generate-001",
                "input_images": [str(first)],
                "last_frame": str(last),
                "duration": 6,
                "aspect_ratio": "16:9",
            },
        )
    assert not result.is_error, result.content
    assert result.structured_content["model"] == "veo-3.1-generate-001"
    [sent] = fake.of("google", ":predictLongRunning")
    assert sent.path == "/vertex/v1beta1/publishers/google/models/veo-3.1-generate-001:predictLongRunning"
    instance = sent.json["instances"][0]
    assert instance["prompt"] == "a sunrise"
    assert instance["image"]["mimeType"] == "image/png" and instance["lastFrame"]["bytesBase64Encoded"]
    assert sent.json["parameters"]["durationSeconds"] == 6 and sent.json["parameters"]["aspectRatio"] == "16:9"
    assert len(fake.of("google", ":fetchPredictOperation")) >= 2
    assert Path(result.structured_content["items"][0]["path"]).suffix == ".mp4"
    assert fake.of("google", "/interactions") == []


async def test_veo_lists_its_accepted_durations(make_server, fake):
    async with Client(make_server(GEMINI)) as client:
        result = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "x", "backend": "google", "model": "veo-3.1-generate-001", "duration": 5},
        )
    assert result.is_error and "accepted seconds: 4, 6, 8" in result.content[0].text
    assert fake.of("google") == []


async def _states(server, expected: list[str]) -> bool:
    return [r.state for r in await server.media_service.jobs.list()] == expected
