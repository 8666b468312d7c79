"""Fault injection per image backend: the loopback fake misbehaves and every call ends in a classified
error or a successful retry, with no partial file left behind.

Parametrized over the registry's keyed image backends that have a fake, so a new backend is covered
by adding its fake. Run with ``-s`` to see the count of faults injected per backend.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from generate_media.registry import load_registry
from generate_media.selector import utc_today
from generate_media.server import create_server
from generate_media.service import MediaService
from generate_media.spec import MediaType
from tests.conftest import KEYS
from tests.fakes import FakeServer, Fault, _providers, media

INJECTED: Counter[str] = Counter()


def keyed_image_backends() -> list[str]:
    """Image backends with a key in KEYS and a fake serving their base URL."""
    served = {name for module in _providers() for name in getattr(module, "ENV", {})}
    return [
        spec.name
        for spec in load_registry().serving(MediaType.IMAGE)
        if spec.base_url_env in served and any(k in KEYS for k in spec.env_keys)
    ]


BACKENDS = keyed_image_backends()


def key_of(backend: str) -> str:
    spec = load_registry().get(backend)
    assert spec is not None
    return next(k for k in spec.env_keys if k in KEYS)


class Rig:
    """One backend's server, a recording retry clock, and fault injection counted per backend."""

    def __init__(self, backend: str, fake: FakeServer, out_dir: Path, make_settings: Any, **overrides: Any) -> None:
        self.backend, self.fake, self.out_dir = backend, fake, out_dir
        self.sleeps: list[float] = []
        self.faults: list[tuple[Fault, int]] = []
        self.settings = make_settings(key_of(backend), **overrides)
        self.service = MediaService(self.settings, retry_sleep=self._sleep)
        self.server = create_server(self.settings, service=self.service)
        self.provider = ""

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def call(self, client: Client, prompt: str = "a lighthouse", **extra: Any) -> Any:
        args = {"backend": self.backend, **extra}
        if "prompts" not in extra:
            args["prompt"] = prompt
        with anyio.fail_after(30):
            return await client.call_tool("generate_media", args)

    async def probe(self, client: Client) -> None:
        """A clean call first: it proves the backend works and names it on the fake."""
        result = await self.call(client, "probe")
        assert not result.is_error, result.content
        self.provider = self.fake.requests[-1].provider
        self.fake.requests.clear()
        self.sleeps.clear()

    def inject(self, path: str = ".*", **kwargs: Any) -> Fault:
        """A fault on this backend's provider (on every provider before a probe named it: only this
        backend has a key)."""
        fault = self.fake.inject(f"^{self.provider or '[^:]+'}:{path}", **kwargs)
        self.faults.append((fault, fault.times))
        return fault

    def settle(self) -> None:
        for fault, times in self.faults:
            INJECTED[self.backend] += times - fault.times

    def state(self, suffix: str, value: Any) -> None:
        for name in {self.provider, self.backend, "gemini"}:
            self.fake.state[f"{name}_{suffix}"] = value

    def files(self) -> list[Path]:
        return sorted(p for p in self.out_dir.rglob("*") if p.is_file())

    def assert_clean(self, expected_files: int) -> None:
        files = self.files()
        assert not [p for p in files if p.name.startswith(".gm-partial-")], files
        assert all(p.stat().st_size > 0 for p in files)
        assert len(files) == expected_files, files


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    total = sum(INJECTED.values())
    print(f"\nfaults injected per backend: {dict(INJECTED)} (total {total})")


@pytest.fixture
def rig(request, fake, out_dir, make_settings) -> Iterator[Rig]:
    backend, overrides = request.param if isinstance(request.param, tuple) else (request.param, {})
    made = Rig(backend, fake, out_dir, make_settings, **overrides)
    yield made
    made.settle()


def _code(result: Any) -> str:
    assert result.is_error, result.content
    assert "\n" not in result.content[0].text
    return result.structured_content["error"]["code"]


pytestmark = pytest.mark.skipif(not BACKENDS, reason="no keyed image backend with a fake")
each = pytest.mark.parametrize("rig", BACKENDS, indirect=True)


@each
async def test_a_429_with_retry_after_waits_as_told_then_succeeds(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(status=429, headers={"retry-after": "3"}, body={"error": {"message": "slow down"}})
        result = await rig.call(client)
    assert not result.is_error, result.content
    assert rig.sleeps == [3.0]
    assert len(rig.fake.of(rig.provider)) >= 2
    rig.assert_clean(2)


@each
async def test_a_429_without_retry_after_backs_off_with_jitter_then_succeeds(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(status=429, times=2, body={"error": {"message": "slow down"}})
        result = await rig.call(client)
    assert not result.is_error, result.content
    assert len(rig.sleeps) == 2
    assert 0.25 <= rig.sleeps[0] <= 0.5 and 0.5 <= rig.sleeps[1] <= 1.0  # base 0.5 s, doubling, 50-100 %
    rig.assert_clean(2)


@each
async def test_a_persistent_429_is_rate_limited_with_the_retry_hint(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(status=429, times=50, headers={"retry-after": "1"}, body={"error": {"message": "slow down"}})
        result = await rig.call(client)
    assert _code(result) == "rate_limited"
    error = result.structured_content["error"]
    assert error["retryable"] is True and error["retry_after"] == 1.0 and error["backend"] == rig.backend
    assert rig.sleeps == [1.0, 1.0]  # max_retries=2: three attempts
    rig.assert_clean(1)


@each
@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_and_then_reported(rig, status):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(status=status, times=1)
        recovered = await rig.call(client)
        rig.inject(status=status, times=50)
        down = await rig.call(client, "down")
    assert not recovered.is_error, recovered.content
    assert _code(down) == "provider_error" and down.structured_content["error"]["retryable"] is True
    rig.assert_clean(2)


@each
async def test_a_connection_dropped_mid_body_is_retried(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(drop=True, times=1)
        recovered = await rig.call(client)
        rig.inject(drop=True, times=50)
        down = await rig.call(client, "dropped")
    assert not recovered.is_error, recovered.content
    assert _code(down) == "provider_error" and down.structured_content["error"]["retryable"] is True
    rig.assert_clean(2)


@pytest.mark.parametrize(
    "rig", [(b, {"request_timeout_s": 0.5, "max_retries": 1}) for b in BACKENDS], indirect=True, ids=BACKENDS
)
async def test_a_response_slower_than_the_timeout_is_a_timeout(rig):
    """No clean probe first: under the short call deadline (3 reads) a queue backend's probe can run
    past it on a loaded machine."""
    async with Client(rig.server) as client:
        rig.inject(delay=2.0, times=50)
        with anyio.fail_after(15):  # two attempts of 0.5 s, never the 2 s the fake would take
            result = await rig.call(client)
    assert _code(result) == "timeout", result.content
    assert result.structured_content["error"]["retryable"] is True and len(rig.sleeps) == 1
    rig.assert_clean(0)


MALFORMED_200 = {
    "truncated-json": b'{"data": [{"b64_json": ',
    "html": b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "null": b"null",
    "list": b"[]",
    "string": b'"ok"',
    "number": b"42",
    "wrong-types": b'{"data": "none", "candidates": 7, "choices": {"a": 1}, "images": null}',
}


@pytest.mark.parametrize("body", MALFORMED_200.values(), ids=MALFORMED_200.keys())
@each
async def test_a_malformed_200_is_a_bad_provider_response_naming_the_backend(rig, body):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(raw=body, times=50)
        result = await rig.call(client)
        rig.fake.faults.clear()
        after = await rig.call(client, "the server is still healthy")
    assert _code(result) == "bad_provider_response", result.content
    assert result.structured_content["error"]["backend"] == rig.backend
    assert rig.backend in result.content[0].text and "internal error" not in result.content[0].text
    assert not after.is_error, after.content
    rig.assert_clean(2)


@pytest.mark.parametrize(
    "rig",
    [(b, {"request_timeout_s": 0.5, "call_deadline_s": 1.0, "max_retries": 1}) for b in BACKENDS],
    indirect=True,
    ids=BACKENDS,
)
async def test_a_response_dripped_slower_than_the_call_deadline_is_cut_off(rig):
    """16 bytes/s: every read arrives inside the 0.5 s read timeout; only the overall deadline ends it."""
    body = json.dumps({"data": [{"b64_json": "A" * 2600}], "created": 1}).encode()
    async with Client(rig.server) as client:  # no probe: see the timeout test above
        rig.inject(raw=body, drip=16, times=50)
        with anyio.fail_after(20):  # the whole body would take 160 s per attempt
            result = await rig.call(client)
    assert _code(result) == "timeout", result.content
    assert "GENERATE_MEDIA_CALL_DEADLINE_S" in result.content[0].text
    assert result.structured_content["error"]["backend"] == rig.backend
    assert len(rig.sleeps) == 1  # retried once, then reported
    rig.assert_clean(0)


@each
async def test_truncated_image_bytes_are_refused_and_leave_no_file(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        whole = media.noisy_png(64, 64)
        rig.state("image_bytes", whole[: len(whole) // 2])
        result = await rig.call(client)
    if (
        not result.is_error
        and Path(result.structured_content["items"][0]["path"]).read_bytes() != whole[: len(whole) // 2]
    ):
        pytest.skip(f"the {rig.backend} fake does not serve state['<name>_image_bytes']")
    assert _code(result) == "bad_provider_response" and "broken" in result.content[0].text
    rig.assert_clean(1)


@each
async def test_a_safety_refusal_is_safety_blocked_with_the_reason(rig):
    reason = "Your request was rejected by the safety system: violence."
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(status=400, times=5, body={"error": {"message": reason, "code": "moderation_blocked"}})
        result = await rig.call(client)
    assert _code(result) == "safety_blocked"
    assert "rejected by the safety system" in result.content[0].text
    rig.assert_clean(1)


@each
async def test_an_expired_download_link_is_not_found(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.state("url", True)
        linked = await rig.call(client, "by link")
        gets = [r for r in rig.fake.of(rig.provider) if r.method == "GET"]
        if not linked.is_error and gets:
            rig.inject(path="GET ", status=410, times=50, body={"error": {"message": "expired"}})
            expired = await rig.call(client, "expired link")
    if linked.is_error or not gets:
        pytest.skip(f"{rig.backend} does not hand back download links")
    assert _code(expired) == "not_found", expired.content
    assert "expired" in expired.content[0].text
    rig.assert_clean(2)


@each
async def test_a_batch_with_some_failing_prompts_keeps_only_the_good_files(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.inject(status=400, times=1, body={"error": {"message": "bad prompt"}})
        result = await rig.call(client, prompts=["one", "two", "three"], max_concurrent=1)
    data = result.structured_content
    assert data["status"] == "partial"
    ok = [i for i in data["items"] if i["status"] == "ok"]
    assert len(ok) == 2 and all(Path(i["path"]).is_file() for i in ok)
    rig.assert_clean(3)


@each
async def test_a_cancelled_call_leaves_no_file(rig):
    async with Client(rig.server) as client:
        await rig.probe(client)
        rig.fake.latency = 1.0
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(rig.call, client, "cancel me")
                while not rig.fake.of(rig.provider):  # the provider is working on it: now hang up
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
        rig.fake.latency = 0.0
        after = await rig.call(client, "still serving")
    assert not after.is_error, after.content
    rig.assert_clean(2)


def test_a_truncated_base64_png_inside_a_valid_envelope_is_refused(fake, out_dir, make_settings):
    """The OpenAI envelope is known here: a raw body with a valid shape and half an image."""
    if "openai" not in BACKENDS:
        pytest.skip("openai backend not present")
    whole = media.noisy_png(64, 64)
    raw = json.dumps({"created": 1, "data": [{"b64_json": base64.b64encode(whole[:-200]).decode()}]}).encode()

    async def run() -> Any:
        made = Rig("openai", fake, out_dir, make_settings)
        async with Client(made.server) as client:
            await made.probe(client)
            made.inject(raw=raw, times=5)
            result = await made.call(client)
        made.settle()
        return made, result

    made, result = anyio.run(run)
    assert _code(result) == "bad_provider_response"
    made.assert_clean(1)


def keyed_video_backends() -> list[str]:
    served = {name for module in _providers() for name in getattr(module, "ENV", {})}
    return [
        spec.name
        for spec in load_registry().serving(MediaType.VIDEO)
        if spec.base_url_env in served
        and any(k in KEYS for k in spec.env_keys)
        and any(m.status_on(utc_today()) != "retired" for m in spec.media[MediaType.VIDEO].models)
    ]


@pytest.mark.parametrize("body", [b"null", b"<html>busy</html>", b"[]"], ids=["null", "html", "list"])
@pytest.mark.parametrize("backend", keyed_video_backends())
async def test_a_malformed_200_to_a_video_submit_is_a_bad_provider_response(
    backend, body, fake, out_dir, make_settings
):
    settings = make_settings(key_of(backend))
    server = create_server(settings, service=MediaService(settings, retry_sleep=_no_sleep))
    fake.inject(r"^(openai|xai|google|gemini|replicate|fal):POST ", raw=body, times=50)
    spec = load_registry().get(backend)
    default = spec.media[MediaType.VIDEO].model(spec.media[MediaType.VIDEO].default_model)
    duration = 8 if default is None or default.accepts_duration(8) else default.durations[0]
    with anyio.fail_after(30):
        async with Client(server) as client:
            result = await client.call_tool(
                "generate_media", {"media_type": "video", "prompt": "waves", "backend": backend, "duration": duration}
            )
    assert _code(result) == "bad_provider_response", result.content
    assert result.structured_content["error"]["backend"] == backend
    assert list(out_dir.iterdir()) == []


async def _no_sleep(_: float) -> None:
    return None
