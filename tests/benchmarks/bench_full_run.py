"""The full-size run, measured: a 25M-record dump through parse + dedupe + match, then the store load,
then hashtag suggestions on the loaded store.

Steps, each timed with the peak resident memory of its process tree (the Spark driver's
JVM, which also runs the executors on a local master, plus its Python workers; the loader
plus PostgreSQL) sampled every second, and the disk each output takes:

1. ``gen_dump.py`` writes the dump (skipped with ``--dump DIR``);
2. ``python -m text_pipeline.jobs.match`` on it against the 48,311 real FMA titles;
3. ``python -m batch.store.load tiktok`` into a fresh embedded PostgreSQL;
4. ``/api/hashtags``' ranking for #fyp (``webapp.hashtags.suggestions``) against the live
   aggregation it replaced, on the same store.

Not part of the test suite. On the 2-core machine it takes about an hour.

    .venv/bin/python tests/benchmarks/bench_full_run.py --work DIR [--records 25000000] [--dump DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))


def run_step(name: str, command: list[str], env: dict, also=lambda: []) -> dict:
    """Run ``command``; its wall time, the peak RSS of its tree (plus the processes ``also()``
    gives), and its output lines."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    peak, stop = {"tree": 0}, threading.Event()

    def sample():
        root = psutil.Process(proc.pid)
        while not stop.wait(1.0):
            try:
                tree = [root, *root.children(recursive=True), *also()]
                peak["tree"] = max(peak["tree"], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    for line in proc.stdout:
        stamp = f"[{time.perf_counter() - started:7.0f} s] {line.rstrip()}"
        print(f"  {name}: {stamp}", flush=True)
        lines.append(stamp)
    proc.wait()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    return {"seconds": time.perf_counter() - started, "peak_gb": peak["tree"] / 1e9, "lines": lines}


def disk_gb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e9


def postgres_processes(pgdata: Path):
    """A function giving the server's processes now (backends come and go)."""
    master = psutil.Process(int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0]))
    return lambda: [master, *master.children(recursive=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, type=Path, help="folder for the dump, outputs and store")
    parser.add_argument("--records", type=int, default=25_000_000)
    parser.add_argument("--dump", type=Path, help="an existing dump folder (skips generating one)")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "EMBEDDED_PGDATA": str(work / "pgdata")}
    env.pop("DATABASE_URL", None)
    figures = {}

    dump = args.dump
    if dump is None:
        dump = work / "dump"
        if not any(dump.glob("*.gz")):
            from gen_dump import write_dump

            started = time.perf_counter()
            write_dump(dump, args.records, shards=8)
            figures["generate"] = {"seconds": time.perf_counter() - started, "peak_gb": float("nan")}
    tracks = work / "tracks.csv"
    if not tracks.exists():
        from bench_match import wheel_dict

        from batch.demo.corpus import write_tracks_csv

        fma = wheel_dict("discovermidi/gas/fma_top_genres_artists_songs.py")
        rows = [(g, a, t) for g, artists in fma.items() for a, titles in artists.items() for t in titles]
        write_tracks_csv(tracks, [{"track_id": i + 2, "title": t, "artist": a, "album": "", "genre_top": g,
                                   "genres_all": "[]", "listens": 0, "duration": 30}
                                  for i, (g, a, t) in enumerate(rows)])

    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    figures["match"] = run_step("match", [sys.executable, "-m", "text_pipeline.jobs.match", "--tracks", str(tracks),
                                          "--tiktok", str(dump), "--out", str(out)], env)
    from batch.store import db

    shutil.rmtree(work / "pgdata", ignore_errors=True)
    url = db.embedded_server(work / "pgdata").get_uri()
    conn = db.connect(url)
    db.migrate(conn)
    figures["load"] = run_step("load", [sys.executable, "-m", "batch.store.load", "tiktok", "--videos",
                                        str(out / "tiktok"), "--matches", str(out / "matches")], env,
                               also=postgres_processes(work / "pgdata"))

    from psycopg2.extras import execute_values

    from batch.core.metadata import FMA_GENRES, read_genres, read_tracks
    from text_pipeline.core.engagement import ENGAGEMENT
    from webapp.hashtags import suggestions

    catalogue = read_tracks(tracks, read_genres(FMA_GENRES))
    with conn.cursor() as cur:  # the songs' names, for the songs half of the suggestions
        execute_values(cur, "INSERT INTO tracks (track_id, title, artist, genre_top) VALUES %s",
                       list(catalogue[["track_id", "title", "artist", "genre_top"]].itertuples(index=False)))
    conn.commit()
    times = []
    for _ in range(21):
        started = time.perf_counter()
        found = suggestions(conn, ["fyp"], limit=10, videos_per=12)
        conn.rollback()
        times.append(time.perf_counter() - started)
    live = []
    for _ in range(3):
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(f"""SELECT music_id, count(*), sum({ENGAGEMENT})::bigint AS score FROM tiktok_videos
                            WHERE hashtags && ARRAY['fyp'] GROUP BY music_id ORDER BY score DESC LIMIT 10""")
            top = cur.fetchall()
        conn.rollback()
        live.append(time.perf_counter() - started)
    same = [(s["music_id"], s["video_count"], s["score"]) for s in found["sounds"]] == top
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE hashtags && ARRAY['fyp']) FROM tiktok_videos")
        videos, fyp = cur.fetchone()
    conn.close()

    print(f"\nfull run on {os.cpu_count()} cores: {videos:,} videos in the store, {fyp:,} with #fyp")
    records = args.records
    for name, f in figures.items():
        rate = f" {records / f['seconds']:,.0f} records/s" if name != "load" else f" {videos / f['seconds']:,.0f} rows/s"
        print(f"  {name:<9} {f['seconds'] / 60:6.1f} min  peak {f['peak_gb']:5.1f} GB {rate}")
    for line in figures["match"]["lines"]:
        if "[match] parsed" in line or "sounds matched in all" in line or "matching" in line:
            print(f"    {line}")
    print(f"  disk: dump {disk_gb(dump):.1f} GB, match output {disk_gb(out):.1f} GB, "
          f"store {disk_gb(work / 'pgdata'):.1f} GB")
    print(f"  /api/hashtags?tags=fyp ranking: p50 {np.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"(live aggregation: {np.median(live) * 1000:.0f} ms); same top 10 as the live query: {same}")
    db.stop_embedded(work / "pgdata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
