"""What the style model costs: analysis per clip with and without it, in one run, on one core.

Each generated 30 s mp3 (:func:`batch.demo.music.synthesize`) is analysed as featurize and the
web app analyse it (:func:`batch.core.fingerprint.analyse`: decode, the 245 numbers, the
peaks), then described by the style model, tempo and key (:func:`batch.core.style.describe`).
The script prints the p50 time per clip of both, their ratio, and the projection for
FMA-large (106,574 clips) on 2 cores.

    .venv/bin/python tests/benchmarks/bench_style_cost.py [--clips 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batch.core.fingerprint import analyse  # noqa: E402
from batch.core.style import describe  # noqa: E402
from batch.demo.music import STYLES, synthesize  # noqa: E402

FMA_LARGE = 106_574


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.clips):
            path = Path(tmp) / f"{i}.mp3"
            sf.write(path, synthesize(list(STYLES.values())[i % len(STYLES)], np.random.default_rng(i)),
                     44100, format="MP3")
            paths.append(path)
        vector, _, clip = analyse(paths[0])
        describe(clip.y, clip.sr, vector)  # load the model once, outside the timing
        without, with_style = [], []
        for path in paths:
            t = time.process_time()
            vector, _, clip = analyse(path)
            t1 = time.process_time()
            describe(clip.y, clip.sr, vector)
            t2 = time.process_time()
            without.append(t1 - t)
            with_style.append(t2 - t)
    a, b = 1e3 * np.median(without), 1e3 * np.median(with_style)
    print(f"{args.clips} clips, CPU ms per clip (p50): analysis {a:.0f}, analysis + style {b:.0f}: "
          f"{b / a:.2f}x; throughput {1e3 / b:.1f} against {1e3 / a:.1f} clips/s per core")
    for name, ms in (("without", a), ("with", b)):
        print(f"FMA-large on 2 cores {name} the style model: {FMA_LARGE * ms / 1e3 / 2 / 3600:.1f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
