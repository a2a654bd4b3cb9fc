"""What watching songs adds to a run: the watch check's cost per new sound, against the run's own.

Every reprocess searches every watch in the sounds no run has checked
(:mod:`batch.listening.watch`): the watched songs are indexed like a catalogue
(:func:`batch.listening.shards.write`) and the new sounds identified in them
(:func:`batch.listening.shards.identify_all`). So the check costs what identifying the
sounds in a catalogue of that many songs costs, and the run without watches costs the
analysis of each sound plus its identification in the real catalogue.

This script measures, in one run and on the same sounds (12 s cuts of generated 4-minute
songs, a third from outside), the core-seconds per sound of:

- the run without watches: analysing a sound (decode and peaks) and identifying it in a
  catalogue of ``--catalogue`` full-length songs;
- the watch check with ``--watches`` watched songs (1,000 and 10,000 by default).

Watched songs and catalogue songs are generated as in ``bench_shards.py``: ``--real``
recordings analysed for real, the rest filler as dense as they are. The cost per sound
does not depend on how many sounds a run brings (the sounds are cut into batches of
:data:`batch.listening.shards.SOUNDS_PER_TASK`), so the figures for 100,000 new sounds are
the per-sound costs times 100,000; the script prints them, and the ratios.

    .venv/bin/python tests/benchmarks/bench_watches.py [--watches 1000 10000] [--catalogue 10000] [--sounds 120]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.core.fingerprint import analyse  # noqa: E402
from batch.listening import shards  # noqa: E402
from batch.spark.session import get_spark  # noqa: E402
from tests.benchmarks.bench_shards import (  # noqa: E402
    SONG_SECONDS,
    filler,
    frames,
    generate,
    real_landmarks,
)

NEW_SOUNDS = 100_000


def _analysis_seconds(n: int) -> float:
    """Seconds to decode and analyse one 12 s sound (an mp3 written once), median of ``n``."""
    import soundfile as sf

    from batch.core.audio import SR
    from tests.benchmarks.bench_identify import song

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sound.mp3"
        sf.write(path, song(3, SONG_SECONDS)[: 12 * SR], SR, format="MP3")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            analyse(str(path))
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, nargs="+", default=[1000, 10000],
                        help="watched songs (default: 1000 10000)")
    parser.add_argument("--catalogue", type=int, default=10000,
                        help="full-length songs of the catalogue the run identifies in (default: 10000)")
    parser.add_argument("--real", type=int, default=40, help="generated songs analysed for real (default: 40)")
    parser.add_argument("--sounds", type=int, default=120, help="sounds measured (default: 120)")
    args = parser.parse_args()
    if min(args.watches + [args.catalogue]) <= args.real:
        parser.error("every size must be larger than --real")

    started = time.perf_counter()
    real, sounds, _ = generate(args.real, args.sounds, seed=11)
    real_rows, per_song, hash_pool = real_landmarks(real)
    analysis = _analysis_seconds(9)
    print(f"{args.real} real songs and {args.sounds} sounds in {time.perf_counter() - started:.0f} s; "
          f"{per_song:,} landmarks per song; analysing a 12 s sound: {analysis * 1000:.0f} ms")

    spark = get_spark("bench_watches")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
    cores = spark.sparkContext.defaultParallelism
    real_frame, sound_frame = frames(spark, real, real_rows, sounds)

    def per_sound(size: int, tmp: str) -> tuple[float, float]:
        """Core-seconds per sound to identify the sounds among ``size`` songs; the index's build seconds."""
        out = Path(tmp) / f"index-{size}"
        t0 = time.perf_counter()
        shards.write(real_frame.unionByName(filler(spark, size - args.real, per_song, hash_pool)), out)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        shards.identify_all(spark, sound_frame, out).collect()
        return (time.perf_counter() - t0) * cores / len(sounds), built

    with tempfile.TemporaryDirectory() as tmp:
        catalogue, catalogue_built = per_sound(args.catalogue, tmp)
        checks = [(n, *per_sound(n, tmp)) for n in sorted(args.watches)]
    run = analysis + catalogue
    print(f"\nthe run without watches: {run:.3f} core-s per new sound (analysis {analysis:.3f}, "
          f"identification in {args.catalogue:,} songs {catalogue:.3f}; its index built in {catalogue_built:.0f} s)")
    print(f"{'watches':>9}{'core-s per sound':>18}{'index build s':>15}{'added to the run':>18}"
          f"{'core-h for ' + format(NEW_SOUNDS, ',') + ' sounds':>26}")
    for n, seconds, built in checks:
        print(f"{n:>9,}{seconds:>18.3f}{built:>15.0f}{seconds / run:>17.0%} {seconds * NEW_SOUNDS / 3600:>25.1f}")
    print(f"{'(run)':>9}{run:>18.3f}{catalogue_built:>15.0f}{'':>18}{run * NEW_SOUNDS / 3600:>26.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
