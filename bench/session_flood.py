"""One token opening MCP sessions in a loop over streamable HTTP must lock out only itself.

Token ``a`` sends ``--opens`` session-opening ``initialize`` requests (``--concurrency`` at a time)
and never closes them; then token ``b`` opens one. Reports how many ``a`` got, the refusals, the
time taken and the server's RSS before and after.

    /work/venv/bin/python bench/session_flood.py [--opens 2000] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections import Counter

import anyio

from common import Report, fake_server, machine, proc_status_kb, scratch_dir, server_env
from http_sessions import HttpServer, http_unavailable

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "0"}},
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def flood(url: str, flooder: str, other: str, opens: int, concurrency: int) -> tuple[Counter[int], int, float]:
    import httpx2

    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    async with httpx2.AsyncClient(timeout=60) as http:

        async def one(token: str) -> int:
            response = await http.post(url, json=INITIALIZE, headers={**HEADERS, "authorization": f"Bearer {token}"})
            return response.status_code

        for first in range(0, opens, concurrency):
            async with anyio.create_task_group() as tg:
                for _ in range(min(concurrency, opens - first)):

                    async def count() -> None:
                        statuses[await one(flooder)] += 1

                    tg.start_soon(count)
        wall = time.perf_counter() - started
        return statuses, await one(other), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opens", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--per-token", type=int, default=16, help="GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN")
    args = parser.parse_args()
    report = Report(f"Session flood: {args.opens} opens by one token ({machine()})", ("measure", "value", "unit"))
    reason = http_unavailable()
    if reason:
        report.skip("the other token connects", reason)
        report.print()
        return 0
    flooder, other = secrets.token_hex(24), secrets.token_hex(24)
    with fake_server() as fake, scratch_dir("flood") as tmp:
        env = server_env(
            fake,
            tmp / "out",
            tmp / "state",
            GENERATE_MEDIA_HTTP_TOKENS=f"a:{flooder},b:{other}",
            GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN=str(args.per_token),
        )
        server = HttpServer(env, no_auth=False)
        try:
            url = server.wait_ready()
            rss_before = proc_status_kb(server.proc.pid, "VmRSS")
            statuses, other_status, wall = anyio.run(flood, url, flooder, other, args.opens, args.concurrency)
            rss_after = proc_status_kb(server.proc.pid, "VmRSS")
        finally:
            server.stop()
    report.row("sessions opened by the flooding token", statuses[200], "")
    report.row("opens refused (429)", statuses[429], "")
    report.row("other statuses", sum(n for s, n in statuses.items() if s not in (200, 429)), "")
    report.row("wall time", wall, "s")
    report.row("server RSS before", rss_before / 1024, "MiB")
    report.row("server RSS after", rss_after / 1024, "MiB")
    report.check("the other token connects", other_status == 200, f"HTTP {other_status}")
    report.check("the flooding token holds at most the cap", statuses[200] <= args.per_token, f"{statuses[200]}")
    report.target("server RSS growth", (rss_after - rss_before) / 1024, 64, unit=" MiB")
    report.print()
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
