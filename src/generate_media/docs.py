"""Text derived from the registry: the tool description, the backends listing rows.

The MCP tool description, ``generate-media backends`` and TOOL.md all come from here, so they
cannot disagree with each other or with the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .registry import Registry
from .selector import backend_unavailable, default_model_id, ordered_backends
from .spec import MediaType

__all__ = ["BackendRow", "backend_rows", "tool_description"]

TOOL_SUMMARY = (
    "Generate images, video and audio with the best available provider, written to files. "
    "Returns file paths, resource links and metadata (plus a small preview for images). "
    "Edit iteratively by passing a result's continuation_id as continue_from. "
    "Long video jobs report progress; if a call returns status 'pending', call again with its job_id."
)


def tool_description(registry: Registry) -> str:
    lines = [TOOL_SUMMARY, "", "Backends (backend='auto' picks the highest priority one that has a key set):"]
    for spec in registry:
        media = ", ".join(f"{mt.value} ({spec.media[mt].default_model})" for mt in MediaType if mt in spec.media)
        keys = " or ".join(spec.env_keys) if spec.env_keys else "no key"
        lines.append(f"- {spec.name}: {media}; {keys}")
    lines.append(
        "Audio operations (audio_type): speech, sound_effect, music, voice_conversion, audio_isolation, "
        "voice_design, voice_clone, dubbing."
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class BackendRow:
    backend: str
    media_type: str
    priority: int
    default_model: str
    models: list[str]
    status: str  # "ready" or why not
    key_set: bool
    would_be_chosen: bool
    deprecated: list[str]


def backend_rows(registry: Registry, settings: Settings) -> list[BackendRow]:
    """One row per (backend, media type). Shows whether a key is set, never the key."""
    rows: list[BackendRow] = []
    for media_type in MediaType:
        order = ordered_backends(registry, media_type, settings)
        chosen = next((s.name for s in order if backend_unavailable(s, settings) is None), None)
        for spec in order:
            support = spec.media[media_type]
            why = backend_unavailable(spec, settings)
            rows.append(
                BackendRow(
                    backend=spec.name,
                    media_type=media_type.value,
                    priority=support.priority,
                    default_model=default_model_id(spec, media_type, settings),
                    models=[m.id for m in support.models],
                    status="ready" if why is None else why,
                    key_set=bool(spec.env_keys) and bool(settings.api_key(spec.env_keys)),
                    would_be_chosen=spec.name == chosen,
                    deprecated=[f"{m.id}: {m.deprecated}" for m in support.models if m.deprecated],
                )
            )
    return rows
