"""Spotify charts as users download them today (charts.spotify.com), and a folder of dated
charts as a history: read, matched, loaded one date at a time, and shown over time."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from tests.conftest import throwaway_database
from tests.test_charts import clip
from tests.test_store import videos_parquet
from text_pipeline.core.chart_files import ChartError, describe_name, read_chart, read_charts

HEADER = "rank,uri,artist_names,track_name,source,peak_rank,previous_rank,days_on_chart,streams"
BOM = "\ufeff"


def new_chart(rows, *, weekly: bool = False, streams: bool = True) -> str:
    """A charts.spotify.com export: BOM, quoted fields, ``artist_names`` joined by ", "."""
    header = HEADER.replace("days_on_chart", "weeks_on_chart" if weekly else "days_on_chart")
    if not streams:
        header = header.rsplit(",", 1)[0]
    out = io.StringIO()
    out.write(BOM + header + "\n")
    w = csv.writer(out, lineterminator="\n")
    for rank, (title, artists, track) in enumerate(rows, start=1):
        row = [rank, f"spotify:track:{track}", artists, title, "Some Label", 1, rank + 1, 40]
        w.writerow(row + ([5_000_000 // rank] if streams else []))
    return out.getvalue()


def test_the_new_format_reads_with_its_bom_artists_and_dated_name(tmp_path):
    path = tmp_path / "regional-global-daily-2023-05-01.csv"
    path.write_text(new_chart([("Some Song (feat. Artist Two)", "Artist One, Artist Two", "0AAAAAAAAAAAAAAAAAAAAA"),
                               ("Another Song", "Artist Three", "0BBBBBBBBBBBBBBBBBBBBB")]), encoding="utf-8")
    chart = read_chart(path)
    first = chart.iloc[0]
    assert (first["chart"], first["series"], first["region"], first["period"], first["date"], first["kind"]) == (
        "regional-global-daily-2023-05-01", "regional-global-daily", "global", "daily", date(2023, 5, 1), "top200")
    assert first["artists"] == ["Artist One", "Artist Two"] and first["artist"] == "Artist One, Artist Two"
    assert first["url"] == "https://open.spotify.com/track/0AAAAAAAAAAAAAAAAAAAAA"
    assert chart["streams"].tolist() == [5_000_000, 2_500_000] and chart["position"].tolist() == [1, 2]

    weekly = tmp_path / "viral-us-weekly-2023-05-04.csv"
    weekly.write_text(new_chart([("A", "B", "0C")], weekly=True, streams=False), encoding="utf-8")
    w = read_chart(weekly).iloc[0]
    assert (w["series"], w["region"], w["period"], w["kind"], w["date"]) == (
        "viral-us-weekly", "us", "weekly", "viral50", date(2023, 5, 4))
    assert pd.isna(w["streams"])


@pytest.mark.parametrize("stem, expected", [
    ("regional-global-weekly-2020-06-05--2020-06-12", ("regional-global-weekly", date(2020, 6, 12))),
    ("regional-gb-daily-latest", ("regional-gb-daily", None)),
    ("top200-2020-06-01", ("top200", date(2020, 6, 1))),
    ("my chart", ("my chart", None)),
    ("chart-2020-13-45", ("chart-2020-13-45", None)),  # not a date
])
def test_file_names_give_the_series_and_the_date(stem, expected):
    about = describe_name(stem)
    assert (about["series"], about["date"]) == expected


@pytest.mark.parametrize("body, message", [
    (HEADER + "\n1,spotify:track:0A,X,Song,L,1,2,3\n", ":2: 8 fields, the header has 9"),
    (HEADER + "\none,spotify:track:0A,X,Song,L,1,2,3,4\n", ":2: rank must be a whole number"),
    (HEADER + "\n1,https://open.spotify.com/track/0A,X,Song,L,1,2,3,4\n", ":2: uri must be spotify:track:<id>"),
    (HEADER + "\n1,spotify:track:0A,X,Song,L,1,2,3,4\n2,spotify:track:0B,X,,L,1,2,3,4\n", ":3: no track name"),
    (HEADER + "\n1,spotify:track:0A,X,Song,L,1,2,3,-4\n", ":2: streams must be positive"),
    ("rank,uri,track_name\n1,spotify:track:0A,Song\n", ":1: the header lacks artist_names"),
])
def test_a_malformed_new_format_file_fails_with_its_file_and_line(tmp_path, body, message):
    path = tmp_path / "regional-global-daily-2023-05-01.csv"
    path.write_text(BOM + body, encoding="utf-8")
    with pytest.raises(ChartError, match=message) as caught:
        read_chart(path)
    assert str(caught.value).startswith(f"{path}:")


def test_a_folder_is_read_as_every_chart_in_it(tmp_path):
    (tmp_path / "h").mkdir()
    for day in ("2023-05-04", "2023-05-11"):
        (tmp_path / "h" / f"regional-global-weekly-{day}.csv").write_text(new_chart([("A", "B", "0C")], weekly=True))
    assert sorted(set(read_charts([tmp_path / "h"])["date"])) == [date(2023, 5, 4), date(2023, 5, 11)]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChartError, match="a folder with no .csv chart files"):
        read_charts([tmp_path / "empty"])


# --- a history in the store and on the page -------------------------------------------------------

WEEKS = ("2023-05-04", "2023-05-11", "2023-05-18")
SONGS = {  # title, artists, track: (positions per week, None when off the chart)
    ("Blinding Lights", "The Weeknd", "0BL"): (3, 1, 2),
    ("Lose Somebody", "Kygo", "0LS"): (1, 2, None),
    ("Savage Love (Laxed - Siren Beat)", "Jawsh 685, Jason Derulo", "0SL"): (2, 3, 1),
}


def weekly_chart(week: int) -> str:
    on = sorted(((p[week], s) for s, p in SONGS.items() if p[week] is not None))
    return new_chart([s for _, s in on], weekly=True)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def history(spark, tmp_path_factory):
    """Matched TikTok videos dated over the charts' weeks, and a folder of three weekly charts.

    Blinding Lights' sound s1 has one video in the first chart's week and two in the third's;
    Savage Love's s4 (matched by its first artist) one video in the second's.
    """
    from text_pipeline.tiktok.matcher import fitted_models

    root = tmp_path_factory.mktemp("history")
    (root / "tiktok").mkdir()
    videos_parquet(root / "tiktok" / "part-0.parquet", [
        clip("v1", "s1", "Blinding Lights", "The Weeknd", plays=1000, created_at=at("2023-05-02")),
        clip("v2", "s1", "Blinding Lights", "The Weeknd", plays=500, created_at=at("2023-05-16")),
        clip("v3", "s1", "Blinding Lights", "The Weeknd", plays=100, created_at=at("2023-05-17")),
        clip("v4", "s4", "Savage Love (Laxed - Siren Beat)", "Jawsh 685", plays=300, created_at=at("2023-05-09")),
        clip("v5", "s9", "Night Drive", "Ana Moon", plays=50, created_at=at("2023-05-09")),
    ])
    fitted_models(spark, pd.DataFrame({"track_id": [1, 2], "title": ["Night Drive", "Blue Hour"],
                                       "artist": ["Ana Moon", "Ben Cole"]}), root / "model", log=lambda *_: None)
    (root / "charts").mkdir()
    for week, day in enumerate(WEEKS):
        (root / "charts" / f"regional-global-weekly-{day}.csv").write_text(weekly_chart(week), encoding="utf-8")
    return root


def test_a_history_loads_and_a_rerun_of_one_date_replaces_only_that_date(history, spark, store_url, monkeypatch):
    from batch.store import db
    from batch.store.load import into_store, load_tiktok
    from text_pipeline.jobs.charts import run
    from webapp import create_app

    quiet = {"spark": spark, "log": lambda *_: None}
    with throwaway_database(store_url, "history") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        into_store(load_tiktok, history / "tiktok")
        entries = run([history / "charts"], history, load=True, **quiet)
        assert entries["artists"].iloc[entries["title"].tolist().index("Savage Love (Laxed - Siren Beat)")] == [
            "Jawsh 685", "Jason Derulo"]
        conn = db.connect(url)

        def per_date():
            with conn.cursor() as cur:
                cur.execute("SELECT date::text, count(*), sum(videos) FROM chart_entries GROUP BY 1 ORDER BY 1")
                found = cur.fetchall()
            conn.commit()  # an open transaction of ours would hold up the next load
            return found

        assert per_date() == [("2023-05-04", 3, 4), ("2023-05-11", 3, 4), ("2023-05-18", 2, 4)]
        # The second week again, now with one song only: that date changes, the others stay.
        second = history / "rerun" / f"regional-global-weekly-{WEEKS[1]}.csv"
        second.parent.mkdir()
        second.write_text(new_chart([("Blinding Lights", "The Weeknd", "0BL")], weekly=True), encoding="utf-8")
        run([second], history, load=True, **quiet)
        assert per_date() == [("2023-05-04", 3, 4), ("2023-05-11", 1, 3), ("2023-05-18", 2, 4)]
        run([history / "charts"], history, load=True, **quiet)  # and back: no duplicates
        assert per_date() == [("2023-05-04", 3, 4), ("2023-05-11", 3, 4), ("2023-05-18", 2, 4)]
        conn.close()

        client = create_app({"DATABASE_URL": url, "TESTING": True}).test_client()
        name = f"regional-global-weekly-{WEEKS[2]}"
        api = client.get(f"/api/charts/{name}").get_json()
        assert api["summary"]["date"] == WEEKS[2] and {e["date"] for e in api["entries"]} == {WEEKS[2]}
        past = api["history"]
        assert past["series"] == "regional-global-weekly" and past["dates"] == list(WEEKS)
        songs = {s["title"]: s for s in past["songs"]}
        assert set(songs) == {"Blinding Lights", "Savage Love (Laxed - Siren Beat)"}  # the songs used on TikTok
        lights = songs["Blinding Lights"]
        assert [(p["date"], p["position"]) for p in lights["positions"]] == list(zip(WEEKS, (3, 1, 2)))
        assert [(w["week"], w["videos"]) for w in lights["weeks"]] == [("2023-05-01", 1), ("2023-05-15", 2)]
        assert [w["engagement"] for w in lights["weeks"]] == [1000, 600]  # plays only: no likes
        assert [(w["week"], w["videos"]) for w in songs["Savage Love (Laxed - Siren Beat)"]["weeks"]] == [
            ("2023-05-08", 1)]
        listing = client.get("/api/charts").get_json()["charts"]
        assert [(c["series"], c["date"]) for c in listing] == [("regional-global-weekly", d) for d in reversed(WEEKS)]

        page = client.get(f"/charts/{name}").get_data(as_text=True)
        assert 'id="history"' in page and page.count('class="history-song"') == 2
        assert page.count('class="position-dot"') == 3 + 3 and page.count('class="week-bar"') == 2 + 1
        assert "2023-05-18: #2" in page and "week of 2023-05-15: 2 videos" in page
        csv_text = client.get(f"/charts/{name}.csv").get_data(as_text=True)
        back = pd.read_csv(io.StringIO(csv_text))
        assert set(back["date"]) == {WEEKS[2]} and set(back["series"]) == {"regional-global-weekly"}
        assert "Jawsh 685; Jason Derulo" in set(back["artists"])
        one = client.get("/api/charts/top-undated")
        assert one.status_code == 404


def test_a_single_dated_chart_has_no_history(history, spark, store_url):
    from text_pipeline.jobs.charts import run
    from webapp import create_app

    with throwaway_database(store_url, "single") as url:
        import os

        os.environ["DATABASE_URL"] = url
        try:
            run([history / "charts" / f"regional-global-weekly-{WEEKS[0]}.csv"], history, load=True,
                spark=spark, log=lambda *_: None)
        finally:
            del os.environ["DATABASE_URL"]
        client = create_app({"DATABASE_URL": url, "TESTING": True}).test_client()
        assert client.get(f"/api/charts/regional-global-weekly-{WEEKS[0]}").get_json()["history"] is None
        assert 'id="history"' not in client.get(f"/charts/regional-global-weekly-{WEEKS[0]}").get_data(as_text=True)


def test_the_history_in_a_real_browser(history, spark, store_url, monkeypatch, tmp_path):
    import shutil
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from batch.store.load import into_store, load_tiktok
    from tests.test_browser import CHROMIUM, FLAGS
    from text_pipeline.jobs.charts import run
    from webapp import create_app

    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    with throwaway_database(store_url, "browser") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        into_store(load_tiktok, history / "tiktok")
        run([history / "charts"], history, load=True, spark=spark, log=lambda *_: None)
        httpd = make_server("127.0.0.1", 0, create_app({"DATABASE_URL": url}), threaded=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
                page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
                page.goto(f"http://127.0.0.1:{httpd.server_port}/charts")
                assert page.locator("#charts tbody tr").count() == 3
                page.click(f"text=regional-global-weekly-{WEEKS[2]}")
                page.wait_for_selector("#history")
                songs = page.locator(".history-song")
                assert songs.count() == 2
                box = songs.first.locator("svg").bounding_box()
                assert 200 < box["width"] <= 390  # the small plot fits the phone's width
                assert songs.first.locator("polyline.position").count() == 1
                bars = songs.first.locator("rect.week-bar")
                assert bars.count() >= 1 and bars.first.bounding_box()["height"] > 5  # drawn, not styled away
                page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
                browser.close()
        finally:
            httpd.shutdown()
    assert (tmp_path / "history.png").stat().st_size > 10_000
