"""Image payloads as providers return them: base64 strings or data URLs (a short-lived URL is
fetched by :func:`generate_media.backends._download.download`). Junk is a ``BadProviderResponse``.
"""

from __future__ import annotations

import base64
import binascii

from ..errors import BadProviderResponse

__all__ = ["decode_b64", "decode_data_url", "mime_of_data_url"]


def decode_b64(payload: str, *, backend: str) -> bytes:
    """Strict base64 decoding; a provider sending junk is a bad response, never a crash."""
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadProviderResponse(f"{backend} returned invalid base64 image data; try again", backend=backend) from exc
    if not data:
        raise BadProviderResponse(f"{backend} returned an empty image; try again", backend=backend)
    return data


def mime_of_data_url(url: str) -> str | None:
    header = url.partition(",")[0]
    mime = header[5:].split(";")[0] if header.startswith("data:") else ""
    return mime or None


def decode_data_url(url: str, *, backend: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise BadProviderResponse(
            f"{backend} returned an image URL that is not base64 data; try again", backend=backend
        )
    return decode_b64(payload, backend=backend)
