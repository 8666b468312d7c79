"""A scripted stand-in for Anthropic's Messages API, for driving a real agent CLI (Claude Code) with no
model: point ``ANTHROPIC_BASE_URL`` at ``fake.url + PREFIX``.

Each main-loop turn (a request that offers the ``ToolSearch`` tool) is answered with a ``ToolSearch``
call for the next query of ``fake.state["tool_search_queries"]``, streamed as server-sent events the
way the API streams a ``tool_use`` block, then with each ``(tool name, arguments)`` call of
``fake.state["tool_calls"]``; when both run out the turn ends with text. Any other
request (a side request without tools) gets a short text answer. The CLI sends each search's result
back as ``tool_reference`` blocks in the next request; :func:`search_results` reads them from the
recorded requests.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .core import FakeServer, Recorded

PREFIX = "/anthropic"
SEARCH_TOOL = "ToolSearch"
MODEL = "claude-stand-in"

_ids = itertools.count(1)


def register(fake: FakeServer) -> None:
    fake.route("anthropic", PREFIX + "/v1/messages", ["POST"], _messages)


async def _messages(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    body = rec.json or {}
    offered = {tool.get("name") for tool in body.get("tools", [])}
    queries: list[str] = fake.state.get("tool_search_queries", [])
    asked = fake.state.setdefault("tool_search_asked", 0)
    if SEARCH_TOOL in offered and asked < len(queries):
        fake.state["tool_search_asked"] = asked + 1
        block = {"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": SEARCH_TOOL}
        return _answer(body, block, {"query": queries[asked], "max_results": 5}, "tool_use")
    calls: list[tuple[str, dict[str, Any]]] = fake.state.get("tool_calls", [])
    called = fake.state.setdefault("tool_calls_made", 0)
    if SEARCH_TOOL in offered and called < len(calls):  # then each tool call, once the searches loaded it
        fake.state["tool_calls_made"] = called + 1
        name, arguments = calls[called]
        block = {"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": name}
        return _answer(body, block, arguments, "tool_use")
    return _answer(body, {"type": "text", "text": ""}, "Done.", "end_turn")


def _answer(body: dict[str, Any], block: dict[str, Any], payload: Any, stop: str) -> Response:
    message_id = f"msg_{next(_ids):06d}"
    if not body.get("stream"):
        content = {**block, "input": payload} if block["type"] == "tool_use" else {**block, "text": payload}
        return JSONResponse(_message(message_id, [content], stop, output_tokens=8))
    if block["type"] == "tool_use":
        start, delta = {**block, "input": {}}, {"type": "input_json_delta", "partial_json": json.dumps(payload)}
    else:
        start, delta = block, {"type": "text_delta", "text": payload}
    events = [
        ("message_start", {"message": _message(message_id, [], None, output_tokens=1)}),
        ("content_block_start", {"index": 0, "content_block": start}),
        ("content_block_delta", {"index": 0, "delta": delta}),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 8}}),
        ("message_stop", {}),
    ]
    return StreamingResponse(_sse(events), media_type="text/event-stream")


def _message(message_id: str, content: list[Any], stop: str | None, *, output_tokens: int) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": output_tokens},
    }


def _sse(events: list[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    for name, data in events:
        yield f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()


def search_results(fake: FakeServer) -> list[tuple[str, list[str]]]:
    """Each ToolSearch query the stand-in asked, with the tool names the CLI answered, in rank order.

    The CLI resends the whole conversation each turn, so the longest recorded history holds every
    search and (but for the last, which only its own next request carries) every answer."""
    histories = [rec.json.get("messages", []) for rec in fake.of("anthropic", "/v1/messages") if rec.json]
    asked: dict[str, str] = {}
    found: dict[str, list[str]] = {}
    for messages in histories:
        for message in messages:
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_use" and block.get("name") == SEARCH_TOOL:
                    asked[block["id"]] = block["input"]["query"]
                elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                    refs = [ref["tool_name"] for ref in block["content"] if ref.get("type") == "tool_reference"]
                    found[block["tool_use_id"]] = refs
    return [(query, found.get(tool_use_id, [])) for tool_use_id, query in asked.items()]


def loaded_tool(fake: FakeServer, name_suffix: str) -> dict[str, Any] | None:
    """The definition of a tool, as the CLI sent it to the model once loaded (None if never)."""
    for rec in reversed(fake.of("anthropic", "/v1/messages")):
        for tool in (rec.json or {}).get("tools", []):
            if str(tool.get("name", "")).endswith(name_suffix):
                return dict(tool)
    return None


def tool_results(fake: FakeServer, name: str) -> list[Any]:
    """The content of each result of tool ``name`` the CLI sent back to the model, in call order."""
    calls: dict[str, None] = {}
    results: dict[str, Any] = {}
    for rec in fake.of("anthropic", "/v1/messages"):
        for message in (rec.json or {}).get("messages", []):
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_use" and block.get("name") == name:
                    calls[block["id"]] = None
                elif block.get("type") == "tool_result" and block.get("tool_use_id") in calls:
                    results[block["tool_use_id"]] = block.get("content")
    return [results[i] for i in calls if i in results]
