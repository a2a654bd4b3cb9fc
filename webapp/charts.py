"""Chart overlap in the web app: the loaded Spotify charts, each entry's TikTok use, and a plot.

The overlap is computed and loaded by ``python -m text_pipeline.charts --load``; here it
is only read. The plot puts chart position on x and the TikTok engagement of the
entry's sounds on y (log scale), drawn as SVG on the server, so the page needs no script.
"""

from __future__ import annotations

import math

import pandas as pd

from text_pipeline.charts import ENTRY_COLUMNS, TOTALS
from webapp.errors import AppError

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 16, 70
"""The plot's size and margins, in SVG units; the strip under the x axis holds the misses."""


def list_charts(conn) -> list[dict]:
    """Every loaded chart: name, kind, entries, entries used on TikTok, and their videos."""
    with conn.cursor() as cur:
        cur.execute("""SELECT chart, min(kind) AS kind, count(*) AS entries,
                              count(*) FILTER (WHERE videos > 0) AS used, sum(videos)::bigint AS videos
                       FROM chart_entries GROUP BY chart ORDER BY chart""")
        return [dict(zip([d[0] for d in cur.description], row)) for row in cur.fetchall()]


def chart_entries(conn, name: str) -> pd.DataFrame:
    """One chart's entries by position, with their TikTok totals; 404 for a chart not loaded."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM chart_entries WHERE chart = %s "
                    "ORDER BY position", (name,))
        rows = cur.fetchall()
    if not rows:
        raise AppError(404, f"no chart {name!r} is loaded: load one with "
                            "python -m text_pipeline.charts CHART.csv --matched DIR --load")
    entries = pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))
    entries["streams"] = entries["streams"].astype("Int64")
    return entries


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
    return {"chart": entries["chart"].iloc[0], "kind": entries["kind"].iloc[0],
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
    """Entries for the API, in plain JSON types; streams is null on viral charts."""
    return [{**{c: r[c] for c in ("chart", "kind", "title", "artist", "url")},
             "position": int(r["position"]), "streams": None if pd.isna(r["streams"]) else int(r["streams"]),
             **{c: int(r[c]) for c in TOTALS}, "music_ids": list(r["music_ids"])}
            for r in entries.to_dict(orient="records")]


def _power(e: int) -> str:
    return {0: "1", 1: "10", 2: "100", 3: "1k", 4: "10k", 5: "100k", 6: "1M", 7: "10M", 8: "100M",
            9: "1B"}.get(e, f"1e{e}")
