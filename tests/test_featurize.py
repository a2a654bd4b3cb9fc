"""The Spark featurize job on a small generated corpus in FMA layout, locally and from S3."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from batch.core.features import vectorize
from batch.demo.corpus import write_corpus
from batch.jobs import featurize
from batch.spark import outputs
from batch.spark.sources import s3_client
from tests.conftest import tone, write_wav

N_GOOD = 6
BROKEN = {  # relative path -> bytes
    "000/000100.mp3": b"",
    "000/000101.mp3": np.random.default_rng(3).bytes(30_000),
    "000/000102.mp3": b"\x89PNG\r\n\x1a\n" + bytes(5000),
    "misc/liner-notes.mp3": b"not even audio",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    rows = write_corpus(root, n_tracks=N_GOOD, seed=1)
    for rel, data in BROKEN.items():
        path = root / "fma_audio" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root, rows


@pytest.fixture(scope="module")
def first_run(corpus, spark, tmp_path_factory):
    root, _ = corpus
    out = tmp_path_factory.mktemp("out")
    summary = featurize.run(str(root / "fma_audio"), out, tracks=str(root / "fma_metadata/tracks.csv"),
                            spark=spark, log=lambda *_: None)
    return out, summary


def read_vectors(out: Path) -> pd.DataFrame:
    return outputs.read_vectors(out).to_pandas()


def snapshot(out: Path) -> dict:
    return {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_first_run_featurizes_every_good_file(first_run, corpus):
    out, summary = first_run
    _, rows = corpus
    assert (summary.featurized, summary.skipped, summary.errors) == (N_GOOD, 0, 3)
    vectors = read_vectors(out)
    assert vectors["track_id"].tolist() == sorted(r["track_id"] for r in rows)
    assert str(vectors["track_id"].dtype) == "int64"
    assert all(len(v) == 245 and np.asarray(v).dtype == np.float32 for v in vectors["vector"])
    assert set(vectors.columns) >= {"genre_top", "source_path", "source_size", "source_version",
                                    "computed_at"}


def test_vectors_are_partitioned_by_genre_from_the_metadata(first_run, corpus):
    out, _ = first_run
    _, rows = corpus
    genre_of = {r["track_id"]: r["genre_top"] for r in rows}
    vectors = read_vectors(out)
    assert {tid: str(g) for tid, g in zip(vectors["track_id"], vectors["genre_top"])} == genre_of
    partitions = {p.name for p in (out / "vectors").iterdir() if p.is_dir()}
    assert partitions == {f"genre_top={g}" for g in genre_of.values()}


def test_executors_compute_the_same_vector_as_the_library(first_run):
    out, _ = first_run
    row = read_vectors(out).iloc[0]
    np.testing.assert_array_equal(np.asarray(row["vector"], dtype=np.float32),
                                  vectorize(row["source_path"]))


def test_bad_files_become_error_rows(first_run, corpus):
    out, _ = first_run
    errors = pd.read_parquet(out / "errors").set_index("source_path")
    root, _ = corpus
    reasons = {Path(p).relative_to(root / "fma_audio").as_posix(): r
               for p, r in errors["reason"].items()}
    assert set(reasons) == set(BROKEN)
    assert reasons["000/000100.mp3"].startswith("empty input")
    assert reasons["000/000101.mp3"].startswith("undecodable")
    assert reasons["000/000102.mp3"].startswith("undecodable")
    assert reasons["misc/liner-notes.mp3"].startswith("file name is not an FMA track id")
    assert errors.loc[str(root / "fma_audio/000/000100.mp3"), "track_id"] == 100


def test_metadata_lands_beside_the_vectors(first_run, corpus):
    out, _ = first_run
    tracks = pd.read_parquet(out / "tracks")
    assert len(tracks) == N_GOOD
    assert list(tracks.columns) == ["track_id", "title", "artist", "album", "genre_top",
                                    "genres_all", "listens", "duration"]


def test_reruns_are_incremental(first_run, corpus, spark, tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(corpus[0], root)
    out = tmp_path / "out"
    tracks = str(root / "fma_metadata/tracks.csv")
    quiet = dict(spark=spark, log=lambda *_: None, tracks=tracks)
    first = featurize.run(str(root / "fma_audio"), out, **quiet)
    assert first.featurized == N_GOOD
    before_vectors, before_files = read_vectors(out), snapshot(out)

    # A rerun over the same files changes nothing, not even a file's timestamp.
    again = featurize.run(str(root / "fma_audio"), out, **quiet)
    assert (again.featurized, again.skipped, again.errors, again.written) == (0, N_GOOD + 3, 0, False)
    assert snapshot(out) == before_files

    # One changed file is processed again; the rest keep their rows.
    changed = Path(before_vectors.loc[0, "source_path"])
    write_wav(changed.with_suffix(".wav"), tone(1000.0, seconds=5.0))
    changed.unlink()
    changed.with_suffix(".wav").rename(changed.with_suffix(".flac"))
    new_file = changed.with_suffix(".flac")
    after = featurize.run(str(root / "fma_audio"), out, **quiet)
    assert (after.featurized, after.skipped, after.removed) == (1, N_GOOD - 1 + 3, 1)
    vectors = read_vectors(out)
    assert vectors["track_id"].is_unique and len(vectors) == N_GOOD
    moved = vectors.set_index("track_id").loc[before_vectors.loc[0, "track_id"]]
    assert moved["source_path"] == str(new_file)
    np.testing.assert_array_equal(np.asarray(moved["vector"]), vectorize(new_file))
    rest = vectors.iloc[1:].reset_index(drop=True)
    pd.testing.assert_series_equal(rest["computed_at"], before_vectors["computed_at"].iloc[1:]
                                   .reset_index(drop=True))

    # A fixed broken file leaves the errors and joins the vectors.
    broken = root / "fma_audio/000/000100.mp3"
    write_wav(broken.with_suffix(".wav"), tone(220.0, seconds=4.0))
    broken.unlink()
    fixed = featurize.run(str(root / "fma_audio"), out, **quiet)
    assert fixed.featurized == 1
    unlisted = read_vectors(out).set_index("track_id").loc[100]  # not in tracks.csv: no genre
    assert unlisted["genre_top"] is None
    assert str(broken) not in set(pd.read_parquet(out / "errors")["source_path"])


def test_a_swap_cut_off_between_renames_is_recovered(tmp_path):
    target = tmp_path / "vectors"
    (tmp_path / "vectors.old").mkdir()
    (tmp_path / "vectors.old" / "part.parquet").write_text("old")
    outputs.recover(target)
    assert (target / "part.parquet").read_text() == "old"
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "part.parquet").write_text("new")
    outputs.swap_folder(staging, target)
    assert (target / "part.parquet").read_text() == "new"
    assert not (tmp_path / "vectors.old").exists() and not staging.exists()


def test_s3_source_gives_the_same_vectors_as_local(first_run, corpus, spark, s3_endpoint, tmp_path):
    root, _ = corpus
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket="fma")
    for path in sorted((root / "fma_audio").rglob("*.mp3")):
        key = "clips/" + path.relative_to(root / "fma_audio").as_posix()
        client.upload_file(str(path), "fma", key)

    out = tmp_path / "out"
    summary = featurize.run("s3://fma/clips/", out, tracks=str(root / "fma_metadata/tracks.csv"),
                            endpoint_url=s3_endpoint, spark=spark, log=lambda *_: None)
    assert (summary.featurized, summary.errors) == (N_GOOD, 3)
    remote, local = read_vectors(out), read_vectors(first_run[0])
    assert remote["source_path"].str.startswith("s3://fma/clips/").all()
    assert remote["track_id"].tolist() == local["track_id"].tolist()
    for a, b in zip(remote["vector"], local["vector"]):
        np.testing.assert_array_equal(a, b)
    again = featurize.run("s3://fma/clips/", out, endpoint_url=s3_endpoint, spark=spark,
                          log=lambda *_: None)
    assert (again.featurized, again.written) == (0, False)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "batch.jobs.featurize", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_help_explains_every_option():
    result = cli("--help")
    assert result.returncode == 0
    for option in ("SRC", "--out", "--tracks", "--genres", "--master", "--s3-endpoint"):
        assert option.lower() in result.stdout.lower()


def test_cli_reports_user_mistakes_in_one_line(tmp_path):
    missing = cli(str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"featurize: error: audio source '{tmp_path / 'nope'}' does not exist"
    bad_meta = cli(str(tmp_path), "--out", str(tmp_path / "o"), "--tracks", str(tmp_path / "t.csv"))
    assert bad_meta.returncode == 2 and "no genres.csv beside" in bad_meta.stderr
    assert cli(str(tmp_path)).returncode == 2  # --out is required
