"""Long-job behaviour common to every video backend: wait budget, durability, scoping, deadline,
outages, concurrency. Grok and OpenAI fakes serve as the provider."""

from __future__ import annotations

from pathlib import Path

import anyio
from mcp import Client

from generate_media.service import Caller
from tests.videohelp import job_records

XAI = "XAI_API_KEY"
VIDEO = {"media_type": "video", "prompt": "a long render"}


async def test_the_servers_wait_budget_applies_and_wait_s_0_waits_to_the_end(make_server, fake, tmp_path):
    fake.state["xai_video_plan"] = [("pending", 5)] * 8 + [("done",)]
    async with Client(make_server(XAI, wait_budget_s=0.02, poll_interval_s=0.01)) as client:
        pending = await client.call_tool("generate_media", VIDEO)
        waited = await client.call_tool("generate_media", {**VIDEO, "prompt": "another", "wait_s": 0})
    assert pending.structured_content["status"] == "pending"
    assert waited.structured_content["status"] == "completed", waited.content
    records = await job_records(tmp_path / "state")
    [first] = [r for r in records if r["request"]["prompt"] == "a long render"]
    assert first["handle"]["request_id"] and first["state"] in ("queued", "running")  # durable, resumable


async def test_a_job_id_is_unknown_to_another_principal(make_server, fake):
    fake.state["xai_video_hold"] = True
    service = make_server(XAI).media_service
    pending = await service.generate({**VIDEO, "wait_s": 0.02}, Caller(principal="alice", session="a"))
    job_id = pending.result.job_id
    fake.state["xai_video_hold"] = False
    try:
        await service.generate({"job_id": job_id}, Caller(principal="bob", session="b"))
    except Exception as exc:
        assert getattr(exc, "code", "") == "not_found" and "unknown job id" in str(exc)
    else:
        raise AssertionError("bob resumed alice's job")
    done = await service.generate({"job_id": job_id}, Caller(principal="alice", session="a2"))
    assert done.result.status == "completed"


async def test_a_provider_outage_while_polling_keeps_the_job_resumable_and_never_fails_over(make_server, fake):
    fake.inject(r"xai:GET /xai/v1/videos/", status=503, times=50, headers={"retry-after": "0"})
    async with Client(make_server(XAI, "OPENAI_API_KEY")) as client:
        lost = await client.call_tool("generate_media", VIDEO)
        assert lost.is_error and "call again with job_id" in lost.content[0].text
        job_id = lost.structured_content["error"]["job_id"]
        fake.faults.clear()
        done = await client.call_tool("generate_media", {"job_id": job_id})
    assert done.structured_content["status"] == "completed", done.content
    assert len(fake.of("xai", "/videos/generations")) == 1 and fake.of("openai") == []


async def test_a_job_past_its_deadline_is_cancelled_at_the_provider(make_server, fake, out_dir):
    fake.state["gemini_video_hold"] = True
    async with Client(make_server("GEMINI_API_KEY", job_deadline_s=0.05)) as client:
        result = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0})
    assert result.is_error and "GENERATE_MEDIA_JOB_DEADLINE_S" in result.content[0].text
    assert len(fake.of("google", "/cancel")) == 1
    assert list(out_dir.iterdir()) == []


async def test_concurrent_resumes_of_one_job_make_one_file(make_server, fake, out_dir):
    fake.state["xai_video_hold"] = True
    async with Client(make_server(XAI)) as client:
        pending = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0.02})
        job_id = pending.structured_content["job_id"]
        fake.state["xai_video_hold"] = False
        results: list = []

        async def resume() -> None:
            results.append(await client.call_tool("generate_media", {"job_id": job_id}))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(resume)
                tg.start_soon(resume)
    paths = {r.structured_content["items"][0]["path"] for r in results}
    assert len(paths) == 1 and Path(paths.pop()).is_file()
    assert len(fake.of("xai", "/_vidgen/")) == 1 and len(list(out_dir.glob("*.mp4"))) == 1


async def test_a_video_batch_is_refused_with_the_next_move(make_server, fake):
    async with Client(make_server(XAI)) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompts": ["a", "b"]})
    assert result.is_error and "call once per video" in result.content[0].text
    assert fake.of("xai") == []


async def test_a_job_record_left_mid_submit_says_to_start_again(make_server, fake, tmp_path):
    server = make_server(XAI)
    record = await server.media_service.jobs.new(
        owner="local", backend="grok", media_type="video", model="grok-imagine-video", request=dict(VIDEO)
    )
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"job_id": record.id})
    assert result.is_error and "start a new request" in result.content[0].text
    assert fake.of("xai") == []


def test_the_long_job_decision_is_declared_on_the_model():
    """A model declared ``long_job`` runs through submit/poll/fetch/cancel; a backend with those
    methods declares which of its models use them (nothing is guessed from the methods)."""
    from generate_media.registry import load_registry

    registry = load_registry()
    declared = 0
    for spec in registry:
        for media, support in spec.media.items():
            runner = getattr(registry.implementation(spec.name), media.value)
            is_job_runner = all(hasattr(runner, m) for m in ("submit", "poll", "fetch", "cancel"))
            long_models = [m.id for m in support.models if m.long_job]
            declared += len(long_models)
            assert not long_models or is_job_runner, (spec.name, media, long_models)
            assert long_models or not hasattr(runner, "submit"), (spec.name, media, "declares no long_job model")
    assert declared >= 3
