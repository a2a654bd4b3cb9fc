"""Watching a song in the web app: the offer on the results page, the private page, its Atom
feed and API, deletion, the limit per client, and what a run adds, against a real store."""

from __future__ import annotations

import re

import feedparser
import pytest
import soundfile as sf

from batch.core.fingerprint import analyse
from batch.listening import watch as run_watch
from batch.store import db
from tests.test_watches import write_sounds
from tests.test_webapp import app, catalogue, client, upload  # noqa: F401 (fixtures)
from webapp import watch
from webapp.access_log import redact

HOSTILE = "<img src=x onerror=alert(1)>"  # a file name has no slash, so no closing tag
TOKEN_URL = re.compile(r"/watch/([A-Za-z0-9_-]{32})$")


@pytest.fixture
def clean(store_url, catalogue):  # noqa: F811
    conn = db.connect(store_url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE watches, watch_uses, watch_checked_sounds, watch_requests")
    yield conn
    conn.close()


def offer_of(client, path, name="my song.mp3"):  # noqa: F811
    body = upload(client, path, name=name).get_json()
    return body["watch_offer"]


def make_watch(client, path, name="my song.mp3", addr="10.0.0.1"):  # noqa: F811
    response = client.post("/watch", data={"offer": offer_of(client, path, name)},
                           environ_base={"REMOTE_ADDR": addr})
    assert response.status_code == 303, response.get_data(as_text=True)
    return TOKEN_URL.search(response.headers["Location"]).group(1)


def test_the_results_page_offers_a_watch_that_opens_a_private_page(client, catalogue, clean):  # noqa: F811
    page = upload(client, catalogue[0]["path"], url="/search").get_data(as_text=True)
    assert 'id="watch-offer"' in page and "never the audio" in page
    offer = re.search(r'name="offer" value="([^"]+)"', page).group(1)
    response = client.post("/watch", data={"offer": offer})
    token = TOKEN_URL.search(response.headers["Location"]).group(1)
    watched = client.get(f"/watch/{token}").get_data(as_text=True)
    assert "Watching <em>song.mp3</em>" in watched and "Not heard on TikTok yet" in watched
    assert f'href="/watch/{token}/feed.atom"' in watched and "never the audio" in watched
    with clean.cursor() as cur:  # the store holds the fingerprint and the name, not the token
        cur.execute("SELECT file_name, cardinality(peak_t) > 100, token_hash FROM watches")
        [(name, has_peaks, token_hash)] = cur.fetchall()
    assert name == "song.mp3" and has_peaks and token.encode() not in bytes(token_hash)


def test_a_run_adds_the_new_use_to_the_page_the_feed_and_the_api(spark, client, catalogue, clean, tmp_path):  # noqa: F811
    song = catalogue[0]["path"]
    token = make_watch(client, song, name=f"mine {HOSTILE}.mp3")
    y, sr = sf.read(song)
    cut = tmp_path / "m1.wav"
    sf.write(cut, y[int(8 * sr):int(20 * sr)], sr)  # a 12 s cut from 0:08, as sound m1
    _, peaks, _ = analyse(str(cut))
    write_sounds(tmp_path / "tiktok", {"m1": peaks})
    found = run_watch.check(clean, lambda: spark, tmp_path / "tiktok", run_id="next-day", log=lambda m: None)
    assert found.found == 1

    page = client.get(f"/watch/{token}").get_data(as_text=True)
    assert 'id="use-m1"' in page and "new since" in page and "Rock Study" in page
    assert "from 0:08 of your song" in page and "original speed" in page
    assert HOSTILE not in page and "mine &lt;img src=x onerror=alert(1)&gt;.mp3" in page

    body = client.get(f"/api/watch/{token}").get_json()
    [use] = body["uses"]
    assert (use["music_id"], use["title"], use["variant"], use["new"]) == ("m1", "Rock Study", "original speed", True)
    assert abs(use["offset"] - 8.0) < 0.1 and body["new_since"] is not None

    response = client.get(f"/watch/{token}/feed.atom")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and feed.feed.title == f"Where TikTok uses mine {HOSTILE}.mp3"
    [entry] = feed.entries
    assert entry.title.startswith("Rock Study uses your song from 0:08") and entry.id.startswith("urn:uuid:")
    assert token not in entry.id and token not in feed.feed.id


def test_any_other_token_gets_the_same_404(client, catalogue, clean):  # noqa: F811
    token = make_watch(client, catalogue[1]["path"])
    wrong = token[:-1] + ("a" if token[-1] != "a" else "b")
    for path in (f"/watch/{wrong}", f"/watch/{wrong}/feed.atom", f"/api/watch/{wrong}", "/watch/short",
                 f"/watch/{token[:20]}", "/api/watch/..%2f..%2fetc"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert wrong not in response.get_data(as_text=True)
    assert client.delete(f"/api/watch/{wrong}").status_code == 404
    assert client.get(f"/watch/{token}").status_code == 200  # the right one still opens
    assert client.get("/api/watch").status_code == 405  # no listing of watches


def test_deleting_a_watch_removes_all_of_it(client, catalogue, clean):  # noqa: F811
    first, second = make_watch(client, catalogue[0]["path"]), make_watch(client, catalogue[1]["path"])
    response = client.post(f"/watch/{first}/delete")
    assert response.status_code == 200 and "Watch deleted" in response.get_data(as_text=True)
    assert client.get(f"/watch/{first}").status_code == 404
    assert client.post(f"/watch/{first}/delete").status_code == 404
    assert client.delete(f"/api/watch/{second}").status_code == 204
    with clean.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM watches), (SELECT count(*) FROM watch_uses)")
        assert cur.fetchone() == (0, 0)


def test_bad_offers_are_refused_clearly(client, catalogue, clean, app):  # noqa: F811
    offer = offer_of(client, catalogue[0]["path"])
    for bad in ("", "x", offer[:-4] + "AAAA", offer.replace(".", "!", 1)):
        response = client.post("/api/watch", data={"offer": bad})
        assert response.status_code == 400 and "upload" in response.get_json()["error"]
    key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another server's key"  # an offer this server did not sign
    try:
        assert client.post("/api/watch", data={"offer": offer}).status_code == 400
    finally:
        app.config["SECRET_KEY"] = key
    assert client.post("/api/watch", data={"offer": offer}).status_code == 201
    assert client.post("/watch", data={}).status_code == 400


def test_each_client_address_may_create_a_few_watches_an_hour(client, catalogue, clean):  # noqa: F811
    offer = offer_of(client, catalogue[0]["path"])
    for _ in range(watch.PER_HOUR):
        assert client.post("/api/watch", data={"offer": offer},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 201
    refused = client.post("/api/watch", data={"offer": offer}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.post("/api/watch", data={"offer": offer},
                       environ_base={"REMOTE_ADDR": "10.9.9.10"}).status_code == 201


def test_logs_show_a_token_cut_to_its_first_characters():
    token = "AbCdEf" + "x" * 26
    assert redact(f"GET /watch/{token}/feed.atom HTTP/1.1") == "GET /watch/AbCdEf…/feed.atom HTTP/1.1"
    assert redact(f"/api/watch/{token}") == "/api/watch/AbCdEf…" and redact("/tracks/2") == "/tracks/2"


def test_in_chromium_a_watch_is_made_and_the_next_run_shows_on_its_page_and_feed(
        spark, store_url, catalogue, clean, tmp_path):  # noqa: F811
    from tests.test_browser import PHONE, chromium, drop_file, open_page, overflow, serving

    song = catalogue[0]["path"]
    with serving(store_url) as url, chromium() as browser:
        page = open_page(browser)
        page.goto(url + "/")
        drop_file(page, "#drop-zone", song)
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#watch-offer button", timeout=30_000)
        page.click("#watch-offer button")
        page.wait_for_selector("#watch h1")
        token = TOKEN_URL.search(page.url).group(1)
        assert "Not heard on TikTok yet" in page.inner_text("#uses")

        y, sr = sf.read(song)  # the next day: a sound that cuts the song from 0:05
        sf.write(tmp_path / "m1.wav", y[int(5 * sr):int(17 * sr)], sr)
        _, peaks, _ = analyse(str(tmp_path / "m1.wav"))
        write_sounds(tmp_path / "tiktok", {"m1": peaks})
        assert run_watch.check(clean, lambda: spark, tmp_path / "tiktok", log=lambda m: None).found == 1

        page.reload()
        use = page.locator("#use-m1")
        assert "new since" in use.inner_text() and "from 0:05 of your song" in use.inner_text()
        feed = feedparser.parse(page.request.get(f"{url}/watch/{token}/feed.atom").body())
        assert not feed.bozo and [e.title.split(" uses ")[0] for e in feed.entries] == ["Rock Study"]
        assert overflow(page) == 0  # the results page's expired covers are the only errors
        assert not [e for e in page.console_errors if "ERR_NAME_NOT_RESOLVED" not in e]
        phone = open_page(browser, PHONE)
        phone.goto(page.url)
        assert overflow(phone) == 0
        page.click("#delete button")
        page.wait_for_selector("text=Watch deleted")
        assert page.request.get(f"{url}/watch/{token}").status == 404
