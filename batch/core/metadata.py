"""FMA metadata: ``genres.csv`` and ``tracks.csv`` into one clean row per track.

``tracks.csv`` has three header rows: the column group (album, artist, set, track),
the field, and a row naming the index (``track_id``). Columns are selected by
(group, field), never by position, so reordered or extended exports still read.

When a track's ``genre_top`` is blank (FMA leaves it blank when a track spans
several top-level genres), it is derived from ``genres_all``: each genre is mapped
to its top-level genre through ``genres.csv``, and the top-level genre that most of
them map to wins; a tie goes to the top-level genre with more tracks in the archive.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pandas as pd

TRACK_COLUMNS = {
    "title": ("track", "title"),
    "artist": ("artist", "name"),
    "album": ("album", "title"),
    "genre_top": ("track", "genre_top"),
    "genres_all": ("track", "genres_all"),
    "listens": ("track", "listens"),
    "duration": ("track", "duration"),
}
"""Output column -> (group, field) in tracks.csv."""

GENRE_COLUMNS = ("genre_id", "#tracks", "parent", "title", "top_level")

DATA = Path(__file__).resolve().parent / "data"
FMA_GENRES = DATA / "fma_genres.csv"
"""FMA's own ``genres.csv`` (163 genres, 16 top-level): the default wherever none is given."""
FMA_TRACKS_HEADER = DATA / "fma_tracks_header.csv"
"""The three header rows of FMA's ``tracks.csv``."""


class MetadataError(ValueError):
    """A metadata file is missing, malformed, or lacks a required column."""


def genres_for(tracks: str | Path, genres: str | Path | None = None, *, strict: bool = False) -> str:
    """The ``genres.csv`` to read with ``tracks``: ``genres`` when given, else the one beside
    ``tracks``, else FMA's own (:data:`FMA_GENRES`), or a :class:`MetadataError` if ``strict``."""
    if genres is not None:
        return str(genres)
    beside = Path(str(tracks)).with_name("genres.csv")
    if beside.exists():
        return str(beside)
    if strict:
        raise MetadataError(f"no genres.csv beside {tracks}; pass --genres PATH")
    return str(FMA_GENRES)


def read_genres(path: str | Path) -> pd.DataFrame:
    """Read FMA's ``genres.csv``: genre_id, n_tracks, parent, title, top_level, is_top_level."""
    df = _read_csv(path)
    missing = [c for c in GENRE_COLUMNS if c not in df.columns]
    if missing:
        raise MetadataError(f"{path}: genres.csv lacks columns {missing}")
    try:
        genres = pd.DataFrame(
            {
                "genre_id": df["genre_id"].astype("int64"),
                "n_tracks": df["#tracks"].astype("int64"),
                "parent": df["parent"].astype("int64"),
                "title": df["title"].astype(str),
                "top_level": df["top_level"].astype("int64"),
            }
        )
    except (ValueError, TypeError) as e:
        raise MetadataError(f"{path}: genres.csv has a non-numeric id ({e})") from None
    genres["is_top_level"] = genres["parent"] == 0
    return genres


def read_tracks(path: str | Path, genres: pd.DataFrame) -> pd.DataFrame:
    """Read FMA's ``tracks.csv`` into one row per track.

    Returns
    -------
    pd.DataFrame
        track_id (int64), title, artist, album, genre_top (str or None),
        genres_all (list of int), listens (int64), duration (int64, seconds).
    """
    try:
        raw = pd.read_csv(path, index_col=0, header=[0, 1], low_memory=False)
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise MetadataError(f"{path}: not a readable CSV ({e})") from None
    missing = [pair for pair in TRACK_COLUMNS.values() if pair not in raw.columns]
    if missing:
        raise MetadataError(
            f"{path}: tracks.csv lacks columns {missing}; expected FMA's three-row header"
        )
    try:
        track_ids = pd.to_numeric(raw.index, errors="raise").astype("int64")
    except (ValueError, TypeError):
        raise MetadataError(f"{path}: track ids must be integers") from None

    tracks = pd.DataFrame({name: raw[pair].to_numpy() for name, pair in TRACK_COLUMNS.items()})
    tracks.insert(0, "track_id", track_ids)
    tracks = tracks.drop_duplicates("track_id", keep="first").reset_index(drop=True)
    for column in ("title", "artist", "album", "genre_top"):
        tracks[column] = tracks[column].map(_text)
    tracks["genres_all"] = tracks["genres_all"].map(_genre_list)
    for column in ("listens", "duration"):
        tracks[column] = pd.to_numeric(tracks[column], errors="coerce").fillna(0).astype("int64")

    derive = _top_level_deriver(genres)
    blank = tracks["genre_top"].isna()
    tracks.loc[blank, "genre_top"] = tracks.loc[blank, "genres_all"].map(derive)
    return tracks


def _read_csv(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise MetadataError(f"{path}: not a readable CSV ({e})") from None


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _genre_list(value) -> list[int]:
    """``"[21, 38]"`` -> ``[21, 38]``; blanks and junk give ``[]``."""
    if not isinstance(value, str) or not value.strip():
        return []
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return []
    if isinstance(parsed, int):
        parsed = [parsed]
    return [int(g) for g in parsed if isinstance(g, int)]


def _top_level_deriver(genres: pd.DataFrame):
    top_of = dict(zip(genres["genre_id"], genres["top_level"]))
    title_of = dict(zip(genres["genre_id"], genres["title"]))
    size_of = dict(zip(genres["genre_id"], genres["n_tracks"]))

    def derive(genre_ids: list[int]) -> str | None:
        votes = Counter(top_of[g] for g in genre_ids if g in top_of)
        if not votes:
            return None
        best = max(votes, key=lambda top: (votes[top], size_of.get(top, 0), -top))
        return title_of.get(best)

    return derive
