"""Every limit is configurable by env (config.Limits) and enforced with an error that names it."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest
from mcp import Client

from generate_media.config import Limits, Settings
from generate_media.registry import load_registry
from generate_media.spec import MediaType
from tests.conftest import KEYS
from tests.fakes import _providers, media

ENV_NAMES = {
    "max_prompt_chars": "GENERATE_MEDIA_MAX_PROMPT_CHARS",
    "max_batch": "GENERATE_MEDIA_MAX_BATCH",
    "max_concurrent": "GENERATE_MEDIA_MAX_CONCURRENT",
    "max_input_files": "GENERATE_MEDIA_MAX_INPUT_FILES",
    "max_input_bytes": "GENERATE_MEDIA_MAX_INPUT_BYTES",
    "max_download_bytes": "GENERATE_MEDIA_MAX_DOWNLOAD_BYTES",
    "max_jobs_per_client": "GENERATE_MEDIA_MAX_JOBS_PER_CLIENT",
    "preview_bytes": "GENERATE_MEDIA_PREVIEW_BYTES",
}


@pytest.mark.parametrize(("field", "env"), ENV_NAMES.items())
def test_each_limit_is_read_from_its_env_var(field, env):
    limits = Settings.from_env({env: "7"}).limits
    assert getattr(limits, field) == 7
    others = {f.name: getattr(limits, f.name) for f in dataclasses.fields(Limits) if f.name != field}
    assert others == {k: v for k, v in dataclasses.asdict(Limits()).items() if k != field}


def test_a_non_numeric_limit_names_the_variable():
    with pytest.raises(ValueError, match="GENERATE_MEDIA_MAX_BATCH"):
        Settings.from_env({"GENERATE_MEDIA_MAX_BATCH": "lots"})


def _limits(**values: int) -> Limits:
    return Settings.from_env({ENV_NAMES[k]: str(v) for k, v in values.items()}).limits


def _error(result) -> tuple[str, str]:
    assert result.is_error, result.content
    text = result.content[0].text
    assert "\n" not in text
    return result.structured_content["error"]["code"], text


async def test_request_limits_name_their_env_var(make_server, fake, out_dir, mode):
    (out_dir / "a.png").write_bytes(media.png(16, 16))
    big = out_dir / "big.png"
    big.write_bytes(media.noisy_png(128, 128))
    limits = _limits(max_prompt_chars=20, max_batch=3, max_concurrent=2, max_input_files=2, max_input_bytes=4000)
    small = base64.b64encode(media.png(4, 4)).decode()
    huge = base64.b64encode(big.read_bytes()).decode()
    cases = [
        ({"prompt": "x" * 21}, "limit_exceeded", "GENERATE_MEDIA_MAX_PROMPT_CHARS"),
        ({"prompts": ["a", "b", "c", "d"]}, "limit_exceeded", "GENERATE_MEDIA_MAX_BATCH"),
        ({"prompts": ["a", "b"], "max_concurrent": 3}, "invalid_request", "GENERATE_MEDIA_MAX_CONCURRENT"),
        ({"prompt": "x", "input_images": [str(out_dir / "a.png")] * 3}, "limit_exceeded", "MAX_INPUT_FILES"),
        ({"prompt": "x", "input_images": [str(big)]}, "limit_exceeded", "GENERATE_MEDIA_MAX_INPUT_BYTES"),
        ({"prompt": "x", "input_images": [f"data:image/png;base64,{huge}"]}, "limit_exceeded", "MAX_INPUT_BYTES"),
    ]
    async with Client(make_server("OPENAI_API_KEY", limits=limits), mode=mode) as client:
        for args, code, env in cases:
            got_code, text = _error(await client.call_tool("generate_media", args))
            assert got_code == code and env in text, (args, text)
        within = await client.call_tool(
            "generate_media", {"prompt": "x" * 20, "input_images": [f"data:image/png;base64,{small}"] * 2}
        )
    assert not within.is_error, within.content
    assert len(fake.of("openai")) == 1  # only the request within every limit reached the provider


def _long_job_backend() -> tuple[str, str] | None:
    served = {name for module in _providers() for name in getattr(module, "ENV", {})}
    registry = load_registry()
    for spec in registry.serving(MediaType.VIDEO):
        runner = getattr(registry.implementation(spec.name), "video", None)
        key = next((k for k in spec.env_keys if k in KEYS), None)
        if key and spec.base_url_env in served and hasattr(runner, "submit"):
            return spec.name, key
    return None


async def test_in_flight_jobs_per_client_are_capped(make_server, fake):
    found = _long_job_backend()
    if found is None:
        pytest.skip("no keyed long-job (video) backend with a fake")
    backend, key = found
    server = make_server(key, limits=_limits(max_jobs_per_client=2))
    jobs = server.media_service.jobs
    for n in range(2):
        record = await jobs.new(
            owner="local", backend=backend, media_type="video", model="m", request={"prompt": f"{n}"}
        )
        record.state = "running"
        await jobs.save(record)
    before = len(fake.requests)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "a wave", "wait_s": 1})
    code, text = _error(result)
    assert code == "limit_exceeded" and "GENERATE_MEDIA_MAX_JOBS_PER_CLIENT" in text and "job_id" in text
    assert len(fake.requests) == before  # nothing was submitted


async def test_provider_downloads_are_capped(make_server, fake, out_dir):
    """Backends that fetch a provider's result link stop at GENERATE_MEDIA_MAX_DOWNLOAD_BYTES."""
    if "grok" not in load_registry().names():
        pytest.skip("grok backend not present")
    fake.state["xai_url"] = True
    async with Client(make_server("XAI_API_KEY", limits=_limits(max_download_bytes=100))) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "backend": "grok"})
    _, text = _error(result)
    assert "GENERATE_MEDIA_MAX_DOWNLOAD_BYTES" in text
    assert [p for p in Path(out_dir).rglob("*") if p.is_file()] == []
