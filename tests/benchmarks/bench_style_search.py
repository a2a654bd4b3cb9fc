"""Filtered style search at catalogue size: latency with tempo and key filters against none.

Builds a ``--tracks`` catalogue (100,000 by default) in a fresh embedded PostgreSQL with
the product's own loader: the 245 numbers shaped like audio features as in
``bench_search.py``, a 200-number style embedding drawn from the same latent styles,
tempos spread over 60-180 BPM and keys over the 24. Then, for held-out queries over all
genres and within one, it times (p50, ms) the default search (style view, index
candidates re-ranked by mutual proximity, :func:`batch.store.search.style_search`)
without filters and with each filter, prints each filtered search's ratio to the
unfiltered one, and checks it against the exact search's answer (recall@10).

    .venv/bin/python tests/benchmarks/bench_style_search.py [--tracks 100000] [--queries 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.store import db, search  # noqa: E402
from batch.store.load import load_catalogue  # noqa: E402
from tests.benchmarks.bench_search import (  # noqa: E402
    LATENT,
    catalogue,
    style_of,
    top_level_genres,
    write_featurize_output,
)

FILTERS = {
    "none": search.Filters(),
    "120-122 BPM": search.Filters(bpm=(120, 122)),
    "same key": search.Filters(key=(9, "minor")),
    "same or relative key": search.Filters(key=(9, "minor"), relative=True),
    "120-122 BPM, same key": search.Filters(bpm=(120, 122), key=(9, "minor")),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    genres = top_level_genres()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        features, genre_idx, draw = catalogue(args.tracks, genres, rng)
        write_featurize_output(tmp / "out", features, genre_idx, genres, rng)
        server = db.embedded_server(tmp / "pgdata", keep_running=False)
        conn = db.connect(server.get_uri())
        db.migrate(conn)
        started = time.perf_counter()
        load_catalogue(conn, tmp / "out")
        print(f"loaded {args.tracks:,} songs with style, tempo and key in {time.perf_counter() - started:.0f} s "
              f"(latent {LATENT} dims)")
        scaler = search.load_style_scaler(conn)
        held_out, held_genres = draw(args.queries)
        queries = style_of(np.vstack([features, held_out]), rng)[len(features):]
        conn.rollback()

        print(f"{'filter':24} {'scope':10} {'p50 ms':>7} {'ratio':>6} {'recall@10':>9} {'found':>6}")
        base = {}
        for name, filters in FILTERS.items():
            for scope in ("all genres", "one genre"):
                times, recall, found = [], [], []
                for f, q, g in zip(held_out, queries, held_genres):
                    genre = genres[g] if scope == "one genre" else None
                    t = time.perf_counter()
                    hits = search.style_search(conn, f, q, scaler, genre=genre, k=10, filters=filters)
                    times.append(time.perf_counter() - t)
                    conn.rollback()
                    exact = search.style_search(conn, f, q, scaler, genre=genre, k=10, filters=filters, exact=True)
                    conn.rollback()
                    truth = {h.track_id for h in exact}
                    recall.append(len(truth & {h.track_id for h in hits}) / max(1, len(truth)))
                    found.append(len(hits))
                p50 = 1e3 * float(np.median(times))
                base.setdefault(scope, p50)
                print(f"{name:24} {scope:10} {p50:7.1f} {p50 / base[scope]:6.2f} "
                      f"{np.mean(recall):9.3f} {np.mean(found):6.1f}", flush=True)
        conn.close()
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
