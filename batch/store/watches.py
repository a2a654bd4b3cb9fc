"""Watches: a musician's song, checked for new TikTok uses by every scheduled run.

A watch is opened by a token of :data:`TOKEN_BYTES` random bytes from :mod:`secrets`,
given once to its owner. The store keeps only the token's SHA-256, so neither a copy of
the database nor its logs can open a watch; logs name a watch by :func:`token_prefix`.

A watch keeps what identification needs (the song's reference peaks, how long it was
heard), the file's name and the genre chosen, never the audio. Its uses are the TikTok
sounds found to hold it, each once, with the run that found it. These are user data
(sql/012): no load swaps them, and :func:`delete` removes a watch with all its rows.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import pandas as pd
from psycopg2.extras import execute_values

TOKEN_BYTES = 24
"""192 bits of randomness per token (the issue asks for at least 128)."""
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")  # token_urlsafe(24): 32 characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_prefix(token: str) -> str:
    """What logs may show of a token: its first six characters."""
    return f"{str(token)[:6]}…"


def create(conn, *, file_name: str, genre: str | None, duration: float, peak_t, peak_f) -> tuple[int, str]:
    """Store a new watch; its id and the token that opens it (shown once, stored as a hash)."""
    token = new_token()
    with conn, conn.cursor() as cur:
        cur.execute("""INSERT INTO watches (token_hash, file_name, genre, duration, peak_t, peak_f)
                       VALUES (%s, %s, %s, %s, %s, %s) RETURNING watch_id""",
                    (token_hash(token), file_name, genre, float(duration),
                     [int(t) for t in peak_t], [float(f) for f in peak_f]))
        return cur.fetchone()[0], token


def _well_formed(token) -> bool:
    return isinstance(token, str) and bool(_TOKEN.match(token))


def find(conn, token: str) -> dict | None:
    """The watch ``token`` opens, or None (also for a token that is not even well formed)."""
    if not _well_formed(token):
        return None
    with conn.cursor() as cur:
        cur.execute("""SELECT watch_id, file_name, genre, duration, created_at
                       FROM watches WHERE token_hash = %s""", (token_hash(token),))
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
    return None if row is None else dict(zip(names, row))


def delete(conn, token: str) -> bool:
    """Delete the watch ``token`` opens, with its uses; whether there was one."""
    if not _well_formed(token):
        return False
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM watches WHERE token_hash = %s", (token_hash(token),))
        return cur.rowcount == 1


def uses(conn, watch_id: int) -> list[dict]:
    """The sounds found to hold the watched song, newest first."""
    with conn.cursor() as cur:
        cur.execute("""SELECT music_id, offset_s, speed, votes, run_id, found_at FROM watch_uses
                       WHERE watch_id = %s ORDER BY found_at DESC, music_id""", (watch_id,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def watched_songs(conn) -> pd.DataFrame:
    """Every watch's peaks, as the identification's catalogue (``track_id`` is the watch id),
    and whether a run has searched every sound for it (``checked``)."""
    with conn.cursor() as cur:
        cur.execute("SELECT watch_id, peak_t, peak_f, checked FROM watches ORDER BY watch_id")
        rows = cur.fetchall()
    conn.rollback()
    return pd.DataFrame(rows, columns=["track_id", "peak_t", "peak_f", "checked"])


def checked_sounds(conn) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT music_id FROM watch_checked_sounds")
        found = [r[0] for r in cur.fetchall()]
    conn.rollback()
    return found


def record_run(conn, run_id: str, checked: list[str], found: pd.DataFrame, watched: list[int] = ()) -> int:
    """In one transaction: the uses ``found`` (watch_id, music_id, offset_s, speed, votes),
    the sounds ``checked`` and the watches searched in every sound (``watched``). A use
    already stored is kept as it was. Returns the uses added."""
    with conn, conn.cursor() as cur:
        if len(watched):
            cur.execute("UPDATE watches SET checked = true WHERE watch_id = ANY(%s)", ([int(w) for w in watched],))
        added = 0
        if len(found):
            rows = [(int(r.watch_id), str(r.music_id), float(r.offset_s), float(r.speed), int(r.votes), run_id)
                    for r in found.itertuples(index=False)]
            # Only watches that still exist: one deleted during the run takes its uses with it.
            execute_values(cur, """INSERT INTO watch_uses (watch_id, music_id, offset_s, speed, votes, run_id)
                                   SELECT v.* FROM (VALUES %s) AS v(watch_id, music_id, offset_s, speed, votes, run_id)
                                   JOIN watches w USING (watch_id)
                                   ON CONFLICT (watch_id, music_id) DO NOTHING""", rows,
                           page_size=len(rows))  # one statement, so rowcount counts them all
            added = cur.rowcount
        execute_values(cur, """INSERT INTO watch_checked_sounds (music_id, run_id) VALUES %s
                               ON CONFLICT (music_id) DO NOTHING""", [(m, run_id) for m in checked],
                       page_size=10000)
    return added
