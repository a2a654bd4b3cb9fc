"""Audio identification: quality per TikTok edit on real recordings, and speed at scale.

Quality: real recordings from Debian's game-music packages. The first ``--catalogue`` become
30 s catalogue clips; every recording (the rest are negatives, outside the catalogue) gets
each edit of tests/edits.py, taken from a random point of its clip. Ours is
:func:`batch.fingerprint.identify`; the baseline, measured in the same run, is the nearest
catalogue clip by the 245-number vector (z-scored with the catalogue's scaler, cosine), with
the threshold that maximises its accuracy over all queries.

Speed: ``--songs`` catalogue songs (the real clips plus generated ones) and ``--sounds`` queries;
reports sounds/s for identification alone and with decoding, and index bytes per song.

    .venv/bin/python tests/benchmarks/bench_identify.py [--catalogue 40] [--songs 10000] [--sounds 10000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.fingerprint import Index, analyse, identify  # noqa: E402
from batch.load import embed, scaler_of  # noqa: E402
from tests import edits  # noqa: E402
from tests.test_fingerprint import melody, peaks_of  # noqa: E402

PACKAGES = ("drascula-music", "singularity-music", "hyperrogue-music")


def quality(work: Path, n_catalogue: int, seed: int) -> None:
    recordings = edits.game_music(work / "packages", PACKAGES)
    rng = random.Random(seed)
    rng.shuffle(recordings)
    import soundfile as sf

    clips = []
    for i, r in enumerate(recordings):
        dest = work / "clips" / f"{i:03d}.wav"
        if not dest.exists():
            edits.clip(r, dest, start=max(0.0, sf.info(str(r)).duration / 2 - 15), seconds=30.0)
        clips.append(dest)
    analysed = [analyse(str(c)) for c in clips[:n_catalogue]]
    index = Index.of_peaks((i, a[1]) for i, a in enumerate(analysed))
    vectors = np.stack([a[0] for a in analysed])
    mean, std = scaler_of(vectors)
    catalogue = embed(vectors, mean, std)
    rows = []  # (edit, truth or None, ours or None, baseline best, baseline similarity)
    for i, clip in enumerate(clips):
        for kind in edits.EDITS:
            q = work / "queries" / f"{i:03d}_{kind}.mp3"
            if not q.exists():
                edits.edit(kind, clip, q, start=rng.uniform(0, 17), n=i)
            vector, peaks, _ = analyse(str(q))
            found = identify(index, peaks)
            sims = catalogue @ embed(vector, mean, std)[0]
            rows.append((kind, i if i < n_catalogue else None, found[0].item if found else None,
                         int(sims.argmax()), float(sims.max())))
    best_t = max(np.unique([r[4] for r in rows]), key=lambda t: sum(
        (r[1] is not None and r[3] == r[1] and r[4] >= t) or (r[1] is None and r[4] < t) for r in rows))
    print(f"{len(recordings)} real recordings: {n_catalogue} in the catalogue, "
          f"{len(recordings) - n_catalogue} outside; baseline threshold {best_t:.3f}")
    print(f"{'edit':<15}{'ours recall':>12}{'baseline recall':>17}{'ours false':>12}{'baseline false':>16}")
    totals = {"ours": [0, 0], "base": [0, 0]}  # [right, answered]
    for kind in edits.EDITS:
        pos = [r for r in rows if r[0] == kind and r[1] is not None]
        neg = [r for r in rows if r[0] == kind and r[1] is None]
        ours = sum(r[2] == r[1] for r in pos) / len(pos)
        base = sum(r[3] == r[1] and r[4] >= best_t for r in pos) / len(pos)
        ours_false = sum(r[2] is not None and r[2] != r[1] for r in pos) + sum(r[2] is not None for r in neg)
        base_false = sum(r[4] >= best_t and r[3] != r[1] for r in pos) + sum(r[4] >= best_t for r in neg)
        print(f"{kind:<15}{ours:>12.3f}{base:>17.3f}{ours_false:>12}{base_false:>16}")
        totals["ours"][0] += sum(r[2] == r[1] for r in pos)
        totals["ours"][1] += sum(r[2] is not None for r in pos + neg)
        totals["base"][0] += sum(r[3] == r[1] and r[4] >= best_t for r in pos)
        totals["base"][1] += sum(r[4] >= best_t for r in pos + neg)
    for name, (right, answered) in totals.items():
        print(f"precision over all ({name}): {right / max(1, answered):.3f} ({right} of {answered} answers right)")


def speed(n_songs: int, n_sounds: int, work: Path) -> None:
    from batch.audio import SR

    started = time.perf_counter()
    songs = ((seed, peaks_of(melody(seed))) for seed in range(n_songs))
    index = Index.of_peaks(songs)
    built = time.perf_counter() - started
    print(f"index of {n_songs:,} generated 30 s songs: {len(index):,} landmarks, "
          f"{index.nbytes / n_songs:,.0f} bytes per song, built in {built:.0f} s")
    rng = np.random.default_rng(1)
    queries = []
    for i in range(n_sounds):
        seed = int(rng.integers(0, n_songs))
        start = float(rng.uniform(0, 17))
        queries.append(peaks_of(melody(seed)[int(start * SR): int((start + 12) * SR)]))
    started = time.perf_counter()
    right = 0
    for q in queries:
        found = identify(index, q)
        right += bool(found)
    seconds = time.perf_counter() - started
    print(f"identified {n_sounds:,} 12 s sounds (peaks given) in {seconds:.1f} s on one core: "
          f"{n_sounds / seconds:.1f} sounds/s; {right} of {n_sounds} found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("var/bench/identify"))
    parser.add_argument("--catalogue", type=int, default=40)
    parser.add_argument("--songs", type=int, default=10_000)
    parser.add_argument("--sounds", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if not args.skip_quality:
        quality(args.work, args.catalogue, args.seed)
    if args.songs:
        speed(args.songs, args.sounds, args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
