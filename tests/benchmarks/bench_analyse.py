"""What identification adds to featurizing: batch.core.fingerprint.analyse (vector and peaks from one
STFT) against batch.core.features.vectorize (the vector alone), per 30 s clip, one core, same run.

    .venv/bin/python tests/benchmarks/bench_analyse.py [--clips 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.core.features import vectorize  # noqa: E402
from batch.core.fingerprint import analyse  # noqa: E402
from batch.demo.music import STYLES, synthesize  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    args = parser.parse_args()
    import numpy as np
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, style in zip(range(args.clips), list(STYLES.values()) * 10):
            path = Path(tmp) / f"{i}.mp3"
            sf.write(path, synthesize(style, np.random.default_rng(i)), 44100, format="MP3")
            paths.append(str(path))
        vectorize(paths[0]), analyse(paths[0])  # compile and warm up
        timings = {}
        for name, fn in (("vectorize", vectorize), ("analyse", analyse), ("vectorize again", vectorize)):
            started = time.process_time()
            for p in paths:
                fn(p)
            timings[name] = (time.process_time() - started) / len(paths) * 1000
    base = (timings["vectorize"] + timings["vectorize again"]) / 2
    for name, ms in timings.items():
        print(f"{name:<16} {ms:6.1f} ms per clip   {ms / base:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
