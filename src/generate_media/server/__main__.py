"""``generate-media-mcp``: start the MCP server (stdio by default, ``--http`` for streamable HTTP).

``generate-media-mcp`` speaks stdio (what MCP clients launch). ``generate-media-mcp --http [--host
127.0.0.1] [--port 8765]`` serves streamable HTTP at ``/mcp`` and requires a bearer token;
``--no-auth`` drops the token and is refused unless the host is loopback.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from ..config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate-media-mcp",
        description="MCP server with one tool, generate_media (images, video, audio). Speaks stdio by default.",
        epilog="HTTP needs GENERATE_MEDIA_HTTP_TOKEN (or GENERATE_MEDIA_HTTP_TOKENS=name:token,...); clients send "
        "'Authorization: Bearer <token>'. Files are served as media://outputs/{id} resources over HTTP.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (default: WARNING)")
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port (default: 8765; 0 picks a free one)")
    parser.add_argument(
        "--no-auth", action="store_true", help="HTTP without a bearer token (refused unless --host is loopback)"
    )
    return parser


def _serve_http(args: argparse.Namespace) -> None:
    import anyio

    from ..config import Settings
    from ..service import MediaService
    from .http import HttpConfigError, HttpServer, create_http_app

    try:
        settings = Settings.from_env()
        service = MediaService(settings)
        app = create_http_app(settings, host=args.host, no_auth=args.no_auth, service=service)
        server = HttpServer(app, args.host, args.port, log_level=args.log_level)
    except (HttpConfigError, ValueError, OSError) as exc:
        print(f"generate-media-mcp: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc

    async def run() -> None:
        tune = functools.partial(_tune_allocator, settings)
        async with service.running(in_session=tune), anyio.create_task_group() as tg:
            url = await tg.start(server.serve)
            print(f"generate-media-mcp: serving MCP over streamable HTTP at {url}", file=sys.stderr)

    anyio.run(run)


def _tune_allocator(settings: Settings) -> None:
    """Run once a client is in session (``MediaService.running``), in a worker thread."""
    if settings.keep_freed_memory:
        from .allocator import keep_freed_memory  # imported then, not on the startup path

        keep_freed_memory(settings.env)


def _redact_logs() -> None:
    """Every log line passes the redactor: one filter on the stderr handler covers every library's
    loggers too (httpx/httpcore print URLs and provider headers at DEBUG)."""
    from ..config import Settings
    from ..errors import redact_logs
    from ..registry import load_registry

    try:
        secrets = Settings.from_env().secrets(load_registry().secret_names())
    except ValueError:
        return  # a malformed setting: the command reports it itself
    redact_logs(secrets)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Logs go to stderr: stdout is the protocol in stdio mode.
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    _redact_logs()
    if args.http:
        _serve_http(args)
        return
    if args.no_auth:
        print("generate-media-mcp: --no-auth only applies with --http", file=sys.stderr)
        raise SystemExit(2)
    import anyio

    from .app import create_server
    from .stdio import serve_stdio

    by_hand = sys.stdin.isatty()
    signal.signal(signal.SIGINT, functools.partial(_interrupted, by_hand))
    try:
        server = create_server()
    except ValueError as exc:  # a malformed setting (e.g. GENERATE_MEDIA_STORAGE_URL): one line, no traceback
        print(f"generate-media-mcp: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    if by_hand:
        print(WAITING, file=sys.stderr, flush=True)

    async def run() -> None:
        service = server.media_service  # type: ignore[attr-defined]
        async with service.running(in_session=functools.partial(_tune_allocator, service.settings)):
            await serve_stdio(server)

    anyio.run(run)
    if by_hand:
        print("generate-media-mcp: end of input (Ctrl-D); stopped.", file=sys.stderr)
    _leave(0)


#: Said on stderr when stdin is a terminal: a person started the server by hand.
WAITING = (
    "generate-media-mcp: waiting for an MCP client on stdin (JSON-RPC messages, one per line). "
    "MCP clients start this command themselves: add it to yours (README, mcp.json.example). "
    'To make media from a terminal, use generate-media (e.g. generate-media image "a red fox"). '
    "Ctrl-C or Ctrl-D stops it."
)


def _interrupted(by_hand: bool, signum: int, frame: Any) -> None:
    """Ctrl-C stops the server at once. Left to asyncio, SIGINT would cancel the server but then wait
    for the thread blocked reading stdin, so nothing happened until the next line (and Ctrl-D then
    ended in a KeyboardInterrupt traceback). Files are written atomically, so none is left half done;
    a pending provider job is on disk and resumable."""
    # os.write, not print: the signal may arrive in the middle of a print to the same stream, and the
    # buffered writer refuses a reentrant call.
    if by_hand:
        os.write(2, b"\ngenerate-media-mcp: interrupted (Ctrl-C); stopped.\n")
    os._exit(128 + signal.SIGINT)


def _leave(status: int) -> None:
    # Every call has ended (files are written before results are sent). Interpreter teardown of the
    # SDK modules would add about half a second before the client sees the process exit, and a
    # thread blocked reading stdin would hold it forever: flush and leave now.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
