"""Whatever a stack config holds, amlkit answers with a spec or with one-line
problems, never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amlkit.specs import ConfigError, StackSpec, build_stack_spec
from amlkit.specs.stack_config import SECTIONS
from tests.specs.conftest import BASE

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["key", "aad_token", "azureml:m:1", "model", "code", "<X>", "", "blue", "-1"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(max_size=12) | st.sampled_from(["name", "file", "path", "type"]),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(BASE)[1:]


def _check(result: StackSpec | ConfigError) -> None:
    if isinstance(result, ConfigError):
        lines = str(result).splitlines()
        assert lines and all(line.strip() for line in lines)
        assert len(lines) == len(result.problems)
        assert not any("Traceback" in line for line in lines)


def _build(values_: dict[str, Any], stack_dir: Path) -> StackSpec | ConfigError:
    try:
        return build_stack_spec(values_, source=stack_dir / "Pulumi.test.yaml")
    except ConfigError as error:
        return error


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=st.dictionaries(st.sampled_from([*SECTIONS, "bogus"]), values, max_size=5))
def test_arbitrary_sections(stack_dir: Path, config: dict[str, Any]) -> None:
    _check(_build(config, stack_dir))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), value=values)
def test_one_value_of_a_valid_config_replaced(
    stack_dir: Path, path: tuple[Any, ...], value: Any
) -> None:
    config = copy.deepcopy(BASE)
    node: Any = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    _check(_build(config, stack_dir))
