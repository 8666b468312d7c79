"""Property-based fuzzing of ``generate_media``: arguments drawn from the tool's own JSON schema, mixed
with hostile values. Every call must end in a result or a one-line error result with a real error
code (never the catch-all "internal error"), and the server must keep answering.

One client and one event loop (a blocking portal) serve every example, so state accumulates the way
it does for a long-lived client.
"""

from __future__ import annotations

import functools
import json
import string
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

EXAMPLES = 300
TRIED: list[int] = [0]
OUTCOMES: Counter[str] = Counter()

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "x" * 100_000,
        "../../../../etc/passwd",
        "..\\..\\windows\\system32",
        "/etc/shadow",
        "~/.ssh/id_rsa",
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1:1/x.png",
        "https://[::1]/x.png",
        "data:image/png;base64,!!!!",
        "data:text/plain,hello",
        "gopher://127.0.0.1:25/",
        "日本語のファイル名.png",
        "emoji-🦊.png",
        "CON",
        "nul.png",
        "%2e%2e%2fetc%2fpasswd",
        "a" * 5000 + ".png",
        "\u202eevil.png",
        "openai_img_" + "0" * 32,
        "job_" + "f" * 32,
    ]
)
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
NUMBERS = st.one_of(st.sampled_from([0, -1, 1, 2, 10, 17, 10**9, -(10**9)]), st.integers(min_value=-5, max_value=40))
FLOATS = st.one_of(st.sampled_from([0.0, -1.0, 1e-9, 4.0, 8.0, 1e308]), st.floats(allow_nan=False, width=32))


def _text_for(name: str, prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in prop:
        return st.one_of(st.sampled_from(prop["enum"]), HOSTILE_TEXT)
    plain = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/", min_size=1, max_size=40)
    if name in ("prompt", "negative_prompt", "instructions"):
        return st.one_of(plain, st.text(max_size=200), HOSTILE_TEXT)
    return st.one_of(plain, HOSTILE_TEXT)


def _for(name: str, prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = prop.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds:
        item = _text_for(name, prop.get("items", {}))
        lists = st.one_of(
            st.lists(item, max_size=4), st.lists(st.just("p"), min_size=33, max_size=40), st.just(["p"] * 5000)
        )
        return st.one_of(lists, WRONG)
    if "integer" in kinds:
        return st.one_of(NUMBERS, WRONG)
    if "number" in kinds:
        return st.one_of(FLOATS, NUMBERS, WRONG)
    if "boolean" in kinds:
        return st.one_of(st.booleans(), WRONG)
    return st.one_of(_text_for(name, prop), WRONG)


def arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly plausible calls (a prompt and a few schema fields), some hostile, some unknown keys."""
    props = schema["properties"]
    optional = {name: _for(name, prop) for name, prop in props.items() if name != "prompt"}
    plausible = st.fixed_dictionaries(
        {"prompt": st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=30)},
        optional={k: optional[k] for k in ("n", "size", "quality", "aspect_ratio", "output_format", "filename")},
    )
    anything = st.fixed_dictionaries({}, optional={"prompt": _for("prompt", props["prompt"]), **optional})
    unknown = st.dictionaries(st.text(min_size=1, max_size=12), WRONG, min_size=1, max_size=3)
    return st.one_of(plausible, anything, st.builds(lambda a, b: {**a, **b}, anything, unknown))


def test_random_and_hostile_arguments_never_crash_the_server(make_server, fake, out_dir, tmp_path):
    server = make_server("OPENAI_API_KEY", wait_budget_s=1.0, request_timeout_s=5.0)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(server)) as client,
    ):
        schema = portal.call(client.list_tools).tools[0].input_schema
        call = functools.partial(portal.call, client.call_tool, "generate_media")

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(args=arguments(schema))
        def check(args: dict[str, Any]) -> None:
            TRIED[0] += 1
            result = call(args)
            if result.is_error:
                text = result.content[0].text
                code = (result.structured_content or {}).get("error", {}).get("code")
                assert code and code != "error", (args, text)  # "error" is the crash catch-all
                OUTCOMES[code] += 1
                assert "\n" not in text, text
            else:
                assert result.structured_content["status"] in ("completed", "partial", "pending"), args
                OUTCOMES[result.structured_content["status"]] += 1

        check()
        healthy = call({"prompt": "still here"})
        tools = portal.call(client.list_tools)
    print(f"\nfuzz: {TRIED[0]} argument sets tried; outcomes {dict(OUTCOMES)}")
    assert TRIED[0] >= EXAMPLES
    assert not healthy.is_error and [t.name for t in tools.tools] == ["generate_media"]
    partial = [p for p in Path(out_dir).rglob("*") if p.name.startswith(".gm-partial-")]
    assert partial == [] and all(p.stat().st_size > 0 for p in Path(out_dir).rglob("*") if p.is_file())


#: The key, and keys whose JSON text holds the key's (an escaped quote before or after it).
_KEYS = ["b64_json", "x", "data", 'b64_json"', 'a"b64_json', "a\\"]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    doc=_JSON,
    payloads=st.lists(
        st.text(alphabet=string.ascii_letters + '+/=\\"', max_size=40)
        | st.text(alphabet=string.ascii_letters + ",;", max_size=40).map(lambda t: "data:" + t),
        max_size=3,
    ),
    indent=st.sampled_from([None, 0, 2]),
    prefix=st.sampled_from([b"", b"data:"]),
)
def test_a_body_parsed_with_its_payloads_cut_out_reads_as_json_loads_reads_it(doc, payloads, indent, prefix):
    """``LiftedJSON`` (the image backends' parser) gives ``json.loads``' value for any JSON document,
    with each cut-out string standing in for exactly the string that was there (and, with a prefix,
    only strings that start with it cut out)."""
    from generate_media.backends._image_payload import LiftedJSON

    doc = {"data": [{"b64_json": p} for p in payloads], "doc": doc, "b64_json": payloads[0] if payloads else doc}
    body = json.dumps(doc, indent=indent).encode()
    lifted = LiftedJSON(body, "b64_json", prefix=prefix, at_least=1)

    under: list[Any] = []  # the key each stand-in is found under

    def restore(value: Any, key: Any = None) -> Any:
        if isinstance(value, dict):
            return {k: restore(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        if isinstance(value, str) and value.startswith("\x00lifted:"):
            under.append(key)
            begin, end = lifted.lifted[int(value.split(":")[1])]
            return json.loads(body[begin:end])
        return value

    assert restore(lifted.value) == json.loads(body)
    assert under == ["b64_json"] * len(lifted.lifted)
    assert all(b"\\" not in body[b:e] and body.startswith(prefix, b + 1) for b, e in lifted.lifted)
