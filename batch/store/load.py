"""Load pipeline outputs into PostgreSQL atomically.

Every load reads the parquet output and shapes it into the tables' columns (pyarrow,
no Python loop), then hands the tables to :func:`batch.store.swap.swap_in`, which builds them
beside the live ones and renames them into place in one short transaction: readers
never wait on a load, and see the old rows until the swap and the new rows after. A
load that fails at any step leaves the old rows as they were. A rerun replaces, so it
never duplicates rows.

``python -m batch.store.load catalogue --out DIR`` loads what ``batch.jobs.featurize`` wrote
(genres, tracks, vectors, and the catalogue's scaler); ``python -m batch.store.load tiktok
--videos PATH [--matches PATH]`` loads TikTok videos, their sounds and the matches.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from batch.core.features import FEATURE_NAMES, N_FEATURES
from batch.core.likeness import REFERENCE_PAIRS, reference
from batch.core.metadata import FMA_GENRES, read_genres
from batch.spark.outputs import read_vectors
from batch.store import db
from batch.store.embedding import embed, scaler_of
from batch.store.styles import STYLE_COLUMNS, style_tables
from batch.store.swap import LoadError, LoadResult, show_phases, swap_in  # noqa: F401 (LoadError: the loads' error)
from batch.store.tables import AUDIO_MATCH_COLUMNS, CHART_COLUMNS, MATCH_COLUMNS, VIDEO_COLUMNS
from text_pipeline.core.engagement import ENGAGEMENT
from text_pipeline.core.normalize import clean_title, title_bucket

NO_GENRE = ""  # track_vectors key for tracks without a top-level genre (default partition)

TRACK_TYPES = {"track_id": pa.int64(), "title": pa.string(), "artist": pa.string(),
               "album": pa.string(), "genre_top": pa.string(), "listens": pa.int64(),
               "duration": pa.int64()}
"""Columns of batch.jobs.featurize's tracks/ output, besides genres_all."""
EMBED_SOUNDS = "UPDATE {sound_vectors} SET embedding = embed_features(features)"
"""A TikTok load's search vectors for its sounds, with the loaded catalogue's scaler (sql/010)."""
RE_EMBED_SOUNDS = """
    SELECT v.music_id, v.duration, v.features, embed_features(v.features, s.mean, s.std)
    FROM sound_vectors v,
         (SELECT array_agg(mean ORDER BY feature_index) AS mean,
                 array_agg(std ORDER BY feature_index) AS std FROM {feature_scaler}) s"""
"""A catalogue load's copy of the sounds, embedded with its new scaler (sql/010)."""
HASHTAG_SOUNDS = f"""
    SELECT t.tag, v.music_id, count(*), sum({ENGAGEMENT})::bigint
    FROM {{tiktok_videos}} v CROSS JOIN LATERAL (SELECT DISTINCT unnest(v.hashtags)) AS t(tag)
    GROUP BY t.tag, v.music_id"""
"""Per (hashtag, sound): its videos with the hashtag and their engagement (sql/010)."""
HASHTAG_TRACKS = """
    SELECT h.hashtag, m.track_id, count(*), sum(h.videos), sum(h.engagement)
    FROM {hashtag_sounds} h JOIN {matches} m USING (music_id) GROUP BY h.hashtag, m.track_id"""
"""Per (hashtag, catalogue song), over the sounds matched to it (sql/010)."""
TIKTOK_SHAPE = "2"
"""Bumped when the TikTok load derives new tables (2: hashtag totals), so the next
``batch.jobs.reprocess`` loads the TikTok data again even though its files did not change."""
CATALOGUE_SHAPE = "3"
"""The same for the catalogue load (2: similarity_reference; 3: style, tempo and key)."""


# --- catalogue -------------------------------------------------------------------------------


def load_catalogue(conn, out: str | Path, *, genres_csv: str | Path = FMA_GENRES) -> LoadResult:
    """Load genres, tracks, vectors and the scaler from a ``batch.jobs.featurize`` output folder."""
    out = Path(out)
    if not (out / "vectors").exists():
        raise LoadError(f"{out}/vectors does not exist: run batch.jobs.featurize first")
    genres = read_genres(genres_csv)
    columns = read_vectors(out, schema_only=True)
    vectors = read_vectors(out, ["track_id", "genre_top", "vector", "source_path",
                                 *(["peak_t", "peak_f"] if "peak_t" in columns else []),
                                 *(STYLE_COLUMNS if "style" in columns else [])])
    tracks = _read_tracks(out, vectors)

    features = np.stack(vectors.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
    if features.shape[1:] != (N_FEATURES,):
        raise LoadError(f"vectors have shape {features.shape}, expected (n, {N_FEATURES})")
    mean, std = scaler_of(features)
    embedding = embed(features, mean, std)
    top_level = set(genres.loc[genres["is_top_level"], "title"])
    known = pc.fill_null(pc.is_in(vectors.column("genre_top"), pa.array(sorted(top_level))), False)
    genre_key = pc.if_else(known, vectors.column("genre_top"), NO_GENRE)
    style_columns, style_rows = style_tables(vectors, embedding, _pg_array)

    tables = {
        "genres": pa.table({
            "genre_id": genres["genre_id"], "title": genres["title"],
            "parent_id": genres["parent"].where(genres["parent"] != 0, None).astype("Int64"),
            "top_level_id": genres["top_level"], "n_tracks": genres["n_tracks"],
            "is_top_level": genres["is_top_level"],
        }),
        "tracks": tracks,
        "feature_scaler": pa.table({
            "feature_index": np.arange(N_FEATURES), "feature_name": list(FEATURE_NAMES),
            "mean": mean, "std": std,
        }),
        "track_vectors": pa.table({
            "genre_top": genre_key, "track_id": vectors.column("track_id"),
            "features": _pg_array(features, "{}"), "embedding": _pg_array(embedding, "[]"),
            **style_columns,
        }),
        **style_rows,
        "track_fingerprints": fingerprint_rows(
            vectors.column("track_id").to_pylist(),
            *([vectors.column(c).to_pylist() for c in ("peak_t", "peak_f")] if "peak_t" in columns
              else [[None] * len(vectors)] * 2), id_column="track_id"),
        "similarity_reference": _reference_rows(embedding),
    }
    return swap_in(conn, "catalogue", str(out), tables, version=catalogue_version(out),
                   derived={"sound_vectors": RE_EMBED_SOUNDS})


def _reference_rows(embedding: np.ndarray) -> pa.Table:
    """Each feature group's percentiles over random catalogue pairs (:mod:`batch.core.likeness`)."""
    found = reference(embedding)
    return pa.table({"feature_group": list(found), "pairs": [REFERENCE_PAIRS] * len(found),
                     "quantiles": _pg_array(np.array(list(found.values()), np.float64).reshape(len(found), 101),
                                            "{}")})


def fingerprint_rows(ids, peak_t, peak_f, peak_rank=None, *, id_column: str) -> pa.Table:
    """(hash, id, t) rows of every item's reference landmarks (:mod:`batch.core.fingerprint`),
    without the stop words."""
    from batch.core.fingerprint import Peaks, common, landmarks

    hashes, items, times = [], [], []
    ranks = peak_rank if peak_rank is not None else [None] * len(ids)
    for item, t, f, r in zip(ids, peak_t, peak_f, ranks):
        if t is None:
            continue
        h, at = landmarks(Peaks.of_arrays(t, f, r).reference())
        hashes.append(h)
        times.append(np.rint(at).astype(np.int16))
        items.append(np.repeat(np.asarray([item]), h.shape[0]))
    if not hashes:
        return pa.table({"hash": pa.array([], pa.int32()), id_column: pa.array([]), "t": pa.array([], pa.int16())})
    hashes = np.concatenate(hashes)
    keep = ~common(hashes)
    return pa.table({"hash": hashes[keep], id_column: np.concatenate(items)[keep],
                     "t": np.concatenate(times)[keep]})


def _read_tracks(out: Path, vectors: pa.Table) -> pa.Table:
    """One row per track: the metadata where there is some, plus every vectorised track."""
    audio = pa.table({"track_id": vectors.column("track_id"),
                      "audio_path": vectors.column("source_path")})
    if (out / "tracks").exists():
        meta = pq.read_table(out / "tracks")
        meta = pa.table({
            **{c: pc.cast(meta.column(c), t) for c, t in TRACK_TYPES.items()},
            "genres_all": _pg_array_of_lists(meta.column("genres_all")),
        })
    else:
        meta = pa.table({**{c: pa.array([], t) for c, t in TRACK_TYPES.items()},
                         "genres_all": pa.array([], pa.string())})
    joined = meta.join(audio, "track_id", join_type="full outer").sort_by("track_id")
    return pa.table({
        "track_id": joined.column("track_id"),
        **{c: joined.column(c) for c in ("title", "artist", "album", "genre_top")},
        "genres_all": pc.fill_null(joined.column("genres_all"), "{}"),
        "listens": pc.fill_null(joined.column("listens"), 0),
        "duration": pc.fill_null(joined.column("duration"), 0),
        "audio_path": joined.column("audio_path"),
    })


# --- TikTok ----------------------------------------------------------------------------------


def load_tiktok(conn, videos: str | Path, *, matches: str | Path | None = None,
                sounds: str | Path | None = None) -> LoadResult:
    """Load TikTok videos (and the sounds derived from them), and optionally the matches and
    the sounds' audio vectors and fingerprints (``batch.listening.listen``'s ``sounds/``)."""
    table = _read_parquet(videos, VIDEO_COLUMNS)
    ids = table.column("video_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        raise LoadError(f"{videos}: video_id is not unique; deduplicate before loading")
    buckets = _title_buckets(table.column("song_title"))
    tables = {"tiktok_videos": pa.table({
        "title_bucket": buckets,
        **{c: table.column(c) for c in VIDEO_COLUMNS if c != "hashtags"},
        "hashtags": _pg_array_of_lists(table.column("hashtags"), quote=True),
    })}
    derived = {"tiktok_sounds": """
        SELECT music_id, min(song_title), min(artist_name), bool_or(is_original),
               count(*), coalesce(sum(play_count), 0)
        FROM {tiktok_videos} GROUP BY music_id""",
               "hashtag_sounds": HASHTAG_SOUNDS,
               "hashtag_tracks": HASHTAG_TRACKS.replace("{matches}", "{matches}" if matches else "matches")}
    if matches is not None:
        m = _read_parquet(matches, MATCH_COLUMNS, optional=AUDIO_MATCH_COLUMNS)
        n = len(m)
        tables["matches"] = pa.table({
            "music_id": m.column("tiktok_music_id"), "track_id": m.column("fma_track_id"),
            "title_score": m.column("title_score"), "artist_score": m.column("artist_score"),
            "total_score": m.column("total_score"),
            "method": m.column("method") if "method" in m.column_names else pa.array(["title"] * n),
            **{c: m.column(c) if c in m.column_names else pa.nulls(n, pa.float64())
               for c in ("audio_hashes", "audio_offset", "audio_speed")},
        })
    after = []
    if sounds is not None:
        heard = _read_parquet(sounds, ("music_id", "vector", "duration", "peak_t", "peak_f", "peak_rank",
                                       "error"))
        heard = heard.filter(pc.is_null(heard.column("error")))
        features = (np.stack(heard.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
                    if len(heard) else np.zeros((0, N_FEATURES), np.float32))
        tables["sound_vectors"] = pa.table({
            "music_id": heard.column("music_id"), "duration": heard.column("duration"),
            "features": _pg_array(features, "{}") if len(heard) else pa.array([], pa.string()),
        })
        tables["sound_fingerprints"] = fingerprint_rows(
            heard.column("music_id").to_pylist(), heard.column("peak_t").to_pylist(),
            heard.column("peak_f").to_pylist(), heard.column("peak_rank").to_pylist(), id_column="music_id")
        after.append(EMBED_SOUNDS)
    return swap_in(conn, "tiktok", str(videos), tables, derived=derived, after=after,
                   version=tiktok_version(videos, matches, sounds))


def _title_buckets(titles: pa.ChunkedArray) -> pa.Array:
    """Partition key per video; each distinct title is normalised once."""
    encoded = titles.combine_chunks().dictionary_encode()
    buckets = pa.array([title_bucket(clean_title(t)) for t in encoded.dictionary.to_pylist()],
                       pa.string())
    return pc.fill_null(pc.take(buckets, encoded.indices), "_")


def _read_parquet(path, columns, *, optional=()) -> pa.Table:
    try:
        dataset = ds.dataset(path, format="parquet")
    except (FileNotFoundError, pa.ArrowInvalid) as e:
        raise LoadError(f"{path}: cannot read parquet ({e})") from None
    missing = [c for c in columns if c not in dataset.schema.names]
    if missing:
        raise LoadError(f"{path}: missing columns {missing}")
    present = [c for c in optional if c in dataset.schema.names]
    return dataset.to_table(columns=[*columns, *present])  # only what is loaded is read


def into_store(load, *args, **kwargs):
    """Run ``load(conn, *args, **kwargs)`` on the store (DATABASE_URL, else embedded), migrated
    first, and return what it returns (a :class:`LoadResult` for the loads)."""
    conn = db.connect()
    try:
        db.migrate(conn)
        return load(conn, *args, **kwargs)
    finally:
        conn.close()


# --- chart overlap ---------------------------------------------------------------------------


def load_charts(conn, entries, *, version: str | None = None) -> LoadResult:
    """Load chart overlap (:func:`text_pipeline.jobs.charts.overlap`); each chart's rows are replaced whole.

    A chart is one file (one chart on one date). Charts not in ``entries`` keep their
    rows, so a history is loaded one file at a time, and loading a file again replaces
    that chart and date only.
    """
    table = pa.Table.from_pandas(entries[list(CHART_COLUMNS)], preserve_index=False)
    for name in ("artists", "music_ids"):
        table = table.set_column(table.column_names.index(name), name,
                                 _pg_array_of_lists(table.column(name), quote=True))
    charts = sorted(set(entries["chart"]))
    return swap_in(conn, "charts", ", ".join(charts), {"chart_entries": table}, version=version,
                   scope={"chart_entries": ("chart", charts)})


# --- popularity models -------------------------------------------------------------------------


def load_popularity(conn, evaluations, *, version: str | None = None) -> LoadResult:
    """Store :func:`batch.jobs.popularity.evaluate`'s models; each target's row is replaced, others stay."""
    rows = pd.DataFrame([vars(e) for e in evaluations])
    table = pa.table({
        **{c: rows[c] for c in ("target", "songs", "folds", "r2", "mae", "baseline_r2", "baseline_mae",
                                "intercept", "residual_low", "residual_high")},
        "coefficients": _pg_array(np.array(rows["coefficients"].tolist(), np.float64), "{}"),
    })
    targets = rows["target"].tolist()
    return swap_in(conn, "popularity", ", ".join(targets), {"popularity_models": table}, version=version,
                   scope={"popularity_models": ("target", targets)})


# --- the swap --------------------------------------------------------------------------------


def output_version(*paths: Path) -> str:
    """A fingerprint of pipeline outputs: every file's name, size and modification time.

    Each Spark write names its files afresh, so a rewritten output gets a new version.
    A path may be a folder (every file under it) or a single file.
    """
    digest = hashlib.sha256()
    for root in map(Path, paths):
        if root.is_file():  # one file: itself
            files, root = [root], root.parent
        else:
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for path in files:
            st = path.stat()
            digest.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        digest.update(b"--\n")
    return digest.hexdigest()[:16]


def catalogue_version(out: str | Path) -> str:
    """The version of what :func:`load_catalogue` loads from the featurize output ``out``."""
    return output_version(Path(out) / "vectors", Path(out) / "tracks") + "." + CATALOGUE_SHAPE


def tiktok_version(videos: str | Path, matches: str | Path | None = None,
                   sounds: str | Path | None = None) -> str:
    """The version of what :func:`load_tiktok` loads from ``videos``, ``matches`` and ``sounds``."""
    return output_version(*[Path(p) for p in (videos, matches, sounds) if p]) + "." + TIKTOK_SHAPE


def unchanged(dataset: str, version: str) -> bool:
    """True when the store's last committed load of ``dataset`` came from ``version``: a job
    can skip its work (popularity, charts). False when the store cannot say."""
    return into_store(lambda conn: loaded_version(conn, dataset) == version)


def loaded_version(conn, dataset: str) -> str | None:
    """The version of the last committed load of ``dataset``, or None."""
    with conn.cursor() as cur:
        cur.execute("""SELECT version FROM load_runs WHERE dataset = %s AND status = 'committed'
                       ORDER BY run_id DESC LIMIT 1""", (dataset,))
        row = cur.fetchone()
    conn.rollback()
    return row[0] if row else None


# --- PostgreSQL array literals, built column-wise -----------------------------------------------


def _pg_array(matrix: np.ndarray, brackets: str) -> pa.Array:
    """Rows of a float32 matrix as '{1.5,2}' (real[]) or '[1.5,2]' (pgvector) literals."""
    n, width = matrix.shape
    flat = pc.cast(pa.array(matrix.ravel()), pa.string())
    lists = pa.ListArray.from_arrays(pa.array(np.arange(0, n * width + 1, width, dtype=np.int32)), flat)
    joined = pc.binary_join(lists, ",")
    return pc.binary_join_element_wise(brackets[0], joined, brackets[1], "")


def _pg_array_of_lists(lists: pa.ChunkedArray | pa.Array, *, quote: bool = False) -> pa.Array:
    """Lists as PostgreSQL array literals; ``quote`` for text elements."""
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    lists = pc.fill_null(lists, pa.scalar([], lists.type))
    values = pc.cast(lists.flatten(), pa.string())
    if quote:
        values = pc.replace_substring(values, "\\", "\\\\")
        values = pc.replace_substring(values, '"', '\\"')
        values = pc.binary_join_element_wise('"', values, '"', "")
    rebuilt = pa.ListArray.from_arrays(lists.offsets, values)
    joined = pc.binary_join(rebuilt, ",")
    return pc.binary_join_element_wise("{", joined, "}", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batch.store.load",
        description="Load pipeline outputs into the store (DATABASE_URL, else the embedded "
        "PostgreSQL). Each load builds its tables beside the live ones and swaps them in, "
        "so readers never wait on it.",
    )
    sub = parser.add_subparsers(dest="dataset", required=True)
    cat = sub.add_parser("catalogue", help="genres, tracks, vectors and scaler from batch.jobs.featurize")
    cat.add_argument("--out", required=True, help="the folder batch.jobs.featurize wrote")
    cat.add_argument("--genres", default=str(FMA_GENRES), help="FMA genres.csv (default: FMA's own)")
    tik = sub.add_parser("tiktok", help="TikTok videos, sounds and (optionally) matches")
    tik.add_argument("--videos", required=True, help="parquet of clean TikTok videos")
    tik.add_argument("--matches", help="parquet of matches (fma_track_id, tiktok_music_id, scores)")
    args = parser.parse_args(argv)
    show_phases()
    try:
        if args.dataset == "catalogue":
            result = into_store(load_catalogue, args.out, genres_csv=args.genres)
        else:
            result = into_store(load_tiktok, args.videos, matches=args.matches)
    except (db.StoreError, LoadError) as e:
        print(f"load: error: {e}", file=sys.stderr)
        return 2
    print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
