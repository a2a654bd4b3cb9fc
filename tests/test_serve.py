"""The production server (gunicorn, as `make serve` runs it) on its own embedded PostgreSQL:
more clients than connections, a pool that waits, an outage and the recovery from it,
and `batch.store.db stop`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
import requests

from batch.store import db
from batch.store.load import load_catalogue
from tests.conftest import free_port, tone, write_wav
from tests.test_webapp import write_catalogue
from webapp import create_app
from webapp.db import get_db
from webapp.errors import UNAVAILABLE

ROOT = Path(__file__).resolve().parents[1]


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def _wait_for(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
            if result:
                return result
        except (requests.ConnectionError, psycopg2.Error):
            pass
        assert time.monotonic() < deadline, f"{check} did not succeed in {seconds:.0f} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def pgdata(tmp_path_factory):
    """An embedded server of its own, loaded with a small catalogue; stopped afterwards."""
    root = tmp_path_factory.mktemp("serve")
    data = root / "pgdata"
    url = db.embedded_server(data).get_uri()
    conn = db.connect(url)
    db.migrate(conn)
    write_catalogue(root)
    load_catalogue(conn, root / "out")
    conn.close()
    yield data
    if (data / "postmaster.pid").exists():
        db.stop_embedded(data)


@pytest.fixture(scope="module")
def server(pgdata):
    """`python -m webapp.serve` with 2 workers x 2 threads and 2 connections each."""
    port = free_port()
    log = (pgdata.parent / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(EMBEDDED_PGDATA=str(pgdata), DB_POOL_SIZE="2", DB_POOL_TIMEOUT="20")
    proc = subprocess.Popen([sys.executable, "-m", "webapp.serve", "--port", str(port),
                             "--workers", "2", "--threads", "2"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: requests.get(base + "/api/genres", timeout=5).status_code == 200)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_wav(tmp_path_factory.mktemp("clip") / "clip.wav", tone(330.0, seconds=8.0)).read_bytes()


def _search(base: str, clip: bytes) -> requests.Response:
    return requests.post(base + "/api/search", files={"file": ("clip.wav", io.BytesIO(clip))}, timeout=60)


def test_the_server_is_gunicorn_sized_to_the_machine():
    out = subprocess.run([sys.executable, "-m", "webapp.serve", "--help"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0 and "one per core" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "webapp.serve", "--threads", "9"], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "DB_POOL_SIZE": "4"})
    assert bad.returncode == 2 and "DB_POOL_SIZE (4) is smaller than --threads (9)" in bad.stderr


def test_more_parallel_clients_than_connections_all_succeed(server, clip):
    # 16 clients against 2 workers x 2 threads x 2 connections: the rest wait their turn.
    with ThreadPoolExecutor(16) as clients:
        codes = list(clients.map(lambda _: _search(server, clip).status_code, range(48)))
    assert codes == [200] * 48


@contextlib.contextmanager
def holding_a_connection(app):
    """Another request's worth of work: a thread holds one pool connection until the block ends."""
    got, done = threading.Event(), threading.Event()

    def hold():
        with app.app_context():
            get_db()
            got.set()
            done.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    got.wait(30)
    try:
        yield
    finally:
        done.set()
        holder.join(30)


def _app(pgdata, timeout: int):
    return create_app({"DATABASE_URL": db.embedded_server(pgdata).get_uri(), "DB_POOL_SIZE": 1,
                       "DB_POOL_TIMEOUT": timeout})


def test_a_pool_timeout_is_a_503_with_retry_after(pgdata):
    app = _app(pgdata, timeout=1)
    client = app.test_client()
    assert client.get("/api/genres").status_code == 200
    with holding_a_connection(app):
        busy = client.get("/api/genres")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert busy.get_json()["error"] == "the server is busy; please try again in a few seconds"
    assert client.get("/api/genres").status_code == 200  # given back when the holder finished


def test_a_request_waits_for_a_connection_to_come_free(pgdata):
    app = _app(pgdata, timeout=30)
    client = app.test_client()
    answer = {}
    waiter = threading.Thread(target=lambda: answer.update(status=client.get("/api/genres").status_code))
    with holding_a_connection(app):
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive()  # waiting for the connection, not failed
    waiter.join(30)
    assert answer == {"status": 200}


def test_a_killed_database_gives_clean_503s_then_the_app_restarts_it(server, pgdata, clip):
    before = _postmaster(pgdata)
    answers, stop = [], threading.Event()

    def client(search: bool):
        while not stop.is_set():
            r = _search(server, clip) if search else requests.get(server + "/api/genres", timeout=60)
            answers.append((r.status_code, r.headers.get("Retry-After"), r.text))

    threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    _wait_for(lambda: len(answers) >= 8)
    os.kill(before, signal.SIGQUIT)  # an immediate shutdown: every backend dies at once
    _wait_for(lambda: not db._alive(before))
    seen = len(answers)
    _wait_for(lambda: len(answers) > seen + 8 and all(code == 200 for code, _, _ in answers[-8:]))
    stop.set()
    for t in threads:
        t.join(60)

    assert _postmaster(pgdata) != before  # started again by the app, not by this test
    for code, retry, text in answers:
        assert code == 200 or (code == 503 and retry and json.loads(text)["error"] == UNAVAILABLE), text


def test_with_database_url_the_app_recovers_when_the_server_returns(pgdata):
    url = db.embedded_server(pgdata).get_uri()
    client = create_app({"DATABASE_URL": url}).test_client()
    assert client.get("/api/genres").status_code == 200
    assert db.stop_embedded(pgdata).startswith("stopped the embedded PostgreSQL")
    down = client.get("/api/genres")
    assert down.status_code == 503 and down.get_json()["error"] == UNAVAILABLE
    db.restart_embedded(pgdata)
    assert _wait_for(lambda: client.get("/api/genres").status_code == 200)


def _db_stop(pgdata: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "batch.store.db", "stop"], cwd=ROOT, capture_output=True,
                          text=True, env={**env, "EMBEDDED_PGDATA": str(pgdata)})


def test_db_stop_stops_a_running_server_whatever_its_handle_list_says(pgdata):
    db.restart_embedded(pgdata)
    pid = _postmaster(pgdata)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid]))  # the list that fooled it
    out = _db_stop(pgdata)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"stopped the embedded PostgreSQL (pid {pid}) in {pgdata}"
    assert not db._alive(pid)


def test_db_stop_with_a_stale_pid_file_says_so(pgdata):
    assert not (pgdata / "postmaster.pid").exists()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / "postmaster.pid").write_text(f"{dead.pid}\n{pgdata}\n")
    out = _db_stop(pgdata)
    assert out.returncode == 0
    assert out.stdout.strip() == f"no embedded PostgreSQL was running in {pgdata}; removed its stale pid file"
    assert not (pgdata / "postmaster.pid").exists()
    assert _db_stop(pgdata).stdout.strip() == f"no embedded PostgreSQL is running in {pgdata}"
