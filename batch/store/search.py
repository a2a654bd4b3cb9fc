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


VIEWS = ("style", "numbers")
"""What a search ranks by: the style view (the default: the learned embedding with the 245
numbers, re-ranked by mutual proximity, :mod:`batch.core.hubs`), or the 245 numbers' cosine."""


@dataclass(frozen=True)
class Hit:
    track_id: int
    genre_top: str
    similarity: float  # cosine similarity of the view's search vectors, in [-1, 1]
    view: str = "numbers"  # which view found it (VIEWS)


@dataclass(frozen=True)
class Filters:
    """Optional conditions on the songs a search returns."""

    bpm: tuple[float, float] | None = None  # a tempo range; half and double tempo match too
    key: tuple[int, str] | None = None  # (tonic 0-11, 'major' or 'minor')
    relative: bool = False  # with ``key``: its relative key matches too

    def __bool__(self) -> bool:
        return self.bpm is not None or self.key is not None

    def where(self) -> tuple[str, dict]:
        """SQL conditions on ``track_vectors`` and their parameters."""
        from batch.core.tempo_key import relative

        sql, params = [], {}
        if self.bpm is not None:
            sql.append("(bpm BETWEEN %(lo)s AND %(hi)s OR bpm * 2 BETWEEN %(lo)s AND %(hi)s "
                       "OR bpm / 2 BETWEEN %(lo)s AND %(hi)s)")
            params.update(lo=self.bpm[0], hi=self.bpm[1])
        if self.key is not None:
            keys = [self.key] + ([relative(*self.key)] if self.relative else [])
            sql.append("(" + " OR ".join(f"(key_tonic = %(t{i})s AND key_mode = %(m{i})s)"
                                         for i in range(len(keys))) + ")")
            for i, (tonic, mode) in enumerate(keys):
                params.update({f"t{i}": tonic, f"m{i}": mode})
        return " AND ".join(sql), params


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
           scaler: tuple[np.ndarray, np.ndarray] | None = None, filters: Filters = Filters()) -> list[Hit]:
    """The ``k`` catalogue songs most similar to raw ``features`` by the 245 numbers,
    within ``genre`` if given, that meet ``filters``."""
    mean, std = scaler if scaler is not None else load_scaler(conn)
    return _query(conn, "embedding", embed(np.asarray(features), mean, std)[0], genre, k, filters, exact=False)


def exact_search(conn, features: np.ndarray, *, genre: str | None = None, k: int = 10,
                 scaler: tuple[np.ndarray, np.ndarray] | None = None, filters: Filters = Filters()) -> list[Hit]:
    """:func:`search` by brute force over every vector, ignoring the indexes."""
    mean, std = scaler if scaler is not None else load_scaler(conn)
    return _query(conn, "embedding", embed(np.asarray(features), mean, std)[0], genre, k, filters, exact=True)


@dataclass(frozen=True)
class StyleScaler:
    """What the style view needs besides the query: both scalers, and the sample that
    mutual proximity measures against (:mod:`batch.core.hubs`)."""

    numbers: tuple[np.ndarray, np.ndarray]  # the 245 numbers' mean and std
    style: tuple[np.ndarray, np.ndarray]  # the style embedding's mean and std
    sample: np.ndarray  # (n, 445) style-view unit rows

    def units(self, features: np.ndarray, style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The search vectors of raw ``features`` and a raw ``style`` embedding."""
        return embed(np.asarray(features), *self.numbers)[0], embed(np.asarray(style), *self.style)[0]


def load_style_scaler(conn) -> StyleScaler | None:
    """The catalogue's :class:`StyleScaler`; None for a catalogue without style (sql/014)."""
    from batch.core.hubs import sound_view

    with conn.cursor() as cur:
        cur.execute("SELECT mean, std FROM style_scaler ORDER BY dim")
        rows = cur.fetchall()
        cur.execute("""SELECT v.embedding::real[], v.style_embedding::real[] FROM style_sample s
                       JOIN track_vectors v USING (track_id) ORDER BY track_id""")
        sample = cur.fetchall()
    if not rows or not sample:
        return None
    scaler = np.asarray(rows, np.float64)
    view = sound_view(np.asarray([r[0] for r in sample], np.float32), np.asarray([r[1] for r in sample], np.float32))
    return StyleScaler(load_scaler(conn), (scaler[:, 0], scaler[:, 1]), view)


def style_search(conn, features: np.ndarray, style: np.ndarray, scaler: StyleScaler, *, genre: str | None = None,
                 k: int = 10, filters: Filters = Filters(), exact: bool = False) -> list[Hit]:
    """The ``k`` catalogue songs nearest raw ``features`` and a raw ``style`` embedding in the
    style view, by mutual proximity (:mod:`batch.core.hubs`).

    The style embedding's index gives the :data:`batch.core.hubs.CANDIDATES` nearest songs
    within ``genre`` (:data:`batch.core.hubs.FILTERED_CANDIDATES` of those that meet
    ``filters``); the mutual proximity of their style-view similarity re-ranks them, so hubs
    fall back. A hit's similarity is the style view's cosine."""
    from batch.core import hubs

    q_numbers, q_style = scaler.units(features, style)
    candidates = hubs.FILTERED_CANDIDATES if filters else hubs.CANDIDATES
    found = _query(conn, "style_embedding", q_style, genre, max(k, candidates), filters, exact=exact,
                   extra=("1 - (embedding <=> %(numbers)s::vector)", "style_mu", "style_sd"),
                   extra_params={"numbers": vector_literal(q_numbers)})
    if not found:
        return []
    w = hubs.NUMBERS_WEIGHT
    similarity = np.array([w * r[3] + (1 - w) * r[2] for r in found])  # the view's cosine
    query_stats = hubs.distance_stats(hubs.sound_view(q_numbers, q_style), scaler.sample)[0]
    proximity = hubs.mutual_proximity(1.0 - similarity, query_stats, np.array([r[4:6] for r in found], np.float64))
    order = sorted(range(len(found)), key=lambda i: (-proximity[i], -similarity[i], found[i][0]))[:k]
    return [Hit(int(found[i][0]), found[i][1], float(similarity[i]), "style") for i in order]


def _query(conn, column: str, q: np.ndarray, genre, k, filters: Filters, *, exact: bool, extra: tuple = (),
           extra_params: dict | None = None):
    """The ``k`` rows nearest unit vector ``q`` in ``column``: (track_id, genre, similarity,
    *extra) rows when ``extra`` names SQL expressions (this module's own, with ``extra_params``),
    else :class:`Hit` s. A filtered search scans the index iteratively (pgvector's
    ``hnsw.iterative_scan``) until it has ``k`` rows that qualify."""
    conditions, params = filters.where()
    where = [f"{column} IS NOT NULL", *(["genre_top = %(genre)s"] if genre is not None else []),
             *([conditions] if conditions else [])]
    inner = "".join(f", {c} AS extra_{i}" for i, c in enumerate(extra))
    outer = "".join(f", extra_{i}" for i in range(len(extra)))
    with conn.cursor() as cur:
        if exact:
            cur.execute("SET LOCAL enable_indexscan = off")
        else:
            cur.execute("SET LOCAL hnsw.ef_search = %s", (max(EF_SEARCH, k),))
            cur.execute("SET LOCAL hnsw.iterative_scan = %s", ("relaxed_order" if filters else "off",))
        cur.execute(
            f"""SELECT track_id, genre_top, 1 - (d)::float8 AS similarity{outer} FROM (
                    SELECT track_id, genre_top{inner}, {column} <=> %(q)s::vector AS d FROM track_vectors
                    WHERE {' AND '.join(where)} ORDER BY d LIMIT %(k)s) nearest
                ORDER BY d""",
            {"q": vector_literal(q), "genre": genre, "k": k, **params, **(extra_params or {})},
        )
        rows = cur.fetchall()
        if exact:
            cur.execute("SET LOCAL enable_indexscan = on")
    return rows if extra else [Hit(int(t), g, float(s)) for t, g, s in rows]


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
