"""Spotify chart exports: both shapes, with and without the note line, and broken files."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from tests.conftest import throwaway_database
from tests.test_store import videos_parquet
from text_pipeline.jobs.charts import ChartError, read_chart

NOTE = (',,,"Note that these figures are generated using a formula that protects against any '
        'artificial inflation of streams.",\n')
TOP_200 = ('Position,"Track Name",Artist,Streams,URL\n'
           '1,"Blinding Lights",The Weeknd,2071892,https://open.spotify.com/track/0VjIjW4GlUZAMYd2vXMi3b\n'
           '2,"ROCKSTAR (feat. Roddy Ricch)",DaBaby,1820745,https://open.spotify.com/track/7ytR5pFWmSjzHJIeQkgog4\n')
VIRAL_50 = ('Position,"Track Name",Artist,URL\n'
            '1,"Savage Love (Laxed - Siren Beat)","Jawsh 685, Jason Derulo",https://open.spotify.com/track/1xQ6trAsedVPCdbtDAmk0c\n'
            '2,"Lose Somebody",Kygo,https://open.spotify.com/track/4a1gnxp8WBRbIMIvf8jGOW\n\n')


@pytest.mark.parametrize("text, streams", [
    (TOP_200, [2071892, 1820745]), (NOTE + TOP_200, [2071892, 1820745]),
    (VIRAL_50, [None, None]), (NOTE + VIRAL_50, [None, None]),
])
def test_each_shape_reads_with_or_without_the_note_line(tmp_path, text, streams):
    path = tmp_path / "regional-global-daily-2020-06-01.csv"
    path.write_text(text)
    chart = read_chart(path)
    assert list(chart["position"]) == [1, 2]
    assert [None if pd.isna(s) else int(s) for s in chart["streams"]] == streams
    assert set(chart["chart"]) == {"regional-global-daily-2020-06-01"}
    assert chart["url"].str.startswith("https://open.spotify.com/track/").all()
    assert chart["title"][0] in ("Blinding Lights", "Savage Love (Laxed - Siren Beat)")
    if streams[0] is None:
        assert chart["artist"][0] == "Jawsh 685, Jason Derulo"  # a quoted comma stays in the field


@pytest.mark.parametrize("text, message", [
    ("", "not a Spotify chart export"),
    ("track,artist\nBlinding Lights,The Weeknd\n", "not a Spotify chart export"),
    ('Position,"Track Name",Streams\n1,x,3\n', "the header lacks Artist, URL"),
    ('Position,"Track Name",Artist,URL\n', "no entries"),
    ('Position,"Track Name",Artist,URL\n1,Song,Someone\n', ":2: 3 fields, the header has 4"),
    ('Position,"Track Name",Artist,URL\none,Song,Someone,u\n', "Position must be a whole number"),
    ('Position,"Track Name",Artist,URL\n0,Song,Someone,u\n', "Position must be positive"),
    ('Position,"Track Name",Artist,Streams,URL\n1,Song,Someone,lots,u\n', "Streams must be a whole number"),
    ('Position,"Track Name",Artist,URL\n1,,Someone,u\n', "no track name"),
    ('Position,"Track Name",Artist,URL\n1,A,B,u\n1,C,D,u\n', "position 1 appears twice"),
])
def test_a_malformed_file_fails_with_a_clear_error(tmp_path, text, message):
    path = tmp_path / "chart.csv"
    path.write_text(text)
    with pytest.raises(ChartError, match=message) as caught:
        read_chart(path)
    assert str(caught.value).startswith(str(path))


def test_missing_and_binary_files_fail_clearly(tmp_path):
    with pytest.raises(ChartError, match="no such file"):
        read_chart(tmp_path / "nope.csv")
    (tmp_path / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ChartError, match="not a text file"):
        read_chart(tmp_path / "cover.png")


# --- overlap with TikTok, on known answers ----------------------------------------------------

TOP = ('Position,"Track Name",Artist,Streams,URL\n'
       '1,"Blinding Lights",The Weeknd,2071892,https://open.spotify.com/track/a\n'
       '2,"Lose Somebody",Kygo,1000000,https://open.spotify.com/track/b\n'
       '3,"Savage Love (Laxed - Siren Beat)","Jawsh 685, Jason Derulo",900000,https://open.spotify.com/track/c\n')
VIRAL = ('Position,"Track Name",Artist,URL\n'
         '1,"Savage Love (Laxed - Siren Beat)","Jawsh 685, Jason Derulo",https://open.spotify.com/track/c\n'
         '2,"Roses - Imanbek Remix",SAINt JHN,https://open.spotify.com/track/d\n')


def clip(video_id, music_id, title, artist, plays=0, likes=0, comments=0, shares=0, **more):
    return {"video_id": video_id, "music_id": music_id, "song_title": title, "artist_name": artist,
            "play_count": plays, "like_count": likes, "comment_count": comments, "share_count": shares,
            **more}


@pytest.fixture(scope="module")
def matched(spark, tmp_path_factory):
    """What text_pipeline.jobs.match leaves in its --out: clean videos and the catalogue's TF-IDF models.

    Blinding Lights has two sounds: s1 with 1,000 plays, 100 likes, 10 comments and 1
    share (engagement 1,234) plus 500 plays, and s2 with 100 plays: 1,834 over 3 videos.
    Savage Love's sound s4 has 300 plays and 50 likes: 400. An original sound with the
    most plays, a near-miss title and a catalogue song match no chart song.
    """
    from text_pipeline.tiktok.matcher import fitted_models

    root = tmp_path_factory.mktemp("charts")
    (root / "tiktok").mkdir()
    videos_parquet(root / "tiktok" / "part-0.parquet", [
        clip("v1", "s1", "Blinding Lights", "The Weeknd", plays=1000, likes=100, comments=10, shares=1),
        clip("v2", "s1", "Blinding Lights", "The Weeknd", plays=500),
        clip("v3", "s2", "blinding lights", "The Weeknd", plays=100),
        clip("v4", "s3", "original sound - weeknd fan", "weeknd fan", plays=99999, is_original=True),
        clip("v5", "s4", "Savage Love (Laxed - Siren Beat)", "Jawsh 685", plays=300, likes=50),
        clip("v6", "s5", "Lights Out", "Somebody Else", plays=7000),
        clip("v7", "s6", "Night Drive", "Ana Moon", plays=50),
    ])
    catalogue = pd.DataFrame({"track_id": [1, 2, 3, 4],
                              "title": ["Night Drive", "Blue Hour", "Paper Planes", "Slow Motion"],
                              "artist": ["Ana Moon", "Ben Cole", "Cy Twombly", "Dee Dee"]})
    fitted_models(spark, catalogue, root / "model", log=lambda *_: None)
    (root / "top200-2020-06-01.csv").write_text(NOTE + TOP)
    (root / "viral50-2020-06-01.csv").write_text(VIRAL)
    return root


def totals(entries, chart):
    rows = entries[entries["chart"] == chart]
    return [(r.position, r.sounds, r.videos, r.plays, r.likes, r.engagement, r.music_ids)
            for r in rows.itertuples()]


def test_overlap_finds_the_songs_tiktok_uses_with_their_engagement(matched, spark, tmp_path):
    from text_pipeline.jobs.charts import run, to_csv

    entries = run([matched / "top200-2020-06-01.csv", matched / "viral50-2020-06-01.csv"], matched,
                  csv_path=tmp_path / "overlap.csv", spark=spark, log=lambda *_: None)
    assert totals(entries, "top200-2020-06-01") == [
        (1, 2, 3, 1600, 100, 1834, ["s1", "s2"]),  # both sounds, the one with more videos first
        (2, 0, 0, 0, 0, 0, []),
        (3, 1, 1, 300, 50, 400, ["s4"]),
    ]
    # A song on two charts gets the same sounds on both; the original sound never matches.
    assert totals(entries, "viral50-2020-06-01") == [(1, 1, 1, 300, 50, 400, ["s4"]), (2, 0, 0, 0, 0, 0, [])]
    assert set(entries["kind"]) == {"top200", "viral50"}
    assert entries["streams"].isna().tolist() == [False, False, False, True, True]

    written = (tmp_path / "overlap.csv").read_text()
    assert written == to_csv(entries)
    back = pd.read_csv(tmp_path / "overlap.csv")
    assert list(back.columns)[:7] == ["chart", "series", "region", "period", "date", "kind", "position"]
    assert back["date"].tolist() == ["2020-06-01"] * 5 and back["series"].tolist() == ["top200"] * 3 + ["viral50"] * 2
    assert back["engagement"].tolist() == [1834, 0, 400, 400, 0]
    assert back["music_ids"].fillna("").tolist() == ["s1 s2", "", "s4", "s4", ""]


def test_a_stricter_threshold_drops_the_partial_artist_match(matched, spark):
    from text_pipeline.jobs.charts import run

    entries = run([matched / "top200-2020-06-01.csv"], matched, threshold=0.99, spark=spark,
                  log=lambda *_: None)
    assert entries["sounds"].tolist() == [2, 0, 0]  # Savage Love's artist differs: under 0.99


def test_loaded_overlap_is_shown_on_the_page_with_a_plot_and_a_csv(matched, spark, store_url, monkeypatch):
    from batch.store import db
    from text_pipeline.jobs.charts import run, to_csv
    from webapp import create_app

    top, viral = matched / "top200-2020-06-01.csv", matched / "viral50-2020-06-01.csv"
    with throwaway_database(store_url, "charts") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        quiet = {"spark": spark, "log": lambda *_: None}
        run([top, viral], matched, load=True, **quiet)
        entries = run([top], matched, load=True, **quiet)  # a rerun replaces the chart, no duplicates
        conn = db.connect(url)
        with conn.cursor() as cur:
            cur.execute("SELECT chart, count(*), sum(engagement) FROM chart_entries GROUP BY chart ORDER BY chart")
            assert cur.fetchall() == [("top200-2020-06-01", 3, 2234), ("viral50-2020-06-01", 2, 400)]
            cur.execute("SELECT music_ids FROM chart_entries WHERE chart = 'top200-2020-06-01' AND position = 1")
            assert cur.fetchone()[0] == ["s1", "s2"]
        conn.close()

        client = create_app({"DATABASE_URL": url, "TESTING": True}).test_client()
        listing = client.get("/charts").get_data(as_text=True)
        assert "top200-2020-06-01" in listing and "viral50-2020-06-01" in listing
        page = client.get("/charts/top200-2020-06-01").get_data(as_text=True)
        assert "2 of 3 songs" in page
        assert page.count('class="point"') == 2 and page.count('class="miss"') == 1
        assert "#2 Lose Somebody by Kygo: not used on TikTok" in page
        csv_response = client.get("/charts/top200-2020-06-01.csv")
        assert csv_response.mimetype == "text/csv"
        assert "attachment" in csv_response.headers["Content-Disposition"]
        assert csv_response.get_data(as_text=True) == to_csv(entries)
        api = client.get("/api/charts/viral50-2020-06-01").get_json()
        assert api["summary"]["used"] == 1 and api["entries"][0]["engagement"] == 400
        assert api["entries"][0]["streams"] is None
        assert client.get("/api/charts").get_json()["charts"][0]["used"] == 2
        for path in ("/charts/nope", "/charts/nope.csv", "/api/charts/nope"):
            missing = client.get(path)
            assert missing.status_code == 404
            assert "no chart 'nope' is loaded" in html.unescape(missing.get_data(as_text=True))


def test_the_plot_puts_more_engagement_higher_and_later_positions_right():
    from webapp.charts import plot, summary

    entries = pd.DataFrame({"chart": "c", "kind": "top200", "position": [1, 2, 3, 4],
                            "title": list("abcd"), "artist": list("wxyz"), "videos": [5, 1, 0, 2],
                            "engagement": [100_000, 1_000, 0, 10]})
    geometry = plot(entries)
    points = {p["position"]: p for p in geometry["points"]}
    assert set(points) == {1, 2, 4} and [m["position"] for m in geometry["misses"]] == [3]
    assert points[1]["y"] < points[2]["y"] < points[4]["y"]  # SVG y grows downwards
    assert points[1]["x"] < points[2]["x"] < points[4]["x"]
    assert geometry["top"] <= points[1]["y"] and points[4]["y"] <= geometry["bottom"]
    assert summary(entries)["spearman"] == -1.0  # higher on the chart, more engagement: perfectly


def test_charts_cli_errors_are_clear(matched, tmp_path, capsys):
    from text_pipeline.jobs.charts import main

    chart = str(matched / "viral50-2020-06-01.csv")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "viral50-2020-06-01.csv").write_text(VIRAL)
    (tmp_path / "nomodel" / "tiktok").mkdir(parents=True)
    cases = [
        ([chart, "--matched", str(tmp_path / "nowhere")], "nowhere/tiktok does not exist"),
        ([chart, "--matched", str(tmp_path / "nomodel")], "holds no TF-IDF models"),
        ([chart, str(tmp_path / "a" / "viral50-2020-06-01.csv"), "--matched", str(matched)],
         "another chart is also named 'viral50-2020-06-01'"),
        ([str(tmp_path / "missing.csv"), "--matched", str(matched)], "no such file"),
        ([chart, "--matched", str(matched), "--threshold", "1.5"], "must be in [0, 1]"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("charts: error:") and message in err, err
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    assert "--matched DIR" in capsys.readouterr().out


def test_a_chart_load_from_unchanged_files_is_skipped_without_spark(matched, spark, store_url, monkeypatch):
    """make demo's second run: the same charts and TikTok outputs are not matched again."""
    from text_pipeline.jobs.charts import main, run

    top = matched / "top200-2020-06-01.csv"
    with throwaway_database(store_url, "charts_rerun") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        assert len(run([top], matched, load=True, spark=spark, log=lambda *_: None)) == 3
        lines = []
        assert run([top], matched, load=True, spark=None, log=lines.append) is None
        assert lines == ["[charts] these charts were loaded from these very files and TikTok outputs: "
                         "nothing to do (--force matches them again)"]
        assert main([str(top), "--matched", str(matched), "--load"]) == 0  # the CLI says so and stops
        assert len(run([top], matched, load=True, spark=spark, force=True, log=lambda *_: None)) == 3
        assert run([top], matched, load=True, threshold=0.9, spark=spark, log=lambda *_: None) is not None
        top.write_text(top.read_text(encoding="utf-8"), encoding="utf-8")  # rewritten: a new version
        assert run([top], matched, load=True, threshold=0.9, spark=spark, log=lambda *_: None) is not None
