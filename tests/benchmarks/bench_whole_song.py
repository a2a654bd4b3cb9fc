"""A whole song against its 30 s clip: server time of ``POST /api/search``, and what each hears.

The store holds real whole recordings (game soundtracks from Debian packages, 3 to 4
minutes, none a loop) and ``--songs`` generated 4-minute songs, all fingerprinted whole,
and TikTok sounds: 15 s excerpts cut from five places in each real song (most outside
its middle 30 s), a sped-up cut, and ``--sounds`` excerpts of generated songs. Each real
song is uploaded whole and as its middle 30 s, in turns, through the app (Flask's test
client, in process): decode, vector, fingerprint, the two store lookups, the vector
searches and the videos.

Reports each case's p50 and p95, the ratio of the whole song's p50 to the clip's (the
goal is 3x or less), and how many of the song's sounds each upload finds, inside and
outside the middle 30 s.

    .venv/bin/python tests/benchmarks/bench_whole_song.py [--songs 1000] [--sounds 1000] [--requests 10]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_identify import song  # noqa: E402
from bench_search import catalogue, top_level_genres  # noqa: E402

from batch.core.audio import SR  # noqa: E402
from batch.core.fingerprint import analyse  # noqa: E402
from batch.store import db  # noqa: E402
from batch.store.load import load_catalogue, load_tiktok  # noqa: E402
from tests import edits  # noqa: E402
from tests.test_fingerprint import peaks_of  # noqa: E402
from tests.test_store import videos_parquet  # noqa: E402
from webapp import create_app  # noqa: E402

SECONDS = 240.0
"""Length of the generated songs, and the longest part of a real recording that is uploaded."""
PACKAGES = ("frozen-bubble-data", "freedink-data")
"""Debian packages whose real recordings run 3 to 5 minutes, none of them a loop."""
CUTS = (0.05, 0.25, 0.45, 0.65, 0.85)
"""Where the excerpts start, as shares of each song's length; whether each overlaps the
middle 30 s depends on the length (see ``inside``)."""
SOUND_SECONDS = 15.0


def inside(start: float, length: float) -> bool:
    """True when an excerpt from ``start`` overlaps the middle 30 s of a song ``length`` s long."""
    return start < length / 2 + 15 and start + SOUND_SECONDS > length / 2 - 15


def whole_songs(work: Path) -> list[Path]:
    """Real recordings of at least 170 s, their first 4 minutes as 44.1 kHz stereo mp3s, made once."""
    import soundfile as sf

    paths = []
    for source in edits.game_music(work / "packages", PACKAGES, min_seconds=170):
        path = work / f"whole_{source.parent.name}_{source.stem}.mp3"
        if not path.exists():
            edits.clip(source, path, start=0.0, seconds=min(SECONDS, sf.info(str(source)).duration))
        paths.append(path)
    return paths


def sf_seconds(path: Path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration


def _generated(seed: int):
    y = song(seed, SECONDS)
    peaks = peaks_of(y)
    cut = y[int(30 * SR): int((30 + SOUND_SECONDS) * SR)]
    return seed, peaks.reference(), peaks_of(cut)


def build_store(tmp: Path, songs: list[Path], n_songs: int, n_sounds: int, rng):
    """Catalogue, sounds and videos in a fresh embedded PostgreSQL; (server, url, truth)."""
    genres = top_level_genres()
    features, genre_idx, _ = catalogue(n_songs + len(songs), genres, rng)
    started = time.perf_counter()
    with Pool(2) as pool:
        generated = pool.map(_generated, range(1, n_songs + 1), chunksize=16)
    print(f"{n_songs:,} generated 4-minute songs fingerprinted in {time.perf_counter() - started:.0f} s")
    real = [analyse(str(p)) for p in songs]
    ids = np.arange(len(songs) + n_songs, dtype=np.int64)
    vectors = [a[0] for a in real] + list(features[len(songs):])
    peaks = [a[1].reference() for a in real] + [g[1] for g in generated]
    folder = tmp / "out" / "vectors" / "genre_top=Classical"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({
        "track_id": ids, "vector": vectors,
        "peak_t": pa.array([p.t for p in peaks], pa.list_(pa.int16())),
        "peak_f": pa.array([p.lf for p in peaks], pa.list_(pa.float32())),
        "source_path": [str(p) for p in songs] + [f"/generated/{i}.mp3" for i in range(n_songs)],
    }), folder / "part-0.parquet")

    sounds, truth = {}, {}  # music_id -> analysis; music_id -> (song, start, inside)
    for i, (path, a) in enumerate(zip(songs, real)):
        length = a[2].duration
        for share in CUTS:
            start = round(share * (length - SOUND_SECONDS), 1)
            q = edits.edit("excerpt", path, tmp / f"s{i}_{share}.mp3", start=start, seconds=SOUND_SECONDS)
            sounds[f"s{i}_{share}"], truth[f"s{i}_{share}"] = analyse(str(q)), (i, start, inside(start, length))
        start = round(0.75 * (length - SOUND_SECONDS * 1.25), 1)
        q = edits.edit("sped_up", path, tmp / f"s{i}_sped.mp3", start=start, seconds=SOUND_SECONDS)
        sounds[f"s{i}_sped"], truth[f"s{i}_sped"] = analyse(str(q)), (i, start, inside(start, length))
    other = [g[2] for g in generated[:n_sounds]]
    names = list(sounds) + [f"g{i}" for i in range(len(other))]
    table = pa.table({
        "music_id": names,
        "vector": [a[0] for a in sounds.values()] + list(features[: len(other)]),
        "duration": [a[2].duration for a in sounds.values()] + [SOUND_SECONDS] * len(other),
        "peak_t": pa.array([a[1].t for a in sounds.values()] + [p.t for p in other], pa.list_(pa.int16())),
        "peak_f": pa.array([a[1].lf for a in sounds.values()] + [p.lf for p in other], pa.list_(pa.float32())),
        "peak_rank": pa.array([a[1].rank for a in sounds.values()] + [p.rank for p in other],
                              pa.list_(pa.int8())),
        "error": pa.nulls(len(names), pa.string()),
    })
    (tmp / "sounds").mkdir()
    pq.write_table(table, tmp / "sounds" / "part-0.parquet")
    videos = [{"video_id": f"v{k}", "music_id": m, "song_title": "original sound", "play_count": 100 + k,
               "video_url": f"https://www.tiktok.com/@u/video/{k}"} for k, m in enumerate(names)]
    server = db.embedded_server(tmp / "pgdata", keep_running=False)
    url = server.get_uri()
    conn = db.connect(url)
    db.migrate(conn)
    load_catalogue(conn, tmp / "out")
    load_tiktok(conn, videos_parquet(tmp / "v.parquet", videos), sounds=tmp / "sounds")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM track_fingerprints")
        tracks_rows = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM sound_fingerprints")
        sound_rows = cur.fetchone()[0]
    conn.close()
    print(f"store: {len(ids):,} whole songs ({tracks_rows:,} landmarks), {len(names):,} sounds "
          f"({sound_rows:,} landmarks)")
    return server, url, truth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=1000, help="generated whole songs (default 1000)")
    parser.add_argument("--sounds", type=int, default=1000, help="sounds cut from them (default 1000)")
    parser.add_argument("--requests", type=int, default=10, help="uploads per song and case (default 10)")
    args = parser.parse_args()
    if args.sounds > args.songs:
        parser.error("--sounds must not exceed --songs: each generated sound is cut from one song")
    rng = np.random.default_rng(0)
    songs = whole_songs(ROOT / "var" / "bench-music")
    print(f"{len(songs)} real recordings of {', '.join(f'{sf_seconds(p):.0f}' for p in songs)} s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server, url, truth = build_store(tmp, songs, args.songs, args.sounds, rng)
        clips = [edits.clip(p, tmp / f"clip{i}.mp3", start=sf_seconds(p) / 2 - 15, seconds=30.0)
                 for i, p in enumerate(songs)]
        client = create_app({"DATABASE_URL": url}).test_client()

        def post(path: Path):
            started = time.perf_counter()
            response = client.post("/api/search", data={"file": (io.BytesIO(path.read_bytes()), path.name)},
                                   content_type="multipart/form-data")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.get_json()
            return elapsed, response.get_json()

        post(clips[0]), post(songs[0])  # warm-up: imports, compiled kernels, the pool
        times = {"30 s clip": [], "whole song": []}
        found = {"30 s clip": [], "whole song": []}  # (sound, found, found at its place)
        for _ in range(args.requests):
            for i in range(len(songs)):
                for case, path in (("30 s clip", clips[i]), ("whole song", songs[i])):
                    elapsed, body = post(path)
                    times[case].append(elapsed)
                    if len(found[case]) < len(truth):
                        heard = {s["music_id"]: s for s in body["tiktok_sounds_containing"]}
                        for name, (owner, start, _) in truth.items():
                            if owner == i:
                                hit = heard.get(name)
                                at = start - (sf_seconds(songs[i]) / 2 - 15
                                              if case == "30 s clip" else 0)
                                found[case].append((name, hit is not None,
                                                    hit is not None and abs(hit["offset"] - at) < 1.0))
                        wrong = [m for m in heard if truth.get(m, (None,))[0] != i]
                        assert not wrong, f"{path.name} heard in other songs' sounds: {wrong}"
        server.cleanup()

    print(f"\n{args.requests} uploads of each of {len(songs)} real songs per case, server time "
          "(flask test client)")
    for case, values in times.items():
        ms = 1000 * np.asarray(values)
        print(f"  {case:12s} p50 {np.median(ms):6.0f} ms   p95 {np.percentile(ms, 95):6.0f} ms")
    ratio = np.median(times["whole song"]) / np.median(times["30 s clip"])
    print(f"a whole song ({np.mean([sf_seconds(p) for p in songs]):.0f} s on average) takes {ratio:.2f}x "
          "the time of its middle 30 s (goal: 3x or less)")
    for case, rows in found.items():
        for where, want in (("inside the middle 30 s", True), ("outside it", False)):
            picked = [(hit, placed) for name, hit, placed in rows if truth[name][2] is want]
            print(f"  {case:12s} finds {sum(h for h, _ in picked)} of {len(picked)} sounds cut {where} "
                  f"({sum(p for _, p in picked)} at the right place; a song may repeat a part)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
