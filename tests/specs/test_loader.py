"""Every input file is read strictly and within bounds (amlkit.specs.loader): a broken or
hostile file is one problem line naming the file, never a traceback, hang or blow-up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from amlkit.specs import ConfigError
from amlkit.specs.loader import (
    MAX_DEPTH,
    MAX_NODES,
    load_json,
    load_plan_resources,
    load_yaml,
    parse_json,
    parse_yaml,
    read_bytes,
)

FILE = Path("stack.yaml")

# Ten aliases of ten aliases ... nine levels deep: 10**9 nodes once expanded, 800 bytes.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9)
)


def problem(text: str, parse: object = parse_yaml) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, FILE)  # type: ignore[operator]
    (line,) = str(caught.value).splitlines()
    assert line.startswith("stack.yaml"), line
    return line


def test_scalars_read_as_yaml_1_2_core_reads_them() -> None:
    doc = parse_yaml(
        "a: 1\nb: yes\nc: 1:30\nd: 0777\ne: 0o17\nf: 0x1F\ng: 2024-01-01\nh: 1_000\n"
        "i: .inf\nj: ~\nk: True\nl: 1e3\nm: '1'\nn: off\n",
        FILE,
    )
    assert doc == {
        "a": 1,
        "b": "yes",  # YAML 1.1 made these booleans; Pulumi's parser (1.2) does not
        "c": "1:30",  # 1.1: 90
        "d": "0777",  # octal in 1.1, decimal in 1.2: neither guessed
        "e": 15,
        "f": 31,
        "g": "2024-01-01",  # no dates
        "h": "1_000",
        "i": float("inf"),
        "j": None,
        "k": True,
        "l": 1000.0,
        "m": "1",
        "n": "off",
    }


def test_duplicate_key_names_both_lines() -> None:
    line = problem("traffic:\n  blue: 50\n  green: 0\n  blue: 100\n")
    assert "line 4, column 3" in line
    assert "key 'blue' appears twice in one mapping, on lines 2 and 4" in line
    flow = problem("traffic: {blue: 50, blue: 100}")
    assert "key 'blue' appears twice in one mapping, on line 1 twice" in flow


def test_a_second_section_block_is_a_duplicate() -> None:
    text = "config:\n  amlkit:monitoring:\n    alerts: {}\n  amlkit:monitoring:\n    x: 1\n"
    assert "'amlkit:monitoring' appears twice in one mapping, on lines 2 and 4" in problem(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1: x", "key '1' reads as a number; keys must be strings (quote it)"),
        ("true: x", "key 'true' reads as a boolean"),
        ("~: x", "reads as a null"),
        ("a: !!binary aGVsbG8=", "could not determine a constructor for the tag"),
        ("a: !!python/object:os.system x", "could not determine a constructor for the tag"),
        ("a: !custom x", "could not determine a constructor for the tag '!custom'"),
        ("a: 1\n---\nb: 2\n", "expected a single document"),
        ("a: [unclosed", "is not valid YAML"),
        ("a: \x00", "special characters are not allowed"),
        ("a: " + "9" * 5000, "an integer with too many digits"),
    ],
)
def test_what_yaml_refuses(text: str, says: str) -> None:
    assert says in problem(text)


def test_billion_laughs_fails_at_once_with_its_line() -> None:
    line = problem(BILLION_LAUGHS)
    assert f"expands to more than {MAX_NODES:,} nodes" in line
    assert "line 5" in line  # the first alias level past the cap, not the end of the file


def test_aliases_within_the_bounds_are_expanded() -> None:
    doc = parse_yaml("base: &b {cpu: 1}\nx: *b\ny: *b\n", FILE)
    assert doc == {"base": {"cpu": 1}, "x": {"cpu": 1}, "y": {"cpu": 1}}


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert "alias *a refers to a node that contains it" in problem("a: &a [1, *a]")


def test_nesting_is_bounded_with_and_without_aliases() -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert f"nests deeper than {MAX_DEPTH} levels" in problem(deep)
    # Each anchor nests 40 levels and holds the previous one: 80 levels expanded.
    inner = "&a " + "[" * 40 + "]" * 40
    outer = "[" * 40 + "*a" + "]" * 40
    assert "once aliases are expanded" in problem(f"a: {inner}\nb: {outer}\n")
    assert parse_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, FILE) is not None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": 1, "a": 2}', "key 'a' appears twice in one object"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": Infinity}', "Infinity is not a JSON number"),
        ('{"a": [1, 2}', "line 1, column 12: is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, f"it nests deeper than {MAX_DEPTH} levels"),
        ('{"a": "[[[[' + "[" * 100 + '"}x', "is not valid JSON"),  # brackets in strings count not
    ],
)
def test_what_json_refuses(text: str, says: str) -> None:
    assert says in problem(text, parse_json)


def test_json_within_the_bounds_parses() -> None:
    text = json.dumps({"resources": [{"urn": "u", "nested": [[[[{"deep": "[{"}]]]]}]})
    assert parse_json(text, FILE)["resources"][0]["nested"][0][0][0][0] == {"deep": "[{"}


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    cases = {
        Path("/dev/zero"): "is not a regular file (a device, FIFO or socket)",
        fifo: "is not a regular file (a device, FIFO or socket)",  # read without waiting
        tmp_path: "is a folder, not a file",
        tmp_path / "none.yaml": "file not found",
    }
    for path, says in cases.items():
        with pytest.raises(ConfigError) as caught:
            read_bytes(path)
        assert says in str(caught.value), path


def test_files_over_the_cap_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 10)
    assert read_bytes(big, limit=50) == b"a: 1\n" * 10
    with pytest.raises(ConfigError) as caught:
        read_bytes(big, limit=49)
    assert "is larger than 0 KiB" in str(caught.value)


def test_text_must_be_utf8(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_yaml(latin)
    assert "is not UTF-8 text (byte 6)" in str(caught.value)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_json(bom) == {"a": 1}


def test_plan_files_must_hold_resources(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resources": [{"urn": "u", "type": "t", "name": "n"}]}))
    assert load_plan_resources(plan) == [{"urn": "u", "type": "t", "name": "n"}]
    for document, says in [
        ([], "is not an amlkit plan: no `resources` list"),
        ({"resources": [1]}, "resources[0]: must be an object"),
        ({"resources": [{"urn": "u", "type": 2, "name": "n"}]}, "resources[0].type: must be"),
        ({"resources": [{"urn": "u", "type": "t", "name": "n", "inputs": []}]}, ".inputs"),
    ]:
        plan.write_text(json.dumps(document))
        with pytest.raises(ConfigError) as caught:
            load_plan_resources(plan)
        assert says in str(caught.value)


def test_a_text_is_parsed_once_and_each_caller_gets_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import amlkit.specs.loader as loader

    calls: list[Path] = []
    real = loader.parse_yaml

    def counting(text: str, path: Path) -> object:
        calls.append(path)
        return real(text, path)

    monkeypatch.setattr(loader, "parse_yaml", counting)
    stack = tmp_path / "stack.yaml"
    stack.write_text("config: {a: [1, 2]}\n")
    first = load_yaml(stack)
    first["config"]["a"].append(3)
    assert load_yaml(stack) == {"config": {"a": [1, 2]}}
    assert len(calls) == 1
    stack.write_text("config: {a: [1]}\n")  # a new text is parsed anew
    assert load_yaml(stack) == {"config": {"a": [1]}}
    assert len(calls) == 2
