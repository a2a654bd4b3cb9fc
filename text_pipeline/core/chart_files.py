"""Spotify chart exports, read as users download them.

Two formats, told apart by their header:

charts.spotify.com (since 2022, what a user downloads today)
    UTF-8 with a byte-order mark; ``rank,uri,artist_names,track_name,source,peak_rank,
    previous_rank,days_on_chart,streams`` for daily charts, ``weeks_on_chart`` for weekly
    ones; viral charts may lack ``streams``. ``artist_names`` joins the artists with ", ".
spotifycharts.com (until 2022)
    ``Position,"Track Name",Artist,Streams,URL`` (top 200) or ``Position,"Track Name",Artist,URL``
    (viral 50), under an optional note line.

The file name names the chart: ``regional-global-daily-2023-05-01.csv`` is the global daily
top chart of 1 May 2023 (``viral-…`` a viral chart, ``…-weekly-…`` a weekly one; the old
site's ``…-2020-06-05--2020-06-12`` weeks are dated by their last day). Every file of one
chart, region and period is one *series*, and its dated files are its history. A name that
does not follow the pattern is a series of its own, dated when it ends in ``YYYY-MM-DD``.

:func:`read_chart` returns one row per entry, :data:`READ_COLUMNS`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pandas as pd

READ_COLUMNS = ("chart", "series", "region", "period", "date", "kind", "position", "title",
                "artist", "artists", "streams", "url")
"""``chart`` is the file's name without .csv (one chart on one date); ``artist`` the artists
as the chart shows them, ``artists`` the list; ``date`` is None for an undated file."""
OLD_REQUIRED = ("Position", "Track Name", "Artist", "URL")
NEW_REQUIRED = ("rank", "uri", "artist_names", "track_name")
SPOTIFY_NAME = re.compile(r"^(?P<kind>regional|viral)-(?P<region>[a-z]{2}|global)-(?P<period>daily|weekly)-"
                          r"(?:(?P<start>\d{4}-\d{2}-\d{2})--)?(?P<date>\d{4}-\d{2}-\d{2}|latest)$")
DATED_NAME = re.compile(r"^(?P<series>.+?)[-_](?P<date>\d{4}-\d{2}-\d{2})$")


class ChartError(ValueError):
    """A file that is not a Spotify chart export, or has a broken row; the message says where."""


def describe_name(stem: str) -> dict:
    """Series, region, period, date and kind (None when the name does not say) of a chart file name."""
    m = SPOTIFY_NAME.match(stem)
    if m:
        day = None if m["date"] == "latest" else m["date"]
        return {"series": f"{m['kind']}-{m['region']}-{m['period']}", "region": m["region"],
                "period": m["period"], "date": _date(day), "kind": "viral50" if m["kind"] == "viral" else "top200"}
    m = DATED_NAME.match(stem)
    if m and _date(m["date"]) is not None:
        return {"series": m["series"], "region": None, "period": None, "date": _date(m["date"]), "kind": None}
    return {"series": stem, "region": None, "period": None, "date": None, "kind": None}


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def read_chart(path: str | Path) -> pd.DataFrame:
    """Read one Spotify chart export, in either format (see the module's notes)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ChartError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ChartError(f"{path}: not a text file (expected a Spotify chart CSV)") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise ChartError(f"{path}: not CSV ({e})") from None
    start = next((i for i, row in enumerate(rows[:2])
                  if row[:1] == ["Position"] or [c.strip() for c in row[:2]] == ["rank", "uri"]), None)
    if start is None:
        first = ",".join(rows[0]) if rows else "an empty file"
        raise ChartError(f"{path}: not a Spotify chart export: expected the header of charts.spotify.com "
                         f"(rank,uri,artist_names,track_name,...) or of spotifycharts.com "
                         f"(Position,\"Track Name\",Artist[,Streams],URL), found {first[:80]!r}")
    header = [h.strip() for h in rows[start]]
    new = header[0] == "rank"
    missing = [c for c in (NEW_REQUIRED if new else OLD_REQUIRED) if c not in header]
    if missing:
        raise ChartError(f"{path}:{start + 1}: the header lacks {', '.join(missing)}")
    col = {name: header.index(name) for name in header}
    about = describe_name(path.stem)
    streams_col = "streams" if new else "Streams"
    # A viral chart by its name; otherwise a top chart has streams and a viral one has none.
    kind = "viral50" if about["kind"] == "viral50" or streams_col not in col else "top200"
    entries = []
    for number, row in enumerate(rows[start + 1:], start=start + 2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line, as some exports end with
        if len(row) != len(header):
            raise ChartError(f"{path}:{number}: {len(row)} fields, the header has {len(header)}")
        entries.append(_entry(row, col, new, streams_col, path, number))
    if not entries:
        raise ChartError(f"{path}: the chart has a header but no entries")
    chart = pd.DataFrame(entries, columns=["position", "title", "artist", "artists", "streams", "url"]).assign(
        chart=path.stem, series=about["series"], region=about["region"], period=about["period"],
        date=about["date"], kind=kind)
    chart = chart[list(READ_COLUMNS)].astype({"position": "int64", "streams": "Int64"})
    if chart["position"].duplicated().any():
        raise ChartError(f"{path}: position {chart['position'][chart['position'].duplicated()].iloc[0]} "
                         "appears twice")
    return chart


def _entry(row, col, new: bool, streams_col: str, path: Path, number: int) -> tuple:
    position = _whole(row[col["rank" if new else "Position"]], path, number, "rank" if new else "Position")
    title = row[col["track_name" if new else "Track Name"]].strip()
    artist = row[col["artist_names" if new else "Artist"]].strip()
    if not title:
        raise ChartError(f"{path}:{number}: no track name")
    streams = _whole(row[col[streams_col]], path, number, streams_col) if streams_col in col else None
    if new:
        uri = row[col["uri"]].strip()
        if not re.fullmatch(r"spotify:track:[0-9A-Za-z]+", uri):
            raise ChartError(f"{path}:{number}: uri must be spotify:track:<id>, got {uri[:60]!r}")
        url = "https://open.spotify.com/track/" + uri.rsplit(":", 1)[1]
        artists = [a.strip() for a in artist.split(", ") if a.strip()]
    else:
        url, artists = row[col["URL"]].strip(), [artist] if artist else []
    return position, title, artist, artists, streams, url


def _whole(value: str, path: Path, number: int, name: str) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise ChartError(f"{path}:{number}: {name} must be a whole number, got {value!r}") from None
    if n < (1 if name in ("Position", "rank") else 0):
        raise ChartError(f"{path}:{number}: {name} must be positive, got {n}")
    return n


def chart_paths(sources) -> list[Path]:
    """The chart files among ``sources``: files as given, and the .csv files inside folders, by name."""
    paths = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found = sorted(p for p in source.rglob("*.csv") if not p.name.startswith("."))
            if not found:
                raise ChartError(f"{source}: a folder with no .csv chart files")
            paths.extend(found)
        else:
            paths.append(source)
    return paths


def read_charts(sources) -> pd.DataFrame:
    """Read chart files and folders of them (a history); two files may not have the same name."""
    charts, seen = [], {}
    for path in chart_paths(sources):
        chart = read_chart(path)
        name = chart["chart"].iloc[0]
        if name in seen:
            raise ChartError(f"{path}: another chart is also named {name!r} ({seen[name]}); "
                             "charts are known by file name, so rename one")
        seen[name] = path
        charts.append(chart)
    if not charts:
        raise ChartError("no chart files given")
    return pd.concat(charts, ignore_index=True)
