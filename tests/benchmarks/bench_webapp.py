"""Server time of a search: a 30 s mp3 upload against a 100,000-song catalogue, ours vs the reference.

The catalogue is bench_search's synthetic 100,000 tracks (with a synthetic style embedding,
tempo and key) plus the real vectors and style of the rendered music clips, loaded with the product's loader into a fresh embedded
PostgreSQL, with 300,000 TikTok videos matched to 20,000 of its songs. Each request
is a real ``POST /api/search`` through the app (Flask's test client, in process): decode,
vectorise, scale, pgvector search, songs, charts and TikTok uses.

Each upload is timed twice in the same run: with the style model (the default: the learned
embedding, tempo and key, and the style view's search) and without it (``STYLE_MODEL=0``:
the 245 numbers' search), and the script prints the ratio.

The reference approach answers the same upload as the reference app did: vectorise,
load the genre's raw vectors from the store, and rank them by Euclidean distance on
unscaled features, per request.

Usage: python tests/benchmarks/bench_webapp.py [--tracks N] [--requests R]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_load import videos  # noqa: E402
from bench_search import catalogue, top_level_genres, write_featurize_output  # noqa: E402

from batch.core.features import vectorize  # noqa: E402
from batch.core.fingerprint import analyse  # noqa: E402
from batch.core.style import describe  # noqa: E402
from batch.store import db  # noqa: E402
from batch.store.load import load_catalogue, load_tiktok  # noqa: E402
from tests import music  # noqa: E402
from webapp import create_app  # noqa: E402


def reference_search(conn, path: Path, genre: str, k: int = 10) -> list[int]:
    """The reference app: load the genre's vectors per request, Euclidean on unscaled features."""
    query = vectorize(path)
    with conn.cursor() as cur:
        cur.execute("SELECT track_id, features FROM track_vectors WHERE genre_top = %s", (genre,))
        rows = cur.fetchall()
    conn.rollback()
    ids = np.array([r[0] for r in rows])
    matrix = np.array([r[1] for r in rows], dtype=np.float32)
    return ids[np.argsort(np.linalg.norm(matrix - query, axis=1))[:k]].tolist()


def bench_clips() -> list[Path]:
    """The rendered music clips (30 s 44.1 kHz stereo mp3s), made once under var/bench-music."""
    clips_dir = ROOT / "var" / "bench-music"
    clips = [clips_dir / (p.replace("/", "_") + ".mp3") for p in music.PIECES]
    for piece, path in zip(music.PIECES, clips):
        if not path.exists():
            music.render(piece, path)
    return clips


def build_store(tmp: Path, n_tracks: int, clips: list[Path], rng):
    """A fresh embedded PostgreSQL in ``tmp`` with ``n_tracks`` synthetic songs, the clips'
    real vectors and 300,000 TikTok videos matched to the catalogue; (server, url)."""
    genres = top_level_genres()
    features, genre_idx, _ = catalogue(n_tracks, genres, rng)
    write_featurize_output(tmp / "out", features, genre_idx, genres, rng)
    real = tmp / "out" / "vectors" / "genre_top=Classical" / "real.parquet"
    described = []
    for path in clips:
        vector, _, clip = analyse(path)
        described.append((vector, describe(clip.y, clip.sr, vector)))
    pq.write_table(pa.table({"track_id": pa.array(np.arange(len(clips)) + 10_000_000, pa.int64()),
                             "vector": [v for v, _ in described], "style": [s.embedding for _, s in described],
                             "bpm": [s.bpm for _, s in described],
                             "key_tonic": pa.array([s.tonic for _, s in described], pa.int8()),
                             "key_mode": [s.mode for _, s in described],
                             "key_confidence": [s.key_confidence for _, s in described],
                             "source_path": [str(c) for c in clips]}), real)
    server = db.embedded_server(tmp / "pgdata", keep_running=False)
    url = server.get_uri()
    conn = db.connect(url)
    db.migrate(conn)
    load_catalogue(conn, tmp / "out")
    v = videos(300_000, rng)
    pq.write_table(v, tmp / "videos.parquet")
    sounds = np.unique(v.column("music_id").to_numpy(zero_copy_only=False))
    tracks = rng.choice(n_tracks, size=len(sounds))
    pq.write_table(pa.table({"fma_track_id": pa.array(tracks, pa.int64()), "tiktok_music_id": sounds,
                             "title_score": np.ones(len(sounds)), "artist_score": np.ones(len(sounds)),
                             "total_score": np.ones(len(sounds))}), tmp / "matches.parquet")
    load_tiktok(conn, tmp / "videos.parquet", matches=tmp / "matches.parquet")
    conn.close()
    print(f"catalogue {n_tracks + len(clips):,} tracks; {len(v):,} TikTok videos on {len(sounds):,} sounds")
    return server, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000, help="catalogue size (default 100000)")
    parser.add_argument("--requests", type=int, default=20, help="requests per case (default 20)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    clips = bench_clips()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server, url = build_store(tmp, args.tracks, clips, rng)
        conn = db.connect(url)
        clients = {style: create_app({"DATABASE_URL": url, "STYLE_MODEL": style}).test_client()
                   for style in (1, 0)}
        uploads = [(c.read_bytes(), c.name) for c in clips]

        def ours(genre, style=1):
            data, name = uploads[ours.i % len(uploads)]
            ours.i += 1
            started = time.perf_counter()
            response = clients[style].post("/api/search", data={"file": (io.BytesIO(data), name), "genre": genre},
                                   content_type="multipart/form-data")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.get_json()
            return elapsed
        ours.i = 0

        for genre in ("Classical", ""):  # warm-up: imports, filter banks, the model, pool, caches
            ours(genre)
            ours(genre, style=0)
        timings = {}
        for label, genre, style in (("ours, one genre", "Classical", 1), ("ours, all genres", "", 1),
                                    ("no style model, one genre", "Classical", 0),
                                    ("no style model, all", "", 0)):
            timings[label] = [ours(genre, style) for _ in range(args.requests)]
        reference = []
        for i in range(args.requests):
            started = time.perf_counter()
            reference_search(conn, clips[i % len(clips)], "Classical")
            reference.append(time.perf_counter() - started)
        timings["reference, one genre"] = reference
        conn.close()
        server.cleanup()

    print(f"\n{args.requests} requests per case, 30 s 44.1 kHz stereo mp3 uploads, server time")
    for label, values in timings.items():
        ms = 1000 * np.asarray(values)
        print(f"  {label:22s} p50 {np.median(ms):6.0f} ms   p95 {np.percentile(ms, 95):6.0f} ms")
    ours_ms = np.median(timings["ours, one genre"])
    ref_ms = np.median(timings["reference, one genre"])
    print(f"within a genre, ours takes {ours_ms / ref_ms:.2f}x the reference's time "
          f"({np.median(timings['no style model, one genre']) / ref_ms:.2f}x without the style model)")
    for scope, without in (("one genre", "no style model, one genre"), ("all genres", "no style model, all")):
        ratio = np.median(timings[f"ours, {scope}"]) / np.median(timings[without])
        print(f"with the style model, {scope}: {ratio:.2f}x the p50 without it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
