"""Every result conforms to the tool's declared outputSchema, errors included.

tests/conftest.py validates every result the suite receives through the Python SDK client; these
tests prove that check can fail, and walk every error code of errors.py through the front door.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import resource
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

import generate_media
from generate_media.errors import ERROR_CODES, GenerateMediaError, Redactor
from generate_media.server.app import _error_result
from tests.assertions import one_line_error
from tests.conftest import schema_problems
from tests.fakes import media

OPENAI = "OPENAI_API_KEY"
GENERATIONS = "openai:POST .*/images/generations"


async def declared_schema(server: Any) -> dict[str, Any]:
    async with Client(server) as client:
        (tool,) = (await client.list_tools()).tools
    assert tool.output_schema is not None
    return tool.output_schema


async def test_the_declared_schema_rejects_what_a_strict_client_rejects(make_server):
    schema = await declared_schema(make_server(OPENAI))
    failed = {"status": "failed", "error": {"code": "missing_key", "message": "set OPENAI_API_KEY"}}
    done = {
        "status": "completed",
        "media_type": "image",
        "backend": "openai",
        "model": "gpt-image-2",
        "items": [
            {"index": 0, "prompt": "p", "path": "/o/p.png", "uri": "file:///o/p.png", "mime_type": "image/png"}
            | {"size_bytes": 3}
        ],
    }
    assert schema_problems(schema, failed) == []
    assert schema_problems(schema, done) == []
    bad = [
        {"status": "failed"},  # no error
        {"status": "failed", "error": {"code": "oops", "message": "x"}},  # an undeclared code
        {"status": "failed", "error": {"code": "auth"}},  # no message
        {k: v for k, v in done.items() if k != "media_type"},
        {**done, "status": "finished"},
        {**done, "items": [{"index": 0, "prompt": "p", "status": "error"}]},  # an item error without its error
        {**done, "items": [{"index": 0, "prompt": "p"}]},  # an ok item without its file
        {**done, "backend": None},
    ]
    for result in bad:
        assert schema_problems(schema, result), result


def _error_classes() -> list[type[GenerateMediaError]]:
    """Every error class of the package (every module imported, so classes defined anywhere count)."""
    for info in pkgutil.walk_packages(generate_media.__path__, "generate_media."):
        importlib.import_module(info.name)
    found: list[type[GenerateMediaError]] = []
    todo = [GenerateMediaError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


async def test_every_error_class_makes_a_result_that_matches_the_declared_schema(make_server):
    schema = await declared_schema(make_server(OPENAI))
    classes = _error_classes()
    assert {cls.code for cls in classes} == set(ERROR_CODES), "declare every error code in errors.py"
    for cls in classes:
        exc = cls("something went wrong; do this next", backend="openai")
        exc.details["backends_tried"] = [{"backend": "grok", "model": "m", "error": {"code": "quota", "message": "x"}}]
        result = _error_result(exc, Redactor([]))
        assert result.is_error
        assert schema_problems(schema, result.structured_content) == [], cls
        assert result.structured_content["error"]["code"] == cls.code


def _under_a_file(tmp_path: Path) -> dict[str, Any]:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return {"output_dir": blocker / "out"}


#: code -> (keys, arguments, fault to inject or None, settings overrides). Every code in errors.py has one.
TRIGGERS: dict[str, tuple[tuple[str, ...], dict[str, Any], dict[str, Any] | None, Any]] = {
    "invalid_request": ((OPENAI,), {"prompt": "x", "n": 0}, None, None),
    "no_backend": ((OPENAI,), {"prompt": "x", "duration": 5}, None, None),
    "limit_exceeded": ((OPENAI,), {"prompts": ["x"] * 33}, None, None),
    "budget_exceeded": ((OPENAI,), {"prompt": "x", "model": "gpt-image-2"}, None, lambda _: {"budget_usd": 0.0001}),
    "missing_key": ((), {"prompt": "x", "backend": "openai"}, None, None),
    "not_found": ((OPENAI,), {"job_id": "job_" + "0" * 24}, None, None),
    "access_denied": ((OPENAI,), {"prompt": "x", "input_images": ["/etc/hostname"]}, None, None),
    "provider_error": ((OPENAI,), {"prompt": "x"}, {"status": 503, "times": 5}, None),
    "auth": ((OPENAI,), {"prompt": "x"}, {"status": 401}, None),
    "rate_limited": ((OPENAI,), {"prompt": "x"}, {"status": 429, "headers": {"retry-after": "0"}, "times": 5}, None),
    "quota": (
        (OPENAI,),
        {"prompt": "x"},
        {"status": 429, "body": {"error": {"message": "quota exceeded"}}},
        None,
    ),
    "safety_blocked": ((OPENAI,), {"prompt": "safety blocked content"}, None, None),
    "bad_provider_response": ((OPENAI,), {"prompt": "x"}, {"raw": b"null", "times": 5}, None),
    "model_unavailable": (
        (OPENAI,),
        {"prompt": "x"},
        {"status": 404, "body": {"error": {"message": "The model `x` does not exist", "code": "model_not_found"}}},
        None,
    ),
    "timeout": ((OPENAI,), {"prompt": "x"}, {"status": 504, "times": 5}, None),
    # An output folder under a file was the last internal error reachable from outside; it is a
    # storage_error now. "internal" has no trigger: its result shape is checked class by class above.
    "storage_error": ((OPENAI,), {"prompt": "x"}, None, _under_a_file),
    # sysfs refuses mkdir even to root (EPERM, or EROFS where it is mounted read-only).
    "not_writable": ((OPENAI,), {"prompt": "x"}, None, lambda _: {"output_dir": Path("/sys/generate-media-test")}),
    "disk_full": ((OPENAI,), {"prompt": "x"}, None, None),  # under a file size limit, see AROUND
}


@contextlib.contextmanager
def _file_size_limit(fake: Any) -> Iterator[None]:
    """Writes past 64 KiB fail with EFBIG in this process while the call runs (a ~300 KB image is
    served); no bytecode is written meanwhile, since a .pyc cut short would be left truncated."""
    fake.state["openai_image_bytes"] = media.noisy_png(300, 300)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        sys.dont_write_bytecode = bytecode


AROUND: dict[str, Callable[[Any], contextlib.AbstractContextManager[None]]] = {"disk_full": _file_size_limit}


def test_every_error_code_has_a_trigger():
    assert set(TRIGGERS) | {"internal"} == set(ERROR_CODES)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs (for not_writable)")
@pytest.mark.parametrize("code", sorted(TRIGGERS))
async def test_each_error_code_reaches_the_client_as_our_message_in_a_valid_result(
    code, make_server, fake, tmp_path, mode
):
    keys, arguments, fault, overrides = TRIGGERS[code]
    server = make_server(*keys, **(overrides(tmp_path) if overrides else {}))
    schema = await declared_schema(server)
    if fault is not None:
        fake.inject(GENERATIONS, **fault)
    around = AROUND.get(code, lambda _: contextlib.nullcontext())
    async with Client(server, mode=mode) as client:
        with around(fake):
            result = await client.call_tool("generate_media", arguments)
        healthy = await client.list_tools()
    one_line_error(result, f"Error ({code}):")
    assert result.structured_content["status"] == "failed"
    assert result.structured_content["error"]["code"] == code
    assert schema_problems(schema, result.structured_content) == []
    assert healthy.tools  # the server still answers
