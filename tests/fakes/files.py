"""Plain file hosting on the fake (``/files/...``): the other end of ``https://`` inputs.

Serves a real PNG, a real MP4, oversized bodies (with and without Content-Length), redirect chains, a body that
drips slower than any timeout, and gone links. Tests reach it through
GENERATE_MEDIA_ALLOW_HTTP_URLS and GENERATE_MEDIA_ALLOW_PRIVATE_URLS, since it is on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from . import media
from .core import FakeServer, Recorded

PREFIX = "/files"
ENV: dict[str, str] = {}


async def image(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    return Response(fake.state.get("files_image_bytes") or media.png(48, 48), media_type="image/png")


async def clip(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    """A real MP4 of ``files_video_seconds`` (default 2) seconds: a video input by URL."""
    return Response(media.mp4(float(fake.state.get("files_video_seconds", 2.0))), media_type="video/mp4")


async def big(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    """``?bytes=N`` of PNG-prefixed data; ``chunked=1`` omits Content-Length."""
    size = int(rec.query.get("bytes", "1000000"))
    payload = media.png(8, 8)
    body = payload + b"\0" * max(0, size - len(payload))
    if rec.query.get("chunked"):

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        return StreamingResponse(chunks(), media_type="image/png")
    return Response(body, media_type="image/png")


async def hops(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    """``/files/hops/N`` redirects N times, then serves the image."""
    left = int(rec.path_params["n"])
    if left <= 0:
        return await image(request, rec, fake)
    return RedirectResponse(f"{PREFIX}/hops/{left - 1}", status_code=302)


async def redirect(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    """``?to=URL``: one redirect to anywhere (the client must check where it leads)."""
    return RedirectResponse(rec.query["to"], status_code=302)


async def slow(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    """A PNG header, then one byte every ``?every=`` seconds: never idle long enough for a read timeout."""
    every = float(rec.query.get("every", "0.2"))

    async def drip() -> AsyncIterator[bytes]:
        yield media.png(8, 8)[:16]
        for _ in range(10_000):
            await asyncio.sleep(every)
            yield b"\0"

    return StreamingResponse(drip(), media_type="image/png")


async def gone(request: Request, rec: Recorded, fake: FakeServer) -> Response:
    return JSONResponse({"error": "expired"}, status_code=410)


def register(fake: FakeServer) -> None:
    fake.route("files", f"{PREFIX}/image.png", ["GET"], image)
    fake.route("files", f"{PREFIX}/big.png", ["GET"], big)
    fake.route("files", f"{PREFIX}/clip.mp4", ["GET"], clip)
    fake.route("files", f"{PREFIX}/hops/{{n}}", ["GET"], hops)
    fake.route("files", f"{PREFIX}/redirect", ["GET"], redirect)
    fake.route("files", f"{PREFIX}/slow.png", ["GET"], slow)
    fake.route("files", f"{PREFIX}/gone.png", ["GET"], gone)
