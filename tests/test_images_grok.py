"""xAI Grok Imagine images end to end through an MCP client against the loopback xAI fake."""

from __future__ import annotations

import base64
from pathlib import Path

from mcp import Client
from PIL import Image

from tests.conftest import KEYS
from tests.fakes import media


def _data_uri_bytes(uri: str) -> bytes:
    assert uri.startswith("data:image/")
    return base64.b64decode(uri.partition(",")[2])


async def test_a_prompt_becomes_a_jpeg_with_aspect_ratio_and_resolution_on_the_wire(make_server, fake, out_dir, mode):
    async with Client(make_server("XAI_API_KEY"), mode=mode) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "a lighthouse in fog", "aspect_ratio": "16:9", "size": "2k", "n": 2}
        )
    assert not result.is_error, result.content
    sent = fake.of("xai", "/images/generations")[-1]
    assert sent.headers["authorization"] == f"Bearer {KEYS['XAI_API_KEY']}"
    assert sent.json == {
        "model": "grok-imagine-image",
        "prompt": "a lighthouse in fog",
        "n": 2,
        "response_format": "b64_json",
        "aspect_ratio": "16:9",
        "resolution": "2k",
    }
    data = result.structured_content
    assert data["backend"] == "grok" and data["model"] == "grok-imagine-image"
    assert len(data["items"]) == 2
    for item in data["items"]:
        path = Path(item["path"])
        assert path.parent == out_dir.resolve() and path.suffix == ".jpg" and item["mime_type"] == "image/jpeg"
        assert (item["width"], item["height"]) == (128, 72)
        assert item["continuation_id"].startswith("grok_img_")
        with Image.open(path) as img:
            img.verify()


async def test_input_images_go_to_the_json_edit_endpoint_as_data_uris(make_server, fake, out_dir):
    one = out_dir / "one.png"
    one.write_bytes(media.png(40, 40))
    two = out_dir / "two.webp"
    two.write_bytes(media.image(32, 32, "WEBP"))
    async with Client(make_server("XAI_API_KEY")) as client:
        single = await client.call_tool("generate_media", {"prompt": "add a hat", "input_images": [str(one)]})
        multi = await client.call_tool(
            "generate_media",
            {"prompt": "<IMAGE_0> wearing <IMAGE_1>", "input_images": [str(one), str(two)], "aspect_ratio": "1:1"},
        )
    assert not single.is_error and not multi.is_error, (single.content, multi.content)
    first, second = fake.of("xai", "/images/edits")
    assert first.headers["content-type"].startswith("application/json")
    assert first.json["image"]["type"] == "image_url"
    assert _data_uri_bytes(first.json["image"]["url"]) == one.read_bytes()
    assert "images" not in first.json and "aspect_ratio" not in first.json
    assert [_data_uri_bytes(i["url"]) for i in second.json["images"]] == [one.read_bytes(), two.read_bytes()]
    assert second.json["images"][1]["url"].startswith("data:image/webp;base64,")
    assert second.json["aspect_ratio"] == "1:1"


async def test_continuing_edits_the_stored_output_on_the_same_model_and_branches(make_server, fake):
    async with Client(make_server("XAI_API_KEY"), mode="legacy") as client:
        first = await client.call_tool("generate_media", {"prompt": "a barn", "model": "grok-imagine-image-2.0"})
        item = first.structured_content["items"][0]
        cid = item["continuation_id"]
        stored = Path(item["path"]).read_bytes()
        a = await client.call_tool(
            "generate_media", {"prompt": "paint it red", "continue_from": item["continuation_id"]}
        )
        b = await client.call_tool("generate_media", {"prompt": "add snow", "continue_from": cid})
    assert not a.is_error and not b.is_error
    edits = fake.of("xai", "/images/edits")
    assert [e.json["prompt"] for e in edits] == ["paint it red", "add snow"]
    assert all(e.json["model"] == "grok-imagine-image-2.0" for e in edits)
    assert all(_data_uri_bytes(e.json["image"]["url"]) == stored for e in edits)
    ids = {r.structured_content["items"][0]["continuation_id"] for r in (a, b)}
    assert len(ids) == 2 and item["continuation_id"] not in ids


async def test_a_grok_id_continues_on_grok_even_when_google_would_be_auto_selected(make_server, fake):
    async with Client(make_server("XAI_API_KEY", "GEMINI_API_KEY")) as client:
        first = await client.call_tool("generate_media", {"prompt": "a kite", "backend": "grok"})
        cid = first.structured_content["items"][0]["continuation_id"]
        more = await client.call_tool("generate_media", {"prompt": "two kites", "continue_from": cid})
    assert more.structured_content["backend"] == "grok"
    assert len(fake.of("xai", "/images/edits")) == 1 and not fake.of("google")


async def test_a_url_answer_is_downloaded_at_once(make_server, fake):
    fake.state["xai_url"] = True
    async with Client(make_server("XAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "a url please"})
    assert not result.is_error, result.content
    downloads = [r for r in fake.of("xai", "/_files/") if r.method == "GET"]
    assert len(downloads) == 1
    assert (
        Path(result.structured_content["items"][0]["path"]).read_bytes()
        == fake.state["xai_files"][downloads[0].path_params["name"]]
    )


async def test_moderation_is_a_safety_block_quoting_xai(make_server, fake, out_dir, mode):
    async with Client(make_server("XAI_API_KEY"), mode=mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "something moderated"})
    assert result.is_error
    assert result.structured_content["error"]["code"] == "safety_blocked"
    text = result.content[0].text
    assert "rejected by content moderation" in text and "\n" not in text
    assert list(out_dir.iterdir()) == []


async def test_unsupported_values_are_rejected_with_the_accepted_ones_before_any_request(make_server, fake):
    async with Client(make_server("XAI_API_KEY")) as client:
        size = await client.call_tool("generate_media", {"prompt": "x", "size": "1024x1024"})
        quality = await client.call_tool("generate_media", {"prompt": "x", "quality": "high", "backend": "grok"})
        many = await client.call_tool("generate_media", {"prompt": "x", "n": 11})
    assert "accepted: 1k, 2k" in size.content[0].text
    assert "takes no quality" in quality.content[0].text
    assert "maximum of 10" in many.content[0].text
    assert not fake.of("xai")


async def test_a_single_image_edit_refuses_an_aspect_ratio_it_cannot_honour(make_server, fake, out_dir):
    src = out_dir / "src.png"
    src.write_bytes(media.png(16, 16))
    async with Client(make_server("XAI_API_KEY")) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "wider", "input_images": [str(src)], "aspect_ratio": "16:9"}
        )
    assert result.is_error and "keeps the input image's aspect ratio" in result.content[0].text
    assert not fake.of("xai")


async def test_continuing_with_too_many_extra_images_names_the_limit(make_server, fake, out_dir):
    paths = []
    for i in range(3):
        path = out_dir / f"in{i}.png"
        path.write_bytes(media.png(16, 16))
        paths.append(str(path))
    async with Client(make_server("XAI_API_KEY")) as client:
        first = await client.call_tool("generate_media", {"prompt": "base"})
        cid = first.structured_content["items"][0]["continuation_id"]
        result = await client.call_tool(
            "generate_media", {"prompt": "combine", "continue_from": cid, "input_images": paths}
        )
    assert result.is_error and "at most 2 input_images with continue_from" in result.content[0].text
    assert not fake.of("xai", "/images/edits")
