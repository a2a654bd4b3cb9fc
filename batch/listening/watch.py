"""Every run checks every watch: the watched songs identified in the sounds no run has checked.

The watches (:mod:`batch.store.watches`) become a small catalogue split into shards like
the real one (:mod:`batch.listening.shards`: the same landmarks, stop words and votes),
and sounds of ``sounds/`` are identified in it on the executors: the sounds not in
``watch_checked_sounds`` in an index of every watch, and the sounds checked before in an
index of the watches no run has searched yet (new ones), so each pair is searched once. What is found, the sounds and the new watches are recorded in one
transaction (:func:`batch.store.watches.record_run`), so a run killed at any point leaves
every watch as it was, and a rerun adds nothing twice.

Each sound gets its best watch, as each sound gets its best catalogue song: two watches of
one recording share its sounds' votes, and the sound goes to one of them.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from batch.listening import shards
from batch.spark.progress import progress
from batch.store import watches

USE_COLUMNS = ("watch_id", "music_id", "offset_s", "speed", "votes")


@dataclass
class WatchSummary:
    watches: int = 0
    checked: int = 0
    found: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"watches: {self.watches:,} checked against {self.checked:,} new sounds, "
                f"{self.found:,} new uses found in {self.seconds:.1f} s")


def check(conn, session, tiktok: Path, *, run_id: str | None = None, log=print) -> WatchSummary:
    """Identify every watch in the sounds of ``tiktok/sounds`` not checked yet, and store it.

    ``session()`` returns the SparkSession; it is called only when there is work for Spark.
    """
    started = time.perf_counter()
    run_id = run_id or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    summary = WatchSummary()
    if not (Path(tiktok) / "sounds").exists():
        return summary
    done = set(watches.checked_sounds(conn))
    sounds = pd.read_parquet(Path(tiktok) / "sounds", columns=["music_id", "error"])
    usable = sorted(set(sounds.loc[sounds["error"].isna(), "music_id"]))
    new = [m for m in usable if m not in done]
    songs = watches.watched_songs(conn)
    fresh = songs.loc[~songs["checked"], "track_id"].tolist()
    old = [m for m in usable if m in done]
    summary.watches, summary.checked = len(songs), len(new)
    passes = [(songs, new)]  # every watch in the new sounds ...
    if fresh and old:  # ... and the new watches alone in the sounds checked before them, once
        passes.append((songs[songs["track_id"].isin(fresh)], old))
    found = [_identify(session, tiktok, watched, ids, log) for watched, ids in passes if len(watched) and ids]
    found = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=list(USE_COLUMNS))
    summary.found = watches.record_run(conn, run_id, new, found, watched=fresh)
    summary.seconds = time.perf_counter() - started
    return summary


def _identify(session, tiktok: Path, watched: pd.DataFrame, music_ids: list[str], log) -> pd.DataFrame:
    """The best of the ``watched`` songs in each of the sounds ``music_ids``, on Spark."""
    spark = session()
    index = Path(tiktok) / f".watch-index-{uuid.uuid4().hex[:8]}"
    try:
        with progress(spark, "[watches] indexing the watched songs", log):
            shards.build(spark.createDataFrame(watched[["track_id", "peak_t", "peak_f"]],
                                               "track_id long, peak_t array<smallint>, peak_f array<float>"), index)
        ids = spark.createDataFrame(pd.DataFrame({"music_id": music_ids}), "music_id string")
        todo = spark.read.parquet(str(Path(tiktok) / "sounds")).join(ids, "music_id", "left_semi")
        log(f"[watches] identifying {len(watched):,} watched songs in {len(music_ids):,} sounds")
        with progress(spark, "[watches] identifying", log):
            best = shards.identify_all(spark, todo, index).toPandas()
    finally:
        shutil.rmtree(index, ignore_errors=True)
    return pd.DataFrame({"watch_id": best["track_id"], "music_id": best["music_id"],
                         "offset_s": best["offset"].clip(lower=0.0), "speed": best["speed"], "votes": best["votes"]})
