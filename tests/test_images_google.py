"""Google images (Gemini generate_content, Imagen on Vertex express) through an MCP client against the fake."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from tests.conftest import KEYS
from tests.fakes import media
from tests.fakes.google import b64

GENERATE = ":generateContent"


def _inline(part: dict) -> bytes:
    return b64(part["inlineData"]["data"])


async def test_a_prompt_becomes_a_png_through_generate_content(make_server, fake, out_dir, mode):
    async with Client(make_server("GEMINI_API_KEY"), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "a koi pond", "aspect_ratio": "16:9", "size": "2K"}
        )
    assert not result.is_error, result.content
    sent = fake.of("google", GENERATE)[-1]
    assert sent.path == "/gemini/v1/models/gemini-nano-banana-2.1:generateContent"
    assert sent.headers["x-goog-api-key"] == KEYS["GEMINI_API_KEY"]
    assert sent.json["contents"] == [{"role": "user", "parts": [{"text": "a koi pond"}]}]
    assert sent.json["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
    }
    data = result.structured_content
    assert data["backend"] == "google" and data["model"] == "gemini-nano-banana-2.1"
    item = data["items"][0]
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".png" and (item["width"], item["height"]) == (96, 54)
    assert item["continuation_id"].startswith("gemini_chat_")
    assert item["metadata"]["text"] == "Here is the image."
    with Image.open(path) as img:
        img.verify()


async def test_n_images_are_n_concurrent_requests(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "three pears", "n": 3})
    assert len(fake.of("google", GENERATE)) == 3
    items = result.structured_content["items"]
    assert len({i["path"] for i in items}) == 3 and len({i["continuation_id"] for i in items}) == 3


async def test_input_images_follow_the_prompt_as_inline_parts(make_server, fake, out_dir):
    one = out_dir / "a.png"
    one.write_bytes(media.png(20, 20))
    two = out_dir / "b.jpg"
    two.write_bytes(media.image(24, 24, "JPEG"))
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool(
            "generate_media",
            {"prompt": "merge them", "input_images": [str(one), str(two)], "model": "gemini-3-pro-image"},
        )
    assert not result.is_error, result.content
    sent = fake.of("google", GENERATE)[-1]
    assert sent.path.endswith("/models/gemini-3-pro-image:generateContent")
    parts = sent.json["contents"][0]["parts"]
    assert parts[0] == {"text": "merge them"}
    assert [p["inlineData"]["mime_type"] for p in parts[1:]] == ["image/png", "image/jpeg"]
    assert [_inline(p) for p in parts[1:]] == [one.read_bytes(), two.read_bytes()]


async def test_continuing_re_posts_the_history_with_thought_signatures(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY"), mode="legacy") as client:
        first = await client.call_tool("generate_media", {"prompt": "a red kite"})
        one = first.structured_content["items"][0]
        second = await client.call_tool(
            "generate_media", {"prompt": "add a tail", "continue_from": one["continuation_id"]}
        )
        two = second.structured_content["items"][0]
        third = await client.call_tool(
            "generate_media", {"prompt": "now at night", "continue_from": two["continuation_id"]}
        )
    assert not third.is_error, third.content
    sent = fake.of("google", GENERATE)
    turn2, turn3 = sent[1].json["contents"], sent[2].json["contents"]
    assert [c["role"] for c in turn2] == ["user", "model", "user"]
    assert turn2[0]["parts"] == [{"text": "a red kite"}]
    text_part, image_part = turn2[1]["parts"]
    assert text_part["text"] == "Here is the image." and text_part["thoughtSignature"]
    assert image_part["thoughtSignature"] and _inline(image_part) == Path(one["path"]).read_bytes()
    assert turn2[2]["parts"] == [{"text": "add a tail"}]
    assert [c["role"] for c in turn3] == ["user", "model", "user", "model", "user"]
    assert turn3[:3] == turn2  # the earlier turns, byte for byte, signatures included
    assert _inline(turn3[3]["parts"][1]) == Path(two["path"]).read_bytes()
    assert turn3[3]["parts"][1]["thoughtSignature"] != image_part["thoughtSignature"]
    assert turn3[4]["parts"] == [{"text": "now at night"}]
    assert third.structured_content["model"] == "gemini-nano-banana-2.1"


async def test_two_continuations_of_one_id_branch_independently(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        first = await client.call_tool("generate_media", {"prompt": "a snowman", "model": "gemini-3-pro-image"})
        cid = first.structured_content["items"][0]["continuation_id"]
        a = await client.call_tool("generate_media", {"prompt": "give it a hat", "continue_from": cid})
        await client.call_tool("generate_media", {"prompt": "give it a scarf", "continue_from": cid})
        a_id = a.structured_content["items"][0]["continuation_id"]
        after_a = await client.call_tool("generate_media", {"prompt": "make it melt", "continue_from": a_id})
    assert not after_a.is_error, after_a.content
    _, to_a, to_b, to_after_a = fake.of("google", GENERATE)
    assert all(r.path.endswith("/gemini-3-pro-image:generateContent") for r in (to_a, to_b, to_after_a))
    assert to_a.json["contents"][:2] == to_b.json["contents"][:2]
    assert to_a.json["contents"][2]["parts"] == [{"text": "give it a hat"}]
    assert to_b.json["contents"][2]["parts"] == [{"text": "give it a scarf"}]
    history = [p.get("text") for c in to_after_a.json["contents"] for p in c["parts"]]
    assert "give it a hat" in history and "give it a scarf" not in history


async def test_an_openai_id_continues_on_openai_although_google_is_selected_now(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY", "OPENAI_API_KEY")) as client:
        first = await client.call_tool("generate_media", {"prompt": "a vase", "backend": "openai"})
        cid = first.structured_content["items"][0]["continuation_id"]
        more = await client.call_tool("generate_media", {"prompt": "with flowers", "continue_from": cid})
        fresh = await client.call_tool("generate_media", {"prompt": "a new vase"})
    assert more.structured_content["backend"] == "openai" and more.structured_content["model"] == "gpt-image-2.6-flare"
    assert len(fake.of("openai", "/images/edits")) == 1
    assert fresh.structured_content["backend"] == "google"
    assert len(fake.of("google", GENERATE)) == 1


async def test_safety_blocks_quote_the_reason_and_text_answers_quote_the_model(make_server, fake, out_dir, mode):
    async with Client(make_server("GEMINI_API_KEY"), mode=mode) as client:
        prompt = await client.call_tool("generate_media", {"prompt": "blocked-prompt please"})
        image = await client.call_tool("generate_media", {"prompt": "unsafe-image please"})
        text = await client.call_tool("generate_media", {"prompt": "only-text please"})
    assert prompt.structured_content["error"]["code"] == "safety_blocked"
    assert "PROHIBITED_CONTENT" in prompt.content[0].text and "The prompt violates policy." in prompt.content[0].text
    assert image.structured_content["error"]["code"] == "safety_blocked"
    assert "IMAGE_SAFETY" in image.content[0].text and "HARM_CATEGORY_DANGEROUS_CONTENT" in image.content[0].text
    assert text.structured_content["error"]["code"] == "provider_error"
    assert "I cannot draw that" in text.content[0].text
    assert all("\n" not in r.content[0].text for r in (prompt, image, text))
    assert len(fake.of("google", GENERATE)) == 3  # refusals are not retried
    assert list(out_dir.iterdir()) == []


async def test_provider_errors_are_translated_once(make_server, fake):
    bad_key = {"error": {"code": 403, "message": "API key not valid.", "status": "PERMISSION_DENIED"}}
    async with Client(make_server("GEMINI_API_KEY")) as client:
        fake.inject("google:POST .*generateContent", status=403, body=bad_key)
        denied = await client.call_tool("generate_media", {"prompt": "x"})
        fake.inject("google:POST .*generateContent", status=429, body={"error": {"code": 429, "message": "slow"}})
        retried = await client.call_tool("generate_media", {"prompt": "y"})
    assert denied.structured_content["error"]["code"] == "auth"
    assert "GEMINI_API_KEY" in denied.content[0].text and "test-key-gemini" not in denied.content[0].text
    assert not retried.is_error


async def test_unsupported_values_are_rejected_listing_the_accepted_ones(make_server, fake, out_dir):
    (out_dir / "m.png").write_bytes(media.png(8, 8))
    async with Client(make_server("GEMINI_API_KEY")) as client:
        size = await client.call_tool("generate_media", {"prompt": "x", "model": "gemini-3-pro-image", "size": "512"})
        aspect = await client.call_tool(
            "generate_media", {"prompt": "x", "model": "gemini-3-pro-image", "aspect_ratio": "1:8"}
        )
        quality = await client.call_tool("generate_media", {"prompt": "x", "backend": "google", "quality": "high"})
        mask = await client.call_tool("generate_media", {"prompt": "x", "mask": str(out_dir / "m.png")})
    assert "size='512' is not accepted by gemini-3-pro-image (accepted: 1K, 2K, 4K)" in size.content[0].text
    assert "accepted: 1:1, 2:3" in aspect.content[0].text
    assert "takes no quality" in quality.content[0].text
    assert mask.is_error and "mask" in mask.content[0].text
    assert not fake.of("google")


@pytest.mark.parametrize(
    "model", ["imagen-4.0-generate-001", "imagen-4.0-ultra-generate-001", "imagen-4.0-fast-generate-001"]
)
async def test_a_retired_imagen_model_is_refused_naming_nano_banana_2_1(make_server, fake, model):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "a glass bird", "model": model})
    text = result.content[0].text
    assert result.is_error and result.structured_content["error"]["code"] == "invalid_request"
    assert f"google/{model} was retired on 2026-08-17" in text and "replacement: google/gemini-nano-banana-2.1" in text
    assert "\n" not in text
    assert not fake.of("google")


async def test_auto_picks_nano_banana_2_1_and_never_a_retired_model(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "four frogs", "n": 4, "aspect_ratio": "9:16"})
    assert result.structured_content["model"] == "gemini-nano-banana-2.1"
    assert {r.path_params["model"] for r in fake.of("google", GENERATE)} == {"gemini-nano-banana-2.1"}


async def test_nano_banana_2_1_has_no_512_tier_and_says_so_before_any_call(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "x", "backend": "google", "model": "gemini-nano-banana-2.1", "size": "512"}
        )
    assert result.is_error and "accepted: 1K, 2K, 4K" in result.content[0].text
    assert not fake.of("google")


async def test_a_long_edit_chain_re_sends_only_the_recent_exchanges(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "turn 0"})
        for turn in range(1, 9):
            cid = result.structured_content["items"][0]["continuation_id"]
            result = await client.call_tool("generate_media", {"prompt": f"turn {turn}", "continue_from": cid})
            assert not result.is_error, result.content
    last = fake.of("google", GENERATE)[-1].json["contents"]
    assert len(last) == 2 * 6 + 1
    assert last[0]["parts"] == [{"text": "turn 2"}] and last[-1]["parts"] == [{"text": "turn 8"}]


async def test_an_inline_input_image_is_sent_now_and_flagged_as_not_kept_for_later_edits(make_server, fake):
    uri = "data:image/png;base64," + base64.b64encode(media.png(12, 12)).decode()
    async with Client(make_server("GEMINI_API_KEY")) as client:
        first = await client.call_tool("generate_media", {"prompt": "restyle", "input_images": [uri]})
        item = first.structured_content["items"][0]
        second = await client.call_tool("generate_media", {"prompt": "again", "continue_from": item["continuation_id"]})
    assert not second.is_error, second.content
    assert any("data URI" in w for w in item["warnings"])
    first_req, second_req = fake.of("google", GENERATE)
    assert len(first_req.json["contents"][0]["parts"]) == 2  # text + the inline image
    assert second_req.json["contents"][0]["parts"] == [{"text": "restyle"}]
