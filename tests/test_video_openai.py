"""OpenAI (Sora) video through an MCP client against the loopback OpenAI fake (OpenAPI-validated)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.fakes import media
from tests.videohelp import Progress, image_size, leftovers, until, video_seconds

OPENAI = "OPENAI_API_KEY"


async def test_a_prompt_becomes_an_mp4_with_the_multipart_request_on_the_wire(make_server, fake, out_dir, mode):
    fake.state["openai_video_seconds"] = 2.0
    async with Client(make_server(OPENAI), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "a lighthouse", "duration": 8, "aspect_ratio": "16:9"}
        )
    assert not result.is_error, result.content
    [sent] = fake.of("openai", "/videos")[:1]
    assert sent.method == "POST" and sent.path.endswith("/videos")
    assert sent.form == {"model": "sora-2", "prompt": "a lighthouse", "seconds": "8", "size": "1280x720"}
    assert fake.of("openai", "/content")[0].query["variant"] == "video"
    data = result.structured_content
    assert data["backend"] == "openai" and data["model"] == "sora-2"
    assert any("deprecated" in w and "2026-09-24" in w for w in data["warnings"])
    item = data["items"][0]
    assert item["continuation_id"].startswith("sora_vid_") and item["metadata"]["video_id"].startswith("video_")
    assert video_seconds(item["path"]) == pytest.approx(2.0, abs=0.15)
    assert leftovers(out_dir) == []


async def test_the_providers_poll_hint_is_honoured_over_the_configured_interval(make_server, fake):
    fake.state["openai_poll_after_ms"] = 5
    fake.state["openai_video_plan"] = [("queued", 0), ("in_progress", 30), ("in_progress", 70), ("completed",)]
    progress = Progress()
    async with Client(make_server(OPENAI, poll_interval_s=30.0)) as client:
        with anyio.fail_after(10):  # a 30 s interval would blow this bound; the 5 ms hint does not
            result = await client.call_tool(
                "generate_media", {"media_type": "video", "prompt": "quick"}, progress_callback=progress
            )
    assert result.structured_content["status"] == "completed", result.content
    assert progress.values == sorted(progress.values)
    assert any("70%" in m for m in progress.messages)


@pytest.mark.parametrize(
    ("source", "arguments", "expected", "how"),
    [
        ((64, 64), {}, (1280, 720), "letterboxed"),
        ((100, 160), {"aspect_ratio": "9:16"}, (720, 1280), "cropped"),
    ],
)
async def test_the_input_reference_is_fitted_to_the_exact_output_size(
    make_server, fake, out_dir, source, arguments, expected, how
):
    src = out_dir / "frame.png"
    src.write_bytes(media.png(*source))
    async with Client(make_server(OPENAI)) as client:
        result = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "move", "input_images": [str(src)], **arguments}
        )
    assert not result.is_error, result.content
    sent = fake.of("openai", "/videos")[0]
    [(_name, data, mime)] = sent.files("input_reference")
    assert image_size(data) == expected and mime == "image/png"
    assert sent.form["size"] == f"{expected[0]}x{expected[1]}"
    assert any(how in w for w in result.structured_content["items"][0]["warnings"])


async def test_a_remix_goes_to_openai_even_when_grok_ranks_higher(make_server, fake):
    async with Client(make_server(OPENAI, "XAI_API_KEY")) as client:
        first = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "a car", "backend": "openai"}
        )
        item = first.structured_content["items"][0]
        remix = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "make it red", "continue_from": item["continuation_id"]}
        )
    assert not remix.is_error, remix.content
    [sent] = fake.of("openai", "/remix")
    assert sent.path.endswith(f"/videos/{item['metadata']['video_id']}/remix")
    assert sent.json == {"prompt": "make it red"}
    assert remix.structured_content["backend"] == "openai" and remix.structured_content["model"] == "sora-2"
    assert fake.of("xai") == []


async def test_cancelling_the_call_deletes_the_provider_job_and_leaves_no_file(make_server, fake, out_dir):
    fake.state["openai_video_hold"] = True
    server = make_server(OPENAI)
    async with Client(server) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", {"media_type": "video", "prompt": "stop", "wait_s": 0})
            await until(lambda: len([r for r in fake.of("openai", "/videos/") if r.method == "GET"]) >= 2)
            tg.cancel_scope.cancel()
        deleted = await until(lambda: [r for r in fake.of("openai", "/videos/") if r.method == "DELETE"])
        assert len(deleted) == 1
        await until(lambda: [r.state for r in server.media_service.jobs.list()] == ["cancelled"])
        assert list(out_dir.iterdir()) == []
        after = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "x", "duration": 5, "backend": "openai"}
        )
        assert after.is_error and "accepted seconds: 4, 8, 12" in after.content[0].text


async def test_a_failed_render_is_an_error_and_the_job_is_recorded_failed(make_server, fake, out_dir):
    fake.state["openai_video_plan"] = [("in_progress", 10), ("failed", "internal render error")]
    server = make_server(OPENAI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x"})
        job_id = result.structured_content["error"]["job_id"]
        again = await client.call_tool("generate_media", {"job_id": job_id})
    assert result.is_error and "internal render error" in result.content[0].text
    assert again.is_error and "failed" in again.content[0].text
    assert len(fake.of("openai", "/videos")) == 3  # create + 2 polls; the resume did not call the provider
    assert not list(Path(out_dir).iterdir())
