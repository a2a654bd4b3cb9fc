"""Read tiktok-scraper's exports as the records :mod:`text_pipeline.tiktok.parse` parses.

Dumps come in three formats, told apart by their content (:func:`sniff`), not by their name:

``ndjson``
    One JSON record per line: the public 2019 dump, web API dumps. Spark reads these lines
    itself (``spark.read.text``), so this module is not involved.
``json``
    One JSON array of records: ``tiktok-scraper ... -t json``. Each element becomes one
    record. Elements are decoded one by one, so a file cut short loses only its last record.
``csv``
    ``tiktok-scraper ... -t csv``: a header of dotted names (``musicMeta.musicName``), one row
    per video, ``hashtags``, ``mentions`` and ``effectStickers`` as JSON text, and quoted
    fields with newlines inside. A row becomes the nested record it was flattened from.

Each export file is read whole by one executor task (exports hold thousands of videos,
not millions; ndjson dumps are split by Spark). A record that cannot be used is yielded
with the reason, and :func:`text_pipeline.tiktok.parse.parse` turns it into a reject.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import zlib

FORMATS = ("ndjson", "json", "csv")
JSON_COLUMNS = ("hashtags", "mentions", "effectStickers")
"""CSV columns that hold JSON text."""
CSV_MARKERS = ("musicMeta.musicId", "musicMeta.musicName")
"""A CSV header naming these is a tiktok-scraper export."""
SNIFF_BYTES = 64 * 1024


class ExportError(ValueError):
    """A dump file is in none of the formats; the message says what it found."""


def decompress(path: str, data: bytes, *, partial: bool = False) -> bytes:
    """``data`` decompressed by its file name (``.gz``, ``.bz2``); ``partial`` for a file's head."""
    name = path.lower()
    if name.endswith(".gz"):
        return zlib.decompressobj(wbits=31).decompress(data) if partial else gzip.decompress(data)
    if name.endswith(".bz2"):
        return bz2.BZ2Decompressor().decompress(data) if partial else bz2.decompress(data)
    return data


def sniff(path: str, head: bytes) -> str:
    """The format of a dump whose file starts with ``head`` (already decompressed): one of :data:`FORMATS`.

    Raises :class:`ExportError`, saying what the file starts with, when it is none of them.
    """
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        return "ndjson"
    first_line = text.split("\n", 1)[0]
    header = next(csv.reader([first_line]), [])
    if all(marker in header for marker in CSV_MARKERS):
        return "csv"
    shown = first_line[:60].encode("unicode_escape").decode("ascii") or "nothing"
    raise ExportError(
        f"{path} is not a TikTok dump: it starts with {shown!r}. Expected one JSON record per "
        "line (ndjson), a JSON array of records (tiktok-scraper -t json), or a tiktok-scraper "
        f"CSV export (-t csv, whose header names {' and '.join(CSV_MARKERS)}).")


def records(path: str, data: bytes, fmt: str):
    """``(record text, problem)`` for every record of a whole export file (decompressed).

    ``problem`` is None for a record to parse, else the reason it is a reject (the text is
    then the raw row or what is left of the file).
    """
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if fmt == "json":
        yield from _json_array(text)
    elif fmt == "csv":
        yield from _csv_rows(text)
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def _json_array(text: str):
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if not text.startswith("[", pos):
        yield text[:2000], "not a JSON array"
        return
    pos = _skip_space(text, pos + 1)
    n = 0
    while pos < len(text) and text[pos] != "]":
        n += 1
        try:
            element, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            yield text[pos:pos + 2000], f"element {n}: truncated or malformed JSON ({e.msg})"
            return
        if isinstance(element, dict):
            yield json.dumps(element, ensure_ascii=False), None
        else:
            yield text[pos:end][:2000], f"element {n} is not a JSON object"
        pos = _skip_space(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            yield text[pos:pos + 2000], f"after element {n}: expected ',' or ']'"
            return
    if pos >= len(text):
        yield "", f"the array ends after element {n} without its closing ']' (file cut short?)"


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


FIELD_LIMIT = 1 << 20
"""The longest CSV field read, in characters (a video's text is at most a few thousand)."""


def _csv_rows(text: str):
    csv.field_size_limit(FIELD_LIMIT)
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except StopIteration:
        return
    except csv.Error as e:
        yield text[:2000], f"the header is not CSV ({e})"
        return
    number = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as e:  # the reader goes on with the next row
            number += 1
            yield "", f"row {number}: not CSV ({e})"
            continue
        number += 1
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            yield _as_csv(row), f"row {number} has {len(row)} fields, the header {len(header)}"
            continue
        record, problem = _nest(header, row)
        yield (json.dumps(record, ensure_ascii=False), None) if problem is None else (_as_csv(row), f"row {number}: {problem}")


def _nest(header: list[str], row: list[str]) -> tuple[dict, str | None]:
    """The nested record a flattened row came from: ``a.b`` becomes ``{"a": {"b": ...}}``."""
    record: dict = {}
    for name, value in zip(header, row):
        if value == "":
            continue
        if name in JSON_COLUMNS:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return record, f"{name} is not JSON text"
        node = record
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return record, f"column {name} clashes with another column"
        node[leaf] = value
    return record, None


def _as_csv(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue().rstrip("\r\n")
