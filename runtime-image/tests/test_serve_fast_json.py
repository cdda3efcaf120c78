"""The accelerated json.loads gives the standard library's values and errors."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from amlkit_runtime.serve import fast_json
from hypothesis import given
from hypothesis import strategies as st

fast_json.install()
fast = json.loads
standard = fast_json._standard_loads

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@given(json_values)
def test_same_values_as_the_standard_library(value: Any) -> None:
    text = json.dumps(value)
    assert fast(text) == standard(text)
    assert fast(text.encode()) == standard(text.encode())


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN}',
        "[Infinity, -Infinity]",
        str(2**80),
        str(2**64),
        str(-(2**63) - 1),
        "[1.00000000000000000000001]",
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        "1e400",
        "[1.5, -0.0]",
    ],
)
def test_inputs_orjson_refuses_or_treats_differently_follow_the_standard_library(text: str) -> None:
    got, expected = fast(text), standard(text)
    assert type(got) is type(expected)
    assert repr(got) == repr(expected) or (
        isinstance(got, float) and math.isnan(got) and math.isnan(expected)
    )


@pytest.mark.parametrize("text", ["", "{", "[1,]", "nope", '{"a" 1}'])
def test_invalid_json_raises_the_standard_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as fast_error:
        fast(text)
    with pytest.raises(json.JSONDecodeError) as standard_error:
        standard(text)
    assert str(fast_error.value) == str(standard_error.value)


def test_arguments_go_to_the_standard_library() -> None:
    assert fast("[1.5]", parse_float=str) == ["1.5"]
    assert fast('{"a": 1}', object_pairs_hook=list) == [("a", 1)]
