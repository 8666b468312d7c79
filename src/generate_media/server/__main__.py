"""``generate-media-mcp``: start the MCP server (stdio by default, ``--http`` for streamable HTTP)."""

from __future__ import annotations

import argparse
import logging
import sys

from .. import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate-media-mcp",
        description="MCP server with one tool, generate_media (images, video, audio). Speaks stdio by default.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (default: WARNING)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Logs go to stderr: stdout is the protocol in stdio mode.
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    from .app import create_server

    create_server().run("stdio")


if __name__ == "__main__":
    main()
