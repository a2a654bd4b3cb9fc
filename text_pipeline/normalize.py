"""The one normaliser for song titles and artist names, used on both sides of a match.

``normalize`` gives the comparison form: Unicode NFKC, case folded, accents removed,
runs of whitespace collapsed. The original text is kept elsewhere for display.
``title_bucket`` is the first character of that form as the store partitions TikTok
videos: 'a'..'z', '0' for a digit, '_' for anything else.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize(text: str | None) -> str:
    """Comparison form of ``text``: NFKC, casefolded, without accents, single-spaced."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", unicodedata.normalize("NFC", stripped)).strip()


def title_bucket(normalized_title: str | None) -> str:
    """The partition of a normalised title: its first letter a-z, '0' for a digit, else '_'."""
    for char in normalized_title or "":
        if char.isalnum():
            if "a" <= char <= "z":
                return char
            return "0" if char.isdigit() else "_"
    return "_"
