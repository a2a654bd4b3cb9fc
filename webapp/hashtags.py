"""Hashtag suggestions: the TikTok sounds and catalogue songs most used with given hashtags.

A sound's score is the engagement of its videos that carry any of the hashtags, summed
over those videos: plays + 2 x likes + 3 x comments + 4 x shares per video
(:data:`text_pipeline.engagement.ENGAGEMENT`). Videos that share a sound count together, so a
sound used by many modest videos can outrank one viral video. A catalogue song's score
sums the videos of every sound matched to it.
"""

from __future__ import annotations

import re

from text_pipeline.engagement import ENGAGEMENT
from webapp.errors import AppError, quote

MAX_TAGS = 10
_SPLIT = re.compile(r"[\s,#]+")
_TAG = re.compile(r"^\w{1,100}$")
VIDEO_COLUMNS = ("video_id", "video_url", "cover_url", "play_count", "like_count", "comment_count",
                 "share_count", "hashtags", "author", "song_title")


def parse_tags(raw: str | None) -> list[str]:
    """``"#Dance, fyp  #duet"`` -> ``["dance", "fyp", "duet"]``: lower case, no '#', no repeats.

    Raises
    ------
    AppError
        400 when there is no hashtag, more than :data:`MAX_TAGS`, or one with characters
        a hashtag cannot have.
    """
    tags = list(dict.fromkeys(t.lower() for t in _SPLIT.split(raw or "") if t))
    if not tags:
        raise AppError(400, "give one or more hashtags, e.g. tags=dance,fyp")
    if len(tags) > MAX_TAGS:
        raise AppError(400, f"at most {MAX_TAGS} hashtags, got {len(tags)}")
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        raise AppError(400, f"not a hashtag: {quote(bad[0])} (letters, digits and _ only)")
    return tags


def suggestions(conn, tags: list[str], *, limit: int = 20, videos_per: int = 6) -> dict:
    """The sounds and the catalogue songs most used with ``tags``, best first, with their videos."""
    with conn.cursor() as cur:
        cur.execute(
            f"""WITH tagged AS (
                    SELECT music_id, {ENGAGEMENT} AS engagement
                    FROM tiktok_videos WHERE hashtags && %(tags)s::text[])
                SELECT t.music_id, s.song_title, s.artist_name, s.is_original,
                       t.video_count, t.score, m.track_id, tr.title, tr.artist
                FROM (SELECT music_id, count(*) AS video_count, sum(engagement)::bigint AS score
                      FROM tagged GROUP BY music_id
                      ORDER BY score DESC, music_id LIMIT %(limit)s) t
                JOIN tiktok_sounds s USING (music_id)
                LEFT JOIN matches m USING (music_id)
                LEFT JOIN tracks tr ON tr.track_id = m.track_id
                ORDER BY t.score DESC, t.music_id""", {"tags": tags, "limit": limit})
        sounds = [_row(cur, r) for r in cur.fetchall()]
        cur.execute(
            f"""SELECT m.track_id, tr.title, tr.artist, tr.genre_top,
                       count(DISTINCT v.music_id) AS sound_count, count(*) AS video_count,
                       sum({ENGAGEMENT})::bigint AS score, array_agg(DISTINCT v.music_id) AS music_ids
                FROM tiktok_videos v JOIN matches m USING (music_id) JOIN tracks tr USING (track_id)
                WHERE v.hashtags && %(tags)s::text[]
                GROUP BY m.track_id, tr.title, tr.artist, tr.genre_top
                ORDER BY score DESC, m.track_id LIMIT %(limit)s""", {"tags": tags, "limit": limit})
        songs = [_row(cur, r) for r in cur.fetchall()]
    videos = _videos(conn, tags, {s["music_id"] for s in sounds}
                     | {m for song in songs for m in song["music_ids"]}, videos_per)
    for sound in sounds:
        track_id, title, artist = sound.pop("track_id"), sound.pop("title"), sound.pop("artist")
        sound["song"] = {"track_id": track_id, "title": title, "artist": artist} if track_id else None
        sound["videos"] = videos.get(sound["music_id"], [])
    for song in songs:
        found = [v for m in song.pop("music_ids") for v in videos.get(m, [])]
        song["videos"] = sorted(found, key=lambda v: (-v["engagement"], v["video_id"]))[:videos_per]
    return {"tags": tags, "sounds": sounds, "songs": songs}


def _videos(conn, tags: list[str], music_ids: set[str], per_sound: int) -> dict[str, list[dict]]:
    """Each sound's most engaging videos among those that carry the hashtags."""
    if not music_ids:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT music_id, {', '.join(VIDEO_COLUMNS)}, engagement
                FROM (SELECT v.*, {ENGAGEMENT} AS engagement,
                             row_number() OVER (PARTITION BY music_id
                                                ORDER BY {ENGAGEMENT} DESC, video_id) AS rank
                      FROM tiktok_videos v
                      WHERE hashtags && %(tags)s::text[] AND music_id = ANY(%(ids)s)) ranked
                WHERE rank <= %(n)s ORDER BY music_id, rank""",
            {"tags": tags, "ids": sorted(music_ids), "n": per_sound})
        found: dict[str, list[dict]] = {}
        for row in cur.fetchall():
            video = _row(cur, row)
            found.setdefault(video.pop("music_id"), []).append(video)
    return found


def _row(cur, row) -> dict:
    return dict(zip([d[0] for d in cur.description], row))
