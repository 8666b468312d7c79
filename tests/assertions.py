"""Assertions shared by the test modules."""

from __future__ import annotations

from typing import Any


def only_item(result: Any) -> dict[str, Any]:
    """The single item of a successful result."""
    assert not result.is_error, result.content
    items = result.structured_content["items"]
    assert len(items) == 1
    return items[0]


def one_line_error(result: Any, *needles: str) -> str:
    """An error result whose one-line text contains every needle."""
    assert result.is_error
    text = result.content[0].text
    assert "\n" not in text
    for needle in needles:
        assert needle in text, text
    return text
