"""A stand-in for the `pulumi` CLI, for the Automation API to drive in tests.

It speaks the commands, flags and output the Automation API (`pulumi.automation`,
3.272) sends and parses, keeps each stack in a JSON file under the DIY backend folder
named by `PULUMI_BACKEND_URL=file://<dir>` (as the real CLI's local backend does), and
enforces what the real CLI enforces:
- `destroy` fails on a protected resource ("currently marked for protection");
- a stack with a lock file is busy: every command on it fails with the DIY backend's
  "the stack is currently locked by" (the Automation API's ConcurrentUpdateError); a
  lock may say how many refusals it lasts, as another process finishing would;
- `stack rm` refuses a stack that still has resources unless `--force`, and removes
  the stack's config file (`Pulumi.<stack>.yaml` in `stackConfigDir`);
- an unknown stack is "no stack named '<name>' found" (StackNotFoundError).
Every invocation is appended to `<dir>/calls.jsonl`, so a test sees what was run.
Run as `python pulumi_standin.py <args>` (tests put a `pulumi` wrapper on PATH).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml

VERSION = "v3.272.0"
NOW = "%Y-%m-%dT%H:%M:%S.%fZ"  # what the Automation API parses (`_DATETIME_FORMAT`)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--non-interactive"]
    if args == ["version"]:
        print(VERSION)
        return 0
    backend = _backend()
    with (backend / "calls.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(args) + "\n")
    project = _project()
    store = Store(backend, project)
    flags, rest = _split(args)
    command = " ".join(rest[:2]) if rest[:1] == ["stack"] or rest[:1] == ["state"] else rest[0]
    if rest[:3] == ["stack", "tag", "ls"]:
        return _out(store.load(flags.require("stack"))["tags"])
    if rest[:3] == ["stack", "tag", "get"]:
        tags = store.load(flags.require("stack"))["tags"]
        if rest[3] not in tags:
            _fail(f"stack tag '{rest[3]}' not found for stack '{flags.require('stack')}'")
        print(tags[rest[3]])
        return 0
    if rest[:3] == ["stack", "tag", "set"]:
        stack = store.busy_check(flags.require("stack"))
        stack["tags"][rest[3]] = rest[4]
        store.save(flags.require("stack"), stack)
        return 0
    if command == "stack select":
        store.load(flags.require("stack"))
        return 0
    if command == "stack init":
        store.init(rest[2])
        return 0
    if command == "stack ls":
        return _out(store.summaries())
    if command == "stack export":
        stack = store.busy_check(flags.require("stack"))
        return _out({"version": 3, "deployment": stack["deployment"]})
    if command == "stack history":
        return _out(list(reversed(store.load(flags.require("stack"))["history"]))[:1])
    if command == "stack rm":
        return store.remove(
            rest[2], force="--force" in flags.switches, keep="--preserve-config" in flags.switches
        )
    if command == "state unprotect" and "--all" in flags.switches:
        name = flags.require("stack")
        stack = store.busy_check(name)
        for resource in stack["deployment"]["resources"]:
            resource["protect"] = False
        store.save(name, stack)
        return 0
    if command == "destroy" and {"--yes", "--skip-preview"} <= flags.switches:
        return store.destroy(flags.require("stack"))
    _fail(f"the stand-in does not know `pulumi {' '.join(args)}`")


class Flags:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.switches: set[str] = set()

    def require(self, name: str) -> str:
        if name not in self.values:
            _fail(f"--{name} is required here")
        return self.values[name]


_VALUED = {"--stack", "--exec-kind", "--page-size", "--page", "--event-log", "--client"}


def _split(args: list[str]) -> tuple[Flags, list[str]]:
    flags, rest = Flags(), []
    items = iter(args)
    for arg in items:
        if arg in _VALUED:
            flags.values[arg[2:]] = next(items)
        elif arg.startswith("--"):
            flags.switches.add(arg)
        else:
            rest.append(arg)
    return flags, rest


class Store:
    def __init__(self, backend: Path, project: str) -> None:
        self.folder = backend / ".pulumi" / "stacks" / project
        self.locks = backend / ".pulumi" / "locks" / project

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def load(self, name: str) -> dict[str, Any]:
        if not self.path(name).exists():
            _fail(f"no stack named '{name}' found")
        data: dict[str, Any] = json.loads(self.path(name).read_text())
        return data

    def busy_check(self, name: str) -> dict[str, Any]:
        stack = self.load(name)
        folder = self.locks / name
        for lock in sorted(folder.glob("*.json")) if folder.exists() else []:
            info = json.loads(lock.read_text() or "{}")
            left = info.get("refusals")
            if left is not None and left <= 0:
                lock.unlink()  # the other process finished
                continue
            if left is not None:
                lock.write_text(json.dumps({**info, "refusals": left - 1}))
            _fail(
                "the stack is currently locked by 1 lock(s). Either wait for the other "
                "process(es) to end or delete the lock file with `pulumi cancel`.\n"
                f"  {lock}: created by {info.get('by', 'someone')}"
            )
        return stack

    def save(self, name: str, stack: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path(name).write_text(json.dumps(stack, indent=1))

    def init(self, name: str) -> None:
        if self.path(name).exists():
            _fail(f"stack '{name}' already exists")
        self.save(name, {"tags": {}, "deployment": {"resources": []}, "history": []})

    def summaries(self) -> list[dict[str, Any]]:
        out = []
        for file in sorted(self.folder.glob("*.json")) if self.folder.exists() else []:
            stack = json.loads(file.read_text())
            summary: dict[str, Any] = {
                "name": file.stem,
                "current": False,
                "updateInProgress": (self.locks / file.stem).exists(),
                "resourceCount": len(stack["deployment"]["resources"]),
            }
            if stack["history"]:
                summary["lastUpdate"] = stack["history"][-1]["endTime"]
            out.append(summary)
        return out

    def destroy(self, name: str) -> int:
        stack = self.busy_check(name)
        resources = stack["deployment"]["resources"]
        guarded = [r["urn"] for r in resources if r.get("protect")]
        if guarded:
            _fail(
                f'unable to delete resource "{guarded[0]}"\nas it is currently marked for '
                "protection. To unprotect the resource, either remove the `protect` flag from "
                "the resource in your Pulumi program and run `pulumi up`, or use the command:\n"
                f"`pulumi state unprotect '{guarded[0]}'`"
            )
        print(f"Destroying ({name}):")
        for resource in reversed(resources):
            print(f" - {resource['type']} {resource['urn'].rsplit('::', 1)[-1]} deleted")
        print(f"Resources:\n    - {len(resources)} deleted")
        now = datetime.now(UTC).strftime(NOW)
        stack["history"].append(
            {
                "kind": "destroy",
                "startTime": now,
                "endTime": now,
                "message": "",
                "environment": {"exec.kind": "auto.local"},
                "config": {},
                "result": "succeeded",
                "version": len(stack["history"]) + 1,
                "resourceChanges": {"delete": len(resources)},
            }
        )
        stack["deployment"]["resources"] = []
        self.save(name, stack)
        return 0

    def remove(self, name: str, *, force: bool, keep: bool) -> int:
        stack = self.busy_check(name)
        if stack["deployment"]["resources"] and not force:
            _fail(
                f"'{name}' still has resources; removal rejected. Possible actions:\n"
                f"- Make sure that '{name}' is the stack that you want to destroy\n"
                "- Run `pulumi destroy` to delete the resources, then run `pulumi stack rm`\n"
                "- Run `pulumi stack rm --force` to override this error"
            )
        self.path(name).unlink()
        if not keep:
            config_dir = Path.cwd() / str(_pulumi_yaml().get("stackConfigDir") or ".")
            (config_dir / f"Pulumi.{name}.yaml").unlink(missing_ok=True)
        print(f"Stack '{name}' has been removed!")
        return 0


def _backend() -> Path:
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    if not url.startswith("file://"):
        _fail("the stand-in serves a DIY backend only: set PULUMI_BACKEND_URL=file://<dir>")
    return Path(url.removeprefix("file://"))


def _pulumi_yaml() -> dict[str, Any]:
    file = Path.cwd() / "Pulumi.yaml"
    if not file.exists():
        _fail("no Pulumi.yaml project file found")
    data: dict[str, Any] = yaml.safe_load(file.read_text())
    return data


def _project() -> str:
    return str(_pulumi_yaml()["name"])


def _out(value: Any) -> int:
    print(json.dumps(value, indent=4))
    return 0


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(255)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
