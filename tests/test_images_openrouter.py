"""OpenRouter images (chat completions with image output) through an MCP client against the fake."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from mcp import Client
from PIL import Image

from tests.conftest import KEYS
from tests.fakes import media


def _image_parts(rec) -> list[bytes]:
    parts = rec.json["messages"][0]["content"]
    return [base64.b64decode(p["image_url"]["url"].partition(",")[2]) for p in parts if p["type"] == "image_url"]


async def test_a_prompt_is_a_chat_completion_with_image_modalities_and_image_config(make_server, fake, out_dir, mode):
    async with Client(make_server("OPENROUTER_API_KEY"), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "a paper boat", "aspect_ratio": "16:9", "size": "2K"}
        )
    assert not result.is_error, result.content
    sent = fake.of("openrouter", "/chat/completions")[-1]
    assert sent.headers["authorization"] == f"Bearer {KEYS['OPENROUTER_API_KEY']}"
    assert sent.json["model"] == "google/gemini-nano-banana-2.1"
    assert sent.json["messages"] == [{"role": "user", "content": [{"type": "text", "text": "a paper boat"}]}]
    assert sent.json["modalities"] == ["image", "text"]
    assert sent.json["image_config"] == {"aspect_ratio": "16:9", "image_size": "2K"}
    data = result.structured_content
    assert data["backend"] == "openrouter" and data["model"] == "google/gemini-nano-banana-2.1"
    item = data["items"][0]
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".png" and (item["width"], item["height"]) == (64, 36)
    assert item["continuation_id"].startswith("openrouter_img_")
    assert item["metadata"]["text"] == "Here is your image."
    with Image.open(path) as img:
        img.verify()


async def test_input_images_are_image_url_parts_after_the_text(make_server, fake, out_dir):
    src = out_dir / "cat.jpg"
    src.write_bytes(media.image(32, 32, "JPEG"))
    async with Client(make_server("OPENROUTER_API_KEY")) as client:
        result = await client.call_tool(
            "generate_media",
            {"prompt": "make it a watercolor", "input_images": [str(src)], "model": "black-forest-labs/flux.2-pro"},
        )
    assert not result.is_error, result.content
    sent = fake.of("openrouter", "/chat/completions")[-1]
    parts = sent.json["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "make it a watercolor"}
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert _image_parts(sent) == [src.read_bytes()]
    assert sent.json["modalities"] == ["image"]  # image-only model
    assert "image_config" not in sent.json


async def test_continuing_sends_the_stored_image_back_and_branches(make_server, fake):
    async with Client(make_server("OPENROUTER_API_KEY"), mode="legacy") as client:
        first = await client.call_tool("generate_media", {"prompt": "a teapot", "model": "google/gemini-3-pro-image"})
        item = first.structured_content["items"][0]
        cid = item["continuation_id"]
        stored = Path(item["path"]).read_bytes()
        a = await client.call_tool("generate_media", {"prompt": "make it gold", "continue_from": cid})
        b = await client.call_tool("generate_media", {"prompt": "make it glass", "continue_from": cid})
    assert not a.is_error and not b.is_error
    _, *edits = fake.of("openrouter", "/chat/completions")
    assert [e.json["messages"][0]["content"][0]["text"] for e in edits] == ["make it gold", "make it glass"]
    assert all(e.json["model"] == "google/gemini-3-pro-image" for e in edits)
    assert all(_image_parts(e) == [stored] for e in edits)
    ids = {r.structured_content["items"][0]["continuation_id"] for r in (a, b)}
    assert len(ids) == 2 and item["continuation_id"] not in ids


async def test_an_openrouter_id_continues_there_although_others_rank_higher(make_server, fake):
    async with Client(make_server("OPENROUTER_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")) as client:
        first = await client.call_tool("generate_media", {"prompt": "a cup", "backend": "openrouter"})
        cid = first.structured_content["items"][0]["continuation_id"]
        more = await client.call_tool("generate_media", {"prompt": "a saucer too", "continue_from": cid})
    assert more.structured_content["backend"] == "openrouter"
    assert more.structured_content["model"] == "google/gemini-nano-banana-2.1"
    assert not fake.of("openai") and not fake.of("google")


async def test_moderation_is_a_safety_block_listing_openrouters_reasons(make_server, fake, out_dir, mode):
    async with Client(make_server("OPENROUTER_API_KEY"), mode=mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "moderation-block this"})
    assert result.is_error and result.structured_content["error"]["code"] == "safety_blocked"
    text = result.content[0].text
    assert "violence, harassment" in text and "flagged by the moderation model" in text and "\n" not in text
    assert list(out_dir.iterdir()) == []


async def test_no_credits_is_a_quota_error_and_a_text_answer_quotes_the_model(make_server, fake):
    async with Client(make_server("OPENROUTER_API_KEY")) as client:
        broke = await client.call_tool("generate_media", {"prompt": "no-credits left"})
        chatty = await client.call_tool("generate_media", {"prompt": "just-text please"})
        in_band = await client.call_tool("generate_media", {"prompt": "in-band-error now"})
    assert broke.structured_content["error"]["code"] == "quota" and "Insufficient credits" in broke.content[0].text
    assert chatty.structured_content["error"]["code"] == "provider_error"
    assert "I can describe it, but I cannot draw that." in chatty.content[0].text
    assert len(fake.of("openrouter", "/chat/completions")) >= 3
    assert in_band.is_error and "invalid response" in in_band.content[0].text


async def test_a_url_image_is_downloaded_at_once(make_server, fake):
    fake.state["openrouter_url"] = True
    async with Client(make_server("OPENROUTER_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "by url"})
    assert not result.is_error, result.content
    assert len(fake.of("openrouter", "/_files/")) == 1
    assert Path(result.structured_content["items"][0]["path"]).suffix == ".png"


async def test_a_model_rejects_what_it_does_not_take_listing_the_accepted_values(make_server, fake, out_dir):
    (out_dir / "m.png").write_bytes(media.png(8, 8))
    async with Client(make_server("OPENROUTER_API_KEY")) as client:
        gpt = await client.call_tool(
            "generate_media", {"prompt": "x", "model": "openai/gpt-image-2", "aspect_ratio": "16:9"}
        )
        pro = await client.call_tool(
            "generate_media", {"prompt": "x", "model": "google/gemini-3-pro-image", "size": "0.5K"}
        )
        mask = await client.call_tool(
            "generate_media", {"prompt": "x", "backend": "openrouter", "mask": str(out_dir / "m.png")}
        )
    assert "openai/gpt-image-2 takes no aspect_ratio" in gpt.content[0].text
    assert "accepted: 1K, 2K, 4K" in pro.content[0].text
    assert mask.is_error and "does not support inpainting masks" in mask.content[0].text
    assert not fake.of("openrouter")


async def test_data_urls_are_read_whatever_the_answers_json_layout(make_server, fake, out_dir):
    """The data URLs are cut out of the answer before it is parsed (LiftedJSON): a large one, one
    with escaped slashes (valid JSON, parsed as usual), a WebP and a PNG in one message, and a body
    where the decoy text ``"url": "data:..."`` sits inside the model's reply, give the same files."""
    png, webp = media.noisy_png(64, 48), media.image(40, 40, "WEBP")
    png_url = "data:image/png;base64," + base64.b64encode(png).decode()
    webp_url = "data:image/webp;base64," + base64.b64encode(webp).decode()

    def answer(*urls: str, text: str = "here") -> bytes:
        images = [{"type": "image_url", "image_url": {"url": url}} for url in urls]
        message = {"role": "assistant", "content": text, "images": images}
        choice = {"index": 0, "finish_reason": "stop", "message": message}
        body = {"id": "gen-1", "object": "chat.completion", "created": 1, "model": "m", "choices": [choice]}
        return json.dumps(body, indent=1).encode()

    bodies = {
        "two images": answer(png_url, webp_url),
        "escaped slashes": answer(png_url, webp_url).replace(b"/", b"\\/"),  # JSON's optional escape
        "decoy in the text": answer(png_url, webp_url, text='{"url": "data:image/png;base64,AAAA"}'),
    }
    async with Client(make_server("OPENROUTER_API_KEY")) as client:
        for name, body in bodies.items():
            fake.inject("^openrouter:POST", raw=body)
            result = await client.call_tool("generate_media", {"prompt": name})
            assert not result.is_error, (name, result.content)
            items = result.structured_content["items"]
            assert [Path(i["path"]).read_bytes() for i in items] == [png, webp], name
            assert [i["mime_type"] for i in items] == ["image/png", "image/webp"], name
    assert len(list(out_dir.iterdir())) == 6
