"""Spotify chart exports: the top-200 and viral-50 CSV files, read and checked.

Two shapes, each with or without the note line Spotify put above the header::

    ,,,"Note that these figures are generated using a formula that protects against ...",
    Position,"Track Name",Artist,Streams,URL        <- top 200
    Position,"Track Name",Artist,URL                <- viral 50

:func:`read_chart` returns one row per chart entry: chart (the file's name), position,
title, artist, streams (missing for viral charts) and url.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

REQUIRED = ("Position", "Track Name", "Artist", "URL")
COLUMNS = ("chart", "position", "title", "artist", "streams", "url")


class ChartError(ValueError):
    """A file that is not a Spotify chart export, or has a broken row; the message says where."""


def read_chart(path: str | Path) -> pd.DataFrame:
    """Read one Spotify chart export (top 200 or viral 50, note line optional)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ChartError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ChartError(f"{path}: not a text file (expected a Spotify chart CSV)") from None
    rows = list(csv.reader(io.StringIO(text)))
    start = next((i for i, row in enumerate(rows[:2]) if row[:1] == ["Position"]), None)
    if start is None:
        first = ",".join(rows[0]) if rows else "an empty file"
        raise ChartError(f"{path}: not a Spotify chart export: expected the header "
                         f"Position,\"Track Name\",Artist[,Streams],URL (after an optional note line), "
                         f"found {first[:80]!r}")
    header = [h.strip() for h in rows[start]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ChartError(f"{path}:{start + 1}: the header lacks {', '.join(missing)}")
    col = {name: header.index(name) for name in header}
    entries = []
    for number, row in enumerate(rows[start + 1:], start=start + 2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line, as some exports end with
        if len(row) != len(header):
            raise ChartError(f"{path}:{number}: {len(row)} fields, the header has {len(header)}")
        position = _whole(row[col["Position"]], path, number, "Position")
        title, artist = row[col["Track Name"]].strip(), row[col["Artist"]].strip()
        if not title:
            raise ChartError(f"{path}:{number}: no track name")
        streams = _whole(row[col["Streams"]], path, number, "Streams") if "Streams" in col else None
        entries.append((path.stem, position, title, artist, streams, row[col["URL"]].strip()))
    if not entries:
        raise ChartError(f"{path}: the chart has a header but no entries")
    chart = pd.DataFrame(entries, columns=list(COLUMNS)).astype({"position": "int64", "streams": "Int64"})
    if chart["position"].duplicated().any():
        raise ChartError(f"{path}: position {chart['position'][chart['position'].duplicated()].iloc[0]} "
                         "appears twice")
    return chart


def _whole(value: str, path: Path, number: int, name: str) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise ChartError(f"{path}:{number}: {name} must be a whole number, got {value!r}") from None
    if n < (1 if name == "Position" else 0):
        raise ChartError(f"{path}:{number}: {name} must be positive, got {n}")
    return n
