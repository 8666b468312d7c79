"""Extract the request schemas the fakes validate against from a provider's published OpenAPI document.

Maintainer tool, not run by the tests. The tests read only the compact files beside this script,
so a clone validates requests with nothing next to it. To refresh one after the provider publishes
a new document::

    python tests/fakes/schemas/extract.py openai path/to/openai-openapi.yaml \
        --source "github.com/openai/openai-openapi openapi.yaml @ f85dbe2" --as-of 2026-08-21

It keeps, for each operation below, the operation's request body and every component it reaches
through ``$ref`` (nothing is loosened: types, enums, bounds, ``required`` and
``additionalProperties`` are copied as published), and drops annotations that do not validate
(``description``, ``example``, ``title``, ``x-*``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

#: (method, path template as published) of every operation the fakes receive a body for.
OPERATIONS: dict[str, list[tuple[str, str]]] = {
    "openai": [
        ("post", "/images/generations"),
        ("post", "/images/edits"),
        ("post", "/audio/speech"),
        ("post", "/videos"),
        ("post", "/videos/{video_id}/remix"),
    ],
    "elevenlabs": [
        ("post", "/v1/text-to-speech/{voice_id}"),
        ("post", "/v1/text-to-speech/{voice_id}/with-timestamps"),
        ("post", "/v1/text-to-dialogue"),
        ("post", "/v1/sound-generation"),
        ("post", "/v1/music"),
        ("post", "/v1/speech-to-speech/{voice_id}"),
        ("post", "/v1/audio-isolation"),
        ("post", "/v1/text-to-voice/design"),
        ("post", "/v1/text-to-voice"),
        ("post", "/v1/voices/add"),
        ("post", "/v1/dubbing"),
    ],
}

_ANNOTATIONS = {"description", "example", "examples", "title", "externalDocs", "deprecated"}
#: Keywords whose value maps names to schemas (a property may be called "description").
_NAMED = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}


def _strip(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        else:
            out[key] = _strip(value)
    return out


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _lookup(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _place(out: dict[str, Any], ref: str, value: Any) -> None:
    parts = ref.removeprefix("#/").split("/")
    node = out
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def extract(doc: dict[str, Any], operations: list[tuple[str, str]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, template in operations:
        op = doc["paths"][template][method]
        paths.setdefault(template, {})[method] = {"requestBody": _strip(_resolve_body(doc, op["requestBody"]))}
    out: dict[str, Any] = {"paths": paths}
    todo, seen = _refs(paths), set()
    while todo:
        ref = todo.pop()
        if ref in seen or not ref.startswith("#/"):
            continue
        seen.add(ref)
        target = _strip(_lookup(doc, ref))
        _place(out, ref, target)
        todo |= _refs(target) - seen
    return out


def _resolve_body(doc: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in body:  # a shared requestBody component: inline it
        body = _lookup(doc, body["$ref"])
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("provider", choices=sorted(OPERATIONS))
    parser.add_argument("document", type=Path, help="the provider's published OpenAPI document (JSON or YAML)")
    parser.add_argument("--source", required=True, help="where the document came from (repository, path, commit)")
    parser.add_argument("--as-of", required=True, help="the document's date, YYYY-MM-DD")
    parser.add_argument("--extracted", required=True, help="today's date, YYYY-MM-DD")
    args = parser.parse_args()
    text = args.document.read_text()
    if args.document.suffix == ".json":
        doc = json.loads(text)
    else:
        import yaml

        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    compact = extract(doc, OPERATIONS[args.provider])
    header = {
        "x-source": {
            "provider": args.provider,
            "document": args.source,
            "as_of": args.as_of,
            "extracted": args.extracted,
            "by": "tests/fakes/schemas/extract.py",
            "openapi": doc.get("openapi"),
        }
    }
    target = Path(__file__).with_name(f"{args.provider}-requests.json")
    text = json.dumps({**header, **compact}, indent=1, ensure_ascii=False) + "\n"
    target.write_text(text)
    print(f"{target}: {len(compact['paths'])} operations, {len(text)} characters")


if __name__ == "__main__":
    main()
