"""Replicate's predictions API over httpx: create, get, cancel, and file inputs.

Create ``POST /models/{owner}/{name}/predictions`` with ``{"input": {...}}`` (official models take no
version); ``Prefer: wait=N`` holds the request open up to N seconds (at most 60) and answers with the
output when the model finished in time. Get ``GET /predictions/{id}``; cancel
``POST /predictions/{id}/cancel``. ``status`` is ``starting``, ``processing``, ``succeeded``,
``failed`` or ``canceled``; ``output`` is a file URL or a list of them (they expire after an hour);
``logs`` often carry a percentage. Files up to 256 KB go inline as data URIs; larger ones are
uploaded first (``POST /files``, multipart ``content``) and passed by their ``urls.get``.
Source: replicate.com/docs (create-a-prediction, prefer-wait, output-files), read 2026-12-03.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import BadProviderResponse, GenerateMediaError, ModelUnavailable
from ...spec import Call, Endpoint, JobStatus
from .._clients import httpx_client
from .._errors import ErrorMap, failure_code, from_status, httpx_errors

__all__ = ["cancel", "create", "file_input", "get", "output_urls", "status_of", "warm"]

BACKEND = "replicate"
KEY_ENV = "REPLICATE_API_TOKEN"
#: Replicate recommends data URLs for files up to 256 KB and the files API above that.
INLINE_MAX = 256 * 1024
#: The longest ``Prefer: wait`` Replicate honours, in seconds.
MAX_WAIT_S = 60
TERMINAL = ("succeeded", "failed", "canceled")
ERRORS = ErrorMap(BACKEND, KEY_ENV, httpx_errors)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s?%")


async def warm(endpoint: Endpoint) -> None:
    """Import httpx and build the client every Replicate call shares (the first call finds it ready)."""
    await httpx_client(endpoint, "replicate-httpx")


async def _send(call: Call, method: str, path: str, *, wait_s: int = 0, **kwargs: Any) -> dict[str, Any]:
    """One request; any failure comes out as our error. A 404 on a model's create path is the model."""
    client = await httpx_client(call, "replicate-httpx")
    headers = {"Authorization": f"Bearer {call.api_key}"}
    if wait_s:
        headers["Prefer"] = f"wait={wait_s}"
    url = (call.base_url or "").rstrip("/") + path  # the spec declares the default
    with ERRORS:
        resp = await client.request(
            method, url, headers=headers, timeout=call.settings.request_timeout_s + wait_s, **kwargs
        )
    if resp.status_code == 404 and path.startswith("/models/"):
        model = path.removeprefix("/models/").removesuffix("/predictions")
        raise ModelUnavailable(
            f"replicate answered 404 for {model}: it is not served (any more); use another model",
            backend=BACKEND,
            status=404,
        )
    if resp.status_code >= 400:
        raise from_status(resp.status_code, resp.content, backend=BACKEND, headers=resp.headers, key_env=KEY_ENV)
    try:
        data = resp.json()
    except ValueError as exc:
        raise BadProviderResponse("replicate sent a malformed response; try again", backend=BACKEND) from exc
    if not isinstance(data, dict):
        raise BadProviderResponse("replicate sent a malformed response; try again", backend=BACKEND)
    return data


def _checked(prediction: dict[str, Any]) -> dict[str, Any]:
    if not prediction.get("id") or not prediction.get("status"):
        raise BadProviderResponse("replicate accepted the request but returned no prediction id", backend=BACKEND)
    return prediction


async def create(call: Call, model: str, inputs: dict[str, Any], *, wait_s: int = 0) -> dict[str, Any]:
    """A new prediction of ``model`` (``owner/name``); with ``wait_s``, held open that long for the output."""
    body = {"input": inputs}
    return _checked(await _send(call, "POST", f"/models/{model}/predictions", json=body, wait_s=wait_s))


async def get(call: Call, prediction_id: str) -> dict[str, Any]:
    return _checked(await _send(call, "GET", f"/predictions/{prediction_id}"))


async def cancel(call: Call, prediction_id: str) -> bool:
    await _send(call, "POST", f"/predictions/{prediction_id}/cancel")
    return True


async def file_input(call: Call, data: bytes, mime_type: str, name: str) -> str:
    """A URL Replicate can read the file from: a data URI when small, else an uploaded file's URL."""
    import base64

    if len(data) <= INLINE_MAX:
        return f"data:{mime_type};base64,{base64.b64encode(data).decode()}"
    uploaded = await _send(call, "POST", "/files", files={"content": (name or "input", data, mime_type)})
    url = (uploaded.get("urls") or {}).get("get")
    if not isinstance(url, str):
        raise BadProviderResponse("replicate stored the input file but returned no URL for it", backend=BACKEND)
    return url


def _percent(logs: Any) -> float | None:
    found = _PERCENT.findall(logs) if isinstance(logs, str) else []
    return min(float(found[-1]), 99.0) if found else None


def status_of(prediction: dict[str, Any]) -> JobStatus:
    """A prediction as a job status: the logs' last percentage while it runs, the output URLs when done."""
    state = prediction.get("status")
    if state == "succeeded":
        urls = output_urls(prediction)
        if not urls:
            return JobStatus("failed", error="replicate finished the prediction with no output", error_code="empty")
        return JobStatus("done", 100.0, result={"urls": urls})
    if state == "failed":
        message = str(prediction.get("error") or "the prediction failed")
        return JobStatus("failed", error=message, error_code=failure_code(message))
    if state == "canceled":
        return JobStatus("cancelled", error="the prediction was canceled at replicate", error_code="cancelled")
    return JobStatus("running" if state == "processing" else "queued", _percent(prediction.get("logs")))


def output_urls(prediction: dict[str, Any]) -> list[str]:
    """The file URLs of a finished prediction (a single URL or a list of them)."""
    output = prediction.get("output")
    items = output if isinstance(output, list) else [output]
    return [u for u in items if isinstance(u, str) and u.startswith(("https://", "http://"))]


def failed(status: JobStatus) -> GenerateMediaError:
    """The error a failed or canceled prediction is for the caller (refusals are SafetyBlocked)."""
    from ...errors import ProviderError, SafetyBlocked

    message = f"replicate: {status.error or status.state}"
    if status.error_code == SafetyBlocked.code:
        return SafetyBlocked(f"{message}; rephrase the prompt", backend=BACKEND)
    return ProviderError(f"{message}; start a new request", backend=BACKEND)
