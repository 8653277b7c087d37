"""gunicorn settings for the web process; gunicorn reads ./gunicorn.conf.py by itself (the image, Compose and
the benchmark start it from the project directory).

Environment: PORT (gunicorn binds 0.0.0.0:$PORT by itself), WEB_CONCURRENCY (worker processes, default one per
core), GUNICORN_THREADS (threads per worker, default 4), GUNICORN_CMD_ARGS (anything else; it wins over this
file). Every thread holds its own database connection: plan max_connections for workers x threads per host.
"""

import multiprocessing
import os

# Threads rather than one request per process: a request waits on PostgreSQL for a good part of its time,
# which other threads use, and keep-alive connections are kept (the sync worker closes each one).
# One process per core x 4 threads (2 x 4 on two cores) measured best. gunicorn stays the server: granian's
# WSGI server (bench/run.py --server granian, 2 processes x 4 blocking threads) was measured against it in the
# same runs (December 2026, 2 shared cores) and neither was consistently cheaper per request (app CPU per
# availability request 8.2 vs 8.7 ms, booking 8.4 vs 7.7 ms; an earlier pair favoured granian). Again after
# the availability read path's rework (two runs each, CPU ratio to the yardstick, higher is cheaper): cold
# 0.37 and 0.37 with granian against 0.32 and 0.38, warm 1.06 and 0.74 against 0.92 and 0.86. A second
# server is not worth a new dependency and new deployment docs without a clear win.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Recycle workers now and then (jittered so they do not all restart at once): bounds slow memory growth.
max_requests = 10_000
max_requests_jitter = 1_000
timeout = 30
graceful_timeout = 30
keepalive = 5
