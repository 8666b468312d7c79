"""What known MCP clients do with a long tool call, and the wait budget chosen for each.

A long job (video, dubbing) is waited for up to a budget, then answered ``pending`` with a
``job_id``. Clients cut tool calls at different times and progress notifications do not extend
their timers, so the budget is chosen from the caller's ``clientInfo`` name (from ``initialize``,
or per request from ``_meta["io.modelcontextprotocol/clientInfo"]`` on 2026-07-28 connections),
with a margin below the client's cut. Unknown clients get the safe default; ``wait_s`` in the
call, then ``GENERATE_MEDIA_WAIT_BUDGET_S``, override the table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_WAIT_BUDGET_S", "KNOWN_CLIENTS", "ClientProfile", "choose_wait_budget", "shows_content"]

#: For clients we know nothing about: below the 60 s request timeout of the TypeScript SDK 1.x
#: (which most desktop and IDE clients ship, and which progress notifications do not reset).
DEFAULT_WAIT_BUDGET_S = 45.0


@dataclass(frozen=True)
class ClientProfile:
    name: str  # clientInfo.name, as the client sends it
    title: str
    cut_s: float | None  # when the client abandons a tool call by default (None: none seen)
    wait_budget_s: float
    #: Whether the model sees a result's content blocks (the image preview among them), or only its
    #: structuredContent: an image preview for a client that drops it is CPU and bytes for nothing.
    shows_content: bool = True


#: Measured 2026-12-03 with each CLI from npm, run against this server (Claude Code 2.1.328, Gemini
#: CLI 0.61.0, Codex CLI 0.169.0). About 10 % margin below each cut.
KNOWN_CLIENTS: dict[str, ClientProfile] = {
    p.name: p
    for p in (
        ClientProfile("claude-code", "Claude Code", None, 600.0),  # no cut within 720 s (MCP_TOOL_TIMEOUT sets one)
        ClientProfile("gemini-cli-mcp-client", "Gemini CLI", 600.0, 540.0),
        # tool_timeout_sec sets the cut; the model gets only structuredContent, as JSON text.
        ClientProfile("codex-mcp-client", "Codex", 300.0, 270.0, shows_content=False),
    )
}


def choose_wait_budget(wait_s: float | None, configured_s: float | None, client: str) -> tuple[float, str]:
    """(seconds, where they came from) for one call; 0 seconds waits to the end.

    Order: the call's ``wait_s``, the server's ``GENERATE_MEDIA_WAIT_BUDGET_S``, the client's
    profile, the default.
    """
    if wait_s is not None:
        return wait_s, "wait_s"
    if configured_s is not None:
        return configured_s, "GENERATE_MEDIA_WAIT_BUDGET_S"
    profile = KNOWN_CLIENTS.get(client.strip().lower())
    if profile is not None:
        return profile.wait_budget_s, f"client {profile.name}"
    return DEFAULT_WAIT_BUDGET_S, "default (unknown client)" if client else "default"


def shows_content(client: str) -> bool:
    """Whether the client named ``client`` shows a result's content blocks to its model (unknown: yes).

    A call that says nothing of ``preview`` gets none for a client that does not: Codex reads only
    ``structuredContent`` (``reference/client-facts``, Codex CLI 0.169.0), and a preview costs 3-30 ms
    of CPU per image (a PNG is decoded whole) and ~40 KB of the answer.
    """
    profile = KNOWN_CLIENTS.get(client.strip().lower())
    return profile is None or profile.shows_content
