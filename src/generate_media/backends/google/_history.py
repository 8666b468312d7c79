"""Gemini multi-turn image editing as plain data.

The Gemini API is stateless: every turn re-posts the conversation, and Gemini 3 image models need
each model image part re-sent with its ``thoughtSignature``. A continuation record therefore holds
the turns as JSON: text, references to image FILES on disk (never bytes), and signatures as base64::

    {"history": [
        {"role": "user",  "parts": [{"text": "a cat"}, {"file": "/abs/ref.png"}]},
        {"role": "model", "parts": [{"text": "Here it is", "signature": "..."},
                                    {"file": null, "signature": "..."}]}]}

``"file": null`` is the record's own output (its path is known only once the file is saved); it is
resolved to ``record.files[0]`` when the record is continued. Records are never mutated, so two
continuations of one id branch independently.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ...spec import Call

__all__ = ["MAX_EXCHANGES", "history_of", "model_turn", "to_contents", "user_parts", "user_turn"]

#: Earlier exchanges re-sent per turn (each re-posts its images): older ones are dropped.
MAX_EXCHANGES = 6


def history_of(call: Call) -> list[dict[str, Any]]:
    """The continued record's turns with its own output resolved to a path (a fresh copy)."""
    record = call.continuation
    if record is None:
        return []
    own = record.files[0]
    turns = []
    for turn in (record.state or {}).get("history", []):
        parts = [{**part, "file": own} if part.get("file", "") is None else dict(part) for part in turn["parts"]]
        turns.append({"role": turn["role"], "parts": parts})
    return turns[-2 * MAX_EXCHANGES :]


def _reloadable(source: str) -> str | None:
    """A reference that can be loaded again later (path or URL), or None for inline data."""
    if source.startswith(("https://", "http://", "file://")):
        return source
    if source.startswith("data") or not source:
        return None
    return str(Path(source).expanduser().resolve())


def user_turn(call: Call) -> tuple[dict[str, Any], list[str]]:
    """This request's user turn as state, and warnings for inputs that cannot be kept."""
    parts: list[dict[str, Any]] = [{"text": call.prompt}] if call.prompt else []
    warnings = []
    for image in call.input_images:
        ref = _reloadable(image.source)
        if ref is None:
            warnings.append(
                "an inline (data URI) input image is not re-sent in later edits; pass a file path to keep it"
            )
            continue
        parts.append({"file": ref})
    return {"role": "user", "parts": parts}, warnings


def model_turn(parts: list[Any], chosen: Any) -> dict[str, Any]:
    """The model's answer as state: its text parts and the one image this output is."""
    kept: list[dict[str, Any]] = []
    for part in parts:
        if part is chosen:
            kept.append({"file": None, **_signature(part)})
        elif part.text:
            kept.append({"text": part.text, **_signature(part)})
    return {"role": "model", "parts": kept}


def _signature(part: Any) -> dict[str, str]:
    sig = part.thought_signature
    return {"signature": base64.b64encode(sig).decode()} if sig else {}


async def _part(call: Call, entry: dict[str, Any]) -> Any:
    from google.genai import types

    sig = base64.b64decode(entry["signature"]) if entry.get("signature") else None
    if "text" in entry:
        return types.Part(text=entry["text"], thought_signature=sig)
    loaded = await call.load_file(entry["file"], ("image/",))
    return types.Part(inline_data=types.Blob(data=loaded.data, mime_type=loaded.mime_type), thought_signature=sig)


async def to_contents(call: Call, turns: list[dict[str, Any]]) -> list[Any]:
    """``types.Content`` for stored turns, loading each referenced image file."""
    from google.genai import types

    contents = []
    for turn in turns:
        parts = [await _part(call, entry) for entry in turn["parts"]]
        contents.append(types.Content(role=turn["role"], parts=parts))
    return contents


def user_parts(call: Call) -> Any:
    """This request as a user ``types.Content``: the prompt first, then the input images."""
    from google.genai import types

    parts = [types.Part.from_text(text=call.prompt)] if call.prompt else []
    parts.extend(types.Part.from_bytes(data=img.data, mime_type=img.mime_type) for img in call.input_images)
    return types.Content(role="user", parts=parts)
