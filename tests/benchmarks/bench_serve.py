"""Parallel uploads against the running server: gunicorn (``python -m webapp.serve``, what
``make serve`` runs) against Flask's development server (what it ran before), same store, same run.

The store is bench_webapp's: 100,000 songs and 300,000 TikTok videos in a fresh
embedded PostgreSQL. Each client posts real 30 s mp3 clips to ``/api/search`` in a loop,
over HTTP on loopback, for the given time; the clients run on the same 2 cores.

    .venv/bin/python tests/benchmarks/bench_serve.py [--tracks 100000] [--seconds 60] [--clients 8,32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_webapp import bench_clips, build_store  # noqa: E402

from tests.conftest import free_port  # noqa: E402

SERVERS = {
    "flask run (before)": lambda port: [sys.executable, "-m", "flask", "--app", "webapp", "run",
                                        "--port", str(port)],
    "gunicorn (now)": lambda port: [sys.executable, "-m", "webapp.serve", "--port", str(port)],
}


def load(base: str, uploads: list[tuple[bytes, str]], clients: int, seconds: float):
    """(uploads/s, p50 s, p95 s, Counter of outcomes) of ``clients`` looping for ``seconds``."""
    done, outcomes, stop = [], Counter(), threading.Event()
    lock = threading.Lock()

    def client(i: int):
        session = requests.Session()
        n = i
        while not stop.is_set():
            data, name = uploads[n % len(uploads)]
            n += 1
            started = time.perf_counter()
            try:
                r = session.post(base + "/api/search", files={"file": (name, data)}, timeout=120)
                outcome = str(r.status_code) if r.status_code != 503 else f"503 {r.json()['error'][:40]}"
            except requests.RequestException as e:
                outcome = type(e).__name__
            with lock:
                outcomes[outcome] += 1
                if outcome == "200":
                    done.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    times = np.asarray(done) if done else np.asarray([np.nan])
    return len(done) / elapsed, float(np.median(times)), float(np.percentile(times, 95)), outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="per run (default 60)")
    parser.add_argument("--clients", default="8,32", help="client counts (default 8,32)")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    clips = bench_clips()
    uploads = [(c.read_bytes(), c.name) for c in clips]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server, url = build_store(Path(tmp), args.tracks, clips, np.random.default_rng(0))
        env = {**os.environ, "DATABASE_URL": url}
        for label, command in SERVERS.items():
            port = free_port()
            with open(Path(tmp) / "server.log", "w") as log:
                proc = subprocess.Popen(command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
                base = f"http://127.0.0.1:{port}"
                try:
                    deadline = time.monotonic() + 60
                    while True:
                        try:
                            if requests.get(base + "/api/genres", timeout=5).status_code == 200:
                                break
                        except requests.ConnectionError:
                            pass
                        if time.monotonic() > deadline:
                            raise SystemExit(f"{label} did not start: see {log.name}")
                        time.sleep(0.3)
                    load(base, uploads, 2, 5)  # warm-up: imports, filter banks, pools
                    for clients in counts:
                        rate, p50, p95, outcomes = load(base, uploads, clients, args.seconds)
                        rows.append((label, clients, rate, p50, p95, outcomes))
                        print(f"  {label}, {clients} clients: {rate:.1f} uploads/s", flush=True)
                finally:
                    proc.terminate()
                    proc.wait(30)
        server.cleanup()

    print(f"\n{args.seconds:.0f} s per run, 30 s 44.1 kHz stereo mp3 uploads, {os.cpu_count()} cores")
    print(f"{'server':<20} {'clients':>7} {'uploads/s':>10} {'p50 ms':>8} {'p95 ms':>8}  outcomes")
    for label, clients, rate, p50, p95, outcomes in rows:
        print(f"{label:<20} {clients:>7} {rate:>10.1f} {p50 * 1000:>8.0f} {p95 * 1000:>8.0f}  "
              + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    base = {c: r for label, c, r, *_ in rows if label.startswith("flask")}
    for label, clients, rate, *_ in rows:
        if not label.startswith("flask") and base.get(clients):
            print(f"gunicorn / flask run at {clients} clients: {rate / base[clients]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
