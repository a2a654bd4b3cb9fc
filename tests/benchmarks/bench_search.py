"""Search quality and latency: pgvector's per-genre HNSW top 10 against exact brute force.

Builds a 100,000-track catalogue in a fresh embedded PostgreSQL (or under
``DATABASE_URL``'s server, in a throwaway database), loads it with the product's own
loader, then runs held-out queries per genre and over all genres. Reports recall@10
of the indexed search against exact search, and the latency of both.

The vectors are synthetic but shaped like audio features, because recall on i.i.d.
random vectors says nothing (HNSW scores under 0.35 there): 16 genres, each with 40
sub-styles, tracks scattered around their sub-style in a 24-dimensional latent space,
mixed into 245 correlated features with per-feature scales from 0.01 to 3,000 (like
kurtosis next to centroid in Hz), plus feature noise.

Usage: python tests/benchmarks/bench_search.py [--tracks N] [--queries Q]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.core.metadata import (
    FMA_GENRES,  # noqa: E402
    read_genres,  # noqa: E402
)
from batch.store import (
    db,  # noqa: E402
    search,
)
from batch.store.embedding import vector_literal  # noqa: E402
from batch.store.load import load_catalogue  # noqa: E402

LATENT = 24


def top_level_genres() -> list[str]:
    """The 16 FMA top-level genre titles, sorted."""
    genres = read_genres(FMA_GENRES)
    return sorted(genres.loc[genres["is_top_level"], "title"])


def catalogue(n: int, genres: list[str], rng) -> tuple:
    """Features, genre index and a generator of held-out queries."""
    mixing = rng.normal(size=(LATENT, 245))
    scales = np.exp(rng.uniform(np.log(0.01), np.log(3000), 245))
    offsets = rng.normal(size=245) * scales
    genre_centres = rng.normal(0, 1.0, size=(len(genres), LATENT))
    styles = genre_centres[:, None, :] + rng.normal(0, 0.6, size=(len(genres), 40, LATENT))

    def draw(count):
        g = rng.integers(0, len(genres), count)
        s = rng.integers(0, 40, count)
        latent = styles[g, s] + rng.normal(0, 0.45, size=(count, LATENT))
        x = latent @ mixing + rng.normal(0, 0.3, size=(count, 245))
        return (x * scales + offsets).astype(np.float32), g

    features, genre_idx = draw(n)
    return features, genre_idx, draw


def write_featurize_output(folder: Path, features, genre_idx, genres, rng=None) -> None:
    """Lay the vectors out as batch.jobs.featurize would (parquet partitioned by genre_top);
    with ``rng``, also a style embedding (:func:`style_of`), tempos over 60-180 BPM and keys."""
    styles = None if rng is None else style_of(features, rng)
    for g, genre in enumerate(genres):
        rows = np.flatnonzero(genre_idx == g)
        part = folder / "vectors" / f"genre_top={genre.replace('/', '%2F')}"
        part.mkdir(parents=True)
        columns = {
            "track_id": pa.array(rows.astype(np.int64)),
            "vector": pa.array(list(features[rows])),
            "source_path": pa.array([f"/fma/{t:06d}.mp3" for t in rows]),
        }
        if styles is not None:
            columns.update({
                "style": pa.array(list(styles[rows])), "bpm": rng.uniform(60, 180, len(rows)),
                "key_tonic": pa.array(rng.integers(0, 12, len(rows)), pa.int8()),
                "key_mode": rng.choice(["major", "minor"], len(rows)),
                "key_confidence": rng.uniform(0.3, 0.9, len(rows))})
        pq.write_table(pa.table(columns), part / "part-0.parquet")


def style_of(features: np.ndarray, rng) -> np.ndarray:
    """A 200-number style embedding for synthetic songs: another view of the latent styles
    their features come from, so songs near in one are near in the other."""
    to_style = np.random.default_rng(1).normal(size=(245, 200))
    z = (features - features.mean(axis=0)) / features.std(axis=0)
    return (np.tanh(z @ to_style / 16) + rng.normal(0, 0.05, (len(features), 200))).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000, help="catalogue size (default 100000)")
    parser.add_argument("--queries", type=int, default=20, help="queries per genre (default 20)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    genres = top_level_genres()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        features, genre_idx, draw = catalogue(args.tracks, genres, rng)
        write_featurize_output(tmp / "out", features, genre_idx, genres)
        server = db.embedded_server(tmp / "pgdata", keep_running=False)
        conn = db.connect(server.get_uri())
        db.migrate(conn)
        started = time.perf_counter()
        result = load_catalogue(conn, tmp / "out")
        print(f"{result.line()}  (HNSW indexes built during the load: "
              f"{time.perf_counter() - started:.0f} s)")
        scaler = search.load_scaler(conn)

        recalls, fast_ms, exact_ms, all_recalls = [], [], [], []
        queries, query_genres = draw(args.queries * len(genres))
        for q, g in zip(queries, query_genres):
            genre = genres[g]
            t0 = time.perf_counter()
            hits = search.search(conn, q, genre=genre, k=10, scaler=scaler)
            t1 = time.perf_counter()
            truth = search.exact_search(conn, q, genre=genre, k=10, scaler=scaler)
            t2 = time.perf_counter()
            assert all(h.genre_top == genre for h in hits)
            fast_ms.append(1000 * (t1 - t0))
            exact_ms.append(1000 * (t2 - t1))
            recalls.append(len({h.track_id for h in hits} & {h.track_id for h in truth}) / 10)
        with conn.cursor() as cur:
            cur.execute("SET LOCAL hnsw.ef_search = %s", (search.EF_SEARCH,))
            cur.execute("EXPLAIN SELECT track_id FROM track_vectors WHERE genre_top = %s "
                        "ORDER BY embedding <=> %s::vector LIMIT 10",
                        (genres[0], vector_literal(np.ones(245))))
            plan = [row[0].strip() for row in cur.fetchall()]
        conn.rollback()
        print("plan of a genre search: " + " / ".join(line for line in plan if "Scan" in line))
        all_fast, all_exact = [], []
        for q in queries[: 3 * len(genres)]:
            t0 = time.perf_counter()
            hits = search.search(conn, q, k=10, scaler=scaler)
            t1 = time.perf_counter()
            truth = search.exact_search(conn, q, k=10, scaler=scaler)
            t2 = time.perf_counter()
            all_fast.append(1000 * (t1 - t0))
            all_exact.append(1000 * (t2 - t1))
            all_recalls.append(len({h.track_id for h in hits} & {h.track_id for h in truth}) / 10)
        conn.close()
        server.cleanup()

    print(f"\n{args.tracks:,} tracks, {len(recalls)} queries within a genre "
          f"({args.queries} per genre), ef_search {search.EF_SEARCH}")
    print(f"  recall@10 within a genre: mean {np.mean(recalls):.3f}, worst query {np.min(recalls):.1f}")
    print(f"  recall@10 over all genres: mean {np.mean(all_recalls):.3f} ({len(all_recalls)} queries)")
    for label, f_ms, e_ms in (("within a genre", fast_ms, exact_ms),
                              ("over all genres", all_fast, all_exact)):
        f, e = np.median(f_ms), np.median(e_ms)
        verdict = (f"HNSW is {e / f:.1f}x faster than exact" if f < e
                   else f"exact is {f / e:.1f}x faster than HNSW")
        print(f"  latency {label}: HNSW p50 {f:.2f} ms (p95 {np.percentile(f_ms, 95):.2f}), "
              f"exact p50 {e:.2f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
