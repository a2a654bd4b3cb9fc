"""Turn a folder or S3 prefix of FMA audio into 245-number vectors, with Spark.

Files are listed on the driver; decoding and feature extraction run on the executors,
in Arrow batches (``mapInPandas``), through the same :func:`batch.core.fingerprint.analyse`
and :func:`batch.core.style.describe` the web app uses. A rerun skips files whose size and modification time (or ETag) are
unchanged, processes new and changed ones, drops files that disappeared, and swaps
the new dataset into place, so ``DIR`` always holds one consistent copy.

Outputs, under ``DIR``:

- ``vectors/``: track_id, genre_top, vector (245 float32, the middle 30 s), peak_t and
  peak_f (the reference peaks of the whole recording, up to its first 10 minutes, for audio
  identification, :mod:`batch.core.fingerprint`), heard (the seconds listened to), style (the
  200-number learned embedding of the same 30 s, :mod:`batch.core.style`), bpm, key_tonic (0-11
  from C), key_mode and key_confidence (:mod:`batch.core.tempo_key`), source_path,
  source_size, source_version, computed_at; parquet partitioned by ``genre_top``.
- ``errors/``: one row per file that could not be used: source_path, track_id, reason.
- ``tracks/``: the metadata, one row per track, when ``--tracks`` is given.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from batch.core import metadata as md
from batch.spark.analyse import analyse_files
from batch.spark.outputs import clean_up, read_vectors, swap_folder, write_frame
from batch.spark.progress import progress
from batch.spark.session import add_cluster_options
from batch.spark.sources import AudioFile, list_audio

VECTOR_COLUMNS = (
    "track_id", "genre_top", "vector", "peak_t", "peak_f", "heard", "style", "bpm", "key_tonic",
    "key_mode", "key_confidence", "source_path", "source_size", "source_version", "computed_at",
)
ERROR_COLUMNS = ("source_path", "track_id", "reason", "source_size", "source_version")
ERROR_DTYPES = {"source_path": "object", "track_id": "Int64", "reason": "object",
                "source_size": "int64", "source_version": "object"}
KEY = ["source_path", "source_size", "source_version"]
VECTOR_DDL = (
    "track_id long, genre_top string, vector array<float>, peak_t array<smallint>, "
    "peak_f array<float>, heard double, style array<float>, bpm double, key_tonic tinyint, "
    "key_mode string, key_confidence double, source_path string, "
    "source_size long, source_version string, computed_at timestamp"
)


class FeaturizeError(RuntimeError):
    """The job could not produce a complete output; what ``--out`` held is unchanged."""


@dataclass
class Summary:
    """What one run did."""

    featurized: int = 0
    skipped: int = 0
    errors: int = 0
    removed: int = 0
    seconds: float = 0.0
    written: bool = False

    @property
    def clips_per_second(self) -> float:
        return (self.featurized + self.errors) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"featurized {self.featurized}, skipped {self.skipped}, errors {self.errors}, "
            f"removed {self.removed}, {self.clips_per_second:.1f} clips/s"
        )


def run(src: str, out: str | Path, *, tracks: str | None = None, genres: str | None = None,
        master: str | None = None, endpoint_url: str | None = None, spark=None,
        catalogue: pd.DataFrame | None = None, log=print) -> Summary:
    """Featurize ``src`` into ``out`` incrementally and return what was done.

    ``catalogue`` is ``tracks`` already read by :func:`batch.core.metadata.read_tracks`.
    """
    out = Path(out)
    started = time.perf_counter()
    clean_up(out, ("vectors", "errors", "tracks"))

    if catalogue is None and tracks:
        catalogue = _read_metadata(tracks, genres)
    listed = list_audio(src, endpoint_url=endpoint_url)
    usable, named_errors = _check_names(listed)
    log(f"[featurize] listed {len(listed)} audio files under {src} "
        f"in {time.perf_counter() - started:.1f} s")

    previous = _read_previous(out)
    prev_errors = _read_errors(out)

    listed_df = pd.DataFrame(
        [(f.path, f.track_id, f.size, f.version) for f in usable],
        columns=["source_path", "track_id", "source_size", "source_version"],
    ).astype({"track_id": "int64", "source_size": "int64"})
    keys = listed_df.set_index(KEY).index
    kept_ok = keys.isin(previous.set_index(KEY).index)
    kept_err = keys.isin(prev_errors.set_index(KEY).index) & ~kept_ok
    todo = listed_df[~kept_ok & ~kept_err]
    live_paths = set(listed_df["source_path"])
    summary = Summary(skipped=int(kept_ok.sum() + kept_err.sum()))
    summary.removed = int((~previous["source_path"].isin(live_paths)).sum())
    log(f"[featurize] {len(todo)} new or changed, {summary.skipped} unchanged, "
        f"{summary.removed} removed")

    genre_of = None if catalogue is None else catalogue[["track_id", "genre_top"]]
    genres_changed = catalogue is not None and _genres_changed(previous, genre_of)
    vectors_changed = bool(len(todo)) or summary.removed > 0 or genres_changed
    if vectors_changed and spark is None:
        from batch.spark.session import get_spark

        spark = get_spark("featurize", master)

    job_started = time.perf_counter()
    new_vectors, new_errors = None, prev_errors.iloc[0:0]
    if len(todo):
        log(f"[featurize] decoding and featurizing {len(todo)} files on {spark.sparkContext.master}")
        result = analyse_files(spark, todo, "source_path string, track_id long, source_size long, "
                               "source_version string", endpoint_url=endpoint_url, reference=True,
                               style=True).cache()
        with progress(spark, "[featurize] featurizing", log, units=("files", len(todo))):
            failed = result.filter("error IS NOT NULL").select(
                "source_path", "track_id", result["error"].alias("reason"), "source_size",
                "source_version").toPandas()
        new_vectors = result.filter("error IS NULL").select(*(c for c in VECTOR_COLUMNS if c != "genre_top"))
        new_errors = failed
        summary.errors = len(failed)
        summary.featurized = len(todo) - len(failed)
    summary.seconds = time.perf_counter() - job_started
    if len(todo):
        log(f"[featurize] {summary.featurized} vectors and {summary.errors} errors "
            f"in {summary.seconds:.1f} s")

    still_failing = prev_errors.set_index(KEY).index.isin(listed_df[kept_err].set_index(KEY).index)
    errors = pd.concat(
        [df[list(ERROR_COLUMNS)].astype(ERROR_DTYPES)
         for df in (prev_errors[still_failing], new_errors, named_errors)],
        ignore_index=True,
    ).sort_values("source_path", ignore_index=True)

    errors_changed = _frame_key(errors) != _frame_key(prev_errors)

    staging = out / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        if vectors_changed:
            _write_vectors(spark, out, staging, listed_df[kept_ok], new_vectors, genre_of)
            summary.written = True
        if errors_changed or not (out / "errors").exists():
            write_frame(errors, staging / "errors", out / "errors")
            summary.written = True
        if catalogue is not None and _tracks_changed(out / "tracks", catalogue):
            write_frame(catalogue, staging / "tracks", out / "tracks")
            summary.written = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"[featurize] {'updated' if summary.written else 'nothing to change in'} {out} "
        f"after {time.perf_counter() - started:.1f} s")
    return summary


def _write_vectors(spark, out, staging, kept, new_vectors, genre_of):
    from pyspark.sql import functions as F

    parts = []
    if len(kept):
        old = spark.read.parquet(str(out / "vectors"))
        keep = spark.createDataFrame(kept[["source_path"]])
        parts.append(old.join(keep, "source_path", "left_semi"))
    if new_vectors is not None:
        parts.append(new_vectors.withColumn("genre_top", F.lit(None).cast("string")))
    if not parts:
        vectors = spark.createDataFrame([], VECTOR_DDL)
    else:
        vectors = parts[0]
        for part in parts[1:]:
            vectors = vectors.unionByName(part)
    if genre_of is not None:
        genres = spark.createDataFrame(genre_of, "track_id long, genre_top string")
        vectors = vectors.drop("genre_top").join(genres, "track_id", "left")
    (vectors.select(*VECTOR_COLUMNS).repartition("genre_top")
     .write.partitionBy("genre_top").parquet(str(staging / "vectors")))
    expected = len(kept) + (new_vectors.count() if new_vectors is not None else 0)
    found = read_vectors(staging, ["track_id"]).num_rows
    if found != expected:  # the executors wrote somewhere the driver cannot see
        raise FeaturizeError(
            f"the driver finds {found} of the {expected} vectors the executors wrote under {staging}: "
            "--out must be a folder that the driver and every executor share (one machine, NFS, EFS)")
    swap_folder(staging / "vectors", out / "vectors")


def _read_previous(out: Path) -> pd.DataFrame:
    columns = ["source_path", "source_size", "source_version", "track_id", "genre_top"]
    vectors = out / "vectors"
    if not vectors.exists() or "style" not in read_vectors(out, ["track_id"], schema_only=True):
        # Nothing yet, or written before the style model (or before songs were heard whole):
        # every song is featurized again, once.
        return pd.DataFrame(columns=columns).astype({"source_size": "int64", "track_id": "int64"})
    return read_vectors(out, columns).to_pandas()


def _read_errors(out: Path) -> pd.DataFrame:
    if not (out / "errors").exists():
        return pd.DataFrame(columns=list(ERROR_COLUMNS)).astype(ERROR_DTYPES)
    return pd.read_parquet(out / "errors")[list(ERROR_COLUMNS)].astype(ERROR_DTYPES)


def _check_names(listed: list[AudioFile]) -> tuple[list[AudioFile], pd.DataFrame]:
    """Split files into usable ones and error rows (no track id in the name, or a duplicate id)."""
    usable, errors, first = [], [], {}
    for f in listed:
        if f.track_id is None:
            reason = "file name is not an FMA track id (expected a layout like 000/000002.mp3)"
        elif f.track_id in first:
            reason = f"duplicate track_id {f.track_id}: already read from {first[f.track_id]}"
        else:
            first[f.track_id] = f.path
            usable.append(f)
            continue
        errors.append((f.path, f.track_id, reason, f.size, f.version))
    return usable, pd.DataFrame(errors, columns=list(ERROR_COLUMNS))


def _read_metadata(tracks: str, genres: str | None) -> pd.DataFrame:
    return md.read_tracks(tracks, md.read_genres(md.genres_for(tracks, genres, strict=True)))


def _genres_changed(previous: pd.DataFrame, genre_of: pd.DataFrame) -> bool:
    if previous.empty:
        return False
    merged = previous[["track_id", "genre_top"]].merge(
        genre_of, on="track_id", how="left", suffixes=("_old", "_new"))
    old, new = merged["genre_top_old"], merged["genre_top_new"]
    return bool(((old != new) & ~(old.isna() & new.isna())).any())


def _tracks_changed(path: Path, catalogue: pd.DataFrame) -> bool:
    if not path.exists():
        return True
    old = pd.read_parquet(path)
    return _frame_key(old) != _frame_key(catalogue)


def _frame_key(df: pd.DataFrame):
    """A comparable snapshot of a small frame's content."""
    return sorted(map(repr, df.astype(str).itertuples(index=False)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m batch.jobs.featurize",
        description="Turn FMA audio (a folder or s3://bucket/prefix of mp3, wav, ogg or flac "
        "files named by track id, e.g. 000/000002.mp3) into 245-number vectors with Spark. "
        "Reruns process only new and changed files.",
    )
    parser.add_argument("src", help="local folder or s3://bucket/prefix holding the audio")
    parser.add_argument("--out", required=True,
                        help="output folder; gets vectors/, errors/ and (with --tracks) tracks/")
    parser.add_argument("--tracks", help="FMA tracks.csv; adds genre_top and partitions by it")
    parser.add_argument("--genres", help="FMA genres.csv (default: the one beside --tracks)")
    add_cluster_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.genres and not args.tracks:
        build_parser().error("--genres needs --tracks")
    try:
        summary = run(args.src, args.out, tracks=args.tracks, genres=args.genres,
                      master=args.master, endpoint_url=args.endpoint_url)
    except (FileNotFoundError, NotADirectoryError, md.MetadataError, FeaturizeError) as e:
        print(f"featurize: error: {e}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
