"""``generate-media``: the terminal interface. It runs the same service as the MCP tool.

    generate-media image "a red fox at dawn" [--backend openai] [--aspect-ratio 3:2] [--json]
    generate-media audio "Hello there" --audio-type speech
    generate-media backends
    generate-media serve            (the MCP server over stdio; same as generate-media-mcp)

Every tool parameter is an option (``--input-images a.png b.png``, ``--duration 8``...), derived
from the request model so the CLI and the tool cannot drift. Output goes to stdout; progress and
logs to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import types
import typing
from typing import Any

import anyio

from . import __version__
from .config import Settings
from .errors import GenerateMediaError
from .requests import MediaRequest

__all__ = ["main"]

_MEDIA = ("image", "video", "audio")
_POSITIONAL = {"media_type", "prompt"}
_CLI_ONLY_SKIP = {"preview"}


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(element type, is_list) of a field annotation such as ``list[str] | None``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and args:
        return _base_type(args[0])
    if origin is list:
        return (typing.get_args(annotation) or (str,))[0], True
    return (annotation if isinstance(annotation, type) else str), False


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    for name, info in MediaRequest.model_fields.items():
        if name in _POSITIONAL or name in _CLI_ONLY_SKIP:
            continue
        kind, is_list = _base_type(info.annotation)
        flag = "--" + name.replace("_", "-")
        help_text = info.description or ""
        if kind is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif is_list:
            parser.add_argument(flag, dest=name, nargs="+", default=None, help=help_text)
        else:
            parser.add_argument(flag, dest=name, type=kind, default=None, help=help_text)
    parser.add_argument("--out", dest="output_dir", default=None, help="Alias of --output-dir.")
    parser.add_argument("--json", action="store_true", help="Print the structured result as JSON.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate-media",
        description="Generate images, video and audio from the terminal, with the same engine as the MCP tool.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level")
    sub = parser.add_subparsers(dest="command", required=True)
    for media in _MEDIA:
        gen = sub.add_parser(media, help=f"generate {media}", description=f"Generate {media}.")
        gen.add_argument("prompt", nargs="?", default=None, help="What to generate (the text to speak for speech).")
        _add_request_options(gen)
    backends = sub.add_parser("backends", help="list backends, models and which keys are set")
    backends.add_argument("--json", action="store_true", help="print as JSON")
    sub.add_parser("serve", help="run the MCP server over stdio")
    return parser


def _backends(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from .docs import backend_rows
    from .registry import load_registry

    rows = backend_rows(load_registry(), settings)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="generate-media backends")
    for column in ("media", "backend", "priority", "default model", "status", "chosen now", "models"):
        table.add_column(column)
    for r in rows:
        status = "key set" if r.status == "ready" and r.key_set else r.status
        notes = "; ".join([", ".join(r.models), *[f"deprecated {d}" for d in r.deprecated]])
        table.add_row(
            r.media_type, r.backend, str(r.priority), r.default_model, status, "yes" if r.would_be_chosen else "", notes
        )
    Console(width=200).print(table)
    return 0


async def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .service import MediaService

    arguments = {
        k: v for k, v in vars(args).items() if k in MediaRequest.model_fields and v is not None and k != "preview"
    }
    arguments["media_type"] = args.command
    arguments["preview"] = False
    err = Console(stderr=True)
    service = MediaService(settings)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task(f"{args.command}: starting", total=None)

        async def progress(value: float, total: float | None, message: str) -> None:
            bar.update(task, description=message, completed=value if total else None, total=total)

        try:
            outcome = await service.generate(arguments, progress=progress)
        except GenerateMediaError as exc:
            bar.stop()
            err.print(f"[red]Error ({exc.code}):[/red] {exc.message}", markup=True, highlight=False)
            return 2 if exc.code in ("invalid_request", "no_backend", "missing_key", "limit_exceeded") else 1
    result = outcome.result
    if args.json:
        print(result.model_dump_json(indent=2, exclude_none=True))
    else:
        print(result.summary())
    return 0 if result.status in ("completed", "partial", "pending") else 1


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        from .server.__main__ import main as serve

        serve([])
        return
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    if args.command == "backends":
        raise SystemExit(_backends(args, settings))
    raise SystemExit(anyio.run(_generate, args, settings))


if __name__ == "__main__":
    main()
