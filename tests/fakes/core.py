"""A loopback HTTP server that speaks the providers' wire APIs, records every request and injects
faults. Provider modules in this package add routes with :meth:`FakeServer.route`.

Started once per test session on 127.0.0.1 port 0 (uvicorn in a thread); :meth:`reset` clears
recorded requests, faults and per-provider state between tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

#: How long a request waits for the others of a ``gather`` (see :meth:`FakeServer._gather`).
GATHER_WAIT_S = 3.0

Handler = Callable[[Request, "Recorded", "FakeServer"], Awaitable[Response]]


@dataclass
class Recorded:
    """One request as the provider received it."""

    provider: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)  # multipart: field -> value or list of (filename, bytes, type)
    path_params: dict[str, str] = field(default_factory=dict)
    #: Every (name, value) of the query string, repeated names included (``query`` keeps the last).
    query_items: list[tuple[str, str]] = field(default_factory=list)

    def query_list(self, name: str) -> list[str]:
        return [value for key, value in self.query_items if key == name]

    def files(self, name: str) -> list[tuple[str, bytes, str]]:
        value = self.form.get(name, [])
        return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, tuple)]


@dataclass
class Fault:
    """An injected failure for requests whose ``provider:METHOD path`` matches ``match``."""

    match: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0  # seconds before answering (past the client's timeout = a timeout)
    drop: bool = False  # send headers then cut the body mid-stream
    raw: bytes | None = None  # a malformed body sent with 200
    echo_auth: bool = False  # put the request's credentials in the error message (a careless provider)
    drip: float = 0.0  # bytes per second: send ``raw`` (or the body) with 200, a few bytes at a time

    def matches(self, key: str) -> bool:
        return re.search(self.match, key) is not None


class FakeServer:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.latency: float = 0.0
        self.gather = 0  # hold each request until this many are in flight at once (a concurrency check)
        self.most_in_flight = 0
        self._in_flight = 0
        self._gathered: asyncio.Event | None = None
        self.state: dict[str, Any] = {}
        self.validators: list[Callable[[Recorded], None]] = []
        self.validation_errors: list[str] = []
        self.echo_credentials = False  # a careless provider: the request's credentials in a response header
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self.port = 0

    # --- setup ---------------------------------------------------------------------------------

    def route(self, provider: str, path: str, methods: list[str], handler: Handler) -> None:
        async def endpoint(request: Request) -> Response:
            return await self._handle(provider, request, handler)

        self.routes.append(Route(path, endpoint, methods=methods))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        app = Starlette(routes=self.routes)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        self.requests.clear()
        self.faults.clear()
        self.state.clear()
        self.latency = 0.0
        self.gather = self.most_in_flight = 0
        self._gathered = None
        self.validation_errors.clear()
        self.echo_credentials = False

    def inject(self, match: str, **kwargs: Any) -> Fault:
        fault = Fault(match=match, **kwargs)
        self.faults.append(fault)
        return fault

    def of(self, provider: str, path_contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.provider == provider and path_contains in r.path]

    # --- handling ------------------------------------------------------------------------------

    async def _record(self, provider: str, request: Request) -> Recorded:
        body = await request.body()
        rec = Recorded(
            provider=provider,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            path_params=dict(request.path_params),
            query_items=list(request.query_params.multi_items()),
        )
        ctype = rec.headers.get("content-type", "")
        if "json" in ctype and body:
            try:
                rec.json = json.loads(body)
            except ValueError:
                rec.json = None
        elif "multipart/form-data" in ctype:
            form = await request.form(max_part_size=64 * 1024 * 1024)
            for key, value in form.multi_items():
                entry: Any = (
                    (value.filename, await value.read(), value.content_type) if hasattr(value, "filename") else value
                )
                if key in rec.form:
                    existing = rec.form[key]
                    rec.form[key] = [*existing, entry] if isinstance(existing, list) else [existing, entry]
                else:
                    rec.form[key] = entry
        return rec

    def _fault_for(self, key: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(key):
                fault.times -= 1
                return fault
        return None

    async def _handle(self, provider: str, request: Request, handler: Handler) -> Response:
        rec = await self._record(provider, request)
        self.requests.append(rec)
        for validate in self.validators:
            try:
                validate(rec)
            except AssertionError as exc:
                self.validation_errors.append(str(exc))
                return JSONResponse({"error": {"message": f"fake: request failed schema validation: {exc}"}}, 400)
        self._in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            if self.gather:
                await self._gather()
            if self.latency:
                await asyncio.sleep(self.latency)
            fault = self._fault_for(f"{provider}:{rec.method} {rec.path}")
            response = await self._apply(fault, rec) if fault is not None else await handler(request, rec, self)
        finally:
            self._in_flight -= 1
        if self.echo_credentials:
            response.headers["x-echoed-credentials"] = " ".join(_credentials(rec))
        return response

    async def _gather(self) -> None:
        """Hold until ``gather`` requests are in flight at once. A client that sends them one at a time
        is let through after GATHER_WAIT_S each: slow, and ``most_in_flight`` tells the test why."""
        if self._gathered is None:
            self._gathered = asyncio.Event()
        if self._in_flight >= self.gather:
            self._gathered.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gathered.wait(), GATHER_WAIT_S)

    async def _apply(self, fault: Fault, rec: Recorded) -> Response:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:

            async def cut() -> Any:
                yield b'{"data": [{"b64_json": "iVBORw0KGgo'
                raise ConnectionResetError("fake: connection dropped mid-body")

            return StreamingResponse(cut(), status_code=200, media_type="application/json")
        if fault.drip:
            return _dripping(fault)
        if fault.raw is not None:
            return Response(
                fault.raw, status_code=fault.status if fault.status != 500 else 200, media_type="application/json"
            )
        body = fault.body if fault.body is not None else {"error": {"message": f"fake fault {fault.status}"}}
        if fault.echo_auth:
            body = {"error": {"message": f"invalid credentials: {' '.join(_credentials(rec))}"}}
        return JSONResponse(body, status_code=fault.status, headers=fault.headers)


def _dripping(fault: Fault) -> Response:
    """A 200 that trickles its body at ``fault.drip`` bytes/s: every read gets bytes well inside any
    read timeout, so only an overall deadline ends it."""
    data = fault.raw if fault.raw is not None else json.dumps(fault.body or {"data": []}).encode()
    step = max(1, int(fault.drip / 8))  # eight writes a second

    async def trickle() -> Any:
        for start in range(0, len(data), step):
            yield data[start : start + step]
            await asyncio.sleep(step / fault.drip)

    return StreamingResponse(trickle(), status_code=200, media_type="application/json")


def _credentials(rec: Recorded) -> list[str]:
    sent = [rec.headers.get(h, "") for h in ("authorization", "x-api-key", "x-goog-api-key", "xi-api-key")]
    sent.append(rec.query.get("key", ""))
    return [v for v in sent if v]
