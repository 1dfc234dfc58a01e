"""Free-form JSON in a snapshot (addresses): NUL characters and absurd nesting refused anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from shopmail.domain.snapshot import _check_nested


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        {"street": "Storgata 1", "city": "Oslo", "lines": ["a", "b"], "n": 1, "x": None, "ok": True},
        {"a": {"b": {"c": ["d", {"e": "f"}]}}},
        _nested(8, "leaf"),  # eight levels below the top: the deepest taken
        {},
    ],
)
def test_free_json_within_the_limits_is_taken_unchanged(value):
    assert _check_nested(value) is value


@pytest.mark.parametrize(
    "value",
    [
        {"street": "Storgata\x001"},  # a value
        {"na\x00me": "x"},  # a key
        {"a": [{"b": ["ok", "n\x00ul"]}]},  # deep inside
        ["\x00"],
    ],
)
def test_a_nul_character_anywhere_is_refused(value):
    with pytest.raises(ValueError, match="NUL"):
        _check_nested(value)


@pytest.mark.parametrize("leaf", ["leaf", 1, None, [], ["x"], {"k": "v"}])
def test_anything_nested_more_than_eight_levels_deep_is_refused(leaf):
    with pytest.raises(ValueError, match="nested too deeply"):
        _check_nested(_nested(9, leaf))
