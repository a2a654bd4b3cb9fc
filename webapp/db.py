"""The web app's one door to the store: a pool that waits, one connection per request.

A request waits up to ``DB_POOL_TIMEOUT`` seconds for one of ``DB_POOL_SIZE``
connections; past that it gets a 503 with ``Retry-After``. A connection is checked
before it is handed out, so connections broken by a server restart are replaced rather
than failing a request. When the store cannot be reached, the request gets a 503 that
names no path, host or driver text; the next request tries again, so the app recovers
by itself when the server is back. With no ``DATABASE_URL`` (the embedded server), the
app also starts the embedded server again when it finds it gone.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg2
from flask import current_app, g

from batch.store import db as store
from webapp.errors import AppError, unavailable

log = logging.getLogger(__name__)
BUSY_RETRY_AFTER = 2
"""Seconds a client is asked to wait when every connection stayed busy."""


class Pool:
    """At most ``size`` connections to ``url``; :meth:`get` waits for a free one."""

    def __init__(self, url: str | None, size: int, timeout: float):
        self.url = url
        self.embedded = url is None and not os.environ.get("DATABASE_SECRET_ARN")  # nothing else to restart
        self.timeout = timeout
        self._free: list = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._restarted = 0.0

    def get(self):
        """A live connection; AppError 503 when none comes free in time or the store is down."""
        if not self._slots.acquire(timeout=self.timeout):
            raise AppError(503, "the server is busy; please try again in a few seconds",
                           retry_after=BUSY_RETRY_AFTER)
        try:
            return self._live()
        except BaseException:
            self._slots.release()
            raise

    def put(self, conn, *, broken: bool = False) -> None:
        if broken or conn.closed:
            conn.close()
        else:
            with self._lock:
                self._free.append(conn)
        self._slots.release()

    def _live(self):
        while True:
            with self._lock:
                conn = self._free.pop() if self._free else None
            if conn is None:
                return self._connect()
            if store.answers(conn):  # one idle across a server restart fails here, not in the request
                return conn
            conn.close()

    def _connect(self):
        try:
            return psycopg2.connect(self._url(), connect_timeout=5)
        except (psycopg2.OperationalError, store.StoreError) as e:
            if not self.embedded:
                raise unavailable(e) from None
            try:
                return psycopg2.connect(self._restart(), connect_timeout=5)
            except Exception as again:  # noqa: BLE001 - any failure here is an outage to the user
                raise unavailable(again) from None

    def _url(self) -> str:
        if self.url is None:
            self.url = store.database_url()
        return self.url

    def _restart(self) -> str:
        """Start the embedded server again (at most once every 5 s); its URI."""
        with self._lock:
            if time.monotonic() - self._restarted > 5:
                self._restarted = time.monotonic()
                log.warning("the embedded PostgreSQL is gone: starting it again")
                self.url = store.restart_embedded()
            return self._url()


def init_app(app) -> None:
    app.teardown_appcontext(close_db)


def get_db():
    """This request's connection (from the app's pool); 503 when the store is unreachable."""
    if "db" not in g:
        g.db = _pool().get()
    return g.db


def close_db(exc=None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        broken = exc is not None
        try:
            conn.rollback()
        except psycopg2.Error:
            broken = True  # a broken connection is closed, not reused
        current_app.extensions["db_pool"].put(conn, broken=broken)


_creating = threading.Lock()


def _pool() -> Pool:
    pool = current_app.extensions.get("db_pool")
    if pool is not None:
        return pool
    with _creating:
        pool = current_app.extensions.get("db_pool")
        if pool is not None:
            return pool
        config = current_app.config
        pool = Pool(config["DATABASE_URL"], int(config["DB_POOL_SIZE"]), float(config["DB_POOL_TIMEOUT"]))
        conn = pool.get()  # checks reachability and pgvector once
        try:
            store.check_pgvector(conn)
        except store.StoreError as e:
            pool.put(conn, broken=True)
            raise unavailable(e) from None
        pool.put(conn)
        current_app.extensions["db_pool"] = pool
        return pool
