"""What the policy checks add to `amlkit plan --stack S` (target: under 1 s for prod).

Two parts, both measured here: importing the pack's code in a process that has
already imported what `amlkit plan` needs to render (a new process each run, as the
CLI imports the checks lazily), and running the 25 rules over the rendered plan at
the stack's own levels (in process, the plan rendered once). Results go to the
"Policy checks" section of bench/README.md.

    .venv/bin/python bench/policy_bench.py [--stacks prod] [--runs 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
START, END = "<!-- policy-bench:start -->", "<!-- policy-bench:end -->"
TARGET_S = 1.0

# amlkit.plan_view imports the checks itself, so the "before" imports are plan_view's
# other dependencies.
_IMPORT = """
import time
import amlkit.plan.render, rich.table, rich.tree  # what `amlkit plan` imports to render
import pulumi_azure_native.machinelearningservices
started = time.perf_counter()
import amlkit.plan.policy_check  # the pack's rules, pulumi_policy
print(time.perf_counter() - started)
"""


def import_seconds() -> float:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def check_seconds(stack: str, runs: int) -> tuple[list[float], int, int]:
    from amlkit.plan.policy_check import check_stack
    from amlkit.plan.render import plan_document, render
    from amlkit.specs.project import find_project

    project = find_project(ROOT)
    spec = project.load_spec(stack)
    document = plan_document(project, stack, render(project, stack))
    times = []
    violations = 0
    for _ in range(runs):
        started = time.perf_counter()
        report = check_stack(project, stack, spec, document)
        times.append(time.perf_counter() - started)
        violations = len(report.violations)
    return times, len(document["resources"]), violations


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stacks", nargs="+", default=["prod"])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    imports = [import_seconds() for _ in range(max(3, args.runs // 4))]
    rows = []
    for stack in args.stacks:
        times, resources, violations = check_seconds(stack, args.runs)
        total = statistics.median(imports) + statistics.median(times)
        rows.append((stack, resources, violations, statistics.median(times), max(times), total))
        print(
            f"{stack}: {resources} resources, {violations} violations; rules median "
            f"{statistics.median(times) * 1000:.1f} ms (max {max(times) * 1000:.1f}); import "
            f"median {statistics.median(imports) * 1000:.0f} ms; added {total:.2f} s"
        )

    command = "python bench/policy_bench.py " + " ".join(sys.argv[1:])
    table = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, with `{command.strip()}`. Import: `amlkit.policy_check` "
        f"(pulumi_policy and the 25 rules) in a new process that already imported what "
        f"rendering needs, median of {len(imports)}. Rules: `check_stack` over the rendered "
        f"plan at the stack's own levels, median of {args.runs}. Target: under "
        f"{TARGET_S:.0f} s added to `amlkit plan`.",
        "",
        "| stack | resources | violations | rules median ms | rules max ms | import median ms | added s | target met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for stack, resources, violations, median, high, total in rows:
        table.append(
            f"| {stack} | {resources} | {violations} | {median * 1000:.1f} | {high * 1000:.1f} "
            f"| {statistics.median(imports) * 1000:.0f} | {total:.2f} | "
            f"{'yes' if total < TARGET_S else 'no'} |"
        )
    section = "\n".join([START, "## Policy checks", "", *table, END])
    text = README.read_text(encoding="utf-8")
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text, encoding="utf-8")
    print(f"results written to {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
