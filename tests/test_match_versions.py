"""The title matcher keeps versions apart and survives what TikTok does to titles and artists:
a table of sounds that must match their song, and of other versions that must not."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from batch.demo.corpus import write_tracks_csv
from tests.test_match import SHAPES
from text_pipeline.core.normalize import clean_artist, is_cut, version_of
from text_pipeline.jobs import match

CATALOGUE = [  # track_id, title, artist
    (1, "Night Drive (UncleBibby Remix)", "Ana Moon"),
    (2, "Rappers (Part 2)", "Kid Lune"),
    (3, "FRIENDS OF MINE [OFFICIAL VIDEO]", "Greg Cratwright"),
    (4, "Flight (feat. Ljudske Godbe)", "Richard Jonas"),
    (5, "Politeness", "Crank Sturgeon"),
    (6, "The Test", "Mara Lind"),
    (7, "Glass Rivers (Live)", "The Night Drivers"),
    (8, "Glass Rivers", "The Night Drivers"),
    (9, "Electric Dreams (Acoustic)", "Ben Cole"),
    (10, "Summer Tapes Vol. 2", "Dee Dee"),
    (11, "A Song With A Rather Long Title Indeed", "Cy Twombly"),
]

MUST_MATCH = [  # music_id, title, artist, track
    ("m1", "Night Drive (UncleBibby Remix) [Sped Up]", "Ana Moon", 1),
    ("m2", "Rappers (Part 2)", "Kid Lune", 2),
    ("m3", "FRIENDS OF MINE [OFFIC...", "Greg Cratwright Official", 3),  # cut, channel suffix
    ("m4", "Flight (feat. Ljudske ...", "Richard Jonas Music", 4),
    ("m5", "Poilteness", "Crank Sturgeon - Topic", 5),  # swapped letters, "- Topic"
    ("m6", "The eTst", "Mara Lind", 6),
    ("m7", "Glass Rivers (Live) - slowed", "The Night Drivers", 7),  # the live version, not the studio one
    ("m8", "glass rivers", "TheNightDriversVEVO", 8),
    ("m9", "Electric Dreams (Acoustic)", "Ben Cloe", 9),  # a typo in the artist
    ("m10", "Summer Tapes Vol 2", "Dee Dee", 10),
    ("m11", "A Song With A Rather Long Ti…", "Cy Twombly", 11),  # cut in the middle of a word
    ("m12", "Night Drive (UncleBiby Remix)", "Ana Moon", 1),  # a typo in the remixer's name
    ("m13", "Glass Rivers Live", "The Night Drivers", 7),  # the brackets dropped
    ("m14", "electric dreams acoustc", "Ben Cole", 9),  # and a typo in the version
]

MUST_NOT = [  # music_id, title, artist: another version of a catalogue song, or another song
    ("n1", "Night Drive (tozo Remix)", "Ana Moon"),
    ("n2", "Night Drive", "Ana Moon"),  # the original: the catalogue only has a remix
    ("n3", "Rappers (Part 7)", "Kid Lune"),
    ("n4", "Electric Dreams (Instrumental)", "Ben Cole"),
    ("n5", "Electric Dreams", "Ben Cole"),
    ("n6", "Summer Tapes Vol. 3", "Dee Dee"),
    ("n7", "Glass Rivers (Acoustic)", "The Night Drivers"),
    ("n8", "Rain", "Mara Lind"),
    ("n9", "Glass Rivers Acoustic", "The Night Drivers"),  # a version the catalogue lacks, unbracketed
]


def record(i: int, music_id: str, title: str, artist: str) -> str:
    r = copy.deepcopy(SHAPES["itemStruct_shape_2020_plus"])
    r["id"] = f"v{i}"
    r["music"].update(id=music_id, title=title, authorName=artist, original=False)
    return json.dumps(r, ensure_ascii=False)


@pytest.fixture(scope="module")
def found(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("versions")
    write_tracks_csv(root / "tracks.csv", [
        {"track_id": t, "title": title, "artist": artist, "album": "", "genre_top": "Pop",
         "genres_all": "[10]", "listens": 0, "duration": 30} for t, title, artist in CATALOGUE])
    sounds = [s[:3] for s in MUST_MATCH] + MUST_NOT
    (root / "dump.ndjson").write_text("\n".join(record(i, *s) for i, s in enumerate(sounds)) + "\n")
    match.run(str(root / "tracks.csv"), str(root / "dump.ndjson"), root / "out", spark=spark,
              log=lambda *_: None)
    matches = pd.read_parquet(root / "out" / "matches")
    return dict(zip(matches["tiktok_music_id"], matches["fma_track_id"]))


@pytest.mark.parametrize("music_id, title, artist, track", MUST_MATCH, ids=[s[1] for s in MUST_MATCH])
def test_cut_suffixed_and_typod_sounds_match_their_song(found, music_id, title, artist, track):
    assert found.get(music_id) == track


@pytest.mark.parametrize("music_id, title, artist", MUST_NOT, ids=[s[1] for s in MUST_NOT])
def test_other_versions_and_songs_do_not_match(found, music_id, title, artist):
    assert music_id not in found, f"{title!r} matched track {found.get(music_id)}"


@pytest.mark.parametrize("title, version", [
    ("Night Drive (UncleBibby Remix)", "unclebibby remix"),
    ("Roses - Imanbek Remix", "imanbek remix"),
    ("Rappers (Part 2)", "part 2"), ("Rappers Pt. II", "part 2"), ("Summer Tapes Vol. 2", "vol 2"),
    ("Glass Rivers (Live)", "live"), ("Song (Acoustic Version)", "acoustic"),
    ("Song (Instrumental)", "instrumental"),
    ("Song (Sped Up)", ""), ("Song (TikTok Remix)", ""), ("Song (Original Mix)", ""),
    ("Song - Radio Edit", ""), ("Live Forever", ""), ("Part of Me", ""), ("Remix Culture", ""),
])
def test_version_of(title, version):
    assert version_of(title) == version


@pytest.mark.parametrize("artist, cleaned", [
    ("Greg Cratwright Official", "greg cratwright"), ("Richard Jonas Music", "richard jonas"),
    ("Crank Sturgeon - Topic", "crank sturgeon"), ("TaylorSwiftVEVO", "taylorswift"),
    ("The Music", "the music"), ("Music", "music"), ("Skrillex Official", "skrillex"),
])
def test_channel_suffixes_leave_the_artist(artist, cleaned):
    assert clean_artist(artist) == cleaned


def test_only_an_ellipsis_at_the_end_is_a_cut():
    assert is_cut("FRIENDS OF MINE [OFFIC...") and is_cut("Flight (feat. Ljudske …")
    assert not is_cut("Wait... What") and not is_cut("Song")
