"""Per-clip speed of the feature vector: the usual librosa recipe, ours, and the floor, side by side.

Runs on one core (BLAS and OpenMP pinned to one thread) over 30 s 44.1 kHz stereo mp3s
of real compositions rendered with fluidsynth (see tests/music.py), or over your own
files with ``--clips DIR``. The three paths are interleaved clip by clip, so machine
noise hits them alike, and each figure is a median over rounds.

- usual: ``librosa.load`` at its defaults, then each feature function on the waveform,
  then ``scipy.stats`` (tests/librosa_reference.py).
- ours:  ``batch.core.features.vectorize``.
- floor: decode + mono + resample + one STFT, with the same components ours uses.

Usage: python tests/benchmarks/bench_features.py [--clips DIR] [--rounds N]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import librosa  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.core import features  # noqa: E402
from batch.core.audio import load_clip  # noqa: E402
from tests import music  # noqa: E402
from tests.librosa_reference import reference_from_waveform  # noqa: E402


def usual(path):
    y, sr = librosa.load(path)
    return reference_from_waveform(y, sr)


def floor(path):
    clip = load_clip(path)
    return features._stft_magnitude(clip.y)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, help="folder of mp3s (default: render the corpus pieces)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over the clips (default 5)")
    args = parser.parse_args()

    if args.clips:
        clips = sorted(args.clips.rglob("*.mp3"))
    else:
        folder = ROOT / "var" / "bench-music"
        clips = [folder / (p.replace("/", "_") + ".mp3") for p in music.PIECES]
        for piece, path in zip(music.PIECES, clips):
            if not path.exists():
                print(f"rendering {piece} ...", flush=True)
                music.render(piece, path)
    if not clips:
        parser.error("no mp3 clips found")

    paths = {"usual librosa recipe": usual, "ours (vectorize)": features.vectorize,
             "floor (decode+resample+STFT)": floor}
    for f in paths.values():  # warm-up: imports, numba JIT, filter-bank caches
        f(clips[0])
    times = {name: [] for name in paths}
    for _ in range(args.rounds):
        for clip in clips:
            for name, f in paths.items():
                started = time.perf_counter()
                f(clip)
                times[name].append(time.perf_counter() - started)

    def deviation(clip):  # of the tolerance: 1 is the limit
        ours, plain = features.vectorize(clip), usual(clip)
        return float(np.max(np.abs(ours - plain) / (1e-4 + 1e-3 * np.abs(plain))))

    worst = max(deviation(c) for c in clips)
    ms = {name: 1000 * float(np.median(t)) for name, t in times.items()}
    ours, base, flo = ms["ours (vectorize)"], ms["usual librosa recipe"], ms["floor (decode+resample+STFT)"]
    print(f"\n{len(clips)} clips x {args.rounds} rounds, one core, median per clip")
    for name, value in ms.items():
        print(f"  {name:30s} {value:7.1f} ms   {1000 / value:5.1f} clips/s per core")
    print(f"\nours is {base / ours:.2f}x faster than the usual librosa recipe")
    print(f"ours is {ours / flo:.2f}x the floor; the floor is {flo / base:.0%} of the usual recipe")
    print(f"the usual recipe can be at most {base / flo:.2f}x faster, at the floor")
    print(f"largest deviation from librosa: {worst:.3f} of the tolerance (1e-3 rel, 1e-4 abs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
