"""ElevenLabs voices: resolve a voice id or name, list the account's voices.

A name is looked up in the account's voice list (``GET /v1/voices``), fetched once per server and
key and kept on the key's ``_client.Account``. An unknown name is an error listing close matches;
there is never a silent fallback to another voice.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ...errors import InvalidRequest
from ...settings import Setting
from ...spec import Call, Endpoint
from ._client import KEY_ENV, NO_RETRIES, account, guarded, open_client

__all__ = ["DEFAULT_VOICE", "VOICE_SETTING", "list_voices", "remember", "resolve_voice", "warm"]

#: "George", a premade voice every account has. GENERATE_MEDIA_ELEVENLABS_VOICE overrides it.
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"
DEFAULT_VOICE_ENV = "GENERATE_MEDIA_ELEVENLABS_VOICE"
VOICE_SETTING = Setting(
    DEFAULT_VOICE_ENV,
    "text",
    DEFAULT_VOICE,
    "voice (name or id) used when a request names none",
    "elevenlabs",
    f"{DEFAULT_VOICE} (George)",
)
_VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")


async def warm(endpoint: Endpoint) -> None:
    """Import the SDK, build the client and import what a call with no voice named uses: speech, and
    the voice list when the default voice is a name (looked up there). The others (sound effects,
    music, dialogue, voice changing and design, isolation, dubbing, and the voice list for a voice
    named in the call, which then waits for the list itself) cost their own first call 2-13 ms and
    0.5-1.1 MiB each (2.78), most servers never use them."""
    default = endpoint.settings.get(DEFAULT_VOICE_ENV) or DEFAULT_VOICE
    await account(endpoint, prepare=("text_to_speech",) if _VOICE_ID.match(default) else ("text_to_speech", "voices"))


async def _fetch(sdk: Any) -> list[dict[str, str]]:
    response = await guarded(lambda: sdk.voices.get_all(request_options=NO_RETRIES))
    return [
        {"voice_id": v.voice_id, "name": v.name or "", "category": str(v.category or "")} for v in response.voices or []
    ]


async def account_voices(call: Call) -> list[dict[str, str]]:
    """The account's voices, fetched once per server (concurrent callers share one request)."""
    found = await account(call)
    async with found.voices_lock:
        if found.voices is None:
            found.voices = await _fetch(found.sdk)
    return found.voices


async def remember(call: Call, voice_id: str, name: str) -> None:
    """Add a voice this server just created to the cached list, so its name resolves."""
    cached = (await account(call)).voices
    if cached is not None and all(v["voice_id"] != voice_id for v in cached):
        cached.append({"voice_id": voice_id, "name": name, "category": "generated"})


def _short(name: str) -> str:
    # Premade voices are named like "George - Warm, Captivating Storyteller".
    return name.split(" - ")[0].strip().lower()


def _match(wanted: str, voices: list[dict[str, str]]) -> list[dict[str, str]]:
    low = wanted.strip().lower()
    exact = [v for v in voices if v["voice_id"] == wanted or v["name"].strip().lower() == low]
    return exact or [v for v in voices if _short(v["name"]) == low]


def _unknown(wanted: str, voices: list[dict[str, str]]) -> InvalidRequest:
    names = [v["name"] for v in voices if v["name"]]
    shorts = {_short(n): n for n in names}
    close = difflib.get_close_matches(wanted.lower(), list(shorts), n=5, cutoff=0.5)
    close += [n for n in difflib.get_close_matches(wanted, names, n=5, cutoff=0.5) if _short(n) not in close]
    found = list(dict.fromkeys(shorts.get(c, c) for c in close))[:5]
    hint = f"close matches: {', '.join(found)}" if found else f"voices: {', '.join(names[:10]) or 'none'}"
    return InvalidRequest(
        f"voice={wanted!r} is not a voice on this ElevenLabs account ({hint}); pass one of those names or a voice id",
        backend="elevenlabs",
    )


async def resolve_voice(call: Call, voice: str | None = None) -> tuple[str, str | None]:
    """(voice id, voice name if known) for ``voice`` (default: ``call.request.voice``).

    Raises:
        InvalidRequest: an unknown or ambiguous name (lists close matches).
    """
    wanted = voice or call.request.voice or call.settings.get(DEFAULT_VOICE_ENV) or DEFAULT_VOICE
    if _VOICE_ID.match(wanted):
        return wanted, None  # an id: no lookup (library voices are not in the account list)
    voices = await account_voices(call)
    found = _match(wanted, voices)
    ids = {v["voice_id"] for v in found}
    if not found:
        raise _unknown(wanted, voices)
    if len(ids) > 1:
        listed = ", ".join(f"{v['name']} ({v['voice_id']})" for v in found[:5])
        raise InvalidRequest(f"voice={wanted!r} matches several voices: {listed}; pass the voice id")
    return found[0]["voice_id"], found[0]["name"]


async def list_voices(settings: Any) -> list[dict[str, str]]:
    """Every voice on the account (``generate-media backends --voices elevenlabs``).

    Raises:
        MissingKey: ELEVENLABS_API_KEY is not set.
        ProviderError: the provider refused or failed.
    """
    from ...errors import MissingKey

    api_key = settings.api_key((KEY_ENV,))
    if not api_key:
        raise MissingKey(f"set {KEY_ENV} to list ElevenLabs voices", backend="elevenlabs")
    async with open_client(api_key, settings.get("ELEVENLABS_BASE_URL") or None, settings.request_timeout_s) as sdk:
        return await _fetch(sdk)
