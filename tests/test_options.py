"""Backends declare their own request options (issue 17): a throwaway backend package under tests/
adds an option with no edit anywhere else, every declared option reaches the provider's request,
and no module outside ``backends/`` names a provider."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from generate_media.docs import tool_markdown
from generate_media.registry import Registry, load_registry
from generate_media.server.app import create_server
from generate_media.service import MediaService
from tests.assertions import one_line_error, only_item
from tests.extra_backends import echo

ECHO_KEY = "test-key-echo-Z8aS3dF5"


def _with_extra() -> Registry:
    """The real backends plus the test-only ones, each package through ``load_registry``'s checks."""
    real, extra = load_registry(), load_registry("tests.extra_backends")
    return Registry(specs={**real.specs, **extra.specs}, modules={**real.modules, **extra.modules})


@pytest.fixture
def echo_server(make_settings):
    async def no_sleep(_: float) -> None:
        return None

    echo.RECEIVED.clear()
    settings = make_settings(env={"ECHO_API_KEY": ECHO_KEY})
    return create_server(settings, service=MediaService(settings, registry=_with_extra(), retry_sleep=no_sleep))


async def _call(server: Any, **arguments: Any) -> Any:
    async with Client(server) as client:
        return await client.call_tool("generate_media", {"prompt": "a lake", "backend": "echo", **arguments})


async def test_a_backend_package_added_under_tests_brings_its_option_to_the_schema(echo_server):
    async with Client(echo_server) as client:
        (tool,) = (await client.list_tools()).tools
    props = tool.input_schema["properties"]
    assert props["shimmer"] == {
        "type": "number",
        "description": "Echo: how much the picture shimmers.",
        "minimum": 0,
        "maximum": 2,
    }
    assert props["glaze"]["enum"] == ["matte", "gloss"]
    assert "echo" in props["backend"]["enum"]


async def test_the_option_reaches_the_backend_that_declared_it(echo_server, out_dir):
    item = only_item(await _call(echo_server, shimmer=1.25, glaze="gloss"))
    assert echo.RECEIVED == [("echo-1", 1.25, "gloss")]
    assert item["path"].startswith(str(out_dir)) and item["path"].endswith(".png")


@pytest.mark.parametrize(
    ("arguments", "needles"),
    [
        ({"shimmer": 2.5}, ["shimmer=2.5 is out of range for media_type='image'; use 0 to 2"]),
        ({"glaze": "satin"}, ["glaze='satin' is not known", "use one of: matte, gloss"]),
        ({"shimmer": "lots"}, ["shimmer:"]),
        ({"model": "echo-plain", "shimmer": 1.0}, ["echo-plain does not support shimmer"]),
        ({"media_type": "audio", "shimmer": 1.0, "backend": "auto"}, ["no audio model takes shimmer; remove it"]),
    ],
)
async def test_a_bad_value_is_refused_before_the_backend_runs(arguments, needles, echo_server, out_dir):
    one_line_error(await _call(echo_server, **arguments), "Error (invalid_request):", *needles)
    assert echo.RECEIVED == [] and list(out_dir.iterdir()) == []


def test_tool_md_lists_the_option_with_who_takes_it_and_its_range():
    text = tool_markdown(_with_extra())
    (row,) = [line for line in text.splitlines() if line.startswith("| `shimmer` |")]
    assert "Echo: how much the picture shimmers." in row and "echo image (0 to 2)" in row


def test_without_the_package_the_option_does_not_exist():
    real = load_registry()
    assert "shimmer" not in real.options() and "shimmer" not in real.request_type.model_fields
