"""Is my song on TikTok? The web app hears an upload inside the TikTok sounds and the catalogue:
a real store loaded with sounds' audio vectors and fingerprints, the API, the page and a browser."""

from __future__ import annotations

import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch.core.fingerprint import analyse
from batch.store import db
from batch.store.load import load_catalogue, load_tiktok
from tests import edits
from tests.test_browser import CHROMIUM, FLAGS
from tests.test_store import matches_parquet, videos_parquet
from tests.test_webapp import upload, write_catalogue
from webapp import create_app


def write_sounds(folder, analysed: dict) -> None:
    """Lay ``{music_id: analyse(...)}`` out as ``batch.listening.listen`` writes ``sounds/``."""
    folder.mkdir(parents=True)
    pq.write_table(pa.table({
        "music_id": list(analysed), "vector": [a[0] for a in analysed.values()],
        "duration": [a[2].duration for a in analysed.values()],
        "heard": [a[2].heard for a in analysed.values()],
        "peak_t": pa.array([a[1].t for a in analysed.values()], pa.list_(pa.int16())),
        "peak_f": pa.array([a[1].lf for a in analysed.values()], pa.list_(pa.float32())),
        "peak_rank": pa.array([a[1].rank for a in analysed.values()], pa.list_(pa.int8())),
        "error": pa.nulls(len(analysed), pa.string()),
    }), folder / "part-0.parquet")


@pytest.fixture(scope="module")
def heard(store_url, tmp_path_factory):
    """A catalogue of 16 demo songs; sound 'sped' is song 0 sped up (titled 'original sound'),
    'talk' is song 0 under a voice; 'plain' is song 1 matched by title; 'other' is music of none."""
    if not edits.have_tools():
        pytest.fail("ffmpeg and espeak-ng are missing: run `make system-deps`")
    root = tmp_path_factory.mktemp("heard")
    rows = write_catalogue(root, n_tracks=16)
    song, plain = rows[0], rows[1]
    sounds = {
        "sped": edits.edit("sped_up", song["path"], root / "sped.mp3", start=8.0),
        "talk": edits.edit("excerpt", song["path"], root / "talk.mp3", start=2.0, seconds=14.0),
        "plain": edits.edit("excerpt", plain["path"], root / "plain.mp3", start=5.0),
        "other": edits.edit("excerpt", rows[2]["path"], root / "other.mp3", start=1.0),
    }
    write_sounds(root / "sounds", {k: analyse(str(p)) for k, p in sounds.items()})
    videos = [
        {"video_id": "v1", "music_id": "sped", "song_title": "original sound - dancer", "play_count": 900,
         "like_count": 90, "video_url": "https://www.tiktok.com/@dancer/video/v1", "hashtags": ["dance"]},
        {"video_id": "v2", "music_id": "sped", "song_title": "original sound - dancer", "play_count": 50,
         "video_url": "https://www.tiktok.com/@x/video/v2"},
        {"video_id": "v3", "music_id": "talk", "song_title": "storytime", "play_count": 70,
         "video_url": "https://www.tiktok.com/@y/video/v3"},
        {"video_id": "v4", "music_id": "plain", "song_title": plain["title"], "play_count": 30,
         "video_url": "https://www.tiktok.com/@z/video/v4"},
        {"video_id": "v5", "music_id": "other", "song_title": "my beat", "play_count": 10,
         "video_url": "https://www.tiktok.com/@w/video/v5"},
    ]
    conn = db.connect(store_url)
    db.migrate(conn)
    load_catalogue(conn, root / "out")
    load_tiktok(conn, videos_parquet(root / "v.parquet", videos),
                matches=matches_parquet(root / "m.parquet", [(plain["track_id"], "plain", 1.0, 1.0, 1.0)]),
                sounds=root / "sounds")
    conn.close()
    return rows


@pytest.fixture
def client(store_url, heard):
    return create_app({"DATABASE_URL": store_url}).test_client()


def excerpt(song, tmp_path, start=10.0):
    return edits.edit("excerpt", song["path"], tmp_path / "excerpt.mp3", start=start)


def test_a_12_s_excerpt_finds_its_catalogue_song_first_as_the_same_recording(client, heard, tmp_path):
    song = heard[0]
    body = upload(client, excerpt(song, tmp_path), genre=heard[5]["genre_top"]).get_json()  # another genre
    assert body["same_recording"]["track_id"] == song["track_id"]
    assert abs(body["same_recording"]["offset"] - 10.0) < 0.5 and body["same_recording"]["speed"] == 1.0
    first = body["results"][0]
    assert first["track_id"] == song["track_id"] and first["same_recording"] is True
    assert not any(r["same_recording"] for r in body["results"][1:])


def test_a_sped_up_upload_is_still_the_same_recording_with_its_speed(client, heard, tmp_path):
    """Speed 1 is searched first; nothing found there, every speed is."""
    song = heard[2]
    faster = edits.edit("sped_up", song["path"], tmp_path / "faster.mp3", start=5.0)
    body = upload(client, faster).get_json()
    assert body["same_recording"]["track_id"] == song["track_id"]
    assert abs(body["same_recording"]["speed"] - edits.SPEED_UP) < 0.02
    assert abs(body["same_recording"]["offset"] - 5.0) < 0.5


def test_the_sounds_that_contain_the_upload_come_with_their_videos(client, heard):
    song = heard[0]
    body = upload(client, song["path"]).get_json()
    found = {s["music_id"]: s for s in body["tiktok_sounds_containing"]}
    assert set(found) == {"sped", "talk"}  # not the title match of another song, not other music
    assert abs(found["sped"]["speed"] - 1.25) < 0.02 and abs(found["talk"]["speed"] - 1.0) < 0.02
    assert [v["video_id"] for v in found["sped"]["videos"]] == ["v1", "v2"]  # most engaging first
    assert found["sped"]["how"] == "heard in the sound" and found["sped"]["video_count"] == 2
    like = [s["music_id"] for s in body["tiktok_sounds_like"]]
    # The sounds heard to contain the upload are shown once, above, not again as "like" it.
    assert sorted(like) == ["other", "plain"]


def test_music_in_no_sound_is_heard_in_none(client, heard):
    body = upload(client, heard[7]["path"]).get_json()
    assert body["tiktok_sounds_containing"] == []
    assert body["same_recording"]["track_id"] == heard[7]["track_id"]  # it is a catalogue song


def test_the_track_api_says_how_each_sound_was_found(client, heard):
    sounds = client.get(f"/api/tracks/{heard[1]['track_id']}").get_json()["sounds"]
    assert [(s["music_id"], s["method"], s["audio_hashes"]) for s in sounds] == [("plain", "title", None)]


def test_the_page_says_used_in_tiktok_sounds_in_a_browser(store_url, heard, tmp_path):
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    httpd = make_server("127.0.0.1", 0, create_app({"DATABASE_URL": store_url}), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.goto(f"http://127.0.0.1:{httpd.server_port}/")
            page.set_input_files("input#file", str(excerpt(heard[0], tmp_path)))
            page.click("button[type=submit]")
            page.wait_for_selector("section#containing article.sound", timeout=30_000)
            section = page.locator("section#containing")
            assert "Used in 2 TikTok sounds" in section.locator("h2").inner_text()
            assert re.search(r"sped up ×1\.2[456]", section.locator("article#sound-sped").inner_text())
            assert "sped up" not in section.locator("article#sound-talk").inner_text()
            assert section.locator("article#sound-sped ul.covers li.cover").count() == 2
            assert "the same recording as your upload" in page.locator("li.result").first.inner_text()
            page.screenshot(path=str(tmp_path / "used-in.png"), full_page=True)
            browser.close()
    finally:
        httpd.shutdown()
