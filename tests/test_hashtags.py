"""Hashtag suggestions on a small loaded store whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from batch.store import db
from batch.store.load import load_catalogue, load_tiktok
from tests.conftest import throwaway_database
from tests.test_store import matches_parquet, videos_parquet
from tests.test_webapp import write_catalogue
from text_pipeline.core.engagement import ENGAGEMENT
from webapp import create_app
from webapp.errors import AppError
from webapp.hashtags import MAX_TAGS, parse_tags, suggestions

HOSTILE = "<script>alert(1)</script>"


def video(video_id, music_id, tags, plays=0, likes=0, comments=0, shares=0, **more):
    return {"video_id": video_id, "music_id": music_id, "hashtags": tags, "play_count": plays,
            "like_count": likes, "comment_count": comments, "share_count": shares,
            "video_url": f"https://www.tiktok.com/@u/video/{video_id}", **more}


@pytest.fixture(scope="module")
def store(store_url, tmp_path_factory):
    """Four sounds. With #dance: a1 has three videos of 100 (300 in all), b1 one video of
    250, d1 one video of 10 plays + 2x20 likes + 3x10 comments + 4x5 shares = 100.
    c1 is only used with #fyp (1,000). a1 and d1 are the catalogue's first song, c1 its second."""
    root = tmp_path_factory.mktemp("hashtags")
    rows = write_catalogue(root)
    first, second = rows[0]["track_id"], rows[1]["track_id"]
    videos = [
        video("va1", "a1", ["dance"], plays=100, song_title="Loop A"),
        video("va2", "a1", ["dance", "fyp"], plays=100, song_title="Loop A"),
        video("va3", "a1", ["dance"], plays=100, song_title="Loop A"),
        video("vb1", "b1", ["dance"], plays=250, song_title="original sound - b", is_original=True),
        video("vc1", "c1", ["fyp"], plays=1000, song_title=HOSTILE),
        video("vd1", "d1", ["dance"], plays=10, likes=20, comments=10, shares=5, song_title="Loop A (sped up)"),
        video("vx1", "x1", ["cats"], plays=5, song_title="Unrelated"),
    ]
    with throwaway_database(store_url, "hashtags") as url:
        conn = db.connect(url)
        db.migrate(conn)
        load_catalogue(conn, root / "out")
        load_tiktok(conn, videos_parquet(root / "v.parquet", videos),
                    matches=matches_parquet(root / "m.parquet", [(first, "a1", 1.0, 1.0, 1.0),
                                                                 (first, "d1", 0.8, 1.0, 0.88),
                                                                 (second, "c1", 0.9, 0.9, 0.9)]))
        yield {"url": url, "conn": conn, "first": first, "second": second}
        conn.close()


@pytest.mark.parametrize("raw, tags", [
    ("dance", ["dance"]),
    ("#Dance, #fyp", ["dance", "fyp"]),
    ("  fyp   dance fyp ", ["fyp", "dance"]),
    ("#ダンス", ["ダンス"]),
])
def test_hashtags_are_read_leniently(raw, tags):
    assert parse_tags(raw) == tags


@pytest.mark.parametrize("raw, message", [
    (None, "one or more hashtags"), ("", "one or more hashtags"), (" # , ", "one or more hashtags"),
    (" ".join(f"t{i}" for i in range(MAX_TAGS + 1)), f"at most {MAX_TAGS}"),
    ("dance <b>", "not a hashtag"), ("x" * 101, "not a hashtag"),
])
def test_bad_hashtags_are_refused_clearly(raw, message):
    with pytest.raises(AppError, match=message) as caught:
        parse_tags(raw)
    assert caught.value.status == 400


def test_sounds_rank_by_engagement_summed_over_their_videos(store):
    found = suggestions(store["conn"], ["dance"])
    ranked = [(s["music_id"], s["video_count"], s["score"]) for s in found["sounds"]]
    # b1's one video (250) beats each of a1's (100), but a1's three together (300) come first.
    assert ranked == [("a1", 3, 300), ("b1", 1, 250), ("d1", 1, 100)]
    a1 = found["sounds"][0]
    assert a1["song"]["track_id"] == store["first"] and found["sounds"][1]["song"] is None
    assert [v["video_id"] for v in a1["videos"]] == ["va1", "va2", "va3"]  # ties by video id
    assert all("dance" in v["hashtags"] for s in found["sounds"] for v in s["videos"])


def test_catalogue_songs_sum_every_matched_sound(store):
    found = suggestions(store["conn"], ["dance"])
    assert [(s["track_id"], s["sound_count"], s["video_count"], s["score"]) for s in found["songs"]] == [
        (store["first"], 2, 4, 400)]
    assert [v["video_id"] for v in found["songs"][0]["videos"]] == ["va1", "va2", "va3", "vd1"]


def test_more_hashtags_widen_the_videos(store):
    found = suggestions(store["conn"], ["dance", "fyp"], limit=2)
    assert [s["music_id"] for s in found["sounds"]] == ["c1", "a1"]  # the limit keeps the best two
    assert [s["track_id"] for s in found["songs"]] == [store["second"], store["first"]]
    assert suggestions(store["conn"], ["nothing"]) == {"tags": ["nothing"], "offset": 0, "more": False,
                                                       "sounds": [], "songs": []}


def test_the_api_answers_and_refuses(store):
    client = create_app({"DATABASE_URL": store["url"]}).test_client()
    body = client.get("/api/hashtags?tags=%23dance").get_json()
    assert body["tags"] == ["dance"] and body["sounds"][0]["music_id"] == "a1"
    assert body["songs"][0]["score"] == 400
    for query, status, message in [("", 400, "one or more hashtags"), ("?tags=a%20b!", 400, "not a hashtag"),
                                   ("?tags=dance&limit=0", 400, "limit must be"),
                                   ("?tags=dance&limit=x", 400, "limit must be")]:
        reply = client.get(f"/api/hashtags{query}")
        assert reply.status_code == status and message in reply.get_json()["error"], query
    assert "/api/hashtags" in client.get("/api/openapi.json").get_json()["paths"]


def test_the_page_shows_sounds_songs_and_videos(store):
    client = create_app({"DATABASE_URL": store["url"]}).test_client()
    empty = client.get("/hashtags")
    assert empty.status_code == 200 and b'id="hashtag-form"' in empty.data and b"TikTok sounds" not in empty.data
    page = client.get("/hashtags?tags=dance+fyp").get_data(as_text=True)
    assert page.index('id="sound-c1"') < page.index('id="sound-a1"') < page.index('id="sound-b1"')
    assert f'id="track-{store["second"]}"' in page and "https://www.tiktok.com/@u/video/vd1" in page
    assert HOSTILE not in page and "&lt;script&gt;" in page  # a title is text, never markup
    missing = client.get("/hashtags?tags=%3F%3F")
    assert missing.status_code == 400


# --- the load-time totals against the live aggregation ------------------------------------------

LIVE_SOUNDS = f"""
    SELECT music_id, count(*), sum({ENGAGEMENT})::bigint AS score FROM tiktok_videos
    WHERE hashtags && %(tags)s::text[] GROUP BY music_id ORDER BY score DESC, music_id LIMIT %(limit)s"""
LIVE_SONGS = f"""
    SELECT m.track_id, count(DISTINCT v.music_id), count(*), sum({ENGAGEMENT})::bigint AS score
    FROM tiktok_videos v JOIN matches m USING (music_id) JOIN tracks tr USING (track_id)
    WHERE v.hashtags && %(tags)s::text[] GROUP BY m.track_id ORDER BY score DESC, m.track_id
    LIMIT %(limit)s"""
"""What /hashtags computed on every request before the totals existed."""


@pytest.fixture(scope="module")
def crowd(store_url, tmp_path_factory):
    """3,000 videos on 300 sounds with overlapping tags, heavy-tailed engagement; half the
    sounds matched to the catalogue's 24 songs."""
    rng = np.random.default_rng(5)
    root = tmp_path_factory.mktemp("crowd")
    rows = write_catalogue(root)
    tags = ["fyp", "dance", "viral", "cats", "duet", "love"]
    videos = []
    for i in range(3000):
        chosen = list(rng.choice(tags, size=rng.integers(0, 4), replace=False, p=[.4, .2, .15, .1, .1, .05]))
        videos.append(video(f"v{i}", f"m{int(rng.zipf(1.5)) % 300}", chosen, plays=int(rng.pareto(1.2) * 1000),
                            likes=int(rng.integers(0, 50)), song_title=f"Song {i % 300}"))
    matched = [(rows[i % len(rows)]["track_id"], f"m{i}", 1.0, 1.0, 1.0) for i in range(0, 300, 2)]
    with throwaway_database(store_url, "crowd") as url:
        conn = db.connect(url)
        db.migrate(conn)
        load_catalogue(conn, root / "out")
        load_tiktok(conn, videos_parquet(root / "v.parquet", videos),
                    matches=matches_parquet(root / "m.parquet", matched))
        yield conn
        conn.close()


@pytest.mark.parametrize("tags", [["fyp"], ["cats"], ["fyp", "dance"], ["dance", "viral", "duet"],
                                  ["fyp", "dance", "viral", "cats", "duet", "love"], ["nobody"]])
@pytest.mark.parametrize("limit", [1, 5, 40])
def test_rankings_from_the_totals_equal_the_live_aggregation(crowd, tags, limit):
    found = suggestions(crowd, tags, limit=limit, videos_per=3)
    with crowd.cursor() as cur:
        cur.execute(LIVE_SOUNDS, {"tags": tags, "limit": limit})
        sounds = cur.fetchall()
        cur.execute(LIVE_SONGS, {"tags": tags, "limit": limit})
        songs = cur.fetchall()
    crowd.rollback()
    assert [(s["music_id"], s["video_count"], s["score"]) for s in found["sounds"]] == sounds
    assert [(s["track_id"], s["sound_count"], s["video_count"], s["score"]) for s in found["songs"]] == songs
    assert tags == ["nobody"] or found["sounds"]


@pytest.mark.parametrize("tags", [["fyp"], ["dance", "viral"]])
def test_pages_of_suggestions_are_the_ranking_cut_in_order(crowd, tags):
    whole = suggestions(crowd, tags, limit=24, videos_per=1)
    pages, offset = [], 0
    while True:
        page = suggestions(crowd, tags, limit=5, offset=offset, videos_per=1)
        pages.append(page)
        offset += 5
        if not page["more"]:
            break
    assert [s["music_id"] for p in pages for s in p["sounds"]][:24] == [s["music_id"] for s in whole["sounds"]]
    assert [s["track_id"] for p in pages for s in p["songs"]][:24] == [s["track_id"] for s in whole["songs"]]
    assert all(p["more"] for p in pages[:-1]) and len(pages) > 2
    past = suggestions(crowd, tags, limit=5, offset=offset + 1000)
    assert past["sounds"] == [] and past["songs"] == [] and not past["more"]


def test_the_page_pages_through_and_refuses_a_bad_page(store):
    client = create_app({"DATABASE_URL": store["url"], "RESULTS": 1}).test_client()
    first = client.get("/hashtags?tags=dance+fyp").get_data(as_text=True)
    assert 'id="sound-c1"' in first and 'id="sound-a1"' not in first and 'rel="next"' in first
    second = client.get("/hashtags?tags=dance+fyp&page=2").get_data(as_text=True)
    assert 'id="sound-a1"' in second and 'id="sound-c1"' not in second and 'rel="prev"' in second
    assert "#dance</span>, <span" in first and " ." not in first.split('class="method"')[1][:300]
    for page in ("0", "x", "101"):
        reply = client.get(f"/hashtags?tags=dance&page={page}")
        assert reply.status_code == 400 and b"page must be" in reply.data, page
    assert client.get("/api/hashtags?tags=dance&page=0").status_code == 400
