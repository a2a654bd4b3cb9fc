"""Loading TikTok videos: the product's COPY-and-swap loader against row inserts, in one run.

Generates N video rows shaped like the clean TikTok schema (titles from a pool of
50,000 sounds, hashtags, URLs, counts, timestamps), writes them to parquet, and loads
them into a fresh embedded PostgreSQL with ``batch.store.load.load_tiktok``: parquet read,
COPY into staging, then the swap (videos, derived sounds, indexes, statistics) in one
transaction. The baseline inserts a sample with psycopg2's ``execute_values``.

Usage: python tests/benchmarks/bench_load.py [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.store import db  # noqa: E402
from batch.store.load import load_tiktok  # noqa: E402

WORDS = ("love night dance summer baby heart fire dream girl party time life world "
         "moon rain city light money wild young crazy star gold blue river").split()


def videos(n: int, rng) -> pa.Table:
    n_sounds = 50_000
    sound = rng.integers(0, n_sounds, n)
    title_pool = np.array([" ".join(rng.choice(WORDS, rng.integers(1, 4))).title()
                           for _ in range(n_sounds)], dtype=object)
    title_pool[rng.random(n_sounds) < 0.05] = "99 Problems"
    ids = np.arange(n) + 6_700_000_000_000_000_000
    tags = pa.array([["fyp", "dance"], ["foryou"], [], ["viral", "music", "trend"]])
    play = rng.lognormal(8, 2, n).astype(np.int64)
    return pa.table({
        "video_id": pc.cast(pa.array(ids), pa.string()),
        "music_id": pc.cast(pa.array(sound + 6_800_000_000_000_000_000), pa.string()),
        "song_title": pa.array(title_pool[sound], pa.string()),
        "artist_name": pa.array([f"Artist {s % 9000}" for s in sound], pa.string()),
        "is_original": pa.array(rng.random(n) < 0.3),
        "video_url": pc.binary_join_element_wise("https://www.tiktok.com/@user/video/",
                                                 pc.cast(pa.array(ids), pa.string()), ""),
        "cover_url": pc.binary_join_element_wise("https://p16-sign.tiktokcdn.com/obj/",
                                                 pc.cast(pa.array(ids), pa.string()), ""),
        "play_count": pa.array(play),
        "like_count": pa.array(play // 10), "comment_count": pa.array(play // 200),
        "share_count": pa.array(play // 500),
        "created_at": pa.array(1_576_000_000_000_000 + rng.integers(0, 10**13, n),
                               pa.timestamp("us", tz="UTC")),
        "hashtags": pc.take(tags, pa.array(rng.integers(0, 4, n))),
        "author": pa.array([f"user{u}" for u in rng.integers(0, 200_000, n)], pa.string()),
    })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="videos to load (default 1000000)")
    parser.add_argument("--baseline-rows", type=int, default=50_000,
                        help="videos for the execute_values baseline (default 50000)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = videos(args.rows, rng)
        pq.write_table(table, tmp / "videos.parquet")
        server = db.embedded_server(tmp / "pgdata", keep_running=False)
        conn = db.connect(server.get_uri())
        db.migrate(conn)

        result = load_tiktok(conn, tmp / "videos.parquet")
        print(result.line())
        rate = args.rows / result.seconds
        again = load_tiktok(conn, tmp / "videos.parquet")
        print(f"rerun: {again.line()}")

        from psycopg2.extras import execute_values

        from batch.store.load import _title_buckets

        sample = table.slice(0, args.baseline_rows)
        rows = list(zip(_title_buckets(sample.column("song_title")).to_pylist(),
                        *[sample.column(c).to_pylist() for c in sample.column_names]))
        with conn.cursor() as cur:
            cur.execute("TRUNCATE tiktok_videos")
            started = time.perf_counter()
            execute_values(cur, f"INSERT INTO tiktok_videos (title_bucket, {', '.join(sample.column_names)}) "
                           "VALUES %s", rows, page_size=1000)
            baseline = len(rows) / (time.perf_counter() - started)
        conn.rollback()
        conn.close()
        server.cleanup()
    print(f"\nCOPY-and-swap: {rate:,.0f} videos/s end to end (parquet read, COPY, swap, sounds, "
          f"indexes, ANALYZE)")
    print(f"execute_values baseline: {baseline:,.0f} videos/s (insert alone, {args.baseline_rows:,} rows)")
    print(f"the loader is {rate / baseline:.1f}x faster than execute_values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
