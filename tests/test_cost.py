"""Cost estimates and the daily budget, through an MCP client against the loopback fakes."""

from __future__ import annotations

import json

import jsonschema
import pytest
from mcp import Client

from generate_media.pricing import PRICES, estimate, price_of
from generate_media.registry import load_registry
from generate_media.requests import MediaRequest
from generate_media.server import create_server
from generate_media.service import MediaService
from tests.assertions import one_line_error, only_item


async def _call(client: Client, arguments: dict) -> tuple:
    tool = (await client.list_tools()).tools[0]
    result = await client.call_tool("generate_media", arguments)
    if not result.is_error:
        jsonschema.validate(result.structured_content, tool.output_schema)
    return result, result.structured_content


def test_every_price_is_for_a_declared_model_and_carries_its_date_and_source():
    registry = load_registry()
    for (backend, model_id), price in PRICES.items():
        assert any(registry.model(backend, mt, model_id) for mt in registry.get(backend).media), (backend, model_id)
        assert price.checked[:4] == "2026" and len(price.checked) == 10 and price.source
        assert price.unit in ("image", "second", "character") and price.usd and min(price.usd.values()) > 0
        assert price.by is None or price.default in price.usd


def test_an_estimate_follows_the_tier_and_the_units_and_says_unknown_when_it_is():
    low = estimate("openai", "gpt-image-2", MediaRequest(prompt="x", quality="low", n=3))
    assert (low.usd, low.unit, low.units, low.tier) == (pytest.approx(0.018), "image", 3, "low")
    default = estimate("openai", "gpt-image-2", MediaRequest(prompt="x"))
    assert default.tier == "auto" and default.usd == pytest.approx(0.211)
    video = estimate("grok", "grok-imagine-video", MediaRequest(media_type="video", prompt="x", size="720p"))
    assert video.units == 8 and video.usd == pytest.approx(0.56)  # xAI's default is 8 s
    speech = estimate("openai", "tts-1", MediaRequest(media_type="audio", prompts=["hello", "hi"]))
    assert speech.units == 7 and speech.usd == pytest.approx(7 * 15 / 1_000_000)
    assert estimate("google", "gemini-3.1-flash-image", MediaRequest(prompt="x", size="3K")).usd is None
    assert estimate("elevenlabs", "eleven_multilingual_v2", MediaRequest(prompt="x")).usd is None
    assert price_of("local", "anything") is not None and price_of("local", "anything").high == 0


async def test_a_result_carries_the_estimate_of_a_known_model(make_server, fake):
    async with Client(make_server("XAI_API_KEY")) as client:
        result, data = await _call(client, {"prompt": "a fox", "n": 2})
    assert not result.is_error, result.content
    cost = data["estimated_cost"]
    assert cost["usd"] == pytest.approx(0.04) and cost["unit"] == "image" and cost["units"] == 2
    assert cost["unit_usd"] == 0.02 and cost["price_checked"] == "2026-12-03" and "docs.x.ai" in cost["source"]
    assert "budget_remaining_usd" not in cost  # no budget set
    assert "Estimated cost: $0.0400" in result.content[0].text


async def test_an_unknown_price_is_reported_as_unknown_not_guessed(make_server, fake):
    async with Client(make_server("ELEVENLABS_API_KEY")) as client:
        result, data = await _call(client, {"media_type": "audio", "prompt": "Hello there"})
    assert not result.is_error, result.content
    assert "usd" not in data["estimated_cost"] and "no published per-unit price" in data["estimated_cost"]["note"]


async def test_a_call_over_the_budget_is_refused_before_the_provider_sees_a_request(make_server, fake):
    server = make_server("XAI_API_KEY", budget_usd=0.05)
    async with Client(server) as client:
        result, _ = await _call(client, {"prompt": "a fox", "n": 3})  # 3 x $0.02 = $0.06
    text = one_line_error(result, "budget_exceeded", "$0.0600", "$0.0500", "GENERATE_MEDIA_BUDGET_USD")
    assert "cheaper" in text
    error = result.structured_content["error"]
    assert error["budget"]["estimated_usd"] == pytest.approx(0.06) and error["budget"]["remaining_usd"] == 0.05
    assert fake.of("xai") == []


async def test_spend_accumulates_across_calls_and_survives_a_restart(make_server, make_settings, fake, tmp_path):
    async with Client(make_server("XAI_API_KEY", budget_usd=0.05)) as client:
        first, one = await _call(client, {"prompt": "a fox"})
        second, two = await _call(client, {"prompt": "an owl"})
    assert not first.is_error and not second.is_error
    assert one["estimated_cost"]["budget_remaining_usd"] == pytest.approx(0.03)
    assert two["estimated_cost"]["budget_remaining_usd"] == pytest.approx(0.01)
    ledger = json.loads(next((tmp_path / "state" / "spend").glob("*.json")).read_text())
    assert ledger == {"local": pytest.approx(0.04)}
    # A new server on the same state dir remembers today's spend: the third image no longer fits.
    settings = make_settings("XAI_API_KEY", budget_usd=0.05)
    async with Client(create_server(settings, service=MediaService(settings))) as client:
        third, _ = await _call(client, {"prompt": "a cat"})
    one_line_error(third, "budget_exceeded", "$0.0200", "$0.0100")
    assert len(fake.of("xai", "/images/generations")) == 2


async def test_a_failed_call_gives_its_reservation_back(make_server, fake, tmp_path):
    fake.inject(r"xai:POST /xai/v1/images/generations", status=400, body={"error": "Argument not supported: x"})
    async with Client(make_server("XAI_API_KEY", budget_usd=0.02)) as client:
        failed, _ = await _call(client, {"prompt": "a fox"})
        ok, data = await _call(client, {"prompt": "a fox"})
    assert failed.is_error and not ok.is_error, ok.content
    assert data["estimated_cost"]["budget_remaining_usd"] == 0


async def test_an_unknown_price_under_a_budget_runs_with_a_warning(make_server, fake):
    async with Client(make_server("ELEVENLABS_API_KEY", budget_usd=0.0)) as client:
        result, data = await _call(client, {"media_type": "audio", "prompt": "Hello there"})
    only_item(result)
    assert any("not counted against GENERATE_MEDIA_BUDGET_USD" in w for w in data["warnings"])


def test_the_budget_setting_is_read_and_checked():
    from generate_media.config import Settings

    assert Settings.from_env({}).budget_usd is None
    assert Settings.from_env({"GENERATE_MEDIA_BUDGET_USD": "2.5"}).budget_usd == 2.5
    with pytest.raises(ValueError, match="GENERATE_MEDIA_BUDGET_USD"):
        Settings.from_env({"GENERATE_MEDIA_BUDGET_USD": "-1"})


async def test_the_budget_is_per_principal_and_per_utc_day(make_settings, fake):
    """alice spending her cap leaves bob's untouched; the next UTC day starts from zero (the service's clock)."""
    from tests.test_lifecycle import FakeClock

    settings = make_settings("XAI_API_KEY", budget_usd=0.03)
    clock = FakeClock("2026-12-03")
    who = {"name": "alice"}
    server = create_server(settings, service=MediaService(settings, clock=clock), principal_of=lambda _ctx: who["name"])
    async with Client(server) as client:
        first, _ = await _call(client, {"prompt": "a fox"})  # $0.02 of alice's $0.03
        over, _ = await _call(client, {"prompt": "a fox"})
        who["name"] = "bob"
        bobs, data = await _call(client, {"prompt": "a fox"})
        who["name"] = "alice"
        clock.set("2026-12-04")
        next_day, later = await _call(client, {"prompt": "a fox"})
    assert not first.is_error and not bobs.is_error and not next_day.is_error
    one_line_error(over, "budget_exceeded", "$0.0200", "$0.0100")
    assert data["estimated_cost"]["budget_remaining_usd"] == pytest.approx(0.01)
    assert later["estimated_cost"]["budget_remaining_usd"] == pytest.approx(0.01)
    assert over.structured_content["error"]["budget"]["day"] == "2026-12-03"
    assert len(fake.of("xai", "/images/generations")) == 3
