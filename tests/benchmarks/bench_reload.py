"""Searches during reloads: a catalogue of 100,000 vectors, then 300,000 TikTok videos, are
reloaded while two clients search without pause; every search's time and what it saw.

Each reload runs as its own process (``python -m batch.store.load``), as a scheduled job does
beside the web app: in one process the loader's Python work would hold the GIL against
the searching threads. The old and the new data are told apart by their ids (the new catalogue's track ids
start at 1,000,000; the new videos' sound ids end in "-new"), so a search that sees
both is counted as mixed. The baseline is the same searches with no reload running,
measured in the same run, before the reload.

    .venv/bin/python tests/benchmarks/bench_reload.py [--tracks 100000] [--videos 300000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_load import videos  # noqa: E402
from bench_search import catalogue, top_level_genres, write_featurize_output  # noqa: E402

from batch.store import (
    db,  # noqa: E402
    search,
)
from batch.store.load import load_catalogue, load_tiktok  # noqa: E402
from webapp.hashtags import suggestions  # noqa: E402

NEW_TRACKS = 1_000_000


def catalogue_search(conn, draw, rng):
    """One similar-song search; 'old', 'new' or 'mixed' by the ids it returns."""
    query, _ = draw(1)
    hits = search.search(conn, query[0], k=10)
    conn.rollback()  # one search, one transaction
    kinds = {h.track_id >= NEW_TRACKS for h in hits}
    return len(hits) == 10, kinds


def tiktok_search(conn, draw, rng):
    """The hashtag suggestions for #fyp: its sounds and their videos."""
    found = suggestions(conn, ["fyp"], limit=10, videos_per=6)
    conn.rollback()
    ids = [s["music_id"] for s in found["sounds"]]
    return len(ids) == 10, {m.endswith("-new") for m in ids}


def searching(url: str, run, draw, seconds: float | None, stop: threading.Event, out: list):
    conn = db.connect(url)
    rng = np.random.default_rng(len(out))
    for _ in range(5):  # a new connection's first searches read the index from disk: not counted
        run(conn, draw, rng)
    started = time.perf_counter()
    while not stop.is_set() and (seconds is None or time.perf_counter() - started < seconds):
        t0 = time.perf_counter()
        try:
            complete, kinds = run(conn, draw, rng)
            outcome = "mixed" if len(kinds) > 1 else ("short" if not complete else "ok")
        except Exception as e:  # noqa: BLE001 - a failed search is what is counted
            outcome = f"failed: {type(e).__name__}"
            conn.rollback()
        out.append((time.perf_counter() - t0, outcome, t0))
    conn.close()


def measure(url, run, draw, seconds=None, during=None, clients=2):
    stop, out, threads = threading.Event(), [], []
    for _ in range(clients):
        threads.append(threading.Thread(target=searching, args=(url, run, draw, seconds, stop, out)))
        threads[-1].start()
    result = None
    if during is not None:
        result = during()
        measure.swapped = time.perf_counter()  # the load returns right after its swap
        time.sleep(1.0)  # and a moment after the swap
        stop.set()
    for t in threads:
        t.join()
    return out, result


def report(label: str, out: list, swapped: float | None = None) -> None:
    ms = np.asarray([t for t, *_ in out]) * 1000
    bad = {}
    for _, outcome, _ in out:
        if outcome != "ok":
            bad[outcome] = bad.get(outcome, 0) + 1
    print(f"  {label:<34} {len(out):>6} searches  p50 {np.median(ms):6.1f} ms  p99 "
          f"{np.percentile(ms, 99):6.1f} ms  max {ms.max():7.1f} ms  {bad or 'none failed or mixed'}")
    if swapped is not None:
        slow = sorted(out, key=lambda r: -r[0])[:3]
        print("    slowest three ended " + ", ".join(f"{t0 + t - swapped:+.2f} s" for t, _, t0 in slow)
              + " from the swap's end, and took " + ", ".join(f"{t * 1000:.0f} ms" for t, _, _ in slow))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--videos", type=int, default=300_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    genres = top_level_genres()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        features, genre_idx, draw = catalogue(args.tracks, genres, rng)
        write_featurize_output(tmp / "old", features, genre_idx, genres)
        write_featurize_output(tmp / "new", features, genre_idx, genres)
        for part in (tmp / "new" / "vectors").rglob("*.parquet"):
            t = pq.read_table(part)
            pq.write_table(t.set_column(0, "track_id", pc.add(t.column("track_id"), NEW_TRACKS)), part)
        v = videos(args.videos, rng)
        pq.write_table(v, tmp / "old.parquet")
        pq.write_table(v.set_column(1, "music_id", pc.binary_join_element_wise(v.column("music_id"),
                                                                                "-new", "")),
                       tmp / "new.parquet")

        server = db.embedded_server(tmp / "pgdata", keep_running=False)
        url = server.get_uri()
        conn = db.connect(url)
        db.migrate(conn)
        print(f"  {load_catalogue(conn, tmp / 'old').line()}")
        print(f"  {load_tiktok(conn, tmp / 'old.parquet').line()}")
        print("\nsearch latency, 2 clients searching without pause")
        def reload(*args):
            """The load as its own process, as a scheduled job runs it beside the web app."""
            done = subprocess.run([sys.executable, "-m", "batch.store.load", *args], cwd=ROOT, check=True,
                                  capture_output=True, text=True, env={**os.environ, "DATABASE_URL": url})
            return done.stdout.strip().splitlines()[-1]

        for name, run, again in (
                ("catalogue", catalogue_search, lambda: reload("catalogue", "--out", str(tmp / "new"))),
                ("TikTok (#fyp)", tiktok_search, lambda: reload("tiktok", "--videos", str(tmp / "new.parquet")))):
            idle, _ = measure(url, run, draw, seconds=10)
            report(f"{name}, no reload", idle)
            busy, result = measure(url, run, draw, during=again)
            report(f"{name}, during its reload", busy, measure.swapped)
            print(f"    the reload: {result}")
            assert {o for _, o, _ in busy[-5:]} == {"ok"}
        conn.close()
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
