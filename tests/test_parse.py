"""Parsing TikTok dumps: every record shape into the clean schema, and every way a line can be bad."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

from text_pipeline.tiktok.parse import VIDEO_COLUMNS, parse, rejects_of, videos_of

SHAPES = json.loads((Path(__file__).parent / "data" / "tiktok_record_shapes.json").read_text())


def shapes():
    """The three record shapes of public dumps (field names real, values invented)."""
    return (copy.deepcopy(SHAPES["itemInfos_shape_2019"]), copy.deepcopy(SHAPES["itemStruct_shape_2020_plus"]),
            copy.deepcopy(SHAPES["tiktok_scraper_flat_PostCollector"]))


def run_parse(spark, lines):
    df = spark.createDataFrame([(line, "dump.ndjson") for line in lines], "value string, source string")
    parsed = parse(df).cache()
    videos, rejects = videos_of(parsed), rejects_of(parsed)
    return ({r["video_id"]: r.asDict() for r in videos.collect()},
            [(r["line"], r["reason"]) for r in rejects.collect()])


def test_the_2019_shape(spark):
    record = shapes()[0]
    videos, rejects = run_parse(spark, [json.dumps(record)])
    assert rejects == []
    v = videos["6771234567890123526"]
    assert list(v) == list(VIDEO_COLUMNS)
    assert v["music_id"] == "6701234567890123456"
    assert (v["song_title"], v["artist_name"]) == ("Old Town Road (Remix)", "Lil Nas X")
    assert v["video_url"] == "https://www.tiktok.com/@example.dancer/video/6771234567890123526"
    assert v["cover_url"] == record["itemInfos"]["covers"][0]
    assert v["sound_url"] == record["musicInfos"]["playUrl"][0]
    assert (v["play_count"], v["like_count"], v["comment_count"], v["share_count"]) == (1200000, 125400, 1544, 830)
    assert v["created_at"].replace(tzinfo=timezone.utc) == datetime.fromtimestamp(1576500000, timezone.utc)
    assert v["hashtags"] == ["dance", "fyp"]
    assert (v["is_original"], v["author"]) == (False, "example.dancer")


def test_the_2020_shape(spark):
    record = shapes()[1]
    videos, _ = run_parse(spark, [json.dumps(record)])
    v = videos["6921234567890123456"]
    assert (v["music_id"], v["song_title"], v["artist_name"]) == ("6801234567890123456", "Savage", "Megan Thee Stallion")
    assert v["cover_url"] == record["video"]["cover"]
    assert v["sound_url"] == record["music"]["playUrl"]
    assert (v["play_count"], v["like_count"]) == (2900000, 384500)
    assert v["hashtags"] == ["dance", "fyp"]
    assert v["author"] == "example.creator"


def test_the_scraper_flat_shape(spark):
    record = shapes()[2]
    videos, _ = run_parse(spark, [json.dumps(record)])
    v = videos["7022301777483600000"]
    assert (v["music_id"], v["song_title"], v["artist_name"]) == ("7004351869892000000", "Example Song (Slowed)", "Example Artist")
    assert v["video_url"] == record["webVideoUrl"]
    assert v["cover_url"] == record["covers"]["default"]
    assert (v["play_count"], v["like_count"], v["share_count"]) == (111200, 10700, 482)
    assert v["hashtags"] == ["fyp"]
    assert v["author"] == "example_user"


def test_numbers_written_as_strings_and_original_flags(spark):
    record = copy.deepcopy(shapes()[1])
    record["stats"]["playCount"] = "123"
    record["music"]["original"] = True
    videos, _ = run_parse(spark, [json.dumps(record)])
    v = videos[record["id"]]
    assert (v["play_count"], v["is_original"]) == (123, True)


def test_duplicate_video_ids_keep_the_latest_snapshot(spark):
    old = copy.deepcopy(shapes()[0])
    old["itemInfos"]["playCount"] = 10
    videos, rejects = run_parse(spark, [json.dumps(old), json.dumps(shapes()[0]), json.dumps(old)])
    assert len(videos) == 1 and rejects == []
    assert videos["6771234567890123526"]["play_count"] == 1200000


def test_bad_lines_become_rejects_with_reasons(spark):
    good = json.dumps(shapes()[0])
    no_sound = copy.deepcopy(shapes()[1])
    del no_sound["music"]
    no_video = copy.deepcopy(shapes()[0])
    del no_video["itemInfos"]["id"]
    lines = [good, good[: len(good) // 2], "hello world", "42", "[1, 2]", "", "   ",
             json.dumps(no_sound), json.dumps(no_video), '{"unrelated": true}']
    videos, rejects = run_parse(spark, lines)
    assert list(videos) == ["6771234567890123526"]
    reasons = dict(rejects)
    assert reasons[good[: len(good) // 2]] == "truncated or malformed JSON"
    assert reasons["hello world"] == "not a JSON object"
    assert reasons["42"] == "not a JSON object"
    assert reasons["[1, 2]"] == "not a JSON object"
    assert reasons[json.dumps(no_sound)] == "no sound id"
    assert reasons[json.dumps(no_video)] == "no video id"
    assert reasons['{"unrelated": true}'] == "no video id"
    assert len(rejects) == 7  # blank lines are skipped, not rejected
