"""Tempo and key accuracy against known answers: generated music at set tempos and keys.

Each genre's generated music (:func:`batch.demo.music.synthesize`) is made at several set
tempos (60 to 180 BPM) and keys, and described as the catalogue is
(:func:`batch.core.style.describe`). The script prints the share of tempos found within
4 %, and within 4 % counting half and double tempo (what the search filter accepts), and
the share of keys found exactly, and exactly or as the relative key. Real recordings,
whose tempo was counted by hand, are in docs/similarity.md.

    .venv/bin/python tests/benchmarks/bench_tempo_key.py [--per-genre 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.core import tempo_key  # noqa: E402
from batch.core.audio import SR  # noqa: E402
from batch.core.features import feature_frames, summarize  # noqa: E402
from batch.core.style import describe  # noqa: E402
from batch.demo.music import STYLES, synthesize  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-genre", type=int, default=4)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    for genre, style in STYLES.items():
        for i in range(args.per_genre):
            bpm, root = float(rng.uniform(60, 180)), int(rng.integers(40, 52))
            y = soxr.resample(synthesize(style, np.random.default_rng(i), bpm=bpm, root=root).mean(axis=1),
                              44100, SR).astype(np.float32)
            found = describe(y, SR, summarize(feature_frames(y, sr=SR)))
            tonic, mode = root % 12, "minor" if style.minor else "major"
            rows.append((genre, bpm, found.bpm, (tonic, mode), (found.tonic, found.mode), style.drums is not None))
    n = len(rows)
    exact = sum(abs(f - b) <= 0.04 * b for _, b, f, *_ in rows)
    octave = sum(tempo_key.bpm_matches(f, 0.96 * b, 1.04 * b) for _, b, f, *_ in rows)
    drums = [r for r in rows if r[5]]
    drums_ok = sum(tempo_key.bpm_matches(f, 0.96 * b, 1.04 * b) for _, b, f, *_ in drums)
    key_exact = sum(k == f for *_, k, f, _ in rows)
    key_rel = sum(k == f or tempo_key.relative(*k) == f for *_, k, f, _ in rows)
    print(f"{n} generated clips, {len(STYLES)} genres, tempos 60-180 BPM")
    print(f"tempo within 4 %: {exact / n:.0%}; counting half and double tempo: {octave / n:.0%} "
          f"(with drums: {drums_ok}/{len(drums)}; without: {octave - drums_ok}/{n - len(drums)})")
    print(f"key exact: {key_exact / n:.0%}; exact or relative: {key_rel / n:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
