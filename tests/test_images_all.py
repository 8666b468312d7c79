"""Invariants every networked image backend keeps, parametrized over the registry, plus auto
selection and failover across image backends."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from generate_media.registry import load_registry
from generate_media.spec import MediaType
from tests.conftest import KEYS

REGISTRY = load_registry()
#: Image backends that talk to a provider (the offline backend has no key and no wire to fake).
NETWORKED = [spec.name for spec in REGISTRY.serving(MediaType.IMAGE) if spec.env_keys]


def _key(backend: str) -> str:
    spec = REGISTRY.get(backend)
    assert spec is not None
    return next(k for k in spec.env_keys if k in KEYS)


def test_every_provider_image_backend_is_covered():
    assert {"google", "openai", "grok", "openrouter"} <= set(NETWORKED)


@pytest.mark.parametrize("backend", NETWORKED)
async def test_a_batch_runs_concurrently_without_blocking_the_event_loop(make_server, fake, backend):
    args = {"prompts": [f"tile {i}" for i in range(6)], "max_concurrent": 6, "backend": backend}
    async with Client(make_server(_key(backend))) as client:
        # A cold start imports the SDK (off the event loop, but every request waits for it): warm up first.
        warm = await client.call_tool("generate_media", {"prompt": "warm up", "backend": backend})
        assert not warm.is_error, warm.content
        fake.gather = 6  # the fake answers once all six requests are in flight at once
        with anyio.fail_after(60):
            result = await client.call_tool("generate_media", args)
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["status"] == "completed" and data["backend"] == backend
    assert len(data["items"]) == 6 and all(Path(i["path"]).exists() for i in data["items"])
    assert fake.most_in_flight >= 6, f"{backend}: at most {fake.most_in_flight} requests at once"


@pytest.mark.parametrize("backend", NETWORKED)
async def test_one_failed_prompt_makes_a_partial_result(make_server, fake, backend, out_dir):
    body = {"error": {"code": 400, "message": "fake fault: this prompt is invalid", "status": "INVALID_ARGUMENT"}}
    fake.inject(r":POST ", status=400, body=body, times=1)
    async with Client(make_server(_key(backend))) as client:
        result = await client.call_tool(
            "generate_media", {"prompts": ["one", "two", "three"], "max_concurrent": 1, "backend": backend}
        )
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["status"] == "partial"
    failed = [i for i in data["items"] if i["status"] == "error"]
    assert len(failed) == 1 and failed[0]["prompt"] == "one"
    assert "this prompt is invalid" in failed[0]["error"]["message"]
    assert sorted(i["prompt"] for i in data["items"] if i["status"] == "ok") == ["three", "two"]
    assert len(list(out_dir.iterdir())) == 2


async def test_with_gemini_and_openai_keys_auto_picks_google(make_server, fake, mode):
    async with Client(make_server("GEMINI_API_KEY", "OPENAI_API_KEY"), mode=mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "a fern"})
    assert result.structured_content["backend"] == "google"
    assert fake.of("google") and not fake.of("openai")


async def test_a_google_outage_fails_over_to_openai_and_says_so(make_server, fake):
    unavailable = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    fake.inject("google:POST .*generateContent", status=503, body=unavailable, times=10)
    async with Client(make_server("GEMINI_API_KEY", "OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "a fern in the rain"})
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["backend"] == "openai" and data["model"] == "gpt-image-2.6-flare"
    tried = data["backends_tried"]
    assert tried[0]["backend"] == "google" and tried[0]["model"] == "gemini-nano-banana-2.1"
    assert tried[0]["error"]["retryable"] is True and "overloaded" in tried[0]["error"]["message"]
    assert tried[-1]["backend"] == "openai"
    assert len(fake.of("google")) == 3  # the first try and two retries, then the next backend
    assert len(fake.of("openai", "/images/generations")) == 1


async def test_a_named_backend_does_not_fail_over(make_server, fake):
    fake.inject("google:POST .*generateContent", status=503, times=10)
    async with Client(make_server("GEMINI_API_KEY", "OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "stay on google", "backend": "google"})
    assert result.is_error and result.structured_content["error"]["retryable"] is True
    assert not fake.of("openai")
