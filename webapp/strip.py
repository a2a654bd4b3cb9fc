"""Where in a song TikTok listens: the parts its sounds use, shaded by videos, in one sentence.

Each identified use is a TikTok sound heard inside the song: where in the song it starts,
how much of the song it covers, how fast it plays (1.25 is sped up) and how many videos
use it. A second of the song counts the videos of every sound that covers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from batch.core.audio import clock

SPED_UP, SLOWED = 1.02, 0.98
"""A sound faster than SPED_UP times the song is sped up; slower than SLOWED, slowed."""
VARIANTS = ("original speed", "sped up", "slowed")
WIDTH = 1000
"""Width of the strip's drawing (its viewBox); the page scales it to fit."""


@dataclass(frozen=True)
class Use:
    start: float  # where in the song the sound starts, in seconds
    seconds: float  # how much of the song it covers, in seconds
    speed: float | None  # how much faster the sound plays than the song
    videos: int


def variant(speed: float | None) -> str:
    """"sped up", "slowed" or "original speed"."""
    if speed is None or SLOWED <= speed <= SPED_UP:
        return "original speed"
    return "sped up" if speed > SPED_UP else "slowed"


def where(uses: list[Use], length: float) -> dict | None:
    """The strip of a song ``length`` seconds long, or None when no use has a place in it.

    Returns the song's length, the shaded segments (start, end, videos, and their share of
    the busiest), the busiest part, the share of videos per variant, and the sentence.
    """
    uses = [u for u in uses if u.start is not None and u.videos > 0 and u.start < length]
    if not uses or length <= 0:
        return None
    n = math.ceil(length)
    per_second = [[0, 0, 0] for _ in range(n)]  # videos per variant
    for u in uses:
        kind = VARIANTS.index(variant(u.speed))
        lo = max(0, round(u.start))  # to the nearest second: a use found at 149.98 s starts at 2:30
        for second in range(lo, min(n, max(lo + 1, round(u.start + u.seconds)))):
            per_second[second][kind] += u.videos
    totals = [sum(s) for s in per_second]
    top = max(totals)
    segments, busiest = [], None
    for second, videos in enumerate(totals):
        if videos and segments and segments[-1]["end"] == second and segments[-1]["videos"] == videos:
            segments[-1]["end"] = second + 1
        elif videos:
            segments.append({"start": second, "end": second + 1, "videos": videos})
    for s in segments:
        s["end"] = min(s["end"], length)
        s["shade"] = round(0.25 + 0.75 * s["videos"] / top, 2)
        s["x"], s["width"] = round(WIDTH * s["start"] / length, 1), round(WIDTH * (s["end"] - s["start"]) / length, 1)
        if busiest is None and s["videos"] == top:
            busiest = s
    covering = [sum(per_second[t][k] for t in range(int(busiest["start"]), math.ceil(busiest["end"])))
                for k in range(3)]
    all_videos = sum(u.videos for u in uses)
    shares = {v: round(sum(u.videos for u in uses if variant(u.speed) == v) / all_videos, 3) for v in VARIANTS}
    return {"length": round(length, 2), "segments": segments,
            "busiest": {k: busiest[k] for k in ("start", "end", "videos")},
            "variants": shares, "sentence": sentence(busiest, covering)}


def sentence(busiest: dict, covering: list[int]) -> str:
    """"TikTok uses 0:42–0:57 most, in 31 videos, 60 % of them sped up." ``covering`` is the
    busiest part's video-seconds per variant, which give the shares of its videos."""
    text = (f"TikTok uses {clock(busiest['start'])}–{clock(busiest['end'])} most, in "
            f"{busiest['videos']:,} video{'s' if busiest['videos'] != 1 else ''}")
    total = sum(covering)
    changed = max((1, 2), key=lambda k: covering[k])
    if covering[changed] == 0:
        return text + ", all at the song's own speed."
    if covering[changed] == total:
        return text + f", all of them {VARIANTS[changed]}."
    return text + f", {100 * covering[changed] / total:.0f} % of them {VARIANTS[changed]}."
