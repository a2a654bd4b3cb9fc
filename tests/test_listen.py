"""Listening to TikTok sounds end to end: fetch from a loopback CDN, analyse, identify, combine
with the title matches, load; reruns fetch nothing again and duplicate nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from batch.demo.corpus import write_corpus
from batch.jobs import featurize
from batch.listening.listen import ListenError, combine
from tests.sound_server import serving
from text_pipeline.jobs import match


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("listen")
    write_corpus(root / "corpus", n_tracks=32, n_videos=600, seed=3, full=1)  # track 2: a whole song
    return root


@pytest.fixture(scope="module")
def features(spark, corpus):
    c = corpus / "corpus"
    featurize.run(str(c / "fma_audio"), corpus / "features", tracks=str(c / "fma_metadata" / "tracks.csv"),
                  spark=spark, log=lambda m: None)
    return corpus / "features"


def cdn_dump(corpus, server, dest):
    """The corpus's dump with every playUrl pointed at the loopback server: most sounds are
    served, a few answer 500 once, one serves a web page; sounds without audio get 404."""
    src = corpus / "corpus" / "tiktok" / "dump-0001.ndjson"
    audio = {p.stem for p in (corpus / "corpus" / "sound_audio").glob("*.mp3")}
    odd = sorted(audio)[:3]
    dest.mkdir(parents=True, exist_ok=True)
    with open(src) as f, open(dest / "dump.ndjson", "w") as out:
        for line in f:
            record = json.loads(line)
            music = record.get("musicInfos") or record["music"]
            music_id = music.get("musicId") or music.get("id")
            if music_id == odd[0]:
                url = server.url("html")
            elif music_id in odd[1:]:
                url = server.url(f"flaky/{music_id}.mp3")
            elif music_id in audio:
                url = server.url(f"sounds/{music_id}.mp3")
            else:
                url = server.url(f"status/404?{music_id}")
            music["playUrl"] = [url] if "musicInfos" in record else url
            out.write(json.dumps(record) + "\n")
    return dest / "dump.ndjson", audio, odd


def test_sounds_are_fetched_identified_and_reruns_change_nothing(spark, corpus, features, tmp_path):
    c = corpus / "corpus"
    truth = pd.read_csv(c / "audio-truth.csv", dtype={"music_id": str, "track_id": "Int64"})
    with serving(c / "sound_audio") as server:
        dump, audio, odd = cdn_dump(corpus, server, tmp_path / "dump")
        out = tmp_path / "tiktok"
        args = dict(sound_audio="fetch", features=features, allow_private_urls=True, spark=spark,
                    log=lambda m: None)
        first = match.run(str(c / "fma_metadata" / "tracks.csv"), str(dump), out, **args)
        heard = first.listened
        assert heard.fetched == len(audio) - 1  # all but the web page
        assert heard.failures == {"not audio": 1, "expired": first.sounds - len(audio)}
        fetches = pd.read_parquet(out / "fetches")
        assert fetches.loc[fetches["music_id"].isin(odd[1:]), "attempts"].tolist() == [2, 2]
        assert fetches["music_id"].is_unique

        found = pd.read_parquet(out / "audio_matches").merge(
            truth, left_on="tiktok_music_id", right_on="music_id", how="left")
        assert found["track_id"].notna().all()  # nothing found in music outside the catalogue
        assert (found["fma_track_id"] == found["track_id"]).all()  # and never the wrong song
        hidden = truth[truth["track_id"].notna() & truth["music_id"].isin(audio - {odd[0]})]
        clear = hidden[hidden["edit"] != "voice_over"]  # a voice at the music's loudness hides most peaks
        assert len(clear) >= 8 and clear["music_id"].isin(found["music_id"]).mean() >= 0.85
        sped = found[found["edit"] == "sped_up"]
        assert len(sped) and (sped["audio_speed"].between(1.23, 1.27)).all()
        # the whole song's sounds, cut past where a 30 s clip ends, found where they start
        whole = found[(found["fma_track_id"] == 2) & (found["start"] > 30)]
        assert len(whole) >= 2 and (whole["audio_offset"] - whole["start"]).abs().max() < 0.5

        matches = pd.read_parquet(out / "matches")
        assert matches["tiktok_music_id"].is_unique
        counts = matches["method"].value_counts()
        assert counts.get("audio", 0) > 0 and counts.get("title+audio", 0) > 0 and counts.get("title", 0) > 0
        audio_only = matches[matches["method"] == "audio"]
        assert audio_only["title_score"].isna().all() and audio_only["audio_hashes"].notna().all()

        hits = dict(server.hits)
        before = {n: sorted(p.name for p in (out / n).iterdir()) for n in ("matches", "sounds", "fetches")}
        again = match.run(str(c / "fma_metadata" / "tracks.csv"), str(dump), out, **args)
        assert dict(server.hits) == hits  # nothing fetched twice
        assert again.listened.fetched == 0 and again.listened.analysed == 0
        assert {n: sorted(p.name for p in (out / n).iterdir()) for n in before} == before
        pd.testing.assert_frame_equal(pd.read_parquet(out / "matches"), matches)

    # The same audio read from a folder gives the same identifications.
    listed = tmp_path / "listed"
    match.run(str(c / "fma_metadata" / "tracks.csv"), str(dump), listed, sound_audio=str(c / "sound_audio"),
              features=features, spark=spark, log=lambda m: None)
    from_folder = pd.read_parquet(listed / "audio_matches")
    fetched = pd.read_parquet(out / "audio_matches")
    assert set(fetched["tiktok_music_id"]) <= set(from_folder["tiktok_music_id"])
    assert len(from_folder) - len(fetched) <= 1  # the sound that served a web page


def test_the_store_gets_sound_vectors_fingerprints_and_how_each_match_was_found(spark, corpus, features,
                                                                                store, tmp_path):
    from batch.store.load import load_catalogue, load_tiktok

    c = corpus / "corpus"
    out = tmp_path / "tiktok"
    match.run(str(c / "fma_metadata" / "tracks.csv"), str(c / "tiktok"), out,
              sound_audio=str(c / "sound_audio"), features=features, spark=spark, log=lambda m: None)
    tiktok = load_tiktok(store, out / "tiktok", matches=out / "matches", sounds=out / "sounds")
    sounds = pd.read_parquet(out / "sounds")
    assert tiktok.rows["sound_vectors"] == sounds["error"].isna().sum() > 0
    assert tiktok.rows["sound_fingerprints"] > 100 * tiktok.rows["sound_vectors"]
    with store.cursor() as cur:
        cur.execute("SELECT count(*) FROM sound_vectors WHERE embedding IS NOT NULL")
        assert cur.fetchone()[0] == 0  # no catalogue yet: no scaler to embed with
        load_catalogue(store, features)
        cur.execute("SELECT count(*) FROM sound_vectors WHERE embedding IS NOT NULL")
        assert cur.fetchone()[0] == tiktok.rows["sound_vectors"]
        cur.execute("SELECT method, count(*) FROM matches GROUP BY method")
        methods = dict(cur.fetchall())
        cur.execute("SELECT count(*) FROM track_fingerprints")
        assert cur.fetchone()[0] > 0
    assert set(methods) == {"title", "audio", "title+audio"}


def test_title_and_audio_are_combined_and_audio_wins_a_disagreement():
    title = pd.DataFrame({"fma_track_id": [1, 2, 3], "tiktok_music_id": ["a", "b", "c"],
                          "title_score": [0.9, 0.8, 0.95], "artist_score": [1.0, 0.5, 1.0],
                          "total_score": [0.94, 0.68, 0.97]})
    audio = pd.DataFrame({"tiktok_music_id": ["b", "c", "d"], "fma_track_id": [2, 7, 9],
                          "audio_hashes": [40, 30, 25], "audio_offset": [1.5, 3.0, 0.0],
                          "audio_speed": [1.0, 1.25, 0.85]})
    m = combine(title, audio).set_index("tiktok_music_id")
    assert m["method"].to_dict() == {"a": "title", "b": "title+audio", "c": "audio", "d": "audio"}
    assert m["fma_track_id"].to_dict() == {"a": 1, "b": 2, "c": 7, "d": 9}
    assert pd.isna(m.loc["c", "title_score"]) and m.loc["b", "title_score"] == 0.8
    assert m.loc["c", "audio_speed"] == 1.25
    assert combine(title, None)["method"].tolist() == ["title"] * 3


def test_bad_sound_audio_arguments_are_clear_errors(spark, corpus, features, tmp_path):
    c = corpus / "corpus"
    with pytest.raises(match.MatchError, match="--features"):
        match.run(str(c / "fma_metadata" / "tracks.csv"), str(c / "tiktok"), tmp_path / "o",
                  sound_audio="fetch", spark=spark, log=lambda m: None)
    with pytest.raises(ListenError, match="does not exist"):
        match.run(str(c / "fma_metadata" / "tracks.csv"), str(c / "tiktok"), tmp_path / "o",
                  sound_audio=str(tmp_path / "missing"), features=features, spark=spark, log=lambda m: None)
    with pytest.raises(ListenError, match="featurize"):
        match.run(str(c / "fma_metadata" / "tracks.csv"), str(c / "tiktok"), tmp_path / "o2",
                  sound_audio=str(c / "sound_audio"), features=tmp_path / "nofeatures", spark=spark,
                  log=lambda m: None)


def test_fetched_audio_can_be_kept_under_an_s3_prefix(s3_endpoint):
    from batch.listening.listen import _Writer
    from batch.spark.sources import Reader, s3_client

    s3_client(s3_endpoint).create_bucket(Bucket="sounds")
    path = _Writer("s3://sounds/audio/", s3_endpoint).write("123.mp3", b"ID3 audio")
    assert path == "s3://sounds/audio/123.mp3"
    assert Reader(s3_endpoint).read(path) == b"ID3 audio"


def test_a_local_store_writes_atomically(tmp_path):
    from batch.listening.listen import _Writer

    path = _Writer(str(tmp_path / "a"), None).write("9.mp3", b"ID3 x")
    assert open(path, "rb").read() == b"ID3 x" and [p.name for p in (tmp_path / "a").iterdir()] == ["9.mp3"]


def test_a_rerun_with_nothing_new_starts_no_spark(spark, corpus, features, tmp_path):
    c = corpus / "corpus"
    out = tmp_path / "tiktok"
    args = dict(sound_audio=str(c / "sound_audio"), features=features, log=lambda m: None)
    match.run(str(c / "fma_metadata" / "tracks.csv"), str(c / "tiktok"), out, spark=spark, **args)
    again = match.run(str(c / "fma_metadata" / "tracks.csv"), str(c / "tiktok"), out, spark=NoSpark(), **args)
    assert not again.written and again.listened.analysed == 0


class NoSpark:
    """Stands where a SparkSession would: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"Spark was used ({name}) although nothing was new")


def test_a_dump_whose_links_have_all_expired_fails_nothing(spark, corpus, features, store, tmp_path):
    """Every link in the 2019 dump has expired: each is a counted failure, never an error."""
    c = corpus / "corpus"
    with serving(tmp_path) as server:  # serves no file: every sound answers 404
        dest = tmp_path / "dump"
        dest.mkdir()
        with open(c / "tiktok" / "dump-0001.ndjson") as f, open(dest / "dump.ndjson", "w") as out:
            for line in f:
                record = json.loads(line)
                music = record.get("musicInfos") or record["music"]
                url = server.url(f"sounds/{music.get('musicId') or music.get('id')}.mp3")
                music["playUrl"] = [url] if "musicInfos" in record else url
                out.write(json.dumps(record) + "\n")
        summary = match.run(str(c / "fma_metadata" / "tracks.csv"), str(dest), tmp_path / "tiktok",
                            sound_audio="fetch", features=features, allow_private_urls=True, spark=spark,
                            log=lambda m: None)
    assert summary.listened.fetched == 0 and summary.listened.failures == {"expired": summary.sounds}
    assert summary.listened.with_audio == 0 and summary.listened.identified == 0
    matches = pd.read_parquet(tmp_path / "tiktok" / "matches")
    assert len(matches) and set(matches["method"]) == {"title"}
    from batch.store.load import load_tiktok

    out = tmp_path / "tiktok"
    loaded = load_tiktok(store, out / "tiktok", matches=out / "matches", sounds=out / "sounds")
    assert loaded.rows["sound_vectors"] == loaded.rows["sound_fingerprints"] == 0
    assert loaded.rows["matches"] == len(matches)
