"""OpenAI images end to end through an MCP client against the loopback fake."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import Implementation
from PIL import Image

from tests.conftest import KEYS
from tests.fakes import media


async def test_a_prompt_becomes_a_png_file_with_result_link_and_preview(make_server, fake, out_dir, mode):
    server = make_server("OPENAI_API_KEY")
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "a red fox at dawn", "aspect_ratio": "3:2"})
    assert not result.is_error, result.content
    sent = fake.of("openai", "/images/generations")[-1]
    assert sent.json["model"] == "gpt-image-2.6-flare"
    assert sent.json["prompt"] == "a red fox at dawn"
    assert sent.json["size"] == "1536x1024"
    assert sent.headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"

    data = result.structured_content
    assert data["status"] == "completed" and data["backend"] == "openai" and data["model"] == "gpt-image-2.6-flare"
    item = data["items"][0]
    path = Path(item["path"])
    assert path.parent == out_dir.resolve() and path.suffix == ".png" and path.name.startswith("a-red-fox-at-dawn_")
    assert item["mime_type"] == "image/png" and item["size_bytes"] == path.stat().st_size
    assert (item["width"], item["height"]) == (96, 64)
    assert item["continuation_id"].startswith("openai_img_")
    with Image.open(path) as img:
        img.verify()

    kinds = [block.type for block in result.content]
    assert kinds[0] == "text" and "resource_link" in kinds and "image" in kinds
    link = next(b for b in result.content if b.type == "resource_link")
    assert str(link.uri) == path.as_uri() and link.mime_type == "image/png"
    preview = next(b for b in result.content if b.type == "image")
    assert len(base64.b64decode(preview.data)) <= 48 * 1024
    # Never base64 in structured content (a random hex file name may hold the letters "b64").
    assert "b64_json" not in str(data) and "base64," not in str(data)


async def test_the_extension_follows_the_bytes_not_the_request(make_server, fake, out_dir):
    server = make_server("OPENAI_API_KEY")
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "jpeg please", "output_format": "jpeg"})
        assert fake.of("openai")[-1].json["output_format"] == "jpeg"
        assert result.structured_content["items"][0]["path"].endswith(".jpg")

        fake.state["openai_image_bytes"] = media.image(32, 32, "WEBP")  # the provider sends webp anyway
        result = await client.call_tool("generate_media", {"prompt": "png please", "output_format": "png"})
    item = result.structured_content["items"][0]
    assert item["path"].endswith(".webp") and item["mime_type"] == "image/webp"


async def test_several_outputs_per_prompt_get_numbered_files(make_server, fake):
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "two cats", "n": 2})
    items = result.structured_content["items"]
    assert fake.of("openai")[-1].json["n"] == 2
    assert len(items) == 2 and len({i["path"] for i in items}) == 2
    assert all(Path(i["path"]).exists() for i in items)


async def test_input_images_and_mask_are_sent_as_a_multipart_edit(make_server, fake, out_dir):
    src = out_dir / "photo.png"
    src.write_bytes(media.png(64, 64))
    mask = out_dir / "mask.png"
    mask.write_bytes(media.png(64, 64))
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool(
            "generate_media",
            {"prompt": "add a hat", "input_images": [str(src)], "mask": str(mask), "quality": "high"},
        )
    assert not result.is_error, result.content
    sent = fake.of("openai", "/images/edits")[-1]
    assert (
        sent.form["prompt"] == "add a hat"
        and sent.form["model"] == "gpt-image-2.6-flare"
        and sent.form["quality"] == "high"
    )
    assert sent.files("image")[0][1] == src.read_bytes()
    assert sent.files("mask")[0][1] == mask.read_bytes()


async def test_continuing_edits_the_stored_image_and_branches_independently(make_server, fake):
    async with Client(make_server("OPENAI_API_KEY"), mode="legacy") as client:
        first = await client.call_tool("generate_media", {"prompt": "a house"})
        cid = first.structured_content["items"][0]["continuation_id"]
        first_bytes = Path(first.structured_content["items"][0]["path"]).read_bytes()
        a = await client.call_tool("generate_media", {"prompt": "make it blue", "continue_from": cid})
        b = await client.call_tool("generate_media", {"prompt": "make it red", "continue_from": cid})
    edits = fake.of("openai", "/images/edits")
    assert [e.form["prompt"] for e in edits] == ["make it blue", "make it red"]
    assert all(e.files("image")[0][1] == first_bytes for e in edits)  # both branch from the same image
    ids = {a.structured_content["items"][0]["continuation_id"], b.structured_content["items"][0]["continuation_id"]}
    assert len(ids) == 2 and cid not in ids


async def test_a_continuation_id_is_unknown_to_another_client(make_server, fake):
    server = make_server("OPENAI_API_KEY")
    async with Client(server, mode="legacy") as one:
        first = await one.call_tool("generate_media", {"prompt": "a house"})
        cid = first.structured_content["items"][0]["continuation_id"]
    async with Client(server, mode="legacy") as other:
        stolen = await other.call_tool("generate_media", {"prompt": "x", "continue_from": cid})
        never = await other.call_tool("generate_media", {"prompt": "x", "continue_from": "openai_img_" + "0" * 32})
    assert stolen.is_error and never.is_error
    assert stolen.structured_content["error"]["code"] == "not_found"
    assert stolen.content[0].text.replace(cid, "ID") == never.content[0].text.replace("openai_img_" + "0" * 32, "ID")


async def test_preview_stays_under_budget_for_a_large_image(make_server, fake):
    fake.state["openai_image_bytes"] = media.noisy_png(1024, 1024)
    async with Client(make_server("OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "noise"})
    previews = [b for b in result.content if b.type == "image"]
    assert len(previews) == 1 and len(base64.b64decode(previews[0].data)) <= 48 * 1024
    with Image.open(io.BytesIO(base64.b64decode(previews[0].data))) as thumb:
        assert max(thumb.size) <= 256


async def test_without_a_preview_a_png_is_checked_by_its_crcs_and_a_flipped_byte_is_refused(make_server, fake, out_dir):
    """No preview: the PNG is verified chunk by chunk (CRCs, up to IEND) instead of decoded (bench/call_overhead.py)."""
    whole = media.noisy_png(64, 48)
    at = whole.index(b"IDAT") + 40  # inside the pixel data: only the chunk's CRC can tell
    flipped = whole[:at] + bytes([whole[at] ^ 0xFF]) + whole[at + 1 :]
    async with Client(make_server("OPENAI_API_KEY")) as client:
        fake.state["openai_image_bytes"] = whole
        plain = await client.call_tool("generate_media", {"prompt": "plain", "preview": False})
        fake.state["openai_image_bytes"] = flipped
        broken = await client.call_tool("generate_media", {"prompt": "flipped", "preview": False})
        fake.state["openai_image_bytes"] = whole[: len(whole) - 30]
        cut = await client.call_tool("generate_media", {"prompt": "cut", "preview": False})
    assert not plain.is_error, plain.content
    assert [b for b in plain.content if b.type == "image"] == []
    item = plain.structured_content["items"][0]
    assert (item["width"], item["height"]) == (64, 48) and Path(item["path"]).read_bytes() == whole
    for result in (broken, cut):
        assert result.is_error and result.structured_content["error"]["code"] == "bad_provider_response"
        assert "broken png image" in result.content[0].text
    assert [p.name for p in out_dir.iterdir()] == [Path(item["path"]).name]  # no partial or refused file


async def test_base64_with_line_breaks_is_decoded_and_junk_is_a_bad_provider_response(make_server, fake, out_dir):
    png = media.png(32, 32)
    wrapped = base64.encodebytes(png).decode()  # a line break every 76 characters: outside the strict alphabet
    assert "\n" in wrapped.strip()
    async with Client(make_server("OPENAI_API_KEY")) as client:
        fake.inject("^openai:POST", raw=json.dumps({"created": 1, "data": [{"b64_json": wrapped}]}).encode())
        ok = await client.call_tool("generate_media", {"prompt": "wrapped"})
        fake.inject("^openai:POST", raw=b'{"created": 1, "data": [{"b64_json": "not base64 at all!"}]}', times=5)
        junk = await client.call_tool("generate_media", {"prompt": "junk"})
    assert not ok.is_error, ok.content
    assert Path(ok.structured_content["items"][0]["path"]).read_bytes() == png
    assert junk.is_error and junk.structured_content["error"]["code"] == "bad_provider_response"
    assert len(list(out_dir.iterdir())) == 1


async def test_the_answer_is_read_whatever_its_json_layout(make_server, fake, out_dir):
    """The image data is cut out of the body before the rest is parsed (LiftedJSON); any layout of the
    same JSON must give the same files: spaces and line breaks, escaped slashes (valid JSON, not cut
    out), the key's text inside a prompt, and two images in either key order."""
    one, two = media.noisy_png(40, 30), media.noisy_png(30, 40)
    b1, b2 = base64.b64encode(one).decode(), base64.b64encode(two).decode()
    decoy = 'a "b64_json": "AAAA" sign, {"b64_json": "AAAA"}'
    bodies = {
        "pretty": json.dumps(
            {"created": 1, "data": [{"b64_json": b1}, {"revised_prompt": decoy, "b64_json": b2}]},
            indent=2,
            separators=(" ,\n", " :\n\t "),
        ).encode(),
        "escaped slashes": json.dumps({"data": [{"b64_json": b1}, {"b64_json": b2}]}).replace("/", "\\/").encode(),
        "decoy first": json.dumps({"data": [{"revised_prompt": decoy, "b64_json": b1}, {"b64_json": b2}]}).encode(),
    }
    async with Client(make_server("OPENAI_API_KEY")) as client:
        for name, body in bodies.items():
            assert b"\\/" in body or name != "escaped slashes"
            fake.inject("^openai:POST", raw=body)
            result = await client.call_tool("generate_media", {"prompt": name, "n": 2})
            assert not result.is_error, (name, result.content)
            items = result.structured_content["items"]
            assert [Path(i["path"]).read_bytes() for i in items] == [one, two], name
            assert [(i["width"], i["height"]) for i in items] == [(40, 30), (30, 40)]
    assert items[0]["revised_prompt"] == decoy or items[0].get("revised_prompt") is None
    assert len(list(out_dir.iterdir())) == 6


@pytest.mark.parametrize(
    ("client_name", "previewed"),
    [("codex-mcp-client", False), ("claude-code", True), ("gemini-cli-mcp-client", True), ("some-new-client", True)],
)
async def test_a_client_whose_model_sees_only_structured_content_gets_no_preview_unless_it_asks(
    make_server, fake, mode, client_name, previewed
):
    """Codex shows its model only structuredContent (reference/client-facts): a preview would be CPU
    and bytes for nothing, so it gets none by default; ``preview=true`` still gets one."""
    info = Implementation(name=client_name, version="1.0")
    async with Client(make_server("OPENAI_API_KEY"), mode=mode, client_info=info) as client:
        default = await client.call_tool("generate_media", {"prompt": "a fox"})
        asked = await client.call_tool("generate_media", {"prompt": "a fox", "preview": True})
    assert not default.is_error and not asked.is_error, (default.content, asked.content)
    assert any(block.type == "image" for block in default.content) is previewed
    assert any(block.type == "image" for block in asked.content)
    assert Path(default.structured_content["items"][0]["path"]).exists()
