"""Thread scheduling in a worker: the event loop does not preempt run() on every wake-up.

A worker has two busy threads: the event loop (reading requests, sending answers) and a
scoring thread (run()). Both need the GIL. Under Linux's default policy (SCHED_OTHER) a
thread that wakes up may preempt the one running on its core at once, so every request
arriving and every result handed back woke the loop, which preempted the scoring thread
in the middle of run() while it held the GIL, found the GIL taken, and slept again: at
100-row requests and 8 connections on 2 cores, about three context switches a request
per thread pair, and run() slowed by the cache it lost each time.

The loop thread is therefore put in SCHED_BATCH: the kernel does not let a SCHED_BATCH
thread preempt a running one when it wakes; it runs when the scoring thread blocks (on
the next job, or releasing the GIL) or at the end of its time slice. Nothing else
changes: same nice value, same share of CPU, and the loop still answers probes while
run() runs. Measured at 100 rows @8 connections on 2 cores (bench/README.md): context
switches a request per thread from about 3 to under 0.5, server CPU a request from
719 to 606 µs, 1.22x the requests/s, and a health probe's p99 during that load 4.5 ms
against 3.4 ms (7.2 against 15.7 ms with a busy process competing for the cores).

The scoring threads, created later by the loop thread, would inherit SCHED_BATCH: they
put back the policy the worker had (`restore_in_scoring_thread`). Only SCHED_OTHER is
changed: a worker started under another policy (`chrt`) keeps it. On systems without
SCHED_BATCH (macOS), or where the call is refused (a seccomp profile), nothing changes.
AMLKIT_LOOP_SCHED_BATCH=0 turns it off.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("amlkit.serve")

_demoted_from: int | None = None  # the policy the loop thread had before SCHED_BATCH


def batch_loop_thread() -> None:
    """Put the calling thread (the event loop's) in SCHED_BATCH, if it is in SCHED_OTHER."""
    global _demoted_from
    if not hasattr(os, "SCHED_BATCH") or not hasattr(os, "sched_setscheduler"):
        return
    try:
        policy = os.sched_getscheduler(0)
        if policy != os.SCHED_OTHER:
            return
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError as exc:
        logger.info("event loop thread left in its scheduling policy: %s", exc)
        return
    _demoted_from = policy


def restore_in_scoring_thread() -> None:
    """In a scoring thread: the policy the worker had, if the loop thread's was changed."""
    if _demoted_from is None:
        return
    try:
        if os.sched_getscheduler(0) == os.SCHED_BATCH:
            os.sched_setscheduler(0, _demoted_from, os.sched_param(0))
    except OSError as exc:
        logger.warning("scoring thread left in SCHED_BATCH: %s", exc)
