"""Cost of an upload by source length: the windowed decode against a full decode, same run.

Each source goes through what an upload costs the web app (batch.core.fingerprint.analyse:
decode, vector and peaks). "full decode" is how batch.core.audio worked before it seeked:
decode the whole source, then cut the middle 30 s. Peak memory is the Python heap's peak
(tracemalloc, which counts numpy's buffers) during one analysis.

    .venv/bin/python tests/benchmarks/bench_decode.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from batch.core import audio  # noqa: E402
from batch.core.fingerprint import analyse  # noqa: E402
from tests import music  # noqa: E402


def full_decode(data: bytes):
    """The old _sndfile_window: every frame decoded, then the window cut out."""
    import io

    with sf.SoundFile(io.BytesIO(data)) as f:
        sr, declared = f.samplerate, f.frames
        y = f.read(dtype="float32", always_2d=True)
    start, length = audio._window(len(y), sr, declared)
    return y[start:start + length], sr, len(y), start


def measure(path: Path, repeats: int, *, old: bool) -> tuple[float, float, str]:
    with mock.patch.object(audio, "_sndfile_window", full_decode) if old else contextlib.nullcontext():
        times, outcome = [], "ok"
        for _ in range(repeats):
            started = time.perf_counter()
            try:
                analyse(path)
            except audio.AudioError as e:
                outcome = str(e).split(":")[0]
            times.append(time.perf_counter() - started)
        tracemalloc.start()
        try:
            analyse(path)
        except audio.AudioError:
            pass
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return float(np.median(times)) * 1000, peak, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("writing sources ...", flush=True)
        sources = {
            "30 s clip (mp3)": music.render("bach/bwv1.6", tmp / "clip.mp3", seconds=30.0),
            "whole song, 4 min (mp3)": music.render("beethoven/opus18no1", tmp / "song.mp3",
                                                   seconds=240.0, offset=0.0),
        }
        long_mp3 = tmp / "long.mp3"
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                        "sine=frequency=523:sample_rate=8000:duration=3000", "-b:a", "8k", str(long_mp3)],
                       check=True)
        sources["50 min at 8 kbit/s (mp3, 3 MB)"] = long_mp3
        flac = tmp / "silence.flac"
        with sf.SoundFile(flac, "w", 44100, 1, format="FLAC") as f:
            for _ in range(18):
                f.write(np.zeros(44100 * 600, np.float32))
        sources[f"3 h of silence (flac, {flac.stat().st_size / 1e6:.1f} MB)"] = flac

        rows = []
        for name, path in sources.items():
            rows.append((name, measure(path, args.repeats, old=True), measure(path, args.repeats, old=False)))
            print(f"  measured {name}", flush=True)

    clip_old, clip_new = rows[0][1][0], rows[0][2][0]
    print(f"\n{'source':<36} {'full decode':>22} {'windowed':>22}  outcome now")
    print(f"{'':<36} {'ms':>8} {'x clip':>6} {'MB':>6} {'ms':>8} {'x clip':>6} {'MB':>6}")
    for name, (t_old, m_old, _), (t_new, m_new, outcome) in rows:
        print(f"{name:<36} {t_old:8.0f} {t_old / clip_old:6.2f} {m_old:6.0f} "
              f"{t_new:8.0f} {t_new / clip_new:6.2f} {m_new:6.0f}  {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
