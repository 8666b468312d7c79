"""stdio: the SDK's stdio transport, with an answer for every line that is not a JSON-RPC message.

The SDK's reader turns a line it cannot parse (bad JSON, or JSON nested deeper than its parser
allows, about 200 levels) into an exception on the read stream, and its dispatcher drops those
with a debug log: the client gets no answer and waits for its own timeout. Here each such line
gets a JSON-RPC error, with the request's id when the line still yields one, and the server
carries on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["AnswerUnreadable", "rejection", "serve_stdio"]

log = logging.getLogger("generate_media.server")


def rejection(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error for a line the SDK could not read as a message.

    Parse error (-32700) when the line is not JSON the SDK can parse (including nesting too deep),
    invalid request (-32600) when it is JSON but not a JSON-RPC message.
    """
    errors: list[dict[str, Any]] = []
    if isinstance(exc, ValidationError):
        errors = [dict(e) for e in exc.errors()]
    unparsed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if unparsed is not None:
        detail = str(unparsed.get("msg") or "invalid JSON")
        if "recursion" in detail:
            detail = "JSON nested too deeply"
        raw = unparsed.get("input")
        return _error(_id_of(raw), PARSE_ERROR, f"Parse error: {detail}; send one JSON-RPC message per line")
    # Each failed union branch reports the part it refused; the whole message is the dict among them.
    raw = next((e.get("input") for e in errors if isinstance(e.get("input"), dict)), None)
    return _error(_id_of(raw), INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message")


def _id_of(raw: Any) -> str | int | None:
    """The request id, when the text still parses with Python's own (deeper) parser."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    found = raw.get("id") if isinstance(raw, dict) else None
    return found if isinstance(found, str | int) and not isinstance(found, bool) else None


def _error(request_id: str | int | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


class AnswerUnreadable:
    """A read stream that answers the exceptions the transport puts on it instead of passing them on."""

    def __init__(self, inner: Any, write: Any) -> None:
        self._inner = inner
        self._write = write

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            error = rejection(item)
            log.info("answered an unreadable message: %s", error.error.message)
            await self._write.send(SessionMessage(error))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AnswerUnreadable:
        return self

    async def __anext__(self) -> Any:
        from anyio import EndOfStream

        try:
            return await self.receive()
        except EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnswerUnreadable:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def serve_stdio(server: MCPServer) -> None:
    """What ``server.run("stdio")`` does, with :class:`AnswerUnreadable` on the read side."""
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        answering = AnswerUnreadable(read_stream, write_stream)
        await lowlevel.run(answering, write_stream, lowlevel.create_initialization_options())
