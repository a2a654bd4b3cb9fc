"""The web app's one door to the store: a connection pool, one connection per request."""

from __future__ import annotations

import psycopg2
from flask import current_app, g
from psycopg2.pool import ThreadedConnectionPool

from batch import db as store
from webapp.errors import AppError


def init_app(app) -> None:
    app.teardown_appcontext(close_db)


def get_db():
    """This request's connection (from the app's pool); 503 when the store is unreachable."""
    if "db" not in g:
        pool = _pool()
        try:
            g.db = pool.getconn()
        except Exception as e:  # psycopg2.OperationalError and pool exhaustion
            raise AppError(503, f"the database is unavailable: {str(e).strip()}") from None
    return g.db


def close_db(exc=None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        try:
            conn.rollback()
        except psycopg2.Error:
            pass  # a broken connection is closed below, not reused
        current_app.extensions["db_pool"].putconn(conn, close=bool(conn.closed) or exc is not None)


def _pool() -> ThreadedConnectionPool:
    pool = current_app.extensions.get("db_pool")
    if pool is None:
        try:
            url = current_app.config["DATABASE_URL"] or store.database_url()
            store.connect(url).close()  # checks reachability and pgvector once
            pool = ThreadedConnectionPool(1, 8, url, connect_timeout=5)
        except Exception as e:
            raise AppError(503, f"the database is unavailable: {str(e).strip()}") from None
        current_app.extensions["db_pool"] = pool
    return pool
