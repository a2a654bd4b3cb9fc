"""Watches: every run identifies the watched songs in the sounds no run has checked, once,
kill-safe, and a watch's rows are the owner's until the owner deletes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch.core.fingerprint import FRAME_SECONDS, Peaks
from batch.listening import watch
from batch.store import db, watches
from tests.test_shards import cut, peaks_of, song
from tests.test_store import matches_parquet, videos_parquet

ROOT = Path(__file__).resolve().parents[1]


def write_sounds(folder: Path, sounds: dict[str, Peaks | None]) -> Path:
    """``sounds/`` as the listen step writes it (the columns identification reads); None is a
    sound whose audio could not be used."""
    (folder / "sounds").mkdir(parents=True, exist_ok=True)
    names = list(sounds)
    pq.write_table(pa.table({
        "music_id": names,
        "peak_t": pa.array([None if p is None else p.t.tolist() for p in sounds.values()], pa.list_(pa.int16())),
        "peak_f": pa.array([None if p is None else p.lf.tolist() for p in sounds.values()], pa.list_(pa.float32())),
        "peak_rank": pa.array([None if p is None else p.rank.tolist() for p in sounds.values()], pa.list_(pa.int8())),
        "error": [("not audio" if p is None else None) for p in sounds.values()],
    }), folder / "sounds" / "part-0.parquet")
    return folder


def new_watch(conn, seed: int, name: str) -> tuple[int, str]:
    peaks = peaks_of(song(seed)).reference()
    return watches.create(conn, file_name=name, genre="Rock", duration=60.0, peak_t=peaks.t, peak_f=peaks.lf)


def rows(conn, sql: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql)
        found = cur.fetchall()
    conn.rollback()
    return found


@pytest.fixture
def conn(store):
    with store.cursor() as cur:
        cur.execute("TRUNCATE watches, watch_uses, watch_checked_sounds")
    store.commit()
    return store


@pytest.fixture(scope="module")
def sounds():
    return {"a-at-10": cut(3, 10.0), "a-faster": cut(3, 30.0, 1.25), "b-at-5": cut(5, 5.0),
            "elsewhere": cut(77, 10.0), "broken": None}


def test_a_run_finds_each_watched_song_once_with_its_place_and_speed(spark, conn, sounds, tmp_path):
    a, _ = new_watch(conn, 3, "my song.mp3")
    first = watch.check(conn, lambda: spark, write_sounds(tmp_path, {k: sounds[k] for k in
                                                                     ("a-at-10", "b-at-5", "elsewhere", "broken")}),
                        run_id="run-1", log=lambda m: None)
    assert (first.watches, first.checked, first.found) == (1, 3, 1)  # the broken sound is not checked
    [(watch_id, music_id, offset, speed, run_id)] = rows(conn, "SELECT watch_id, music_id, offset_s, speed, run_id "
                                                               "FROM watch_uses")
    assert (watch_id, music_id, run_id) == (a, "a-at-10", "run-1")
    assert abs(offset - 10.0) <= 2 * FRAME_SECONDS * 2 and abs(speed - 1.0) < 0.01

    again = watch.check(conn, lambda: pytest.fail("a rerun with nothing new must not start Spark"),
                        tmp_path, run_id="run-2", log=lambda m: None)
    assert (again.checked, again.found) == (0, 0)
    assert len(rows(conn, "SELECT * FROM watch_uses")) == 1

    write_sounds(tmp_path, {k: sounds[k] for k in ("a-at-10", "b-at-5", "elsewhere", "broken", "a-faster")})
    later = watch.check(conn, lambda: spark, tmp_path, run_id="run-3", log=lambda m: None)
    assert (later.checked, later.found) == (1, 1)
    [(speed, run_id)] = rows(conn, "SELECT speed, run_id FROM watch_uses WHERE music_id = 'a-faster'")
    assert abs(speed - 1.25) < 0.02 and run_id == "run-3"


def test_a_new_watch_is_searched_for_in_every_sound_already_checked(spark, conn, sounds, tmp_path):
    new_watch(conn, 3, "a.wav")
    write_sounds(tmp_path, {k: sounds[k] for k in ("a-at-10", "b-at-5", "elsewhere")})
    watch.check(conn, lambda: spark, tmp_path, run_id="run-1", log=lambda m: None)
    b, _ = new_watch(conn, 5, "b.wav")  # after every sound was checked
    found = watch.check(conn, lambda: spark, tmp_path, run_id="run-2", log=lambda m: None)
    assert (found.checked, found.found) == (0, 1)
    assert rows(conn, "SELECT watch_id, music_id, run_id FROM watch_uses ORDER BY music_id") == [
        (b - 1, "a-at-10", "run-1"), (b, "b-at-5", "run-2")]
    assert rows(conn, "SELECT bool_and(checked) FROM watches") == [(True,)]


def test_tokens_open_only_their_watch_and_a_deleted_watch_leaves_nothing(spark, conn, sounds, tmp_path):
    a, token_a = new_watch(conn, 3, "a.wav")
    b, token_b = new_watch(conn, 5, "b.wav")
    watch.check(conn, lambda: spark, write_sounds(tmp_path, {k: sounds[k] for k in ("a-at-10", "b-at-5")}),
                run_id="run-1", log=lambda m: None)
    assert len(token_a) == 32 and token_a != token_b  # 24 random bytes, URL-safe
    assert watches.find(conn, token_a)["watch_id"] == a and watches.find(conn, token_b)["watch_id"] == b
    for wrong in (token_a[:-1] + ("A" if token_a[-1] != "A" else "B"), token_a[:10], "", None, "../" * 11,
                  token_a + "x"):
        assert watches.find(conn, wrong) is None and watches.delete(conn, wrong) is False
    stored = rows(conn, "SELECT * FROM watches")
    assert not any(token_a in str(value) or token_b in str(value) for row in stored for value in row)

    assert watches.delete(conn, token_a) is True
    assert watches.find(conn, token_a) is None and watches.delete(conn, token_a) is False
    assert rows(conn, f"SELECT count(*) FROM watches WHERE watch_id = {a}") == [(0,)]
    assert rows(conn, f"SELECT count(*) FROM watch_uses WHERE watch_id = {a}") == [(0,)]
    assert rows(conn, "SELECT watch_id, music_id FROM watch_uses") == [(b, "b-at-5")]


def test_loads_and_migrations_keep_the_watches(spark, conn, sounds, tmp_path):
    from batch.store.load import load_tiktok

    a, token = new_watch(conn, 3, "a.wav")
    watch.check(conn, lambda: spark, write_sounds(tmp_path, {"a-at-10": sounds["a-at-10"]}), run_id="run-1",
                log=lambda m: None)
    before = rows(conn, "SELECT * FROM watch_uses"), rows(conn, "SELECT * FROM watch_checked_sounds")
    for _ in range(2):  # the derived tables are rebuilt and swapped in, twice
        load_tiktok(conn, videos_parquet(tmp_path / "v.parquet", [{"video_id": "v1", "music_id": "a-at-10",
                                                                    "song_title": "x"}]),
                    matches=matches_parquet(tmp_path / "m.parquet", []))
        assert db.migrate(conn) == []
    assert (rows(conn, "SELECT * FROM watch_uses"), rows(conn, "SELECT * FROM watch_checked_sounds")) == before
    assert watches.find(conn, token)["watch_id"] == a


KILLED = """
import sys
from batch.listening import watch
from batch.spark.session import get_spark
from batch.store import db
conn = db.connect(sys.argv[1])
print(watch.check(conn, lambda: get_spark("killed", "local[1]"), sys.argv[2], run_id="killed",
                  log=lambda m: print(m, flush=True)).line(), flush=True)
"""


def test_a_run_killed_during_identification_leaves_every_watch_as_it_was(store_url, spark, conn, sounds,
                                                                           tmp_path):
    new_watch(conn, 3, "a.wav")
    write_sounds(tmp_path, {k: sounds[k] for k in ("a-at-10", "b-at-5")})
    watch.check(conn, lambda: spark, tmp_path, run_id="run-1", log=lambda m: None)
    new_watch(conn, 5, "b.wav")
    write_sounds(tmp_path, {k: sounds[k] for k in ("a-at-10", "b-at-5", "a-faster")})
    before = [rows(conn, f"SELECT * FROM {t} ORDER BY 1, 2") for t in ("watch_uses", "watch_checked_sounds")]
    before.append(rows(conn, "SELECT watch_id, checked FROM watches ORDER BY 1"))

    proc = subprocess.Popen([sys.executable, "-c", KILLED, store_url, str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        if line.startswith("[watches] identifying") or time.monotonic() > deadline:
            break
    assert proc.poll() is None, "the run ended before it identified anything"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = [rows(conn, f"SELECT * FROM {t} ORDER BY 1, 2") for t in ("watch_uses", "watch_checked_sounds")]
    after.append(rows(conn, "SELECT watch_id, checked FROM watches ORDER BY 1"))
    assert after == before

    done = watch.check(conn, lambda: spark, tmp_path, run_id="run-3", log=lambda m: None)
    assert (done.checked, done.found) == (1, 2)  # a-faster for a; b-at-5 for the new watch b
    assert len(rows(conn, "SELECT * FROM watch_uses")) == 3
    assert np.all([r[0] for r in rows(conn, "SELECT checked FROM watches")])
