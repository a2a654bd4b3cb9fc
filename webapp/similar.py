"""What both the page and the API do: check the request, vectorise the upload, search, enrich.

Every SQL statement is parameterised.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np
from flask import current_app

from batch.core.audio import AudioError, is_silent, loudness_dbfs
from batch.core.fingerprint import Peaks, analyse
from batch.core.likeness import GROUPS, compare
from batch.core.style import Style, describe
from batch.core.tempo_key import key_name
from batch.store import search
from batch.store.embedding import embed, vector_literal
from text_pipeline.core.engagement import ENGAGEMENT
from webapp import strip
from webapp.errors import AppError, quote

UPLOAD_TYPES = (".mp3", ".wav", ".ogg", ".flac")

@dataclass(frozen=True)
class Query:
    filename: str
    duration: float
    window: tuple[float, float]
    features: np.ndarray
    peaks: Peaks
    heard: float = 0.0  # seconds listened to, from the start (batch.core.audio.LISTEN_SECONDS at most)
    note: str | None = None  # why listening stopped before the end of the file
    style: Style | None = None  # the learned embedding, tempo and key of the window

    @property
    def key(self) -> str | None:
        return None if self.style is None else key_name(self.style.tonic, self.style.mode)


def genres(conn) -> list[dict]:
    """The 16 top-level genres: id and title.

    The app keeps the last list read (``app.extensions["last_genres"]``): the error page's
    form offers it even when the store is down."""
    with conn.cursor() as cur:
        cur.execute("SELECT genre_id, title FROM genres WHERE is_top_level ORDER BY title")
        found = [{"id": gid, "title": title} for gid, title in cur.fetchall()]
    current_app.extensions["last_genres"] = found
    return found


def resolve_genre(conn, value: str | None) -> str | None:
    """A top-level genre's title from its title or id; None (all genres) for a missing or empty value."""
    value = (value or "").strip()
    if not value:
        return None
    known = genres(conn)
    for g in known:
        if value == str(g["id"]) or value.casefold() == g["title"].casefold():
            return g["title"]
    names = ", ".join(g["title"] for g in known) or "none loaded"
    raise AppError(400, f"unknown genre {quote(value)}: choose one of {names}, or leave it empty for all")


def resolve_k(value, default: int, largest: int, name: str = "k") -> int:
    """A count from a request parameter: ``default`` when absent, else a whole number in [1, largest]."""
    if value in (None, ""):
        return default
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise AppError(400, f"{name} must be a whole number from 1 to {largest}, got {quote(value)}") from None
    if not 1 <= k <= largest:
        raise AppError(400, f"{name} must be a whole number from 1 to {largest}, got {k}")
    return k


def read_upload(upload, *, style: bool = True) -> Query:
    """Vectorise an uploaded file from a temporary file that is always deleted; ``style``
    also runs the style model, tempo and key (:func:`batch.core.style.describe`)."""
    if upload is None or not upload.filename:
        raise AppError(400, "no file uploaded: choose an mp3, wav, ogg or flac file")
    name = os.path.basename(upload.filename)
    ext = os.path.splitext(name)[1].lower()
    name = name if len(name) <= 80 else name[:60] + "…" + ext[:12]
    if ext not in UPLOAD_TYPES:
        raise AppError(415, f"unsupported file type {quote(ext or '(none)', 12)}: upload an mp3, wav, ogg or flac file")
    with tempfile.NamedTemporaryFile(suffix=ext) as tmp:
        upload.save(tmp)
        tmp.flush()
        try:
            vector, peaks, clip = analyse(tmp.name)  # one decode, one STFT
        except AudioError as e:
            raise AppError(422, f"cannot use {name}: {e}") from None
    if is_silent(clip.y):
        level = loudness_dbfs(clip.y)
        heard = "digital silence" if level == float("-inf") else f"a level of {level:.0f} dB below full scale"
        raise AppError(422, f"we heard no music in {name}: the part we listened to is silent or nearly "
                            f"({heard}). Upload a recording with music in it")
    try:
        found = describe(clip.y, clip.sr, vector) if style else None
    except AudioError as e:
        raise AppError(422, f"cannot use {name}: {e}") from None
    return Query(name, clip.duration, (clip.start, clip.end), vector, peaks, clip.heard, clip.note, found)


def same_recording(conn, query: Query) -> dict | None:
    """The catalogue song the upload is a recording of, if it is one: heard, not guessed.

    An upload of a catalogue song at its own speed is found by its hashes at speed 1 alone,
    which read a tenth of the rows that all the speeds read (a whole song's lookup is the
    request's largest); only when none is found are all the speeds searched (an upload
    sped up or slowed)."""
    found = (search.identify(conn, query.peaks, among="tracks", top=1, speeds=(1.0,))
             or search.identify(conn, query.peaks, among="tracks", top=1))
    if not found:
        return None
    best = found[0]
    # offset: where in the catalogue's recording the upload starts; below 0 when the upload
    # starts before it (a whole song against a catalogue clip of its middle)
    return {"track_id": int(best.item), "hashes": best.hashes, "offset": best.offset, "speed": best.speed}


def similar_songs(conn, features: np.ndarray, *, genre: str | None, k: int, videos_per_song: int,
                  same: dict | None = None, exclude: int | None = None, style: np.ndarray | None = None,
                  view: str = "style", filters: search.Filters = search.Filters()) -> list[dict]:
    """The ``k`` catalogue songs most similar to raw ``features`` (and raw ``style``), each with
    its TikTok uses and how alike it is per feature group (percentiles among catalogue pairs,
    :mod:`batch.core.likeness`), and which view found it.

    ``view`` 'style' ranks by the style view (the learned embedding with the 245 numbers,
    re-ranked by mutual proximity, :func:`batch.store.search.style_search`) when the
    catalogue and the query have a style embedding, else by the 245 numbers. When the upload is a recording of a
    catalogue song (``same``), that song comes first, marked ``same_recording``, whatever
    its genre and the filters. ``exclude`` leaves one song out (a song page's own).
    """
    try:
        scaler = search.load_scaler(conn)
    except LookupError as e:
        raise AppError(503, f"{e}") from None
    styles = search.load_style_scaler(conn) if view == "style" and style is not None else None
    n = k + (exclude is not None)
    if styles is not None:
        hits = search.style_search(conn, features, style, styles, genre=genre, k=n, filters=filters)
    else:
        hits = search.search(conn, features, genre=genre, k=n, scaler=scaler, filters=filters)
    hits = [h for h in hits if h.track_id != exclude][:k]
    if same is not None:
        with conn.cursor() as cur:
            cur.execute("""SELECT genre_top, 1 - (embedding <=> %s::vector) FROM track_vectors
                           WHERE track_id = %s""",
                        (vector_literal(embed(features, *scaler)[0]), same["track_id"]))
            row = cur.fetchone()
        if row is not None:
            hits = [search.Hit(same["track_id"], row[0], float(row[1]), "fingerprint")] + [
                h for h in hits if h.track_id != same["track_id"]][: k - 1]
    ids = [h.track_id for h in hits]
    with conn.cursor() as cur:
        cur.execute("""SELECT t.track_id, t.title, t.artist, t.audio_path, v.features,
                              v.bpm, v.key_tonic, v.key_mode, v.key_confidence
                       FROM tracks t JOIN track_vectors v USING (track_id)
                       WHERE t.track_id = ANY(%s)""", (ids,))
        info = {row[0]: row[1:] for row in cur.fetchall()}
    uses = tiktok_uses(conn, ids, videos_per_song)
    references = search.similarity_reference(conn)
    q = embed(features, *scaler)[0]
    results = []
    for hit in hits:
        title, artist, audio_path, stored, bpm, tonic, mode, confidence = info.get(hit.track_id, (None,) * 8)
        alike = (compare(q, embed(np.asarray(stored, np.float32), *scaler)[0], references) if stored
                 else {"groups": dict.fromkeys(GROUPS), "summary": None})
        results.append({
            "track_id": hit.track_id, "title": title, "artist": artist,
            "genre": hit.genre_top or None, "score": round(hit.similarity, 4), "view": hit.view,
            **tempo_and_key(bpm, tonic, mode, confidence),
            "has_audio": reachable(audio_path),
            **alike,
            "tiktok": uses.get(hit.track_id, []),
            "same_recording": same is not None and hit.track_id == same["track_id"],
        })
    return results


def tempo_and_key(bpm, tonic, mode, confidence) -> dict:
    """A song's stored tempo and key as the page and the API show them (None when unknown)."""
    return {"bpm": None if bpm is None else round(float(bpm), 1),
            "key": None if tonic is None else key_name(tonic, mode),
            "key_confidence": None if confidence is None else round(float(confidence), 2)}


def sounds_containing(conn, query: Query, same: dict | None, *, videos_per_sound: int,
                      limit: int = 10) -> list[dict]:
    """TikTok sounds that contain the upload, each with its videos, most videos first.

    Two ways in: the upload heard inside a sound's stored fingerprints, and, when the
    upload is a catalogue song, the sounds the batch job identified as that song.
    ``speed`` is how much faster the sound plays than the upload.
    """
    found: dict[str, dict] = {}
    for hit in search.identify(conn, query.peaks, among="sounds", top=limit):
        # The upload plays hit.speed times as fast as the sound, and the offset is in the
        # sound's time: the sound starts -offset / hit.speed seconds into the upload.
        found[str(hit.item)] = {"music_id": str(hit.item), "speed": round(1.0 / hit.speed, 3),
                                "offset": round(max(0.0, -hit.offset / hit.speed), 2),
                                "hashes": hit.hashes, "how": "heard in the sound"}
    if same is not None:
        with conn.cursor() as cur:
            cur.execute("""SELECT music_id, audio_speed, audio_hashes, audio_offset FROM matches
                           WHERE track_id = %s AND method IN ('audio', 'title+audio')""",
                        (same["track_id"],))
            for music_id, speed, hashes, offset in cur.fetchall():
                # The batch job placed the sound in the catalogue's recording, which starts
                # -same.offset into the upload.
                at = None if offset is None else round(max(0.0, offset - same["offset"]), 2)
                found.setdefault(music_id, {"music_id": music_id, "speed": speed, "hashes": hashes,
                                            "offset": at, "how": "identified by the catalogue job"})
    with conn.cursor() as cur:
        cur.execute("SELECT music_id, duration FROM sound_vectors WHERE music_id = ANY(%s)", (list(found),))
        for music_id, seconds in cur.fetchall():
            sound = found[music_id]
            sound["variant"] = strip.variant(sound["speed"])
            # how much of the upload the sound covers: a sound sped up 1.25x covers 1.25x its length
            sound["covers"] = round(seconds * (sound["speed"] or 1.0), 2) if sound["offset"] is not None else None
    return _with_sound_videos(conn, list(found.values()), videos_per_sound)[:limit]


def listening_strip(query: Query, containing: list[dict]) -> dict | None:
    """Where in the upload TikTok listens (:func:`webapp.strip.where`), from the sounds found in it."""
    uses = [strip.Use(s["offset"], s["covers"], s["speed"], s["video_count"])
            for s in containing if s.get("offset") is not None and s.get("covers")]
    return strip.where(uses, query.heard or query.duration)


def sounds_like(conn, query: Query, *, k: int, videos_per_sound: int, heard: list[dict] = ()) -> list[dict]:
    """The TikTok sounds whose audio vectors are nearest the upload's, each with its videos;
    not those ``heard`` to contain it (:func:`sounds_containing`), which are shown already."""
    shown = {s["music_id"] for s in heard}
    try:
        nearest = search.similar_sounds(conn, query.features, k=k + len(shown))
    except LookupError:
        return []
    sounds = [{"music_id": m, "score": round(sim, 4)} for m, sim in nearest if m not in shown][:k]
    return _with_sound_videos(conn, sounds, videos_per_sound, keep_order=True)


def _with_sound_videos(conn, sounds: list[dict], per_sound: int, keep_order: bool = False) -> list[dict]:
    """Add each sound's title, artist, video count and most engaging videos."""
    ids = [s["music_id"] for s in sounds]
    with conn.cursor() as cur:
        cur.execute("""SELECT music_id, song_title, artist_name, is_original, video_count, total_plays
                       FROM tiktok_sounds WHERE music_id = ANY(%s)""", (ids,))
        info = {r[0]: dict(zip(("music_id", "song_title", "artist_name", "is_original", "video_count",
                                "total_plays"), r)) for r in cur.fetchall()}
    videos = ranked_videos(conn, "SELECT m, m FROM unnest(%(ids)s::text[]) AS m", {"ids": ids}, per_sound)
    out = [{**s, **info[s["music_id"]], "videos": videos.get(s["music_id"], [])}
           for s in sounds if s["music_id"] in info]  # a sound no loaded video uses is not shown
    return out if keep_order else sorted(out, key=lambda s: (-s["video_count"], s["music_id"]))


def tiktok_uses(conn, track_ids: list[int], per_track: int) -> dict[int, list[dict]]:
    """Each track's TikTok videos, most engaging first."""
    return ranked_videos(conn, "SELECT track_id, music_id FROM matches WHERE track_id = ANY(%(ids)s)",
                         {"ids": track_ids}, per_track)


def ranked_videos(conn, pairs: str, params: dict, per: int, where: str = "") -> dict:
    """The ``per`` most engaging videos of each key, where ``pairs`` is a SELECT of
    (key, music_id) rows and ``where`` an extra condition on the videos ``v``.

    Each sound's best videos are read from the top of the (music_id, engagement) index
    (sql/010), so a sound with millions of videos costs no more than one with ten.
    ``pairs`` and ``where`` are this package's own SQL fragments, never request input.
    """
    columns = ("video_id", "video_url", "cover_url", "play_count", "like_count", "comment_count",
               "share_count", "hashtags", "song_title", "author", "created_at", "engagement")
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT key, music_id, {', '.join(columns)}
                FROM (SELECT p.key, p.music_id, v.*,
                             row_number() OVER (PARTITION BY p.key ORDER BY v.engagement DESC, v.video_id) AS rank
                      FROM ({pairs}) AS p(key, music_id)
                      CROSS JOIN LATERAL (
                          SELECT {', '.join(columns[:-1])}, {ENGAGEMENT} AS engagement FROM tiktok_videos v
                          WHERE v.music_id = p.music_id {where}
                          ORDER BY {ENGAGEMENT} DESC, v.video_id LIMIT %(per)s) v) ranked
                WHERE rank <= %(per)s ORDER BY key, rank""", {**params, "per": per})
        names = [d[0] for d in cur.description]
        found: dict = {}
        for row in cur.fetchall():
            video = dict(zip(names, row))
            video["created_at"] = video["created_at"].isoformat() if video["created_at"] else None
            found.setdefault(video.pop("key"), []).append(video)
    return found


def popularity(conn, query: Query) -> list[dict]:
    """What the stored popularity models predict for the upload: a range per target, with its caveat.

    Empty until ``python -m batch.jobs.popularity --load`` has trained them.
    """
    from batch.jobs.popularity import BARELY, TARGETS, predict, stored_models

    found = []
    for target, model in sorted(stored_models(conn).items()):
        p = predict(model, query.features)
        found.append({"target": target, "label": TARGETS[target],
                      **{k: round(v) for k, v in p.items()},
                      "r2": round(model["r2"], 3), "baseline_r2": round(model["baseline_r2"], 3),
                      "songs": model["songs"], "folds": model["folds"], "barely": model["r2"] < BARELY})
    return found


def hashtag_summary(results: list[dict], top: int = 15) -> list[tuple[str, int]]:
    """Hashtags most used by the videos of all results, with their counts."""
    counts: dict[str, int] = {}
    for r in results:
        for video in r["tiktok"]:
            for tag in video["hashtags"] or []:
                counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def reachable(audio_path: str | None) -> bool:
    """True when the clip can be played: a local file that exists, or an S3 object (presigned)."""
    return bool(audio_path) and (audio_path.startswith("s3://") or os.path.isfile(audio_path))
