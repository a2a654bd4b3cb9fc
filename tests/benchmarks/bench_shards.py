"""Identification split by song across Spark tasks: how its cost per sound grows with a full-length catalogue.

The catalogue holds ``--sizes`` full-length songs (4 minutes). ``--real`` of them are
generated recordings, analysed for real (:func:`bench_identify.song`); the rest are
filler as dense as they are: each filler song draws as many landmarks as a real one
holds, with hashes drawn from the real songs' hashes (so the common ones stay common)
and anchor frames spread over 4 minutes. Filler is made on the executors, so the
catalogue never sits in one process.

The sounds are 12 s cuts from anywhere in the real songs (x1, x1.25, x0.85) and, for a
third of them, from songs outside the catalogue. Each size reports the time to build the
index (:func:`batch.listening.shards.write`) and to identify the sounds
(:func:`batch.listening.shards.identify_all`), in core-seconds per sound, as a ratio to the smallest
size, with the peak memory of one Python worker while identifying. At the smallest size the
answers are also checked against one in-memory index of the whole catalogue.

    .venv/bin/python tests/benchmarks/bench_shards.py [--sizes 1000 10000] [--sounds 120]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.core.fingerprint import Index, Peaks, identify, landmarks  # noqa: E402
from batch.listening import shards  # noqa: E402
from batch.spark.session import get_spark  # noqa: E402
from tests.benchmarks.bench_identify import song  # noqa: E402
from tests.test_fingerprint import peaks_of  # noqa: E402

SONG_SECONDS = 240.0
SONG_FRAMES = 10_336  # 240 s of 23.2 ms frames
FILLER_IDS = 1_000_000


def _real(seed: int) -> tuple[int, Peaks]:
    return seed, peaks_of(song(seed, SONG_SECONDS)).reference()


def _sound(job) -> Peaks:
    import soxr

    from batch.core.audio import SR

    seed, start, speed = job
    y = song(seed, SONG_SECONDS)[int(start * SR): int((start + 12 * speed) * SR)]
    return peaks_of(soxr.resample(y, SR * speed, SR) if speed != 1.0 else y)


def generate(n_real: int, n_sounds: int, *, seed: int) -> tuple[list, list[Peaks], list]:
    """``n_real`` real songs (seed, reference peaks), and ``n_sounds`` 12 s cuts from anywhere
    in them at x1, x1.25 and x0.85, a third from songs outside, with the song each was cut
    from (None outside); made on two processes."""
    with multiprocessing.get_context("fork").Pool(2) as pool:
        real = pool.map(_real, range(n_real))
        rng = np.random.default_rng(seed)
        jobs, truth = [], []
        for i in range(n_sounds):
            inside = i % 3 != 2
            song_seed = int(rng.integers(0, n_real)) if inside else 10**6 + i
            jobs.append((song_seed, float(rng.uniform(0, SONG_SECONDS - 16)),
                         (1.0, 1.25, 0.85)[i % 3 if inside else 0]))
            truth.append(song_seed if inside else None)
        sounds = pool.map(_sound, jobs)
    return real, sounds, truth


def real_landmarks(real: list) -> tuple[list, int, np.ndarray]:
    """The real songs' landmark rows, their mean count per song, and all their hashes: what
    :func:`filler` draws its songs from."""
    rows = [landmarks(p) for _, p in real]
    return rows, round(np.mean([len(h) for h, _ in rows])), np.concatenate([h for h, _ in rows])


def frames(spark, real: list, real_rows: list, sounds: list[Peaks]):
    """The real songs' landmark rows, and the sounds (cached), as DataFrames."""
    real_frame = spark.createDataFrame(pd.concat(
        [pd.DataFrame({"hash": h, "track_id": np.int64(seed), "t": t.astype(np.int16)})
         for (seed, _), (h, t) in zip(real, real_rows)], ignore_index=True), shards.LANDMARK_DDL)
    sound_frame = spark.createDataFrame(
        [(str(i), p.t.tolist(), p.lf.tolist(), p.rank.tolist()) for i, p in enumerate(sounds)],
        "music_id string, peak_t array<smallint>, peak_f array<float>, peak_rank array<tinyint>").cache()
    sound_frame.count()
    return real_frame, sound_frame


def filler(spark, n_songs: int, per_song: int, pool: np.ndarray):
    """``n_songs`` filler songs' landmark rows, made on the executors."""
    def make(batches):
        for batch in batches:
            for track in batch["id"]:
                rng = np.random.default_rng(int(track))
                yield pd.DataFrame({"hash": rng.choice(pool, per_song),
                                    "track_id": np.int64(FILLER_IDS + track),
                                    "t": np.sort(rng.integers(0, SONG_FRAMES, per_song)).astype(np.int16)})

    parts = max(2, n_songs // 250)
    return spark.range(n_songs, numPartitions=parts).mapInPandas(make, shards.LANDMARK_DDL)


class PeakMemory:
    """The largest resident size of one PySpark Python worker, sampled while the block runs."""

    def __enter__(self):
        import psutil

        self.peak, self._stop = 0, threading.Event()

        def sample():
            while not self._stop.wait(0.1):
                for p in psutil.process_iter(["cmdline", "memory_info"]):
                    cmd = " ".join(p.info["cmdline"] or [])
                    if "pyspark" in cmd and ("daemon" in cmd or "worker" in cmd) and p.info["memory_info"]:
                        self.peak = max(self.peak, p.info["memory_info"].rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="catalogue sizes in songs (default: 1000 10000)")
    parser.add_argument("--real", type=int, default=40, help="generated songs analysed for real (default: 40)")
    parser.add_argument("--sounds", type=int, default=120, help="sounds to identify (default: 120)")
    parser.add_argument("--shard-landmarks", type=int, default=shards.SHARD_LANDMARKS)
    parser.add_argument("--work", type=Path, default=None, help="where the index goes (default: a temporary folder)")
    args = parser.parse_args()
    if min(args.sizes) <= args.real:
        parser.error("every size must be larger than --real")

    started = time.perf_counter()
    real, sounds, truth = generate(args.real, args.sounds, seed=7)
    real_rows, per_song, hash_pool = real_landmarks(real)
    print(f"{args.real} real 4-minute songs analysed and {args.sounds} sounds cut in "
          f"{time.perf_counter() - started:.0f} s; {per_song:,} landmarks per song")

    spark = get_spark("bench_shards")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
    cores = spark.sparkContext.defaultParallelism
    real_frame, sound_frame = frames(spark, real, real_rows, sounds)

    results = []
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for size in sorted(args.sizes):
            out = Path(tmp) / f"index-{size}"
            rows = real_frame.unionByName(filler(spark, size - args.real, per_song, hash_pool))
            t0 = time.perf_counter()
            about = shards.write(rows, out, shard_landmarks=args.shard_landmarks)
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            with PeakMemory() as memory:
                found = {int(r.music_id): r for r in shards.identify_all(spark, sound_frame, out).collect()}
            seconds = time.perf_counter() - t0
            answers = [found[i].track_id if i in found else None for i in range(len(sounds))]
            right = sum(a == t for a, t in zip(answers, truth) if t is not None)
            wrong = sum(a is not None and a != t for a, t in zip(answers, truth))
            if size == min(args.sizes):
                check_whole(out, about, sounds, found)
            results.append({"size": size, "built": built, "per_sound": seconds * cores / len(sounds),
                             "memory": memory.peak, "right": right, "wrong": wrong, **about})
    base = results[0]["per_sound"]
    print(f"\n{'songs':>9}{'landmarks':>14}{'shards':>8}{'build s':>9}{'core-s per sound':>18}"
          f"{'ratio':>7}{'worker peak MB':>16}{'found':>9}{'wrong':>7}")
    for r in results:
        print(f"{r['size']:>9,}{r['landmarks']:>14,}{r['shards']:>8}{r['built']:>9.0f}{r['per_sound']:>18.3f}"
              f"{r['per_sound'] / base:>7.2f}{r['memory'] / 1e6:>16.0f}"
              f"{r['right']:>5}/{sum(t is not None for t in truth):<3}{r['wrong']:>7}")
    project(results)
    return 0


def check_whole(out: Path, about: dict, sounds: list[Peaks], found: dict) -> None:
    """The sharded answers against one in-memory index of the same landmarks."""
    import pyarrow.parquet as pq

    table = pq.read_table(str(out / "shards"), columns=["hash", "track_id", "t"])
    whole = Index.of_rows(table.column("hash").to_numpy(), table.column("track_id").to_numpy(),
                          table.column("t").to_numpy().astype(np.int16))
    same = 0
    for i, peaks in enumerate(sounds):
        one = identify(whole, peaks)
        expected = (one[0].item, one[0].hashes, one[0].speed, one[0].offset) if one else None
        got = (found[i].track_id, found[i].votes, found[i].speed, found[i].offset) if i in found else None
        same += expected == got
    print(f"{same} of {len(sounds)} answers equal one in-memory index's ({about['landmarks']:,} landmarks)")


def project(results: list[dict]) -> None:
    """1M sounds against fma_full (106,574 songs) on 10 nodes of 4 cores, from how the cost grows."""
    small, large = results[0], results[-1]
    slope = (large["per_sound"] - small["per_sound"]) / (large["size"] - small["size"])
    at_fma = large["per_sound"] + slope * (106_574 - large["size"])
    hours = 1_000_000 * at_fma / 40 / 3600
    per_landmark = large["landmarks"] / large["size"]
    print(f"projection, linear in the catalogue: {at_fma:.2f} core-s per sound against 106,574 full "
          f"songs ({per_landmark * 106_574 / 1e6:,.0f}M landmarks, "
          f"{math.ceil(per_landmark * 106_574 / shards.SHARD_LANDMARKS)} shards); 1M sounds on 10 nodes "
          f"of 4 cores: {hours:,.1f} h")


if __name__ == "__main__":
    sys.exit(main())
