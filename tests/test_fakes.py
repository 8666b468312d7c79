"""The loopback fakes stay strict: a request shape the provider does not accept is refused.

The fakes validate bodies against the providers' request schemas kept in the repository
(``tests/fakes/schemas/``), so these tests also prove that a clone validates with nothing beside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import FakeServer
from tests.fakes.openapi import SCHEMAS

REPO = Path(__file__).resolve().parents[1]
OPENAI = "/openai/v1"
ELEVEN = "/elevenlabs/v1"


@pytest.fixture
def raw(fake_server: FakeServer) -> Iterator[tuple[httpx.Client, FakeServer]]:
    """The fake without the ``fake`` fixture's check: these tests send invalid requests on purpose."""
    fake_server.reset()
    with httpx.Client(base_url=fake_server.url, timeout=10) as client:
        yield client, fake_server
    fake_server.reset()


def _refused(fake: FakeServer, response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 400, response.text
    assert "schema validation" in response.json()["error"]["message"]
    assert len(fake.validation_errors) == 1
    assert fragment in fake.validation_errors[0], fake.validation_errors


OPENAI_AUTH = {"Authorization": "Bearer test"}
ELEVEN_AUTH = {"xi-api-key": "test-key-elevenlabs-x"}


def test_the_openai_fake_accepts_the_shape_openai_documents(raw: tuple[httpx.Client, FakeServer]) -> None:
    client, fake = raw
    body = {"model": "gpt-image-2", "prompt": "a fox", "size": "1024x1024", "n": 1, "output_format": "png"}
    response = client.post(f"{OPENAI}/images/generations", json=body, headers=OPENAI_AUTH)
    assert response.status_code == 200, response.text
    assert fake.validation_errors == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"model": "gpt-image-2", "prompt": "a fox", "colour": "red"}, "'colour' was unexpected"),
        ({"model": "gpt-image-2"}, "'prompt' is a required property"),
        ({"model": "gpt-image-2", "prompt": "a fox", "n": "two"}, "n:"),
        ({"model": "gpt-image-2", "prompt": "a fox", "background": "striped"}, "background:"),
    ],
    ids=["unknown field", "missing required field", "wrong type", "value outside the enum"],
)
def test_the_openai_fake_refuses_a_json_body_openai_would_reject(
    raw: tuple[httpx.Client, FakeServer], body: dict[str, Any], fragment: str
) -> None:
    client, fake = raw
    _refused(fake, client.post(f"{OPENAI}/images/generations", json=body, headers=OPENAI_AUTH), fragment)


def test_the_openai_fake_refuses_a_multipart_field_openai_does_not_define(
    raw: tuple[httpx.Client, FakeServer],
) -> None:
    client, fake = raw
    files = {"image[]": ("in.png", b"\x89PNG\r\n\x1a\n", "image/png")}
    data = {"prompt": "make it blue", "model": "gpt-image-2", "strength": "0.5"}
    response = client.post(f"{OPENAI}/images/edits", data=data, files=files, headers=OPENAI_AUTH)
    _refused(fake, response, "['strength']")


def test_the_openai_fake_refuses_a_speech_body_without_its_voice(raw: tuple[httpx.Client, FakeServer]) -> None:
    client, fake = raw
    body = {"model": "gpt-4o-mini-tts", "input": "hello"}
    _refused(fake, client.post(f"{OPENAI}/audio/speech", json=body, headers=OPENAI_AUTH), "'voice'")


def test_the_elevenlabs_fake_refuses_bodies_elevenlabs_would_reject(raw: tuple[httpx.Client, FakeServer]) -> None:
    client, fake = raw
    url = f"{ELEVEN}/text-to-speech/21m00Tcm4TlvDq8ikWAM"
    ok = client.post(url, json={"text": "hello", "model_id": "eleven_multilingual_v2"}, headers=ELEVEN_AUTH)
    assert ok.status_code == 200, ok.text
    _refused(fake, client.post(url, json={"text": "hello", "speed": 1.2}, headers=ELEVEN_AUTH), "'speed'")
    fake.validation_errors.clear()
    _refused(fake, client.post(url, json={"model_id": "eleven_v3"}, headers=ELEVEN_AUTH), "'text'")
    fake.validation_errors.clear()
    files = {"audio": ("in.mp3", b"ID3", "audio/mpeg")}
    response = client.post(f"{ELEVEN}/audio-isolation", data={"pitch": "up"}, files=files, headers=ELEVEN_AUTH)
    _refused(fake, response, "['pitch']")


def test_the_request_schemas_live_in_the_repo_and_name_their_source() -> None:
    assert SCHEMAS.is_relative_to(REPO)
    files = sorted(SCHEMAS.glob("*-requests.json"))
    assert {f.name for f in files} == {"openai-requests.json", "elevenlabs-requests.json"}
    for path in files:
        document = json.loads(path.read_text())
        source = document["x-source"]
        assert source["document"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", source["as_of"]), path
        assert document["paths"], path
