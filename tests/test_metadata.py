"""FMA metadata: tracks.csv under its real three-row header, and genres.csv."""

from __future__ import annotations

import csv

import pytest

from batch.core.metadata import (
    FMA_GENRES,
    FMA_TRACKS_HEADER,
    MetadataError,
    read_genres,
    read_tracks,
)
from batch.demo.corpus import write_tracks_csv


@pytest.fixture(scope="module")
def genres():
    return read_genres(FMA_GENRES)


def row(track_id, title="T", artist="A", album="", genre_top="", genres_all="[]", listens=0,
        duration=30):
    return dict(track_id=track_id, title=title, artist=artist, album=album, genre_top=genre_top,
                genres_all=genres_all, listens=listens, duration=duration)


def test_genres_are_all_163_with_16_top_level(genres):
    assert len(genres) == 163
    assert genres["is_top_level"].sum() == 16
    assert set(genres.loc[genres.is_top_level, "title"]) >= {"Rock", "Hip-Hop", "Old-Time / Historic"}


def test_reads_one_clean_row_per_track(tmp_path, genres):
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, [
        row(2, "Food", "AWOL", "AWOL - A Way Of Life", "Hip-Hop", "[21]", 1293, 168),
        row(5, 'Comma, "quote"\nand newline', "Ünïcödé 合唱団", "", "Rock", "[12, 25]", 7, 30),
    ])
    tracks = read_tracks(path, genres)
    assert list(tracks.columns) == [
        "track_id", "title", "artist", "album", "genre_top", "genres_all", "listens", "duration"]
    assert tracks["track_id"].tolist() == [2, 5]
    assert tracks.loc[0, ["title", "artist", "genre_top", "listens", "duration"]].tolist() == [
        "Food", "AWOL", "Hip-Hop", 1293, 168]
    assert tracks.loc[1, "title"] == 'Comma, "quote"\nand newline'
    assert tracks.loc[1, "artist"] == "Ünïcödé 合唱団"
    assert tracks.loc[1, "album"] is None
    assert tracks.loc[1, "genres_all"] == [12, 25]
    assert str(tracks["track_id"].dtype) == "int64"


def test_blank_genre_top_is_derived_from_genres_all(tmp_path, genres):
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, [
        row(10, genres_all="[286]"),  # Trip-Hop -> Electronic
        row(11, genres_all="[12, 15, 286]"),  # Rock 1 vote, Electronic 2 votes
        row(12, genres_all="[12, 15]"),  # a tie: Electronic has more tracks than Rock
        row(13, genres_all="[]"),
        row(14, genres_all="[999999]"),  # unknown genre
    ])
    tracks = read_tracks(path, genres).set_index("track_id")
    assert tracks.loc[10, "genre_top"] == "Electronic"
    assert tracks.loc[11, "genre_top"] == "Electronic"
    assert tracks.loc[12, "genre_top"] == "Electronic"
    assert tracks.loc[13, "genre_top"] is None
    assert tracks.loc[14, "genre_top"] is None


def test_columns_are_found_by_name_not_position(tmp_path, genres):
    with open(FMA_TRACKS_HEADER, newline="") as f:
        header = list(csv.reader(f))
    order = [0] + list(range(len(header[0]) - 1, 0, -1))  # keep the index first, reverse the rest
    columns = [(header[0][i], header[1][i]) for i in order]
    values = {("track", "title"): "Reversed", ("artist", "name"): "Someone",
              ("track", "genre_top"): "Jazz", ("track", "listens"): "3"}
    path = tmp_path / "tracks.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        for r in header:
            w.writerow([r[i] for i in order])
        w.writerow(["42"] + [values.get(c, "") for c in columns[1:]])
    tracks = read_tracks(path, genres)
    assert tracks.loc[0, ["track_id", "title", "artist", "genre_top", "listens"]].tolist() == [
        42, "Reversed", "Someone", "Jazz", 3]


def test_missing_column_is_a_clear_error(tmp_path, genres):
    path = tmp_path / "tracks.csv"
    path.write_text(",track,track\n,title,listens\ntrack_id,,\n2,Food,5\n")
    with pytest.raises(MetadataError, match=r"lacks columns .*'artist', 'name'"):
        read_tracks(path, genres)


def test_missing_and_empty_files_are_clear_errors(tmp_path, genres):
    with pytest.raises(MetadataError, match="no such file"):
        read_tracks(tmp_path / "nope.csv", genres)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(MetadataError, match="not a readable CSV"):
        read_tracks(empty, genres)
    with pytest.raises(MetadataError, match="lacks columns"):
        bad = tmp_path / "genres.csv"
        bad.write_text("id,name\n1,Rock\n")
        read_genres(bad)


def test_non_integer_track_ids_are_refused(tmp_path, genres):
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, [row("abc")])
    with pytest.raises(MetadataError, match="track ids must be integers"):
        read_tracks(path, genres)
