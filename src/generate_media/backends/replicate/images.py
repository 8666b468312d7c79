"""Replicate images: one prediction per image, created with ``Prefer: wait`` so a fast model answers
in the same request; a slower one is polled (with progress) until it finishes, and cancelled at
Replicate when the caller goes away.

A retry of the same call (a 5xx while polling, a download that broke) picks up the prediction it
already created instead of paying for a second one.
"""

from __future__ import annotations

from typing import Any

import anyio

from ...errors import GenerateMediaError, InvalidRequest
from ...spec import PICTURES, Call, MediaSupport, MediaType, ModelSpec, Produced
from .._download import download_url
from .._options import SEED
from . import _api

MEDIA = MediaType.IMAGE
CHECKED = "2026-12-03"

_FLUX2_ASPECTS = ("1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")

SUPPORT = MediaSupport(
    priority=30,
    default_model="black-forest-labs/flux-2-pro",
    operations=(PICTURES,),
    options=(SEED,),
    models=(
        ModelSpec(
            id="black-forest-labs/flux-2-pro",
            max_input_images=8,
            aspect_ratios=_FLUX2_ASPECTS,
            output_formats=("webp", "jpeg", "png"),
            options=frozenset({"seed"}),
            notes="FLUX.2 [pro] (Black Forest Labs): text to image, or edits with up to 8 reference images.",
            source="replicate.com/black-forest-labs/flux-2-pro (official model; inputs per its schema as mirrored "
            "by api.core.today/v1/models/black-forest-labs/flux-2-pro/llms.txt: prompt, input_images (8), "
            "aspect_ratio, output_format, seed)",
            checked=CHECKED,
        ),
    ),
)

#: Our output_format names -> Replicate's.
_FORMATS = {"jpeg": "jpg"}


async def _inputs(call: Call) -> dict[str, Any]:
    req = call.request
    inputs: dict[str, Any] = {"prompt": call.prompt}
    if req.aspect_ratio:
        inputs["aspect_ratio"] = req.aspect_ratio
    if req.output_format:
        inputs["output_format"] = _FORMATS.get(req.output_format, req.output_format)
    if getattr(req, "seed", None) is not None:
        inputs["seed"] = req.seed
    if call.input_images:
        inputs["input_images"] = [
            await _api.file_input(call, image.data, image.mime_type, image.name) for image in call.input_images
        ]
    return inputs


async def _noop(_: Any) -> None:
    return None


async def _memo(call: Call) -> dict[int, str]:
    """This server's record of the prediction each running call created (a retry finds its own)."""
    memo: dict[int, str] = await call.clients.get(("replicate-predictions",), dict, _noop)
    return memo


async def _finished(call: Call, prediction: dict[str, Any]) -> dict[str, Any]:
    """Poll until the prediction ends; cancel it at Replicate if the caller goes away first."""
    interval = max(call.settings.poll_interval_s, 0.01)
    try:
        while prediction["status"] not in _api.TERMINAL:
            status = _api.status_of(prediction)
            await call.progress(f"rendering on {call.model.id} ({prediction['status']})", status.percent)
            await anyio.sleep(interval)
            interval = min(interval * 1.5, 5.0)
            prediction = await _api.get(call, prediction["id"])
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            await _api.cancel(call, prediction["id"])
            (await _memo(call)).pop(id(call), None)
        raise
    return prediction


async def run(call: Call) -> list[Produced]:
    if call.continuation is not None:
        raise InvalidRequest("replicate images take no continue_from; pass the image in input_images instead")
    memo = await _memo(call)
    known = memo.get(id(call))
    if known:  # a retry of this very call: the prediction exists (and is paid for)
        prediction = await _api.get(call, known)
    else:
        prediction = await _api.create(call, call.model.id, await _inputs(call), wait_s=_api.MAX_WAIT_S)
        memo[id(call)] = prediction["id"]
    try:
        prediction = await _finished(call, prediction)
        status = _api.status_of(prediction)
        if status.state != "done":
            memo.pop(id(call), None)
            raise _api.failed(status)
        produced = []
        for url in (status.result or {})["urls"]:
            path = await download_url(call, url, backend=_api.BACKEND, suffix=".img")
            produced.append(Produced(path=path, metadata={"prediction_id": prediction["id"]}))
    except GenerateMediaError as exc:
        if not exc.retryable:
            memo.pop(id(call), None)
        raise
    memo.pop(id(call), None)
    return produced


RUN = run
