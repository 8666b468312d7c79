"""Image payloads as providers return them: base64 strings or data URLs (a short-lived URL is
fetched by :func:`generate_media.backends._download.download`). Junk is a ``BadProviderResponse``.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from ..errors import BadProviderResponse

__all__ = ["LiftedJSON", "decode_b64", "decode_data_url", "mime_of_data_url"]

#: What a cut-out string reads as in the parsed body, followed by its number: no provider sends a NUL.
_STAND_IN = "\x00lifted:"
_SPACE = b" \t\r\n"


class LiftedJSON:
    """A JSON body parsed with the long strings under one key cut out: the parser never walks them.

    A 1 MB image is 1.4 MB of base64 in the body: ``json.loads`` takes ~3.5 ms to copy it into a
    ``str`` (decoding, then scanning every character), which is then decoded again. Here each such
    value is cut out of the body first (a search for its closing quote), the rest is parsed, and the
    value reads as a stand-in that :meth:`b64` decodes straight from the body's bytes: ~0.1 ms in all
    (bench/call_overhead.py). Only a string without escapes, plainly under ``key`` in an object, is
    cut out; the rest is parsed as usual, so the value is ``json.loads(body)``'s for any JSON body.

    Raises:
        ValueError: the body is not JSON (``json.JSONDecodeError``, or ``UnicodeDecodeError``).
    """

    def __init__(self, body: bytes, key: str, *, prefix: bytes = b"", at_least: int = 1024) -> None:
        """``prefix``: cut out only strings that start with it (``b"data:"``: data URLs, not links)."""
        self.body = body
        self.lifted: list[tuple[int, int]] = []  # each cut-out string's span, its quotes included
        pieces: list[bytes | memoryview] = []
        view = memoryview(body)
        quoted = json.dumps(key).encode()
        start = done = 0
        while (at := body.find(quoted, start)) >= 0:
            start = at + len(quoted)
            span = _string_after(body, at, start)
            if span is None or span[1] - span[0] < at_least or not body.startswith(prefix, span[0] + 1):
                continue
            pieces += [view[done : span[0]], json.dumps(f"{_STAND_IN}{len(self.lifted)}").encode()]
            self.lifted.append(span)
            done = start = span[1]
        self.value: Any = json.loads(b"".join([*pieces, view[done:]]) if self.lifted else body)

    def object(self, *, backend: str) -> dict[str, Any]:
        """The parsed body, which must be a JSON object."""
        if not isinstance(self.value, dict):
            raise BadProviderResponse(f"{backend} sent a response that is not an object; try again", backend=backend)
        return self.value

    def is_lifted(self, value: Any) -> bool:
        return isinstance(value, str) and value.startswith(_STAND_IN)

    def _bytes(self, value: str) -> memoryview:
        begin, end = self.lifted[int(value[len(_STAND_IN) :])]
        return memoryview(self.body)[begin + 1 : end - 1]

    def b64(self, value: Any, *, backend: str, lenient: bool = False) -> bytes:
        """The bytes a base64 string of the parsed body stands for, cut out or not (:func:`decode_b64`)."""
        if self.is_lifted(value):
            return decode_b64(self._bytes(value), backend=backend, lenient=lenient)
        if not isinstance(value, str):
            raise BadProviderResponse(f"{backend} returned an image without data; try again", backend=backend)
        return decode_b64(value, backend=backend, lenient=lenient)

    def data_url(self, value: str, *, backend: str) -> tuple[bytes, str | None]:
        """(bytes, MIME type) of a base64 data URL of the parsed body, cut out or not."""
        if not self.is_lifted(value):
            return decode_data_url(value, backend=backend), mime_of_data_url(value)
        raw = self._bytes(value)
        head = bytes(raw[:256])  # "data:image/png;base64," and the payload's first characters
        comma = head.find(b",")
        header = head[:comma].decode("ascii", "replace") if comma >= 0 else None
        _check_data_header(header, backend)
        return decode_b64(raw[comma + 1 :], backend=backend), mime_of_data_url(f"{header},")


def _string_after(body: bytes, at: int, end: int) -> tuple[int, int] | None:
    """The span (quotes included) of the string value of the key quoted at ``body[at:end]``, when that
    is plainly a key (after ``{`` or ``,``: not the tail of a string with an escaped quote) and its
    value a string without escapes; else None."""
    before = at - 1
    while before >= 0 and body[before] in _SPACE:
        before -= 1
    colon = _skip_space(body, end)
    if before < 0 or body[before] not in b"{," or body[colon : colon + 1] != b":":
        return None
    begin = _skip_space(body, colon + 1)
    if body[begin : begin + 1] != b'"':
        return None
    close = body.find(b'"', begin + 1)
    if close < 0 or body.find(b"\\", begin + 1, close) >= 0:
        return None
    return begin, close + 1


def _skip_space(body: bytes, at: int) -> int:
    while at < len(body) and body[at] in _SPACE:
        at += 1
    return at


def decode_b64(payload: str | bytes | memoryview, *, backend: str, lenient: bool = False) -> bytes:
    """Strict base64 decoding; a provider sending junk is a bad response, never a crash.

    pybase64's SIMD decoder: a 1 MB image (1.4 MB of base64) takes ~0.1 ms where the standard
    library's ``binascii`` takes 3-4 ms, strict or not (bench/call_overhead.py). ``lenient`` also
    accepts what the standard library's non-validating decoder does (line breaks and other
    characters outside the alphabet are skipped); the bytes are verified when the file is saved.
    """
    try:
        data = _decode(payload, lenient=lenient)
    except (binascii.Error, ValueError) as exc:
        raise BadProviderResponse(f"{backend} returned invalid base64 image data; try again", backend=backend) from exc
    if not data:
        raise BadProviderResponse(f"{backend} returned an empty image; try again", backend=backend)
    return data


def _decode(payload: str | bytes | memoryview, *, lenient: bool) -> bytes:
    import pybase64  # imported at the first payload (or by the warm-up), not at start

    try:
        return pybase64.b64decode(payload, validate=True)
    except binascii.Error:
        if not lenient:
            raise
        return pybase64.b64decode(payload)  # the slow path, only for payloads with stray characters


def mime_of_data_url(url: str) -> str | None:
    header = url.partition(",")[0]
    mime = header[5:].split(";")[0] if header.startswith("data:") else ""
    return mime or None


def decode_data_url(url: str, *, backend: str) -> bytes:
    header, sep, payload = url.partition(",")
    _check_data_header(header if sep else None, backend)
    return decode_b64(payload, backend=backend)


def _check_data_header(header: str | None, backend: str) -> None:
    """A data URL's part before its comma (None: it has none) must say the payload is base64."""
    if header is None or ";base64" not in header:
        raise BadProviderResponse(
            f"{backend} returned an image URL that is not base64 data; try again", backend=backend
        )
