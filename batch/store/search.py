"""Similar-song search in the store: scale a vector with the catalogue's scaler, then cosine top-k.

A search within one genre touches only that genre's partition of ``track_vectors`` and
its HNSW index; a search over all genres merges the partitions' index scans.

The functions run inside the caller's transaction and leave it open: a web request reads
everything in one transaction, so a reload (:mod:`batch.store.swap`) cannot swap the tables
between its search and its other reads. Callers end the transaction when they are done.
:func:`exact_search` answers the same question by brute force, for measuring recall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from batch.store.embedding import embed, vector_literal

EF_SEARCH = 100
"""HNSW candidate list size per index scan: recall@10 >= 0.98 (tests/benchmarks/bench_search.py)."""


@dataclass(frozen=True)
class Hit:
    track_id: int
    genre_top: str
    similarity: float  # cosine similarity of the search vectors, in [-1, 1]


def load_scaler(conn) -> tuple[np.ndarray, np.ndarray]:
    """The catalogue's per-feature mean and std, in feature order."""
    with conn.cursor() as cur:
        cur.execute("SELECT mean, std FROM feature_scaler ORDER BY feature_index")
        rows = cur.fetchall()
    if not rows:
        raise LookupError("the catalogue is empty: load it with `python -m batch.store.load catalogue`")
    scaler = np.asarray(rows, dtype=np.float64)
    return scaler[:, 0], scaler[:, 1]


def similarity_reference(conn) -> dict[str, list[float]]:
    """Each feature group's percentiles over random catalogue pairs (:mod:`batch.core.likeness`);
    empty for a catalogue loaded before sql/011."""
    with conn.cursor() as cur:
        cur.execute("SELECT feature_group, quantiles FROM similarity_reference")
        return dict(cur.fetchall())


def search(conn, features: np.ndarray, *, genre: str | None = None, k: int = 10,
           scaler: tuple[np.ndarray, np.ndarray] | None = None) -> list[Hit]:
    """The ``k`` catalogue songs most similar to raw ``features``, within ``genre`` if given."""
    return _query(conn, features, genre, k, scaler, exact=False)


def exact_search(conn, features: np.ndarray, *, genre: str | None = None, k: int = 10,
                 scaler: tuple[np.ndarray, np.ndarray] | None = None) -> list[Hit]:
    """:func:`search` by brute force over every vector, ignoring the indexes."""
    return _query(conn, features, genre, k, scaler, exact=True)


def _query(conn, features, genre, k, scaler, *, exact: bool) -> list[Hit]:
    mean, std = scaler if scaler is not None else load_scaler(conn)
    literal = vector_literal(embed(np.asarray(features), mean, std)[0])
    where = "WHERE genre_top = %(genre)s" if genre is not None else ""
    with conn.cursor() as cur:
        if exact:
            cur.execute("SET LOCAL enable_indexscan = off")
        else:
            cur.execute("SET LOCAL hnsw.ef_search = %s", (max(EF_SEARCH, k),))
        cur.execute(
            f"""SELECT track_id, genre_top, 1 - (embedding <=> %(q)s::vector) AS similarity
                FROM track_vectors {where}
                ORDER BY embedding <=> %(q)s::vector LIMIT %(k)s""",
            {"q": literal, "genre": genre, "k": k},
        )
        rows = cur.fetchall()
        if exact:
            cur.execute("SET LOCAL enable_indexscan = on")
    return [Hit(int(t), g, float(s)) for t, g, s in rows]


FINGERPRINTS = {"tracks": ("track_fingerprints", "track_id"), "sounds": ("sound_fingerprints", "music_id")}
"""Where each kind of recording's landmarks are stored, and the column naming the recording."""


def identify(conn, peaks, *, among: str = "tracks", top: int = 10, speeds=None):
    """The recordings stored in ``among`` ('tracks' or 'sounds') that ``peaks`` contain.

    The query's reference peaks are hashed at every candidate speed
    (:func:`batch.core.fingerprint.query_landmarks`), or at ``speeds`` when given, only the
    stored landmarks with those hashes are read, and the votes are counted as the batch
    job counts them.
    """
    from batch.core.fingerprint import SPEEDS, Index, query_landmarks
    from batch.core.fingerprint import identify as vote

    speeds = SPEEDS if speeds is None else tuple(speeds)
    table, column = FINGERPRINTS[among]
    reference = peaks.reference()
    query = query_landmarks(reference, speeds)
    if query[0].size == 0:
        return []
    with conn.cursor() as cur:
        # One array literal, not psycopg2's ARRAY[...] of thousands of constants: half the
        # time. Three arrays back, not a row per landmark: a whole song's lookup returns
        # hundreds of thousands, and rows cost ten times as much to turn into columns.
        cur.execute(f"SELECT array_agg(hash), array_agg({column}), array_agg(t) FROM {table} "
                    "WHERE hash = ANY(%s::integer[])",
                    ("{" + ",".join(map(str, np.unique(query[0]).tolist())) + "}",))
        hashes, ids, times = cur.fetchone()
    if not hashes:
        return []
    index = Index.of_rows(np.asarray(hashes, np.int32), ids, np.asarray(times, np.int16))
    return vote(index, reference, speeds=speeds, top=top, query=query)


def similar_sounds(conn, features: np.ndarray, *, k: int = 10,
                   scaler: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[str, float]]:
    """The ``k`` TikTok sounds whose audio vectors are nearest ``features``: (music_id, similarity)."""
    mean, std = scaler if scaler is not None else load_scaler(conn)
    literal = vector_literal(embed(np.asarray(features), mean, std)[0])
    with conn.cursor() as cur:
        cur.execute("SET LOCAL hnsw.ef_search = %s", (max(EF_SEARCH, k),))
        cur.execute("""SELECT music_id, 1 - (embedding <=> %(q)s::vector) FROM sound_vectors
                       WHERE embedding IS NOT NULL ORDER BY embedding <=> %(q)s::vector LIMIT %(k)s""",
                    {"q": literal, "k": k})
        rows = cur.fetchall()
    return [(m, float(s)) for m, s in rows]
