"""Validate recorded request bodies against the request schemas of a provider's published API.

The schemas live beside the fakes, in ``schemas/<provider>-requests.json``: the operations we call
and every component they reach, copied from the provider's OpenAPI document by
``schemas/extract.py`` (each file names its source document, commit and date). A field the
provider does not define (top-level) or a missing required one fails the test. OpenAPI 3.0
``nullable`` is translated to JSON Schema; ``$ref``s resolve inside the document.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from .core import Recorded

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The compact request schemas of one provider (``openai``, ``elevenlabs``)."""
    document: dict[str, Any] = json.loads((SCHEMAS / f"{name}-requests.json").read_text())
    return document


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


class OpenAPIValidator:
    """Validates bodies for (method, path template) operations of one document."""

    def __init__(self, document: dict[str, Any], prefix: str = "") -> None:
        self.doc = _nullable(document)
        self.prefix = prefix
        self.operations: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for template, item in self.doc.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + template)) + "$")
            for method, op in item.items():
                if isinstance(op, dict) and "requestBody" in op:
                    self.operations.append((method.upper(), pattern, op))

    def _schema(self, rec: Recorded) -> dict[str, Any] | None:
        for method, pattern, op in self.operations:
            if method == rec.method and pattern.match(rec.path):
                content = op["requestBody"].get("content", {})
                ctype = "multipart/form-data" if rec.form else "application/json"
                media = content.get(ctype) or next(iter(content.values()), None)
                return media.get("schema") if media else None
        return None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def __call__(self, rec: Recorded) -> None:
        schema = self._schema(rec)
        if schema is None:
            return
        resolved = self._resolve(schema)
        if rec.form:
            body: Any = {k: v for k, v in rec.form.items() if not isinstance(v, tuple | list)}
            files = {k.removesuffix("[]") for k, v in rec.form.items() if isinstance(v, tuple | list)}
            known = set(resolved.get("properties", {}))
            unknown = (set(body) | files) - known
            assert not unknown, f"{rec.method} {rec.path}: fields not in the provider's schema: {sorted(unknown)}"
            missing = set(resolved.get("required", [])) - set(body) - files
            assert not missing, f"{rec.method} {rec.path}: required fields missing: {sorted(missing)}"
            return
        body = rec.json
        strict = dict(resolved)
        if strict.get("type") == "object" and "properties" in strict and "additionalProperties" not in strict:
            strict["additionalProperties"] = False
        validator = jsonschema.Draft202012Validator(
            {**strict, "components": self.doc.get("components", {})},
        )
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.path) or "body"
            raise AssertionError(f"{rec.method} {rec.path}: {where}: {first.message[:300]}")
