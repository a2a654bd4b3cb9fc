"""Template filters: how figures, dates and links from the store are shown on the pages."""

from __future__ import annotations

from urllib.parse import urlsplit

VIDEOS_SHOWN = 6
"""Video cards shown per song or sound before "Show all" (the ``covers`` macro's default)."""


def compact(n) -> str:
    """1234 -> "1,234"; 16400 -> "16.4K"; 1234567 -> "1.2M"; 12345678901 -> "12.3B": short
    enough for a phone's card (the page shows the exact figure on hover)."""
    if n is None:
        return "–"
    n = int(n)
    for above, size, unit in ((1_000_000_000, 1_000_000_000, "B"), (1_000_000, 1_000_000, "M"),
                              (10_000, 1000, "K")):
        if abs(n) >= above:
            return f"{n / size:.1f}{unit}"
    return f"{n:,}"


def web_link(url) -> str | None:
    """``url`` when it is an http(s) link with a host, else None: dumps are untrusted, and a
    ``javascript:`` or ``data:`` link must never become a card's href."""
    if not url or not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.hostname else None


def day(iso) -> str:
    """"2019-05-01T12:00:00+00:00" -> "1 May 2019"; "" for no date."""
    if not iso:
        return ""
    from datetime import datetime

    when = datetime.fromisoformat(str(iso))
    return f"{when.day} {when:%b %Y}"


def init_app(app) -> None:
    from batch.core.audio import clock

    app.jinja_env.filters.update(compact=compact, web_link=web_link, day=day, clock=clock)
    app.jinja_env.globals["videos_shown"] = VIDEOS_SHOWN
