"""Hashtag suggestions: the TikTok sounds and catalogue songs most used with given hashtags.

A sound's score is the engagement of its videos that carry any of the hashtags, summed
over those videos: plays + 2 x likes + 3 x comments + 4 x shares per video
(:data:`text_pipeline.core.engagement.ENGAGEMENT`). Videos that share a sound count together, so a
sound used by many modest videos can outrank one viral video. A catalogue song's score
sums the videos of every sound matched to it.
"""

from __future__ import annotations

import re

from text_pipeline.core.engagement import ENGAGEMENT
from webapp.errors import AppError, quote
from webapp.similar import ranked_videos, reachable

MAX_TAGS = 10
MAX_PAGE = 100
"""The last page of suggestions served: past it, the totals' threshold search grows long."""
_SPLIT = re.compile(r"[\s,#]+")
_TAG = re.compile(r"^\w{1,100}$")
VIDEO_COLUMNS = ("video_id", "video_url", "cover_url", "play_count", "like_count", "comment_count",
                 "share_count", "hashtags", "author", "song_title", "created_at")


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


def suggestions(conn, tags: list[str], *, limit: int = 20, videos_per: int = 6, offset: int = 0) -> dict:
    """The sounds and the catalogue songs most used with ``tags``, best first, with their videos:
    ranks ``offset + 1`` to ``offset + limit`` of each, and ``more`` when either goes on.

    A sound's score is the engagement of its videos that carry any of the tags, each
    video counted once; a song's sums its matched sounds'. The rankings are read from
    the totals the TikTok load keeps per hashtag (:func:`top`), not from the videos.
    """
    with conn.cursor() as cur:
        ranked, more_sounds = _page(top(cur, "hashtag_sounds", "music_id", tags, offset + limit + 1, SOUND_EXACT),
                                    offset, limit)
        cur.execute("""SELECT s.music_id, s.song_title, s.artist_name, s.is_original,
                              m.track_id, tr.title, tr.artist, tr.audio_path
                       FROM tiktok_sounds s LEFT JOIN matches m USING (music_id)
                       LEFT JOIN tracks tr ON tr.track_id = m.track_id
                       WHERE s.music_id = ANY(%s)""", ([k for k, *_ in ranked],))
        about = {r[0]: _row(cur, r) for r in cur.fetchall()}
        sounds = [{**about[k], "video_count": videos, "score": score}
                  for k, _, videos, score in ranked if k in about]
        ranked, more_songs = _page(top(cur, "hashtag_tracks", "track_id", tags, offset + limit + 1, SONG_EXACT),
                                   offset, limit)
        cur.execute("""SELECT tr.track_id, tr.title, tr.artist, tr.genre_top, tr.audio_path,
                              array_agg(m.music_id ORDER BY m.music_id) AS music_ids
                       FROM tracks tr JOIN matches m USING (track_id)
                       WHERE tr.track_id = ANY(%s) GROUP BY tr.track_id""", ([k for k, *_ in ranked],))
        about = {r[0]: _row(cur, r) for r in cur.fetchall()}
        songs = [{**about[k], "sound_count": n, "video_count": videos, "score": score}
                 for k, n, videos, score in ranked if k in about]
    videos = _videos(conn, tags, {s["music_id"] for s in sounds}
                     | {m for song in songs for m in song["music_ids"]}, videos_per)
    for sound in sounds:
        track_id, title, artist = sound.pop("track_id"), sound.pop("title"), sound.pop("artist")
        audio = reachable(sound.pop("audio_path"))
        sound["song"] = ({"track_id": track_id, "title": title, "artist": artist, "has_audio": audio}
                         if track_id else None)
        sound["videos"] = videos.get(sound["music_id"], [])
    for song in songs:
        song["has_audio"] = reachable(song.pop("audio_path"))
        found = [v for m in song.pop("music_ids") for v in videos.get(m, [])]
        song["videos"] = sorted(found, key=lambda v: (-v["engagement"], v["video_id"]))[:videos_per]
    return {"tags": tags, "offset": offset, "more": more_sounds or more_songs, "sounds": sounds, "songs": songs}


def _page(ranked: list, offset: int, limit: int) -> tuple[list, bool]:
    """Ranks ``offset + 1`` to ``offset + limit`` of ``ranked`` (read one further), and whether more follow."""
    return ranked[offset:offset + limit], len(ranked) > offset + limit


SOUND_EXACT = f"""
    SELECT music_id, 1, count(*), sum({ENGAGEMENT})::bigint FROM tiktok_videos
    WHERE music_id = ANY(%(keys)s) AND hashtags && %(tags)s::text[] GROUP BY music_id"""
SONG_EXACT = f"""
    SELECT m.track_id, count(DISTINCT v.music_id), count(*), sum({ENGAGEMENT})::bigint
    FROM tiktok_videos v JOIN matches m USING (music_id)
    WHERE m.track_id = ANY(%(keys)s) AND v.hashtags && %(tags)s::text[] GROUP BY m.track_id"""


def top(cur, table: str, key: str, tags: list[str], limit: int, exact: str) -> list[tuple]:
    """The ``limit`` best (key, sounds, videos, engagement) for videos with any of ``tags``.

    One tag is one index range of the load-time totals. For several, a video with two of
    the tags would count twice in a sum of totals, so the candidates are each tag's best
    ``depth`` keys, scored exactly from the videos (``exact``); the answer is final once
    its last score beats what any key outside every tag's best could reach (the sum of
    each tag's ``depth``-th total); otherwise the depth grows fourfold and it looks again.
    """
    totals = "sounds, videos" if table == "hashtag_tracks" else "1, videos"
    if len(tags) == 1:
        cur.execute(f"""SELECT {key}, {totals}, engagement FROM {table} WHERE hashtag = %s
                        ORDER BY engagement DESC NULLS LAST, {key} LIMIT %s""", (tags[0], limit))
        return cur.fetchall()
    depth = 4 * limit
    while True:
        cur.execute(f"""SELECT t.tag, x.{key}, x.engagement FROM unnest(%(tags)s::text[]) AS t(tag)
                        CROSS JOIN LATERAL (
                            SELECT {key}, engagement FROM {table}
                            WHERE hashtag = t.tag ORDER BY engagement DESC NULLS LAST, {key}
                            LIMIT %(depth)s) x""", {"tags": tags, "depth": depth})
        rows = cur.fetchall()
        candidates = sorted({r[1] for r in rows})
        full = {tag: sum(1 for r in rows if r[0] == tag) == depth for tag in tags}
        bound = sum(min((r[2] or 0) for r in rows if r[0] == tag) for tag in tags if full[tag])
        cur.execute(exact, {"keys": candidates, "tags": tags})
        scored = sorted(cur.fetchall(), key=lambda r: (-(r[3] or 0), r[0]))[:limit]
        if not any(full.values()) or (len(scored) == limit and (scored[-1][3] or 0) > bound):
            return scored
        depth *= 4


def _videos(conn, tags: list[str], music_ids: set[str], per_sound: int) -> dict[str, list[dict]]:
    """Each sound's most engaging videos among those that carry the hashtags."""
    if not music_ids:
        return {}
    found = ranked_videos(conn, "SELECT m, m FROM unnest(%(ids)s::text[]) AS m",
                          {"ids": sorted(music_ids), "tags": tags}, per_sound,
                          where="AND v.hashtags && %(tags)s::text[]")
    return {key: [{c: v[c] for c in (*VIDEO_COLUMNS, "engagement")} for v in videos]
            for key, videos in found.items()}


def _row(cur, row) -> dict:
    return dict(zip([d[0] for d in cur.description], row))
