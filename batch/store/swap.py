"""Replace store tables so that readers never wait: build beside, then rename in a short transaction.

:func:`swap_in` is how every load writes (:mod:`batch.store.load`):

1. For each target table ``T``, create ``T__next`` shaped like ``T``: its columns,
   defaults, checks and, for a partitioned table, its partitions. ``COPY`` the rows in
   (or ``INSERT`` them from a SELECT, for derived tables), then build ``T``'s indexes
   and constraints on it and ``ANALYZE`` it. Readers of ``T`` are not touched: this is
   the long part (an HNSW index over 100,000 vectors takes about 20 s).
2. In one short transaction, take every target's lock (waiting at most
   :data:`LOCK_WAIT_MS`, else retrying after a pause, so readers never queue long
   behind the swap), rename ``T`` to ``T__old`` and ``T__next`` to ``T`` (with their
   partitions, indexes and constraints), and record the run as committed.
3. Drop the ``T__old`` tables.

A reader's statement sees either every old table or every new one. A load that fails
at any step drops what it built and leaves the store as it was; rerunning a load
replaces, so it never duplicates rows. Loads take one advisory lock, so two never
interleave.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import sys
import time
from dataclasses import dataclass, field

import psycopg2
import psycopg2.errors
import pyarrow as pa
import pyarrow.csv as pacsv

log = logging.getLogger(__name__)
"""Each phase of a load, with its row counts and times (``batch.store.load`` and ``batch.jobs.reprocess``
show them); a 25M-video load spends minutes in each."""


def show_phases(prefix: str = "") -> None:
    """Print the load phases (:data:`log`) to standard output, as the command lines do.

    A command line's ``main`` calls it once; a later call only changes the prefix and the
    stream, so a phase is never printed twice."""
    handler = next((h for h in log.handlers if getattr(h, "shows_phases", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stdout)
        handler.shows_phases = True
        log.addHandler(handler)
    handler.setStream(sys.stdout)
    handler.setFormatter(logging.Formatter(prefix + "%(message)s"))
    log.setLevel(logging.INFO)


NEXT, OLD = "__next", "__old"
LOCK_WAIT_MS = 40
"""Longest the swap waits for its locks in one try; readers arriving meanwhile wait at most this."""
SWAP_DEADLINE = 120.0
"""Seconds of retries before a swap gives up (a reader holding a transaction open for that long)."""
LOAD_LOCK = 0x10AD
"""The advisory lock every load holds, so loads never interleave."""


class LoadError(RuntimeError):
    """A load failed; the store still holds what it held before."""


@dataclass
class LoadResult:
    dataset: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        counts = ", ".join(f"{n:,} {table}" for table, n in self.rows.items())
        total = sum(self.rows.values())
        return (f"loaded {self.dataset}: {counts} in {self.seconds:.2f} s "
                f"({total / max(self.seconds, 1e-9):,.0f} rows/s)")


@dataclass
class Shape:
    """What a table is made of, read from the catalogue: enough to build its twin."""

    partition_key: str | None  # "LIST (genre_top)", or None
    partitions: list[tuple[str, str]]  # (name, "FOR VALUES IN ('Rock')" or "DEFAULT")
    indexes: list[tuple[str, str]]  # (name, CREATE INDEX statement), not backing a constraint
    constraints: list[tuple[str, str]]  # (name, "PRIMARY KEY (a, b)")


def swap_in(conn, dataset: str, source: str, tables: dict[str, pa.Table], *,
            derived: dict[str, str] | None = None, version: str | None = None,
            scope: dict[str, tuple[str, list]] | None = None, after: list[str] = ()) -> LoadResult:
    """Replace ``tables`` (name -> rows) and ``derived`` tables, as the module docstring says.

    ``derived`` maps more target tables to a SELECT over the new tables (named in braces:
    ``{tiktok_videos}``). ``scope`` maps a table to (column, values): only its rows with
    those values are replaced, the others are kept. ``after`` statements run on the new
    tables (named in braces) before the swap. ``version`` (see
    :func:`batch.store.load.output_version`) is recorded with the run in ``load_runs``.
    """
    started = time.perf_counter()
    derived, scope = derived or {}, scope or {}
    targets = [*tables, *derived]
    new = {name: name + NEXT for name in targets}
    run_id = _start_run(conn, dataset, source, version)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOAD_LOCK,))
            _drop(cur, [n + suffix for n in targets for suffix in (NEXT, OLD)])
            shapes = {name: _shape(cur, name) for name in targets}
            rows = {}
            for i, (name, table) in enumerate(tables.items(), 1):
                log.info("[load] %s: copying %s rows into %s (table %d/%d, %.0f s)", dataset,
                         f"{table.num_rows:,}", name, i, len(targets), time.perf_counter() - started)
                _create_beside(cur, name, shapes[name])
                if name in scope:
                    column, values = scope[name]
                    cur.execute(f"INSERT INTO {new[name]} SELECT * FROM {name} WHERE {column} <> ALL(%s)",
                                (list(values),))
                _copy(cur, new[name], table)
                rows[name] = table.num_rows
            for name, select in derived.items():
                log.info("[load] %s: deriving %s (%.0f s)", dataset, name, time.perf_counter() - started)
                _create_beside(cur, name, shapes[name])
                cur.execute(f"INSERT INTO {new[name]} " + select.format(**new))
                rows[name] = cur.rowcount
            for statement in after:
                cur.execute(statement.format(**new))
            cur.execute("SET maintenance_work_mem = '1GB'")
            for i, name in enumerate(targets, 1):
                log.info("[load] %s: indexing %s (%d/%d, %.0f s)", dataset, name, i, len(targets),
                         time.perf_counter() - started)
                _build_indexes(cur, name, shapes[name])
            cur.execute("RESET maintenance_work_mem")
            # Fresh statistics, or the planner skips the new indexes; a 3,000-row sample
            # per table is plenty for the app's lookups and 10x cheaper than the default.
            cur.execute("SET default_statistics_target = 10")
            for name in targets:
                cur.execute(f"ANALYZE {new[name]}")
            cur.execute("RESET default_statistics_target")
        conn.commit()
        log.info("[load] %s: swapping %d tables in (%.0f s)", dataset, len(targets), time.perf_counter() - started)
        seconds = _swap(conn, shapes, run_id, rows, started)
        with conn.cursor() as cur:
            _drop(cur, [name + OLD for name in targets])
        conn.commit()
    except Exception as e:
        conn.rollback()
        with conn.cursor() as cur:
            _drop(cur, [name + NEXT for name in targets])
        conn.commit()
        _fail_run(conn, run_id, e)
        raise LoadError(f"loading {dataset} from {source} failed; the store is unchanged: "
                        f"{str(e).strip()}") from e
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOAD_LOCK,))
        conn.commit()
    return LoadResult(dataset, rows, seconds)


def _swap(conn, shapes: dict[str, Shape], run_id: int, rows: dict, started: float) -> float:
    """Rename old to ``__old`` and new into place in one short transaction; its finish time."""
    deadline = time.monotonic() + SWAP_DEADLINE
    names = list(shapes)
    while True:
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")
                cur.execute(f"SET LOCAL statement_timeout = '{LOCK_WAIT_MS}ms'")
                cur.execute(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE")
                cur.execute("SET LOCAL statement_timeout = 0")
                for name, shape in shapes.items():
                    _rename(cur, "TABLE", name, name + OLD)
                    _rename(cur, "TABLE", name + NEXT, name)
                    for part, _ in shape.partitions:
                        _rename(cur, "TABLE", part, part + OLD)
                        _rename(cur, "TABLE", part + NEXT, part)
                    for index, _ in shape.indexes:
                        _rename(cur, "INDEX", index, index + OLD)
                        _rename(cur, "INDEX", index + NEXT, index)
                    for constraint, _ in shape.constraints:
                        cur.execute(f"ALTER TABLE {name + OLD} RENAME CONSTRAINT {constraint} TO {constraint + OLD}")
                        cur.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {constraint + NEXT} TO {constraint}")
                seconds = time.perf_counter() - started
                cur.execute("""UPDATE load_runs SET status = 'committed', finished_at = now(),
                               row_counts = %s, seconds = %s WHERE run_id = %s""",
                            (json.dumps(rows), seconds, run_id))
            conn.commit()
            return seconds
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.QueryCanceled):
            conn.rollback()
            if time.monotonic() > deadline:
                raise LoadError(f"readers kept {', '.join(names)} busy for {SWAP_DEADLINE:.0f} s: "
                                "is a session idle in a transaction?") from None
            time.sleep(random.uniform(0.02, 0.1))  # let the queued readers through, then try again


def _rename(cur, kind: str, old: str, new: str) -> None:
    cur.execute(f"ALTER {kind} {old} RENAME TO {new}")


def _shape(cur, table: str) -> Shape:
    cur.execute("SELECT pg_get_partkeydef(%s::regclass)", (table,))
    key = cur.fetchone()[0]
    cur.execute("""SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
                   JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass
                   ORDER BY c.relname""", (table,))
    partitions = cur.fetchall()
    cur.execute("""SELECT i.relname, pg_get_indexdef(x.indexrelid), con.conname, pg_get_constraintdef(con.oid)
                   FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid
                   WHERE x.indrelid = %s::regclass ORDER BY i.relname""", (table,))
    indexes, constraints = [], []
    for index, definition, constraint, constraint_def in cur.fetchall():
        if constraint:
            constraints.append((constraint, constraint_def))
        else:
            indexes.append((index, definition))
    return Shape(key, partitions, indexes, constraints)


def _create_beside(cur, table: str, shape: Shape) -> None:
    partitioned = f" PARTITION BY {shape.partition_key}" if shape.partition_key else ""
    cur.execute(f"CREATE TABLE {table + NEXT} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                f"INCLUDING GENERATED){partitioned}")
    for part, bound in shape.partitions:
        cur.execute(f"CREATE TABLE {part + NEXT} PARTITION OF {table + NEXT} {bound}")


_INDEX = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) (\S+) ON (?:ONLY )?(\S+) (USING .*)$", re.S)


def _build_indexes(cur, table: str, shape: Shape) -> None:
    for constraint, definition in shape.constraints:
        cur.execute(f"ALTER TABLE {table + NEXT} ADD CONSTRAINT {constraint + NEXT} {definition}")
    for index, definition in shape.indexes:
        create, _, _, using = _INDEX.match(definition).groups()
        cur.execute(f"{create} {index + NEXT} ON {table + NEXT} {using}")


def _drop(cur, names: list[str]) -> None:
    for name in names:
        cur.execute(f"DROP TABLE IF EXISTS {name} CASCADE")


COPY_ROWS = 500_000
"""Rows per COPY: the CSV of one batch is held in memory, never the whole table's."""


def _copy(cur, table_name: str, table: pa.Table) -> None:
    columns = ", ".join(table.column_names)
    for batch in table.to_batches(max_chunksize=COPY_ROWS) or [table]:
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, write_options=pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        cur.copy_expert(f"COPY {table_name} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)


def _start_run(conn, dataset: str, source: str, version: str | None) -> int:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO load_runs (dataset, source, version) VALUES (%s, %s, %s) "
                    "RETURNING run_id", (dataset, source, version))
        run_id = cur.fetchone()[0]
    conn.commit()
    return run_id


def _fail_run(conn, run_id: int, error: Exception) -> None:
    with conn.cursor() as cur:
        cur.execute("""UPDATE load_runs SET status = 'failed', finished_at = now(), error = %s
                       WHERE run_id = %s""", (str(error)[:2000], run_id))
    conn.commit()
