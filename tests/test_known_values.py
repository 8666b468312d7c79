"""Values the server knows are discoverable (schema enums derived from the registry) and checked
before any paid call; one error code per situation, naming only the backends that could serve it."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from generate_media.backends.local._imageops import STYLES
from generate_media.registry import load_registry
from generate_media.selector import utc_today
from tests.assertions import one_line_error

REGISTRY = load_registry()
#: The whole tools/list answer, as the server sends it (compact JSON), stays under this many characters
#: (issue 12). The description names keys, not models (TOOL.md and `generate-media models` list them).
TOOLS_LIST_BUDGET = 12_000


async def _listed(server):
    async with Client(server) as client:
        return await client.list_tools()


async def test_the_schema_offers_every_known_value_from_the_registry(make_server):
    (tool,) = (await _listed(make_server())).tools
    props = tool.input_schema["properties"]
    current = [m for spec in REGISTRY for _, m in spec.models() if m.status_on(utc_today()) == "current"]
    # Model ids outgrew the tools/list budget: not enumerated; refused with the list when unknown (below).
    assert "enum" not in props["model"] and "generate-media models" in props["model"]["description"]
    assert current and "gpt-image-2" in [m.id for m in current]
    assert set(props["quality"]["enum"]) == {"low", "medium", "high", "xhigh", "max", "auto"}  # GPT Image 2.x
    assert props["background"]["enum"] == ["transparent", "opaque", "auto"]
    assert set(props["output_format"]["enum"]) == {"png", "jpeg", "webp", "gif", "svg"}
    assert props["style"]["enum"] == list(STYLES)


async def test_the_tools_list_answer_fits_its_budget(make_server):
    listed = await _listed(make_server("all"))
    size = len(listed.model_dump_json(by_alias=True, exclude_none=True))
    print(f"tools/list answer: {size} characters (budget {TOOLS_LIST_BUDGET})")
    assert size < TOOLS_LIST_BUDGET, size
    assert size == len(
        json.dumps(listed.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    )


@pytest.mark.parametrize(
    ("arguments", "allowed"),
    [
        ({"quality": "ultra"}, "low, medium, high, xhigh, max, auto"),
        ({"background": "glass"}, "transparent, opaque, auto"),
        ({"output_format": "tiff"}, "png, jpeg, webp, gif, svg"),
        ({"model": "gpt-image-9"}, "gpt-image-2"),
        ({"style": "cubism"}, "starry-swirl"),
        ({"media_type": "audio", "model": "gpt-image-2"}, "eleven_multilingual_v2"),  # a model of another type
    ],
)
async def test_an_unknown_value_is_refused_before_any_provider_call_listing_the_allowed_ones(
    arguments, allowed, make_server, fake, out_dir
):
    async with Client(make_server("all")) as client:
        result = await client.call_tool("generate_media", {"prompt": "a fox", **arguments})
    (name,) = [k for k in arguments if k != "media_type"]
    text = one_line_error(result, "Error (invalid_request):", f"{name}={arguments[name]!r}", allowed)
    assert "use one of:" in text
    assert fake.requests == [] and list(out_dir.iterdir()) == []


async def test_a_field_no_model_of_the_media_type_takes_is_refused_by_name(make_server, fake):
    async with Client(make_server("all")) as client:
        result = await client.call_tool("generate_media", {"media_type": "video", "prompt": "waves", "quality": "high"})
    one_line_error(result, "Error (invalid_request):", "no video model takes quality; remove it")
    assert fake.requests == []


async def test_known_values_and_a_deprecated_model_still_reach_the_provider(make_server, fake):
    async with Client(make_server("OPENAI_API_KEY")) as client:
        image = await client.call_tool(
            "generate_media", {"prompt": "a fox", "quality": "low", "background": "opaque", "output_format": "webp"}
        )
        speech = await client.call_tool("generate_media", {"media_type": "audio", "prompt": "hi", "model": "tts-1"})
    assert not image.is_error and not speech.is_error, (image.content, speech.content)
    sent = fake.of("openai", "/images/generations")[-1].json
    assert (sent["quality"], sent["background"], sent["output_format"]) == ("low", "opaque", "webp")
    assert fake.of("openai", "/audio/speech")[-1].json["model"] == "tts-1"


# --- one code per situation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "named", "not_named"),
    [
        # ElevenLabs voices are looked up by name: only it could speak as Rachel.
        (
            {"media_type": "audio", "prompt": "hi", "voice": "Rachel"},
            ["elevenlabs: set ELEVENLABS_API_KEY"],
            ["openai"],
        ),
        (
            {"prompt": "a fox"},
            ["openai: set OPENAI_API_KEY", "google: set GEMINI_API_KEY", "backend='local'"],
            ["needs input_images", "local-realesrgan-x4", "elevenlabs", "no image support"],
        ),
        (
            {"media_type": "audio", "audio_type": "dubbing", "input_audio": "https://example.com/a.mp3"}
            | {"target_language": "es"},
            ["elevenlabs: set ELEVENLABS_API_KEY"],
            ["openai", "google", "local"],
        ),
    ],
)
async def test_no_key_is_always_missing_key_naming_only_backends_that_could_serve(
    arguments, named, not_named, make_server, fake, mode
):
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool("generate_media", arguments)
    text = one_line_error(result, "Error (missing_key):", *named)
    for needle in not_named:
        assert needle not in text, text
    assert fake.requests == []


async def test_a_request_no_backend_could_serve_even_with_keys_is_no_backend(make_server, fake, mode):
    async with Client(make_server(), mode=mode) as client:
        keyless = await client.call_tool("generate_media", {"prompt": "a fox", "duration": 5})
    async with Client(make_server("all"), mode=mode) as client:
        keyed = await client.call_tool("generate_media", {"prompt": "a fox", "duration": 5})
    for result in (keyless, keyed):
        text = one_line_error(result, "Error (no_backend):", "takes no duration")
        assert "set OPENAI_API_KEY" not in text and "no image support" not in text
    assert fake.requests == []
