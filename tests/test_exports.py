"""tiktok-scraper's CSV and JSON exports, read as they are: formats told apart by content,
rows rebuilt into records, and every way a row or a file can be bad."""

from __future__ import annotations

import bz2
import copy
import csv
import gzip
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.test_match import SOUNDS, inputs  # noqa: F401  (the catalogue fixture)
from text_pipeline.core.exports import ExportError, records, sniff
from text_pipeline.jobs import match

DATA = Path(__file__).parent / "data"
FLAT = json.loads((DATA / "tiktok_record_shapes.json").read_text())["tiktok_scraper_flat_PostCollector"]
HEADER = next(csv.reader((DATA / "tiktok_scraper_export.csv").open(encoding="utf-8")))


def flat_record(i: int, sound) -> dict:
    music_id, title, artist, original, _ = sound
    r = copy.deepcopy(FLAT)
    r["id"] = f"v{i}"
    r["text"] = f"day {i} of this trend\nwho else? #dance"  # a newline inside a quoted field
    r["musicMeta"].update(musicId=music_id, musicName=title, musicAuthor=artist, musicOriginal=original)
    return r


def csv_export(recs: list[dict]) -> str:
    """The scraper's ``-t csv``: dotted columns, JSON text for the lists, true/false."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in recs:
        row = []
        for name in HEADER:
            value = r
            for part in name.split("."):
                value = value.get(part, "") if isinstance(value, dict) else ""
            if isinstance(value, (list, dict)):
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            row.append(value)
        writer.writerow(row)
    return out.getvalue()


def test_formats_are_told_apart_by_content():
    assert sniff("a.json", b'  [{"id": 1}]') == "json"
    assert sniff("a.json", b'\xef\xbb\xbf{"id": 1}\n{"id": 2}') == "ndjson"
    assert sniff("export.txt", (DATA / "tiktok_scraper_export.csv").read_bytes()[:4096]) == "csv"
    with pytest.raises(ExportError, match=r"page.json is not a TikTok dump: it starts with '<!doctype html>"):
        sniff("page.json", b"<!doctype html><html>")
    with pytest.raises(ExportError, match=r"starts with 'name,plays'.*musicMeta.musicId"):
        sniff("other.csv", b"name,plays\nx,1\n")
    with pytest.raises(ExportError, match="starts with 'nothing'"):
        sniff("empty.csv", b"")


def test_the_reference_csv_sample_becomes_one_nested_record():
    (text, problem), = records("x.csv", (DATA / "tiktok_scraper_export.csv").read_bytes(), "csv")
    r = json.loads(text)
    assert problem is None
    assert r["musicMeta"]["musicName"] == "original sound" and r["musicMeta"]["musicOriginal"] == "true"
    assert r["text"] == "day 3 of this trend\nwho else? #dance #fyp"
    assert [h["name"] for h in r["hashtags"]] == ["dance", "fyp"]
    assert r["covers"]["default"].startswith("https://p16-sign.example.invalid/")


def test_bad_csv_rows_are_rejects_with_their_row_number():
    good = csv_export([flat_record(i, SOUNDS[0]) for i in range(3)]).splitlines(keepends=True)
    short = "only,three,fields\n"
    bad_json = "".join(good[-2:]).replace('[{""id""', '[{oops', 1)  # a record spans two lines
    rows = list(records("x.csv", "".join(good[:3] + [short] + [bad_json] + ["\n"]).encode(), "csv"))
    assert [p for _, p in rows] == [None, f"row 3 has 3 fields, the header {len(HEADER)}",
                                    "row 4: hashtags is not JSON text"]
    assert rows[1][0] == "only,three,fields"


def test_json_array_elements_are_records_and_a_cut_file_loses_only_its_tail():
    recs = [flat_record(i, SOUNDS[i]) for i in range(3)]
    whole = json.dumps(recs)
    assert [json.loads(t)["id"] for t, p in records("x.json", whole.encode(), "json")] == ["v0", "v1", "v2"]
    cut = list(records("x.json", whole[: len(whole) - 40].encode(), "json"))
    assert [p for _, p in cut[:2]] == [None, None] and cut[2][1].startswith("element 3: truncated")
    odd = list(records("x.json", b'[{"id": "a"}, 42, "x"]', "json"))
    assert [p for _, p in odd] == [None, "element 2 is not a JSON object", "element 3 is not a JSON object"]
    unclosed = list(records("x.json", b'[{"id": "a"}, ', "json"))
    assert unclosed[-1][1].startswith("the array ends after element 1 without its closing")


def test_scraper_exports_match_like_ndjson(inputs, spark, tmp_path):  # noqa: F811
    """CSV (plain, .gz, .bz2) and the JSON array, side by side with an ndjson dump of the same videos."""
    recs = [flat_record(i, s) for i, s in enumerate(SOUNDS)]
    d = tmp_path / "d"
    d.mkdir()
    (d / "trend.csv").write_text(csv_export(recs[:5]) + "too,few\n", encoding="utf-8")
    (d / "hashtag.csv.gz").write_bytes(gzip.compress(csv_export(recs[5:8]).encode()))
    (d / "music.csv.bz2").write_bytes(bz2.compress(csv_export(recs[8:10]).encode()))
    (d / "user.json").write_text(json.dumps(recs[10:]), encoding="utf-8")
    out = tmp_path / "out"
    summary = match.run(str(inputs / "tracks.csv"), str(d), out, spark=spark, log=lambda *_: None)
    assert (summary.records, summary.rejected) == (len(SOUNDS) + 1, 1)
    videos = pd.read_parquet(out / "tiktok")
    assert sorted(videos["video_id"]) == sorted(f"v{i}" for i in range(len(SOUNDS)))
    v0 = videos.set_index("video_id").loc["v0"]
    assert list(v0["hashtags"]) == [h["name"] for h in FLAT["hashtags"]] and v0["play_count"] == FLAT["playCount"]
    assert v0["is_original"] == FLAT["musicMeta"]["musicOriginal"] and v0["cover_url"] == FLAT["covers"]["default"]
    rejects = pd.concat(pd.read_json(f, lines=True) for f in (out / "rejects").glob("*.json"))
    assert rejects["reason"].tolist() == [f"row 7 has 2 fields, the header {len(HEADER)}"]
    found = pd.read_parquet(out / "matches").set_index("tiktok_music_id")["fma_track_id"].to_dict()
    assert found == {s[0]: s[4] for s in SOUNDS if s[4] is not None}


def test_a_file_in_no_known_format_is_named_with_what_it_holds(inputs, spark, tmp_path):  # noqa: F811
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "trend.csv").write_text("<html><body>Sign in</body></html>")
    with pytest.raises(match.MatchError, match=r"trend.csv is not a TikTok dump: it starts with '<html>"):
        match.run(str(inputs / "tracks.csv"), str(tmp_path / "d"), tmp_path / "out", spark=spark)
    (tmp_path / "d" / "trend.csv").write_bytes(b"not gzip at all")
    (tmp_path / "d" / "trend.csv").rename(tmp_path / "d" / "trend.csv.gz")
    with pytest.raises(match.MatchError, match=r"trend.csv.gz cannot be decompressed"):
        match.run(str(inputs / "tracks.csv"), str(tmp_path / "d"), tmp_path / "out", spark=spark)


def test_a_gz_cut_short_after_its_head_is_one_reject(inputs, spark, tmp_path):  # noqa: F811
    (tmp_path / "d").mkdir()
    packed = gzip.compress(csv_export([flat_record(i, SOUNDS[0]) for i in range(200)]).encode())
    (tmp_path / "d" / "trend.csv.gz").write_bytes(packed[: len(packed) - 100])
    summary = match.run(str(inputs / "tracks.csv"), str(tmp_path / "d"), tmp_path / "out", spark=spark,
                        log=lambda *_: None)
    assert (summary.records, summary.rejected) == (1, 1)
    rejects = pd.concat(pd.read_json(f, lines=True) for f in (tmp_path / "out" / "rejects").glob("*.json"))
    assert rejects["reason"].iloc[0].startswith("the file cannot be decompressed (")


def test_s3_exports_are_read_like_local_ones(inputs, spark, s3_endpoint, tmp_path):  # noqa: F811
    from batch.spark.sources import s3_client

    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket="exports")
    recs = [flat_record(i, s) for i, s in enumerate(SOUNDS)]
    client.put_object(Bucket="exports", Key="2021/trend.csv.gz", Body=gzip.compress(csv_export(recs[:7]).encode()))
    client.put_object(Bucket="exports", Key="2021/user.json", Body=json.dumps(recs[7:]).encode())
    summary = match.run(str(inputs / "tracks.csv"), "s3://exports/2021/", tmp_path, spark=spark,
                        endpoint_url=s3_endpoint, log=lambda *_: None)
    assert (summary.records, summary.rejected) == (len(SOUNDS), 0)
    assert summary.matched == sum(s[4] is not None for s in SOUNDS)


def test_a_field_too_long_is_one_reject_and_reading_goes_on():
    from text_pipeline.core.exports import FIELD_LIMIT

    header = "id,musicMeta.musicId,musicMeta.musicName,text\n"
    data = (header + "1,m1,Song,hi\n2,m2,Song," + "x" * (FIELD_LIMIT + 1) + "\n3,m3,Song,ok\n").encode()
    rows = list(records("x.csv", data, "csv"))
    assert [json.loads(t)["id"] for t, p in rows if p is None] == ["1", "3"]
    assert [p for _, p in rows if p] == [f"row 3: not CSV (field larger than field limit ({FIELD_LIMIT}))"]
