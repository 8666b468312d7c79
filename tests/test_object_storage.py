"""Outputs in an S3-compatible bucket (GENERATE_MEDIA_STORAGE_URL) against a real server: SeaweedFS
started by the session fixture ``s3``. Objects are read back with an independent S3 client; signed
links are downloaded over plain HTTP, as a remote client would."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import obstore
import pytest
from mcp import Client

from generate_media.config import Settings
from generate_media.errors import Redactor, StorageError
from generate_media.registry import load_registry
from generate_media.storage import PART_BYTES, S3Storage, StorageConfigError, open_storage
from tests.s3server import READER
from tests.test_http import ALICE, TOKENS, connect, serving

OA = "OPENAI_API_KEY"


def _prefix() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def _keys(s3: Any, prefix: str) -> list[str]:
    return sorted(meta["path"] for batch in obstore.list(s3.store(prefix)) for meta in batch)


def _object(s3: Any, prefix: str, key: str) -> bytes:
    return bytes(obstore.get(s3.store(prefix), key).bytes())


async def test_an_image_over_http_lands_in_the_bucket_and_its_signed_link_downloads_the_same_bytes(
    make_settings, fake, out_dir, s3, mode
):
    prefix = _prefix()
    settings = make_settings(OA, env={**TOKENS, **s3.env(prefix)})
    async with serving(settings) as url, connect(url, ALICE, mode) as client:
        result = await client.call_tool("generate_media", {"prompt": "a fox in a bucket"})
    assert not result.is_error, result.content
    item = result.structured_content["items"][0]
    local = Path(item["path"])
    key = local.relative_to(out_dir).as_posix()
    assert key.startswith("clients/alice/")  # the per-client folder is the object's folder too
    assert item["uri"] == f"s3://media/{prefix}/{key}"
    assert _keys(s3, prefix) == [key]
    assert _object(s3, prefix, key) == local.read_bytes()
    assert fake.of("openai", "/images/generations")[-1].json["prompt"] == "a fox in a bucket"

    link = next(b for b in result.content if b.type == "resource_link")
    assert str(link.uri) == item["resource_uri"]
    signed = urlsplit(str(link.uri))
    assert signed.scheme == "http" and signed.path == f"/media/{prefix}/{key}"
    query = parse_qs(signed.query)
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    assert s3.env()["AWS_SECRET_ACCESS_KEY"] not in str(result.model_dump())
    download = httpx.get(str(link.uri))
    assert download.status_code == 200 and download.content == local.read_bytes()
    tampered = str(link.uri).replace(key, key.replace("alice", "bob"))
    assert httpx.get(tampered).status_code == 403  # a link opens its own object only


async def test_stdio_clients_keep_file_links_and_the_file_is_in_the_bucket(make_server, out_dir, s3):
    prefix = _prefix()
    async with Client(make_server(OA, env=s3.env(prefix))) as client:
        result = await client.call_tool("generate_media", {"prompt": "a local heron", "filename": "heron"})
    assert not result.is_error, result.content
    item = result.structured_content["items"][0]
    assert Path(item["path"]) == out_dir / "heron.png"
    assert item["uri"] == f"s3://media/{prefix}/heron.png"
    link = next(b for b in result.content if b.type == "resource_link")
    assert str(link.uri) == (out_dir / "heron.png").as_uri()
    assert _object(s3, prefix, "heron.png") == (out_dir / "heron.png").read_bytes()


async def test_a_failed_upload_leaves_no_object_no_file_and_one_line_naming_the_fix(make_server, out_dir, s3):
    prefix = _prefix()
    env = s3.env(prefix, credentials=READER)  # may read, may not write: the store answers 403
    server = make_server(OA, env=env)
    async with Client(server) as client:
        result = await client.call_tool("generate_media", {"prompt": "a refused upload", "n": 2})
        again = await client.call_tool("generate_media", {"prompt": "still healthy"})
    assert result.is_error
    text = result.content[0].text
    assert "\n" not in text and text.startswith("Error (storage_error): could not upload")
    assert f"s3://media/{prefix}" in text and "AWS_ENDPOINT_URL" in text
    assert READER[1] not in text
    assert result.structured_content["error"]["code"] == "storage_error"
    assert _keys(s3, prefix) == []
    assert sorted(p.name for p in out_dir.rglob("*") if p.is_file()) == []  # no local file either
    assert again.is_error and "could not upload" in again.content[0].text  # served, and still says why


async def test_a_name_already_in_the_bucket_is_never_overwritten(make_server, out_dir, s3):
    """Another replica wrote this name: the local no-clobber check cannot see it, the bucket refuses."""
    prefix = _prefix()
    obstore.put(s3.store(prefix), "taken.png", b"another replica's file")
    async with Client(make_server(OA, env=s3.env(prefix))) as client:
        result = await client.call_tool("generate_media", {"prompt": "a clash", "filename": "taken"})
    assert result.is_error and "already exists in the bucket; choose another filename" in result.content[0].text
    assert _object(s3, prefix, "taken.png") == b"another replica's file"
    assert not (out_dir / "taken.png").exists()


async def test_large_files_go_up_in_parts_and_come_back_whole(make_settings, out_dir, s3):
    prefix = _prefix()
    storage = S3Storage(f"s3://media/{prefix}", make_settings(env=s3.env(prefix)))
    big = out_dir / "clients" / "alice" / "long.mp4"
    big.parent.mkdir(parents=True)
    big.write_bytes(os.urandom(PART_BYTES * 2 + 12345))
    uris = await storage.publish([big])
    assert uris == {big: f"s3://media/{prefix}/clients/alice/long.mp4"}
    head = obstore.head(s3.store(prefix), "clients/alice/long.mp4")
    assert head["size"] == big.stat().st_size and "-" in str(head["e_tag"])  # a multipart ETag: md5-<parts>
    expected = big.read_bytes()
    big.unlink()  # another replica: the bucket has it, this disk does not
    assert await storage.localize(big)
    assert big.read_bytes() == expected
    assert [p.name for p in big.parent.iterdir()] == ["long.mp4"]  # no partial file left
    assert not await storage.localize(big.with_name("never-made.mp4"))
    outside = out_dir.parent / "elsewhere" / "long.mp4"  # same key under "_abs/...": never fetched outside
    assert not await storage.localize(outside) and not outside.parent.exists()


async def test_an_unreachable_store_fails_the_upload_in_one_line(make_settings, out_dir):
    settings = make_settings(
        env={"GENERATE_MEDIA_STORAGE_URL": "s3://media/x", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    storage = S3Storage("s3://media/x", settings)
    path = out_dir / "a.png"
    path.write_bytes(b"\x89PNG....")
    with pytest.raises(StorageError) as caught:
        await storage.publish([path])
    assert "\n" not in caught.value.message and "could not upload a.png to s3://media/x" in caught.value.message


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"GENERATE_MEDIA_STORAGE_URL": "https://bucket/prefix"}, "must look like s3://bucket/prefix"),
        ({"GENERATE_MEDIA_STORAGE_URL": "s3://bucket/a/../b"}, "empty, . or .. part"),
        ({"GENERATE_MEDIA_STORAGE_URL": "s3://b", "AWS_ENDPOINT_URL": "seaweed:8333"}, "must be an http(s) URL"),
        ({"GENERATE_MEDIA_STORAGE_URL": "s3://b", "GENERATE_MEDIA_STORAGE_LINK_TTL_S": "9e9"}, "7 days"),
    ],
)
def test_a_malformed_storage_setting_is_refused_at_start(env, said, tmp_path):
    with pytest.raises(StorageConfigError, match=said.replace("(", r"\(").replace(")", r"\)")):
        open_storage(Settings(env=env, output_dir=tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "generate_media.server", "--http", "--no-auth", "--port", "0"],
        env={**os.environ, **env, "GENERATE_MEDIA_OUTPUT_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and said in run.stderr and "Traceback" not in run.stderr


def test_without_a_storage_url_outputs_stay_local(tmp_path):
    storage = open_storage(Settings(env={}, output_dir=tmp_path))
    assert not storage.remote and storage.signed_url(tmp_path / "x.png") is None


def test_temporary_credentials_sign_with_their_session_token_and_links_keep_it(tmp_path, s3):
    # S3 requires a temporary credential's session token inside every presigned link
    # (X-Amz-Security-Token). SeaweedFS issues no temporary credentials (it refuses an upload signed
    # with an unknown token), so this reads the link the store signs, and what the service's redactor,
    # which scrubs every other *_TOKEN value, makes of it.
    token = f"session-{uuid.uuid4().hex}"
    env = {**s3.env(_prefix()), "AWS_SESSION_TOKEN": token}
    settings = Settings(env=env, output_dir=tmp_path)
    link = open_storage(settings).signed_url(tmp_path / "clients" / "alice" / "fox.png")
    assert link is not None
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Security-Token"] == [token] and "X-Amz-Signature" in query
    secrets = settings.secrets(load_registry().secret_names())
    assert token not in secrets and env["AWS_SECRET_ACCESS_KEY"] in secrets
    assert Redactor(secrets)(link) == link
