"""Writing the live split back into a stack file (`amlkit rollout`'s last step): only
`traffic` and `mirror_traffic` of the one endpoint change; comments, order, quoting and
the rest stay byte for byte, and the file still loads to the split written."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlkit.lifecycle.stack_yaml import set_endpoint_split

STACK = """\
# Staging: the comment on top stays.
config:
  amlkit:environment:
    name: staging  # short name
    location: westeurope
  amlkit:online_endpoints:
    - name: other
      traffic: {a: 100}
    - name: score
      traffic:
        blue: 100  # live
        green: 0
      mirror_traffic:
        green: 20
      deployments:
        - name: blue
          description: "quoted"
    - file: endpoint.yml
"""


def test_the_endpoint_split_is_rewritten_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(STACK)
    assert set_endpoint_split(path, 1, {"blue": 0, "green": 100}, {})
    assert path.read_text() == STACK.replace(
        "        blue: 100  # live\n        green: 0\n      mirror_traffic:\n        green: 20\n",
        "        blue: 0    # live\n        green: 100\n",
    )
    assert not set_endpoint_split(path, 1, {"blue": 0, "green": 100}, {})  # already so


def test_a_file_entry_gets_the_split_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(STACK)
    assert set_endpoint_split(path, 2, {"x": 90, "y": 10, "z": 0}, {"z": 5})
    assert path.read_text().endswith(
        "    - file: endpoint.yml\n      traffic:\n        x: 90\n        y: 10\n"
        "      mirror_traffic:\n        z: 5\n"
    )


def test_no_such_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(STACK)
    with pytest.raises(ValueError, match="no amlkit:online_endpoints entry 3"):
        set_endpoint_split(path, 3, {}, {})
