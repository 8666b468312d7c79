"""fal's queue API over httpx: submit, status (queue position and logs), result, cancel.

Submit is ``POST {FAL_BASE_URL}/{endpoint id}``; the answer carries the ``request_id`` and the
``status_url``, ``response_url`` and ``cancel_url`` to use from then on. fal builds those from the
app id alone (``owner/app``, without the endpoint's sub-path): rebuilding them ourselves is the
documented mistake, so they are stored in the job's handle and used as given, and the key is only
ever sent to the origin of ``FAL_BASE_URL``. Auth is ``Authorization: Key $FAL_KEY``.

A status is ``IN_QUEUE`` (with ``queue_position``), ``IN_PROGRESS`` (with logs when asked with
``?logs=1``) or ``COMPLETED``; a completed request that failed carries ``error`` in its status, or
answers its result URL with an error. Cancel is ``PUT cancel_url``: 202 ``CANCELLATION_REQUESTED``
or 200 ``OK``; 400 ``ALREADY_COMPLETED`` means it is too late.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ...errors import BadProviderResponse, GenerateMediaError, ModelUnavailable, NotFound
from ...spec import Call, Endpoint, JobStatus
from .._clients import httpx_client
from .._errors import ErrorMap, failure_code, from_status, httpx_errors, provider_message

__all__ = ["ERRORS", "KEY_ENV", "cancel", "poll", "submit", "warm"]

BACKEND = "fal"
KEY_ENV = "FAL_KEY"
_URLS = ("status_url", "response_url", "cancel_url")
ERRORS = ErrorMap(BACKEND, KEY_ENV, httpx_errors)


def _base(call: Call) -> str:
    return (call.base_url or "").rstrip("/")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


async def _send(call: Call, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One request to fal (the key goes only to ``FAL_BASE_URL``'s origin); returns the response."""
    if _origin(url) != _origin(_base(call)):
        raise BadProviderResponse(
            "fal returned a queue URL on another host; refusing to send the key there", backend=BACKEND
        )
    client = await httpx_client(call, "fal-httpx")  # shared for the server's lifetime
    with ERRORS:
        return await client.request(method, url, json=body, headers={"Authorization": f"Key {call.api_key}"})


async def warm(endpoint: Endpoint) -> None:
    """Import httpx and build the client every fal request shares (the first call finds it ready)."""
    await httpx_client(endpoint, "fal-httpx")


def _json(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise BadProviderResponse("fal sent a malformed response; try again", backend=BACKEND) from exc


async def submit(call: Call, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """Queue ``body`` on ``endpoint``; the handle holds the request id and the URLs fal returned."""
    resp = await _send(call, "POST", f"{_base(call)}/{endpoint}", body)
    if resp.status_code == 404:
        raise ModelUnavailable(
            f"fal answered 404 for {endpoint}: {provider_message(resp.content) or 'not found'}; the endpoint is no "
            "longer served (or the id is wrong): check it on fal.ai/models or use another model",
            backend=BACKEND,
            status=404,
        )
    if resp.status_code >= 400:
        raise from_status(resp.status_code, resp.content, backend=BACKEND, headers=resp.headers, key_env=KEY_ENV)
    data = _json(resp)
    request_id = data.get("request_id") if isinstance(data, dict) else None
    if not request_id or not all(isinstance(data.get(k), str) for k in _URLS):
        raise BadProviderResponse(
            "fal accepted the request but returned no request id or URLs; try again", backend=BACKEND
        )
    return {"request_id": request_id, "endpoint": endpoint, **{k: data[k] for k in _URLS}}


async def _report(call: Call, handle: dict[str, Any], data: dict[str, Any]) -> None:
    """Queue position and new log lines, as progress messages."""
    if data.get("status") == "IN_QUEUE":
        position = data.get("queue_position")
        where = f" at position {position}" if isinstance(position, int) else ""
        await call.progress(f"waiting in fal's queue{where}")
        return
    logs = [entry for entry in data.get("logs") or [] if isinstance(entry, dict) and entry.get("message")]
    fresh = logs[int(handle.get("logs_seen", 0)) :]
    handle["logs_seen"] = len(logs)  # kept with the job: a resumed wait does not repeat old lines
    for entry in fresh[-3:]:  # the latest few: a chatty model must not flood the client
        await call.progress(f"fal: {str(entry['message'])[:200]}")


async def _outcome(call: Call, handle: dict[str, Any]) -> JobStatus:
    """A completed request: its result, or why it failed."""
    resp = await _send(call, "GET", handle["response_url"])
    if resp.status_code >= 500 or resp.status_code == 429:
        raise from_status(resp.status_code, resp.content, backend=BACKEND, headers=resp.headers, key_env=KEY_ENV)
    if resp.status_code >= 400:
        message = provider_message(resp.content) or f"HTTP {resp.status_code}"
        if "cancel" in message.lower():
            return JobStatus("cancelled", error=message)
        return JobStatus("failed", error=message, error_code=failure_code(message))
    data = _json(resp)
    if not isinstance(data, dict):
        raise BadProviderResponse("fal returned a result that is not an object; try again", backend=BACKEND)
    return JobStatus("done", 100.0, result=data)


async def poll(call: Call, handle: dict[str, Any]) -> JobStatus:
    resp = await _send(call, "GET", handle["status_url"] + "?logs=1")
    if resp.status_code in (404, 410):
        raise NotFound(
            f"fal no longer knows request {handle['request_id']} (HTTP {resp.status_code}: expired or never "
            "kept); start a new request",
            backend=BACKEND,
        )
    if resp.status_code >= 400:
        raise from_status(resp.status_code, resp.content, backend=BACKEND, headers=resp.headers, key_env=KEY_ENV)
    data = _json(resp)
    if not isinstance(data, dict):
        raise BadProviderResponse("fal returned a status that is not an object; try again", backend=BACKEND)
    state = str(data.get("status", "")).upper()
    if state in ("CANCELLED", "CANCELED"):
        return JobStatus("cancelled", error="cancelled at fal")
    if state == "COMPLETED":
        if data.get("error"):
            message = str(data["error"])[:300]
            return JobStatus("failed", error=message, error_code=failure_code(message, data.get("error_type")))
        return await _outcome(call, handle)
    await _report(call, handle, data)
    return JobStatus("queued" if state == "IN_QUEUE" else "running")


async def cancel(call: Call, handle: dict[str, Any]) -> bool:
    """Ask fal to cancel; True when it took the request (removed from the queue or signalled)."""
    try:
        resp = await _send(call, "PUT", handle["cancel_url"])
    except GenerateMediaError:
        return False
    return resp.status_code in (200, 202)
