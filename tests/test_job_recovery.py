"""Jobs survive what goes wrong around them: a failed download of a finished video, a crash in the
middle of a submit, a retry that differs only in how long to wait. Through MCP clients, against the
loopback fakes; a real server process is killed with SIGKILL where a crash is the point."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client

from tests.videohelp import leftovers

VIDEO = {"media_type": "video", "backend": "openai", "prompt": "a paid render"}
OPENAI = "OPENAI_API_KEY"


def records(state_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((state_dir / "jobs").glob("job_*.json"))]


async def test_a_failed_download_of_a_finished_video_leaves_the_job_resumable(make_server, fake, out_dir, tmp_path):
    fake.inject(r"openai:GET /openai/v1/videos/[^/]+/content", status=503, times=20, headers={"retry-after": "0"})
    async with Client(make_server(OPENAI)) as client:
        failed = await client.call_tool("generate_media", VIDEO)
        assert failed.is_error, failed.content
        error = failed.structured_content["error"]
        job_id = error["job_id"]
        assert f"job_id={job_id!r}" in failed.content[0].text and "download" in failed.content[0].text
        [record] = records(tmp_path / "state")
        assert record["state"] == "downloading" and record["id"] == job_id  # not done, not failed
        assert leftovers(out_dir) == [] and list(out_dir.iterdir()) == []
        fake.faults.clear()
        done = await client.call_tool("generate_media", {"job_id": job_id})
    assert done.structured_content["status"] == "completed", done.content
    assert Path(done.structured_content["items"][0]["path"]).is_file()
    assert len([r for r in fake.of("openai", "/videos") if r.method == "POST"]) == 1  # paid once
    assert records(tmp_path / "state")[0]["state"] == "done"


async def test_an_expired_result_link_still_ends_the_job(make_server, fake, tmp_path):
    fake.inject(r"openai:GET /openai/v1/videos/[^/]+/content", status=404, times=5)
    async with Client(make_server(OPENAI)) as client:
        failed = await client.call_tool("generate_media", VIDEO)
        again = await client.call_tool("generate_media", {"job_id": failed.structured_content["error"]["job_id"]})
    assert failed.structured_content["error"]["code"] == "not_found"
    assert again.is_error and "failed" in again.content[0].text
    assert records(tmp_path / "state")[0]["state"] == "failed"


async def test_a_retry_with_another_wait_attaches_to_the_running_job(make_server, fake, out_dir, tmp_path):
    fake.state["openai_video_hold"] = True
    sub = out_dir / "elsewhere"
    async with Client(make_server(OPENAI)) as client:
        first = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0.05})
        # Same media, different wait, destination, name and preview flag: the same paid job.
        retry = await client.call_tool(
            "generate_media",
            {**VIDEO, "wait_s": 0.2, "output_dir": str(sub), "filename": "mine", "preview": False},
        )
        other = await client.call_tool("generate_media", {**VIDEO, "prompt": "another render", "wait_s": 0.05})
        fake.state["openai_video_hold"] = False
        done = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0, "output_dir": str(sub)})
    assert first.structured_content["status"] == retry.structured_content["status"] == "pending"
    assert retry.structured_content["job_id"] == first.structured_content["job_id"]
    assert other.structured_content["job_id"] != first.structured_content["job_id"]
    assert done.structured_content["job_id"] == first.structured_content["job_id"], done.content
    assert Path(done.structured_content["items"][0]["path"]).parent == sub.resolve()
    assert len([r for r in fake.of("openai", "/videos") if r.method == "POST"]) == 2  # first and "another"
