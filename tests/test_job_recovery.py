"""Jobs survive what goes wrong around them: a failed download of a finished video, a crash in the
middle of a submit, a retry that differs only in how long to wait. Through MCP clients, against the
loopback fakes; a real server process is killed with SIGKILL where a crash is the point."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from tests.videohelp import job_records, leftovers, until

VIDEO = {"media_type": "video", "backend": "grok", "prompt": "a paid render"}
XAI = "XAI_API_KEY"


async def records(state_dir: Path) -> list[dict]:
    return await job_records(state_dir)


async def test_a_failed_download_of_a_finished_video_leaves_the_job_resumable(make_server, fake, out_dir, tmp_path):
    fake.inject(r"xai:GET /xai/v1/_vidgen/", status=503, times=20, headers={"retry-after": "0"})
    async with Client(make_server(XAI)) as client:
        failed = await client.call_tool("generate_media", VIDEO)
        assert failed.is_error, failed.content
        error = failed.structured_content["error"]
        job_id = error["job_id"]
        assert f"job_id={job_id!r}" in failed.content[0].text and "download" in failed.content[0].text
        [record] = await records(tmp_path / "state")
        assert record["state"] == "downloading" and record["id"] == job_id  # not done, not failed
        assert leftovers(out_dir) == [] and list(out_dir.iterdir()) == []
        fake.faults.clear()
        done = await client.call_tool("generate_media", {"job_id": job_id})
    assert done.structured_content["status"] == "completed", done.content
    assert Path(done.structured_content["items"][0]["path"]).is_file()
    assert len([r for r in fake.of("xai", "/videos/generations") if r.method == "POST"]) == 1  # paid once
    assert (await records(tmp_path / "state"))[0]["state"] == "done"


async def test_a_failed_upload_of_a_finished_video_to_the_bucket_leaves_the_job_resumable(
    make_server, fake, out_dir, tmp_path, s3
):
    """Outputs go to S3 and the bucket refuses the upload: the paid video is not lost either; the job
    stays resumable, and once the store takes writes the same job is downloaded and uploaded."""
    import obstore

    from tests.s3server import READER

    prefix = f"t-{uuid.uuid4().hex[:12]}"
    async with Client(make_server(XAI, env=s3.env(prefix, credentials=READER))) as client:
        failed = await client.call_tool("generate_media", VIDEO)
    assert failed.is_error and failed.structured_content["error"]["code"] == "storage_error", failed.content
    job_id = failed.structured_content["error"]["job_id"]
    assert f"job_id={job_id!r}" in failed.content[0].text and "\n" not in failed.content[0].text
    [record] = await records(tmp_path / "state")
    assert record["state"] == "downloading" and record["id"] == job_id
    assert [p for p in out_dir.rglob("*") if p.is_file()] == []  # no local file, no partial one
    async with Client(make_server(XAI, env=s3.env(prefix))) as client:  # the store takes writes again
        done = await client.call_tool("generate_media", {"job_id": job_id})
    assert done.structured_content["status"] == "completed", done.content
    item = done.structured_content["items"][0]
    key = Path(item["path"]).relative_to(out_dir).as_posix()
    assert item["uri"] == f"s3://media/{prefix}/{key}"
    assert bytes(obstore.get(s3.store(prefix), key).bytes()) == Path(item["path"]).read_bytes()
    assert submits(fake) == 1  # paid once
    assert (await records(tmp_path / "state"))[0]["state"] == "done"


async def test_an_expired_result_link_still_ends_the_job(make_server, fake, tmp_path):
    fake.inject(r"xai:GET /xai/v1/_vidgen/", status=404, times=5)
    async with Client(make_server(XAI)) as client:
        failed = await client.call_tool("generate_media", VIDEO)
        again = await client.call_tool("generate_media", {"job_id": failed.structured_content["error"]["job_id"]})
    assert failed.structured_content["error"]["code"] == "not_found"
    assert again.is_error and "failed" in again.content[0].text
    assert (await records(tmp_path / "state"))[0]["state"] == "failed"


async def test_a_retry_with_another_wait_attaches_to_the_running_job(make_server, fake, out_dir, tmp_path):
    fake.state["xai_video_hold"] = True
    sub = out_dir / "elsewhere"
    async with Client(make_server(XAI)) as client:
        first = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0.05})
        # Same media, different wait, destination, name and preview flag: the same paid job.
        retry = await client.call_tool(
            "generate_media",
            {**VIDEO, "wait_s": 0.2, "output_dir": str(sub), "filename": "mine", "preview": False},
        )
        other = await client.call_tool("generate_media", {**VIDEO, "prompt": "another render", "wait_s": 0.05})
        fake.state["xai_video_hold"] = False
        done = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0, "output_dir": str(sub)})
    assert first.structured_content["status"] == retry.structured_content["status"] == "pending"
    assert retry.structured_content["job_id"] == first.structured_content["job_id"]
    assert other.structured_content["job_id"] != first.structured_content["job_id"]
    assert done.structured_content["job_id"] == first.structured_content["job_id"], done.content
    assert Path(done.structured_content["items"][0]["path"]).parent == sub.resolve()
    assert len([r for r in fake.of("xai", "/videos/generations") if r.method == "POST"]) == 2  # first and "another"


async def test_a_retry_after_the_background_finisher_completed_the_job_gets_it_without_paying_again(
    make_server, fake, out_dir, db_url
):
    """The wait ran out, the server finished the job alone; the same request asked again (another
    wait) is answered with that job's files once, and only a request after that is a new video."""
    fake.state["xai_video_hold"] = True
    server = make_server(XAI, database_url=db_url, job_lease_s=0.5)  # the finisher looks every lease/3
    jobs = server.media_service.job_runner.store

    async def all_done() -> bool:
        found = await jobs.list()
        return bool(found) and all(r.state == "done" for r in found)

    async with server.media_service.running(), Client(server) as client:
        first = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0.05})
        fake.state["xai_video_hold"] = False
        await until(all_done, timeout=30)  # nobody waits: the finisher completed it
        again = await client.call_tool("generate_media", {**VIDEO, "wait_s": 5})
        new = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0})
    assert first.structured_content["status"] == "pending"
    job_id = first.structured_content["job_id"]
    assert again.structured_content["status"] == "completed" and again.structured_content["job_id"] == job_id
    assert Path(again.structured_content["items"][0]["path"]).is_file()
    assert new.structured_content["status"] == "completed" and new.structured_content["job_id"] != job_id
    assert submits(fake) == 2  # the first video and the one asked after it was delivered


def stdio_params(make_settings, tmp_path: Path, keys: str = XAI, **env: str) -> StdioServerParameters:
    """A real ``python -m generate_media`` over stdio with ``keys`` (xAI's by default); its pid lands in
    ``tmp_path/server.pid``."""
    settings = make_settings(keys)
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GENERATE_MEDIA_OUTPUT_DIR": str(settings.output_dir),
        "GENERATE_MEDIA_STATE_DIR": str(settings.state_dir),
        "GENERATE_MEDIA_POLL_INTERVAL_S": "0.01",
        **dict(settings.env),
        **env,
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # the code under test, if set
    }
    script = f'echo $$ > "{tmp_path}/server.pid"; exec "{sys.executable}" -m generate_media'
    return StdioServerParameters(command="/bin/sh", args=["-c", script], env=full)


def submits(fake) -> int:
    return len([r for r in fake.of("xai", "/videos/generations") if r.method == "POST"])


async def call_until_killed(params: StdioServerParameters, pid_file: Path, fake, arguments: dict) -> None:
    """Start a call, wait until the provider holds its submit, then SIGKILL the server."""
    before = submits(fake)
    with contextlib.suppress(Exception), anyio.fail_after(60):
        async with Client(params, mode="legacy") as client, anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", arguments)
            await until(lambda: submits(fake) > before, timeout=30)
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
            tg.cancel_scope.cancel()


async def test_a_server_killed_mid_submit_does_not_lock_the_request_out(make_settings, fake, out_dir, tmp_path):
    fake.inject(r"xai:POST /xai/v1/videos/generations$", delay=120, times=2)  # the provider holds the submits
    params = stdio_params(make_settings, tmp_path, GENERATE_MEDIA_MAX_JOBS_PER_CLIENT="1")
    for _ in range(2):  # two crashes, with a limit of one job per client
        await call_until_killed(params, tmp_path / "server.pid", fake, VIDEO)
    dead = await records(tmp_path / "state")
    assert [r["state"] for r in dead] == ["failed", "submitting"]  # the second call retired the first
    fake.faults.clear()
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:  # the restart
            again = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0})
            other = await client.call_tool("generate_media", {**VIDEO, "prompt": "another", "wait_s": 0})
            old = await client.call_tool("generate_media", {"job_id": dead[0]["id"]})
    assert again.structured_content["status"] == "completed", again.content
    assert other.structured_content["status"] == "completed", other.content  # not limit_exceeded
    assert old.is_error and "check its console" in old.content[0].text
    states = {r["id"]: r["state"] for r in await records(tmp_path / "state")}
    assert [states[r["id"]] for r in dead] == ["failed", "failed"]
    assert leftovers(out_dir) == []
    # Two submits lost with their servers, then one per finished request.
    assert submits(fake) == 4


async def test_a_submit_in_flight_in_another_process_is_left_alone(make_settings, make_server, fake, tmp_path):
    """Two servers share one state directory: a live submit in one is neither retired nor repeated
    by the other."""
    fake.inject(r"xai:POST /xai/v1/videos/generations$", delay=120)
    params = stdio_params(make_settings, tmp_path)
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as first, anyio.create_task_group() as tg:
            tg.start_soon(first.call_tool, "generate_media", VIDEO)
            await until(lambda: submits(fake), timeout=30)
            [live] = await records(tmp_path / "state")
            async with Client(make_server(XAI)) as second:
                twin = await second.call_tool("generate_media", VIDEO)
                resumed = await second.call_tool("generate_media", {"job_id": live["id"]})
            assert [r["state"] for r in await records(tmp_path / "state")] == ["submitting"]
            tg.cancel_scope.cancel()
    for result in (twin, resumed):
        assert result.is_error and "still being submitted" in result.content[0].text, result.content
        assert result.structured_content["error"]["job_id"] == live["id"]
    assert submits(fake) == 1
