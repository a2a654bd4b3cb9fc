"""One catalogue song: its facts, the TikTok sounds that use it and how each was found,
its videos and their number per week, and the catalogue songs most like it. The song page and ``/api/tracks/<id>``
both read it from :func:`song`."""

from __future__ import annotations

import numpy as np

from webapp import strip, weekly
from webapp.errors import AppError
from webapp.similar import reachable, similar_songs, tempo_and_key, tiktok_uses

HOW = {
    "title": "found by its title",
    "audio": "heard in the sound's audio",
    "title+audio": "found by its title and heard in its audio",
}
"""How a sound was matched to the song (``matches.method``), in words."""


def song(conn, track_id: int, *, videos: int = 50, more: int = 6, videos_per_song: int = 3) -> dict:
    """The song ``track_id`` with ``sounds``, its ``videos`` most engaging videos and ``more_like_this``.

    Raises
    ------
    AppError
        404 when the catalogue has no such song.
    """
    with conn.cursor() as cur:
        cur.execute("""SELECT t.track_id, t.title, t.artist, t.album, t.genre_top, t.listens, t.duration,
                              t.audio_path, v.features, v.style, v.bpm, v.key_tonic, v.key_mode,
                              v.key_confidence
                       FROM tracks t LEFT JOIN track_vectors v USING (track_id)
                       WHERE t.track_id = %s""", (track_id,))
        row = cur.fetchone()
        if row is None:
            raise AppError(404, f"no track {track_id} in the catalogue")
        track = dict(zip([d[0] for d in cur.description], row))
        cur.execute("""SELECT s.music_id, s.song_title, s.artist_name, s.video_count, s.total_plays,
                              m.method, m.title_score, m.artist_score, m.total_score,
                              m.audio_hashes, m.audio_offset, m.audio_speed, a.duration AS sound_seconds
                       FROM matches m JOIN tiktok_sounds s USING (music_id)
                       LEFT JOIN sound_vectors a USING (music_id)
                       WHERE m.track_id = %s ORDER BY s.total_plays DESC, s.music_id""", (track_id,))
        names = [d[0] for d in cur.description]
        track["sounds"] = [dict(zip(names, r)) for r in cur.fetchall()]
    uses = []
    for sound in track["sounds"]:
        sound["how"] = HOW.get(sound["method"], sound["method"])
        sound["variant"] = strip.variant(sound["audio_speed"]) if sound["audio_offset"] is not None else None
        seconds = sound.pop("sound_seconds")
        if sound["audio_offset"] is not None and seconds:
            uses.append(strip.Use(sound["audio_offset"], seconds * (sound["audio_speed"] or 1.0),
                                  sound["audio_speed"], sound["video_count"]))
    # Offsets are in the recording the catalogue job heard: the whole song when it was
    # featurized from full-length audio, else its clip (whose length the metadata then gives).
    length = max([track["duration"] or 0] + [u.start + u.seconds for u in uses])
    track["where_tiktok_listens"] = strip.where(uses, length)
    track["sound_ids"] = [s["music_id"] for s in track["sounds"]]  # every sound that carries the song
    track["videos_per_week"] = weekly.videos_per_week(conn, track["sound_ids"])
    features, style = track.pop("features"), track.pop("style")
    track.update(tempo_and_key(*(track.pop(c) for c in ("bpm", "key_tonic", "key_mode", "key_confidence"))))
    track["has_audio"] = reachable(track.pop("audio_path"))
    track["videos"] = tiktok_uses(conn, [track_id], videos).get(track_id, [])
    track["more_like_this"] = [] if features is None else similar_songs(
        conn, np.asarray(features, np.float32), genre=None, k=more, videos_per_song=videos_per_song,
        exclude=track_id, style=None if style is None else np.asarray(style, np.float32))
    return track
