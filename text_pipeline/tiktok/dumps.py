"""Find the TikTok dump files and read their records for Spark, whatever their format.

A dump is ndjson (one record per line), or one of tiktok-scraper's exports (a JSON array,
a CSV), plain, ``.gz`` or ``.bz2``, local or on S3. :func:`list_dumps` finds the files and
tells each one's format from its first bytes (:func:`text_pipeline.core.exports.sniff`), on the
driver, so that a file in no known format stops the run before Spark starts.
:func:`read_lines` gives Spark one row per record, for :func:`text_pipeline.tiktok.parse.parse`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import pandas as pd

from batch.spark.sources import Reader, is_s3, list_files

DUMP_EXTENSIONS = tuple(f".{kind}{packed}" for kind in ("ndjson", "jsonl", "json", "csv")
                        for packed in ("", ".gz", ".bz2", ".zst"))


class DumpError(ValueError):
    """No dump files, or one that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Dump:
    """A dump file: where it is, its size and version (mtime or ETag), and its format
    (:data:`text_pipeline.core.exports.FORMATS`, sniffed from its content)."""

    path: str
    size: int
    version: str
    format: str


def list_dumps(src: str | list[str], *, endpoint_url: str | None = None) -> list[Dump]:
    """The dump files under files, folders or S3 prefixes, with their size, version and format.

    Raises :class:`DumpError` when there are none, or when one is in no format we read.
    """
    from text_pipeline.core.exports import SNIFF_BYTES, ExportError, decompress, sniff

    sources = [src] if isinstance(src, str) else list(src)
    files = [f for s in sources for f in list_files(s, DUMP_EXTENSIONS, endpoint_url=endpoint_url,
                                                     kind="TikTok")]
    if not files:
        raise DumpError(f"no .ndjson/.jsonl/.json/.csv files (plain, .gz or .bz2) under {src}")
    zstd = [f.path for f in files if f.path.endswith(".zst")]
    if zstd:
        raise DumpError(
            f"{zstd[0]} is zstd-compressed, which Spark cannot read without native Hadoop; "
            f"unpack it first: zstd -d --rm {zstd[0]}  (apt install zstd)")
    reader, dumps = Reader(endpoint_url), []
    for f in files:
        try:
            head = decompress(f.path, reader.read(f.path, SNIFF_BYTES), partial=True)
            dumps.append(Dump(f.path, f.size, f.version, sniff(f.path, head)))
        except ExportError as e:
            raise DumpError(str(e)) from None
        except (OSError, EOFError, zlib.error) as e:
            raise DumpError(f"{f.path} cannot be decompressed: {e}") from None
    return dumps


def read_lines(spark, files: list[Dump], *, endpoint_url: str | None = None):
    """A DataFrame of raw records (``value``, ``source``, ``problem``) from listed dump files.

    Local ndjson is read by Spark's text reader, split across tasks; S3 ndjson and the
    scraper's exports (:mod:`text_pipeline.core.exports`) are read whole, one task per file.
    ``problem`` is the reason a record is already known to be a reject, else NULL.
    """
    from pyspark.sql import functions as F

    local = [f.path for f in files if f.format == "ndjson" and not is_s3(f.path)]
    whole = [(f.path, f.format) for f in files if f.format != "ndjson" or is_s3(f.path)]
    frames = []
    if local:
        frames.append(spark.read.text(local).select(
            "value", F.input_file_name().alias("source"), F.lit(None).cast("string").alias("problem")))
    if whole:
        paths = spark.createDataFrame(whole, "path string, format string").repartition(len(whole))
        frames.append(paths.mapInPandas(lambda it: _read_whole(it, endpoint_url),
                                        "value string, source string, problem string"))
    lines = frames[0]
    for frame in frames[1:]:
        lines = lines.unionByName(frame)
    return lines


def _read_whole(batches, endpoint_url):
    from text_pipeline.core.exports import decompress, records

    reader = Reader(endpoint_url)
    for batch in batches:
        for path, fmt in zip(batch["path"], batch["format"]):
            try:
                data = decompress(path, reader.read(path))
            except (OSError, EOFError, zlib.error) as e:  # cut short after the head that was sniffed
                yield pd.DataFrame({"value": [""], "source": path,
                                    "problem": [f"the file cannot be decompressed ({e})"]})
                continue
            if fmt == "ndjson":
                rows = ((line, None) for line in data.decode("utf-8", errors="replace").splitlines())
            else:
                rows = records(path, data, fmt)
            values, problems = [], []
            for value, problem in rows:
                values.append(value)
                problems.append(problem)
                if len(values) == 10_000:
                    yield pd.DataFrame({"value": values, "source": path, "problem": problems})
                    values, problems = [], []
            if values:
                yield pd.DataFrame({"value": values, "source": path, "problem": problems})
