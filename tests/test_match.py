"""Matching TikTok sounds to catalogue songs: exact expected pairs, non-matches, threshold, reruns."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from batch.demo.corpus import write_tracks_csv
from text_pipeline.jobs import match

SHAPES = json.loads((Path(__file__).parent / "data" / "tiktok_record_shapes.json").read_text())

CATALOGUE = [  # track_id, title, artist
    (2, "Food", "AWOL"),
    (3, "Electric Dreams", "The Night Drivers"),
    (5, "Electric Dreams", "Mara Lind"),  # same title, another artist
    (7, "Glass Rivers", "The Night Drivers"),
    (11, "千本桜", "黒うさP"),
    (13, "Дождь", "Звери"),
    (17, "Sous le ciel de Paris", "Élodie Marchand"),
    (19, "Sous le ciel de Paris", "Élodie Marchand"),  # a duplicate row: the lower id wins
]

SOUNDS = [  # music_id, title, artist, original flag, expected track or None
    ("s1", "Food (Sped Up)", "awol", False, 2),
    ("s2", "ELECTRIC DREAMS - slowed + reverb 🔥", "The Night Drivers feat. Nova", False, 3),
    ("s3", "Electric Dreams [Official Audio]", "Mara Lind", False, 5),
    ("s4", "千本桜 (Slowed)", "黒うさP", False, 11),
    ("s5", "дождь", "звери", False, 13),
    ("s6", "Sous le ciel de Paris (TikTok Version)", "Elodie Marchand", False, 17),
    ("s7", "Glass Rivres", "The Night Drivers", False, 7),  # a typo
    ("n1", "Electric Dreams", "Somebody Else Entirely", False, None),  # a cover
    ("n2", "Midnight Parade", "The Night Drivers", False, None),  # same artist, other song
    ("n3", "original sound - awol", "awol", False, None),  # looks like AWOL, but original
    ("n4", "Food", "AWOL", True, None),  # flagged original
    ("n5", "Blinding Lights", "The Weeknd", False, None),  # not in the catalogue
    ("n6", "sonido original - pepe", "pepe", False, None),
]


def record(i: int, sound) -> str:
    music_id, title, artist, original, _ = sound
    if i % 2:
        r = copy.deepcopy(SHAPES["itemInfos_shape_2019"])
        r["itemInfos"]["id"] = f"v{i}"
        r["musicInfos"].update(musicId=music_id, musicName=title, authorName=artist, original=original)
    else:
        r = copy.deepcopy(SHAPES["itemStruct_shape_2020_plus"])
        r["id"] = f"v{i}"
        r["music"].update(id=music_id, title=title, authorName=artist, original=original)
    return json.dumps(r, ensure_ascii=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("match")
    write_tracks_csv(root / "tracks.csv", [
        {"track_id": t, "title": title, "artist": artist, "album": "", "genre_top": "Pop",
         "genres_all": "[10]", "listens": 0, "duration": 30} for t, title, artist in CATALOGUE])
    dumps = root / "dumps"
    dumps.mkdir()
    lines = [record(i, s) for i, s in enumerate(SOUNDS * 3)]  # every sound used by three videos
    (dumps / "part-1.ndjson").write_text("\n".join(lines[:20]) + "\nnot json\n")
    (dumps / "part-2.ndjson").write_text("\n".join(lines[20:]) + "\n" + lines[0][:50] + "\n")
    return root


@pytest.fixture(scope="module")
def first(inputs, spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    logs = []
    summary = match.run(str(inputs / "tracks.csv"), str(inputs / "dumps"), out, spark=spark,
                        log=logs.append)
    return out, summary, logs


def matches(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "matches").sort_values("tiktok_music_id", ignore_index=True)


def test_expected_pairs_and_non_matches(first):
    out, summary, _ = first
    found = dict(zip(matches(out)["tiktok_music_id"], matches(out)["fma_track_id"]))
    expected = {s[0]: s[4] for s in SOUNDS if s[4] is not None}
    assert found == expected


def test_scores_are_in_range_and_combined_as_documented(first):
    m = matches(first[0])
    assert m[["title_score", "artist_score", "total_score"]].stack().between(0, 1).all()
    combined = match.TITLE_WEIGHT * m["title_score"] + match.ARTIST_WEIGHT * m["artist_score"]
    pd.testing.assert_series_equal(m["total_score"], combined, check_names=False, atol=1e-6)
    assert (m["total_score"] >= match.DEFAULT_THRESHOLD).all()
    assert str(m["fma_track_id"].dtype) == "int64"


def test_outputs_and_summary(first):
    out, summary, _ = first
    assert (summary.records, summary.rejected, summary.sounds) == (len(SOUNDS) * 3 + 2, 2, len(SOUNDS))
    assert summary.matched == 7
    videos = pd.read_parquet(out / "tiktok")
    assert len(videos) == len(SOUNDS) * 3 and videos["video_id"].is_unique
    rejects = pd.concat(pd.read_json(p, lines=True) for p in (out / "rejects").glob("*.json"))
    assert sorted(rejects["reason"]) == ["not a JSON object", "truncated or malformed JSON"]
    assert "records read 41, rejected 2, unique sounds 13, matched 7" in summary.line()


def test_threshold_is_respected(inputs, spark, tmp_path):
    strict = match.run(str(inputs / "tracks.csv"), str(inputs / "dumps"), tmp_path, spark=spark,
                       threshold=0.99, log=lambda *_: None)
    m = matches(tmp_path)
    assert (m["total_score"] >= 0.99).all()
    assert strict.matched == 6  # the typo falls below 0.99; normalised variants score 1.0
    loose = match.run(str(inputs / "tracks.csv"), str(inputs / "dumps"), tmp_path, spark=spark,
                      threshold=0.0, log=lambda *_: None)
    # The typo too. The rest tie between different songs (the same title, or nothing in
    # common with any), and a tie is no answer, even at threshold 0.
    assert loose.matched == 7
    # Originals never; a cover of a title two catalogue songs share ties between them: no guess.
    assert not {"n1", "n3", "n4", "n6"} & set(matches(tmp_path)["tiktok_music_id"])


def test_a_rerun_with_the_same_inputs_changes_nothing(first, inputs, spark):
    out, _, logs = first
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = match.run(str(inputs / "tracks.csv"), str(inputs / "dumps"), out, spark=spark, log=lambda *_: None)
    assert (again.new_files, again.records, again.written, again.matched) == (0, 0, False, 7)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    assert any("fitting TF-IDF models" in line for line in logs)


def test_a_new_dump_file_adds_exactly_its_rows(inputs, spark, tmp_path):
    dumps = tmp_path / "dumps"
    shutil.copytree(inputs / "dumps", dumps)
    out = tmp_path / "out"
    first = match.run(str(inputs / "tracks.csv"), str(dumps), out, spark=spark, log=lambda *_: None)
    before_videos, before_matches = pd.read_parquet(out / "tiktok"), matches(out)
    extra = [("s8", "Food", "AWOL", False, 2), ("s1", "Food (Sped Up)", "awol", False, 2),
             ("n9", "Unknown Tune", "Nobody", False, None)]
    lines = [record(100 + i, s) for i, s in enumerate(extra)]
    lines.append(record(1, SOUNDS[1]))  # a video already seen: deduplicated, not added
    (dumps / "part-3.ndjson").write_text("\n".join(lines) + "\n")
    logs = []
    second = match.run(str(inputs / "tracks.csv"), str(dumps), out, spark=spark, log=logs.append)
    assert (second.new_files, second.records, second.rejected) == (1, 4, 0)
    videos = pd.read_parquet(out / "tiktok")
    assert len(videos) == len(before_videos) + 3 and videos["video_id"].is_unique
    assert set(matches(out)["tiktok_music_id"]) == set(before_matches["tiktok_music_id"]) | {"s8"}
    assert second.sounds == first.sounds + 2 and second.matched == first.matched + 1
    assert any("matching 2 new unique sounds" in line for line in logs)
    assert any("reusing the TF-IDF models" in line for line in logs)


def test_another_threshold_reprocesses_everything(inputs, spark, tmp_path):
    out = tmp_path / "out"
    match.run(str(inputs / "tracks.csv"), str(inputs / "dumps"), out, spark=spark, log=lambda *_: None)
    again = match.run(str(inputs / "tracks.csv"), str(inputs / "dumps"), out, spark=spark,
                      threshold=0.99, log=lambda *_: None)
    assert again.new_files == 2 and again.matched == 6


def test_zstd_dumps_get_the_unpack_command(tmp_path, inputs, spark):
    (tmp_path / "dump.ndjson.zst").write_bytes(b"\x28\xb5\x2f\xfd")
    with pytest.raises(match.MatchError, match=r"zstd -d --rm .*dump.ndjson.zst"):
        match.run(str(inputs / "tracks.csv"), str(tmp_path), tmp_path / "out", spark=spark)


def test_gzip_dumps_are_read(tmp_path, inputs, spark):
    import gzip

    (tmp_path / "d").mkdir()
    with gzip.open(tmp_path / "d" / "part.ndjson.gz", "wt") as f:
        f.write(record(1, SOUNDS[0]) + "\n")
    summary = match.run(str(inputs / "tracks.csv"), str(tmp_path / "d"), tmp_path / "out",
                        spark=spark, log=lambda *_: None)
    assert (summary.records, summary.matched) == (1, 1)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "text_pipeline.jobs.match", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_help_and_user_mistakes(tmp_path, inputs):
    helped = cli("--help")
    assert helped.returncode == 0
    for option in ("--tracks", "--tiktok", "--out", "--threshold", "--master", "--s3-endpoint", "zstd -d"):
        assert option in helped.stdout
    bad = cli("--tracks", str(inputs / "tracks.csv"), "--tiktok", str(tmp_path), "--out",
              str(tmp_path / "o"), "--threshold", "1.5")
    assert bad.returncode == 2 and "threshold must be in [0, 1]" in bad.stderr
    empty = cli("--tracks", str(inputs / "tracks.csv"), "--tiktok", str(tmp_path), "--out", str(tmp_path / "o"))
    assert empty.returncode == 2 and "no .ndjson" in empty.stderr
    missing = cli("--tracks", str(tmp_path / "nope.csv"), "--tiktok", str(tmp_path), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_s3_dumps_match_like_local_ones(first, inputs, spark, s3_endpoint, tmp_path):
    import gzip

    from batch.spark.sources import s3_client

    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket="tiktok")
    for path in sorted((inputs / "dumps").glob("*.ndjson")):
        client.put_object(Bucket="tiktok", Key=f"2019/{path.name}.gz", Body=gzip.compress(path.read_bytes()))
    summary = match.run(str(inputs / "tracks.csv"), "s3://tiktok/2019/", tmp_path, spark=spark,
                        endpoint_url=s3_endpoint, log=lambda *_: None)
    assert (summary.records, summary.rejected, summary.matched) == (first[1].records, 2, 7)
    pd.testing.assert_frame_equal(matches(tmp_path), matches(first[0]))
