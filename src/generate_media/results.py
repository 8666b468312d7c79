"""The structured result of ``generate_media`` and the tool's ``outputSchema`` (:func:`result_schema`).

Every result validates against that schema, errors included: strict clients (the TypeScript SDK
1.x, the MCP Inspector) check ``structuredContent`` even when ``isError`` is set, and show a schema
complaint instead of our message when it does not match. A failed call is ``{"status": "failed",
"error": {...}}`` (:func:`failure`); every other status carries the media type, backend, model and items.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import ERROR_CODES

if TYPE_CHECKING:
    from .output import SavedFile

__all__ = ["CostEstimate", "ErrorInfo", "GenerationResult", "ItemResult", "Outcome", "failure", "result_schema"]


class CostEstimate(BaseModel):
    """List-price estimate of a call (not an invoice): ``usd`` = ``units`` x ``unit_usd`` at ``tier``."""

    usd: float | None = None  # absent: the price is unknown
    unit: str | None = None  # image, second, character or call
    units: float | None = None
    unit_usd: float | None = None
    tier: str | None = None  # the quality, size or resolution the price was taken from
    price_checked: str | None = None  # date the published price was read
    source: str | None = None
    note: str | None = None
    budget_remaining_usd: float | None = None  # left of today's GENERATE_MEDIA_BUDGET_USD


class ErrorInfo(BaseModel):
    """What went wrong. Further details of the error (such as ``backends_tried``) are kept."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Machine-readable error class (see the enum).")
    message: str = Field(description="One line naming the next move.")
    retryable: bool = False
    backend: str | None = None
    retry_after: float | None = Field(None, description="Seconds to wait before retrying, when the provider said.")
    status: int | None = Field(None, description="The provider's HTTP status, when there was one.")
    job_id: str | None = Field(None, description="The long job this error belongs to (resumable when retryable).")
    backends_tried: list[dict[str, Any]] | None = Field(None, description="backend='auto': each backend tried.")


class ItemResult(BaseModel):
    """One output file, or one prompt of a batch that failed."""

    index: int = Field(description="Position of the prompt in the batch (0 for a single prompt).")
    prompt: str
    status: Literal["ok", "error"] = "ok"
    path: str | None = None
    uri: str | None = Field(None, description="file:// (or s3://) URI of the saved file.")
    resource_uri: str | None = Field(None, description="Resource or signed URL serving the bytes (HTTP transport).")
    mime_type: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    continuation_id: str | None = Field(None, description="Pass as continue_from to edit this output further.")
    revised_prompt: str | None = None
    placeholder: bool | None = Field(None, description="True for local placeholder output (not real generation).")
    sidecars: dict[str, str] | None = Field(
        None, description="Companion files next to this one, by extension (json word timings, srt subtitles)."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None


class GenerationResult(BaseModel):
    status: Literal["completed", "partial", "pending", "failed"]
    media_type: str
    backend: str | None = None
    model: str | None = None
    items: list[ItemResult] = Field(default_factory=list)
    job_id: str | None = Field(None, description="Long job id: call again with job_id to resume or re-fetch.")
    progress_percent: float | None = None
    wait_budget_s: float | None = None  # long jobs: the most this call waited, in seconds (0: to the end)
    wait_budget_from: str | None = None  # wait_s, GENERATE_MEDIA_WAIT_BUDGET_S, client <name> or default
    next_step: str | None = None
    backends_tried: list[dict[str, Any]] = Field(default_factory=list)
    chosen: str | None = None  # prefer: which model was chosen and why (rank, price, their dates)
    estimated_cost: CostEstimate | None = None
    warnings: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None

    def summary(self) -> str:
        """A short human line or two; the structured content carries the details."""
        if self.status == "pending":
            head = f"{self.media_type} job {self.job_id} is still running on {self.backend}."
            return f"{head} {self.next_step or ''}".strip()
        ok = [i for i in self.items if i.status == "ok"]
        failed = [i for i in self.items if i.status == "error"]
        lines = [f"Generated {len(ok)} {self.media_type} file(s) with {self.backend}/{self.model}."]
        if self.estimated_cost is not None and self.estimated_cost.usd:
            lines[0] += f" Estimated cost: ${self.estimated_cost.usd:.4f} at list price."
        if self.chosen:
            lines.append(f"Chosen by {self.chosen}")
        for item in ok:
            extra = f" (continuation_id: {item.continuation_id})" if item.continuation_id else ""
            mark = " [PLACEHOLDER: not real generation]" if item.placeholder else ""
            timed = f" (word timings: {', '.join(item.sidecars.values())})" if item.sidecars else ""
            lines.append(f"- {item.path}{mark}{extra}{timed}")
        for item in failed:
            lines.append(f"- prompt {item.index + 1} failed: {item.error.message if item.error else 'unknown error'}")
        lines.extend(f"Warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def failure(error: dict[str, Any]) -> dict[str, Any]:
    """The structured content of a failed call (``error`` is ``GenerateMediaError.to_dict()``)."""
    return {"status": "failed", "error": {k: v for k, v in error.items() if v is not None}}


def _compact(node: Any) -> Any:
    """Types only: pydantic's titles, descriptions and defaults go (the field docs live here, in the
    models, and in TOOL.md; the tools/list answer has a size budget); ``anyOf: [X, null]`` becomes X
    (results omit None)."""
    if isinstance(node, list):
        return [_compact(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "description", "default") and not isinstance(value, dict):
            continue
        if key == "additionalProperties" and value is True:  # the JSON Schema default
            continue
        out[key] = _compact(value)
    variants = out.get("anyOf")
    if isinstance(variants, list):
        concrete = [v for v in variants if v.get("type") != "null"]
        if len(concrete) == 1 and len(variants) == 2:
            out.pop("anyOf")
            out = {**concrete[0], **out}
    return out


def _when(field: str, value: str, then: list[str], otherwise: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "then": {"required": then},
        "else": {"required": otherwise},
    }


def result_schema() -> dict[str, Any]:
    """The tool's ``outputSchema``: a failed result needs ``error``; any other needs what was made."""
    schema: dict[str, Any] = _compact(copy.deepcopy(GenerationResult.model_json_schema()))
    defs = schema["$defs"]
    defs["ErrorInfo"]["properties"]["code"]["enum"] = list(ERROR_CODES)
    schema["required"] = ["status"]
    schema["allOf"] = [_when("status", "failed", ["error"], ["media_type", "backend", "model", "items"])]
    defs["ItemResult"]["allOf"] = [_when("status", "error", ["error"], ["path", "uri", "mime_type", "size_bytes"])]
    return schema


@dataclass
class Outcome:
    """One call's result, with the previews and files the server turns into content blocks."""

    result: GenerationResult
    previews: list[tuple[bytes, str]] = field(default_factory=list)
    files: list[SavedFile] = field(default_factory=list)
