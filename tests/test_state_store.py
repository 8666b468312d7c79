"""The state store on both engines (SQLite, the default, and PostgreSQL, a real throwaway cluster):
migrations, idempotency keys, leases, continuations, the resource index; then the service on top
of it, through MCP clients: what survives a restart, one submit per request, a dead server's job
finished by another."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from mcp import Client, MCPError

from generate_media.service import Caller
from generate_media.stores import JobRecord, StateStore, database_url
from generate_media.stores.schema import MIGRATIONS
from tests.videohelp import job_records, until

XAI = "XAI_API_KEY"
OA = "OPENAI_API_KEY"
VIDEO = {"media_type": "video", "backend": "grok", "prompt": "one paid render"}


@pytest.fixture
async def store(db_url: str, tmp_path: Path):
    state = StateStore(database_url(db_url, tmp_path / "state"))
    yield state
    await state.close()


def _job(**fields) -> JobRecord:
    base = {"owner": "alice", "backend": "grok", "media_type": "video", "model": "m", "request": {"prompt": "p"}}
    return JobRecord(id=f"job_{os.urandom(16).hex()}", **{**base, **fields})


def submits(fake) -> int:
    return len([r for r in fake.of("xai", "/videos/generations") if r.method == "POST"])


def downloads(fake) -> int:
    return len(fake.of("xai", "/_vidgen/"))


# --- the store, on each engine --------------------------------------------------------------------


async def test_migrations_run_once_even_when_two_servers_start_together(store, db_url, tmp_path):
    other = StateStore(store.url)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(store.open)
            tg.start_soon(other.open)
        assert await store.version() == await other.version() == MIGRATIONS[-1][0]
        versions, tables = await store.run(
            lambda c: (
                c.execute(sa.text("SELECT version FROM schema_version")).scalars().all(),
                set(sa.inspect(c).get_table_names()),
            )
        )
        assert versions == [number for number, _, _ in MIGRATIONS]
        assert {"jobs", "continuations", "resources", "schema_version"} <= tables
    finally:
        await other.close()
    reopened = StateStore(store.url)  # a restart: nothing left to apply
    await reopened.open()
    assert await reopened.version() == MIGRATIONS[-1][0]
    await reopened.close()
    if not db_url:
        assert (tmp_path / "state" / "state.db").is_file()  # the embedded default lives in the state dir


async def test_sqlite_commits_through_the_write_ahead_log_and_folds_it_in_on_close(tmp_path):
    """One fsync of the log per commit instead of the rollback journal's three (bench/call_overhead.py);
    the pool's idle connection keeps each unit of work's end from checkpointing."""
    path = tmp_path / "state" / "state.db"
    store = StateStore(database_url("", tmp_path / "state"))
    await store.continuations.put(prefix="p", owner="o", backend="b", media_type="image", model="m", files=["/f"])
    mode, sync = await store.run(
        lambda c: (
            c.execute(sa.text("PRAGMA journal_mode")).scalar(),
            c.execute(sa.text("PRAGMA synchronous")).scalar(),
        )
    )
    assert (mode, sync) == ("wal", 2)  # 2 = FULL: a commit is on disk when it returns
    assert path.with_name("state.db-wal").exists()  # not checkpointed away after every unit of work
    await store.close()
    assert not path.with_name("state.db-wal").exists()  # folded into the file on close
    reopened = StateStore(database_url("", tmp_path / "state"))
    try:
        assert await reopened.continuations.count("o") == 1
    finally:
        await reopened.close()


async def test_one_unfinished_job_per_request_key_and_principal(store):
    racers = [_job(request_key="k1") for _ in range(4)]
    won: list[bool] = []

    async def insert(record: JobRecord) -> None:
        won.append(await store.jobs.create(record))

    async with anyio.create_task_group() as tg:
        for record in racers:
            tg.start_soon(insert, record)
    assert sorted(won) == [False, False, False, True]
    winner = await store.jobs.twin("alice", "k1")
    assert winner is not None and winner.id in {r.id for r in racers}
    assert await store.jobs.create(_job(owner="bob", request_key="k1"))  # the key is per principal
    winner.state = "done"
    await store.jobs.save(winner)
    assert await store.jobs.twin("alice", "k1") is None  # a finished job gives its key up
    assert await store.jobs.create(_job(request_key="k1"))


async def test_a_lease_is_exclusive_until_it_expires(store):
    record = _job(state="queued", handle={"request_id": "r"})
    await store.jobs.create(record)
    a, b = store.new_holder(), store.new_holder()
    assert await store.jobs.take(record, a, 0.3)
    assert not await store.jobs.take(record, b, 30)
    assert await store.jobs.take(record, a, 0.3)  # a renewal
    assert not await store.jobs.save(record, b)  # only the holder writes under its lease
    assert await store.jobs.save(record, a)
    await until(lambda: (fresh := record.lease_until) is not None and time.time() > fresh, timeout=5)
    assert await store.jobs.take(record, b, 30)  # expired: another takes the job over
    assert not await store.jobs.take(record, a, 30)  # and the first cannot renew any more
    assert [r.id for r in await store.jobs.orphans()] == []
    await store.jobs.release(record, b)
    assert [r.id for r in await store.jobs.orphans()] == [record.id]
    record.state = "done"
    await store.jobs.save(record)
    assert not await store.jobs.take(record, a, 30)  # a finished job is never taken


async def test_a_lease_of_a_dead_local_process_is_free_at_once(store):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:deadbeef0000"
    record = _job(state="running", handle={"request_id": "r"}, lease_holder=dead, lease_until=time.time() + 3600)
    await store.jobs.create(record)
    assert [r.id for r in await store.jobs.orphans()] == [record.id]
    assert await store.jobs.take(record, store.new_holder(), 30)
    far = _job(
        state="running", handle={"request_id": "r"}, lease_holder="elsewhere:1:x", lease_until=time.time() + 3600
    )
    await store.jobs.create(far)
    assert not await store.jobs.take(far, store.new_holder(), 30)  # another machine's: wait for expiry


async def test_continuations_keep_their_ttl_lru_and_owner(db_url, tmp_path):
    now = [1000.0]
    url = database_url(db_url, tmp_path / "state")
    store = StateStore(url, continuation_ttl_s=100, continuations_per_owner=2, clock=lambda: now[0])
    try:
        keep = {"prefix": "c", "backend": "google", "media_type": "image", "model": "m", "files": []}
        a = await store.continuations.put(owner="s1", **keep)
        now[0] += 1
        b = await store.continuations.put(owner="s1", **keep)
        now[0] += 1
        assert await store.continuations.get(a.id, "s1") is not None  # refreshes a: b is now the oldest
        now[0] += 1
        c = await store.continuations.put(owner="s1", **keep)
        other = await store.continuations.put(owner="s2", **keep)
        assert await store.continuations.get(b.id, "s1") is None  # evicted, least recently used
        assert await store.continuations.get(a.id, "s2") is None  # another client's id: unknown
        restarted = StateStore(url, continuation_ttl_s=100, clock=lambda: now[0])
        try:
            assert (await restarted.continuations.get(c.id, "s1")).id == c.id  # survives a restart
        finally:
            await restarted.close()
        now[0] += 101
        assert await store.continuations.get(other.id, "s2") is None  # expired
    finally:
        await store.close()


async def test_the_resource_index_is_per_owner(store):
    await store.resources.add("a" * 24, "alice", "/out/a.png", "image/png")
    await store.resources.add("a" * 24, "alice", "/out/a.png", "image/png")  # again: the same entry
    assert await store.resources.get("a" * 24, "alice") == ("/out/a.png", "image/png")
    assert await store.resources.get("a" * 24, "bob") is None
    assert await StateStore(store.url).resources.get("b" * 24, "alice") is None


# --- the service on each engine, through MCP clients -----------------------------------------------


def _media_server(settings, who: str):
    """An HTTP-like server (media:// links, one principal) with a service of its own."""
    from generate_media.server import create_server
    from generate_media.service import MediaService

    return create_server(settings, service=MediaService(settings), principal_of=lambda _: who, resource_links="media")


def _link(result) -> str:
    assert not result.is_error, result.content
    return str(result.structured_content["items"][0]["resource_uri"])


async def test_a_media_link_resolves_on_another_server_sharing_the_database(make_settings, fake, db_url, tmp_path):
    """The resource index is in the state store (no file beside it): alice's links, made on one
    server (an image, indexed with its continuation; a video, with its job's completion), are read
    and used as an input video on another server of the same database, with a state folder of its
    own on PostgreSQL; bob's reads of them are unknown resources."""
    first = make_settings(OA, XAI, database_url=db_url)
    other = make_settings(OA, XAI, database_url=db_url, state_dir=tmp_path / ("state" if not db_url else "state-b"))
    async with Client(_media_server(first, "alice")) as alice:
        image = await alice.call_tool("generate_media", {"prompt": "a kite", "backend": "openai"})
        video = await alice.call_tool("generate_media", VIDEO)
    links = {_link(image): image, _link(video): video}
    assert not (tmp_path / "state" / "resources").exists()  # no longer JSON files on this disk
    async with Client(_media_server(other, "alice")) as elsewhere:
        for uri, result in links.items():
            [content] = (await elsewhere.read_resource(uri)).contents
            item = result.structured_content["items"][0]
            assert content.mime_type == item["mime_type"]
            assert base64.b64decode(content.blob) == Path(item["path"]).read_bytes()
        edit = await elsewhere.call_tool("generate_media", {**VIDEO, "prompt": "at night", "input_video": _link(video)})
    assert not edit.is_error, edit.content
    [sent] = [r for r in fake.of("xai", "/videos/edits") if r.method == "POST"]
    source = Path(video.structured_content["items"][0]["path"]).read_bytes()
    assert base64.b64decode(sent.json["video"]["url"].partition(",")[2]) == source
    async with Client(_media_server(other, "bob")) as bob:
        for uri in links:
            with pytest.raises(MCPError, match="Unknown resource"):
                await bob.read_resource(uri)
        theirs = await bob.call_tool("generate_media", {**VIDEO, "input_video": _link(video)})
    assert theirs.is_error and "unknown resource" in theirs.content[0].text


async def test_media_links_add_no_transaction_to_a_call(make_settings, fake, db_url, tmp_path):
    """Indexing a call's links rides on the call's own store writes (the continuation, the job's
    completion): a call whose result carries media:// links opens no more transactions than the same
    call with file:// links."""
    from generate_media.server import create_server
    from generate_media.service import MediaService

    counts: dict[str, list[int]] = {}
    for links in ("file", "media"):
        settings = make_settings(OA, XAI, database_url=db_url, state_dir=tmp_path / f"state-{links}")
        service = MediaService(settings)
        begun = [0]
        sa.event.listen(service.store.sync_engine, "begin", lambda _conn, n=begun: n.__setitem__(0, n[0] + 1))
        server = create_server(settings, service=service, principal_of=lambda _: "alice", resource_links=links)
        async with Client(server) as client:
            await service.store.open()
            for args in ({"prompt": "a kite", "backend": "openai"}, {**VIDEO, "prompt": f"a {links} wave"}):
                before = begun[0]
                result = await client.call_tool("generate_media", args)
                assert not result.is_error, result.content
                counts.setdefault(links, []).append(begun[0] - before)
        if links == "media":
            rows = await service.store.resources.get(_link(result).rsplit("/", 1)[1], "alice")
            assert rows is not None and rows[0] == result.structured_content["items"][0]["path"]
        await service.store.close()
    assert counts["media"] == counts["file"], counts


async def test_a_continuation_survives_a_restart(make_server, fake, db_url):
    async with Client(make_server("GEMINI_API_KEY", database_url=db_url)) as client:
        first = await client.call_tool("generate_media", {"prompt": "a red kite"})
    continuation = first.structured_content["items"][0]["continuation_id"]
    async with Client(make_server("GEMINI_API_KEY", database_url=db_url)) as client:  # a new server
        second = await client.call_tool("generate_media", {"prompt": "add a tail", "continue_from": continuation})
    assert not second.is_error, second.content
    assert [c["role"] for c in fake.of("google", ":generateContent")[-1].json["contents"]] == ["user", "model", "user"]


async def test_a_job_survives_a_restart(make_server, fake, db_url):
    fake.state["xai_video_hold"] = True
    async with Client(make_server(XAI, database_url=db_url)) as client:
        pending = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0.05})
    assert pending.structured_content["status"] == "pending", pending.content
    fake.state["xai_video_hold"] = False
    async with Client(make_server(XAI, database_url=db_url)) as client:
        done = await client.call_tool("generate_media", {"job_id": pending.structured_content["job_id"]})
    assert done.structured_content["status"] == "completed", done.content
    assert submits(fake) == 1 and downloads(fake) == 1


async def test_the_same_video_asked_twice_at_once_submits_once(make_server, fake, db_url, out_dir):
    fake.latency = 0.2  # the submit takes a while: both calls are in flight at once
    # The second waits for the first's submit (up to 20 poll intervals), then for its result.
    server = make_server(XAI, database_url=db_url, poll_interval_s=0.05)
    results: list = []
    async with Client(server) as one, Client(server) as two:

        async def ask(client: Client) -> None:
            results.append(await client.call_tool("generate_media", {**VIDEO, "wait_s": 0}))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(ask, one)
                tg.start_soon(ask, two)
    assert all(r.structured_content["status"] == "completed" for r in results), [r.content for r in results]
    assert len({r.structured_content["job_id"] for r in results}) == 1
    assert submits(fake) == 1 and downloads(fake) == 1 and len(list(out_dir.glob("*.mp4"))) == 1


async def test_the_finisher_completes_a_job_nobody_waits_for(make_server, fake, db_url):
    fake.state["xai_video_plan"] = [("pending", 10)] * 5 + [("done",)]
    server = make_server(XAI, database_url=db_url)
    service = server.media_service
    async with service.running():
        async with Client(server) as client:
            pending = await client.call_tool("generate_media", {**VIDEO, "wait_s": 0.01})
        job_id = pending.structured_content["job_id"]
        assert pending.structured_content["status"] == "pending"  # the client is gone
        await until(lambda: _state(service, job_id, "done"), timeout=20)
    polls = len(fake.of("xai", "/videos/"))
    async with Client(make_server(XAI, database_url=db_url)) as client:
        done = await client.call_tool("generate_media", {"job_id": job_id})
    assert done.structured_content["status"] == "completed", done.content
    assert Path(done.structured_content["items"][0]["path"]).is_file()
    assert len(fake.of("xai", "/videos/")) == polls and downloads(fake) == 1  # answered from the store


async def test_an_expired_lease_of_a_vanished_server_is_taken_over(make_server, fake, db_url):
    """A server on another machine took the job and died: its lease expires, and this server's
    finisher completes the job, with one submit and one download in all."""
    fake.state["xai_video_hold"] = True
    server = make_server(XAI, database_url=db_url, job_lease_s=0.3)
    service = server.media_service
    pending = await service.generate({**VIDEO, "wait_s": 0.02}, Caller())
    job_id = pending.result.job_id
    record = await service.jobs.get(job_id, "local")
    assert await service.jobs.take(record, "another-host:4242:c0ffee000000", 0.3)  # its holder stops renewing
    fake.state["xai_video_hold"] = False
    async with service.running():
        await until(lambda: _state(service, job_id, "done"), timeout=20)
    assert submits(fake) == 1 and downloads(fake) == 1


async def test_a_server_killed_while_polling_has_its_job_finished_by_another(
    make_settings, make_server, fake, tmp_path
):
    """kill -9 a real server that holds a job's lease mid-poll: a server started next finishes it,
    one submit and one download in all."""
    from tests.test_job_recovery import stdio_params

    fake.state["xai_video_hold"] = True
    params = stdio_params(make_settings, tmp_path)
    with contextlib.suppress(Exception), anyio.fail_after(60):
        async with Client(params, mode="legacy") as client, anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "generate_media", {**VIDEO, "wait_s": 0})
            await until(lambda: fake.of("xai", "/videos/") and fake.of("xai", "/videos/")[-1].method == "GET", 30)
            os.kill(int((tmp_path / "server.pid").read_text()), signal.SIGKILL)
            tg.cancel_scope.cancel()
    [record] = await job_records(tmp_path / "state")
    assert record["state"] in ("queued", "running") and record["lease_holder"]  # held by the dead server
    fake.state["xai_video_hold"] = False
    service = make_server(XAI).media_service
    async with service.running():
        await until(lambda: _state(service, record["id"], "done"), timeout=30)
    assert submits(fake) == 1 and downloads(fake) == 1


async def _state(service, job_id: str, state: str) -> bool:
    record = await service.jobs.get(job_id, None)
    return record is not None and record.state == state


async def test_the_lease_is_renewed_while_a_slow_upload_saves_the_video(make_settings, fake, db_url, s3):
    """The upload of a finished video outlasts the job lease two and a half times (each upload to the
    bucket held 2.5 s, the lease 1 s): its waiter keeps renewing the lease while it saves, so
    another server's finisher, looking for jobs whose lease lapsed all along, never takes the job
    over and downloads it a second time."""
    from generate_media.server import create_server
    from generate_media.service import MediaService
    from tests.s3server import slow_uploads

    async with slow_uploads(s3, delay_s=2.5) as (endpoint, store):
        env = {**s3.env(f"slow-{os.urandom(4).hex()}"), "AWS_ENDPOINT_URL": endpoint}
        settings = make_settings(XAI, env=env, database_url=db_url, job_lease_s=1.0)
        waiter = create_server(settings, service=MediaService(settings))
        other = MediaService(settings)  # another server of the same database, its finisher running
        async with other.running(), Client(waiter) as client:
            other.started()  # its finisher looks for lapsed leases at once (not after the start's grace)
            with anyio.fail_after(60):
                done = await client.call_tool("generate_media", VIDEO)
    assert done.structured_content["status"] == "completed", done.content
    assert store.uploads == 1
    assert submits(fake) == 1 and downloads(fake) == 1


async def test_postgresql_without_its_extra_says_which_extra_to_install(make_settings, fake, monkeypatch):
    """A PostgreSQL URL on an install without the [postgres] extra (asyncpg, greenlet): the job's
    call fails with one line naming the extra, before any paid submit, and the server stays healthy."""
    from generate_media.server import create_server

    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if it were not installed
    settings = make_settings(XAI, database_url="postgresql://media:secret@127.0.0.1:9/media")
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("generate_media", VIDEO)
        assert result.is_error
        text = result.content[0].text
        assert "[postgres] extra" in text and "asyncpg is not installed" in text, text
        assert "secret" not in text
        assert submits(fake) == 0
        image = await client.call_tool("generate_media", {"prompt": "a kite", "backend": "grok"})
        assert not image.is_error, image.content  # no store needed for a plain image
