"""The structured result of ``generate_media`` (also the tool's ``outputSchema``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["CostEstimate", "ErrorInfo", "GenerationResult", "ItemResult"]


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
    code: str
    message: str
    retryable: bool = False
    backend: str | None = None
    retry_after: float | None = None


class ItemResult(BaseModel):
    """One output file, or one prompt of a batch that failed."""

    index: int = Field(description="Position of the prompt in the batch (0 for a single prompt).")
    prompt: str
    status: Literal["ok", "error"] = "ok"
    path: str | None = None
    uri: str | None = Field(None, description="file:// URI of the file on the server's disk.")
    resource_uri: str | None = Field(None, description="MCP resource URI that serves the bytes (HTTP transport).")
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
    next_step: str | None = None
    backends_tried: list[dict[str, Any]] = Field(default_factory=list)
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
        for item in ok:
            extra = f" (continuation_id: {item.continuation_id})" if item.continuation_id else ""
            mark = " [PLACEHOLDER: not real generation]" if item.placeholder else ""
            timed = f" (word timings: {', '.join(item.sidecars.values())})" if item.sidecars else ""
            lines.append(f"- {item.path}{mark}{extra}{timed}")
        for item in failed:
            lines.append(f"- prompt {item.index + 1} failed: {item.error.message if item.error else 'unknown error'}")
        lines.extend(f"Warning: {w}" for w in self.warnings)
        return "\n".join(lines)
