"""Gemini image Google Search grounding, an opt-in option, through an MCP client against the fake."""

from __future__ import annotations

from pathlib import Path

from mcp import Client
from PIL import Image

GENERATE = ":generateContent"


async def test_grounding_sends_the_google_search_tool_and_returns_the_sources(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool(
            "generate_media", {"prompt": "today's weather in Lisbon as a poster", "search_grounding": True}
        )
    assert not result.is_error, result.content
    [sent] = fake.of("google", GENERATE)
    assert sent.path.endswith("/models/gemini-nano-banana-2.1:generateContent")
    assert sent.json["tools"] == [{"googleSearch": {}}]
    assert sent.json["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    item = result.structured_content["items"][0]
    assert item["metadata"]["grounding"] == {
        "queries": ["today's weather in Lisbon as a poster"],
        "sources": [
            {"title": "example.com", "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/abc"}
        ],
    }
    with Image.open(Path(item["path"])) as img:
        img.verify()


async def test_without_the_option_no_tool_is_sent(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "a lighthouse"})
    assert not result.is_error, result.content
    assert "tools" not in fake.of("google", GENERATE)[0].json
    assert "grounding" not in result.structured_content["items"][0]["metadata"]


async def test_a_model_without_grounding_refuses_it_before_the_call(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY", "OPENAI_API_KEY")) as client:
        lite = await client.call_tool(
            "generate_media",
            {"prompt": "x", "search_grounding": True, "model": "gemini-3.1-flash-lite-image"},
        )
        other = await client.call_tool("generate_media", {"prompt": "x", "search_grounding": True, "backend": "openai"})
    for result in (lite, other):
        text = result.content[0].text
        assert result.is_error and "\n" not in text and "search_grounding" in text, text
    assert fake.requests == []


async def test_auto_picks_a_backend_that_grounds(make_server, fake):
    async with Client(make_server("GEMINI_API_KEY", "OPENAI_API_KEY")) as client:
        result = await client.call_tool("generate_media", {"prompt": "x", "search_grounding": True})
    assert not result.is_error, result.content
    assert result.structured_content["backend"] == "google" and fake.of("openai") == []
