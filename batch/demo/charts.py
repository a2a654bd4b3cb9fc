"""The demo's Spotify charts: today's top 200 and four weekly ones, in charts.spotify.com's format."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

DEMO_DATA = Path(__file__).resolve().parent / "data"
"""The demo's real titles and artists (``batch/demo/data/``)."""
POPULAR_CSV = DEMO_DATA / "popular_songs.csv"
"""255 popular songs that are not in FMA (the same wheel's mainstream list)."""


def write_chart(path: str | Path, *, seed: int = 0, size: int = 200) -> Path:
    """A Spotify top-200 export (with its note line) of popular songs, some of which the dump uses.

    The dump uses about a third of :data:`POPULAR_CSV`'s songs, drawn independently, so
    some chart songs are on TikTok and most are not, at every position.
    """
    popular = pd.read_csv(POPULAR_CSV).sample(frac=1.0, random_state=seed + 1).head(size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(',,,"Note that these figures are generated using a formula that protects against '
                'any artificial inflation of streams.",\n')
        w = csv.writer(f)
        w.writerow(["Position", "Track Name", "Artist", "Streams", "URL"])
        for position, song in enumerate(popular.itertuples(), start=1):
            w.writerow([position, song.title, song.artist, int(2_500_000 / position ** 0.6),
                        f"https://open.spotify.com/track/demo{seed:02d}{position:03d}"])
    return path


HISTORY_WEEKS = ("2019-12-05", "2019-12-12", "2019-12-19", "2019-12-26")
"""The demo's weekly charts: the weeks its TikTok videos were made in."""


def write_chart_history(folder: str | Path, *, seed: int = 0, size: int = 50) -> list[Path]:
    """Weekly global top-``size`` charts in today's charts.spotify.com format (with its BOM),
    one per week of :data:`HISTORY_WEEKS`: the same popular songs as :func:`write_chart`,
    moving up and down from week to week."""
    popular = pd.read_csv(POPULAR_CSV).sample(frac=1.0, random_state=seed + 1).head(size + 10)
    rng = np.random.default_rng([seed, 7])
    base = np.arange(len(popular), dtype=float)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths, previous = [], {}
    for week, day in enumerate(HISTORY_WEEKS):
        order = np.argsort(base + rng.normal(0, 4 + week, len(base)))[:size]
        path = folder / f"regional-global-weekly-{day}.csv"
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            w = csv.writer(f)
            w.writerow(["rank", "uri", "artist_names", "track_name", "source", "peak_rank",
                        "previous_rank", "weeks_on_chart", "streams"])
            for rank, i in enumerate(order, start=1):
                song = popular.iloc[int(i)]
                uri = f"spotify:track:demo{seed:02d}{int(i):04d}" + "x" * 12
                w.writerow([rank, uri, song["artist"], song["title"], "Demo Records", rank,
                            previous.get(int(i), ""), week + 1, int(15_000_000 / rank ** 0.6)])
        previous = {int(i): rank for rank, i in enumerate(order, start=1)}
        paths.append(path)
    return paths
