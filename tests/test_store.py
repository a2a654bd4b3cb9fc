"""The PostgreSQL store against a real server: migrations, atomic loads, partitions and search."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch.core.features import N_FEATURES
from batch.store import db, search
from batch.store.embedding import embed, scaler_of
from batch.store.load import LoadError, load_catalogue, load_tiktok
from text_pipeline.core.engagement import ENGAGEMENT

GENRES = ("Rock", "Jazz", "Hip-Hop")


def count(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        value = cur.fetchone()[0]
    conn.rollback()
    return value


def featurize_output(folder: Path, n_per_genre=12, seed=0, duplicate_track=False, style=False) -> tuple:
    """Write what batch.jobs.featurize writes: vectors partitioned by genre, and tracks;
    with ``style``, each genre's songs also get a style embedding near the genre's own, a
    tempo of 60 + 10 g + i and the key of tonic ``i % 12``, minor for odd ``i``."""
    rng = np.random.default_rng(seed)
    ids, features, genres = [], [], []
    for g, genre in enumerate(GENRES):
        centre = rng.normal(size=N_FEATURES) * 5
        x = (centre + rng.normal(size=(n_per_genre, N_FEATURES))).astype(np.float32)
        x[:, -1] *= 1000  # a feature in Hz dwarfs the others until scaled
        tids = 1000 * (g + 1) + np.arange(n_per_genre)
        part = folder / "vectors" / f"genre_top={genre}"
        part.mkdir(parents=True)
        columns = {"track_id": tids, "vector": list(x),
                   "source_path": [f"/audio/{t:06d}.mp3" for t in tids]}
        if style:
            axis = rng.normal(size=200)
            columns.update(style=list((axis + 0.3 * rng.normal(size=(n_per_genre, 200))).astype(np.float32)),
                           bpm=[60.0 + 10 * g + i for i in range(n_per_genre)],
                           key_tonic=pa.array([i % 12 for i in range(n_per_genre)], pa.int8()),
                           key_mode=["minor" if i % 2 else "major" for i in range(n_per_genre)],
                           key_confidence=[0.8] * n_per_genre)
        pq.write_table(pa.table(columns), part / "part-0.parquet")
        ids += list(tids)
        features.append(x)
        genres += [genre] * n_per_genre
    track_ids = ids + ([ids[0]] if duplicate_track else [])
    (folder / "tracks").mkdir()
    pq.write_table(pa.table({
        "track_id": pa.array(track_ids, pa.int64()),
        "title": [f"Song {t}" for t in track_ids], "artist": ["Ärtist, \"Q\""] * len(track_ids),
        "album": [None] * len(track_ids),
        "genre_top": (genres + genres[:1])[: len(track_ids)],
        "genres_all": [[12, 25]] * len(track_ids),
        "listens": list(range(len(track_ids))), "duration": [30] * len(track_ids),
    }), folder / "tracks" / "part-0.parquet")
    return np.array(ids), np.concatenate(features), genres


def videos_parquet(path: Path, rows: list[dict]) -> Path:
    columns = {
        "video_id": pa.string(), "music_id": pa.string(), "song_title": pa.string(),
        "artist_name": pa.string(), "is_original": pa.bool_(), "video_url": pa.string(),
        "cover_url": pa.string(), "play_count": pa.int64(), "like_count": pa.int64(),
        "comment_count": pa.int64(), "share_count": pa.int64(),
        "created_at": pa.timestamp("us", tz="UTC"), "hashtags": pa.list_(pa.string()),
        "author": pa.string(),
    }
    defaults = {"is_original": False, "play_count": 100, "like_count": 10, "comment_count": 1,
                "share_count": 0, "created_at": None, "hashtags": [], "author": "someone",
                "video_url": "https://www.tiktok.com/@a/video/1", "cover_url": None,
                "artist_name": "Artist"}
    full = [{**defaults, **r} for r in rows]
    pq.write_table(pa.table({c: pa.array([r[c] for r in full], t) for c, t in columns.items()}), path)
    return path


def matches_parquet(path: Path, rows: list[tuple]) -> Path:
    names = ("fma_track_id", "tiktok_music_id", "title_score", "artist_score", "total_score")
    pq.write_table(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}), path)
    return path


# --- migrations ------------------------------------------------------------------------------


RELEASED = {
    "001_extensions.sql": "53ec4c0092e5c01e",
    "002_catalogue.sql": "b04f2034602d5aa3",
    "003_track_vectors.sql": "8d77077b4a5753af",
    "004_tiktok.sql": "59598ff4cda3f466",
    "005_load_versions.sql": "327e48894bc32e47",
    "006_charts.sql": "16e419f2fa6be9c0",
    "007_popularity.sql": "1b4186d9a364153c",
    "008_listening.sql": "d5833e92bdc9db0d",
    "009_chart_history.sql": "1047435c9e821aa9",
    "010_swaps_and_hashtags.sql": "ec8f9ab77d3b38fe",
    "011_similarity_reference.sql": "ba33d7bd68b59971",
    "012_watches.sql": "b51249bf6488a609",
    "013_watch_requests.sql": "2b01f70c4fca47cf",
    "014_style.sql": "3112a508be9b6e47",
}
"""The start of each released migration's SHA-256. A store that applied a file refuses to
migrate once the file changes (:func:`batch.store.db.migrate`), so a released file never
changes, not even its comments: a change goes in a new numbered file."""


def test_released_migrations_never_change():
    files = {p.name: p for p in db.SQL_DIR.glob("[0-9][0-9][0-9]_*.sql")}
    assert set(RELEASED) == set(files), "add the new file's digest to RELEASED once it is released"
    for name, digest in RELEASED.items():
        assert hashlib.sha256(files[name].read_text().encode()).hexdigest()[:16] == digest, name


def test_migrations_applied_twice_are_a_no_op(store_url):
    conn = db.connect(store_url)
    db.migrate(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM schema_migrations ORDER BY name")
        names = [r[0] for r in cur.fetchall()]
    assert names == sorted(p.name for p in db.SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    assert db.migrate(conn) == []
    assert count(conn, "SELECT count(*) FROM schema_migrations") == len(names)
    conn.close()


def test_every_sql_file_is_idempotent_on_its_own(store_url):
    conn = db.connect(store_url)
    db.migrate(conn)
    with conn, conn.cursor() as cur:  # run the files again, bypassing the record
        for path in sorted(db.SQL_DIR.glob("*.sql")):
            cur.execute(path.read_text())
    conn.close()


def test_a_changed_applied_migration_is_refused(store_url, tmp_path):
    conn = db.connect(store_url)
    db.migrate(conn)
    sql = tmp_path / "sql"
    shutil.copytree(db.SQL_DIR, sql)
    (sql / "002_catalogue.sql").write_text("-- edited\n" + (sql / "002_catalogue.sql").read_text())
    with pytest.raises(db.StoreError, match="002_catalogue.sql changed after it was applied"):
        db.migrate(conn, sql)
    conn.close()


def test_genres_and_partitions_exist(store):
    partitions = count(store, """SELECT count(*) FROM pg_inherits
                                 WHERE inhparent = 'track_vectors'::regclass""")
    assert partitions == 17  # 16 top-level genres and a default
    assert count(store, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'tiktok_videos'::regclass") == 28
    hnsw = count(store, """SELECT count(*) FROM pg_indexes
                           WHERE tablename LIKE 'track_vectors_%%' AND indexdef LIKE '%%hnsw%%'""")
    assert hnsw == 2 * 17  # the 245 numbers' and the style embedding's, per partition


# --- the catalogue load ----------------------------------------------------------------------


def test_catalogue_load_then_query_returns_what_was_loaded(store, tmp_path):
    ids, features, genres = featurize_output(tmp_path / "out")
    result = load_catalogue(store, tmp_path / "out")
    assert result.rows == {"genres": 163, "tracks": len(ids), "feature_scaler": 245,
                           "track_vectors": len(ids), "track_fingerprints": 0,  # no peaks in this output
                           "sound_vectors": 0,  # re-embedded with the new scaler: none loaded yet
                           "similarity_reference": 4,  # one row per feature group (batch.core.likeness)
                           "style_scaler": 0, "style_sample": 0}  # an output from before the style model
    assert count(store, "SELECT count(*) FROM genres WHERE is_top_level") == 16
    with store.cursor() as cur:
        cur.execute("SELECT title, artist, album, genre_top, genres_all, audio_path FROM tracks "
                    "WHERE track_id = %s", (int(ids[0]),))
        assert cur.fetchone() == (f"Song {ids[0]}", 'Ärtist, "Q"', None, "Rock", [12, 25],
                                  f"/audio/{ids[0]:06d}.mp3")
        cur.execute("SELECT track_id, features, embedding::text FROM track_vectors ORDER BY track_id")
        rows = cur.fetchall()
        cur.execute("SELECT mean, std FROM feature_scaler ORDER BY feature_index")
        scaler = np.array(cur.fetchall())
    store.rollback()
    stored = np.array([r[1] for r in rows], dtype=np.float32)
    np.testing.assert_array_equal([r[0] for r in rows], ids)
    np.testing.assert_array_equal(stored, features)  # float32 round-trips exactly
    mean, std = scaler_of(features)
    np.testing.assert_allclose(scaler[:, 0], mean, rtol=1e-12)
    np.testing.assert_allclose(scaler[:, 1], std, rtol=1e-12)
    embedding = np.array([np.fromstring(r[2][1:-1], sep=",") for r in rows])
    np.testing.assert_allclose(embedding, embed(features, mean, std), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-5)


def test_a_rerun_replaces_and_never_duplicates(store, tmp_path):
    featurize_output(tmp_path / "out")
    load_catalogue(store, tmp_path / "out")
    load_catalogue(store, tmp_path / "out")
    assert count(store, "SELECT count(*) FROM track_vectors") == 3 * 12
    assert count(store, "SELECT count(*) FROM tracks") == 3 * 12
    assert count(store, "SELECT count(*) FROM load_runs WHERE status = 'committed'") == 2


def test_a_load_failing_halfway_leaves_the_old_rows(store, tmp_path):
    featurize_output(tmp_path / "good")
    load_catalogue(store, tmp_path / "good")
    before = {t: count(store, f"SELECT count(*) FROM {t}") for t in ("tracks", "track_vectors", "genres")}
    # A duplicate track id fails inside the swap, after genres were already replaced.
    featurize_output(tmp_path / "bad", n_per_genre=5, duplicate_track=True)
    with pytest.raises(LoadError, match="(?s)the store is unchanged: .*is duplicated"):
        load_catalogue(store, tmp_path / "bad")
    after = {t: count(store, f"SELECT count(*) FROM {t}") for t in before}
    assert after == before
    assert count(store, "SELECT count(*) FROM load_runs WHERE status = 'failed' AND error LIKE '%%is duplicated%%'") == 1
    assert count(store, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging_%%'") == 0


def test_each_genre_partition_receives_its_rows(store, tmp_path):
    featurize_output(tmp_path / "out", n_per_genre=4)
    load_catalogue(store, tmp_path / "out")
    for genre, table in (("Rock", "track_vectors_rock"), ("Jazz", "track_vectors_jazz"),
                         ("Hip-Hop", "track_vectors_hip_hop")):
        assert count(store, f"SELECT count(*) FROM {table}") == 4
        assert count(store, f"SELECT count(*) FROM {table} WHERE genre_top <> %s", genre) == 0
    assert count(store, "SELECT count(*) FROM track_vectors_pop") == 0


# --- search ----------------------------------------------------------------------------------


def test_genre_filtered_search_returns_only_that_genre_and_equals_brute_force(store, tmp_path):
    ids, features, genres = featurize_output(tmp_path / "out")
    load_catalogue(store, tmp_path / "out")
    for i in (0, 13, 30):
        for genre in (*GENRES, None):
            hits = search.search(store, features[i], genre=genre, k=5)
            exact = search.exact_search(store, features[i], genre=genre, k=5)
            assert [h.track_id for h in hits] == [h.track_id for h in exact]
            if genre is not None:
                assert {h.genre_top for h in hits} == {genre}
        first = search.search(store, features[i], k=3)[0]
        assert (first.track_id, first.genre_top) == (ids[i], genres[i])
        assert first.similarity == pytest.approx(1.0, abs=1e-5)


def test_search_scales_features_so_a_large_feature_does_not_dominate(store, tmp_path):
    ids, features, genres = featurize_output(tmp_path / "out")
    load_catalogue(store, tmp_path / "out")
    query = features[0].copy()
    query[-1] = features[20, -1]  # borrow a Jazz track's value of the 1000x-scaled feature
    assert search.search(store, query, k=1)[0].track_id == ids[0]


def test_search_on_an_empty_catalogue_says_so(store):
    with pytest.raises(LookupError, match="catalogue is empty"):
        search.search(store, np.zeros(N_FEATURES, np.float32))


# --- the TikTok load -------------------------------------------------------------------------


def test_tiktok_load_partitions_by_title_and_derives_sounds(store, tmp_path):
    videos = videos_parquet(tmp_path / "v.parquet", [
        {"video_id": "1", "music_id": "m1", "song_title": "Apple Song", "play_count": 10,
         "hashtags": ["dance", 'q"uote', "back\\slash", "a,b"]},
        {"video_id": "2", "music_id": "m1", "song_title": "Apple Song", "play_count": 5},
        {"video_id": "3", "music_id": "m2", "song_title": "Zebra", "is_original": True},
        {"video_id": "4", "music_id": "m3", "song_title": "99 Luftballons"},
        {"video_id": "5", "music_id": "m4", "song_title": "Ça va"},
        {"video_id": "6", "music_id": "m5", "song_title": "Дождь"},
        {"video_id": "7", "music_id": "m6", "song_title": None},
    ])
    matches = matches_parquet(tmp_path / "m.parquet", [(1000, "m1", 0.99, 0.9, 0.96)])
    result = load_tiktok(store, videos, matches=matches)
    assert result.rows == {"tiktok_videos": 7, "matches": 1, "tiktok_sounds": 6,
                           "hashtag_sounds": 4, "hashtag_tracks": 4}  # video 1's four tags, on m1
    with store.cursor() as cur:
        cur.execute("SELECT video_id, tableoid::regclass::text FROM tiktok_videos ORDER BY video_id")
        assert dict(cur.fetchall()) == {
            "1": "tiktok_videos_a", "2": "tiktok_videos_a", "3": "tiktok_videos_z",
            "4": "tiktok_videos_digit", "5": "tiktok_videos_c", "6": "tiktok_videos_other",
            "7": "tiktok_videos_other"}
        cur.execute("SELECT hashtags FROM tiktok_videos WHERE video_id = '1'")
        assert cur.fetchone()[0] == ["dance", 'q"uote', "back\\slash", "a,b"]
        cur.execute("SELECT video_count, total_plays, is_original FROM tiktok_sounds WHERE music_id = 'm1'")
        assert cur.fetchone() == (2, 15, False)
        cur.execute("SELECT track_id, total_score FROM matches WHERE music_id = 'm1'")
        assert cur.fetchone() == (1000, 0.96)
        cur.execute(f"SELECT {ENGAGEMENT} FROM tiktok_videos WHERE video_id = '1'")
        engagement = cur.fetchone()[0]
        cur.execute("SELECT hashtag, music_id, videos, engagement FROM hashtag_sounds WHERE hashtag = 'dance'")
        assert cur.fetchall() == [("dance", "m1", 1, engagement)]
        cur.execute("SELECT hashtag, track_id, sounds, videos, engagement FROM hashtag_tracks "
                    "WHERE hashtag = 'a,b'")
        assert cur.fetchall() == [("a,b", 1000, 1, 1, engagement)]
    store.rollback()


def test_tiktok_load_failing_halfway_keeps_the_old_videos(store, tmp_path):
    good = videos_parquet(tmp_path / "v.parquet", [{"video_id": "1", "music_id": "m1", "song_title": "A"}])
    load_tiktok(store, good, matches=matches_parquet(tmp_path / "m.parquet", [(1, "m1", 1.0, 1.0, 1.0)]))
    newer = videos_parquet(tmp_path / "v2.parquet", [
        {"video_id": str(i), "music_id": "m2", "song_title": "B"} for i in range(50)])
    bad_matches = matches_parquet(tmp_path / "bad.parquet", [(1, "m2", 0.5, 0.5, 1.5)])  # score > 1
    with pytest.raises(LoadError, match="total_score"):
        load_tiktok(store, newer, matches=bad_matches)
    assert count(store, "SELECT count(*) FROM tiktok_videos") == 1
    assert count(store, "SELECT count(*) FROM tiktok_sounds") == 1
    assert count(store, "SELECT music_id FROM matches") == "m1"


def test_duplicate_video_ids_are_refused_before_touching_the_store(store, tmp_path):
    dup = videos_parquet(tmp_path / "d.parquet", [
        {"video_id": "1", "music_id": "m", "song_title": "A"},
        {"video_id": "1", "music_id": "m", "song_title": "A"}])
    with pytest.raises(LoadError, match="video_id is not unique"):
        load_tiktok(store, dup)


def test_bad_parquet_inputs_are_clear_errors(store, tmp_path):
    with pytest.raises(LoadError, match="cannot read parquet"):
        load_tiktok(store, tmp_path / "missing.parquet")
    pq.write_table(pa.table({"video_id": ["1"]}), tmp_path / "thin.parquet")
    with pytest.raises(LoadError, match=r"missing columns \['music_id'"):
        load_tiktok(store, tmp_path / "thin.parquet")
    with pytest.raises(LoadError, match="run batch.jobs.featurize first"):
        load_catalogue(store, tmp_path / "nothing")


# --- the server ------------------------------------------------------------------------------


@pytest.fixture
def plain_postgres():
    """Debian's PostgreSQL, which has no pgvector, on a Unix socket in a temporary folder."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        pytest.fail("Debian's postgresql package is missing: run `make system-deps`")
    folder = Path(tempfile.mkdtemp(prefix="plainpg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    subprocess.run([*as_postgres, f"{bins[-1]}/initdb", "-D", str(data), "-A", "trust", "-U",
                    "postgres"], check=True, capture_output=True)
    subprocess.run([*as_postgres, f"{bins[-1]}/pg_ctl", "-D", str(data), "-w", "-l",
                    str(folder / "log"), "-o", f"-k {folder} -h ''", "start"],
                   check=True, capture_output=True)
    yield f"postgresql://postgres@/postgres?host={folder}"
    subprocess.run([*as_postgres, f"{bins[-1]}/pg_ctl", "-D", str(data), "-w", "-m", "fast",
                    "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_server_without_pgvector_fails_with_the_fix(plain_postgres):
    with psycopg2.connect(plain_postgres) as conn:  # the server itself works
        assert conn.server_version > 0
    with pytest.raises(db.StoreError, match="lacks the pgvector extension.*apt install "
                                            "postgresql-<version>-pgvector.*unset DATABASE_URL"):
        db.connect(plain_postgres)


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(db.StoreError, match=r"cannot connect to PostgreSQL at postgresql://u:\*\*\*@127.0.0.1:1/x"):
        db.connect("postgresql://u:secret@127.0.0.1:1/x")


def cli(module, *args, env=None):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_cli_migrates_and_loads_against_database_url(store_url, tmp_path):
    env = {"DATABASE_URL": store_url}
    migrated = cli("batch.store.db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "migration(s)" in migrated.stdout
    featurize_output(tmp_path / "out", n_per_genre=3)
    loaded = cli("batch.store.load", "catalogue", "--out", str(tmp_path / "out"), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded catalogue: 163 genres, 9 tracks, 245 feature_scaler, 9 track_vectors" in loaded.stdout
    missing = cli("batch.store.load", "catalogue", "--out", str(tmp_path / "nope"), env=env)
    assert missing.returncode == 2
    assert missing.stderr.startswith("load: error: ") and "run batch.jobs.featurize first" in missing.stderr
    down = cli("batch.store.db", "migrate", env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert down.returncode == 2 and "db: error: cannot connect" in down.stderr


def test_credentials_can_come_from_a_secrets_manager_secret(store_url, s3_endpoint, monkeypatch):
    """What infra/aws does: the RDS-managed secret holds the user and password, the rest is plain config."""
    import json

    import boto3

    params = psycopg2.extensions.parse_dsn(store_url)
    client = boto3.client("secretsmanager", endpoint_url=s3_endpoint)  # moto serves every AWS API
    arn = client.create_secret(Name=f"rds-{uuid.uuid4().hex[:6]}", SecretString=json.dumps(
        {"username": params.get("user", "postgres"), "password": "not-needed-on-a-local-socket"}))["ARN"]
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
    monkeypatch.setenv("DATABASE_NAME", params.get("dbname", "postgres"))
    monkeypatch.setenv("DATABASE_SSLMODE", "disable")

    monkeypatch.delenv("DATABASE_HOST", raising=False)
    with pytest.raises(db.StoreError, match="DATABASE_HOST is not"):
        db.database_url()

    monkeypatch.setenv("DATABASE_HOST", params.get("host", "127.0.0.1"))
    if "port" in params:
        monkeypatch.setenv("DATABASE_PORT", params["port"])
    url = db.database_url()
    assert psycopg2.extensions.parse_dsn(url)["password"] == "not-needed-on-a-local-socket"
    assert "not-needed" not in db._redact(url)
    conn = db.connect()  # no URL: resolved from the secret
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()

    monkeypatch.setenv("DATABASE_SECRET_ARN", arn + "-missing")
    with pytest.raises(db.StoreError, match="cannot read the database credentials"):
        db.database_url()


def test_the_read_side_does_not_import_the_write_side():
    import subprocess
    import sys

    code = ("import sys, batch.store.search, webapp.similar, webapp.api, webapp.pages; "
            "print(sorted(m for m in sys.modules if m in ('batch.store.load', 'batch.jobs.featurize', 'pyspark')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "[]"


def _shift_ids(folder: Path, by: int) -> None:
    import pyarrow.compute as pc

    for part in folder.rglob("*.parquet"):
        t = pq.read_table(part)
        i = t.column_names.index("track_id")
        pq.write_table(t.set_column(i, "track_id", pc.add(t.column("track_id"), by)), part)


def test_searches_during_a_reload_never_fail_and_never_see_a_mix(store, store_url, tmp_path):
    import threading

    _, features, _ = featurize_output(tmp_path / "old", n_per_genre=40)
    featurize_output(tmp_path / "new", n_per_genre=40, seed=1)
    _shift_ids(tmp_path / "new", 100_000)
    load_catalogue(store, tmp_path / "old")
    seen, failures, stop = [], [], threading.Event()

    def searching():
        conn = db.connect(store_url)
        i = 0
        while not stop.is_set():
            try:
                hits = search.search(conn, features[i % len(features)], k=10)
                with conn.cursor() as cur:  # and the songs' rows, as the page reads them
                    cur.execute("SELECT count(*) FROM tracks WHERE track_id = ANY(%s)",
                                ([h.track_id for h in hits],))
                    found = cur.fetchone()[0]
                conn.commit()
                seen.append(({h.track_id >= 100_000 for h in hits}, len(hits), found))
            except Exception as e:  # noqa: BLE001 - counted and asserted below
                failures.append(repr(e))
                conn.rollback()
            i += 1
        conn.close()

    readers = [threading.Thread(target=searching) for _ in range(2)]
    for r in readers:
        r.start()
    for _ in range(3):  # old -> new -> old -> new, while they search
        load_catalogue(store, tmp_path / "new")
        load_catalogue(store, tmp_path / "old")
    load_catalogue(store, tmp_path / "new")
    while len(seen) < 20 or not any(kinds == {True} for kinds, _, _ in seen[-5:]):
        threading.Event().wait(0.05)
    stop.set()
    for r in readers:
        r.join(30)
    assert failures == []
    bad = [s for s in seen if not (len(s[0]) == 1 and s[1] == s[2] == 10)]
    assert bad == [], f"{len(bad)} of {len(seen)} searches saw a mix: {bad[:5]}"
    assert {True} in [k for k, _, _ in seen] and {False} in [k for k, _, _ in seen]
    assert count(store, "SELECT count(*) FROM pg_class WHERE relname LIKE '%%\\_\\_old' "
                        "OR relname LIKE '%%\\_\\_next'") == 0  # nothing left beside the live tables


def test_a_reader_idle_in_a_transaction_makes_the_swap_give_up_and_changes_nothing(
        store, store_url, tmp_path, monkeypatch):
    from batch.store import swap

    featurize_output(tmp_path / "old")
    featurize_output(tmp_path / "new", seed=1)
    _shift_ids(tmp_path / "new", 100_000)
    load_catalogue(store, tmp_path / "old")
    idle = db.connect(store_url)
    idle.cursor().execute("SELECT count(*) FROM track_vectors")  # and then never commits
    monkeypatch.setattr(swap, "SWAP_DEADLINE", 1.0)
    try:
        with pytest.raises(LoadError, match="readers kept .*track_vectors.* busy for 1 s"):
            load_catalogue(store, tmp_path / "new")
    finally:
        idle.close()
    assert count(store, "SELECT max(track_id) FROM track_vectors") < 100_000
    assert count(store, "SELECT count(*) FROM pg_class WHERE relname LIKE '%%\\_\\_next'") == 0
    load_catalogue(store, tmp_path / "new")  # with the reader gone, it goes through
    assert count(store, "SELECT min(track_id) FROM track_vectors") > 100_000


def test_the_pages_read_each_sounds_best_videos_from_the_engagement_index(store, tmp_path):
    from webapp.similar import ranked_videos

    load_tiktok(store, videos_parquet(tmp_path / "v.parquet", [
        {"video_id": str(i), "music_id": "m1", "song_title": "Apple", "play_count": i} for i in range(50)]))
    best = ranked_videos(store, "SELECT m, m FROM unnest(%(ids)s::text[]) AS m", {"ids": ["m1"]}, 3)
    assert [v["video_id"] for v in best["m1"]] == ["49", "48", "47"]
    with store.cursor() as cur:  # the ordering comes from the index only if its expression is ENGAGEMENT
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute(f"""EXPLAIN SELECT video_id FROM tiktok_videos v WHERE v.music_id = 'm1'
                        ORDER BY {ENGAGEMENT} DESC, v.video_id LIMIT 3""")
        plan = "\n".join(r[0] for r in cur.fetchall())
    store.rollback()
    import re

    assert not re.search(r"(^|->)\s*(Incremental )?Sort\s+\(", plan, re.M) and "_expr_" in plan, plan
