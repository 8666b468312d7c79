"""``prefer``: quality (leaderboard standings the models declare) or cost (list prices), through the front
door, and the pure selector underneath."""

from __future__ import annotations

from datetime import date

import pytest
from mcp import Client

from generate_media.config import Settings
from generate_media.registry import load_registry
from generate_media.requests import MediaRequest
from generate_media.selector import select
from tests.assertions import one_line_error

REGISTRY = load_registry()
TODAY = date(2026, 12, 3)
KEYS = ("OPENAI_API_KEY", "XAI_API_KEY")


def _select(env: dict[str, str], **fields):
    return select(MediaRequest(**fields), REGISTRY, Settings(env=env), today=TODAY)


async def test_quality_and_cost_choose_different_models_and_say_why(make_server, fake):
    async with Client(make_server(*KEYS)) as client:
        best = await client.call_tool("generate_media", {"prompt": "a lighthouse", "prefer": "quality"})
        cheap = await client.call_tool("generate_media", {"prompt": "a lighthouse", "prefer": "cost"})
    assert not best.is_error and not cheap.is_error, (best.content, cheap.content)
    quality, cost = best.structured_content, cheap.structured_content
    assert (quality["backend"], quality["model"]) == ("openai", "gpt-image-2.5-sunburst")
    assert (cost["backend"], cost["model"]) == ("grok", "grok-imagine-image")
    # What each provider received: the chosen model, by name.
    assert [r.json["model"] for r in fake.of("openai", "/images/generations")] == ["gpt-image-2.5-sunburst"]
    assert [r.json["model"] for r in fake.of("xai", "/images/generations")] == ["grok-imagine-image"]
    assert quality["chosen"].startswith("prefer=quality: gpt-image-2.5-sunburst via openai, #1 on Arena text-to-image")
    assert "(2026-09-24)" in quality["chosen"] and "price unknown" in quality["chosen"]
    assert cost["chosen"].startswith("prefer=cost: grok-imagine-image via grok, $0.02 per image (read 2026-12-03)")
    # Arena ranks Grok Imagine Image 2.0 (its own model now), not 1.0.
    assert "no standing on a text-to-image board" in cost["chosen"]
    assert "cheapest of" in cost["chosen"] and "Chosen by prefer=cost" in cheap.content[0].text
    for result in (quality, cost):
        assert result["items"][0]["path"]


async def test_without_prefer_selection_is_unchanged_and_says_nothing(make_server, fake):
    async with Client(make_server(*KEYS)) as client:
        result = await client.call_tool("generate_media", {"prompt": "a lighthouse"})
    data = result.structured_content
    assert (data["backend"], data["model"]) == ("openai", "gpt-image-2.6-flare") and "chosen" not in data


@pytest.mark.parametrize("arguments", [{"backend": "grok"}, {"model": "gpt-image-2"}])
async def test_prefer_with_a_named_backend_or_model_is_refused(make_server, fake, arguments):
    async with Client(make_server(*KEYS)) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "prefer": "cost", **arguments})
    assert result.is_error and "prefer chooses the backend and model" in one_line_error(result)
    assert fake.requests == []


async def test_an_unknown_preference_is_refused_before_any_call(make_server, fake):
    async with Client(make_server(*KEYS)) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "prefer": "speed"})
    assert result.is_error and "prefer" in one_line_error(result) and fake.requests == []


def test_quality_ranks_video_on_the_board_of_the_request():
    env = {"GEMINI_API_KEY": "g" * 12, "XAI_API_KEY": "x" * 12}
    chosen = _select(env, media_type="video", prompt="waves", prefer="quality")
    assert (chosen.name, chosen.model.id) == ("google", "gemini-omni-1.1-flash")
    assert "#1 on Arena text-to-video (2026-09-21)" in chosen.reason
    # With xAI alone, the ranked 1.5 beats the unranked default; animating ranks on image-to-video.
    grok = _select({"XAI_API_KEY": "x" * 12}, media_type="video", prompt="waves", prefer="quality")
    assert grok.model.id == "grok-imagine-video-1.5" and "#4 on Arena text-to-video" in grok.reason
    animated = _select(env, media_type="video", prompt="waves", prefer="quality", input_images=["a.png"])
    assert animated.model.id == "gemini-omni-1.1-flash" and "#2 on Arena image-to-video" in animated.reason


def test_cost_uses_the_price_of_this_request():
    env = {"XAI_API_KEY": "x" * 12}
    chosen = _select(env, media_type="video", prompt="waves", prefer="cost", duration=5, size="720p")
    assert chosen.model.id == "grok-imagine-video" and "$0.07 per second" in chosen.reason
    assert "about $0.35 for this request" in chosen.reason


def test_speech_ranks_by_score_and_an_offline_backend_is_never_preferred():
    env = {"ELEVENLABS_API_KEY": "e" * 12}
    chosen = _select(env, media_type="audio", prompt="hello", prefer="quality")
    assert (chosen.name, chosen.model.id) == ("elevenlabs", "eleven_v4_turbo")
    assert "score 1334 on AA speech (2026-10-07)" in chosen.reason
    offline = _select({}, media_type="audio", prompt="hello", prefer="cost")
    assert offline.name == "local" and offline.reason == ""  # no key: the usual selection answers


async def test_with_fal_key_alone_quality_picks_fals_best_ranked_model_and_says_why(make_server, fake):
    async with Client(make_server("FAL_KEY")) as client:
        best = await client.call_tool("generate_media", {"prompt": "a lighthouse", "prefer": "quality"})
        cheap = await client.call_tool("generate_media", {"prompt": "a lighthouse", "prefer": "cost"})
    assert not best.is_error and not cheap.is_error, (best.content, cheap.content)
    quality, cost = best.structured_content, cheap.structured_content
    assert (quality["backend"], quality["model"]) == ("fal", "openai/gpt-image-2.5/sunburst")
    assert quality["chosen"].startswith(
        "prefer=quality: openai/gpt-image-2.5/sunburst via fal, #1 on Arena text-to-image (2026-09-24)"
    )
    assert (cost["backend"], cost["model"]) == ("fal", "meta/muse-image")
    assert cost["chosen"].startswith("prefer=cost: meta/muse-image via fal, $0.01 per image (read 2026-12-03)")
    assert "#7 on Arena text-to-image (2026-09-24)" in cost["chosen"]
    # What fal received: each chosen model's text-to-image endpoint.
    assert [r.path for r in fake.of("fal") if r.method == "POST"] == [
        "/fal/openai/gpt-image-2.5/sunburst/text-to-image",
        "/fal/meta/muse-image/text-to-image",
    ]


@pytest.mark.parametrize(
    ("fields", "model", "why"),
    [
        ({}, "google/gemini-omni-flash/v1.1", "#1 on Arena text-to-video (2026-09-21)"),
        ({"input_images": ["a.png"]}, "minimax/h3-max", "#1 on Arena image-to-video (2026-09-21)"),
    ],
)
def test_with_fal_key_alone_video_ranks_on_the_board_of_the_request(fields, model, why):
    chosen = _select({"FAL_KEY": "f" * 12}, media_type="video", prompt="waves", prefer="quality", **fields)
    assert (chosen.name, chosen.model.id) == ("fal", model) and why in chosen.reason


def test_a_model_served_by_several_backends_has_the_same_standings_on_each():
    """The boards rank the model, not the route: fal, Replicate and the vendor's own API share RANKED."""
    same = {
        ("openai", "gpt-image-2.5-sunburst"): ("fal", "openai/gpt-image-2.5/sunburst"),
        ("openai", "gpt-image-2.5-flare"): ("fal", "openai/gpt-image-2.5/flare"),
        ("openai", "gpt-image-2"): ("fal", "openai/gpt-image-2"),
        ("grok", "grok-imagine-image-2.0"): ("fal", "xai/grok-imagine-image/v2.0"),
        ("grok", "grok-imagine-video-1.5"): ("fal", "xai/grok-imagine-video/v1.5"),
        ("google", "gemini-omni-1.1-flash"): ("fal", "google/gemini-omni-flash/v1.1"),
        ("google", "gemini-3.1-flash-image"): ("fal", "fal-ai/nano-banana-2"),
        ("replicate", "alibaba/wan-3"): ("fal", "alibaba/wan-3.0"),
        ("replicate", "black-forest-labs/flux-3"): ("fal", "blackforestlabs/flux-3"),
    }

    def places(backend: str, model_id: str) -> set[tuple[str, int | None, float | None]]:
        [model] = [m for _, m in REGISTRY.get(backend).models() if m.id == model_id]
        return {(s.board.name, s.rank, s.score) for s in model.standings}

    for (backend, model_id), (other, other_id) in same.items():
        assert places(backend, model_id) == places(other, other_id) != set(), model_id
