"""The web app against a real PostgreSQL loaded with a small catalogue: every route and error."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from markupsafe import escape

from batch.core.features import vectorize
from batch.core.fingerprint import analyse
from batch.core.metadata import FMA_GENRES, read_genres, read_tracks
from batch.core.style import describe
from batch.demo.corpus import write_corpus
from batch.store import db, search
from batch.store.load import load_catalogue, load_tiktok
from tests.conftest import tone, write_wav
from tests.test_store import matches_parquet, videos_parquet
from text_pipeline.core.engagement import ENGAGEMENT
from webapp import SETTINGS, create_app

SCRIPT = "<script>alert('x')</script>"


def write_catalogue(root: Path, n_tracks: int = 24) -> list[dict]:
    """A demo corpus, vectorised with the shared code and laid out as batch.jobs.featurize writes it."""
    rows = write_corpus(root / "corpus", n_tracks=n_tracks, seed=3)
    meta = root / "corpus" / "fma_metadata"
    tracks = read_tracks(meta / "tracks.csv", read_genres(meta / "genres.csv"))
    for row in rows:
        path = row["path"]
        part = root / "out" / "vectors" / f"genre_top={row['genre_top']}"
        part.mkdir(parents=True, exist_ok=True)
        vector, peaks, clip = analyse(str(path))
        peaks = peaks.reference()
        found = describe(clip.y, clip.sr, vector)
        pq.write_table(pa.table({"track_id": [row["track_id"]], "vector": [vector],
                                 "peak_t": pa.array([peaks.t], pa.list_(pa.int16())),
                                 "peak_f": pa.array([peaks.lf], pa.list_(pa.float32())),
                                 "style": [found.embedding], "bpm": [found.bpm],
                                 "key_tonic": pa.array([found.tonic], pa.int8()), "key_mode": [found.mode],
                                 "key_confidence": [found.key_confidence],
                                 "source_path": [str(path)]}), part / f"{row['track_id']}.parquet")
    (root / "out" / "tracks").mkdir()
    tracks.to_parquet(root / "out" / "tracks" / "part-0.parquet", index=False)
    return rows


@pytest.fixture(scope="module")
def catalogue(store_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    rows = write_catalogue(root)
    conn = db.connect(store_url)
    db.migrate(conn)
    load_catalogue(conn, root / "out")
    first = rows[0]["track_id"]
    videos = [
        {"video_id": "v1", "music_id": "m1", "song_title": "Rock Study", "play_count": 100, "like_count": 1,
         "hashtags": ["dance", "fyp"], "cover_url": "https://example.invalid/expired.jpg",
         "video_url": "https://www.tiktok.com/@a/video/v1"},
        {"video_id": "v2", "music_id": "m1", "song_title": "Rock Study", "play_count": 10, "like_count": 100,
         "hashtags": ["fyp"], "video_url": "https://www.tiktok.com/@b/video/v2"},
        {"video_id": "v3", "music_id": "m2", "song_title": SCRIPT, "play_count": 5, "like_count": 0,
         "hashtags": [SCRIPT, "fyp"], "video_url": "https://www.tiktok.com/@c/video/v3"},
    ]
    load_tiktok(conn, videos_parquet(root / "v.parquet", videos),
                matches=matches_parquet(root / "m.parquet", [(first, "m1", 1.0, 1.0, 1.0),
                                                             (first, "m2", 0.9, 0.9, 0.9)]))
    conn.close()
    return rows


@pytest.fixture
def app(store_url, catalogue):
    return create_app({"DATABASE_URL": store_url, "MAX_UPLOAD_MB": 2})


@pytest.fixture
def client(app):
    return app.test_client()


def upload(client, path_or_bytes, name="song.mp3", url="/api/search", **form):
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return client.post(url, data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


# --- pages -----------------------------------------------------------------------------------


def test_home_page_offers_all_16_genres(client):
    page = client.get("/").get_data(as_text=True)
    assert "Upload a song" in page and 'id="progress"' in page
    genre_select = page[page.index('<select id="genre"'):page.index("</select>")]
    assert genre_select.count("<option") == 17 and ">All genres<" in page and ">Old-Time / Historic<" in page


def test_results_page_shows_the_query_songs_charts_and_covers(client, catalogue):
    song = catalogue[0]
    response = upload(client, song["path"], name="mine.mp3", url="/search", genre=song["genre_top"])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "mine.mp3" in page and "0:30 long" in page and "We listened to all of it" in page
    assert "compared 0:00–0:30 for similar songs" in page
    assert page.index(f'id="track-{song["track_id"]}"') < page.index('class="result"', page.index('class="result"') + 1)
    assert page.count('class="result"') == sum(1 for r in catalogue if r["genre_top"] == song["genre_top"])
    for group in ("timbre", "harmony", "brightness", "noisiness"):
        assert f"<dt>{group}</dt>" in page
    assert 'class="covers"' in page and 'href="https://www.tiktok.com/@a/video/v1"' in page
    assert 'class="placeholder"' in page and f'src="/audio/{song["track_id"]}"' in page
    assert "#fyp" in page


def test_tiktok_titles_and_hashtags_are_escaped(client, catalogue):
    page = upload(client, catalogue[0]["path"], url="/search").get_data(as_text=True)
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


# --- the API ---------------------------------------------------------------------------------


def test_a_catalogue_song_finds_itself_first(client, catalogue):
    for song in catalogue[:4]:
        body = upload(client, song["path"], k="5").get_json()
        top = body["results"][0]
        assert (top["track_id"], top["title"], top["genre"]) == (song["track_id"], song["title"], song["genre_top"])
        assert top["score"] == pytest.approx(1.0, abs=1e-4)
        assert body["query"]["k"] == 5 and len(body["results"]) == 5


def test_search_equals_brute_force_search(client, catalogue, store_url):
    conn = db.connect(store_url)
    for song in catalogue[:3]:
        for genre in ("", song["genre_top"]):
            got = [r["track_id"] for r in upload(client, song["path"], genre=genre, k="8",
                                                 view="numbers").get_json()["results"]]
            exact = search.exact_search(conn, vectorize(song["path"]), genre=genre or None, k=8)
            assert got == [h.track_id for h in exact]
    conn.close()


def test_genre_by_title_or_id_filters_the_results(client, catalogue):
    song = catalogue[1]
    by_title = upload(client, song["path"], genre=song["genre_top"]).get_json()
    by_id = upload(client, song["path"], genre=str(read_genres(FMA_GENRES).set_index("title")
                                                   .loc[song["genre_top"], "genre_id"])).get_json()
    assert {r["genre"] for r in by_title["results"]} == {song["genre_top"]}
    assert by_title["results"] == by_id["results"]


def test_tiktok_uses_are_ranked_by_engagement(client, catalogue):
    body = upload(client, catalogue[0]["path"]).get_json()
    videos = body["results"][0]["tiktok"]
    assert [v["video_id"] for v in videos] == ["v2", "v1", "v3"]  # 10+200 > 100+2 > 5
    assert [v["engagement"] for v in videos] == [210 + 3 + 0, 102 + 3 + 0, 5 + 3 + 0]
    assert {"tag": "fyp", "videos": 3} in body["hashtags"]
    assert ENGAGEMENT == "play_count + 2 * like_count + 3 * comment_count + 4 * share_count"


def test_genres_tracks_and_openapi(client, catalogue):
    genres = client.get("/api/genres").get_json()["genres"]
    assert len(genres) == 16 and {"id": 12, "title": "Rock"} in genres
    track = client.get(f"/api/tracks/{catalogue[0]['track_id']}").get_json()
    assert track["title"] == catalogue[0]["title"]
    assert {s["music_id"] for s in track["sounds"]} == {"m1", "m2"}
    assert len(track["videos"]) == 3
    assert client.get("/api/tracks/999999").status_code == 404
    spec = client.get("/api/openapi.json").get_json()
    # Every API route is described, and nothing else.
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule)
              for r in client.application.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert set(spec["paths"]) == routes
    assert {"/api/search", "/api/hashtags", "/api/charts/{name}"} <= routes


def test_catalogue_audio_is_served(client, catalogue):
    audio = client.get(f"/audio/{catalogue[0]['track_id']}")
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    assert audio.data == catalogue[0]["path"].read_bytes()
    assert client.get("/audio/999999").status_code == 404


# --- bad input -------------------------------------------------------------------------------


BAD_UPLOADS = [
    ("missing file", None, "x.mp3", {}, 400, "no file uploaded"),
    ("unsupported type", b"hello", "notes.txt", {}, 415, "unsupported file type '.txt'"),
    ("corrupt audio", os.urandom(5000), "x.mp3", {}, 422, "undecodable audio"),
    ("empty file", b"", "x.wav", {}, 422, "empty input"),
    ("too large", b"\0" * (3 * 1024 * 1024), "big.wav", {}, 413, "too large: the limit is 2 MB"),
    ("unknown genre", "ok", "x.wav", {"genre": "Polka"}, 400, "unknown genre 'Polka'"),
    ("k zero", "ok", "x.wav", {"k": "0"}, 400, "k must be a whole number from 1 to 50"),
    ("k too big", "ok", "x.wav", {"k": "51"}, 400, "k must be a whole number from 1 to 50"),
    ("k not a number", "ok", "x.wav", {"k": "ten"}, 400, "k must be a whole number"),
]


def _payload(data, tmp_path):
    if data == "ok":
        return write_wav(tmp_path / "ok.wav", tone(seconds=3.0)).read_bytes()
    return data


@pytest.mark.parametrize("case, data, name, form, status, message", BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_input_gets_a_4xx_and_a_clear_message(client, tmp_path, case, data, name, form, status, message):
    if data is None:
        api = client.post("/api/search", data=form, content_type="multipart/form-data")
        page = client.post("/search", data=form, content_type="multipart/form-data")
    else:
        api = upload(client, _payload(data, tmp_path), name=name, **form)
        page = upload(client, _payload(data, tmp_path), name=name, url="/search", **form)
    assert api.status_code == status and message in api.get_json()["error"]
    if "k " not in case:  # the page has no k
        assert page.status_code == status and str(escape(message)) in page.get_data(as_text=True)
        assert "Traceback" not in page.get_data(as_text=True)


def test_too_short_audio(client, tmp_path):
    short = write_wav(tmp_path / "short.wav", tone(seconds=1.0)).read_bytes()
    response = upload(client, short, name="short.wav")
    assert response.status_code == 422 and "too short: 1.00 s" in response.get_json()["error"]


def test_audio_too_short_for_the_style_model_gets_the_same_422(client, tmp_path):
    short = write_wav(tmp_path / "short.wav", tone(seconds=2.5)).read_bytes()  # long enough for the 245
    response = upload(client, short, name="short.wav")
    assert response.status_code == 422
    assert "too short for the style model: 2.50 s; it needs 3 s" in response.get_json()["error"]


def test_an_unreachable_database_answers_503(catalogue):
    client = create_app({"DATABASE_URL": "postgresql://u:secret@127.0.0.1:1/x"}).test_client()
    api = client.get("/api/genres")
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.get_json() == {"error": "the catalogue is briefly unavailable; please try again in a minute"}
    page = client.get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and "The service is briefly unavailable" in text
    assert "Try another file" not in text
    for leak in ("127.0.0.1", "port 1", "secret", "refused", "psycopg", "/x"):
        assert leak not in text and leak not in api.get_data(as_text=True)
    during_upload = upload(client, b"RIFF", name="mine.wav", url="/search").get_data(as_text=True)
    assert "Nothing is wrong with your file" in during_upload and "Try another file" not in during_upload
    assert "Nothing is wrong with your file" not in text  # the home page was not an upload


def test_connections_broken_while_idle_are_replaced_not_failed(app, client):
    assert client.get("/api/genres").status_code == 200
    for conn in list(app.extensions["db_pool"]._free):
        conn.close()  # as if the server had restarted
    assert client.get("/api/genres").status_code == 200
    assert all(not conn.closed for conn in app.extensions["db_pool"]._free)


# --- security --------------------------------------------------------------------------------


def test_uploads_are_deleted_after_success_and_failure(client, catalogue, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert upload(client, catalogue[0]["path"]).status_code == 200
    assert upload(client, os.urandom(4000)).status_code == 422
    assert list(tmp_path.iterdir()) == []


def test_security_headers_and_no_debug(store_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app({"DATABASE_URL": store_url})
    assert app.debug is False and app.config["SECRET_KEY"] == "from-the-environment"
    headers = app.test_client().get("/api/genres").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert (headers["X-Content-Type-Options"], headers["X-Frame-Options"]) == ("nosniff", "DENY")


def test_every_setting_is_documented_in_the_web_app_docs():
    docs = (Path(__file__).parents[1] / "docs" / "web.md").read_text()
    for name, _, _ in SETTINGS:
        assert f"`{name}`" in docs, name


# --- requests PostgreSQL could not store -------------------------------------------------------


@pytest.mark.parametrize("method, url, form, where", [
    ("get", "/api/charts/%00", None, "address"),
    ("get", "/charts/a%00b", None, "address"),
    ("get", "/api/hashtags?tags=fyp%00", None, "query string"),
    ("get", "/hashtags?ta%00gs=fyp", None, "query string"),
    ("post", "/api/search", {"genre": "Rock\x00"}, "form"),
    ("post", "/search", {"genre": "Rock"}, "file name"),
])
def test_a_nul_anywhere_is_a_400_that_names_where(client, method, url, form, where):
    if method == "get":
        response = client.get(url)
    else:
        name = "so\x00ng.wav" if where == "file name" else "song.wav"
        response = client.post(url, data={**form, "file": (io.BytesIO(b"RIFF"), name)},
                               content_type="multipart/form-data")
    assert response.status_code == 400
    assert f"the {where} contains a NUL character" in response.get_data(as_text=True)


def test_an_oversized_form_field_is_a_413_of_its_own_that_echoes_nothing(client, catalogue):
    field = "x" * 1_000_000  # 1 MB, under the 2 MB upload limit of this app
    response = upload(client, catalogue[0]["path"], genre=field)
    assert response.status_code == 413
    message = response.get_json()["error"]
    assert message == "a form field is too large: fields other than the file hold at most 256 KB"
    page = upload(client, catalogue[0]["path"], url="/search", genre=field)
    assert page.status_code == 413 and "xxxxxxxxxx" not in page.get_data(as_text=True)


def test_errors_quote_only_a_prefix_of_what_was_sent(client, catalogue):
    response = upload(client, catalogue[0]["path"], genre="y" * 5000)
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert "'" + "y" * 40 + "'… (5,000 characters)" in message and "y" * 41 not in message


# --- the style view, tempo and key (issue 26) -------------------------------------------------


def test_default_view_is_the_style_model_and_the_numbers_view_can_be_asked_for(client, catalogue, store_url):
    song = catalogue[2]
    body = upload(client, song["path"], k="6").get_json()
    assert body["query"]["view"] == "style" and body["results"][0]["view"] == "fingerprint"
    assert {r["view"] for r in body["results"][1:]} == {"style"}
    assert body["results"][0]["track_id"] == song["track_id"] and body["results"][0]["same_recording"]
    assert 30 <= body["query"]["bpm"] <= 300 and body["query"]["key"].split()[1] in ("major", "minor")
    conn = db.connect(store_url)
    scaler = search.load_style_scaler(conn)
    vector, _, clip = analyse(str(song["path"]))
    exact = search.style_search(conn, vector, describe(clip.y, clip.sr, vector).embedding, scaler, k=6,
                                exact=True)
    conn.close()
    assert [r["track_id"] for r in body["results"]] == [h.track_id for h in exact]
    numbers = upload(client, song["path"], k="6", view="numbers").get_json()
    assert {r["view"] for r in numbers["results"][1:]} == {"numbers"}
    card = body["results"][1]
    assert card["bpm"] is not None and card["key"] and 0 <= card["key_confidence"] <= 1


def test_a_tempo_filter_counts_half_and_double_tempo(client, catalogue, store_url):
    conn = db.connect(store_url)
    with conn.cursor() as cur:
        cur.execute("SELECT track_id, bpm FROM track_vectors")
        bpm = dict(cur.fetchall())
    conn.close()
    target = catalogue[5]
    low, high = bpm[target["track_id"]] * 2 - 1, bpm[target["track_id"]] * 2 + 1  # double its tempo
    body = upload(client, catalogue[0]["path"], k="10", bpm_min=str(low), bpm_max=str(high)).get_json()
    found = [r for r in body["results"] if not r["same_recording"]]
    assert target["track_id"] in [r["track_id"] for r in found]
    assert all(any(low <= r["bpm"] * f <= high + 0.1 for f in (0.5, 1, 2)) for r in found)
    assert "half or double" in body["query"]["filters"]["described"]


def test_a_filter_nothing_meets_is_a_notice_with_the_nearest_tempo(client, catalogue):
    song = catalogue[1]
    body = upload(client, song["path"], genre=song["genre_top"], bpm_min="299", bpm_max="300").get_json()
    assert [r for r in body["results"] if not r["same_recording"]] == []
    assert body["filter_notice"].startswith(f"299–300 BPM (half or double tempo counts too) in {song['genre_top']}: none found.")
    assert "The nearest tempo in" in body["filter_notice"]
    page = upload(client, song["path"], url="/search", genre=song["genre_top"], bpm_min="299",
                  bpm_max="300")
    assert page.status_code == 200 and 'id="filter-notice"' in page.get_data(as_text=True)


def test_key_filters_keep_the_same_or_the_relative_key(client, catalogue):
    from batch.core.tempo_key import PITCHES, key_name, relative

    body = upload(client, catalogue[3]["path"], k="20", key="relative").get_json()
    tonic, mode = body["query"]["key"].split()
    allowed = {body["query"]["key"], key_name(*relative(PITCHES.index(tonic), mode))}
    assert {r["key"] for r in body["results"] if not r["same_recording"]} <= allowed
    same = upload(client, catalogue[3]["path"], k="20", key="same").get_json()
    assert {r["key"] for r in same["results"] if not r["same_recording"]} <= {body["query"]["key"]}


@pytest.mark.parametrize("form,named", [({"view": "vibes"}, "view"), ({"bpm_min": "fast", "bpm_max": "200"}, "bpm_min"),
                                        ({"bpm_min": "100"}, "bpm_max"), ({"bpm_min": "10", "bpm_max": "20"}, "bpm_min"),
                                        ({"bpm_min": "130", "bpm_max": "120"}, "bpm_min"), ({"key": "C"}, "key"),
                                        ({"bpm_min": "100", "bpm_max": "nan"}, "bpm_max")])
def test_search_parameters_out_of_range_get_a_400_that_names_them(client, catalogue, form, named):
    response = upload(client, catalogue[0]["path"], **form)
    assert response.status_code == 400 and named in response.get_json()["error"]


def test_song_pages_show_tempo_and_key(client, catalogue):
    song = catalogue[0]
    data = client.get(f"/api/tracks/{song['track_id']}").get_json()
    assert data["bpm"] > 0 and data["key"]
    assert {r["view"] for r in data["more_like_this"]} == {"style"}
    page = client.get(f"/tracks/{song['track_id']}").get_data(as_text=True)
    assert f"{data['bpm']:.0f} BPM" in page and data["key"] in page


def test_without_the_style_model_uploads_are_searched_by_the_numbers(store_url, catalogue):
    client = create_app({"DATABASE_URL": store_url, "STYLE_MODEL": 0}).test_client()
    body = upload(client, catalogue[2]["path"], k="5").get_json()
    assert body["query"]["view"] == "numbers" and body["query"]["bpm"] is None
    assert {r["view"] for r in body["results"][1:]} == {"numbers"}
    refused = upload(client, catalogue[2]["path"], key="same")
    assert refused.status_code == 400 and "key" in refused.get_json()["error"]
