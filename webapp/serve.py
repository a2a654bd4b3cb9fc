"""Serve the web app with gunicorn, sized to the machine: what ``make serve`` and ``make demo`` run.

    python -m webapp.serve [--host 127.0.0.1] [--port 5000] [--workers N] [--threads N]

Uploads are CPU-bound (decoding and an STFT), so there is one worker process per core,
each with a few threads for the time spent waiting on the store. Requests beyond
workers x threads wait in the listen queue; each worker's connection pool
(``DB_POOL_SIZE``) is at least its threads. Settings come from the environment, as
``webapp.SETTINGS`` lists. ``make dev`` runs Flask's development server instead.
"""

from __future__ import annotations

import argparse
import os
import sys

THREADS = 4


def build_parser() -> argparse.ArgumentParser:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser = argparse.ArgumentParser(prog="python -m webapp.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--workers", type=int, default=cores,
                        help=f"worker processes (default: one per core, {cores} here)")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"threads per worker (default {THREADS})")
    parser.add_argument("--timeout", type=int, default=60,
                        help="seconds before a stuck worker is restarted (default 60)")
    return parser


def gunicorn_argv(args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
            "--workers", str(args.workers), "--threads", str(args.threads),
            "--bind", f"{args.host}:{args.port}", "--timeout", str(args.timeout),
            "--backlog", "2048", "--access-logfile", "-", "--log-level", "warning",
            "--logger-class", "webapp.access_log.AccessLog", "webapp:create_app()"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("port", "workers", "threads", "timeout"):
        if getattr(args, name) < (0 if name == "port" else 1) or (name == "port" and args.port > 65535):
            parser.error(f"--{name} is out of range: {getattr(args, name)}")
    from webapp import SETTINGS

    pool = int(os.environ.get("DB_POOL_SIZE") or next(d for n, d, _ in SETTINGS if n == "DB_POOL_SIZE"))
    if pool < args.threads:
        parser.error(f"DB_POOL_SIZE ({pool}) is smaller than --threads ({args.threads}): "
                     "threads would wait for connections")
    print(f"serving on http://{args.host}:{args.port} with {args.workers} worker(s) x "
          f"{args.threads} threads (Ctrl-C stops it)", flush=True)
    # One key for every worker: a watch offer signed by one worker must open in another.
    if not os.environ.get("SECRET_KEY"):
        import secrets

        os.environ["SECRET_KEY"] = secrets.token_hex(32)
    os.execv(sys.executable, gunicorn_argv(args))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
