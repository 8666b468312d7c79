"""The server keeps freed memory for its next call (``server/allocator.py``): glibc's allocator set
once a client is in session, never on the startup path, and left alone when the environment chose."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from generate_media.server.allocator import glibc as on_glibc
from tests.test_security import _stdio

glibc = pytest.mark.skipif(not on_glibc(), reason="the allocator settings are glibc's")

#: A 4 MiB buffer made (written, so resident) and freed: how much of it the process gives back.
_ROUND_TRIP = """
import json, os, sys
from generate_media.server.allocator import keep_freed_memory

def rss_kib():
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith("VmRSS")).split()[1])

tuned = keep_freed_memory(dict(os.environ)) if sys.argv[1] == "tune" else None
before = rss_kib()
buffer = b"x" * (4 << 20)
held = rss_kib()
del buffer
print(json.dumps({"tuned": tuned, "grew": held - before, "returned": held - rss_kib()}))
"""


def _round_trip(mode: str, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    done = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIP, mode], env=clean | env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@glibc
def test_a_freed_buffer_stays_in_the_process_for_reuse():
    """By default glibc unmaps a freed 4 MiB buffer at once (the next call's buffers then land on pages
    the kernel must find and clear again); once set, the memory stays in the process."""
    untouched = _round_trip("plain")
    assert untouched["grew"] >= 4000 and untouched["returned"] >= 3500, untouched
    kept = _round_trip("tune")
    assert kept["tuned"] is True and kept["grew"] >= 3000, kept
    assert kept["returned"] < 1024, kept


@glibc
@pytest.mark.parametrize(
    "env", [{"MALLOC_TRIM_THRESHOLD_": "131072"}, {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}]
)
def test_settings_chosen_in_the_environment_are_left_alone(env):
    left = _round_trip("tune", **env)
    assert left["tuned"] is False and left["returned"] >= 3500, left


_SET = "allocator: freed memory kept for reuse (up to 16 MiB a heap): True"


@glibc
@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, _SET),
        ({"MALLOC_ARENA_MAX": "4"}, "allocator: left as MALLOC_ARENA_MAX set it"),
        ({"GENERATE_MEDIA_KEEP_FREED_MEMORY": "0"}, None),
    ],
    ids=["default", "glibc-settings", "turned-off"],
)
async def test_the_stdio_server_sets_it_once_a_client_is_in_session(make_settings, fake, tmp_path, env, said):
    """Through the front door: the real server over stdio, at DEBUG; the setting is made after the
    client has listed the tools, in the background, ahead of the warm-up (whose threads would each
    get a heap of their own otherwise: 9 besides the main one after ten calls with every key, 2
    with the setting first), and calls work as before. Allocator settings in the environment are
    left alone; GENERATE_MEDIA_KEEP_FREED_MEMORY=0 turns it off."""
    settings = make_settings("OPENAI_API_KEY", env=env)
    errlog = tmp_path / "stderr.log"
    with errlog.open("w") as err, anyio.fail_after(60):
        async with Client(stdio_client(_stdio(settings, "--log-level", "DEBUG"), errlog=err), mode="legacy") as c:
            await c.list_tools()
            while "warmed up openai" not in errlog.read_text():
                await anyio.sleep(0.05)
            result = await c.call_tool("generate_media", {"prompt": "a red fox", "backend": "openai"})
    assert not result.is_error, result.content
    lines = [line for line in errlog.read_text().splitlines() if "allocator:" in line or "warmed up" in line]
    assert all("warmed up" in line for line in lines[1 if said else 0 :]), lines
    if said:
        assert lines[0] == f"DEBUG generate_media.server: {said}", lines
