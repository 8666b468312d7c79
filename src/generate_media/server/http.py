"""Streamable HTTP: the MCP app at ``/mcp`` behind bearer-token auth, one principal per token.

    GENERATE_MEDIA_HTTP_TOKEN=<token>                      one client, principal "default"
    GENERATE_MEDIA_HTTP_TOKENS=alice:<token>,bob:<token>   one principal per named token
    GENERATE_MEDIA_HTTP_ALLOWED_HOSTS=media.example:443    extra Host values (DNS-rebinding check)
    GENERATE_MEDIA_HTTP_MAX_SESSIONS_PER_TOKEN=16          open MCP sessions one token may hold
    GENERATE_MEDIA_HTTP_SESSION_IDLE_S=300                 an idle session is closed after this
    GENERATE_MEDIA_HTTP_STATELESS=1                        no sessions: for replicas behind a balancer

:class:`BearerAuth` is an ASGI middleware in front of the MCP app: a request without a valid token
gets 401 and never reaches the MCP layer, so no work is done for it. Tokens are compared in
constant time and never logged. The principal of a request is derived again from its own
``Authorization`` header (``principal_of``), never from state shared between requests, so job,
continuation and resource ids are scoped per token. Each MCP session is bound to the principal
that opened it (another token gets 404 for it, as for an unknown session), and one token may hold
only so many open sessions, so a client that opens sessions in a loop locks out only itself.
Responses stream over SSE
(``json_response=False``): JSON-only responses would drop progress notifications.

Replicas behind a load balancer without sticky sessions set ``GENERATE_MEDIA_HTTP_STATELESS=1``:
2026-07-28 clients send self-contained requests anyway, and handshake-era clients are then served
by the SDK's ``stateless_http`` mode, where every POST stands alone (its progress notifications
stream on its own response), so any replica can answer any request of a client. There are no
sessions to cap then, and a client's continuations are its token's (as for 2026-07-28 clients),
kept in the shared state store. The same setting caps instead how many requests one token has in
flight on one replica (:class:`RequestLimit`): a client looping calls fills only its own slots.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from .. import settings as declared
from ..config import Settings
from ..service import MediaService

__all__ = [
    "BearerAuth",
    "HttpConfigError",
    "HttpServer",
    "RequestLimit",
    "SessionLimit",
    "TokenTable",
    "create_http_app",
    "is_loopback",
]

log = logging.getLogger("generate_media.server.http")

TOKEN_ENV = declared.HTTP_TOKEN.name
TOKENS_ENV = declared.HTTP_TOKENS.name
HOSTS_ENV = declared.HTTP_ALLOWED_HOSTS.name
SESSIONS_ENV = declared.HTTP_MAX_SESSIONS_PER_TOKEN.name
IDLE_ENV = declared.HTTP_SESSION_IDLE_S.name
DEFAULT_SESSIONS_PER_TOKEN = declared.HTTP_MAX_SESSIONS_PER_TOKEN.default
DEFAULT_SESSION_IDLE_S = declared.HTTP_SESSION_IDLE_S.default
MIN_TOKEN_CHARS = 16
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpConfigError(ValueError):
    """The HTTP transport cannot start as configured; the message says what to set."""


def is_loopback(host: str) -> bool:
    return host in _LOOPBACK


class TokenTable:
    """Bearer tokens and the principal each one stands for."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = [(t.encode(), p) for t, p in tokens.items()]

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenTable:
        """Read ``GENERATE_MEDIA_HTTP_TOKEN`` and ``GENERATE_MEDIA_HTTP_TOKENS``.

        Raises:
            HttpConfigError: no token, a malformed entry, a short or duplicate token.
        """
        table: dict[str, str] = {}
        if single := settings.get(TOKEN_ENV):
            table[single] = "default"
        for entry in filter(None, (e.strip() for e in settings.get(TOKENS_ENV).split(","))):
            name, sep, token = entry.partition(":")
            name, token = name.strip(), token.strip()
            if not sep or not _NAME.match(name) or name == "local" or not name.strip("."):
                raise HttpConfigError(
                    f"{TOKENS_ENV} entries are name:token with a name of letters, digits, _ . @ - (not 'local')"
                )
            if token in table:
                raise HttpConfigError(f"{TOKENS_ENV}: the token for {name!r} is used twice; give each client its own")
            table[token] = name
        if not table:
            raise HttpConfigError(
                f"set {TOKEN_ENV} (or {TOKENS_ENV}=name:token,...) to a long random value, "
                "e.g. `openssl rand -hex 32`; or use --no-auth on 127.0.0.1"
            )
        if any(len(token) < MIN_TOKEN_CHARS for token in table):
            raise HttpConfigError(f"HTTP tokens must be at least {MIN_TOKEN_CHARS} characters (`openssl rand -hex 32`)")
        return cls(table)

    def principal(self, authorization: str | None) -> str | None:
        """The principal for an ``Authorization: Bearer ...`` value, or None.

        Every token is compared, in constant time, whatever matched first.
        """
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        candidate = presented.strip().encode()
        found = None
        for token, principal in self._tokens:
            if hmac.compare_digest(candidate, token):
                found = principal
        return found

    def principal_of(self, ctx: Any) -> str | None:
        """``principal_of`` for :func:`create_server`: from this request's own headers."""
        headers = getattr(ctx, "headers", None)
        return self.principal(headers.get("authorization")) if headers else None


class SessionLimit:
    """At most ``limit`` open MCP sessions per principal.

    The SDK's session manager owns the sessions (it ends idle ones and those a client DELETEs) and
    records the principal that opened each one; this counts them per principal. A principal's
    session-opening requests are admitted one at a time, so concurrent opens cannot overshoot.
    """

    def __init__(self, owners: Callable[[], Mapping[str, Any]], limit: int, idle_s: float) -> None:
        self.owners = owners
        self.limit = limit
        self.idle_s = idle_s
        self._locks: dict[str, anyio.Lock] = {}

    def open(self, principal: str) -> int:
        return sum(1 for owner in list(self.owners().values()) if owner.get("client_id") == principal)

    def lock(self, principal: str) -> anyio.Lock:
        return self._locks.setdefault(principal, anyio.Lock())

    @staticmethod
    def opens_session(scope: Scope) -> bool:
        """A request the SDK would answer by opening a session: no session id, handshake era."""
        headers = dict(scope["headers"])
        version = headers.get(b"mcp-protocol-version")
        handshake = version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS
        return b"mcp-session-id" not in headers and handshake


class RequestLimit:
    """Stateless HTTP: at most ``limit`` requests of one principal in flight on this replica at once
    (a request holds its slot until its response, progress stream included, has been sent)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, principal: str) -> Iterator[bool]:
        """Yields whether ``principal`` got a slot (held until the block ends)."""
        held = self.in_flight.get(principal, 0)
        if held >= self.limit:
            yield False
            return
        self.in_flight[principal] = held + 1
        try:
            yield True
        finally:
            self.in_flight[principal] -= 1
            if not self.in_flight[principal]:
                del self.in_flight[principal]


class BearerAuth:
    """ASGI middleware: HTTP requests without a valid bearer token get 401 and go no further.

    An authenticated request carries its principal as the ASGI ``user``, which the SDK's session
    manager binds each session to; ``sessions`` caps how many one principal holds open.
    """

    def __init__(
        self,
        app: ASGIApp,
        tokens: TokenTable | None,
        sessions: SessionLimit | None = None,
        requests: RequestLimit | None = None,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.sessions = sessions
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        principal = "local"
        if self.tokens is not None:
            authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
            found = self.tokens.principal(authorization)
            if found is None:
                log.info("refused an unauthenticated %s %s", scope.get("method"), scope.get("path"))
                await _unauthorized(send)
                return
            principal = found
        scope["user"] = AuthenticatedUser(AccessToken(token=principal, client_id=principal, scopes=[]))
        if self.requests is not None:
            with self.requests.slot(principal) as admitted:
                if not admitted:
                    log.info("refused a request of %s: %d already in flight", principal, self.requests.limit)
                    await _too_many_requests(send, self.requests.limit)
                    return
                await self.app(scope, receive, send)
            return
        if self.sessions is None or not self.sessions.opens_session(scope):
            await self.app(scope, receive, send)
            return
        async with self.sessions.lock(principal):
            held = self.sessions.open(principal)
            if held >= self.sessions.limit:
                log.info("refused a new MCP session for %s: %d already open", principal, held)
                await _too_many_sessions(send, held, self.sessions)
                return
            await self.app(scope, receive, send)


async def _too_many_sessions(send: Send, held: int, sessions: SessionLimit) -> None:
    message = (
        f"this token already holds {held} open MCP sessions ({SESSIONS_ENV}={sessions.limit}); "
        f"end one (HTTP DELETE with its Mcp-Session-Id) or wait up to {sessions.idle_s:g} s for an idle one to close"
    )
    await _json_error(send, 429, message, retry_after=sessions.idle_s)


async def _too_many_requests(send: Send, limit: int) -> None:
    message = (
        f"this token already has {limit} requests in flight on this server ({SESSIONS_ENV}={limit}, stateless "
        "HTTP); wait for one to finish, and resume a long job later with its job_id instead of waiting on it"
    )
    await _json_error(send, 429, message, retry_after=5)


async def _json_error(send: Send, status: int, message: str, *, retry_after: float) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(int(retry_after)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _unauthorized(send: Send) -> None:
    body = json.dumps(
        {"error": "unauthorized", "message": "send Authorization: Bearer <GENERATE_MEDIA_HTTP_TOKEN>"}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="generate-media"'),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def transport_security(settings: Settings, host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection stays on. Loopback hosts get the SDK's automatic settings; any
    other host allows itself, loopback and ``GENERATE_MEDIA_HTTP_ALLOWED_HOSTS``."""
    if is_loopback(host):
        return None
    extra = [h.strip() for h in settings.get(HOSTS_ENV).split(",") if h.strip()]
    wildcard = host in ("0.0.0.0", "::", "")
    if wildcard and not extra:
        log.warning("listening on %s: set %s to the host names clients use, or they get 421", host, HOSTS_ENV)
    names = [*([] if wildcard else [host]), "127.0.0.1", "localhost"]
    hosts = [*(f"{n}:*" for n in names), *extra]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def create_http_app(
    settings: Settings, *, host: str = "127.0.0.1", no_auth: bool = False, service: MediaService | None = None
) -> ASGIApp:
    """The streamable HTTP app, ready for any ASGI server.

    Raises:
        HttpConfigError: ``no_auth`` on a non-loopback host, or no usable token.
    """
    from .app import create_server

    if no_auth and not is_loopback(host):
        raise HttpConfigError(f"--no-auth is only allowed on 127.0.0.1/localhost, not {host}; set {TOKEN_ENV}")
    tokens = None if no_auth else TokenTable.from_settings(settings)
    stateless = settings.get(declared.HTTP_STATELESS.name).lower() in ("1", "true", "yes", "on")
    server = create_server(
        settings,
        service=service,
        principal_of=tokens.principal_of if tokens else None,
        resource_links="media",
        stateless=stateless,
    )
    limit = int(_number(settings, SESSIONS_ENV, DEFAULT_SESSIONS_PER_TOKEN))
    idle_s = _number(settings, IDLE_ENV, DEFAULT_SESSION_IDLE_S)
    if limit < 1 or idle_s <= 0:
        raise HttpConfigError(f"{SESSIONS_ENV} must be at least 1 and {IDLE_ENV} above 0")
    app = server.streamable_http_app(
        host=host,
        json_response=False,
        stateless_http=stateless,
        transport_security=transport_security(settings, host),
        session_idle_timeout=idle_s,
    )
    if stateless:
        return BearerAuth(app, tokens, requests=RequestLimit(limit))
    manager = server.session_manager
    # mcp 2.3 records each session's owner but has no public count of them: read its table here, once.
    sessions = SessionLimit(lambda: manager._session_owners, limit, idle_s)
    return BearerAuth(app, tokens, sessions)


def _number(settings: Settings, name: str, default: float) -> float:
    raw = settings.get(name)
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise HttpConfigError(f"{name} must be a number, got {raw!r}") from exc


class HttpServer:
    """uvicorn on a socket bound up front, so ``port=0`` gives a known free port before serving."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 8765, log_level: str = "warning") -> None:
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        # access_log off: request lines are noise on stderr, and the log is the one place a token
        # pasted into a URL by mistake would leak.
        # log_config=None: uvicorn logs through the root handler (and its redacting filter) instead of
        # installing handlers of its own.
        config = uvicorn.Config(app, log_level=log_level.lower(), access_log=False, lifespan="on", log_config=None)
        self._server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/mcp"

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until :meth:`stop`; ``task_status.started(url)`` once it accepts connections."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._server.serve, [self.socket])
            with anyio.fail_after(30):
                while not self._server.started:
                    if self._server.should_exit:
                        raise HttpConfigError(f"the HTTP server failed to start on {self.url}")
                    await anyio.sleep(0.01)
            task_status.started(self.url)

    def stop(self) -> None:
        self._server.should_exit = True
