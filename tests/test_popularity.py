"""Popularity from audio: MLlib models on generated songs whose popularity depends on their features."""

from __future__ import annotations

import html
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch.core.features import N_FEATURES
from batch.jobs.popularity import (
    BARELY,
    Evaluation,
    PopularityError,
    evaluate,
    main,
    predict,
    r2,
    run,
    song_targets,
)
from batch.store import db
from batch.store.load import load_popularity
from tests.conftest import throwaway_database, tone, write_wav
from tests.test_store import matches_parquet, videos_parquet

N_SONGS = 400
SCALES = 10.0 ** (np.arange(N_FEATURES) % 4)
"""Features on very different scales, like MFCCs next to spectral centroids in Hz."""


def write_songs(root, *, signal: bool = True, seed: int = 1):
    """N_SONGS songs laid out as batch.jobs.featurize and text_pipeline.jobs.match write them.

    With ``signal``, log10 listens = 3 + 0.5 z0 - 0.4 z7 + 0.3 z100 (+ noise 0.1) and,
    for the 300 songs TikTok uses, log10 plays = 4 + 0.6 z3 - 0.3 z50 (+ noise 0.1),
    where z are the standardised features. Without it, both are pure noise.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N_SONGS, N_FEATURES))
    features = (z * SCALES).astype(np.float32)
    ids = np.arange(1000, 1000 + N_SONGS)
    spread = 0.1 if signal else 1.0
    log_listens = 3 + (0.5 * z[:, 0] - 0.4 * z[:, 7] + 0.3 * z[:, 100]) * signal + rng.normal(0, spread, N_SONGS)
    log_plays = 4 + (0.6 * z[:, 3] - 0.3 * z[:, 50]) * signal + rng.normal(0, spread, N_SONGS)
    for genre in ("Rock", "Pop"):  # hive partitions, as featurize writes them
        part = root / "features" / "vectors" / f"genre_top={genre}"
        part.mkdir(parents=True)
        rows = slice(0, N_SONGS // 2) if genre == "Rock" else slice(N_SONGS // 2, N_SONGS)
        pq.write_table(pa.table({"track_id": ids[rows], "vector": list(features[rows]),
                                 "source_path": [f"/audio/{i}.mp3" for i in ids[rows]]}),
                       part / "part-0.parquet")
    (root / "features" / "tracks").mkdir()
    pq.write_table(pa.table({"track_id": ids, "listens": np.round(np.maximum(10 ** log_listens - 1, 0)).astype(np.int64)}),
                   root / "features" / "tracks" / "part-0.parquet")
    used = range(300)  # each song TikTok uses has two sounds, its plays split 3:1 between them
    videos, matches = [], []
    for i in used:
        plays = 10 ** log_plays[i] - 1
        for sound, share in (("a", 0.75), ("b", 0.25)):
            videos.append({"video_id": f"v{i}{sound}", "music_id": f"m{i}{sound}",
                           "song_title": f"Song {i}", "play_count": max(0, round(plays * share))})
            matches.append((int(ids[i]), f"m{i}{sound}", 1.0, 1.0, 1.0))
    (root / "matched" / "tiktok").mkdir(parents=True)
    videos_parquet(root / "matched" / "tiktok" / "part-0.parquet", videos)
    (root / "matched" / "matches").mkdir()
    matches_parquet(root / "matched" / "matches" / "part-0.parquet", matches)
    return root


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return write_songs(tmp_path_factory.mktemp("popularity"))


@pytest.fixture(scope="module")
def evaluations(generated, spark):
    found = run(generated / "features", generated / "matched", folds=5, spark=spark,
                report=generated / "report.json", log=lambda *_: None)
    return {e.target: e for e in found}


def test_both_targets_are_built_from_the_pipeline_outputs(generated, spark):
    data = song_targets(spark, generated / "features", generated / "matched")
    assert set(data) == {"fma_listens", "tiktok_plays"}
    assert data["fma_listens"].count() == N_SONGS
    plays = data["tiktok_plays"].toPandas().set_index("track_id")
    assert len(plays) == 300  # only the songs TikTok uses
    assert len(plays["features"].iloc[0]) == N_FEATURES
    # Both sounds' plays are summed: song 1000 is the first used song, with sounds m0a and m0b.
    videos = pq.read_table(generated / "matched" / "tiktok").to_pandas()
    both = videos.loc[videos["music_id"].isin(["m0a", "m0b"]), "play_count"].sum()
    assert plays.loc[1000, "y"] == pytest.approx(np.log10(1 + both))
    listens = pq.read_table(generated / "features" / "tracks").to_pandas().set_index("track_id")
    assert data["fma_listens"].toPandas().set_index("track_id").loc[1000, "y"] == pytest.approx(
        np.log10(1 + listens.loc[1000, "listens"]))


@pytest.mark.parametrize("target", ["fma_listens", "tiktok_plays"])
def test_where_popularity_depends_on_the_audio_the_model_beats_the_mean(evaluations, target):
    e = evaluations[target]
    assert e.folds == 5 and len(e.fold_r2) == 5
    # 245 features and 240 to 320 training songs: the ridge model overfits somewhat, and
    # still explains most of a variance the mean cannot explain at all.
    assert e.r2 > 0.6 and min(e.fold_r2) > 0.5
    assert e.baseline_r2 <= 0.0 < e.r2
    assert e.mae < 0.6 * e.baseline_mae
    assert not e.barely and "explains about" in e.line()
    assert e.residual_low < 0 < e.residual_high
    assert e.songs == (N_SONGS if target == "fma_listens" else 300)


def test_the_final_model_predicts_a_range_around_the_truth(evaluations, generated):
    e = evaluations["fma_listens"]
    z = np.zeros(N_FEATURES)
    z[0] = 1.0  # log10 listens should be 3 + 0.5 = 3.5
    found = predict(vars(e), z * SCALES)
    assert found["low"] < found["value"] < found["high"]
    assert 10 ** 3.3 < found["value"] < 10 ** 3.7
    assert found["low"] < 10 ** 3.5 < found["high"]
    with pytest.raises(ValueError, match="expected 245 features"):
        predict(vars(e), np.zeros(10))
    report = (generated / "report.json").read_text()
    assert '"target": "fma_listens"' in report and '"coefficients"' in report


def test_where_popularity_is_noise_the_report_says_audio_barely_predicts_it(spark, tmp_path):
    root = write_songs(tmp_path, signal=False, seed=2)
    found = run(root / "features", None, folds=4, spark=spark, log=lambda *_: None)
    assert [e.target for e in found] == ["fma_listens"]  # no --matched: listens only
    e = found[0]
    assert e.r2 < BARELY and e.barely
    assert "audio barely predicts it" in e.line()
    assert e.mae >= 0.95 * e.baseline_mae  # no better than the mean, to within noise


def test_r2_is_zero_for_the_mean_and_one_when_exact():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2(y, np.full(4, y.mean())) == 0.0
    assert r2(y, y) == 1.0
    assert r2(y, y[::-1]) < 0


def test_bad_inputs_fail_clearly(generated, spark, tmp_path, capsys):
    small = write_songs(tmp_path / "small")
    with pytest.raises(PopularityError, match="at least 2"):
        run(generated / "features", folds=1, spark=spark, log=lambda *_: None)
    few = song_targets(spark, small / "features")["fma_listens"].limit(8)
    with pytest.raises(PopularityError, match="8 songs, too few"):
        evaluate(few, "fma_listens")
    cases = [
        (["--features", str(tmp_path / "nowhere")], "nowhere/vectors does not exist"),
        (["--features", str(generated / "features"), "--matched", str(tmp_path)], "tiktok does not exist"),
        (["--features", str(generated / "features"), "--folds", "0"], "at least 2"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("popularity: error:") and message in err, err


def test_arguments_are_checked_before_spark_starts(generated, tmp_path):
    code = ("import sys; from batch.jobs.popularity import main; from pyspark import SparkContext; "
            "rc = main(sys.argv[1:]); print(rc, SparkContext._active_spark_context is None)")
    for argv in (["--features", str(tmp_path / "nowhere")],
                 ["--features", str(generated / "features"), "--folds", "99"],
                 ["--features", str(generated / "features"), "--report", str(tmp_path / "no" / "r.json")]):
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                             cwd=str(Path(__file__).resolve().parents[1]))
        assert out.stdout.split() == ["2", "True"], out.stderr
        assert out.stderr.startswith("popularity: error:") and "WARN" not in out.stderr, out.stderr


def test_the_results_page_shows_the_stored_prediction_as_a_range_with_its_caveat(
        evaluations, store_url, tmp_path):
    from batch.store.load import load_catalogue
    from tests.test_webapp import write_catalogue
    from webapp import create_app

    root = tmp_path / "web"
    write_catalogue(root, n_tracks=8)
    barely = Evaluation(target="tiktok_plays", songs=300, folds=5, r2=0.02, mae=0.9, baseline_r2=-0.01,
                        baseline_mae=0.92, fold_r2=[0.02] * 5, reg_param=10.0, intercept=3.0,
                        coefficients=[0.0] * N_FEATURES, residual_low=-1.0, residual_high=1.0)
    with throwaway_database(store_url, "popularity") as url:
        conn = db.connect(url)
        db.migrate(conn)
        load_catalogue(conn, root / "out")
        load_popularity(conn, [evaluations["fma_listens"], barely])
        load_popularity(conn, [barely])  # a rerun replaces its target's row and keeps the other
        with conn.cursor() as cur:
            cur.execute("SELECT target, songs, cardinality(coefficients) FROM popularity_models ORDER BY target")
            assert cur.fetchall() == [("fma_listens", N_SONGS, N_FEATURES), ("tiktok_plays", 300, N_FEATURES)]
        conn.close()

        wav = write_wav(tmp_path / "mine.wav", tone(330.0, seconds=8.0)).read_bytes()
        client = create_app({"DATABASE_URL": url, "TESTING": True}).test_client()
        page = client.post("/search", data={"file": (io.BytesIO(wav), "mine.wav")},
                           content_type="multipart/form-data")
        text = html.unescape(page.get_data(as_text=True))
        assert page.status_code == 200
        # intercept 3, no coefficients: 10^3 - 1 = 999, range 10^2 - 1 .. 10^4 - 1
        assert "Predicted TikTok plays of the songs' matched sounds from the audio alone:" in text
        assert "99 – 9,999" in text and "audio barely" in text and "r² 0.02" in text
        assert "Predicted FMA listens" in text and "Audio explains about" in text
        api = client.post("/api/search", data={"file": (io.BytesIO(wav), "mine.wav")},
                          content_type="multipart/form-data").get_json()
        tiktok = next(p for p in api["popularity"] if p["target"] == "tiktok_plays")
        assert (tiktok["low"], tiktok["value"], tiktok["high"], tiktok["barely"]) == (99, 999, 9999, True)


def test_a_load_from_unchanged_inputs_is_skipped_without_spark(generated, spark, store_url, monkeypatch):
    """make demo's second run: the stored models stand while their inputs do not change."""
    from batch.jobs.popularity import inputs_version

    lines = []
    with throwaway_database(store_url, "popularity_rerun") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        first = run(generated / "features", generated / "matched", folds=3, spark=spark, load=True,
                    log=lines.append)
        assert first and any("loaded" in line for line in lines)
        lines.clear()
        assert run(generated / "features", generated / "matched", folds=3, spark=None, load=True,
                   log=lines.append) == []  # spark=None: a session would be started if it trained
        assert lines == ["[popularity] the stored models were trained on these very inputs: nothing to do "
                         "(--force trains again)"]
        assert run(generated / "features", generated / "matched", folds=3, spark=spark, load=True,
                   force=True, log=lambda *_: None)
    # Other folds, another seed, or a rewritten input file are other inputs.
    before = inputs_version(generated / "features", generated / "matched", folds=3)
    assert inputs_version(generated / "features", generated / "matched", folds=4) != before
    assert inputs_version(generated / "features", generated / "matched", folds=3, seed=8) != before
    assert inputs_version(generated / "features", None, folds=3) != before
    part = next((generated / "features" / "tracks").glob("*.parquet"))
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 1_000_000_000))
    assert inputs_version(generated / "features", generated / "matched", folds=3) != before
