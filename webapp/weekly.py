"""How a song's use on TikTok grows: its videos per week, with each of its sounds' share.

Every TikTok sound that carries a song (matched to a catalogue song by its title or by
listening, or found to hold a watched song) counts as the song, so their videos count
together. A video counts in the week (Monday to Sunday, UTC) of its
``created_at``; videos without a date are counted apart. Weeks without a video between
the first and the last are kept, at zero, so the plot's gaps are real. The plot is SVG
drawn on the server: stacked bars, one colour per sound for the :data:`SOUNDS_SHOWN`
with most videos, the rest together.
"""

from __future__ import annotations

from datetime import date, timedelta

SOUNDS_SHOWN = 5
"""Sounds with a colour of their own; the others are drawn together as "other sounds"."""
WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 44, WIDTH - 8, 10, HEIGHT - 24


def videos_per_week(conn, music_ids: list[str]) -> dict | None:
    """The videos per week of the sounds ``music_ids``, counted as one song: ``weeks`` (each
    with its ``week``, ``videos`` and ``by_sound``), ``sounds`` (music_id, title, videos and
    share, most videos first) and ``undated``. None when none of their videos has a date."""
    with conn.cursor() as cur:
        cur.execute("""SELECT v.music_id, s.song_title, date_trunc('week', v.created_at AT TIME ZONE 'UTC')::date,
                              count(*)
                       FROM tiktok_videos v JOIN tiktok_sounds s USING (music_id)
                       WHERE v.music_id = ANY(%s)
                       GROUP BY 1, 2, 3""", (list(music_ids),))
        rows = cur.fetchall()
    dated = [(music_id, title, week, n) for music_id, title, week, n in rows if week is not None]
    if not dated:
        return None
    first, last = min(r[2] for r in dated), max(r[2] for r in dated)
    weeks = [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]
    index = {week: i for i, week in enumerate(weeks)}
    counts: dict[str, list[int]] = {}
    titles: dict[str, str | None] = {}
    for music_id, title, week, n in dated:
        counts.setdefault(music_id, [0] * len(weeks))[index[week]] += n
        titles[music_id] = title
    total = sum(sum(c) for c in counts.values())
    order = sorted(counts, key=lambda m: (-sum(counts[m]), m))
    return {
        "weeks": [{"week": week.isoformat(), "videos": sum(counts[m][i] for m in order),
                   "by_sound": {m: counts[m][i] for m in order if counts[m][i]}}
                  for i, week in enumerate(weeks)],
        "sounds": [{"music_id": m, "title": titles[m], "videos": sum(counts[m]),
                    "share": round(sum(counts[m]) / total, 4)} for m in order],
        "undated": sum(n for _, _, week, n in rows if week is None),
    }


def plot(history: dict | None) -> dict | None:
    """Geometry of the stacked bars of :func:`videos_per_week`, in SVG units."""
    if history is None:
        return None
    weeks, sounds = history["weeks"], history["sounds"]
    shown = [s["music_id"] for s in sounds[:SOUNDS_SHOWN]]
    most = max(w["videos"] for w in weeks)
    step = (RIGHT - LEFT) / len(weeks)
    bars = []
    for i, week in enumerate(weeks):
        y = BOTTOM
        parts = [(m, week["by_sound"].get(m, 0), f"s{k}") for k, m in enumerate(shown)]
        parts.append((None, week["videos"] - sum(n for _, n, _ in parts), "other"))
        for music_id, n, colour in parts:
            if not n:
                continue
            h = n / most * (BOTTOM - TOP)
            y -= h
            bars.append({"x": round(LEFT + i * step + 0.5, 1), "w": round(max(1.0, step - 1), 1),
                         "y": round(y, 1), "h": round(h, 1), "colour": colour, "week": week["week"],
                         "videos": n, "music_id": music_id})
    legend = [{"colour": f"s{k}", **s} for k, s in enumerate(sounds[:SOUNDS_SHOWN])]
    rest = sounds[SOUNDS_SHOWN:]
    if rest:
        legend.append({"colour": "other", "music_id": None, "title": f"{len(rest)} other sound{'s' if len(rest) != 1 else ''}",
                       "videos": sum(s["videos"] for s in rest),
                       "share": round(sum(s["share"] for s in rest), 4)})
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": RIGHT, "top": TOP,
            "bottom": BOTTOM, "most": most, "bars": bars, "legend": legend,
            "first": _label(weeks[0]["week"]), "last": _label(weeks[-1]["week"]), "weeks": len(weeks),
            "undated": history["undated"]}


def _label(day: str) -> str:
    """``2019-11-04`` -> ``4 Nov 2019``: a week by its Monday."""
    d = date.fromisoformat(day)
    return f"{d.day} {d:%b %Y}"
