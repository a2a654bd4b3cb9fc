"""Chart overlap quality: our matcher against exact title matching, on a labelled demo dump.

The demo generator (:mod:`batch.demo.corpus`) writes a TikTok dump in which about a
third of 255 popular songs are used, each through one sound with TikTok's noise
(casing, "(Sped Up)", emoji, typos, credits), and records which sound is which song.
Its top-200 chart holds 200 of those songs. Truth: the chart songs the dump uses.

- **ours**: ``text_pipeline.jobs.charts.overlap``, the catalogue's matcher (TF-IDF models
  fitted on the demo catalogue, threshold 0.7);
- **exact titles**: a chart song is used when some sound's title equals its title, the
  approach one other project took.

Prints precision and recall of each, and the recall as a ratio.

Usage: python tests/benchmarks/bench_charts.py [--videos N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.demo.charts import write_chart  # noqa: E402
from batch.demo.corpus import TITLES_CSV  # noqa: E402
from batch.demo.tiktok import write_tiktok  # noqa: E402


def scores(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), hits / len(truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=50_000, help="videos in the dump (default 50000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from batch.spark.session import get_spark
    from text_pipeline.jobs import charts, match
    titles = pd.read_csv(TITLES_CSV).head(400)
    rows = [{"track_id": 2 + 3 * i, "title": r.title, "artist": r.artist} for i, r in enumerate(titles.itertuples())]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dump = write_tiktok(tmp / "tiktok", rows, n_videos=args.videos, seed=args.seed)
        chart_csv = write_chart(tmp / "demo-top200.csv", seed=args.seed)
        popular = pd.read_csv(tmp / f"{dump.stem}-popular.csv")
        chart = charts.read_chart(chart_csv)
        on_chart = set(zip(chart["title"], chart["artist"]))
        truth = set(zip(popular["title"], popular["artist"])) & on_chart

        spark = get_spark("bench_charts")
        catalogue = pd.DataFrame(rows)
        match.run("", str(tmp / "tiktok"), tmp / "out", catalogue=catalogue, spark=spark,
                  log=lambda *_: None)
        started = time.perf_counter()
        entries = charts.run([chart_csv], tmp / "out", spark=spark, log=lambda *_: None)
        seconds = time.perf_counter() - started
        ours = {(r.title, r.artist) for r in entries.itertuples() if r.videos > 0}

        sounds = pd.read_parquet(tmp / "out" / "tiktok", columns=["song_title"])
        titles_used = set(sounds["song_title"].dropna())
        exact = {(t, a) for t, a in on_chart if t in titles_used}

    print(f"{len(chart)} chart songs, {len(truth)} of them used in the dump ({args.videos:,} videos)")
    print(f"{'method':<14} {'found':>6} {'precision':>10} {'recall':>8}")
    for name, found in (("ours", ours), ("exact titles", exact)):
        precision, recall = scores(found, truth)
        print(f"{name:<14} {len(found):>6} {precision:>10.1%} {recall:>8.1%}")
    recall_ratio = scores(ours, truth)[1] / max(scores(exact, truth)[1], 1e-9)
    print(f"ours finds {recall_ratio:.1f}x as many of the used chart songs as exact title matching")
    print(f"overlap step (match 200 songs against every sound, totals): {seconds:.1f} s")
    missed = sorted(truth - ours)
    if missed:
        print("missed:", "; ".join(f"{t} - {a}" for t, a in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
