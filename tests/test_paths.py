"""Paths the client names are plain folders, and stay where they were checked: output_dir values
that are URIs or look-alike characters are refused, and a directory swapped for a symlink between
the check and the write (or read) cannot send a file outside or read one from outside."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest
from mcp import Client

from tests.assertions import one_line_error
from tests.fakes import media

OPENAI = "OPENAI_API_KEY"


@pytest.mark.parametrize(
    ("output_dir", "needle"),
    [
        ("file:///tmp/escape", "is a URI"),
        ("file:renders", "is a URI"),
        ("data:text/plain,x", "is a URI"),
        ("notes:2024", None),  # a plain folder name with a colon is a folder, not a URI
        ("https://example.com/x", "is a URI"),
        ("\uff0e\uff0e\uff0fescape", "look-alike of '.'"),  # full-width "../"
        ("renders\uff0fsub", "look-alike of '/'"),
        ("renders\u2024png", "look-alike of '.'"),  # one dot leader
        ("rend\u202eers", "invisible character U+202E"),  # right-to-left override
        ("rend\x07ers", "control or invisible character U+0007"),
        ("..\\escape", "is a Windows path"),  # a backslash is a folder-name character here
        ("C:\\Users\\me", "is a Windows path"),
        ("C:/Users/me", "is a Windows path"),
        ("sub%2f..%2f..%2fescape", "percent-encoded"),
        ("%2E%2E", "percent-encoded"),
        ("50% done", None),  # a percent sign alone is a plain character
    ],
)
async def test_output_dir_must_be_a_plain_path(make_server, fake, out_dir, output_dir, needle):
    async with Client(make_server(OPENAI)) as client:
        result = await client.call_tool("generate_media", {"prompt": "a fox", "output_dir": output_dir})
    if needle is None:
        assert not result.is_error, result.content
        return
    one_line_error(result, needle, "output_dir")
    assert result.structured_content["error"]["code"] == "invalid_request"
    assert list(out_dir.iterdir()) == [] and fake.of("openai") == []


@contextlib.contextmanager
def hook(fake, action) -> Iterator[None]:
    """Run ``action`` inside the fake provider when it receives the request: after our server has
    checked its paths, before it writes the result."""

    def on_request(rec) -> None:
        action()

    fake.validators.append(on_request)
    try:
        yield
    finally:
        fake.validators.remove(on_request)


async def test_an_output_dir_swapped_for_a_symlink_mid_call_gets_no_file_outside(make_server, fake, out_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (out_dir / "renders").mkdir()
    swapped: list[bool] = []

    def swap() -> None:  # the directory becomes a symlink to a folder outside while the call runs
        if not swapped:
            os.rename(out_dir / "renders", out_dir / "parked")
            os.symlink(outside, out_dir / "renders")
            swapped.append(True)

    with hook(fake, swap):
        async with Client(make_server(OPENAI)) as client:
            result = await client.call_tool("generate_media", {"prompt": "a fox", "output_dir": "renders"})
    assert swapped and list(outside.iterdir()) == []
    one_line_error(result, "symlink")
    assert result.structured_content["error"]["code"] == "access_denied"
    assert list((out_dir / "parked").iterdir()) == []  # and nothing half-written where it was


async def test_a_parent_swapped_for_a_symlink_mid_call_gets_no_file_outside(make_server, fake, out_dir, tmp_path):
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (out_dir / "a" / "deep").mkdir(parents=True)

    def swap() -> None:
        if not (out_dir / "a").is_symlink():
            os.rename(out_dir / "a", out_dir / "parked")
            os.symlink(outside, out_dir / "a")

    with hook(fake, swap):
        async with Client(make_server(OPENAI)) as client:
            result = await client.call_tool("generate_media", {"prompt": "a fox", "output_dir": "a/deep"})
    assert result.is_error and list((outside / "deep").iterdir()) == []


async def test_an_input_folder_swapped_for_a_symlink_never_sends_outside_bytes(make_server, fake, out_dir, tmp_path):
    """A thread swaps the input's parent folder for a symlink to a folder outside, again and again,
    while the client keeps sending the same input: the outside file's bytes never reach the provider."""
    secret = media.png(33, 33)
    mine = media.png(64, 64)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pic.png").write_bytes(secret)
    inputs = out_dir / "inputs"
    inputs.mkdir()
    (inputs / "pic.png").write_bytes(mine)
    link = out_dir / "inputs-link"
    os.symlink(outside, link)
    parked = out_dir / "inputs-parked"
    stop = threading.Event()

    def racer() -> None:
        while not stop.is_set():  # bounded by the calls below
            os.rename(inputs, parked)
            os.rename(link, inputs)  # now a symlink to outside
            os.rename(inputs, link)
            os.rename(parked, inputs)
        assert inputs.is_dir() and not inputs.is_symlink()

    thread = threading.Thread(target=racer, daemon=True)
    sent = refused = 0
    async with Client(make_server(OPENAI)) as client:
        thread.start()
        try:
            for _ in range(150):
                result = await client.call_tool(
                    "generate_media", {"prompt": "edit", "input_images": [str(inputs / "pic.png")], "preview": False}
                )
                if result.is_error:
                    refused += 1
                else:
                    sent += 1
        finally:
            stop.set()
            thread.join(timeout=10)
    uploads = [
        file[1] for rec in fake.of("openai", "/images/edits") for file in rec.files("image[]") + rec.files("image")
    ]
    assert secret not in uploads, f"an outside file was uploaded ({sent} sent, {refused} refused)"
    assert sent + refused == 150 and uploads
