"""The long-job wait budget is chosen from the client's clientInfo (from initialize, or per request
from _meta on 2026-07-28), a safe default for unknown clients, the server setting and wait_s first;
the result reports the budget used."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.types import Implementation

from generate_media.clients import DEFAULT_WAIT_BUDGET_S, KNOWN_CLIENTS, choose_wait_budget
from generate_media.config import Settings

XAI = "XAI_API_KEY"
VIDEO = {"media_type": "video", "prompt": "waves at dusk"}


async def _video(server, client_name: str | None, mode: str, **arguments):
    info = Implementation(name=client_name, version="1.0") if client_name else None
    async with Client(server, mode=mode, client_info=info) as client:
        return await client.call_tool("generate_media", {**VIDEO, **arguments})


@pytest.mark.parametrize(
    ("client_name", "budget", "source"),
    [
        ("codex-mcp-client", 270.0, "client codex-mcp-client"),  # Codex cuts at 300 s
        ("gemini-cli-mcp-client", 540.0, "client gemini-cli-mcp-client"),  # Gemini CLI cuts at 600 s
        ("some-new-client", DEFAULT_WAIT_BUDGET_S, "default (unknown client)"),
    ],
)
async def test_the_wait_budget_follows_the_clients_name(client_name, budget, source, make_server, fake, mode):
    # mode "auto" speaks 2026-07-28: no initialize, the name arrives in each request's _meta.
    fake.state["xai_video_plan"] = [("pending", 40), ("done",)]
    result = await _video(make_server(XAI, wait_budget_s=None), client_name, mode)
    data = result.structured_content
    assert data["status"] == "completed", result.content
    assert (data["wait_budget_s"], data["wait_budget_from"]) == (budget, source)
    assert budget < (KNOWN_CLIENTS[client_name].cut_s or 1e9) if client_name in KNOWN_CLIENTS else budget < 60


async def test_the_server_setting_and_wait_s_override_the_client_table(make_server, fake, mode):
    fake.state["xai_video_plan"] = [("pending", 5)] * 50 + [("done",)]
    configured = make_server(XAI, wait_budget_s=0.05, poll_interval_s=0.01)
    pending = await _video(configured, "codex-mcp-client", mode)
    assert pending.structured_content["status"] == "pending"
    assert pending.structured_content["wait_budget_s"] == 0.05
    assert pending.structured_content["wait_budget_from"] == "GENERATE_MEDIA_WAIT_BUDGET_S"
    asked = await _video(make_server(XAI, wait_budget_s=None), "gemini-cli-mcp-client", mode, prompt="x", wait_s=0.05)
    assert asked.structured_content["status"] == "pending"
    assert (asked.structured_content["wait_budget_s"], asked.structured_content["wait_budget_from"]) == (0.05, "wait_s")


def test_the_env_var_overrides_only_when_set():
    assert Settings.from_env({}).wait_budget_s is None
    assert Settings.from_env({"GENERATE_MEDIA_WAIT_BUDGET_S": "120"}).wait_budget_s == 120.0
    assert Settings.from_env({"GENERATE_MEDIA_WAIT_BUDGET_S": "0"}).wait_budget_s == 0.0  # 0: to the end
    assert choose_wait_budget(None, None, "Codex-MCP-Client") == (270.0, "client codex-mcp-client")
    assert choose_wait_budget(None, None, "") == (DEFAULT_WAIT_BUDGET_S, "default")
