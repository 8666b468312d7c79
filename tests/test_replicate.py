"""Replicate through an MCP client against the loopback predictions API: images with ``Prefer: wait``,
video as a resumable job keyed by the prediction id, and each fault Replicate can answer with."""

from __future__ import annotations

import base64
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conftest import KEYS
from tests.fakes import media
from tests.videohelp import Progress, leftovers, until, video_seconds

KEY = "REPLICATE_API_TOKEN"
TOKEN = "Bearer " + KEYS[KEY]


def _video(**arguments):
    return {"media_type": "video", "backend": "replicate", "prompt": "a fox in snow", **arguments}


async def test_an_image_comes_back_in_the_create_call_with_prefer_wait(make_server, fake, out_dir):
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool(
            "generate_media",
            {"prompt": "a red kite", "backend": "replicate", "aspect_ratio": "3:2", "output_format": "jpeg", "seed": 7},
        )
    assert not result.is_error, result.content
    [sent] = fake.of("replicate", "/models/")
    assert sent.path == "/replicate/v1/models/black-forest-labs/flux-2-pro/predictions"
    assert sent.headers["prefer"] == "wait=60" and sent.headers["authorization"] == TOKEN
    assert sent.json == {"input": {"prompt": "a red kite", "aspect_ratio": "3:2", "output_format": "jpg", "seed": 7}}
    assert fake.of("replicate", "/predictions/") == []  # finished inside the wait: no poll
    item = result.structured_content["items"][0]
    assert Path(item["path"]).parent == out_dir.resolve() and item["mime_type"] == "image/png"
    assert item["metadata"]["prediction_id"] and leftovers(out_dir) == []


async def test_a_slow_image_is_polled_with_progress_and_small_and_large_inputs_travel_right(make_server, fake, out_dir):
    fake.state["replicate_wait_finishes"] = False
    small, large = out_dir / "small.png", out_dir / "large.png"
    small.write_bytes(media.png(32, 32))
    large.write_bytes(media.noisy_png(400, 400))
    assert large.stat().st_size > 256 * 1024
    progress = Progress()
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool(
            "generate_media",
            {"prompt": "merge", "backend": "replicate", "input_images": [str(small), str(large)]},
            progress_callback=progress,
        )
    assert not result.is_error, result.content
    sent = fake.of("replicate", "/models/")[0].json["input"]["input_images"]
    assert base64.b64decode(sent[0].partition(",")[2]) == small.read_bytes()
    [upload] = fake.of("replicate", "/files")
    assert upload.files("content")[0][1] == large.read_bytes()
    assert sent[1].startswith(fake.url + "/replicate/v1/files/")
    assert len(fake.of("replicate", "/predictions/")) >= 2
    assert any(m and "rendering on black-forest-labs/flux-2-pro" in m for m in progress.messages)


async def test_a_video_job_sends_the_models_own_input_names_and_reports_progress(make_server, fake, out_dir):
    fake.state["replicate_seconds"] = 2.0
    frame = out_dir / "frame.png"
    frame.write_bytes(media.png(64, 36))
    progress = Progress()
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool(
            "generate_media",
            _video(model="minimax/h3", input_images=[str(frame)], duration=6, size="768p"),
            progress_callback=progress,
        )
    assert not result.is_error, result.content
    [sent] = fake.of("replicate", "/models/")
    assert sent.path.endswith("/models/minimax/h3/predictions") and "prefer" not in sent.headers
    inputs = sent.json["input"]
    assert inputs["duration"] == 6 and inputs["resolution"] == "768p" and inputs["prompt"] == "a fox in snow"
    assert base64.b64decode(inputs["first_frame_image"].partition(",")[2]) == frame.read_bytes()
    data = result.structured_content
    assert data["status"] == "completed" and data["job_id"].startswith("job_")
    path = Path(data["items"][0]["path"])
    assert path.suffix == ".mp4" and video_seconds(path) == pytest.approx(2.0, abs=0.15)
    assert any(e[1] == 100.0 and "45%" in (e[2] or "") for e in progress.events)
    assert progress.messages[-1] == "downloading from replicate"


async def test_pending_then_a_new_server_resumes_by_the_prediction_without_resubmitting(make_server, fake, out_dir):
    fake.state["replicate_hold"] = True
    async with Client(make_server(KEY)) as client:
        first = await client.call_tool("generate_media", _video(wait_s=0.05))
    pending = first.structured_content
    assert pending["status"] == "pending" and pending["job_id"]
    fake.state["replicate_hold"] = False
    async with Client(make_server(KEY)) as client:  # a restart over the same state directory
        done = await client.call_tool("generate_media", {"job_id": pending["job_id"]})
    assert done.structured_content["status"] == "completed", done.content
    assert len(fake.of("replicate", "/models/")) == 1 and len(list(out_dir.glob("*.mp4"))) == 1


async def test_cancelling_the_call_cancels_the_prediction_at_replicate(make_server, fake, out_dir):
    fake.state["replicate_hold"] = True
    server = make_server(KEY)
    async with Client(server) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", _video(wait_s=0))
            await until(lambda: len(fake.of("replicate", "/predictions/")) >= 2)
            tg.cancel_scope.cancel()
        await until(lambda: fake.of("replicate", "/cancel"))
    [cancel] = fake.of("replicate", "/cancel")
    pid = cancel.path.split("/")[-2]
    assert fake.state["replicate_predictions"][pid]["status"] == "canceled"
    await until(lambda: _all_cancelled(server))
    assert list(out_dir.glob("*.mp4")) == [] and leftovers(out_dir) == []


async def test_cancelling_a_slow_image_cancels_its_prediction(make_server, fake, out_dir):
    fake.state.update(replicate_wait_finishes=False, replicate_hold=True)
    async with Client(make_server(KEY)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", {"prompt": "slow", "backend": "replicate"})
            await until(lambda: len(fake.of("replicate", "/predictions/")) >= 2)
            tg.cancel_scope.cancel()
        await until(lambda: fake.of("replicate", "/cancel"))
    assert list(out_dir.iterdir()) == []


async def test_429_with_retry_after_and_a_5xx_poll_are_retried_without_a_second_prediction(make_server, fake):
    fake.inject(r"replicate:POST /replicate/v1/models/", status=429, headers={"retry-after": "1"}, body={
        "title": "Request was throttled", "detail": "Request was throttled. Expected available in 1 second.",
        "status": 429})  # fmt: skip
    fake.inject(r"replicate:GET /replicate/v1/predictions/", status=502, times=2)
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _video())
    assert result.structured_content["status"] == "completed", result.content
    assert len(fake.of("replicate", "/models/")) == 2  # the throttled create, then the one that ran
    assert len(fake.state["replicate_predictions"]) == 1


@pytest.mark.parametrize(
    ("state", "code", "text"),
    [
        ({"replicate_plan": [("starting",), ("processing", "5%"), ("failed", "CUDA out of memory")]},
         "provider_error", "CUDA out of memory"),
        ({"replicate_plan": [("starting",), ("failed", "NSFW content detected; flagged")]},
         "safety_blocked", "flagged"),
        ({"replicate_plan": [("processing", "1%"), ("canceled",)]}, "provider_error", "canceled at replicate"),
        ({"replicate_url_expired": True}, "not_found", "expired"),
    ],
)  # fmt: skip
async def test_a_job_that_ends_badly_is_a_one_line_error_and_no_file(make_server, fake, out_dir, state, code, text):
    fake.state.update(state)
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _video())
        assert result.is_error and result.structured_content["error"]["code"] == code, result.content
        assert text in result.content[0].text and "\n" not in result.content[0].text
        assert (await client.list_tools()).tools
    assert list(out_dir.iterdir()) == []


async def test_a_model_replicate_no_longer_serves_is_model_unavailable(make_server, fake):
    fake.state["replicate_gone"] = {"alibaba/wan-3"}
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _video())
    assert result.is_error and result.structured_content["error"]["code"] == "model_unavailable"
    assert "alibaba/wan-3" in result.content[0].text


async def test_auto_moves_past_a_gone_model_to_the_next_backend(make_server, fake):
    fake.state["replicate_gone"] = {"black-forest-labs/flux-2-pro"}
    async with Client(make_server(KEY, "XAI_API_KEY", env={"GENERATE_MEDIA_PRIORITY_IMAGE": "replicate"})) as client:
        result = await client.call_tool("generate_media", {"prompt": "x"})
    assert not result.is_error and result.structured_content["backend"] == "grok"
    assert "no longer served" in result.structured_content["warnings"][0]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"model": "minimax/h3", "size": "1080p", "duration": 10}, "1080p only at duration=6"),
        ({"model": "minimax/h3", "aspect_ratio": "16:9"}, "minimax/h3 takes no aspect_ratio"),
        ({"duration": 7}, "accepted seconds: 5, 10"),
    ],
)
async def test_a_value_the_model_does_not_take_is_refused_before_any_paid_call(make_server, fake, arguments, expected):
    async with Client(make_server(KEY)) as client:
        result = await client.call_tool("generate_media", _video(**arguments))
    assert result.is_error and expected in result.content[0].text, result.content
    assert fake.of("replicate", "/models/") == []


async def _all_cancelled(server) -> bool:
    return all(r.state == "cancelled" for r in await server.media_service.jobs.list())
