"""Fetching sound audio: sounds/s against a loopback server that injects slow, failing,
expired and oversized answers, with the executors' concurrency against one at a time.

The mix, per 20 sounds: 14 served at once, 2 after 0.5 s, 1 that fails with a 500 once,
1 expired (404), 1 web page, 1 oversized. Every fetch goes through
:func:`batch.listening.fetch.fetch_audio` with its real timeouts and backoff.

    .venv/bin/python tests/benchmarks/bench_fetch.py [--sounds 400]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.listening.fetch import fetch_audio  # noqa: E402
from batch.listening.listen import CONCURRENCY  # noqa: E402
from tests.sound_server import serving  # noqa: E402


def urls(server, n: int, run: str) -> list[str]:
    out = []
    for i in range(n):
        kind = i % 20
        name = f"s{i % 50}.mp3"
        if kind < 14:
            out.append(server.url(f"sounds/{name}"))
        elif kind < 16:
            out.append(server.url(f"slow/0.5/{name}"))
        elif kind == 16:
            out.append(server.url(f"flaky/{run}-{i}.mp3"))
        elif kind == 17:
            out.append(server.url(f"status/404?{i}"))
        elif kind == 18:
            out.append(server.url("html"))
        else:
            out.append(server.url("big?chunks=400"))
    return out


def fetch_all(targets: list[str], workers: int) -> tuple[float, collections.Counter]:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda u: fetch_audio(u, allow_private=True), targets))
    return time.perf_counter() - started, collections.Counter(r.status for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sounds", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(50):  # 128 kbps mp3 of about 30 s: 480 KB
            Path(tmp, f"s{i}.mp3").write_bytes(b"ID3\x04" + bytes(range(256)) * 1875)
        with serving(Path(tmp)) as server:
            for i in range(args.sounds):
                if i % 20 == 16:
                    for run in ("one", "many"):
                        Path(tmp, f"{run}-{i}.mp3").write_bytes(b"ID3\x04" + b"\0" * 1000)
            one, statuses = fetch_all(urls(server, args.sounds, "one"), 1)
            many, statuses_many = fetch_all(urls(server, args.sounds, "many"), CONCURRENCY)
    print(f"{args.sounds} sounds: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    assert statuses == statuses_many, (statuses, statuses_many)
    print(f"one at a time:            {args.sounds / one:7.1f} sounds/s ({one:.1f} s)   1.00x")
    print(f"{CONCURRENCY} at a time (one task):  {args.sounds / many:7.1f} sounds/s ({many:.1f} s)  "
          f"{one / many:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
