"""``generate-media``: the terminal interface. It runs the same service as the MCP tool.

    generate-media image "a red fox at dawn" [--backend openai] [--aspect-ratio 3:2] [--out DIR] [--json]
    generate-media video "waves at dusk"              (live progress on stderr; waits to the end)
    generate-media audio "Hello there" --audio-type speech
    generate-media backends [--json] [--voices elevenlabs]
    generate-media models [--check] [--json]          (declared models and prices; --check: provider drift)
    generate-media jobs [--json]  |  generate-media jobs resume JOB_ID
    generate-media docs [--write TOOL.md]
    generate-media serve [--http ...]                 (the MCP server; same as generate-media-mcp)

Every tool parameter is an option (``--input-images a.png b.png``, ``--duration 8``...), derived
from the request model so the CLI and the tool cannot drift. Results go to stdout; progress, logs
and errors to stderr. Exit status: 0 done (or pending), 1 the provider failed, 2 bad input or
missing key.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import logging
import sys
import types
import typing
from pathlib import Path
from typing import Any

import anyio

from . import __version__
from .config import Settings
from .errors import AccessDenied, GenerateMediaError, InvalidRequest, MissingKey, NotFound, Redactor, redact_logs
from .requests import MediaRequest

__all__ = ["main"]

_MEDIA = ("image", "video", "audio")
_POSITIONAL = {"media_type", "prompt"}
_CLI_ONLY_SKIP = {"preview"}
_BAD_INPUT = (InvalidRequest, MissingKey, NotFound, AccessDenied)
#: Request fields that name input files (paths typed on the command line are the person's own).
_FILE_FIELDS = ("input_images", "mask", "input_video", "last_frame", "reference_images", "input_audio", "voice_samples")


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(element type, is_list) of a field annotation such as ``list[str] | None``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and args:
        return _base_type(args[0])
    if origin is list:
        return (typing.get_args(annotation) or (str,))[0], True
    return (annotation if isinstance(annotation, type) else str), False


def _add_request_options(parser: argparse.ArgumentParser, models: list[Any], request_type: type[MediaRequest]) -> None:
    """One option per request field (the backends' declared options included) that some model of
    ``models`` (one media type's) takes."""
    from .requests import CLI_FORMS, applies

    fields = [
        (name, info)
        for name, info in request_type.model_fields.items()
        if name not in _POSITIONAL and name not in _CLI_ONLY_SKIP and applies(name, models)
    ]
    parser.set_defaults(request_fields=(*_POSITIONAL, *(name for name, _ in fields)))
    for name, info in fields:
        kind, is_list = _base_type(info.annotation)
        flag = "--" + name.replace("_", "-")
        help_text = info.description or ""
        if name in CLI_FORMS:
            help_text = f"{help_text} ({CLI_FORMS[name]})"
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
        epilog="Exit status: 0 done (or pending), 1 the provider failed, 2 bad input or a missing key.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from .registry import load_registry
    from .spec import MediaType

    registry = load_registry()
    for media in _MEDIA:
        media_type = MediaType(media)
        taking = [model for spec in registry.serving(media_type) for model in spec.media[media_type].models]
        gen = sub.add_parser(
            media,
            help=f"generate {media}",
            description=f"Generate {media}. Long jobs wait to the end unless --wait-s is given.",
        )
        gen.add_argument("prompt", nargs="?", default=None, help="What to generate (the text to speak for speech).")
        _add_request_options(gen, taking, registry.request_type)
    backends = sub.add_parser("backends", help="list backends, models, capabilities and which keys are set")
    backends.add_argument("--json", action="store_true", help="print as JSON")
    backends.add_argument("--voices", metavar="BACKEND", help="list the voices of BACKEND (one with a voice list)")
    models = sub.add_parser(
        "models",
        help="list declared models with lifecycle and price; --check compares them with the providers' lists",
        description="List every declared model, its lifecycle and its published price (with the date it was read). "
        "--check asks each provider you have a key for which models it lists and prints the drift. "
        "Exit status with --check: 0 no drift, 1 drift or a provider failed, 2 no provider key set.",
    )
    models.add_argument("--check", action="store_true", help="ask each keyed provider's model list and print drift")
    models.add_argument("--json", action="store_true", help="print as JSON")
    jobs = sub.add_parser("jobs", help="list long jobs, or resume one: jobs resume JOB_ID")
    jobs.add_argument("--json", action="store_true", help="print as JSON")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="resume")
    resume = jobs_sub.add_parser("resume", help="wait for a pending job and save its file (never resubmits)")
    resume.add_argument("job_id", help="the job_id of a pending result")
    resume.add_argument(
        "--wait-s", dest="wait_s", type=float, default=None, help="seconds to wait (default: to the end)"
    )
    resume.add_argument("--json", action="store_true", help="print the structured result as JSON")
    docs = sub.add_parser("docs", help="print TOOL.md (the tool reference, generated from the registry)")
    docs.add_argument("--write", metavar="PATH", help="write it to PATH instead of printing")
    serve = sub.add_parser("serve", help="run the MCP server (stdio; --http for streamable HTTP)", add_help=False)
    serve.add_argument("server_args", nargs=argparse.REMAINDER, help="options of generate-media-mcp")
    return parser


def _secrets(settings: Settings) -> list[str]:
    from .registry import load_registry

    return settings.secrets(load_registry().secret_names())


def _redact(settings: Settings, text: str) -> str:
    return Redactor(_secrets(settings))(text)


def _fail(settings: Settings, exc: GenerateMediaError, as_json: bool = False) -> int:
    """One line on stderr (and with ``--json`` the tool's failed result on stdout); the exit status."""
    if as_json:
        from .results import failure

        print(json.dumps(failure(Redactor(_secrets(settings)).data(exc.to_dict())), indent=2))
    from rich.console import Console

    err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line, whatever the width
    from rich.markup import escape

    # Escaped: messages carry brackets ("generate-media-mcp[local]", "[redacted]") that are not markup.
    err.print(f"[red]Error ({exc.code}):[/red] " + escape(_redact(settings, exc.message)))
    return 2 if isinstance(exc, _BAD_INPUT) else 1


# --- backends -------------------------------------------------------------------------------------


def _backends(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from .docs import backend_rows
    from .registry import load_registry

    if args.voices:
        return anyio.run(_voices, args, settings)
    rows = backend_rows(load_registry(), settings)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    from rich.markup import escape

    console = _console()
    wide = console.width >= _WIDE
    columns = ["media", "backend", "default model", "key / status", "auto"]
    if wide:
        columns[2:2] = ["priority"]
        columns += ["capabilities", "models"]
    caption = None if wide else "capabilities and models: a wider terminal, or --json"
    table = _table("generate-media backends (✓ = chosen now for backend='auto')", columns, caption)
    for r in rows:
        status = "key set" if r.key_set and r.status == "ready" else r.status
        models = ", ".join(f"{m} ({r.marks[m]})" if m in r.marks else m for m in r.models)
        cells = [r.media_type, r.backend, r.default_model, status, "✓" if r.would_be_chosen else ""]
        if wide:
            cells[2:2] = [str(r.priority)]
            cells += [", ".join(r.capabilities), models]
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
    return 0


#: Below this many columns, tables keep the columns needed to act and leave the long lists to --json.
_WIDE = 160


def _console() -> Any:
    """A console as wide as the terminal (COLUMNS, else the tty's size, else 80), never wider."""
    from rich.console import Console

    return Console(highlight=False)


def _table(title: str, columns: list[str], caption: str | None = None) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


async def _voices(args: argparse.Namespace, settings: Settings) -> int:
    from .registry import load_registry

    name = args.voices.strip().lower()
    if load_registry().get(name) is None:
        print(f"Error: unknown backend {name!r}; see `generate-media backends`", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"generate_media.backends.{name}.voices")
    except ModuleNotFoundError:
        print(f"Error: {name} has no voice list; voices are only listed for backends that have one", file=sys.stderr)
        return 2
    try:
        voices = module.list_voices(settings)
        voices = await voices if inspect.isawaitable(voices) else voices
    except GenerateMediaError as exc:
        return _fail(settings, exc)
    if args.json:
        print(json.dumps(voices, indent=2))
        return 0
    for voice in voices:
        print("\t".join(str(v) for v in voice.values()) if isinstance(voice, dict) else str(voice))
    return 0


# --- models ---------------------------------------------------------------------------------------


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from .catalog import model_rows
    from .registry import load_registry

    registry = load_registry()
    if args.check:
        return anyio.run(_check, registry, settings, args.json)
    rows = model_rows(registry, settings)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.markup import escape

    console = _console()
    wide = console.width >= _WIDE + 100  # room for the price source beside the rank
    columns = ["backend", "media", "model", "default", "lifecycle", "price", "best rank"]
    columns += ["price source"] if wide else []
    table = _table("generate-media models (list prices and leaderboard ranks, with their dates)", columns)
    for r in rows:
        cells = [r["backend"], r["media_type"], r["model"], "✓" if r["default"] else "", r["lifecycle"], r["price"]]
        cells.append(r["ranks"].split("; ")[0])  # every rank: --json, or TOOL.md
        table.add_row(*(escape(str(c)) for c in (cells + ([r["price_source"] or ""] if wide else []))))
    console.print(table)
    return 0


async def _check(registry: Any, settings: Settings, as_json: bool) -> int:
    from dataclasses import asdict

    from .catalog import check, drift_lines

    drifts = await check(registry, settings)
    if as_json:
        print(_redact(settings, json.dumps([asdict(d) for d in drifts], indent=2)))
    else:
        for line in drift_lines(drifts):
            print(_redact(settings, line))
    if all(d.skipped for d in drifts):
        print("Error: no provider key is set; set at least one to check its model list", file=sys.stderr)
        return 2
    return 0 if all(d.clean for d in drifts) else 1


# --- jobs -----------------------------------------------------------------------------------------


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    if args.jobs_command == "resume":
        arguments = {"job_id": args.job_id, "wait_s": 0.0 if args.wait_s is None else args.wait_s}
        return anyio.run(_run, arguments, settings, args.json, "resume")
    from .stores import StateStore, database_url

    async def listed() -> list[Any]:
        store = StateStore(database_url(settings.database_url, settings.state_dir))
        try:
            return await store.jobs.list("local")
        finally:
            await store.close()

    records = anyio.run(listed)
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(r) for r in records], indent=2))
        return 0
    if not records:
        print("No jobs yet.")
        return 0
    from rich.markup import escape

    console = _console()
    table = _table(f"generate-media jobs ({settings.state_dir / 'jobs'})", [])
    table.add_column("job_id", no_wrap=True)  # the handle to resume with: never folded
    for column in ("state", "media", "backend/model", "progress"):
        table.add_column(column, overflow="fold")
    table.add_column("prompt", overflow="ellipsis", no_wrap=True, ratio=1)
    for r in records:
        percent = f"{r.percent:.0f}%" if r.percent is not None else ""
        prompt = str(r.request.get("prompt", ""))[:60]
        cells = (r.id, r.state, r.media_type, f"{r.backend}/{r.model}", percent, prompt)
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
    pending = [r.id for r in records if not r.finished]
    if pending:
        print(f"Resume one with: generate-media jobs resume {pending[-1]}")
    return 0


# --- generation -----------------------------------------------------------------------------------


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    arguments = {k: v for k, v in vars(args).items() if k in args.request_fields and v is not None}
    arguments["media_type"] = args.command
    arguments["preview"] = False
    # A terminal can wait: long jobs run to the end unless --wait-s says otherwise.
    arguments.setdefault("wait_s", 0.0)
    return arguments


def _local_path(ref: str) -> Path | None:
    """``ref`` as an absolute path when it names an existing local file (not a URL or data URI)."""
    if ref.startswith("data:") or "://" in ref:
        return None
    path = Path(ref).expanduser()
    return path.absolute() if path.is_file() else None


def _named_paths(arguments: dict[str, Any]) -> tuple[Path, ...]:
    """What the person named on the command line is theirs to use: the output folder (``~/clips``)
    and the folders of the input files they typed. Made absolute against the working directory, as a shell user
    means them, and returned as extra allowed roots for this call only (the MCP tool stays confined
    to the output and allowed directories). Rewrites ``arguments`` in place."""
    roots: list[Path] = []
    if arguments.get("output_dir"):
        folder = Path(arguments["output_dir"]).expanduser().absolute()
        arguments["output_dir"] = str(folder)
        roots.append(folder)
    for name in _FILE_FIELDS:
        value = arguments.get(name)
        refs = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        paths = [_local_path(ref) for ref in refs]
        roots.extend(p.parent for p in paths if p is not None)  # files are opened through their folder
        fixed = [str(p) if p is not None else ref for p, ref in zip(paths, refs, strict=True)]
        if isinstance(value, list):
            arguments[name] = fixed
        elif isinstance(value, str):
            arguments[name] = fixed[0]
    return tuple(roots)


async def _run(arguments: dict[str, Any], settings: Settings, as_json: bool, label: str) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .service import Caller, MediaService

    service = MediaService(settings)
    caller = Caller(roots=_named_paths(arguments))
    err = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    # The bar is for people: with stderr redirected it stays off and stderr holds only errors.
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(f"{label}: starting", total=None)

        async def progress(value: float, total: float | None, message: str) -> None:
            bar.update(task, description=escape(_redact(settings, message)), completed=value, total=total)

        try:
            async with service.serving():  # its clients are closed before the command returns
                outcome = await service.generate(arguments, caller, progress=progress)
        except GenerateMediaError as exc:
            bar.stop()
            return _fail(settings, exc, as_json)
    result = outcome.result
    print(_redact(settings, result.model_dump_json(indent=2, exclude_none=True) if as_json else result.summary()))
    if result.status == "pending":
        print(f"Resume with: generate-media jobs resume {result.job_id}", file=sys.stderr)
    return 0 if result.status in ("completed", "pending") else 1


# --- entry point ----------------------------------------------------------------------------------


def _docs(args: argparse.Namespace) -> int:
    from .docs import tool_markdown
    from .registry import load_registry

    text = tool_markdown(load_registry())
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # everything after it belongs to generate-media-mcp (argparse would eat --help)
        from .server.__main__ import main as serve

        serve(argv[1:])
        return
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(ValueError):  # a malformed setting is reported by _settings() below
        redact_logs(_secrets(Settings.from_env()))
    if args.command == "docs":
        raise SystemExit(_docs(args))
    settings = _settings()
    if args.command == "backends":
        raise SystemExit(_backends(args, settings))
    if args.command == "jobs":
        raise SystemExit(_jobs(args, settings))
    if args.command == "models":
        raise SystemExit(_models(args, settings))
    raise SystemExit(anyio.run(_run, _arguments(args), settings, args.json, args.command))


if __name__ == "__main__":
    main()
