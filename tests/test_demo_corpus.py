"""The demo corpus: FMA's shape, real FMA rows, and the same bytes for the same seed."""

from __future__ import annotations

import csv
import json

from batch.core.metadata import read_genres, read_tracks
from batch.demo.charts import POPULAR_CSV
from batch.demo.corpus import TITLES_CSV, write_corpus
from text_pipeline.jobs.charts import read_chart


def files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_corpus(tmp_path):
    write_corpus(tmp_path / "a", n_tracks=3, n_videos=60, seed=7, workers=1)
    write_corpus(tmp_path / "b", n_tracks=3, n_videos=60, seed=7, workers=1)
    write_corpus(tmp_path / "c", n_tracks=3, n_videos=60, seed=8, workers=1)
    a, b, c = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert a == b
    named = lambda corpus: {k for k in corpus if k.parts[0] != "sound_audio"}  # noqa: E731 (sound ids vary)
    assert named(a) == named(c) and a != c
    assert all(any(k.parts[0] == "sound_audio" for k in corpus) for corpus in (a, c))


def test_fma_shape_with_real_rows_and_both_tiktok_shapes(tmp_path):
    rows = write_corpus(tmp_path, n_tracks=20, n_videos=300, seed=1, workers=2)
    meta = tmp_path / "fma_metadata"
    tracks = read_tracks(meta / "tracks.csv", read_genres(meta / "genres.csv"))
    assert len(tracks) == 20 and tracks["genre_top"].nunique() == 16
    with open(TITLES_CSV, newline="") as f:
        real = {(r["genre_top"], r["artist"], r["title"]) for r in csv.DictReader(f)}
    assert all((r["genre_top"], r["artist"], r["title"]) in real for r in rows)
    assert all(r["path"].exists() and r["path"].parent.name == f"{r['track_id'] // 1000:03d}" for r in rows)
    records = [json.loads(line) for line in (tmp_path / "tiktok" / "dump-0001.ndjson").read_text().splitlines()]
    assert len(records) == 300
    assert {"itemInfos" in r for r in records} == {True, False}  # the 2019 and 2020+ shapes
    with open(tmp_path / "dump-0001-truth.csv", newline="") as f:
        truth = list(csv.DictReader(f))
    assert any(t["track_id"] for t in truth) and any(not t["track_id"] for t in truth)
    # The chart reads as a Spotify top-200 export, and the dump's popular sounds are labelled.
    chart = read_chart(tmp_path / "charts" / "demo-top200.csv")
    assert list(chart["position"]) == list(range(1, 201)) and set(chart["kind"]) == {"top200"}
    assert chart["streams"].is_monotonic_decreasing
    with open(tmp_path / "dump-0001-popular.csv", newline="") as f:
        popular = list(csv.DictReader(f))
    with open(POPULAR_CSV, newline="") as f:
        songs = {(r["title"], r["artist"]) for r in csv.DictReader(f)}
    assert popular and all((p["title"], p["artist"]) in songs for p in popular)
    assert {p["music_id"] for p in popular} <= {t["music_id"] for t in truth}
