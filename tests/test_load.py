"""A small load run (40 calls from 8 in-memory clients) with the bench's own accounting: every call
answered, every file written once under a unique name, nothing partial. No timing assertions; the
figures are printed (``-s``). The full run is ``python bench/load.py``."""

from __future__ import annotations

from bench.load import Figures, drive, tally
from mcp import Client


async def test_concurrent_clients_get_every_file_once_and_nothing_partial(make_server, fake, out_dir):
    server = make_server("OPENAI_API_KEY", preview=False)
    results, latencies = await drive(lambda: Client(server), calls=40, clients=8, tag="load")
    figures = tally(Figures(transport="memory", calls=40, clients=8), results, latencies, out_dir)
    print(f"\nload: {figures}")
    assert figures.accounted and figures.ok == 40, figures.errors
    assert figures.intact, figures
    assert len(fake.of("openai", "/images/generations")) == 40


async def test_concurrent_legacy_sessions_keep_their_continuations_apart(make_server, fake):
    server = make_server("OPENAI_API_KEY", preview=False)
    results, _ = await drive(lambda: Client(server, mode="legacy"), calls=16, clients=4, tag="legacy")
    ids = [r.structured_content["items"][0]["continuation_id"] for r in results]
    assert len(set(ids)) == 16
    async with Client(server, mode="legacy") as stranger:
        stolen = await stranger.call_tool("generate_media", {"prompt": "x", "continue_from": ids[0]})
    assert stolen.is_error and stolen.structured_content["error"]["code"] == "not_found"
