"""How a search is asked for: the genre, the view and the tempo and key filters, checked.

Both the page's form and the API's parameters go through :func:`resolve_options`; a
wrong value gets a 400 that names the parameter. A filter nothing meets is not an
error: :func:`unmet` says so, with the nearest tempo.
"""

from __future__ import annotations

from dataclasses import dataclass

from batch.core.style import Style
from batch.core.tempo_key import MAX_BPM, MIN_BPM, key_name, relative
from batch.store import search
from webapp.errors import AppError, quote
from webapp.similar import resolve_genre


@dataclass(frozen=True)
class Options:
    """How to search, from the request: the genre, the view and the filters."""

    genre: str | None
    view: str  # search.VIEWS
    bpm: tuple[float, float] | None
    key: str  # '' (any), 'same' or 'relative' (the upload's key or its relative)

    def filters(self, style: Style | None) -> search.Filters:
        """The store's filters; a key filter needs the upload's key, so a 400 without one."""
        if self.key and style is None:
            raise AppError(400, "key cannot be used here: this server does not estimate the key of uploads "
                                "(STYLE_MODEL=0)")
        key = None if not self.key else (style.tonic, style.mode)
        return search.Filters(bpm=self.bpm, key=key, relative=self.key == "relative")

    def describe(self, style: Style | None) -> str:
        """The filters in words: '120-122 BPM (or half or double), in A minor or C major'."""
        words = []
        if self.bpm:
            words.append(f"{self.bpm[0]:g}–{self.bpm[1]:g} BPM (half or double tempo counts too)")
        if self.key and style is not None:
            keys = [key_name(style.tonic, style.mode)]
            if self.key == "relative":
                keys.append(key_name(*relative(style.tonic, style.mode)))
            words.append("in " + " or ".join(keys))
        return ", ".join(words)


def resolve_options(conn, form) -> Options:
    """:class:`Options` from a form or query string; a 400 naming the parameter when one is wrong."""
    genre = resolve_genre(conn, form.get("genre"))
    view = (form.get("view") or "style").strip()
    if view not in search.VIEWS:
        raise AppError(400, f"view must be one of {', '.join(search.VIEWS)}, got {quote(view)}")
    bounds = []
    for name in ("bpm_min", "bpm_max"):
        value = (form.get(name) or "").strip()
        if not value:
            bounds.append(None)
            continue
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not MIN_BPM <= number <= MAX_BPM:
            raise AppError(400, f"{name} must be a tempo from {MIN_BPM:g} to {MAX_BPM:g} BPM, got {quote(value)}")
        bounds.append(number)
    if (bounds[0] is None) != (bounds[1] is None):
        raise AppError(400, f"{'bpm_max' if bounds[1] is None else 'bpm_min'} is missing: give both ends of the tempo range")
    if bounds[0] is not None and bounds[0] > bounds[1]:
        raise AppError(400, f"bpm_min ({bounds[0]:g}) is above bpm_max ({bounds[1]:g})")
    key = (form.get("key") or "").strip()
    if key not in ("", "same", "relative"):
        raise AppError(400, f"key must be 'same' or 'relative' (or empty for any key), got {quote(key)}")
    return Options(genre, view, None if bounds[0] is None else (bounds[0], bounds[1]), key)


def unmet(conn, options: Options, style: Style | None, results: list[dict]) -> str | None:
    """Why a filtered search found no similar song in ``results`` (the same recording aside),
    with the nearest tempo in the genre: not an error. None when it found some."""
    if (not options.bpm and not options.key) or any(not r["same_recording"] for r in results):
        return None
    words = options.describe(style)
    where = f" in {options.genre}" if options.genre else ""
    message = f"{'Songs ' if words.startswith('in ') else ''}{words}{where}: none found."
    if options.bpm:
        middle = sum(options.bpm) / 2
        with conn.cursor() as cur:
            cur.execute("""SELECT bpm FROM track_vectors WHERE bpm > 0 AND (%(g)s IS NULL OR genre_top = %(g)s)
                           ORDER BY least(abs(bpm - %(m)s), abs(bpm * 2 - %(m)s), abs(bpm / 2 - %(m)s))
                           LIMIT 1""", {"g": options.genre, "m": middle})
            row = cur.fetchone()
        if row is not None:
            bpm = float(row[0])
            factor = min((1.0, 2.0, 0.5), key=lambda f: abs(bpm * f - middle))
            at = "" if factor == 1.0 else f" ({bpm * factor:.0f} at {'double' if factor == 2.0 else 'half'} tempo)"
            message += f" The nearest tempo{where} is {bpm:.0f} BPM{at}."
    return message
