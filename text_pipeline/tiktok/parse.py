"""Parse TikTok dumps into clean video records, with Spark.

Records come one per line: ndjson dumps as they are, tiktok-scraper's JSON and CSV
exports as :mod:`text_pipeline.core.exports` rebuilds them.

Three record shapes are understood (see ``shared/reference/tiktok_record_shapes.json``):
the 2019 public dump's ``itemInfos``/``musicInfos``/``authorInfos``/``challengeInfoList``,
the 2020+ web API's ``id``/``desc``/``video``/``music``/``author``/``stats``/``challenges``,
and a popular scraper's flat ``musicMeta``/``authorMeta``/``covers`` output.

Lines are parsed by Spark's own JSON parser (``from_json``) against one schema that
covers all three shapes. Every scalar is read as a string and cast afterwards, so a
number written as a string (``"createTime": "1576500000"``) parses like any other.
A line that is not JSON, is truncated, or lacks a video id or a sound id becomes a
reject with its raw text and a reason; it is never fatal. Duplicate video ids keep
the record with the most plays (the latest snapshot).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

VIDEO_COLUMNS = (
    "video_id", "video_url", "cover_url", "music_id", "song_title", "artist_name", "sound_url",
    "is_original", "created_at", "play_count", "like_count", "comment_count", "share_count",
    "hashtags", "author",
)
"""The clean schema, in order."""

_COUNTS = "diggCount: string, shareCount: string, playCount: string, commentCount: string"
RAW_SCHEMA = (
    "struct<"
    # 2019: itemInfos / musicInfos / authorInfos / challengeInfoList
    f"itemInfos: struct<id: string, createTime: string, covers: array<string>, "
    f"video: struct<urls: array<string>>, {_COUNTS}>, "
    "musicInfos: struct<musicId: string, musicName: string, authorName: string, "
    "original: string, playUrl: array<string>>, "
    "authorInfos: struct<uniqueId: string>, "
    "challengeInfoList: array<struct<challengeName: string>>, "
    # 2020+: id / desc / video / music / author / stats / challenges
    "id: string, createTime: string, "
    "video: struct<cover: string, playAddr: string>, "
    "music: struct<id: string, title: string, authorName: string, original: string, "
    "playUrl: string>, "
    "author: struct<uniqueId: string>, "
    f"stats: struct<{_COUNTS}>, "
    "challenges: array<struct<title: string>>, "
    # scraper's flat shape
    "musicMeta: struct<musicId: string, musicName: string, musicAuthor: string, "
    "musicOriginal: string, playUrl: string>, "
    "authorMeta: struct<name: string>, covers: struct<`default`: string>, "
    f"webVideoUrl: string, videoUrl: string, {_COUNTS}, "
    "hashtags: array<struct<name: string>>"
    ">"
)


def parse(lines: DataFrame) -> DataFrame:
    """Every non-blank line of ``lines`` (``value``, ``source``, optional ``problem``), parsed once.

    ``problem``, when the reader already knows a record is unusable (a CSV row with too
    many fields), is its reason.

    Returns :data:`VIDEO_COLUMNS` plus ``source``, ``reason`` (NULL for a usable
    record) and ``line`` (the raw text, kept for rejects only). Split it with
    :func:`videos_of` and :func:`rejects_of`; writing it out first means the JSON
    is parsed once however the result is used.
    """
    if "problem" not in lines.columns:
        lines = lines.withColumn("problem", F.lit(None).cast("string"))
    lines = lines.filter((F.trim("value") != "") | F.col("problem").isNotNull())
    parsed = lines.withColumn("r", F.from_json("value", RAW_SCHEMA, {"mode": "PERMISSIVE"}))
    valid = F.col("r").isNotNull() & _parses_as_object("value")
    clean = parsed.select("value", "source", "problem", valid.alias("valid"), *_clean_columns())
    reason = (F.when(F.col("problem").isNotNull(), F.col("problem"))
              .when(~F.col("valid") & F.trim("value").startswith("{"), "truncated or malformed JSON")
              .when(~F.col("valid"), "not a JSON object")
              .when(F.col("video_id").isNull(), "no video id")
              .when(F.col("music_id").isNull(), "no sound id"))
    return clean.select(*VIDEO_COLUMNS, "source", reason.alias("reason"),
                        F.when(reason.isNotNull(), F.col("value")).alias("line"))


def videos_of(parsed: DataFrame) -> DataFrame:
    """Usable records, one per video id: the snapshot with the most plays wins."""
    latest = Window.partitionBy("video_id").orderBy(
        F.col("play_count").desc_nulls_last(), F.col("created_at").desc_nulls_last(), "source")
    return (parsed.filter(F.col("reason").isNull())
            .withColumn("_rank", F.row_number().over(latest))
            .filter("_rank = 1").select(*VIDEO_COLUMNS))


def rejects_of(parsed: DataFrame) -> DataFrame:
    """Lines that could not be used: source, line, reason."""
    return parsed.filter(F.col("reason").isNotNull()).select("source", "line", "reason")


def _parses_as_object(column: str):
    # from_json returns an all-null struct, not NULL, for some non-object JSON (e.g. "42").
    return F.trim(column).startswith("{") & F.trim(column).endswith("}")


def _clean_columns() -> list:
    r = lambda path: F.col(f"r.{path}")  # noqa: E731
    first = lambda path: F.element_at(r(path), 1)  # noqa: E731
    video_id = F.coalesce(r("itemInfos.id"), r("id"))
    author = F.coalesce(r("authorInfos.uniqueId"), r("author.uniqueId"), r("authorMeta.name"))
    web_url = F.when(author.isNotNull() & video_id.isNotNull(),
                     F.concat(F.lit("https://www.tiktok.com/@"), author, F.lit("/video/"), video_id))
    created = F.coalesce(r("itemInfos.createTime"), r("createTime"))
    hashtags = F.coalesce(
        F.transform(r("challengeInfoList"), lambda c: c["challengeName"]),
        F.transform(r("challenges"), lambda c: c["title"]),
        F.transform(r("hashtags"), lambda c: c["name"]),
        F.array().cast("array<string>"),
    )

    def count(name):
        return F.coalesce(r(f"itemInfos.{name}"), r(f"stats.{name}"), r(name)).cast("long")

    return [
        video_id.alias("video_id"),
        F.coalesce(r("webVideoUrl"), web_url, first("itemInfos.video.urls"), r("video.playAddr"),
                   r("videoUrl")).alias("video_url"),
        F.coalesce(first("itemInfos.covers"), r("video.cover"), r("covers.`default`")).alias("cover_url"),
        F.coalesce(r("musicInfos.musicId"), r("music.id"), r("musicMeta.musicId")).alias("music_id"),
        F.coalesce(r("musicInfos.musicName"), r("music.title"), r("musicMeta.musicName")).alias("song_title"),
        F.coalesce(r("musicInfos.authorName"), r("music.authorName"),
                   r("musicMeta.musicAuthor")).alias("artist_name"),
        F.coalesce(first("musicInfos.playUrl"), r("music.playUrl"), r("musicMeta.playUrl")).alias("sound_url"),
        (F.lower(F.coalesce(r("musicInfos.original"), r("music.original"),
                            r("musicMeta.musicOriginal"))) == "true").alias("is_original"),
        F.timestamp_seconds(created.cast("long")).alias("created_at"),
        count("playCount").alias("play_count"),
        count("diggCount").alias("like_count"),
        count("commentCount").alias("comment_count"),
        count("shareCount").alias("share_count"),
        F.array_distinct(F.filter(hashtags, lambda h: h.isNotNull() & (h != ""))).alias("hashtags"),
        author.alias("author"),
    ]
