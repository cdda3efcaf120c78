"""Benchmark amlkit-serve against Azure ML's own inference server (azmlinfsrv), side by side.

Both serve the sample model (runtime-image/sample/train.py) behind the same Azure-style
`sample/onlinescoring/score.py`, on 127.0.0.1, all up at once; each scenario runs
`--repeat` times, alternating between the servers (the 2 cores are shared with
whatever else runs, so interleaving gives every server the same background), and
the medians are reported. Scenarios (wrk, 1 thread):
- 1 connection, 1-row bodies (latency);
- 64 connections, 1-row bodies (throughput);
- 8 connections, 100-row bodies;
- amlkit-serve with micro-batching on (AMLKIT_MICROBATCH_MAX_WAIT_MS), 64 connections, 1-row;
- amlkit-serve with its event loop thread left in SCHED_OTHER (AMLKIT_LOOP_SCHED_BATCH=0),
  64 connections, 1-row, and 8 connections, 100-row: what sched.py's SCHED_BATCH is worth.
Each run also records the server's CPU time a request (all its processes, from /proc),
and the latency of a health probe (`GET /`, the route both servers have, a new connection
every 100 ms; a kubelet probes the same way, every 10 s) sent while the load runs.

azmlinfsrv runs at its best: WORKER_COUNT=2, AZUREML_LOG_LEVEL=WARNING, stdout (the
gunicorn access log) sent to /dev/null. amlkit-serve runs with 2 workers and its
default logging (one JSON access line a request, also to /dev/null).

azmlinfsrv 1.5.1 is a dev dependency (the differential tests run it too), so it runs from
the same venv, with the same scikit-learn. wrk must be installed: `apt-get install -y wrk`.

Targets (issue 13), one run, side by side: 1-row @64 >= 2.8x azmlinfsrv req/s with a lower
p99; 100-row @8 >= 2x; micro-batching on >= 8x on 1-row @64 with a p99 below
azmlinfsrv's; zero non-2xx.

    .venv/bin/python bench/serve_bench.py [--duration 5] [--repeat 3] [--write-readme]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# bench/ holds scripts, not a package: its shared module imports from the scripts' folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import replace_section

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "runtime-image" / "sample"
SECTION = "## Online scoring server"
AZMLINFSRV_VERSION = "1.5.1"
SCHED_OTHER = "amlkit-serve, loop thread in SCHED_OTHER"

WRK_LUA = r"""
local f = io.open(os.getenv("BODY_FILE"), "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/json"
local non2xx = 0
response = function(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.3f %.3f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status + e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    server: str
    load: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_us: float  # server CPU time (all its processes and threads) per request
    probe_p99_ms: float  # a health probe's latency while the load ran (all repeats together)


class _Prober:
    """Sends `GET /` on a new connection every 100 ms while the load runs; the latencies.

    Rare enough to cost the servers under 1% of their capacity (azmlinfsrv's ~1 ms of CPU
    a request, 10 a second, on 2 cores)."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._stop = threading.Event()
        self.latencies_ms: list[float] = []
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self) -> _Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _probe(self) -> None:
        while not self._stop.wait(0.1):
            start = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
            except OSError:
                continue
            finally:
                connection.close()
            self.latencies_ms.append((time.perf_counter() - start) * 1000)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by `root` and every process under it."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo += [child for child, (parent, _) in stats.items() if parent == pid]
    return total / tick


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _azmlinfsrv() -> Path:
    binary = Path(sys.executable).with_name("azmlinfsrv")
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: run `make setup` (azmlinfsrv is a dev dependency)")
    return binary


def _wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def _start(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"), start_new_session=True
    )
    try:
        _wait_healthy(port, process)
    except RuntimeError as exc:
        _stop(process)
        raise RuntimeError(f"{command[0]}: {exc}; its log:\n{log.read_text()[-3000:]}") from None
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wrk(
    port: int, connections: int, body: Path, lua: Path, duration: int
) -> tuple[int, float, float, float, int]:
    threads = (
        1  # one wrk thread drives 64 connections at these rates and leaves the cores to the servers
    )
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        f"http://127.0.0.1:{port}/score",
    ]
    out = subprocess.run(
        command,
        env={**os.environ, "BODY_FILE": str(body)},
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\S+) (\S+) (\S+) (\d+)", out)
    if match is None:
        raise RuntimeError(f"no result from wrk: {out}")
    return int(match[1]), float(match[2]), float(match[3]), float(match[4]), int(match[5])


def run(duration: int, repeats: int) -> tuple[list[Result], str]:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), then run again"
        )
    azmlinfsrv = _azmlinfsrv()
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    try:
        model_dir, app_root = work / "model", work / "app"
        app_root.mkdir()
        subprocess.run(
            [sys.executable, str(SAMPLE / "train.py"), "--output", str(model_dir)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        shutil.copy(SAMPLE / "onlinescoring" / "score.py", app_root / "score.py")
        rng = random.Random(0)
        bodies = {}
        for rows in (1, 100):
            path = work / f"rows{rows}.json"
            path.write_text(
                json.dumps(
                    {
                        "data": [
                            [round(rng.uniform(-3, 3), 4) for _ in range(20)] for _ in range(rows)
                        ]
                    }
                )
            )
            bodies[rows] = path
        lua = work / "post.lua"
        lua.write_text(WRK_LUA)
        loads = [("1 conn, 1 row", 1, 1), ("64 conns, 1 row", 64, 1), ("8 conns, 100 rows", 8, 100)]
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AMLKIT_", "AZUREML_", "AML_"))
        }
        base_env.update(
            AML_APP_ROOT=str(app_root), AZUREML_MODEL_DIR=str(model_dir), WORKER_COUNT="2"
        )
        amlkit = str(Path(sys.executable).with_name("amlkit-serve"))
        servers = [
            (
                "azmlinfsrv 1.5.1",
                [
                    str(azmlinfsrv),
                    "--entry_script",
                    str(app_root / "score.py"),
                    "--model_dir",
                    str(model_dir),
                ],
                {"AZUREML_LOG_LEVEL": "WARNING"},
                loads,
            ),
            (
                "amlkit-serve",
                [
                    amlkit,
                    "--entry_script",
                    str(app_root / "score.py"),
                    "--model_dir",
                    str(model_dir),
                ],
                {},
                loads,
            ),
            (
                "amlkit-serve, micro-batching",
                [
                    amlkit,
                    "--entry_script",
                    str(app_root / "score.py"),
                    "--model_dir",
                    str(model_dir),
                ],
                {"AMLKIT_MICROBATCH_MAX_WAIT_MS": "5", "AMLKIT_MICROBATCH_MAX_ROWS": "256"},
                [("1 conn, 1 row", 1, 1), ("64 conns, 1 row", 64, 1)],
            ),
            (
                SCHED_OTHER,
                [
                    amlkit,
                    "--entry_script",
                    str(app_root / "score.py"),
                    "--model_dir",
                    str(model_dir),
                ],
                {"AMLKIT_LOOP_SCHED_BATCH": "0"},
                [("64 conns, 1 row", 64, 1), ("8 conns, 100 rows", 8, 100)],
            ),
        ]
        # All servers run at once and the scenarios alternate between them, repeated:
        # the cores are shared with other work, and interleaving exposes every server
        # to the same background load. Each figure is the median over the repeats.
        processes: list[subprocess.Popen[bytes]] = []
        try:
            ports, roots = {}, {}
            for name, command, env, _ in servers:
                port = _free_port()
                log = work / f"{len(processes)}.log"
                processes.append(
                    _start([*command, "--port", str(port)], {**base_env, **env}, port, log)
                )
                ports[name] = port
                roots[name] = processes[-1].pid
                _wrk(port, 64, bodies[1], lua, 2)  # warm-up
            samples: dict[
                tuple[str, str], list[tuple[int, float, float, float, int, float, list[float]]]
            ] = {}
            for repeat in range(repeats):
                for load, connections, rows in loads:
                    for name, _, _, server_loads in servers:
                        if load not in [entry[0] for entry in server_loads]:
                            continue
                        print(
                            f"[{repeat + 1}/{repeats}] {name}: {load}, {duration}s", file=sys.stderr
                        )
                        cpu_before = _tree_cpu_s(roots[name])
                        with _Prober(ports[name]) as prober:
                            stats = _wrk(ports[name], connections, bodies[rows], lua, duration)
                        cpu_us = (_tree_cpu_s(roots[name]) - cpu_before) / max(stats[0], 1) * 1e6
                        samples.setdefault((name, load), []).append(
                            (*stats, cpu_us, prober.latencies_ms)
                        )
        finally:
            for process in processes:
                _stop(process)
        results = []
        for (name, load), runs in samples.items():
            results.append(
                Result(
                    name,
                    load,
                    sum(r[0] for r in runs),
                    statistics.median(r[1] for r in runs),
                    statistics.median(r[2] for r in runs),
                    statistics.median(r[3] for r in runs),
                    sum(r[4] for r in runs),
                    statistics.median(r[5] for r in runs),
                    _p99([ms for r in runs for ms in r[6]]),
                )
            )
        return results, _verdict(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _find(results: list[Result], server: str, load: str) -> Result:
    return next(r for r in results if r.server == server and r.load == load)


def _verdict(results: list[Result]) -> str:
    az64 = _find(results, "azmlinfsrv 1.5.1", "64 conns, 1 row")
    az100 = _find(results, "azmlinfsrv 1.5.1", "8 conns, 100 rows")
    ours64 = _find(results, "amlkit-serve", "64 conns, 1 row")
    ours100 = _find(results, "amlkit-serve", "8 conns, 100 rows")
    batch64 = _find(results, "amlkit-serve, micro-batching", "64 conns, 1 row")
    other100 = _find(results, SCHED_OTHER, "8 conns, 100 rows")
    other64 = _find(results, SCHED_OTHER, "64 conns, 1 row")

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = [
        f"- 1 row @64: {ours64.rps / az64.rps:.2f}x req/s (target >= 2.8x: {met(ours64.rps >= 2.8 * az64.rps)}), "
        f"p99 {ours64.p99_ms:.1f} vs {az64.p99_ms:.1f} ms (target lower: {met(ours64.p99_ms < az64.p99_ms)})",
        f"- 100 rows @8: {ours100.rps / az100.rps:.2f}x (target >= 2x: {met(ours100.rps >= 2 * az100.rps)})",
        f"- server CPU time a request, 1 row @64: {ours64.cpu_us:,.0f} vs {az64.cpu_us:,.0f} µs "
        f"({az64.cpu_us / ours64.cpu_us:.2f}x less)",
        f"- micro-batching, 1 row @64: {batch64.rps / az64.rps:.2f}x (target >= 8x: {met(batch64.rps >= 8 * az64.rps)}), "
        f"p99 {batch64.p99_ms:.1f} vs {az64.p99_ms:.1f} ms (target lower: {met(batch64.p99_ms < az64.p99_ms)})",
        f"- the event loop thread in SCHED_BATCH (the default) against SCHED_OTHER "
        f"(AMLKIT_LOOP_SCHED_BATCH=0): 100 rows @8 {ours100.rps / other100.rps:.2f}x the req/s "
        f"({ours100.cpu_us:,.0f} vs {other100.cpu_us:,.0f} µs of server CPU a request), "
        f"1 row @64 {ours64.rps / other64.rps:.2f}x",
        f"- health probe `GET /` during 100 rows @8, p99: amlkit-serve {ours100.probe_p99_ms:.1f} ms, "
        f"with SCHED_OTHER {other100.probe_p99_ms:.1f} ms, azmlinfsrv {az100.probe_p99_ms:.1f} ms",
        f"- non-2xx answers of amlkit-serve: {sum(r.non_2xx for r in results if r.server != 'azmlinfsrv 1.5.1')} "
        f"(azmlinfsrv: {sum(r.non_2xx for r in results if r.server == 'azmlinfsrv 1.5.1')})",
    ]
    return "\n".join(lines)


def _table(results: list[Result]) -> str:
    order = {
        load: i for i, load in enumerate(["1 conn, 1 row", "64 conns, 1 row", "8 conns, 100 rows"])
    }
    results = sorted(results, key=lambda r: (order[r.load], r.server))
    rows = [
        "| server | load | requests | req/s | p50 ms | p99 ms | non-2xx | server CPU µs/req | probe p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {r.server} | {r.load} | {r.requests:,} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.non_2xx} "
        f"| {r.cpu_us:,.0f} | {r.probe_p99_ms:.1f} |"
        for r in results
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--duration", type=int, default=5, help="seconds of load per scenario run (default 5)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each scenario; medians reported (default 3)"
    )
    parser.add_argument(
        "--write-readme",
        action="store_true",
        help=f"replace the '{SECTION}' section of bench/README.md",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results, verdict = run(args.duration, args.repeat)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "sudo apt-get install -y wrk  # once\n.venv/bin/python bench/serve_bench.py"
    command += f" --duration {args.duration} --repeat {args.repeat}" + (
        " --write-readme" if args.write_readme else ""
    )
    section = (
        f"{SECTION}\n\nMeasured {stamp} on this machine (2 cores shared by the servers and wrk, Python "
        f"{sys.version.split()[0]}) with:\n\n```\n{command}\n```\n\n"
        "The sample model (GradientBoostingClassifier, 20 features) behind the sample `onlinescoring/score.py`, "
        "2 worker processes each, all four servers up at once; wrk (1 thread) on 127.0.0.1. Each scenario ran "
        f"{args.repeat} times for {args.duration} s, alternating between the servers; req/s, p50 and p99 are the "
        "medians of those runs, requests and non-2xx their sums. Server CPU µs/req is the CPU time (user + "
        "system) of the server's processes during a run divided by its requests (median): other work on the "
        "cores moves it less than req/s, though it still varies by some 20% between runs here. Probe p99 is the "
        "99th percentile of a health probe's latency (`GET /` on a new connection every 100 ms during the load; "
        "all the scenario's runs together). Other work on the machine: 1-minute load average "
        f"{load_before:.2f} before the servers started.\n\n"
        f"{_table(results)}\n\n{verdict}\n"
    )
    print(section)
    if args.write_readme:
        replace_section(SECTION, section)


if __name__ == "__main__":
    main()
