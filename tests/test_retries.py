"""Retries (backoff, jitter, Retry-After, deadline), auto failover between backends, and the stable
error codes of structured error results."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from generate_media.errors import AuthError, InvalidRequest, ProviderUnavailable, RateLimited
from generate_media.retry import RetryPolicy, retrying
from generate_media.server import create_server
from generate_media.service import MediaService
from tests.test_faults import key_of, keyed_image_backends

# --- the policy itself, on a fake clock ----------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _failing(*errors: Exception) -> tuple[list[int], Any]:
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return calls, fn


async def test_backoff_doubles_with_jitter_between_half_and_full():
    clock = Clock()
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=60, sleep=clock.sleep, clock=clock)
    calls, fn = _failing(*[ProviderUnavailable("down")] * 4)
    assert await retrying(fn, policy) == "ok"
    assert len(calls) == 5
    for k, slept in enumerate(clock.sleeps):
        assert 2**k * 0.5 <= slept <= 2**k, clock.sleeps


async def test_retry_after_is_honoured_exactly_and_never_shortened():
    clock = Clock()
    policy = RetryPolicy(attempts=3, base_delay=0.1, max_delay=30, sleep=clock.sleep, clock=clock)
    _calls, fn = _failing(RateLimited("slow", retry_after=7.5))
    assert await retrying(fn, policy) == "ok"
    assert clock.sleeps == [7.5]


async def test_a_retry_after_longer_than_the_longest_wait_is_returned_to_the_caller_at_once():
    clock = Clock()
    policy = RetryPolicy(attempts=5, max_delay=20, sleep=clock.sleep, clock=clock)
    calls, fn = _failing(RateLimited("slow", retry_after=3600))
    with pytest.raises(RateLimited) as caught:
        await retrying(fn, policy)
    assert caught.value.retry_after == 3600 and clock.sleeps == [] and len(calls) == 1


async def test_the_deadline_stops_retrying():
    clock = Clock()
    policy = RetryPolicy(attempts=50, base_delay=4, max_delay=16, deadline_s=30, sleep=clock.sleep, clock=clock)
    calls, fn = _failing(*[ProviderUnavailable("down")] * 49)
    with pytest.raises(ProviderUnavailable):
        await retrying(fn, policy)
    assert sum(clock.sleeps) <= 30 and len(calls) < 10


async def test_permanent_errors_are_not_retried():
    clock = Clock()
    policy = RetryPolicy(attempts=5, sleep=clock.sleep, clock=clock)
    for error in (AuthError("no"), InvalidRequest("bad")):
        calls, fn = _failing(error)
        with pytest.raises(type(error)):
            await retrying(fn, policy)
        assert len(calls) == 1
    assert clock.sleeps == []


async def test_the_scrub_hook_sees_every_error_before_it_escapes():
    clock = Clock()
    seen: list[str] = []
    policy = RetryPolicy(attempts=2, sleep=clock.sleep, clock=clock, scrub=lambda e: seen.append(e.code))
    _calls, fn = _failing(ProviderUnavailable("a"), AuthError("b"))
    with pytest.raises(AuthError):
        await retrying(fn, policy)
    assert seen == ["provider_error", "auth"]


# --- failover through the front door -------------------------------------------------------------

IMAGE = keyed_image_backends()
needs_two = pytest.mark.skipif(len(IMAGE) < 2, reason="needs two keyed image backends with fakes")


async def _no_sleep(_: float) -> None:
    return None


def _server(make_settings: Any, **overrides: Any) -> Any:
    settings = make_settings(*sorted({key_of(b) for b in IMAGE}), **overrides)
    return create_server(settings, service=MediaService(settings, retry_sleep=_no_sleep))


async def _first_choice(client: Client, fake: Any) -> tuple[str, str]:
    result = await client.call_tool("generate_media", {"prompt": "which one"})
    assert not result.is_error, result.content
    provider = fake.requests[-1].provider
    fake.requests.clear()
    return result.structured_content["backend"], provider


@needs_two
async def test_auto_fails_over_on_a_transient_failure_and_says_why(make_settings, fake, mode):
    async with Client(_server(make_settings), mode=mode) as client:
        first, provider = await _first_choice(client, fake)
        fake.inject(f"^{provider}:", status=503, times=100)
        result = await client.call_tool("generate_media", {"prompt": "fail over"})
    assert not result.is_error, result.content
    data = result.structured_content
    tried = data["backends_tried"]
    assert data["backend"] != first and tried[0]["backend"] == first
    assert tried[0]["error"]["code"] == "provider_error" and tried[0]["error"]["retryable"] is True
    assert tried[-1] == {"backend": data["backend"], "model": data["model"]}
    assert len(fake.of(provider)) == 3  # its own retries first (max_retries=2)


@needs_two
async def test_capacity_errors_fail_over_but_permanent_ones_do_not(make_settings, fake):
    async with Client(_server(make_settings)) as client:
        first, provider = await _first_choice(client, fake)
        quota = {"error": {"message": "You exceeded your current quota, check billing", "code": "insufficient_quota"}}
        fake.inject(f"^{provider}:", status=429, body=quota, times=100)
        moved = await client.call_tool("generate_media", {"prompt": "quota"})
        fake.faults.clear()
        fake.inject(f"^{provider}:", status=401, times=100)
        stays = await client.call_tool("generate_media", {"prompt": "auth"})
    assert not moved.is_error and moved.structured_content["backends_tried"][0]["error"]["code"] == "quota"
    assert stays.is_error and stays.structured_content["error"]["code"] == "auth"
    assert stays.structured_content["error"]["backend"] == first


@needs_two
async def test_an_explicit_backend_or_model_never_fails_over(make_settings, fake):
    async with Client(_server(make_settings)) as client:
        first, provider = await _first_choice(client, fake)
        fake.inject(f"^{provider}:", status=503, times=100)
        named = await client.call_tool("generate_media", {"prompt": "x", "backend": first})
    assert named.is_error and named.structured_content["error"]["backend"] == first
    assert {r.provider for r in fake.requests} == {provider}


@needs_two
async def test_when_every_backend_fails_the_error_lists_them_all(make_settings, fake):
    async with Client(_server(make_settings)) as client:
        await _first_choice(client, fake)
        fake.inject(".*", status=503, times=1000)
        result = await client.call_tool("generate_media", {"prompt": "nothing works"})
    error = result.structured_content["error"]
    assert result.is_error and error["code"] == "provider_error"
    assert len(error["backends_tried"]) == len(IMAGE)
    assert {t["backend"] for t in error["backends_tried"]} == set(IMAGE)


# --- stable codes --------------------------------------------------------------------------------


async def test_every_error_class_has_a_stable_code(make_server, fake, mode):
    if "openai" not in IMAGE:
        pytest.skip("openai backend not present")
    quota = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    cases: list[tuple[dict[str, Any], dict[str, Any] | None, str, str]] = [
        ({"prompt": "x"}, {"status": 401}, "auth", "OPENAI_API_KEY"),
        ({"prompt": "x"}, {"status": 403, "body": {"error": {"message": "unsupported region"}}}, "auth", "region"),
        ({"prompt": "x"}, {"status": 429, "body": quota, "times": 9}, "quota", "credits"),
        ({"prompt": "x"}, {"status": 429, "headers": {"retry-after": "2"}, "times": 9}, "rate_limited", "retry"),
        ({"prompt": "safety blocked please"}, None, "safety_blocked", "safety system"),
        (
            {"prompt": "x", "backend": "openai", "quality": "ultra"},
            None,
            "invalid_request",
            "low, medium, high, xhigh, max, auto",
        ),
        (
            {"prompt": "x", "quality": "ultra"},
            None,
            "invalid_request",
            "use one of: low, medium, high, xhigh, max, auto",
        ),
        ({"prompt": "x", "duration": 5}, None, "no_backend", "openai: gpt-image-2.6-flare takes no duration"),
        ({"prompt": "x"}, {"delay": 1.5, "times": 9}, "timeout", "in time"),
        ({"prompt": "x"}, {"status": 500, "times": 9}, "provider_error", "try again"),
        ({"prompt": "x", "continue_from": "openai_img_" + "0" * 32}, None, "not_found", "generate again"),
        ({"prompt": "x", "prompt_x": 1}, None, "invalid_request", "prompt_x"),
    ]
    server = make_server("OPENAI_API_KEY", request_timeout_s=0.5, max_retries=1)
    async with Client(server, mode=mode) as client:
        for args, fault, code, hint in cases:
            fake.faults.clear()
            if fault:
                fake.inject("^openai:", **fault)
            with anyio.fail_after(20):
                result = await client.call_tool("generate_media", args)
            assert result.is_error, (code, result.content)
            error = result.structured_content["error"]
            text = result.content[0].text
            assert error["code"] == code and hint in text and "\n" not in text, (code, text)
            if code == "rate_limited":
                assert error["retry_after"] == 2.0
    async with Client(make_server(), mode=mode) as client:
        missing = await client.call_tool("generate_media", {"prompt": "x"})
    assert missing.structured_content["error"]["code"] == "missing_key"
