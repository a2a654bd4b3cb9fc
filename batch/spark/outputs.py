"""The jobs' output folders: parquet on the driver, swapped into place by renames.

A job writes each output (``vectors/``, ``sounds/``, ``matches/``...) to a staging
folder beside it, then :func:`swap_folder` renames it into place, so a reader sees the
old output or the new one, never a mix. A run killed between the two renames is
repaired by the next run's :func:`clean_up`. The store's tables have their own swap
(:mod:`batch.store.swap`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd


def swap_folder(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` by renames; :func:`recover` repairs an interrupted swap."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def recover(target: Path) -> None:
    """Undo a swap that was cut off between its two renames."""
    old = target.with_name(target.name + ".old")
    if old.exists() and not target.exists():
        os.rename(old, target)


def clean_up(out: Path, outputs) -> None:
    """Repair what a killed run left in ``out``: half-done swaps of ``outputs``, and
    staging folders. One run at a time per ``out`` (scheduled runs take a lock)."""
    for name in outputs:
        recover(out / name)
    if out.exists():
        for leftover in out.iterdir():
            if leftover.name.startswith((".staging-", ".model-")) and leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)


def write_frame(frame: pd.DataFrame, staging: Path, target: Path) -> None:
    """Write a driver-side frame as ``target``'s one parquet file, swapped in."""
    staging.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(staging / "part-0.parquet", index=False)
    swap_folder(staging, target)


def read_vectors(out: str | Path, columns: list[str] | None = None, *, schema_only: bool = False):
    """``out/vectors`` (what ``batch.jobs.featurize`` writes) as an Arrow table, without
    Spark, sorted by track_id.

    ``genre_top`` comes from the partition folders as a plain string; tracks without
    a genre sit in Spark's null partition and read as null.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    partitioning = ds.partitioning(pa.schema([("genre_top", pa.string())]), flavor="hive")
    dataset = ds.dataset(Path(out) / "vectors", format="parquet", partitioning=partitioning)
    if schema_only:  # the column names, without reading any data
        return dataset.schema.names
    return dataset.to_table(columns=columns).sort_by("track_id")
