"""ElevenLabs operations that create a voice on the account: voice design and instant voice cloning.

Both leave a persistent voice behind (that is the point: it can be used by id or name afterwards),
and both say so in the item's warnings and return the new ``voice_id`` in its metadata.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any

from ...errors import BadProviderResponse, InvalidRequest
from ...spec import Call, Produced
from ._client import NO_RETRIES, PCM_METADATA, account, client, drop_none, guarded, output_format
from .voices import remember

__all__ = ["clone_voice", "design_voice"]

_DESCRIPTION_CHARS = (20, 1000)


def _voice_name(call: Call, kind: str) -> str:
    if call.request.voice_name:
        return str(call.request.voice_name)[:100]
    return f"generate-media {kind} {time.strftime('%Y-%m-%d %H:%M:%S')}"


def _persistent(name: str, voice_id: str) -> str:
    return (
        f"created the persistent voice {name!r} ({voice_id}) on your ElevenLabs account; it counts toward "
        "your voice slots: delete it in the ElevenLabs dashboard when you no longer need it"
    )


async def design_voice(call: Call) -> list[Produced]:
    """Design a voice from the prompt, save it to the account, and return its preview audio."""
    low, high = _DESCRIPTION_CHARS
    if not low <= len(call.prompt) <= high:
        raise InvalidRequest(f"voice_design needs a prompt of {low} to {high} characters describing the voice")
    fmt, code = output_format(call)
    async with client(call) as el:
        design = await guarded(
            lambda: el.text_to_voice.design(
                voice_description=call.prompt,
                output_format=code,
                request_options=NO_RETRIES,
                **drop_none(model_id=call.model.id, auto_generate_text=True, seed=call.request.seed),
            )
        )
        if not design.previews:
            raise BadProviderResponse("elevenlabs designed no voice previews; rephrase the description")
        preview = design.previews[0]
        try:
            audio = base64.b64decode(preview.audio_base_64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadProviderResponse("elevenlabs returned an invalid voice preview; try again") from exc
        name = _voice_name(call, "designed voice")
        voice = await guarded(
            lambda: el.text_to_voice.create(
                voice_name=name,
                voice_description=call.prompt,
                generated_voice_id=preview.generated_voice_id,
                request_options=NO_RETRIES,
            )
        )
    await remember(call, voice.voice_id, name)
    meta: dict[str, Any] = {
        "voice_id": voice.voice_id,
        "voice_name": name,
        "generated_voice_id": preview.generated_voice_id,
        "preview_text": design.text,
        "output_format": code,
    }
    if fmt == "pcm":
        meta.update(PCM_METADATA)
    return [Produced(data=audio, metadata=meta, warnings=[_persistent(name, voice.voice_id)])]


def _clone_key(call: Call, name: str, samples: list[Any]) -> str:
    digest = hashlib.sha256(f"{call.api_key}\0{call.base_url}\0{name}".encode())
    for sample in samples:
        digest.update(hashlib.sha256(sample.data).digest())
    return f"elevenlabs.clone.{digest.hexdigest()[:24]}"


async def clone_voice(call: Call) -> tuple[str, str, bool, list[str]]:
    """Instant-clone a voice from ``voice_samples``: (voice id, name, reused, warnings).

    The clone is remembered per server by its samples and name, so a retried or repeated request
    reuses it instead of filling the account with copies.
    """
    refs = call.request.voice_samples or []
    if not refs:
        raise InvalidRequest("voice_clone needs voice_samples: one or more audio files of the voice")
    if call.request.voice:
        raise InvalidRequest("voice_clone makes its own voice from voice_samples; omit voice")
    samples = [await call.load_file(ref, ("audio/", "video/")) for ref in refs]
    name = _voice_name(call, "clone")
    key = _clone_key(call, name, samples)
    clones = (await account(call)).clones
    if key in clones:
        voice_id = clones[key]
        return voice_id, name, True, [f"reused the voice {name!r} ({voice_id}) cloned earlier from these samples"]
    files = [(s.name, s.data, s.mime_type) for s in samples]
    async with client(call) as el:
        created = await guarded(lambda: el.voices.ivc.create(name=name, files=files, request_options=NO_RETRIES))
    clones[key] = created.voice_id
    await remember(call, created.voice_id, name)
    warnings = [_persistent(name, created.voice_id)]
    if getattr(created, "requires_verification", False):
        warnings.append("ElevenLabs asks to verify this voice before wide use; see the dashboard")
    return created.voice_id, name, False, warnings
