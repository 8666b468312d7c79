"""ElevenLabs dubbing as a long job: submit the file, poll its status, download the dub, delete on cancel.

``POST /v1/dubbing`` (multipart) -> ``dubbing_id``; ``GET /v1/dubbing/{id}`` -> ``status`` in
``dubbing`` | ``dubbed`` | ``failed`` (others, e.g. while preparing, count as running);
``GET /v1/dubbing/{id}/audio/{lang}`` streams MP3 or MP4 (the saved file keeps the real extension).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequest
from ...spec import Call, JobState, JobStatus, Produced
from ._client import NO_RETRIES, client, drop_none, guarded, produced_from, stream_to_temp

__all__ = ["cancel", "fetch", "poll", "submit"]

_STATES: dict[str, JobState] = {"dubbed": "done", "failed": "failed", "dubbing": "running", "cancelled": "cancelled"}


async def submit(call: Call) -> dict[str, Any]:
    req = call.request
    if not req.input_audio:
        raise InvalidRequest("dubbing needs input_audio: an audio or video file to dub")
    if not req.target_language:
        raise InvalidRequest("dubbing needs target_language, a language code such as es, fr or de")
    source = await call.load_file(req.input_audio, ("audio/", "video/"))
    kwargs = drop_none(
        file=(source.name, source.data, source.mime_type),
        target_lang=req.target_language,
        source_lang=req.source_language,
        name=(call.prompt or source.name)[:100],
    )
    async with client(call) as el:
        response = await guarded(lambda: el.dubbing.create(**kwargs, request_options=NO_RETRIES))
    return {
        "dubbing_id": response.dubbing_id,
        "target_language": req.target_language,
        "expected_duration_s": getattr(response, "expected_duration_sec", None),
        "source_mime": source.mime_type,
    }


async def poll(call: Call, handle: dict[str, Any]) -> JobStatus:
    async with client(call) as el:
        meta = await guarded(lambda: el.dubbing.get(handle["dubbing_id"], request_options=NO_RETRIES))
    state = _STATES.get(str(meta.status), "running")
    error = None
    if state == "failed":
        error = f"{meta.error or 'dubbing failed'}; check the input file and target_language"
    return JobStatus(state=state, error=error, error_code="dubbing_failed" if error else None)


async def fetch(call: Call, handle: dict[str, Any], status: JobStatus) -> list[Produced]:
    dubbing_id, language = handle["dubbing_id"], handle["target_language"]

    async with client(call) as el:
        path = await stream_to_temp(
            call, lambda: el.dubbing.audio.get(dubbing_id, language, request_options=NO_RETRIES)
        )
    return [produced_from(path, None, None, dubbing_id=dubbing_id, target_language=language)]


async def cancel(call: Call, handle: dict[str, Any]) -> None:
    """ElevenLabs has no cancel; deleting the project stops it and frees the slot."""
    async with client(call) as el:
        await guarded(lambda: el.dubbing.delete(handle["dubbing_id"], request_options=NO_RETRIES))
