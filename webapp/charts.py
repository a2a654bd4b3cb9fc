"""Chart overlap in the web app: the loaded Spotify charts, each entry's TikTok use, and a plot.

The overlap is computed and loaded by ``python -m text_pipeline.jobs.charts --load``; here it
is only read. The plot puts chart position on x and the TikTok engagement of the
entry's sounds on y (log scale), drawn as SVG on the server, so the page needs no script.
"""

from __future__ import annotations

import math

import pandas as pd

from text_pipeline.core.engagement import ENGAGEMENT
from text_pipeline.jobs.charts import ENTRY_COLUMNS, TOTALS
from webapp.errors import AppError, quote

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 16, 70
"""The plot's size and margins, in SVG units; the strip under the x axis holds the misses."""


def list_charts(conn) -> list[dict]:
    """Every loaded chart: name, series, date, kind, entries, entries used on TikTok, their videos."""
    with conn.cursor() as cur:
        cur.execute("""SELECT chart, min(series) AS series, min(date) AS date, min(kind) AS kind,
                              count(*) AS entries, count(*) FILTER (WHERE videos > 0) AS used,
                              sum(videos)::bigint AS videos
                       FROM chart_entries GROUP BY chart ORDER BY min(series), min(date) DESC NULLS LAST, chart""")
        return [{**dict(zip([d[0] for d in cur.description], row)), "date": _iso(row[2])} for row in cur.fetchall()]


def chart_entries(conn, name: str) -> pd.DataFrame:
    """One chart's entries by position, with their TikTok totals; 404 for a chart not loaded."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM chart_entries WHERE chart = %s "
                    "ORDER BY position", (name,))
        rows = cur.fetchall()
    if not rows:
        raise AppError(404, f"no chart {quote(name)} is loaded: load one with "
                            "python -m text_pipeline.jobs.charts CHART.csv --matched DIR --load")
    entries = pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))
    entries["streams"] = entries["streams"].astype("Int64")
    return entries


def catalogue_songs(conn, name: str) -> dict[int, dict]:
    """Per chart position, the catalogue song its TikTok sounds were matched to, if any
    (the most used one): the chart page links it to the song's page."""
    with conn.cursor() as cur:
        cur.execute("""SELECT DISTINCT ON (e.position) e.position, t.track_id, t.title
                       FROM chart_entries e CROSS JOIN LATERAL unnest(e.music_ids) AS u(music_id)
                       JOIN matches m ON m.music_id = u.music_id JOIN tracks t ON t.track_id = m.track_id
                       JOIN tiktok_sounds s ON s.music_id = u.music_id
                       WHERE e.chart = %s ORDER BY e.position, s.video_count DESC, t.track_id""", (name,))
        return {position: {"track_id": track_id, "title": title} for position, track_id, title in cur.fetchall()}


def summary(entries: pd.DataFrame) -> dict:
    """How many entries TikTok uses, in how many videos, and how position and engagement relate.

    ``spearman`` is the rank correlation of chart position and engagement over the used
    entries (None below three): negative when songs higher on the chart (smaller
    position numbers) are used more.
    """
    used = entries[entries["videos"] > 0]
    rho = None
    if len(used) >= 3 and used["engagement"].nunique() > 1:
        rho = round(float(used["position"].rank().corr(used["engagement"].rank())), 2)
    first = entries.iloc[0]
    return {"chart": first["chart"], "series": first.get("series"), "date": _iso(first.get("date")),
            "kind": first["kind"],
            "entries": len(entries), "used": len(used), "videos": int(used["videos"].sum()),
            "engagement": int(used["engagement"].sum()), "spearman": rho}


def plot(entries: pd.DataFrame) -> dict:
    """Geometry of the position-vs-engagement scatter: points, misses, ticks, in SVG units."""
    last = max(int(entries["position"].max()), 2)

    def x_of(position):
        return LEFT + (position - 1) / (last - 1) * (WIDTH - LEFT - RIGHT)

    used = entries[entries["engagement"] > 0]
    if len(used):
        low = math.floor(math.log10(used["engagement"].min()))
        high = max(math.ceil(math.log10(used["engagement"].max())), low + 1)
    else:
        low, high = 0, 1

    def y_of(engagement):
        return TOP + (high - math.log10(engagement)) / (high - low) * (HEIGHT - TOP - BOTTOM)

    step = max(1, math.ceil((high - low) / 6))
    xticks = sorted({1, *range(0, last + 1, 25 if last > 60 else 10)} - {0} | {last})
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM, "miss_y": HEIGHT - BOTTOM + 34,
        "points": [{"x": round(x_of(r.position), 1), "y": round(y_of(r.engagement), 1),
                    "position": int(r.position), "title": r.title, "artist": r.artist,
                    "videos": int(r.videos), "engagement": int(r.engagement)}
                   for r in used.itertuples()],
        "misses": [{"x": round(x_of(r.position), 1), "position": int(r.position), "title": r.title,
                    "artist": r.artist, "videos": int(r.videos)} for r in entries[entries["engagement"] <= 0].itertuples()],
        "xticks": [(round(x_of(p), 1), p) for p in xticks],
        "yticks": [(round(y_of(10 ** e), 1), _power(e)) for e in range(low, high + 1, step)],
    }


def as_json(entries: pd.DataFrame) -> list[dict]:
    """Entries for the API, in plain JSON types; streams is null on viral charts, date on undated ones."""
    return [{**{c: r[c] for c in ("chart", "series", "region", "period", "kind", "title", "artist", "url")},
             "date": _iso(r["date"]), "artists": list(r["artists"]),
             "position": int(r["position"]), "streams": None if pd.isna(r["streams"]) else int(r["streams"]),
             **{c: int(r[c]) for c in TOTALS}, "music_ids": list(r["music_ids"])}
            for r in entries.to_dict(orient="records")]


# --- history: one series of dated charts ---------------------------------------------------------

HISTORY_SONGS = 12
"""Songs of a chart whose history is shown: those used on TikTok, most engagement first."""
SMALL_W, SMALL_H, SMALL_PAD = 360, 120, 28


def history(conn, entries: pd.DataFrame, *, songs: int = HISTORY_SONGS) -> dict | None:
    """For the chart's songs used on TikTok: their positions on every dated chart of its series,
    and their sounds' TikTok videos and engagement per week over the same weeks.

    None when the series has fewer than two dated charts.
    """
    series = entries["series"].iloc[0]
    with conn.cursor() as cur:
        cur.execute("""SELECT date, title, artist, position, music_ids FROM chart_entries
                       WHERE series = %s AND date IS NOT NULL ORDER BY date, position""", (series,))
        rows = pd.DataFrame(cur.fetchall(), columns=["date", "title", "artist", "position", "music_ids"])
    dates = sorted(set(rows["date"]))
    if len(dates) < 2:
        return None
    picked = entries[entries["videos"] > 0].sort_values("engagement", ascending=False).head(songs)
    on = [rows[(rows["title"] == song.title) & (rows["artist"] == song.artist)] for song in picked.itertuples()]
    sounds = [{m for ids in o["music_ids"] for m in ids} | set(song.music_ids)
              for o, song in zip(on, picked.itertuples())]
    with conn.cursor() as cur:  # every picked song's sounds, per sound and week, in one query
        cur.execute(f"""SELECT music_id, date_trunc('week', created_at)::date, count(*),
                               coalesce(sum({ENGAGEMENT}), 0)::bigint
                        FROM tiktok_videos WHERE music_id = ANY(%s)
                          AND created_at >= %s::date - 6 AND created_at < %s::date + 7
                        GROUP BY 1, 2""", (sorted(set().union(*sounds)), dates[0], dates[-1]))
        weekly = pd.DataFrame(cur.fetchall(), columns=["music_id", "week", "videos", "engagement"])
    out = []
    for song, o, ids in zip(picked.itertuples(), on, sounds):
        weeks = weekly[weekly["music_id"].isin(ids)].groupby("week")[["videos", "engagement"]].sum()
        out.append({"title": song.title, "artist": song.artist,
                    "positions": [{"date": _iso(d), "position": int(p)} for d, p in zip(o["date"], o["position"])],
                    "weeks": [{"week": _iso(w), "videos": int(r.videos), "engagement": int(r.engagement)}
                              for w, r in weeks.sort_index().iterrows()]})
    return {"series": series, "dates": [_iso(d) for d in dates], "songs": out}


def history_plot(song: dict, dates: list[str], worst: int) -> dict:
    """Geometry of one song's small plot: chart position over the dates (a line, 1 on top)
    over bars of its TikTok videos per week, in SVG units."""
    from datetime import date, timedelta

    start = date.fromisoformat(dates[0]) - timedelta(days=date.fromisoformat(dates[0]).weekday())
    span = max(7, (date.fromisoformat(dates[-1]) - start).days + 7)
    left, right, top, bottom = SMALL_PAD, SMALL_W - 8, 10, SMALL_H - 20

    def x_of(day: str) -> float:
        return left + (date.fromisoformat(day) - start).days / span * (right - left)

    most = max([w["videos"] for w in song["weeks"]] or [1])
    bar = 7 / span * (right - left)
    return {
        "width": SMALL_W, "height": SMALL_H, "left": left, "right": right, "top": top, "bottom": bottom,
        "line": " ".join(f"{x_of(p['date']):.1f},{top + (p['position'] - 1) / max(1, worst - 1) * (bottom - top):.1f}"
                         for p in song["positions"]),
        "dots": [{"x": round(x_of(p["date"]), 1), "y": round(top + (p["position"] - 1) / max(1, worst - 1) * (bottom - top), 1),
                  **p} for p in song["positions"]],
        "bars": [{"x": round(x_of(w["week"]), 1), "w": round(max(1.0, bar - 1), 1),
                  "y": round(bottom - w["videos"] / most * (bottom - top), 1),
                  "h": round(w["videos"] / most * (bottom - top), 1), **w}
                 for w in song["weeks"] if x_of(w["week"]) >= left],  # weeks that start in the span
        "first": dates[0], "last": dates[-1], "worst": worst, "most": most,
    }


def _iso(day) -> str | None:
    return None if day is None or (not isinstance(day, str) and pd.isna(day)) else str(day)[:10]


def _power(e: int) -> str:
    return {0: "1", 1: "10", 2: "100", 3: "1k", 4: "10k", 5: "100k", 6: "1M", 7: "10M", 8: "100M",
            9: "1B"}.get(e, f"1e{e}")
