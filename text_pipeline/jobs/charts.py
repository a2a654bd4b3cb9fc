"""Spotify chart exports: which charting songs TikTok uses, and how much.

:mod:`text_pipeline.core.chart_files` reads the exports (charts.spotify.com's of today and
spotifycharts.com's old ones) and a folder of dated charts as a history.

:func:`overlap` matches every TikTok sound to the chart songs with the catalogue's
matcher (:func:`text_pipeline.jobs.match.match_sounds`: the one normaliser, the TF-IDF
models fitted on the catalogue, the same threshold) and adds to each entry the sounds
matched to it and their videos' totals; a song with several artists is matched by its
first. Engagement is
:data:`text_pipeline.core.engagement.ENGAGEMENT` summed over those videos.

``python -m text_pipeline.jobs.charts CHART.csv|DIR [...] --matched DIR`` prints the report,
writes it as CSV (``--csv``) and loads it into the store (``--load``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from batch.store.tables import CHART_COLUMNS
from text_pipeline.core.chart_files import ChartError, read_chart, read_charts  # noqa: F401  (the readers)

TOTALS = ("sounds", "videos", "plays", "likes", "comments", "shares", "engagement")
ENTRY_COLUMNS = CHART_COLUMNS
"""An entry of the overlap report: the chart's columns, TikTok's totals, the matched sounds
(the store's ``chart_entries``, whose columns :mod:`batch.store.tables` lists)."""


# --- overlap with TikTok -----------------------------------------------------------------------


def overlap(spark, charts: pd.DataFrame, videos, models, *, threshold: float) -> pd.DataFrame:
    """Every chart entry with the TikTok sounds that are its song, and their videos' totals.

    ``videos`` is a Spark frame of clean TikTok videos (``text_pipeline.jobs.match``'s
    ``tiktok/``) and ``models`` the TF-IDF models fitted on the catalogue. A song that
    is on several charts is matched once. Entries TikTok does not use have zero totals.
    """
    from pyspark.sql import functions as F

    from text_pipeline.core.engagement import ENGAGEMENT
    from text_pipeline.tiktok.matcher import match_sounds, sounds_of

    # A song is its title and artists; it is matched by its first (main) artist, the one
    # a TikTok sound names.
    songs = charts[["title", "artist"]].drop_duplicates(ignore_index=True)
    main = charts.drop_duplicates(["title", "artist"]).set_index(["title", "artist"])["artists"]
    songs.insert(0, "track_id", np.arange(len(songs), dtype=np.int64))
    wanted = songs.assign(artist=[(main[(t, a)] or [a])[0] for t, a in zip(songs["title"], songs["artist"])])
    per_sound = videos.groupBy("music_id").agg(
        F.count("*").alias("videos"), F.sum("play_count").alias("plays"),
        F.sum("like_count").alias("likes"), F.sum("comment_count").alias("comments"),
        F.sum("share_count").alias("shares"), F.sum(F.expr(ENGAGEMENT)).alias("engagement"))
    matches, matrices = match_sounds(spark, sounds_of(videos), wanted, models, threshold)
    try:
        found = (matches.select("song_id", F.col("tiktok_music_id").alias("music_id"))
                 .join(per_sound, "music_id").toPandas())
    finally:
        matrices.destroy()
    found = found.fillna(0).sort_values(["song_id", "videos", "music_id"], ascending=[True, False, True])
    totals = found.groupby("song_id").agg(
        sounds=("music_id", "size"), **{c: (c, "sum") for c in TOTALS if c != "sounds"},
        music_ids=("music_id", list))
    entries = (charts.merge(songs, on=["title", "artist"])
               .merge(totals, left_on="track_id", right_index=True, how="left"))
    entries[list(TOTALS)] = entries[list(TOTALS)].fillna(0).astype("int64")
    entries["music_ids"] = [m if isinstance(m, list) else [] for m in entries["music_ids"]]
    return entries[list(ENTRY_COLUMNS)].sort_values(["series", "date", "chart", "position"],
                                                    ignore_index=True, na_position="first")


def to_csv(entries: pd.DataFrame) -> str:
    """The overlap report as CSV, one row per entry; the matched sounds separated by spaces."""
    out = entries[list(ENTRY_COLUMNS)].copy()
    out["artists"] = ["; ".join(a) for a in out["artists"]]
    out["music_ids"] = [" ".join(m) for m in out["music_ids"]]
    return out.to_csv(index=False, lineterminator="\n")


def report(entries: pd.DataFrame) -> list[str]:
    """Per chart: how many of its songs TikTok uses, then those songs by position."""
    lines = []
    for chart, rows in entries.groupby("chart", sort=True):
        used = rows[rows["videos"] > 0]
        kind = "top 200" if rows["kind"].iloc[0] == "top200" else "viral 50"
        lines.append(f"{chart} ({kind}): {len(used)} of {len(rows)} songs used on TikTok, "
                     f"in {used['videos'].sum():,} videos")
        if len(used):
            lines.append(f"  {'pos':>4}  {'videos':>8}  {'engagement':>14}  title - artist")
        for r in used.itertuples():
            lines.append(f"  {r.position:>4}  {r.videos:>8,}  {r.engagement:>14,}  {r.title} - {r.artist}")
    return lines


def run(paths, matched: str | Path, *, threshold: float | None = None, csv_path: str | Path | None = None,
        load: bool = False, master: str | None = None, spark=None, log=print,
        force: bool = False) -> pd.DataFrame | None:
    """Read the charts, compute their overlap with ``matched``'s TikTok videos, export and load it.

    A load of the very charts and TikTok outputs the store's last chart load came from is
    skipped, without Spark, and returns None, unless ``force`` or a ``csv_path`` is asked for.
    """
    from text_pipeline.tiktok.matcher import DEFAULT_THRESHOLD, MatchError, load_models

    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if not 0.0 <= threshold <= 1.0:
        raise MatchError(f"--threshold must be in [0, 1], got {threshold}")
    charts = read_charts(paths)
    matched = Path(matched)
    if not (matched / "tiktok").exists():
        raise MatchError(f"{matched}/tiktok does not exist: give the folder "
                         "python -m text_pipeline.jobs.match wrote (its --out)")
    version = inputs_version(paths, matched, threshold)
    if load and not csv_path and not force:
        from batch.store.load import unchanged

        if unchanged("charts", version):
            log("[charts] these charts were loaded from these very files and TikTok outputs: nothing to "
                "do (--force matches them again)")
            return None
    started = time.perf_counter()
    log(f"[charts] {len(charts):,} entries in {charts['chart'].nunique()} chart(s); "
        f"matching them against the TikTok sounds in {matched}/tiktok")
    if spark is None:
        from batch.spark.session import get_spark

        spark = get_spark("charts", master)
    from pyspark.errors import AnalysisException

    models = load_models(matched / "model")
    try:
        videos = spark.read.parquet(str(matched / "tiktok"))
    except AnalysisException as e:  # empty, or not parquet
        raise MatchError(f"cannot read the TikTok videos in {matched}/tiktok: {str(e).splitlines()[0]}") from None
    entries = overlap(spark, charts, videos, models, threshold=threshold)
    log(f"[charts] matched in {time.perf_counter() - started:.1f} s")
    if csv_path:
        csv_path = Path(csv_path)
        partial = csv_path.with_name(f".{csv_path.name}.partial")
        partial.write_text(to_csv(entries))
        os.replace(partial, csv_path)  # a reader never sees half a file
        log(f"[charts] wrote {csv_path}")
    if load:
        from batch.store.load import into_store, load_charts

        log(f"[charts] {into_store(load_charts, entries, version=version).line()}")
    return entries


def inputs_version(paths, matched: str | Path, threshold: float) -> str:
    """What a chart load came from: the chart files, the TikTok videos and model, the threshold."""
    from batch.store.load import output_version

    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return f"{output_version(*files, Path(matched) / 'tiktok', Path(matched) / 'model')}.t{threshold}"


def build_parser() -> argparse.ArgumentParser:
    from text_pipeline.tiktok.matcher import DEFAULT_THRESHOLD

    parser = argparse.ArgumentParser(
        prog="python -m text_pipeline.jobs.charts",
        description="Which songs of Spotify chart exports (top or viral, daily or weekly) are used on "
        "TikTok: each chart song is matched to the TikTok sounds with the catalogue's matcher, "
        "and gets their videos' count and engagement (plays + 2 likes + 3 comments + 4 shares).",
    )
    parser.add_argument("charts", nargs="+", metavar="CHART.csv|DIR",
                        help="Spotify chart exports (charts.spotify.com or the old spotifycharts.com), "
                        "or folders of them: dated files (regional-global-daily-2023-05-01.csv) "
                        "make a history")
    parser.add_argument("--matched", required=True, metavar="DIR",
                        help="the folder python -m text_pipeline.jobs.match wrote: its tiktok/ videos "
                        "and model/ (batch.jobs.reprocess: WORK/tiktok)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help=f"lowest total score that counts as the same song (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--csv", dest="csv_path", metavar="FILE", help="write the report, every entry, as CSV")
    parser.add_argument("--load", action="store_true",
                        help="load the report into the store (DATABASE_URL, else the embedded "
                        "PostgreSQL) for the web app's /charts page; each chart file (one chart on one date) "
                        "is replaced whole, the others stay")
    parser.add_argument("--force", action="store_true",
                        help="with --load, match even when these charts were loaded from the same files")
    parser.add_argument("--master", help="Spark master URL, e.g. spark://host:7077 (default: local[*])")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from batch.store.db import StoreError
    from batch.store.load import LoadError
    from text_pipeline.tiktok.matcher import MatchError

    try:
        entries = run(args.charts, args.matched, threshold=args.threshold, csv_path=args.csv_path,
                      load=args.load, master=args.master, force=args.force)
    except (ChartError, MatchError, StoreError, LoadError, OSError) as e:
        print(f"charts: error: {e}", file=sys.stderr)
        return 2
    if entries is not None:
        print("\n".join(report(entries)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
