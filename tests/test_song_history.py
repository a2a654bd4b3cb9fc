"""A song's use over time: its videos per week, with each of its sounds' share, on the song page
and in ``/api/tracks/<id>``, on hand-worked data in a real store."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from batch.store import db
from batch.store.load import load_catalogue, load_tiktok
from tests.test_store import matches_parquet, videos_parquet
from tests.test_webapp import SCRIPT, write_catalogue
from webapp import create_app, weekly


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def songs(store_url, tmp_path_factory):
    """Song A carried by sounds s1 and s2, song B by s3 (undated), song C by none."""
    root = tmp_path_factory.mktemp("weekly")
    rows = write_catalogue(root, n_tracks=3)
    conn = db.connect(store_url)
    db.migrate(conn)
    load_catalogue(conn, root / "out")
    a, b = rows[0]["track_id"], rows[1]["track_id"]
    videos = [  # weeks start on Monday: 2019-11-04, 2019-11-11 (none), 2019-11-18
        {"video_id": "v1", "music_id": "s1", "song_title": "First cut", "created_at": at("2019-11-04")},
        {"video_id": "v2", "music_id": "s1", "song_title": "First cut", "created_at": at("2019-11-06")},
        {"video_id": "v3", "music_id": "s1", "song_title": "First cut", "created_at": at("2019-11-19")},
        {"video_id": "v4", "music_id": "s2", "song_title": SCRIPT, "created_at": at("2019-11-05")},
        {"video_id": "v5", "music_id": "s2", "song_title": SCRIPT, "created_at": at("2019-11-07")},
        {"video_id": "v6", "music_id": "s2", "song_title": SCRIPT, "created_at": at("2019-11-08")},
        {"video_id": "v7", "music_id": "s2", "song_title": SCRIPT, "created_at": at("2019-11-10", 23)},
        {"video_id": "v8", "music_id": "s2", "song_title": SCRIPT, "created_at": None},
        {"video_id": "v9", "music_id": "s3", "song_title": "Only undated", "created_at": None},
    ]
    load_tiktok(conn, videos_parquet(root / "v.parquet", videos),
                matches=matches_parquet(root / "m.parquet", [(a, "s1", 1.0, 1.0, 1.0), (a, "s2", 0.9, 0.9, 0.9),
                                                             (b, "s3", 1.0, 1.0, 1.0)]))
    conn.close()
    return rows


@pytest.fixture
def client(store_url, songs):
    return create_app({"DATABASE_URL": store_url}).test_client()


def test_the_api_counts_every_sound_of_the_song_per_week_with_the_gaps(client, songs):
    body = client.get(f"/api/tracks/{songs[0]['track_id']}").get_json()
    assert sorted(body["sound_ids"]) == ["s1", "s2"]
    assert body["videos_per_week"] == {
        "weeks": [{"week": "2019-11-04", "videos": 6, "by_sound": {"s2": 4, "s1": 2}},
                  {"week": "2019-11-11", "videos": 0, "by_sound": {}},
                  {"week": "2019-11-18", "videos": 1, "by_sound": {"s1": 1}}],
        "sounds": [{"music_id": "s2", "title": SCRIPT, "videos": 4, "share": 0.5714},
                   {"music_id": "s1", "title": "First cut", "videos": 3, "share": 0.4286}],
        "undated": 1,
    }


def test_a_song_without_dated_videos_has_no_weekly_history(client, songs):
    for song in songs[1:]:
        body = client.get(f"/api/tracks/{song['track_id']}").get_json()
        assert body["videos_per_week"] is None
        page = client.get(f"/tracks/{song['track_id']}").get_data(as_text=True)
        assert 'id="videos-per-week"' not in page
    assert client.get(f"/api/tracks/{songs[1]['track_id']}").get_json()["sound_ids"] == ["s3"]


def test_the_song_page_draws_the_weeks_as_stacked_bars_with_each_sounds_share(client, songs):
    page = client.get(f"/tracks/{songs[0]['track_id']}").get_data(as_text=True)
    section = page[page.index('id="videos-per-week"'):page.index("</section>", page.index('id="videos-per-week"'))]
    assert section.count('<rect class="week-bar s0"') == 1 and section.count('<rect class="week-bar s1"') == 2  # s2, then s1
    assert "week of 2019-11-04: 4 videos with sound s2" in section
    assert "4 Nov 2019" in section and "18 Nov 2019" in section and "(3 weeks)" in section
    assert "1 video without a date left out" in section
    assert "57&nbsp;%" in section and "43&nbsp;%" in section
    assert SCRIPT not in page and "&lt;script&gt;" in section  # a sound's title is escaped
    sounds = page[page.index('id="sounds"'):page.index("</section>", page.index('id="sounds"'))]
    assert '<code class="sound-id">s1</code>' in sounds and '<code class="sound-id">s2</code>' in sounds


def test_sounds_past_the_coloured_ones_are_drawn_together():
    history = {"weeks": [{"week": "2020-01-06", "videos": 10,
                          "by_sound": {f"m{i}": c for i, c in enumerate([3, 2, 1, 1, 1, 1, 1])}}],
               "sounds": [{"music_id": f"m{i}", "title": None, "videos": c, "share": c / 10}
                          for i, c in enumerate([3, 2, 1, 1, 1, 1, 1])], "undated": 0}
    drawn = weekly.plot(history)
    assert [b["colour"] for b in drawn["bars"]] == ["s0", "s1", "s2", "s3", "s4", "other"]
    assert drawn["bars"][-1]["videos"] == 2 and drawn["legend"][-1]["title"] == "2 other sounds"
    assert drawn["legend"][-1]["share"] == pytest.approx(0.2)
    heights = [b["h"] for b in drawn["bars"]]  # the stack fills the plot's height for the busiest week
    assert sum(heights) == pytest.approx(weekly.BOTTOM - weekly.TOP, abs=0.5)
    assert weekly.plot(None) is None


def test_in_chromium_the_bars_are_drawn_and_the_page_fits_a_phone(store_url, songs):
    from tests.test_browser import PHONE, chromium, open_page, overflow, serving

    with serving(store_url) as url, chromium() as browser:
        for viewport in (None, PHONE):
            page = open_page(browser, viewport)
            page.goto(f"{url}/tracks/{songs[0]['track_id']}")
            boxes = [page.locator("#videos-per-week rect").nth(i).bounding_box() for i in range(3)]
            assert all(box["width"] > 5 and box["height"] > 5 for box in boxes), boxes  # no CSS squashes them
            assert overflow(page) == 0 and not page.console_errors
