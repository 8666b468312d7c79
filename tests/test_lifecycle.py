"""Model lifecycle through an MCP client against the loopback fakes, with the server's clock faked.

Each model declares status, deprecation and shutdown dates and its replacement; the selector reads
the day from the service's clock, so a shutdown date takes effect on the day with no release.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client

from generate_media.server import create_server
from generate_media.service import MediaService
from tests.fakes import media

GEMINI, OPENAI, ELEVEN = "GEMINI_API_KEY", "OPENAI_API_KEY", "ELEVENLABS_API_KEY"
SPEECH = {"media_type": "audio", "audio_type": "speech", "prompt": "Hello there."}


class FakeClock:
    """Wall clock the test sets (``time()`` is all the service reads)."""

    def __init__(self, day: str) -> None:
        self.set(day)

    def set(self, day: str) -> None:
        self.now = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC).timestamp()

    def time(self) -> float:
        return self.now


@pytest.fixture
def dated_server(make_settings):
    """``dated_server(day, *keys, **settings)``: a server whose clock reads ``day`` (noon UTC)."""

    async def no_sleep(_: float) -> None:
        return None

    def factory(day: str, *keys: str, **kwargs: Any) -> tuple[Any, FakeClock]:
        clock = FakeClock(day)
        settings = make_settings(*keys, **kwargs)
        service = MediaService(settings, clock=clock, retry_sleep=no_sleep)
        return create_server(settings, service=service), clock

    return factory


def _text(result: Any) -> str:
    return result.content[0].text


# --- the current defaults, chosen by auto for a key-holder ------------------------------------------


async def test_nano_banana_2_1_is_what_a_gemini_key_gets(dated_server, fake):
    server, _ = dated_server("2026-12-03", GEMINI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "a lantern", "size": "4K", "aspect_ratio": "8:1"})
    assert not result.is_error, result.content
    assert (result.structured_content["backend"], result.structured_content["model"]) == (
        "google",
        "gemini-nano-banana-2.1",
    )
    [sent] = fake.of("google", ":generateContent")
    assert sent.path_params["model"] == "gemini-nano-banana-2.1"
    assert sent.json["generationConfig"]["imageConfig"] == {"aspectRatio": "8:1", "imageSize": "4K"}


async def test_gpt_image_2_6_is_what_an_openai_key_gets_with_its_new_parameters_on_the_wire(dated_server, fake):
    server, _ = dated_server("2026-12-03", OPENAI)
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "a poster", "quality": "max", "size": "2048x1152", "output_format": "webp"}
        )
    assert not result.is_error, result.content
    assert result.structured_content["model"] == "gpt-image-2.6-flare"
    sent = fake.of("openai", "/images/generations")[-1].json
    assert sent["model"] == "gpt-image-2.6-flare" and sent["quality"] == "max"
    assert sent["size"] == "2048x1152" and sent["output_format"] == "webp"


@pytest.mark.parametrize(("fmt", "suffix", "mime"), [("svg", ".svg", "image/svg+xml"), ("gif", ".gif", "image/gif")])
async def test_gpt_image_2_6_svg_and_gif_output_are_requested_and_saved(dated_server, fake, fmt, suffix, mime):
    server, _ = dated_server("2026-12-03", OPENAI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "a logo", "output_format": fmt})
    assert not result.is_error, result.content
    assert fake.of("openai", "/images/generations")[-1].json["output_format"] == fmt
    item = result.structured_content["items"][0]
    assert item["path"].endswith(suffix) and item["mime_type"] == mime


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        ({"size": "2000x1000"}, "multiples of 16"),
        ({"size": "4096x2304"}, "larger than the maximum"),
        ({"size": "3840x1024"}, "aspect ratio beyond"),
        ({"output_format": "svg", "n": 2}, "n=1"),
        ({"quality": "xhigh", "model": "gpt-image-2"}, "accepted: low, medium, high, auto"),
    ],
)
async def test_gpt_image_limits_are_checked_before_any_paid_call(dated_server, fake, arguments, why):
    server, _ = dated_server("2026-12-03", OPENAI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "backend": "openai", **arguments})
    assert result.is_error and why in _text(result), _text(result)
    assert "\n" not in _text(result)
    assert fake.of("openai") == []


async def test_omni_1_2_is_what_a_gemini_key_gets_for_video(dated_server, fake):
    server, _ = dated_server("2026-12-03", GEMINI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "waves", "duration": 14})
    assert not result.is_error, result.content
    assert result.structured_content["model"] == "gemini-omni-1.2-flash"
    body = next(r.json for r in fake.of("google", "/interactions") if r.method == "POST")
    assert body["model"] == "gemini-omni-1.2-flash" and body["response_format"]["duration"] == "14s"


@pytest.mark.parametrize(
    ("audio_type", "extra", "model", "path"),
    [
        ("speech", {}, "eleven_v4", "/v1/text-to-speech/"),
        ("music", {"duration": 10}, "music_v2_5", "/v1/music"),
        ("voice_design", {"voice_name": "Ada"}, "eleven_ttv_v3", "/v1/text-to-voice"),
    ],
)
async def test_elevenlabs_current_models_are_what_an_elevenlabs_key_gets(
    dated_server, fake, audio_type, extra, model, path
):
    server, _ = dated_server("2026-12-03", ELEVEN)
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_media",
            {"media_type": "audio", "audio_type": audio_type, "prompt": "a calm, warm voice of a storyteller", **extra},
        )
    assert not result.is_error, result.content
    assert (result.structured_content["backend"], result.structured_content["model"]) == ("elevenlabs", model)
    sent = next(r for r in fake.of("elevenlabs", path) if r.method == "POST")
    assert sent.json["model_id"] == model


# --- retired models are refused, naming the replacement -------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"media_type": "video", "backend": "openai"}, "openai/sora-2 was retired on 2026-09-24"),
        ({"media_type": "video", "model": "sora-2-pro"}, "replacement: google/gemini-omni-1.2-flash"),
        ({"model": "imagen-4.0-generate-001"}, "replacement: google/gemini-nano-banana-2.1"),
        (
            {"model": "gpt-image-1.5"},
            "openai/gpt-image-1.5 was retired on 2026-12-01; replacement: openai/gpt-image-2.6",
        ),
        ({"model": "gpt-image-1-mini"}, "replacement: openai/gpt-image-2.6-flare; use model='gpt-image-2.6-flare'"),
        ({"model": "gemini-3.1-flash-image"}, "replacement: google/gemini-nano-banana-2.1"),
        (
            {"model": "grok-imagine-image-quality"},
            "grok/grok-imagine-image-quality was retired on 2026-11-02 (xAI redirects it to grok-imagine-image-2.0",
        ),
    ],
)
async def test_a_retired_model_is_refused_with_its_replacement_named(dated_server, fake, arguments, expected):
    server, _ = dated_server("2026-12-03", "all")
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", **arguments})
        healthy = await client.call_tool("generate_media", {"prompt": "x"})
    assert result.is_error and expected in _text(result), _text(result)
    assert "\n" not in _text(result)
    assert not healthy.is_error
    assert [r for r in fake.requests if "/videos" in r.path or ":predict" in r.path] == []
    assert [r.json["model"] for r in fake.of("xai", "/images/")] in ([], ["grok-imagine-image"])


async def test_grok_imagine_image_2_0_takes_its_quality_tier_and_five_sources_on_the_wire(dated_server, fake, out_dir):
    sources = []
    for i in range(5):
        path = out_dir / f"in{i}.png"
        path.write_bytes(media.png(16, 16))
        sources.append(str(path))
    server, _ = dated_server("2026-12-03", "XAI_API_KEY")
    async with Client(server) as client:
        made = await client.call_tool(
            "generate_media", {"prompt": "a barn", "model": "grok-imagine-image-2.0", "quality": "low"}
        )
        edited = await client.call_tool(
            "generate_media", {"prompt": "merge", "model": "grok-imagine-image-2.0", "input_images": sources}
        )
        old = await client.call_tool("generate_media", {"prompt": "x", "model": "grok-imagine-image", "quality": "low"})
    assert not made.is_error and not edited.is_error, (made.content, edited.content)
    assert fake.of("xai", "/images/generations")[0].json["quality"] == "low"
    assert len(fake.of("xai", "/images/edits")[0].json["images"]) == 5
    assert old.is_error and "takes no quality" in _text(old)


async def test_auto_never_offers_sora_even_with_only_an_openai_key(dated_server, fake):
    server, _ = dated_server("2026-12-03", OPENAI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "x", "backend": "auto"})
    # Sora is retired and slides without pictures are a placeholder (never auto): the error names the
    # keys that reach a live video model, not OpenAI's.
    assert result.is_error and result.structured_content["error"]["code"] == "missing_key", result.content
    message = result.structured_content["error"]["message"]
    assert "GEMINI_API_KEY" in message and "OPENAI_API_KEY" not in message, message
    assert fake.of("openai") == []


# --- a shutdown date takes effect on the day, with no release --------------------------------------


async def test_openai_speech_warns_before_its_shutdown_and_is_never_used_from_that_day(dated_server, fake):
    server, clock = dated_server("2027-01-05", OPENAI)
    async with Client(server) as client:
        before = await client.call_tool("generate_media", {**SPEECH, "backend": "openai"})
        clock.set("2027-01-06")
        on_the_day = await client.call_tool("generate_media", {**SPEECH, "backend": "openai"})
        named = await client.call_tool("generate_media", {**SPEECH, "model": "tts-1"})
    assert not before.is_error, before.content
    assert any("deprecated: shuts down on 2027-01-06" in w for w in before.structured_content["warnings"])
    assert on_the_day.is_error and "openai/gpt-4o-mini-tts was retired on 2027-01-06" in _text(on_the_day)
    assert "replacement: elevenlabs/eleven_v4" in _text(on_the_day)
    assert named.is_error and "openai/tts-1 was retired on 2027-01-06" in _text(named)
    assert len(fake.of("openai", "/audio/speech")) == 1


async def test_auto_prefers_a_current_speech_model_to_a_deprecated_one_even_when_ranked_lower(dated_server, fake):
    server, _ = dated_server("2026-12-03", OPENAI, ELEVEN, env={"GENERATE_MEDIA_PRIORITY_AUDIO": "openai"})
    async with Client(server) as client:
        preferred = await client.call_tool("generate_media", SPEECH)
    assert preferred.structured_content["backend"] == "elevenlabs", preferred.content
    assert fake.of("openai") == []


async def test_a_deprecated_model_still_runs_when_nothing_current_has_a_key(dated_server, fake):
    server, _ = dated_server("2026-12-03", OPENAI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", SPEECH)
    # The keyless local backend (offline piper) does not win over a provider the user has a key for.
    assert result.structured_content["backend"] == "openai", result.content
    assert any("2027-01-06" in w for w in result.structured_content["warnings"])


async def test_the_backends_listing_marks_deprecated_and_retired_models_for_the_day(make_settings):
    from datetime import date

    from generate_media.docs import backend_rows
    from generate_media.registry import load_registry

    rows = backend_rows(load_registry(), make_settings(OPENAI), today=date(2026, 12, 3))
    audio = next(r for r in rows if (r.backend, r.media_type) == ("openai", "audio"))
    video = next(r for r in rows if (r.backend, r.media_type) == ("openai", "video"))
    assert audio.marks["tts-1"] == "deprecated, shutdown 2027-01-06"
    assert any("2027-01-06" in w for w in audio.deprecated)
    assert video.marks["sora-2"] == "retired 2026-09-24" and not video.would_be_chosen
    later = backend_rows(load_registry(), make_settings(OPENAI), today=date(2027, 1, 6))
    assert next(r for r in later if (r.backend, r.media_type) == ("openai", "audio")).marks["tts-1"] == (
        "retired 2027-01-06"
    )


# --- the server notices a retirement itself ----------------------------------------------------------


async def test_a_model_not_found_answer_makes_auto_fail_over_with_a_warning_naming_the_model(dated_server, fake):
    fake.inject(
        r"google:POST .*/models/gemini-nano-banana-2\.1:generateContent",
        status=404,
        body={"error": {"code": 404, "message": "models/gemini-nano-banana-2.1 is not found", "status": "NOT_FOUND"}},
        times=10,
    )
    server, clock = dated_server("2026-12-03", GEMINI, OPENAI)
    async with Client(server) as client:
        first = await client.call_tool("generate_media", {"prompt": "a kite"})
        second = await client.call_tool("generate_media", {"prompt": "a kite"})
        clock.set("2026-12-05")  # a day later the model is tried again
        third = await client.call_tool("generate_media", {"prompt": "a kite"})
    assert not first.is_error, first.content
    data = first.structured_content
    assert (data["backend"], data["model"]) == ("openai", "gpt-image-2.6-flare")
    assert data["backends_tried"][0]["error"]["code"] == "model_unavailable"
    assert any("google/gemini-nano-banana-2.1 is no longer served" in w for w in data["warnings"])
    assert second.structured_content["backend"] == "openai" and not second.structured_content.get("backends_tried")
    assert third.structured_content["backends_tried"][0]["model"] == "gemini-nano-banana-2.1"
    assert len(fake.of("google", "gemini-nano-banana-2.1")) == 2  # skipped for a day, then asked again


async def test_an_explicit_request_never_fails_over_on_model_not_found(dated_server, fake):
    fake.inject(r"google:POST .*:generateContent", status=404, body={"error": {"message": "models/x is not found"}})
    server, _ = dated_server("2026-12-03", GEMINI, OPENAI)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "backend": "google"})
    assert result.is_error and result.structured_content["error"]["code"] == "model_unavailable"
    assert fake.of("openai") == []


# Each provider's own "this model is gone" answer, as its API words it.
GONE = [
    pytest.param(
        "openai",
        r"openai:POST .*/images/generations",
        404,
        {
            "error": {
                "message": "The model `gpt-image-2.6-flare` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        },
        ("OPENAI_API_KEY", "XAI_API_KEY"),
        {"GENERATE_MEDIA_PRIORITY_IMAGE": "openai,grok"},
        {"prompt": "a kite"},
        "grok",
        id="openai-model_not_found",
    ),
    pytest.param(
        "grok",
        r"xai:POST .*/images/generations",
        404,
        {
            "code": "Some requested entity was not found",
            "error": "The model grok-imagine-image does not exist or your team does not have access to it.",
        },
        ("XAI_API_KEY", "OPENAI_API_KEY"),
        {"GENERATE_MEDIA_PRIORITY_IMAGE": "grok,openai"},
        {"prompt": "a kite"},
        "openai",
        id="xai-model-does-not-exist",
    ),
    pytest.param(
        "openrouter",
        r"openrouter:POST .*/chat/completions",
        404,
        {"error": {"message": "No endpoints found for google/gemini-nano-banana-2.1.", "code": 404}},
        ("OPENROUTER_API_KEY", "XAI_API_KEY"),
        {"GENERATE_MEDIA_PRIORITY_IMAGE": "openrouter,grok"},
        {"prompt": "a kite"},
        "grok",
        id="openrouter-no-endpoints",
    ),
    pytest.param(
        "elevenlabs",
        r"elevenlabs:POST .*/text-to-speech/",
        400,
        {"detail": {"status": "model_not_found", "message": "A model with model ID eleven_v4 does not exist."}},
        ("ELEVENLABS_API_KEY", "CARTESIA_API_KEY"),
        {"GENERATE_MEDIA_PRIORITY_AUDIO": "elevenlabs,cartesia"},
        SPEECH,
        "cartesia",
        id="elevenlabs-model_not_found",
    ),
]


@pytest.mark.parametrize(("backend", "route", "status", "body", "keys", "env", "arguments", "then"), GONE)
async def test_each_providers_model_not_found_answer_is_model_unavailable_and_auto_fails_over(
    dated_server, fake, backend, route, status, body, keys, env, arguments, then
):
    fake.inject(route, status=status, body=body, times=5)
    server, _ = dated_server("2026-12-03", *keys, env=env)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", arguments)
        named = await client.call_tool("generate_media", {**arguments, "backend": backend})
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["backend"] == then
    tried = data["backends_tried"][0]
    assert (tried["backend"], tried["error"]["code"]) == (backend, "model_unavailable"), tried
    assert any(f"{backend}/{tried['model']} is no longer served" in w for w in data["warnings"]), data["warnings"]
    # Named explicitly, the same answer is the one-line model_unavailable error (no failover).
    assert named.is_error and named.structured_content["error"]["code"] == "model_unavailable"
    assert "\n" not in _text(named)


async def test_auto_stops_using_a_model_on_its_shutdown_day_with_no_release(dated_server, fake):
    """auto with only an OpenAI key: OpenAI speech (deprecated) on the eve of its shutdown, never from that day."""
    server, clock = dated_server("2027-01-05", OPENAI)
    async with Client(server) as client:
        eve = await client.call_tool("generate_media", SPEECH)
        clock.set("2027-01-06")
        day = await client.call_tool("generate_media", SPEECH)
    assert eve.structured_content["backend"] == "openai", eve.content
    assert any("shuts down on 2027-01-06" in w for w in eve.structured_content["warnings"])
    # From the shutdown day the offline voice answers (OpenAI is no longer a candidate), saying which keys would help.
    assert (day.structured_content["backend"], day.structured_content["model"]) == ("local", "local-piper-joe")
    assert len(fake.of("openai", "/audio/speech")) == 1
