"""Shared fixtures: one local Spark session, real rendered music, and an S3 endpoint on loopback."""

from __future__ import annotations

import contextlib
import os
import socket

import numpy as np
import pytest
import soundfile as sf

# Executors read S3 with boto3's standard credential chain. The test endpoint is a
# local moto server that accepts any key; these must be set before Spark starts so
# the Python workers inherit them.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from tests import music  # noqa: E402

TEST_PIECES = ("bach/bwv66.6", "bach/bwv1.6", "palestrina/agnus_0")


@pytest.fixture(scope="session")
def spark():
    from batch.spark.session import get_spark

    session = get_spark("tests", "local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def music_dir(tmp_path_factory):
    """30 s 44.1 kHz stereo mp3s of real compositions, rendered with fluidsynth."""
    if not music.can_render():
        pytest.fail("fluidsynth and the TimGM6mb soundfont are missing: run `make system-deps`")
    folder = tmp_path_factory.mktemp("music")
    for piece in TEST_PIECES:
        music.render(piece, folder / (piece.replace("/", "_") + ".mp3"))
    return folder


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on 127.0.0.1, as an endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def store_url(tmp_path_factory):
    """A PostgreSQL with pgvector for the tests: a throwaway database on DATABASE_URL's
    server when that is set, else a fresh embedded server (stopped afterwards)."""
    from batch.store import db

    url = os.environ.get("DATABASE_URL")
    if url:
        with throwaway_database(url) as dsn:
            yield dsn
        return
    server = db.embedded_server(tmp_path_factory.mktemp("pg") / "data", keep_running=False)
    yield server.get_uri()
    server.cleanup()


@contextlib.contextmanager
def throwaway_database(url: str, prefix: str = "test"):
    """A new database on ``url``'s server, as a DSN; dropped afterwards."""
    import uuid

    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield psycopg2.extensions.make_dsn(url, dbname=name)
    finally:
        admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def store(store_url):
    """A migrated connection to the test store, with every table emptied."""
    from batch.store import db

    conn = db.connect(store_url)
    db.migrate(conn)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE genres, tracks, feature_scaler, track_vectors, tiktok_videos, "
                    "tiktok_sounds, matches, chart_entries, load_runs, sound_vectors, track_fingerprints, "
                    "sound_fingerprints, hashtag_sounds, hashtag_tracks, style_scaler, style_sample")
    conn.commit()
    yield conn
    conn.close()


def write_wav(path, y, sr=22050):
    """Write float samples to ``path`` (the format follows the suffix; wav keeps float32 exactly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".").upper()
    subtype = "FLOAT" if fmt == "WAV" else None
    sf.write(path, np.asarray(y, dtype=np.float32), sr, format=fmt, subtype=subtype)
    return path


def tone(freq=440.0, seconds=30.0, sr=22050, amplitude=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return amplitude * np.sin(2 * np.pi * freq * t)
