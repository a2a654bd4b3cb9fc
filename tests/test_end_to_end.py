"""The whole product: a generated corpus, one reprocess run into a real store, the app on top."""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest

from batch.demo.corpus import write_corpus
from batch.demo.tiktok import write_tiktok
from batch.jobs import reprocess
from batch.store import db, watches
from webapp import create_app

TABLES = ("tracks", "track_vectors", "tiktok_videos", "tiktok_sounds", "matches")


def counts(url) -> dict:
    conn = db.connect(url)
    with conn.cursor() as cur:
        result = {}
        for table in TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            result[table] = cur.fetchone()[0]
    conn.close()
    return result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    rows = write_corpus(root / "corpus", n_tracks=16, n_videos=800, seed=5)
    return root, rows


@pytest.fixture(scope="module")
def first_run(corpus, store_url, spark):
    root, _ = corpus
    lines = []
    results = reprocess.run(root / "corpus" / "fma_metadata", str(root / "corpus" / "fma_audio"),
                            str(root / "corpus" / "tiktok"), root / "work", database_url=store_url,
                            spark=spark, out=lambda line, **_: lines.append(line))
    return results, lines


def test_reprocess_reports_every_step(first_run):
    results, lines = first_run
    assert set(results) == {"metadata", "audio", "tiktok", "store", "watches"}
    assert results["watches"].startswith("watches: 0 checked against 0 new sounds")  # no sound audio here
    assert results["audio"].startswith("featurized 16, skipped 0, errors 0")
    assert results["store"] == "loaded the catalogue and the TikTok data"
    for step in ("step 1/4 metadata", "step 2/4 audio", "step 3/4 TikTok", "step 4/4 store"):
        assert any(step in line for line in lines), step
    assert all(line.startswith("[") and " s] " in line for line in lines)  # elapsed time on each


def test_a_clip_finds_itself_and_its_tiktok_videos(first_run, corpus, store_url):
    root, rows = corpus
    truth = pd.read_csv(root / "corpus" / "dump-0001-truth.csv", dtype={"music_id": str})
    used = truth.dropna(subset=["track_id"]).astype({"track_id": "int64"})
    sounds_of = used.groupby("track_id")["music_id"].apply(set).to_dict()
    client = create_app({"DATABASE_URL": store_url}).test_client()
    attached = 0
    for row in rows:
        body = client.post("/api/search", data={"file": (io.BytesIO(row["path"].read_bytes()), "clip.mp3")},
                           content_type="multipart/form-data").get_json()
        top = body["results"][0]
        assert (top["track_id"], top["title"]) == (row["track_id"], row["title"])
        if top["tiktok"]:  # every attached video used one of the sounds the corpus made of this song
            detail = client.get(f"/api/tracks/{row['track_id']}").get_json()
            assert {s["music_id"] for s in detail["sounds"]} <= sounds_of.get(row["track_id"], set())
            assert all(v["video_url"].startswith("https://www.tiktok.com/@") for v in top["tiktok"])
            attached += 1
    assert attached >= 0.8 * len(sounds_of)  # most songs the corpus used show their videos


def test_screenshots_of_the_results_and_a_song_page(first_run, corpus, store_url, tmp_path):
    """The README's pictures, rendered in chromium from this demo store (``make screenshots``)."""
    from tests.test_browser import chromium, open_page, overflow, screenshot, serving

    root, rows = corpus
    conn = db.connect(store_url)
    with conn.cursor() as cur:  # the corpus song with the most TikTok videos
        cur.execute("""SELECT m.track_id FROM matches m JOIN tiktok_sounds s USING (music_id)
                       WHERE m.track_id = ANY(%s) GROUP BY m.track_id
                       ORDER BY sum(s.video_count) DESC, m.track_id LIMIT 1""", ([r["track_id"] for r in rows],))
        track_id = cur.fetchone()[0]
    conn.close()
    song = next(r for r in rows if r["track_id"] == track_id)
    with serving(store_url) as url, chromium() as browser:
        page = open_page(browser, {"width": 1100, "height": 1500})
        page.goto(url + "/")
        page.set_input_files("input#file", str(song["path"]))  # all genres: ten results
        page.click("button[type=submit]")
        page.wait_for_selector("ol.results li.result", timeout=60_000)
        assert page.locator(f"#track-{track_id} ul.covers li.cover").count() > 0
        assert overflow(page) <= 0
        screenshot(page, tmp_path / "results.png", full_page=False)  # the README shows the top
        page.click(f"#track-{track_id} h2 a")
        page.wait_for_selector("#more-like-this li.result")
        assert page.locator("#videos li.cover").count() > 0 and page.locator("#song audio").count() == 1
        screenshot(page, tmp_path / "song.png", full_page=False)
        cards = page.locator("#videos li.cover")  # the busiest song: more videos than shown
        assert cards.count() > 12 and page.locator("#videos li.cover:visible").count() == 12
        page.click("#videos details.more-videos summary")  # "Show all" opens the rest
        assert page.locator("#videos li.cover:visible").count() == cards.count()
        assert page.locator("#videos details.more-videos").get_attribute("open") is not None


@pytest.fixture(scope="module")
def a_watch(first_run, store_url):
    """A watch with one use, as a musician's data that no run may touch."""
    conn = db.connect(store_url)
    watch_id, token = watches.create(conn, file_name="mine.mp3", genre=None, duration=30.0,
                                     peak_t=[1, 5, 9], peak_f=[8.0, 9.0, 10.0])
    watches.record_run(conn, "by-hand", [], pd.DataFrame({"watch_id": [watch_id], "music_id": ["m-1"],
                                                          "offset_s": [4.0], "speed": [1.25], "votes": [20]}))
    conn.close()
    return token, watch_snapshot(store_url)


def watch_snapshot(url) -> list:
    conn = db.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM watches ORDER BY watch_id")
        found = cur.fetchall()
        cur.execute("SELECT * FROM watch_uses ORDER BY watch_id, music_id")
        found += cur.fetchall()
    conn.close()
    return found


def test_a_second_run_changes_nothing(first_run, corpus, store_url, spark, a_watch):
    root, _ = corpus
    before = counts(store_url)
    results = reprocess.run(root / "corpus" / "fma_metadata", str(root / "corpus" / "fma_audio"),
                            str(root / "corpus" / "tiktok"), root / "work", database_url=store_url,
                            spark=spark, out=lambda *a, **k: None)
    assert results["audio"].startswith("featurized 0, skipped 16")
    assert results["tiktok"] == "no new dump files"
    assert results["store"] == "the store was already up to date"
    assert counts(store_url) == before
    assert watch_snapshot(store_url) == a_watch[1]


def test_one_new_clip_and_one_new_dump_add_exactly_their_rows(first_run, corpus, store_url, spark, a_watch):
    root, rows = corpus
    before = counts(store_url)
    shutil.copyfile(rows[0]["path"], root / "corpus" / "fma_audio" / "000" / "000999.mp3")
    write_tiktok(root / "corpus" / "tiktok", rows, n_videos=40, seed=6, name="dump-0002.ndjson")
    results = reprocess.run(root / "corpus" / "fma_metadata", str(root / "corpus" / "fma_audio"),
                            str(root / "corpus" / "tiktok"), root / "work", database_url=store_url,
                            spark=spark, out=lambda *a, **k: None)
    after = counts(store_url)
    assert results["audio"].startswith("featurized 1, skipped 16")
    assert results["tiktok"].startswith("records read 40, rejected 0")
    assert after["track_vectors"] == before["track_vectors"] + 1
    assert after["tracks"] == before["tracks"] + 1
    assert after["tiktok_videos"] == before["tiktok_videos"] + 40
    assert watch_snapshot(store_url) == a_watch[1]  # the catalogue and TikTok tables were swapped; the watch stays


def test_reprocess_cli_help_and_mistakes(tmp_path):
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "batch.jobs.reprocess", *args], capture_output=True,
                              text=True, timeout=120)

    helped = cli("--help")
    assert helped.returncode == 0
    for option in ("--fma-metadata", "--audio", "--tiktok", "--work", "--master", "--s3-endpoint"):
        assert option in helped.stdout
    missing = cli("--fma-metadata", str(tmp_path / "nope"), "--audio", str(tmp_path), "--tiktok",
                  str(tmp_path), "--work", str(tmp_path / "w"))
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("reprocess: error:") and "no such file" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
