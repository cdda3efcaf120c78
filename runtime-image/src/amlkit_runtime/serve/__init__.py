"""amlkit-serve: Azure ML's online scoring contract (azmlinfsrv 1.5.1), served fast.

Same flags, variables, routes, headers and answers as azmlinfsrv, and the same
scoring scripts unchanged: runtime-image/tests/test_serve_differential.py runs both on
the same scripts and requests, and the README's table lists every difference.
Deliberate differences, each explained where it lives:
- ASGI on uvicorn workers (uvloop, httptools) with keep-alive, instead of gunicorn
  sync workers that close every connection (worker.py, cli.py);
- run() in a scoring thread, so `/`, `/liveness`, `/readiness` and `/metrics` answer
  while every worker is busy (runner.py); still one run() at a time per process by
  default, as under sync workers;
- `/` answers 503 until init() has finished in every worker (azmlinfsrv is not listening yet);
- limits azmlinfsrv lacks: body size (413), requests in progress per instance (429);
- optional micro-batching (batching.py), JSON access lines (access_log.py),
  Prometheus metrics over all workers (metrics.py);
- SCORING_TIMEOUT_MS also works with threads (azmlinfsrv's SIGALRM does not), and
  covers the wait for a scoring thread as well as run() itself;
- orjson encoding: compact JSON, numpy results are accepted, NaN becomes null (scoring.py);
- a request's head over 64 KiB or 100 fields is a 431 (protocol.py); a port in use is
  refused, never shared (listen.py); no App Insights telemetry (azure_env.py);
- the script's `json.loads` parses with orjson, same results (fast_json.py; AMLKIT_FAST_JSON=0
  turns it off).

Per-request bookkeeping is kept small, since at 1-row requests it competes with a
0.3 ms model call: a plain ASGI callable (app.py), a queue hand-off to the scoring
thread (runner.py), the event loop thread in SCHED_BATCH so that its wake-ups do not
preempt run() (sched.py; AMLKIT_LOOP_SCHED_BATCH=0 turns it off), each response sent
in one write (protocol.py), access lines
written once a loop turn (access_log.py), metrics counted in-process and written to
the shared files in one go (metrics.py: under load, another worker's last 100 ms can
be missing from a scrape until the next one).
"""
