"""Featurize throughput on a real standalone cluster, with 1 and 2 worker cores.

Starts a master and one worker from the pip-installed pyspark (``infra.local.cluster``),
spark-submits ``batch.jobs.featurize`` on the demo corpus, stops the cluster by pid, and
repeats with the other core count. Local mode on the same cores runs in the same
session as a second baseline. Two rates per run:

- job: clips per second of the featurize stage (the job's own figure: decode and
  vectorize on the executors, plus the write);
- end to end: clips over the wall time of ``submit``, including Spark's start-up.

Usage: python tests/benchmarks/bench_cluster.py [--corpus var/demo] [--clips N]
(the corpus is built with ``batch.demo.corpus`` when it is missing).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.demo.corpus import COMPLETE  # noqa: E402
from infra.local.cluster import Cluster  # noqa: E402
from tests.conftest import free_port  # noqa: E402

JOB_LINE = re.compile(r"\[featurize\] (\d+) vectors and (\d+) errors in ([\d.]+) s")


def featurize(runner: list[str], audio: Path, out: Path, *options: str) -> tuple[float, float]:
    """Run ``RUNNER batch.jobs.featurize AUDIO --out OUT OPTIONS``; return (job clips/s, end-to-end clips/s)."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([*runner, "batch.jobs.featurize", str(audio), "--out", str(out), *options],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    found = JOB_LINE.search(done.stdout)
    if done.returncode != 0 or not found:
        sys.exit(f"featurize failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    clips = int(found.group(1)) + int(found.group(2))
    return clips / float(found.group(3)), clips / wall


def on_cluster(cores: int, audio: Path, out: Path, state: Path) -> tuple[float, float]:
    cluster = Cluster(state)
    cluster.start(port=free_port(), webui_port=free_port(), worker_webui_port=free_port(),
                  cores=cores, memory="6g", log=lambda *_: None)
    try:
        return featurize([sys.executable, "-m", "infra.local.cluster", "--state", str(state), "submit"],
                         audio, out)
    finally:
        cluster.stop(log=lambda *_: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "var" / "demo",
                        help="a batch.demo.corpus folder (default: var/demo, built if missing)")
    parser.add_argument("--clips", type=int, default=400, help="clips to featurize (default: 400)")
    args = parser.parse_args()
    args.corpus = args.corpus.resolve()  # the clips are linked to it from a temporary folder
    if not (args.corpus / COMPLETE).exists():
        subprocess.run([sys.executable, "-m", "batch.demo.corpus", "--out", str(args.corpus)], cwd=ROOT,
                       check=True)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio = tmp / "audio"
        for path in sorted((args.corpus / "fma_audio").rglob("*.mp3"))[:args.clips]:
            target = audio / path.relative_to(args.corpus / "fma_audio")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
        n = sum(1 for _ in audio.rglob("*.mp3"))
        print(f"featurizing {n} clips of {args.corpus} (30 s mp3)")
        results = {}
        for cores in (1, 2):
            results[f"cluster, {cores} worker core{'s' * (cores > 1)}"] = on_cluster(
                cores, audio, tmp / f"out-{cores}", tmp / f"state-{cores}")
            results[f"local[{cores}]"] = featurize([sys.executable, "-m"], audio, tmp / f"out-local-{cores}",
                                                   "--master", f"local[{cores}]")
        base_job, base_wall = results["cluster, 1 worker core"]
        print(f"{'':24s} {'job clips/s':>12s} {'vs 1 core':>10s} {'end-to-end clips/s':>19s}")
        for name, (job, wall) in results.items():
            print(f"{name:24s} {job:12.1f} {job / base_job:9.2f}x {wall:19.1f}")


if __name__ == "__main__":
    main()
