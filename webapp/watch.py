"""Watch a song: a private page that every scheduled run adds the song's new TikTok uses to.

The results page of an upload offers the watch as a signed, time-limited form field
(:func:`offer`): the upload's reference peaks, how long it was heard, its name, the genre
and the sounds found in it then. Nothing is stored until the musician asks. :func:`create`
checks the signature and the client's limit (:data:`PER_HOUR` per address), stores the
watch (:mod:`batch.store.watches`) with the uses found at upload, and returns the token.
The page, its Atom feed and the API open the watch by that token alone; any other token
gets the same 404 as a watch that never was. Logs show a token's first six characters.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from batch.core.audio import clock
from batch.core.fingerprint import PEAKS_PER_BAND
from batch.store import watches
from webapp import strip, weekly
from webapp.errors import AppError

OFFER_SECONDS = 3600
"""How long the results page's "Watch this song" stays valid."""
PER_HOUR = 5
"""Watches one client address may create per hour; past that, 429 with Retry-After."""
MAX_PEAKS = 20 * PEAKS_PER_BAND * 6 * 600  # far above ten minutes of reference peaks
NOT_FOUND = "no such watch: the address may be mistyped, or the watch was deleted"
ATOM = "http://www.w3.org/2005/Atom"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="watch-offer")


def offer(query, genre: str | None, containing: list[dict]) -> str:
    """The signed form field that lets this upload be watched."""
    peaks = query.peaks.reference()
    uses = [[s["music_id"], float(s["offset"]), float(s["speed"] or 1.0), int(s.get("hashes") or 1)]
            for s in containing if s.get("offset") is not None]
    return _serializer().dumps({"name": query.filename, "genre": genre,
                                "heard": round(float(query.heard or query.duration), 2),
                                "t": peaks.t.tolist(), "f": np.round(peaks.lf, 5).tolist(), "uses": uses})


def create(conn, signed: str | None, client: str) -> str:
    """Store the watch ``signed`` offers; its token. 400 for a bad or stale offer, 429 past
    the client's limit."""
    try:
        data = _serializer().loads(signed or "", max_age=OFFER_SECONDS)
    except SignatureExpired:
        raise AppError(400, "this offer to watch the song has expired: upload the song again") from None
    except BadSignature:
        raise AppError(400, "this is not an offer to watch a song from this server: upload the song") from None
    t, f = data.get("t") or [], data.get("f") or []
    if not (0 < len(t) == len(f) <= MAX_PEAKS):
        raise AppError(400, "this song has no fingerprint to watch: upload a recording with music in it")
    _limit(conn, client)
    watch_id, token = watches.create(conn, file_name=str(data["name"])[:200], genre=data.get("genre"),
                                     duration=float(data["heard"]), peak_t=t, peak_f=f)
    found = [{"watch_id": watch_id, "music_id": str(m), "offset_s": max(0.0, o), "speed": s, "votes": max(1, v)}
             for m, o, s, v in data.get("uses", [])]
    if found:
        watches.record_run(conn, "created", [], pd.DataFrame(found))
    current_app.logger.info("watch %s created", watches.token_prefix(token))
    return token


def _limit(conn, client: str) -> None:
    key = hashlib.sha256(client.encode()).digest()
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM watch_requests WHERE at < now() - interval '1 hour'")
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('watch_requests'))")
        cur.execute("""SELECT count(*), ceil(extract(epoch FROM min(at) + interval '1 hour' - now()))
                       FROM watch_requests WHERE client_hash = %s""", (key,))
        made, wait = cur.fetchone()
        if made >= PER_HOUR:
            raise AppError(429, f"you have made {made} watches in the last hour, the most we allow: "
                                "try again later", retry_after=max(1, int(wait or 60)))
        cur.execute("INSERT INTO watch_requests (client_hash) VALUES (%s)", (key,))


def watch(conn, token: str) -> dict:
    """The watch ``token`` opens, with its uses (newest first), strip and videos per week."""
    found = watches.find(conn, token)
    if found is None:
        raise AppError(404, NOT_FOUND)
    uses = watches.uses(conn, found["watch_id"])
    with conn.cursor() as cur:
        cur.execute("""SELECT s.music_id, s.song_title, s.artist_name, s.video_count, v.duration
                       FROM tiktok_sounds s LEFT JOIN sound_vectors v USING (music_id)
                       WHERE s.music_id = ANY(%s)""", ([u["music_id"] for u in uses],))
        sounds = {r[0]: r[1:] for r in cur.fetchall()}
    conn.rollback()
    runs = sorted({u["found_at"] for u in uses}, reverse=True)
    latest = runs[0] if runs else None
    since = runs[1] if len(runs) > 1 else found["created_at"]
    marks = []
    for u in uses:
        title, artist, videos, seconds = sounds.get(u["music_id"], (None, None, 0, None))
        u.update(title=title, artist=artist, videos=videos or 0, variant=strip.variant(u["speed"]),
                 new=u["found_at"] == latest and u["run_id"] != "created")
        if seconds:
            marks.append(strip.Use(u["offset_s"], seconds * u["speed"], u["speed"], u["videos"]))
    length = max([found["duration"]] + [m.start + m.seconds for m in marks])
    return {**found, "uses": uses, "new_since": since if any(u["new"] for u in uses) else None,
            "where_tiktok_listens": strip.where(marks, length),
            "videos_per_week": weekly.videos_per_week(conn, [u["music_id"] for u in uses])}


def delete(conn, token: str) -> None:
    """Delete the watch ``token`` opens, with everything found for it; 404 when there is none."""
    if not watches.delete(conn, token):
        raise AppError(404, NOT_FOUND)


def as_json(found: dict) -> dict:
    """The watch as the API returns it: no id, dates in ISO 8601."""
    def iso(value):
        return value.isoformat() if isinstance(value, datetime) else value

    return {"file_name": found["file_name"], "genre": found["genre"], "duration": found["duration"],
            "created_at": iso(found["created_at"]), "new_since": iso(found["new_since"]),
            "uses": [{"music_id": u["music_id"], "title": u["title"], "artist": u["artist"],
                      "videos": u["videos"], "offset": round(u["offset_s"], 2), "speed": round(u["speed"], 3),
                      "variant": u["variant"], "votes": u["votes"], "found_at": iso(u["found_at"]),
                      "new": u["new"]} for u in found["uses"]],
            "where_tiktok_listens": found["where_tiktok_listens"],
            "videos_per_week": found["videos_per_week"]}


def feed(found: dict, token: str, page_url: str) -> bytes:
    """An Atom feed of the watch, one entry per sound found, newest first."""
    ET.register_namespace("", ATOM)
    key = hashlib.sha256(token.encode()).hexdigest()  # stable ids that do not show the token

    def el(parent, tag, text=None, **attrs):
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    root = ET.Element(f"{{{ATOM}}}feed")
    el(root, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}")
    el(root, "title", f"Where TikTok uses {found['file_name']}")
    updated = max([u["found_at"] for u in found["uses"]] + [found["created_at"]])
    el(root, "updated", _stamp(updated))
    el(el(root, "author"), "name", "FMA × TikTok")
    el(root, "link", href=page_url, rel="alternate", type="text/html")
    el(root, "link", href=page_url.rstrip("/") + "/feed.atom", rel="self", type="application/atom+xml")
    for u in found["uses"]:
        entry = el(root, "entry")
        el(entry, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key + '/' + u['music_id'])}")
        name = u["title"] or f"TikTok sound {u['music_id']}"
        el(entry, "title", f"{name} uses your song from {clock(u['offset_s'])}, {u['variant']}")
        el(entry, "updated", _stamp(u["found_at"]))
        el(entry, "link", href=page_url, rel="alternate", type="text/html")
        el(entry, "summary", f"{u['videos']:,} videos use the sound {u['music_id']}"
                             f"{' by ' + u['artist'] if u['artist'] else ''}; it plays at ×{u['speed']:.2f}.")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
