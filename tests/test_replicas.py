"""Several ``generate-media-mcp --http`` processes behind a round-robin proxy with no sticky sessions
(tests/replicas.py): each request of one client may land on another replica."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import anyio
import obstore
import yaml

from generate_media.docs import declared_settings
from generate_media.registry import load_registry
from tests.conftest import KEYS
from tests.fakes import fake_env
from tests.replicas import proxy, replicas
from tests.test_http import ALICE, TOKENS, connect
from tests.videohelp import Progress

XAI = "XAI_API_KEY"


def replica_env(fake: Any, root: Path, name: str, **extra: str) -> dict[str, str]:
    """One machine's env: its own output and state folders, the shared fake and tokens."""
    return {
        **fake_env(fake),
        XAI: KEYS[XAI],
        "OPENAI_API_KEY": KEYS["OPENAI_API_KEY"],
        **TOKENS,
        "GENERATE_MEDIA_OUTPUT_DIR": str(root / name / "out"),
        "GENERATE_MEDIA_STATE_DIR": str(root / name / "state"),
        "GENERATE_MEDIA_POLL_INTERVAL_S": "0.01",
        "GENERATE_MEDIA_HTTP_STATELESS": "1",
        **extra,
    }


async def test_one_clients_requests_on_two_stateless_replicas_all_work_and_progress_arrives(fake, tmp_path, s3, mode):
    fake.state["xai_video_plan"] = [("pending", 0), ("pending", 50), ("done",)]
    bucket = s3.env(f"stateless-{mode}")
    envs = [replica_env(fake, tmp_path, name, **bucket) for name in "AB"]
    progress = Progress()
    with replicas(envs, tmp_path) as (a, b):
        async with proxy([a, b]) as (url, balancer), connect(url, ALICE, mode) as client:
            with anyio.fail_after(60):
                video = await client.call_tool(
                    "generate_media", {"media_type": "video", "prompt": "waves"}, progress_callback=progress
                )
                image = await client.call_tool("generate_media", {"prompt": "a fox on the other replica"})
    assert not video.is_error, video.content
    assert not image.is_error, image.content
    assert sorted(balancer.methods_by("tools/call")) == ["A", "B"]  # one call on each process
    if mode == "legacy":  # a handshake-era client: B answers without ever having seen its initialize
        assert balancer.methods_by("initialize") == ["A"]
    assert len(progress.values) >= 3 and progress.messages[-1] == "downloading from grok"
    for result in (video, image):
        item = result.structured_content["items"][0]
        assert item["uri"].startswith("s3://media/stateless-")
        assert "/clients/alice/" in item["uri"]
    assert len(fake.of("xai", "/_vidgen/")) == 1


# --- two replicas sharing PostgreSQL and the bucket ---------------------------------------------


def shared_env(fake: Any, root: Path, name: str, database_url: str, bucket: dict[str, str]) -> dict[str, str]:
    """As deploy/compose.yaml: one database, one bucket, the same output path on every replica; the
    state folders differ (nothing shared goes there)."""
    env = replica_env(fake, root, name, **bucket)
    env.update(
        GENERATE_MEDIA_DATABASE_URL=database_url,
        GENERATE_MEDIA_OUTPUT_DIR=str(root / "out"),
        GENERATE_MEDIA_JOB_LEASE_S="1",
    )
    return env


def forget_local_files(root: Path) -> None:
    """The replicas share this host's disk; each is meant to have its own: drop what A wrote."""
    for path in (root / "out").rglob("*"):
        if path.is_file():
            path.unlink()


async def test_a_continuation_made_on_one_replica_is_continued_on_the_other(fake, tmp_path, s3, postgres):
    envs = [shared_env(fake, tmp_path, n, postgres.new_database(), s3.env("cont")) for n in "AB"]
    envs[1]["GENERATE_MEDIA_DATABASE_URL"] = envs[0]["GENERATE_MEDIA_DATABASE_URL"]
    with replicas(envs, tmp_path) as (a, b):
        async with proxy([a, b]) as (url, balancer), connect(url, ALICE) as client:
            with anyio.fail_after(60):
                made = await client.call_tool("generate_media", {"prompt": "a red kite", "backend": "openai"})
                item = made.structured_content["items"][0]
                original = Path(item["path"]).read_bytes()
                forget_local_files(tmp_path)
                edited = await client.call_tool(
                    "generate_media", {"prompt": "make it blue", "continue_from": item["continuation_id"]}
                )
    assert not made.is_error and not edited.is_error, edited.content
    assert balancer.methods_by("tools/call") == ["A", "B"]
    sent = fake.of("openai", "/images/edits")[-1]
    assert [f[1] for f in sent.files("image") + sent.files("image[]")] == [original]  # fetched back from the bucket
    assert edited.structured_content["items"][0]["uri"].startswith("s3://media/cont/clients/alice/")


async def test_the_same_video_asked_on_two_replicas_is_submitted_once(fake, tmp_path, s3, postgres):
    database = postgres.new_database()
    envs = [shared_env(fake, tmp_path, n, database, s3.env("twice")) for n in "AB"]
    fake.state["xai_video_hold"] = True
    video = {"media_type": "video", "prompt": "one paid wave", "backend": "grok", "wait_s": 0.3}
    with replicas(envs, tmp_path) as (a, b):
        async with proxy([a, b]) as (url, balancer), connect(url, ALICE) as client:
            with anyio.fail_after(90):
                first = await client.call_tool("generate_media", video)
                second = await client.call_tool("generate_media", video)
                fake.state["xai_video_hold"] = False
                done = await client.call_tool("generate_media", {"job_id": second.structured_content["job_id"]})
    assert balancer.methods_by("tools/call")[:2] == ["A", "B"]
    assert first.structured_content["status"] == second.structured_content["status"] == "pending"
    assert first.structured_content["job_id"] == second.structured_content["job_id"]
    assert done.structured_content["status"] == "completed", done.content
    assert len(fake.of("xai", "/videos/generations")) == 1


async def test_a_replica_killed_mid_poll_has_its_job_finished_by_the_other(fake, tmp_path, s3, postgres):
    database = postgres.new_database()
    envs = [shared_env(fake, tmp_path, n, database, s3.env("takeover")) for n in "AB"]
    fake.state["xai_video_hold"] = True
    video = {"media_type": "video", "prompt": "a wave nobody waits for", "backend": "grok", "wait_s": 0.3}
    with replicas(envs, tmp_path) as (a, b):
        async with proxy([a, b]) as (url, _balancer), connect(url, ALICE) as client:
            with anyio.fail_after(120):
                pending = await client.call_tool("generate_media", video)  # on A, which keeps polling it
                job_id = pending.structured_content["job_id"]
                polls = len(fake.of("xai", "/videos/"))
                while len(fake.of("xai", "/videos/")) < polls + 2:  # A is polling: it holds the lease
                    await anyio.sleep(0.05)
                a.kill()
                fake.state["xai_video_hold"] = False
                while True:  # B's finisher takes the job once A's lease lapses, and completes it
                    result = await client.call_tool("generate_media", {"job_id": job_id, "wait_s": 1})
                    if result.structured_content["status"] != "pending":
                        break
    assert result.structured_content["status"] == "completed", result.content
    assert len(fake.of("xai", "/videos/generations")) == 1
    assert len(fake.of("xai", "/_vidgen/")) == 1
    item = result.structured_content["items"][0]
    key = item["uri"].removeprefix("s3://media/takeover/")
    assert bytes(obstore.get(s3.store("takeover"), key).bytes()) == Path(item["path"]).read_bytes()


async def test_a_media_link_made_on_one_replica_is_read_and_used_as_an_input_on_the_other(fake, tmp_path, postgres):
    """Replicas sharing PostgreSQL and an output volume (no bucket): results link media://outputs/{id},
    indexed in the shared database, so the other replica serves the link and resolves it as an input."""
    database = postgres.new_database()
    envs = [replica_env(fake, tmp_path, n, GENERATE_MEDIA_DATABASE_URL=database) for n in "AB"]
    for env in envs:
        env["GENERATE_MEDIA_OUTPUT_DIR"] = str(tmp_path / "shared-out")
    video = {"media_type": "video", "prompt": "a harbour", "backend": "grok"}
    with replicas(envs, tmp_path) as (a, b):
        async with proxy([a, b]) as (url, balancer), connect(url, ALICE) as client:
            with anyio.fail_after(60):
                made = await client.call_tool("generate_media", video)
                assert not made.is_error, made.content
                link = made.structured_content["items"][0]["resource_uri"]
                reads = [await client.read_resource(link) for _ in "AB"]
                edited = await client.call_tool("generate_media", {**video, "prompt": "at dusk", "input_video": link})
    assert balancer.methods_by("tools/call") == ["A", "B"] and balancer.methods_by("resources/read") == ["A", "B"]
    assert link.startswith("media://outputs/")
    source = Path(made.structured_content["items"][0]["path"]).read_bytes()
    assert all(base64.b64decode(r.contents[0].blob) == source for r in reads)
    assert not edited.is_error, edited.content
    [sent] = [r for r in fake.of("xai", "/videos/edits") if r.method == "POST"]
    assert base64.b64decode(sent.json["video"]["url"].partition(",")[2]) == source


def test_the_compose_file_runs_two_stateless_replicas_on_one_database_and_one_bucket():
    deploy = Path(__file__).resolve().parent.parent / "deploy"
    services = yaml.safe_load((deploy / "compose.yaml").read_text("utf-8"))["services"]
    replicas_ = {name: s for name, s in services.items() if name.startswith("replica")}
    assert len(replicas_) == 2 and {"postgres", "seaweedfs", "balancer"} <= set(services)
    envs = [s["environment"] for s in replicas_.values()]
    assert envs[0] == envs[1]
    env = envs[0]
    assert env["GENERATE_MEDIA_HTTP_STATELESS"] == "1"
    assert env["GENERATE_MEDIA_DATABASE_URL"].startswith("postgresql://")
    assert env["GENERATE_MEDIA_STORAGE_URL"].startswith("s3://")
    known = {s.name for s in declared_settings(load_registry())}
    assert set(env) <= known, set(env) - known
    ports = sorted(s["command"][s["command"].index("--port") + 1] for s in replicas_.values())
    upstreams = sorted(re.findall(r"server 127\.0\.0\.1:(\d+);", (deploy / "nginx.conf").read_text("utf-8")))
    assert ports == upstreams
    assert "proxy_buffering off" in (deploy / "nginx.conf").read_text("utf-8")  # progress streams through
