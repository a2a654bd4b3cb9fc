"""The catalogue's landmarks split by song across the executors, and sounds identified against them.

:func:`batch.core.fingerprint.identify` searches one in-memory :class:`~batch.core.fingerprint.Index`.
A whole catalogue of full-length songs does not fit one executor (106,574 songs of four
minutes hold about half a billion landmarks, a quarter of a billion once the stop words
are left out), so the batch job splits it:

Building (:func:`build`)
    Every catalogue song's reference landmarks become rows ``(hash, track_id, t)`` on the
    executors. The stop words (:func:`batch.core.fingerprint.common`) are counted over the whole
    catalogue with a Spark aggregation, and left out. The rest is written as parquet,
    partitioned into ``shard=K`` folders of at most :data:`SHARD_LANDMARKS` landmarks,
    a song's landmarks all in one shard.

Searching (:func:`identify_all`)
    Sounds are cut into batches of :data:`SOUNDS_PER_TASK`, and every (shard, batch) pair
    is one Spark task: it loads its shard as an ``Index`` and searches the batch in it.
    The search runs in two passes, as :func:`~batch.core.fingerprint.identify` does in one
    process: the scout's scores per speed are the maximum over the shards, so the
    speeds are chosen once per sound for the whole catalogue; then every shard names
    its best song, and the sound's answer is the best of those (most votes, then the
    lowest track id). Because a song's votes all fall in its own shard, the answers are
    exactly those of one index of the whole catalogue (tests/test_shards.py).

An executor holds one shard and one batch of sounds at a time, whatever the catalogue's
size, and adding executors runs more (shard, batch) tasks at once. Splitting by song
rather than by hash keeps each vote inside one task: split by hash, every chance hit
would have to cross the network to be counted.
"""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from batch.core.fingerprint import (
    COMMON,
    N_HASHES,
    SPEEDS,
    Index,
    Peaks,
    choose_speeds,
    identify,
    landmarks,
    speed_scores,
)

SHARD_LANDMARKS = 2_000_000
"""Landmarks per shard at most: an ``Index`` of 20 MB on the executor that searches it.
Smaller shards search faster as well as in less memory (their vote arrays stay in cache):
on 10,000 full-length songs, 0.79 core-seconds per sound and 0.5 GB per Python worker with
shards of 2M, 1.44 s and 1.3 GB with shards of 16M (tests/benchmarks/bench_shards.py)."""
SOUNDS_PER_TASK = 2_000
"""Sounds searched by one task in one shard."""
LANDMARK_DDL = "hash int, track_id long, t smallint"
FOUND_DDL = "music_id string, track_id long, votes int, speed double, offset double"


def build(songs, out: Path, *, shard_landmarks: int = SHARD_LANDMARKS) -> dict:
    """Write the landmarks of ``songs`` (a DataFrame of ``track_id``, ``peak_t``, ``peak_f``)
    under ``out`` as shards, and return what ``out/index.json`` then says about them."""
    from pyspark.sql import functions as F

    rows = songs.where(F.col("peak_t").isNotNull()).select("track_id", "peak_t", "peak_f") \
        .mapInPandas(_landmark_rows, LANDMARK_DDL)
    return write(rows, out, shard_landmarks=shard_landmarks)


def write(rows, out: Path, *, shard_landmarks: int = SHARD_LANDMARKS) -> dict:
    """Write landmark ``rows`` (a DataFrame of :data:`LANDMARK_DDL`) under ``out`` as shards,
    without the stop words, and return what ``out/index.json`` then says about them."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    counts = rows.groupBy("hash").count().persist()  # one row per hash: at most N_HASHES
    try:
        total = int(counts.agg(F.sum("count")).first()[0] or 0)
        limit = COMMON * max(1.0, total / N_HASHES)
        kept_hashes = counts.where(F.col("count") <= limit)
        kept = int(kept_hashes.agg(F.sum("count")).first()[0] or 0)
        shards = max(1, math.ceil(kept / shard_landmarks))
        rows.join(F.broadcast(kept_hashes.select("hash")), "hash") \
            .withColumn("shard", F.pmod(F.xxhash64("track_id"), F.lit(shards)).cast("int")) \
            .repartition(shards, "shard").sortWithinPartitions("hash") \
            .write.mode("overwrite").partitionBy("shard").parquet(str(out / "shards"))
    finally:
        counts.unpersist()
        rows.unpersist()
    about = {"shards": shards, "landmarks": kept, "stop_word_landmarks": total - kept}
    (out / "index.json").write_text(json.dumps(about))
    return about


def _landmark_rows(batches):
    for batch in batches:
        frames = []
        for track_id, t, f in zip(batch["track_id"], batch["peak_t"], batch["peak_f"]):
            hashes, times = landmarks(Peaks.of_arrays(t, f).reference())
            frames.append(pd.DataFrame({"hash": hashes, "track_id": np.int64(track_id),
                                        "t": times.astype(np.int16)}))
        if frames:
            yield pd.concat(frames, ignore_index=True)


def load_shard(index: Path, shard: int) -> Index:
    """One shard of a built index, as an ``Index`` (its ids sorted, so ties go to the lowest
    track id). A shard that no song fell into is an empty ``Index``."""
    import pyarrow.parquet as pq

    folder = Path(index) / "shards" / f"shard={shard}"
    if not folder.exists():
        return Index.of_rows(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int16))
    table = pq.read_table(str(folder), columns=["hash", "track_id", "t"])
    return Index.of_rows(table.column("hash").to_numpy(), table.column("track_id").to_numpy(),
                         table.column("t").to_numpy().astype(np.int16))


def identify_all(spark, sounds, index: Path, *, sounds_per_task: int = SOUNDS_PER_TASK):
    """The best catalogue song inside each of ``sounds`` (a DataFrame of ``music_id``,
    ``peak_t``, ``peak_f``, ``peak_rank``), searched in the shards ``build`` wrote under
    ``index``: a DataFrame of :data:`FOUND_DDL`, one row per identified sound."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    shards = json.loads((Path(index) / "index.json").read_text())["shards"]
    n = sounds.count()
    batches = max(1, math.ceil(n / sounds_per_task))
    keyed = sounds.select("music_id", "peak_t", "peak_f", "peak_rank") \
        .withColumn("batch", F.pmod(F.xxhash64("music_id"), F.lit(batches)))
    shard_ids = spark.range(shards).select(F.col("id").cast("int").alias("shard"))

    def tasks(frame):
        return frame.crossJoin(shard_ids).repartition(shards * batches, "shard", "batch") \
            .sortWithinPartitions("shard")

    scores = tasks(keyed).mapInPandas(partial(_scout, str(index)), "music_id string, scores array<int>")
    chosen = scores.groupBy("music_id").applyInPandas(_choose, "music_id string, chosen array<smallint>")
    found = tasks(keyed.join(chosen, "music_id", "left")) \
        .mapInPandas(partial(_search, str(index)), FOUND_DDL)
    best = Window.partitionBy("music_id").orderBy(F.desc("votes"), F.asc("track_id"))
    return found.withColumn("rank", F.row_number().over(best)).where("rank = 1").drop("rank")


def _peaks(row) -> Peaks:
    return Peaks.of_arrays(row.peak_t, row.peak_f, row.peak_rank)


def _shard_rows(index: str, batches):
    """Each row of the task's batches with its shard's ``Index``, loading each shard once."""
    loaded, shard_index = None, None
    for batch in batches:
        for row in batch.itertuples(index=False):
            if row.shard != loaded:
                loaded, shard_index = row.shard, load_shard(Path(index), row.shard)
            yield row, shard_index


def _scout(index: str, batches):
    out = [(row.music_id, speed_scores(shard, _peaks(row)).astype(np.int32))
           for row, shard in _shard_rows(index, batches)]
    yield pd.DataFrame(out, columns=["music_id", "scores"])


def _choose(group: pd.DataFrame) -> pd.DataFrame:
    scores = np.max(np.stack([np.asarray(s) for s in group["scores"]]), axis=0)
    return pd.DataFrame({"music_id": [group["music_id"].iloc[0]],
                         "chosen": [np.asarray(choose_speeds(scores), np.int16)]})


def _search(index: str, batches):
    out = []
    for row, shard in _shard_rows(index, batches):
        chosen = choose_speeds(np.zeros(len(SPEEDS))) if row.chosen is None else [int(i) for i in row.chosen]
        for f in identify(shard, _peaks(row), chosen=chosen):
            out.append((row.music_id, int(f.item), f.hashes, f.speed, f.offset))
    yield pd.DataFrame(out, columns=["music_id", "track_id", "votes", "speed", "offset"]).astype(
        {"track_id": "int64", "votes": "int32"})
