"""Every Spark job checks its arguments before Spark starts: a wrong path costs no JVM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ("import importlib, sys; from pyspark import SparkContext; "
       "rc = importlib.import_module(sys.argv[1]).main(sys.argv[2:]); "
       "print(rc, SparkContext._active_spark_context is None)")


@pytest.mark.parametrize("module, args, message", [
    ("batch.jobs.featurize", ["{n}/audio", "--out", "{w}"], "audio source '{n}/audio' does not exist"),
    ("batch.jobs.reprocess", ["--fma-metadata", "{n}", "--audio", "{n}", "--tiktok", "{n}", "--work", "{w}"],
     "{n}/genres.csv: no such file"),
    ("text_pipeline.jobs.match", ["--tracks", "{n}/tracks.csv", "--tiktok", "{n}", "--out", "{w}"],
     "{n}/tracks.csv: no such file"),
    ("text_pipeline.jobs.charts", ["{n}/chart.csv", "--matched", "{n}"], "{n}/chart.csv: no such file"),
    ("batch.jobs.popularity", ["--features", "{n}"], "{n}/vectors does not exist"),
], ids=lambda v: v if isinstance(v, str) and "." in v else None)
def test_a_missing_input_fails_before_spark_starts(tmp_path, module, args, message):
    fill = {"n": str(tmp_path / "nowhere"), "w": str(tmp_path / "work")}
    out = subprocess.run([sys.executable, "-c", RUN, module, *(a.format(**fill) for a in args)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1].split() == ["2", "True"], out.stderr  # exit 2, no Spark
    assert message.format(**fill) in out.stderr
    assert "WARN" not in out.stderr and "Exception" not in out.stderr
