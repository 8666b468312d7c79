"""The ``generate_media`` tool: a signature derived from the registry's request type and a client-safe schema.

The input schema is flat: every field optional with a default, no ``anyOf`` (some clients, such as
Cursor, reject it), ``media_type``/``backend``/``audio_type`` as enums taken from the registry, and
each backend-declared option with the union of its declared values (enum) or range (minimum/maximum).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import ConfigDict, Field

from ..docs import search_hint, tool_description
from ..registry import Registry
from ..requests import known_values, option_bounds
from ..results import GenerationResult, result_schema
from ..selector import utc_today
from ..spec import MediaType

__all__ = ["MAX_RESULT_CHARS", "build_tool", "flatten_schema", "tool_meta"]

ANNOTATIONS = ToolAnnotations(
    title="Generate media",
    read_only_hint=False,
    destructive_hint=False,
    idempotent_hint=False,
    open_world_hint=True,
)

Handler = Callable[[Context, dict[str, Any]], Awaitable[CallToolResult]]

#: Claude Code keeps a tool result up to this many characters in the conversation and saves a bigger
#: one to a file, handing its model a pointer (one more tool call away from the paths). Its default for
#: MCP tools is 50,000, which a batch of 32 prompts with their metadata already exceeds; the largest
#: batch at the default limits (32 prompts x 10 images: about 490,000 characters of text, links and
#: JSON with 900-character prompts) fits under 500,000, which is also the most Claude Code accepts.
MAX_RESULT_CHARS = 500_000


def tool_meta(registry: Registry) -> dict[str, Any]:
    """The tool's ``_meta`` for clients that read it (Claude Code's keys; others ignore them).

    No ``anthropic/alwaysLoad`` (it defaults to off): loaded, the tool costs what Claude Code sends the
    model for it, its name, description and input schema (about 7,200 characters, some 1,800 tokens;
    measured by tests/test_claude_code.py), in every request of every conversation, media or not.
    Deferred, it costs its name in the list of deferred tools; the search hint (Claude Code reads its
    first 4,096 characters and keeps it to itself) lets the tool search find it for the words people
    use, at one search step when media is wanted, after which it stays loaded for the conversation.
    """
    return {"anthropic/searchHint": search_hint(registry), "anthropic/maxResultSizeChars": MAX_RESULT_CHARS}


class RawArguments(ArgModelBase):
    """Passes the client's arguments through untouched.

    The SDK's own argument model would drop unknown parameters silently and answer type errors
    with a multi-line pydantic dump; ``MediaRequest`` validation in the service does both better
    (unknown parameters are rejected, every error is one line that names the fix).
    """

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _signature(registry: Registry) -> inspect.Signature:
    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    for name, info in registry.request_type.model_fields.items():
        annotation = Annotated[info.annotation, Field(description=info.description)]  # type: ignore[name-defined]
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=info.default, annotation=annotation)
        )
    return inspect.Signature(params, return_annotation=Annotated[CallToolResult, GenerationResult])


def _simplify(prop: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` becomes X; a null default is dropped (absent means unset)."""
    variants = prop.pop("anyOf", None)
    if variants:
        concrete = [v for v in variants if v.get("type") != "null"]
        if len(concrete) == 1:
            prop = {**concrete[0], **prop}
    if prop.get("default", ...) is None:
        prop.pop("default")
    prop.pop("title", None)
    return prop


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``$ref``s to ``$defs`` replaced by the definitions they name (clients that cannot follow refs)."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _inline(defs[ref.removeprefix("#/$defs/")], defs)
    return {k: _inline(v, defs) for k, v in node.items() if k not in ("$defs", "title")}


def flatten_schema(schema: dict[str, Any], registry: Registry) -> dict[str, Any]:
    schema = _inline(schema, schema.get("$defs", {}))
    props = {name: _simplify(dict(prop)) for name, prop in schema.get("properties", {}).items()}
    media_types = [mt.value for mt in MediaType if any(mt in s.media for s in registry)]
    props["media_type"]["enum"] = media_types
    props["backend"]["enum"] = ["auto", *registry.names()]
    props["audio_type"]["enum"] = registry.operation_names(MediaType.AUDIO)
    # The values the registry knows, over all media types (the service checks each per media type and
    # still accepts a deprecated model id, which is not advertised; a style may also be its index).
    # Model ids are not enumerated: with every provider's leaders declared they outgrow the tools/list
    # budget; the service refuses an unknown id listing the known ones, and TOOL.md and
    # `generate-media models` list them with ranks and prices.
    today = utc_today()
    current = [m for spec in registry for _, m in spec.models() if m.status_on(today) == "current"]
    for name, values in known_values(current).items():
        if name != "model":  # open-ended (fal:<endpoint id>): checked by the service, listed by `models`
            props[name]["enum"] = values
    _declared(props, registry, today)
    for prop in props.values():  # an array's items repeat what the array's description says
        if isinstance(prop.get("items"), dict):
            prop["items"].pop("description", None)
            for field_schema in prop["items"].get("properties", {}).values():
                field_schema.pop("description", None)
    props["max_concurrent"].update(minimum=1, maximum=16)
    props["n"]["minimum"] = 1
    props["duration"]["exclusiveMinimum"] = 0
    return {"type": "object", "properties": props, "additionalProperties": False}


def _declared(props: dict[str, Any], registry: Registry, today: Any) -> None:
    """Each declared option's accepted values (of the models current today) or range, merged."""
    for name, takers in registry.options().items():
        values = list(dict.fromkeys(v for t in takers if t.model.status_on(today) == "current" for v in t.values))
        if values:
            props[name]["enum"] = values
        if bounds := option_bounds(takers):
            low, high = (int(b) if float(b).is_integer() else b for b in bounds)  # 0, not 0.0: shorter
            props[name].update(minimum=low, maximum=high)


def build_tool(registry: Registry, handler: Handler) -> Tool:
    async def generate_media(ctx: Context, **arguments: Any) -> CallToolResult:
        return await handler(ctx, arguments)

    generate_media.__signature__ = _signature(registry)  # type: ignore[attr-defined]
    tool = Tool.from_function(
        generate_media,
        name="generate_media",
        title="Generate media",
        description=tool_description(registry),
        annotations=ANNOTATIONS,
        meta=tool_meta(registry),
        structured_output=True,
    )
    tool.parameters = flatten_schema(tool.parameters, registry)
    tool.fn_metadata.output_schema = result_schema()  # errors included: see results.py
    tool.fn_metadata.arg_model = RawArguments
    return tool
