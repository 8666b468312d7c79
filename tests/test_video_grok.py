"""Grok video through an MCP client: a long job against the loopback xAI fake."""

from __future__ import annotations

import base64
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conftest import KEYS
from tests.fakes import media
from tests.videohelp import Progress, data_uri_image, leftovers, until, video_seconds

XAI = "XAI_API_KEY"


async def test_a_prompt_becomes_an_mp4_with_the_request_on_the_wire(make_server, fake, out_dir, mode):
    fake.state["xai_video_seconds"] = 2.0
    async with Client(make_server(XAI), mode=mode) as client:
        result = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "a cat surfing", "duration": 5, "aspect_ratio": "16:9", "size": "720p"},
        )
    assert not result.is_error, result.content
    [sent] = fake.of("xai", "/videos/generations")
    assert sent.json == {
        "model": "grok-imagine-video",
        "prompt": "a cat surfing",
        "duration": 5,
        "aspect_ratio": "16:9",
        "resolution": "720p",
    }
    assert sent.headers["authorization"] == f"Bearer {KEYS['XAI_API_KEY']}"
    assert len(fake.of("xai", "/_vidgen/")) == 1
    data = result.structured_content
    assert data["status"] == "completed" and data["backend"] == "grok" and data["job_id"].startswith("job_")
    item = data["items"][0]
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".mp4" and item["mime_type"] == "video/mp4"
    assert item["duration_s"] == pytest.approx(2.0, abs=0.15)
    assert video_seconds(path) == pytest.approx(2.0, abs=0.15)
    assert item["continuation_id"].startswith("grok_vid_")
    assert leftovers(out_dir) == []


async def test_progress_notifications_arrive_in_order_with_percentages(make_server, fake):
    fake.state["xai_video_plan"] = [("pending", 0), ("pending", 20), ("pending", 60), ("done",)]
    progress = Progress()
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "waves"}, progress_callback=progress
        )
    assert not result.is_error, result.content
    values = progress.values
    assert len(values) >= 5 and values == sorted(values) and len(set(values)) == len(values)
    assert progress.messages[0].startswith("submitting to grok/grok-imagine-video")
    rendering = [e for e in progress.events if (e[2] or "").startswith("rendering on grok-imagine-video")]
    assert rendering and all(" s elapsed" in (e[2] or "") for e in rendering)
    assert any(e[1] == 100.0 and "60%" in (e[2] or "") for e in rendering)
    assert progress.messages[-1] == "downloading from grok"


async def test_pending_then_resume_returns_the_file_without_a_second_submit(make_server, fake, out_dir):
    fake.state["xai_video_hold"] = True
    async with Client(make_server(XAI)) as client:
        first = await client.call_tool("generate_media", {"media_type": "video", "prompt": "slow", "wait_s": 0.05})
        pending = first.structured_content
        assert not first.is_error and pending["status"] == "pending"
        assert pending["job_id"] in pending["next_step"] and "job_id" in first.content[0].text
        fake.state["xai_video_hold"] = False
        done = await client.call_tool("generate_media", {"job_id": pending["job_id"]})
        polls = len(fake.of("xai", "/videos/"))
        again = await client.call_tool("generate_media", {"job_id": pending["job_id"]})
    assert done.structured_content["status"] == "completed"
    assert len(fake.of("xai", "/videos/generations")) == 1
    path = done.structured_content["items"][0]["path"]
    assert again.structured_content["items"][0]["path"] == path and Path(path).is_file()
    assert len(fake.of("xai", "/videos/")) == polls  # the finished job is answered from the record
    assert len(list(out_dir.glob("*.mp4"))) == 1


async def test_a_new_server_over_the_same_state_resumes_the_job(make_server, fake):
    fake.state["xai_video_hold"] = True
    async with Client(make_server(XAI)) as client:
        pending = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "restart me", "wait_s": 0.05}
        )
    job_id = pending.structured_content["job_id"]
    fake.state["xai_video_hold"] = False
    async with Client(make_server(XAI)) as client:  # a restart: new process state, same state_dir
        done = await client.call_tool("generate_media", {"job_id": job_id})
    assert done.structured_content["status"] == "completed", done.content
    assert len(fake.of("xai", "/videos/generations")) == 1


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"duration": 20}, "accepted seconds: 1 to 15"),
        ({"duration": 0}, "duration must be a positive number"),
        ({"aspect_ratio": "21:9"}, "accepted: 16:9, 9:16"),
        ({"size": "4k"}, "480p"),
    ],
)
async def test_a_value_the_model_does_not_take_is_an_error_listing_accepted_ones(
    make_server, fake, arguments, expected
):
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "x", "backend": "grok", **arguments}
        )
        assert result.is_error and expected in result.content[0].text and "\n" not in result.content[0].text
        assert [t.name for t in (await client.list_tools()).tools] == ["generate_media"]
    assert fake.of("xai") == []


async def test_1080p_picks_the_model_that_renders_it(make_server, fake):
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x", "size": "1080p"})
    assert result.structured_content["model"] == "grok-imagine-video-1.5"
    assert fake.of("xai", "/videos/generations")[0].json["model"] == "grok-imagine-video-1.5"


@pytest.mark.parametrize(
    ("source", "how", "expected"),
    [((100, 60), "cropped", (100, 56)), ((64, 48), "letterboxed", (85, 48))],
)
async def test_an_input_image_is_fitted_to_the_aspect_never_stretched(
    make_server, fake, out_dir, source, how, expected
):
    src = out_dir / "first.png"
    src.write_bytes(media.png(*source))
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "animate", "input_images": [str(src)], "aspect_ratio": "16:9"},
        )
    assert not result.is_error, result.content
    sent = fake.of("xai", "/videos/generations")[0].json
    assert data_uri_image(sent["image"]["url"]) == expected
    width, height = expected
    assert abs(width / height - 16 / 9) < 0.02
    assert any(how in w for w in result.structured_content["items"][0]["warnings"])


async def test_continuing_edits_the_saved_file_on_the_model_it_came_from(make_server, fake):
    fake.state["xai_video_seconds"] = 2.0  # xAI extends clips of 2 to 15 s
    async with Client(make_server(XAI, "OPENAI_API_KEY", "GEMINI_API_KEY")) as client:
        first = await client.call_tool(
            "generate_media", {"media_type": "video", "prompt": "a dog", "model": "grok-imagine-video"}
        )
        item = first.structured_content["items"][0]
        edit = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "make it night", "continue_from": item["continuation_id"]},
        )
        extend = await client.call_tool(
            "generate_media",
            {"media_type": "video", "prompt": "keep running", "continue_from": item["continuation_id"], "duration": 4},
        )
    assert not edit.is_error and not extend.is_error, (edit.content, extend.content)
    saved = Path(item["path"]).read_bytes()
    [sent_edit] = fake.of("xai", "/videos/edits")
    assert sent_edit.json["model"] == "grok-imagine-video" and sent_edit.json["prompt"] == "make it night"
    header, _, payload = sent_edit.json["video"]["url"].partition(",")
    assert header == "data:video/mp4;base64" and base64.b64decode(payload) == saved
    [sent_extend] = fake.of("xai", "/videos/extensions")
    assert sent_extend.json["duration"] == 4
    assert edit.structured_content["backend"] == "grok" and edit.structured_content["items"][0]["continuation_id"]


async def test_cancelling_the_call_leaves_no_file_and_a_repeat_attaches_to_the_running_job(make_server, fake, out_dir):
    fake.state["xai_video_hold"] = True
    server = make_server(XAI)
    args = {"media_type": "video", "prompt": "cancel me", "wait_s": 0}
    async with Client(server) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", args)
            await until(lambda: fake.of("xai", "/videos/") and len(fake.of("xai", "/videos/")) >= 3)
            tg.cancel_scope.cancel()
        await until(lambda: _none_queued(server))
        assert list(out_dir.glob("*.mp4")) == [] and leftovers(out_dir) == []
        [record] = await server.media_service.jobs.list()
        assert record.state == "running"  # xAI cannot cancel: the paid job stays resumable
        fake.state["xai_video_hold"] = False
        again = await client.call_tool("generate_media", args)
    assert again.structured_content["status"] == "completed" and again.structured_content["job_id"] == record.id
    assert len(fake.of("xai", "/videos/generations")) == 1


@pytest.mark.parametrize(
    ("plan", "code", "text"),
    [
        ([("failed", "blocked by content moderation")], "safety_blocked", "blocked by content moderation"),
        ([("failed", "bad frame")], "provider_error", "bad frame"),
        ([("expired",)], "provider_error", "start a new request"),
        ([("withheld",)], "safety_blocked", "rephrase"),
    ],
)
async def test_a_failed_job_is_an_error_with_the_providers_reason(make_server, fake, out_dir, plan, code, text):
    fake.state["xai_video_plan"] = plan
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x"})
        assert result.is_error and result.structured_content["error"]["code"] == code
        assert text in result.content[0].text
        assert (await client.list_tools()).tools
    assert list(out_dir.iterdir()) == []


async def test_an_expired_download_link_says_to_start_again(make_server, fake, out_dir):
    fake.state["xai_video_url_expired"] = True
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x"})
    assert result.is_error and "expired" in result.content[0].text and "start a new request" in result.content[0].text
    assert list(out_dir.iterdir()) == []


async def test_transient_poll_errors_are_retried_without_resubmitting(make_server, fake):
    fake.inject(r"xai:GET /xai/v1/videos/", status=503, times=2, headers={"retry-after": "0"})
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x"})
    assert result.structured_content["status"] == "completed", result.content
    assert len(fake.of("xai", "/videos/generations")) == 1


async def test_a_large_video_streams_to_disk_intact(make_server, fake, out_dir):
    fake.state["xai_video_big"] = 50
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "big"})
    assert not result.is_error, result.content
    path = Path(result.structured_content["items"][0]["path"])
    head = media.mp4(1.0)
    assert path.stat().st_size == len(head) + 8 + 50 * 1024 * 1024
    with path.open("rb") as fh:
        assert fh.read(len(head)) == head
    assert video_seconds(path) == pytest.approx(1.0, abs=0.15)


async def _none_queued(server) -> bool:
    return all(r.state != "queued" for r in await server.media_service.jobs.list())
