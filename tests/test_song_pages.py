"""Song pages, full video cards, readable similarity, silence, the kept genre, API docs, favicon."""

from __future__ import annotations

import numpy as np
import pytest

from batch.core.audio import SILENCE_DBFS, is_silent, loudness_dbfs
from batch.core.likeness import CLOSE, GROUPS, compare, percentile, reference, sentence
from tests.conftest import tone, write_wav
from tests.test_webapp import SCRIPT, app, catalogue, client, upload  # noqa: F401 (fixtures)
from webapp.display import compact, day, web_link


def test_a_song_page_has_its_facts_player_sounds_cards_and_more_like_this(client, catalogue):  # noqa: F811
    song = catalogue[0]
    response = client.get(f"/tracks/{song['track_id']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert song["title"] in page and song["artist"] in page and song["genre_top"] in page
    assert f'src="/audio/{song["track_id"]}"' in page
    assert 'id="sound-m1"' in page and "found by its title" in page
    assert page.count('class="cover"') >= 3 and "Watch on TikTok" in page
    more = page[page.index('id="more-like-this"'):]
    assert more.count('class="result"') == 6 and f'id="track-{song["track_id"]}"' not in more
    assert "/tracks/" in more and SCRIPT not in page
    assert client.get("/tracks/999999").status_code == 404
    assert client.get("/tracks/abc").status_code == 404


def test_the_api_track_has_more_like_this_without_itself(client, catalogue):  # noqa: F811
    body = client.get(f"/api/tracks/{catalogue[1]['track_id']}").get_json()
    more = body["more_like_this"]
    assert len(more) == 6 and catalogue[1]["track_id"] not in [r["track_id"] for r in more]
    assert all(set(r["groups"]) == set(GROUPS) and r["summary"] for r in more)
    assert {s["how"] for s in body["sounds"]} <= {"found by its title", "heard in the sound's audio",
                                                  "found by its title and heard in its audio"}


def test_every_title_links_to_its_song_page(client, catalogue):  # noqa: F811
    page = upload(client, catalogue[0]["path"], url="/search").get_data(as_text=True)
    for r in upload(client, catalogue[0]["path"]).get_json()["results"]:
        assert f'<a href="/tracks/{r["track_id"]}">' in page
    tags = client.get("/hashtags?tags=fyp").get_data(as_text=True)
    assert f'href="/tracks/{catalogue[0]["track_id"]}"' in tags


def test_a_card_shows_every_figure_the_date_and_a_link(client, catalogue):  # noqa: F811
    page = client.get(f"/tracks/{catalogue[0]['track_id']}").get_data(as_text=True)
    card = page[page.index('id="videos"'):]
    card = card[card.index('<li class="cover"'):card.index("</li>")]
    for label in ("plays", "likes", "comments", "shares", "engagement"):
        assert f"<dt>{label}</dt>" in card, label
    assert "@" in card and "♪ Rock Study" in card and 'href="https://www.tiktok.com/@b/video/v2"' in card
    assert "date unknown" in card or "<time" in card


def test_similarity_is_a_percentile_among_catalogue_pairs_with_a_sentence(client, catalogue):  # noqa: F811
    body = upload(client, catalogue[2]["path"], k="5").get_json()
    for r in body["results"]:
        assert set(r["groups"]) == set(GROUPS)
        assert all(isinstance(p, int) and 0 <= p <= 100 for p in r["groups"].values())
        assert r["summary"] == sentence(r["groups"])
    top = body["results"][0]  # the upload itself: closer than any random pair in every group
    assert all(p >= 99 for p in top["groups"].values()) and top["summary"].startswith("close in timbre")
    assert len({tuple(r["groups"].values()) for r in body["results"]}) > 1  # not all alike, as raw cosine was
    page = upload(client, catalogue[2]["path"], url="/search").get_data(as_text=True)
    assert "closer than" in page and f"{top['summary'].capitalize()}." in page


def test_percentiles_sentences_and_reference_pairs():
    rng = np.random.default_rng(1)
    embedding = rng.normal(size=(300, 245)).astype(np.float32)
    ref = reference(embedding, pairs=5000)
    assert set(ref) == set(GROUPS) and all(len(q) == 101 and np.all(np.diff(q) >= 0) for q in ref.values())
    assert percentile(-2.0, ref["timbre"]) == 0 and percentile(2.0, ref["timbre"]) == 100
    assert 40 <= percentile(float(np.median(ref["timbre"])), ref["timbre"]) <= 60
    same = compare(embedding[0], embedding[0], ref)
    assert all(p == 100 for p in same["groups"].values())
    assert reference(embedding[:1]) == {}
    assert compare(embedding[0], embedding[1], {})["groups"] == dict.fromkeys(GROUPS)
    assert sentence({"timbre": 91, "harmony": 20, "brightness": CLOSE, "noisiness": 50}) == \
        "close in timbre and brightness, different in harmony"
    assert sentence({"timbre": 50, "harmony": 60, "brightness": 10, "noisiness": 5}) == \
        "somewhat alike in timbre and harmony, different in brightness and noisiness"
    assert sentence({"timbre": 80, "harmony": 90, "brightness": 99, "noisiness": 75}) == \
        "close in timbre, harmony, brightness and noisiness"


def test_silence_and_near_silence_are_a_422_that_says_no_music_was_heard(client, catalogue, tmp_path):  # noqa: F811
    silent = tmp_path / "silent.wav"
    write_wav(silent, np.zeros(5 * 22050, np.float32))
    hiss = tmp_path / "hiss.wav"
    write_wav(hiss, (np.random.default_rng(0).normal(size=10 * 22050) * 1e-4).astype(np.float32))
    for path, heard in ((silent, "digital silence"), (hiss, "dB below full scale")):
        for url in ("/api/search", "/search"):
            reply = upload(client, path, name=path.name, url=url, genre="Rock")
            text = reply.get_data(as_text=True)
            assert reply.status_code == 422 and "we heard no music" in text and heard in text, (path, url)
    assert is_silent(np.zeros(10)) and loudness_dbfs(np.zeros(0)) == float("-inf")
    quiet_music = tone(seconds=3.0, amplitude=0.02)  # -37 dBFS: quiet, but music
    assert not is_silent(quiet_music) and loudness_dbfs(quiet_music) > SILENCE_DBFS


def test_an_error_page_keeps_the_chosen_genre_and_says_what_to_do(client, catalogue):  # noqa: F811
    reply = upload(client, b"not audio at all", name="bad.mp3", url="/search", genre="Jazz")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422 and '<option value="Jazz" selected>' in page
    assert page.count(" selected>") == 1 and "Try another file." in page and 'id="search-form"' in page
    wrong_type = upload(client, b"x", name="song.txt", url="/search", genre="Rock").get_data(as_text=True)
    assert '<option value="Rock" selected>' in wrong_type


def test_api_docs_are_served_locally_under_the_policy(client):  # noqa: F811
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    bundle = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.data) > 500_000
    assert client.get("/api/docs/static/../../__init__.py").status_code == 404
    assert client.get("/api/docs/static/nothing.js").status_code == 404


def test_the_favicon(client):  # noqa: F811
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
    reply = client.get("/favicon.ico", follow_redirects=True)
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml" and b"<svg" in reply.data


def test_the_idle_form_hides_its_working_state(client):  # noqa: F811
    page = client.get("/").get_data(as_text=True)
    assert '<div id="progress" class="progress" role="status" hidden>' in page
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "[hidden] { display: none !important; }" in css  # .progress's display never beats it


@pytest.mark.parametrize("url, shown", [
    ("https://www.tiktok.com/@a/video/1", "https://www.tiktok.com/@a/video/1"),
    ("javascript:alert(1)", None), ("data:text/html,x", None), ("//evil.example/x", None),
    ("https:///nohost", None), ("", None), (None, None), (42, None)])
def test_only_http_links_from_dumps_become_links(url, shown):
    assert web_link(url) == shown


def test_figures_and_dates_read_short():
    assert [compact(n) for n in (0, 999, 1234, 9999, 16_400, 498_304, 1_234_567, 12_345_678_901, None)] == \
        ["0", "999", "1,234", "9,999", "16.4K", "498.3K", "1.2M", "12.3B", "–"]
    assert day("2019-05-01T12:00:00+00:00") == "1 May 2019" and day(None) == ""


def test_the_catalogue_load_stores_the_reference_pairs_beside_the_vectors(catalogue, store_url):  # noqa: F811
    from batch.core.likeness import REFERENCE_PAIRS
    from batch.store import db

    conn = db.connect(store_url)
    with conn.cursor() as cur:
        cur.execute("SELECT feature_group, pairs, quantiles FROM similarity_reference ORDER BY feature_group")
        rows = cur.fetchall()
        cur.execute("SELECT version FROM load_runs WHERE dataset = 'catalogue' AND status = 'committed' "
                    "ORDER BY run_id DESC LIMIT 1")
        version = cur.fetchone()[0]
    conn.close()
    assert [r[0] for r in rows] == sorted(GROUPS) and {r[1] for r in rows} == {REFERENCE_PAIRS}
    assert all(len(q) == 101 and q == sorted(q) and -1.0 <= q[0] < q[-1] <= 1.0 for _, _, q in rows)
    assert version.endswith(".3")  # CATALOGUE_SHAPE: a store loaded before sql/011 or sql/014 is loaded again


def test_a_chart_entry_whose_sound_is_a_catalogue_song_links_to_its_page(client, catalogue, store_url):  # noqa: F811
    import pandas as pd

    from batch.store import db
    from batch.store.load import load_charts

    entry = {"chart": "linktest-2020-01-01", "series": "linktest", "region": "global", "period": "daily",
             "date": pd.Timestamp("2020-01-01").date(), "kind": "top200", "title": "Rock Study", "artist": "Someone",
             "artists": ["Someone"], "streams": 10, "url": None, "sounds": 1, "videos": 2, "plays": 110,
             "likes": 101, "comments": 0, "shares": 0, "engagement": 312, "music_ids": ["m1"]}
    other = {**entry, "position": 2, "title": "Not Here", "music_ids": ["nobody"], "videos": 0, "sounds": 0}
    conn = db.connect(store_url)
    load_charts(conn, pd.DataFrame([{**entry, "position": 1}, other]))
    conn.close()
    page = client.get("/charts/linktest-2020-01-01").get_data(as_text=True)
    assert page.count('class="in-catalogue"') == 1
    assert f'href="/tracks/{catalogue[0]["track_id"]}">in the catalogue: {catalogue[0]["title"]}</a>' in page
