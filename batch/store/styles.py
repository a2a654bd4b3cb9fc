"""The catalogue load's style rows: search vectors, scaler, sample and hub statistics (sql/014).

The style embedding is standardised with the catalogue's own per-dimension mean and std
and scaled to unit length, as the 245 numbers are (:mod:`batch.store.embedding`); each
song's distances to a fixed sample of songs, in the style view (both descriptions,
:func:`batch.core.hubs.sound_view`), give the mean and std that mutual proximity needs
(:mod:`batch.core.hubs`). A catalogue featurized before the style model has no
style: its columns stay NULL and the search falls back to the 245 numbers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batch.core import hubs
from batch.core.style import N_DIMS
from batch.store.embedding import embed, scaler_of

STYLE_COLUMNS = ("style", "bpm", "key_tonic", "key_mode", "key_confidence")
"""What ``batch.jobs.featurize`` writes for each song besides the 245 numbers."""


def style_tables(vectors: pa.Table, numbers: np.ndarray, pg_array) -> tuple[dict[str, pa.Array], dict[str, pa.Table]]:
    """(the ``track_vectors`` style columns, the ``style_scaler`` and ``style_sample`` tables)
    of featurize's ``vectors``, whose 245 numbers' search vectors are ``numbers``;
    ``pg_array`` writes a matrix as array literals."""
    n = len(vectors)
    empty = {"style_scaler": pa.table({"dim": pa.array([], pa.int16()), "mean": pa.array([], pa.float64()),
                                       "std": pa.array([], pa.float64())}),
             "style_sample": pa.table({"track_id": pa.array([], pa.int64())})}
    if "style" not in vectors.column_names:
        nulls = {c: pa.nulls(n) for c in ("style", "style_embedding", "style_mu", "style_sd", "bpm",
                                          "key_tonic", "key_mode", "key_confidence")}
        return nulls, empty
    has = np.array(vectors.column("style").is_valid().to_pylist(), bool)
    raw = np.zeros((n, N_DIMS), np.float32)
    if has.any():
        raw[has] = np.stack(vectors.column("style").filter(pa.array(has)).to_numpy(zero_copy_only=False))
    mean, std = scaler_of(raw[has]) if has.any() else (np.zeros(N_DIMS), np.ones(N_DIMS))
    unit = embed(raw, mean, std)
    sample = np.flatnonzero(has)[hubs.sample_rows(int(has.sum()))]
    view = hubs.sound_view(numbers, unit)
    stats = hubs.distance_stats(view, view[sample])
    mask = pa.array(~has)

    def nullable(values: pa.Array) -> pa.Array:
        return pc.if_else(mask, pa.nulls(n, values.type), values)

    columns = {
        "style": nullable(pg_array(raw, "{}")),
        "style_embedding": nullable(pg_array(unit, "[]")),
        "style_mu": nullable(pa.array(stats[:, 0], pa.float32())),
        "style_sd": nullable(pa.array(stats[:, 1], pa.float32())),
        **{c: vectors.column(c) for c in STYLE_COLUMNS[1:]},
    }
    tables = {
        "style_scaler": pa.table({"dim": np.arange(N_DIMS, dtype=np.int16), "mean": mean, "std": std})
        if has.any() else empty["style_scaler"],
        "style_sample": pa.table({"track_id": vectors.column("track_id").take(pa.array(sample))}),
    }
    return columns, tables
