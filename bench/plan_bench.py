"""How long `amlkit plan --stack S --json FILE` takes from a cold process.

The target (issue "The serving platform as Pulumi code"): the prod stack renders
in under 15 s on the 2-core machine. Each run is a new process, as in CI, so
imports (Pulumi, azure-native's modules) are counted. Results go to the
"Offline plan" section of bench/README.md.

    .venv/bin/python bench/plan_bench.py [--stacks dev staging prod] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
START, END = "<!-- plan-bench:start -->", "<!-- plan-bench:end -->"
TARGET_S = 15.0


def run_once(stack: str) -> tuple[float, int]:
    amlkit = Path(sys.executable).with_name("amlkit")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.json"
        started = time.perf_counter()
        subprocess.run(
            [str(amlkit), "plan", "--stack", stack, "--json", str(out), "--quiet"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
        resources = len(json.loads(out.read_text())["resources"])
    return elapsed, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", nargs="+", default=["dev", "staging", "prod"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    rows = []
    for stack in args.stacks:
        times = []
        resources = 0
        for _ in range(args.runs):
            elapsed, resources = run_once(stack)
            times.append(elapsed)
        rows.append((stack, resources, statistics.median(times), min(times), max(times)))
        print(
            f"{stack}: {resources} resources, median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f}) over {args.runs} cold runs"
        )

    command = "python bench/plan_bench.py " + " ".join(sys.argv[1:])
    table = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, with `{command.strip()}`; each run a new process "
        f"(`amlkit plan --stack S --json FILE --quiet`). Target: prod under {TARGET_S:.0f} s.",
        "",
        "| stack | resources | median s | min s | max s | target met |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for stack, resources, median, low, high in rows:
        met = "yes" if high < TARGET_S else "no"
        table.append(f"| {stack} | {resources} | {median:.2f} | {low:.2f} | {high:.2f} | {met} |")
    section = "\n".join([START, "## Offline plan", "", *table, END])
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    README.write_text(text)


if __name__ == "__main__":
    main()
