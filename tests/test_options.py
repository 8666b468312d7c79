"""Backends declare their own request options (issue 17): a throwaway backend package under tests/
adds an option with no edit anywhere else, every declared option reaches the provider's request,
and no module outside ``backends/`` names a provider."""

from __future__ import annotations

from pathlib import Path
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
    settings = make_settings(env={"ECHO_KEY": ECHO_KEY})
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


def test_the_new_backend_key_is_a_secret_whatever_its_name(make_settings):
    settings = make_settings(env={"ECHO_KEY": ECHO_KEY})
    assert ECHO_KEY not in settings.secrets()  # not shaped like a key: only the declaration says it is one
    redact = MediaService(settings, registry=_with_extra()).redact
    assert ECHO_KEY in redact.secrets and ECHO_KEY not in redact(f"the provider said: bad key {ECHO_KEY}")


def test_without_the_package_the_option_does_not_exist():
    real = load_registry()
    assert "shimmer" not in real.options() and "shimmer" not in real.request_type.model_fields


# --- every option a model declares reaches the provider's request --------------------------------

REAL = load_registry()
#: What each operation needs besides the option under test (files are written into the output dir).
_NEEDS: dict[str, dict[str, Any]] = {
    "generate": {"prompt": "a lake at dawn"},
    "speech": {"prompt": "Hello there."},
    "sound_effect": {"prompt": "a door creaks"},
    "music": {"prompt": "calm piano"},
    "voice_design": {"prompt": "a warm, low voice reading a long enough sample text for the design step"},
    "voice_clone": {"prompt": "Hello there.", "voice_samples": ["sample.mp3"]},
    "voice_conversion": {"input_audio": "sample.mp3"},
    "audio_isolation": {"input_audio": "sample.mp3"},
    "dubbing": {"input_audio": "sample.mp3", "target_language": "es"},
    "dialogue": {"dialogue": [{"speaker": "A", "text": "Hi."}, {"speaker": "B", "text": "Hello."}]},
}


def _wire_cases() -> list[Any]:
    from generate_media.selector import utc_today

    cases: dict[Any, Any] = {}
    for name, takers in REAL.options().items():
        for taker in takers:
            spec = REAL.get(taker.backend)
            if spec is None or not spec.env_keys or taker.model.status_on(utc_today()) == "retired":
                continue  # the offline backend has no wire; a retired model is never called
            # Models of one backend doing the same operations with the same values share one code path:
            # the first of them stands for the rest (the suite stays fast).
            path = (taker.backend, taker.media, taker.model.operations, name, taker.values, taker.option.range)
            cases.setdefault(path, pytest.param(taker, id=f"{taker.backend}/{taker.model.id}/{name}"))
    return list(cases.values())


def _probe_value(taker: Any) -> tuple[Any, Any]:
    """A value of the option to send and another one the request should differ by."""
    option = taker.option
    if option.type is bool:
        return True, False
    if option.range is not None:
        low, high = option.range
        value = round(low + (high - low) * 0.37, 3)
        return (int(value) if option.type is int else value), None
    if taker.values:
        return taker.values[-1], None
    return (424242, None) if option.type is int else ("zx-probe", None)


def _wire(requests: list[Any]) -> str:
    return " ".join(f"{r.path} {r.query} {r.body.decode('utf-8', 'replace')}" for r in requests)


async def _sent(client: Any, fake: Any, arguments: dict[str, Any]) -> tuple[Any, str]:
    before = len(fake.requests)
    result = await client.call_tool("generate_media", arguments)
    return result, _wire(fake.requests[before:])


@pytest.mark.parametrize("taker", _wire_cases())
async def test_every_declared_option_reaches_the_provider_request(taker, make_server, fake, out_dir):
    from tests.conftest import KEYS
    from tests.fakes import media

    (out_dir / "sample.mp3").write_bytes(media.mp3(1.0))
    spec = REAL.get(taker.backend)
    key = next(k for k in spec.env_keys if k in KEYS)
    value, other = _probe_value(taker)
    for operation in taker.model.operations:
        needs = dict(_NEEDS[operation])
        if "voice_samples" in needs:
            needs["voice_samples"] = [str(out_dir / f) for f in needs["voice_samples"]]
        if "input_audio" in needs:
            needs["input_audio"] = str(out_dir / needs["input_audio"])
        arguments = {"media_type": taker.media.value, "backend": taker.backend, "model": taker.model.id, **needs}
        if taker.media.value == "audio":
            arguments["audio_type"] = operation
        async with Client(make_server(key)) as client:
            result, wire = await _sent(client, fake, {**arguments, taker.option.name: value})
            plain = None
            if other is not None and not result.is_error:
                plain = await _sent(client, fake, {**arguments, taker.option.name: other})
        if result.is_error and "is only for audio_type" in result.content[0].text:
            continue  # the option belongs to another operation of this model
        assert not result.is_error, result.content[0].text
        if plain is None:
            assert str(value) in wire, (taker.option.name, value, wire[:2000])
        else:
            assert not plain[0].is_error, plain[0].content[0].text
            assert wire != plain[1], f"{taker.option.name}={value} and ={other} sent the same request"
        return
    pytest.fail(f"no operation of {taker.model.id} takes {taker.option.name}")


# --- the core names no provider ------------------------------------------------------------------

SRC = Path(__file__).resolve().parents[1] / "src" / "generate_media"
#: Providers by every name the code could use for them: the registry's backends (a new one included)
#: with their SDK and product names, and the providers being added.
PROVIDER_WORDS = sorted(
    {spec.name for spec in REAL if spec.env_keys}
    | {"gemini", "genai", "imagen", "veo", "lyria", "vertex", "xai", "eleven", "sora", "dall", "flux"}
    | {"fal", "replicate", "cartesia", "stability", "runway", "luma", "kling", "minimax", "ideogram"}
)
#: Modules that still name providers, and why. Each entry is work left (issue 17): move the data into
#: the backends, then delete the entry.
STILL_NAMING = {
    "pricing.py": "the published prices are keyed by backend/model here, not declared by each backend",
    "catalog.py": "the providers' model-list calls (models --check) live here, not in each backend",
}
#: Words that name something other than a provider backend.
NOT_PROVIDERS = {"gemini-cli-mcp-client", "Gemini CLI"}  # clients.py: an MCP client's name


def _code_words(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every name and string in the module's code: comments and docstrings are prose."""
    import ast
    import io
    import tokenize

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        node.body[0].value.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    words = []
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        if token.type in (tokenize.NAME, tokenize.STRING) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            words.append((token.start[0], token.string))
    return words


def _named_providers(path: Path) -> list[str]:
    import re

    pattern = re.compile(r"(?<![a-z])(" + "|".join(PROVIDER_WORDS) + r")(?![a-z])", re.IGNORECASE)
    found = []
    for line, text in _code_words(path):
        for allowed in NOT_PROVIDERS:
            text = text.replace(allowed, "")
        found += [f"{path.relative_to(SRC)}:{line}: {m.group(0)}" for m in pattern.finditer(text)]
    return found


def test_no_module_outside_backends_names_a_provider():
    modules = [p for p in SRC.rglob("*.py") if "backends" not in p.relative_to(SRC).parts]
    found = [hit for p in modules if str(p.relative_to(SRC)) not in STILL_NAMING for hit in _named_providers(p)]
    assert found == [], "a provider named outside backends/ (move it into its backend):\n" + "\n".join(found)
    for name in STILL_NAMING:  # an entry that no longer names a provider is removed, so it cannot hide one
        assert _named_providers(SRC / name), f"{name} names no provider any more: remove it from STILL_NAMING"


def test_the_scan_finds_a_provider_in_code_but_not_in_prose(tmp_path):
    module = tmp_path / "core.py"
    module.write_text('"""Works with OpenAI."""\n# google too\nBACKEND = "elevenlabs"\nurl = f"https://fal.run/{x}"\n')
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        assert [hit.split(": ")[1] for hit in _named_providers(module)] == ["elevenlabs", "fal"]
    finally:
        SRC = saved


# --- the registry refuses declarations that cannot be merged ---------------------------------------

_BAD_BACKEND = """
from generate_media.spec import PICTURES, BackendSpec, MediaSupport, MediaType, ModelSpec, Option

SPEC = BackendSpec(
    name="{name}",
    title="Bad",
    env_keys=("BAD_KEY",),
    media={{
        MediaType.IMAGE: MediaSupport(
            priority=1,
            default_model="m",
            operations=(PICTURES,),
            options=({options}),
            models=(ModelSpec(id="m", options=frozenset({takes})),),
        )
    }},
)
BACKEND = None
"""


def _package(tmp_path, monkeypatch, **modules: dict[str, str]) -> str:
    import uuid

    name = f"bad_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    for module, fields in modules.items():
        (tmp_path / name / f"{module}.py").write_text(_BAD_BACKEND.format(name=module, **fields))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"options": "", "takes": '{"sparkle"}'}, "bad/m takes sparkle, which bad does not declare"),
        ({"options": 'Option("sparkle", float, "x"),', "takes": "()"}, "declares option sparkle that no model takes"),
        ({"options": 'Option("prompt", str, "x"),', "takes": '{"prompt"}'}, "a core parameter; rename it"),
    ],
)
def test_an_option_that_cannot_be_merged_is_refused_when_the_registry_loads(fields, message, tmp_path, monkeypatch):
    package = _package(tmp_path, monkeypatch, bad=fields)
    with pytest.raises(RuntimeError, match=message):
        load_registry(package).request_type  # noqa: B018 (building the request type is the check)


def test_two_backends_giving_one_option_two_types_are_refused(tmp_path, monkeypatch):
    package = _package(
        tmp_path,
        monkeypatch,
        bad=({"options": 'Option("grain", float, "x"),', "takes": '{"grain"}'}),
        worse=({"options": 'Option("grain", str, "x"),', "takes": '{"grain"}'}),
    )
    with pytest.raises(RuntimeError, match="option 'grain' is a float on bad but a str on worse; declare one type"):
        load_registry(package).request_type  # noqa: B018
