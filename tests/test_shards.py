"""Identification split by song across Spark tasks gives the answers of one whole index."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soxr

from batch.core.audio import SR
from batch.core.fingerprint import Index, Peaks, identify, landmarks
from batch.listening import shards
from tests.test_fingerprint import melody, peaks_of

SONG_SECONDS = 60.0


def song(seed: int) -> np.ndarray:
    """Two melodies at once: denser than one, so some hashes become stop words."""
    return (melody(seed, SONG_SECONDS) + melody(seed + 1000, SONG_SECONDS)) / 2


def cut(seed: int, start: float, speed: float = 1.0, seconds: float = 12.0) -> Peaks:
    y = song(seed)[int(start * SR): int((start + seconds * speed) * SR)]
    return peaks_of(soxr.resample(y, SR * speed, SR) if speed != 1.0 else y)


@pytest.fixture(scope="module")
def catalogue():
    """Track id -> reference peaks, as featurize stores them; tracks 21 and 22 are one
    recording twice (a tie, broken by track id); track 30 trills between two pitches, so its
    few hashes recur often enough to be stop words."""
    songs = {100 + seed: peaks_of(song(seed)).reference() for seed in range(1, 13)}
    songs[21] = songs[22] = peaks_of(song(50)).reference()
    trill = np.arange(0, 2000, 5)
    songs[30] = Peaks(trill.astype(np.int16), np.where(trill % 10, 9.1, 9.0).astype(np.float32))
    return dict(sorted(songs.items()))


@pytest.fixture(scope="module")
def sounds():
    return {
        "start": cut(3, 0.0),
        "late": cut(7, 41.5),  # outside the middle 30 s
        "faster": cut(5, 20.0, 1.25),
        "slower": cut(11, 33.0, 0.85),
        "twice": cut(50, 10.0),
        "outside": cut(77, 10.0),  # a song not in the catalogue
        "silence": Peaks(np.zeros(0, np.int16), np.zeros(0, np.float32), np.zeros(0, np.int8)),
    }


@pytest.fixture(scope="module")
def built(spark, catalogue, tmp_path_factory):
    out = tmp_path_factory.mktemp("index")
    total = sum(len(landmarks(p.reference())[0]) for p in catalogue.values())
    songs = spark.createDataFrame(
        [(track, p.t.tolist(), p.lf.tolist()) for track, p in catalogue.items()],
        "track_id long, peak_t array<smallint>, peak_f array<float>")
    about = shards.build(songs, out, shard_landmarks=total // 4)
    return out, about


def sound_frame(spark, sounds):
    return spark.createDataFrame(
        [(name, p.t.tolist(), p.lf.tolist(), p.rank.tolist()) for name, p in sounds.items()],
        "music_id string, peak_t array<smallint>, peak_f array<float>, peak_rank array<tinyint>")


def test_the_index_is_split_by_song_and_leaves_the_stop_words_out(built, catalogue):
    out, about = built
    whole = Index.of_peaks(catalogue.items())
    assert about["shards"] >= 3
    assert about["landmarks"] == len(whole)
    assert about["stop_word_landmarks"] > 0
    assert json.loads((out / "index.json").read_text()) == about
    seen = {}
    for k in range(about["shards"]):
        part = shards.load_shard(out, k)
        for track in part.ids.tolist():
            assert track not in seen, f"track {track} in shards {seen[track]} and {k}"
            seen[track] = k
    assert sorted(seen) == sorted(whole.ids[np.unique(whole.items)].tolist())
    assert 30 not in seen  # every landmark of the trill is a stop word


def test_sharded_answers_equal_one_whole_index(spark, built, catalogue, sounds):
    out, _ = built
    whole = Index.of_peaks(catalogue.items())
    expected = {}
    for name, peaks in sounds.items():
        found = identify(whole, peaks)
        if found:
            expected[name] = (found[0].item, found[0].hashes, found[0].speed, found[0].offset)
    got = {r.music_id: (r.track_id, r.votes, r.speed, r.offset)
           for r in shards.identify_all(spark, sound_frame(spark, sounds), out, sounds_per_task=3).collect()}
    assert got == expected
    # and the answers are the right ones, with where in the song each sound starts
    assert {k: v[0] for k, v in got.items()} == {"start": 103, "late": 107, "faster": 105, "slower": 111,
                                                 "twice": 21}
    assert abs(got["late"][3] - 41.5) < 0.2 and abs(got["slower"][3] - 33.0) < 0.3
    assert abs(got["faster"][2] - 1.25) < 0.01


def test_an_empty_index_identifies_nothing(spark, sounds, tmp_path):
    songs = spark.createDataFrame([], "track_id long, peak_t array<smallint>, peak_f array<float>")
    about = shards.build(songs, tmp_path)
    assert about == {"shards": 1, "landmarks": 0, "stop_word_landmarks": 0}
    assert shards.identify_all(spark, sound_frame(spark, sounds), tmp_path).count() == 0
