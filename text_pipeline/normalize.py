"""The one normaliser for song titles and artist names, used on both sides of a match.

Everything that compares titles or artists, the catalogue and TikTok alike, goes
through here; the original text is kept elsewhere for display.

- :func:`normalize`: Unicode NFKC, case folded, accents removed, whitespace collapsed.
- :func:`clean_title`: that, minus what TikTok adds to a song's name: bracketed or
  trailing decorations ("(Sped Up)", "slowed + reverb", "[Official Audio]",
  "(TikTok Version)", "- Remastered 2011"...), featured-artist credits, emoji and
  punctuation. Letters of every script survive, so non-Latin titles still match.
- :func:`split_artist`: the main credit and the featured artists, both cleaned.
- :func:`clean_artist`: the main credit alone, as compared.
- :func:`is_original_sound`: "original sound - user" and its translations, which are
  never matched to a catalogue song.
- :func:`title_bucket`: the first character of a cleaned title, as the store
  partitions TikTok videos ('a'..'z', '0' for digits, '_' for anything else).
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")

DECORATIONS = (
    "sped up", "speed up", "spedup", "slowed", "reverb", "nightcore", "daycore", "8d",
    "bass boosted", "official", "audio", "video", "visualizer", "visualiser", "lyric", "lyrics",
    "tiktok", "tik tok", "version", "remaster", "remastered", "radio edit", "clean", "explicit",
    "extended", "edit", "mix", "remix", "cover", "live", "instrumental", "karaoke", "acoustic",
    "loop", "part", "pt", "super", "ultra", "trend", "viral",
)
"""Words that mark a bracketed or trailing segment of a title as decoration."""

_FEAT = r"(?:feat|ft|featuring|with|prod)\b\.?"
_DECORATION = "|".join(re.escape(w) for w in sorted(DECORATIONS, key=len, reverse=True))
_BRACKETED = re.compile(r"[\(\[\{【「]([^\)\]\}】」]*)[\)\]\}】」]")
_TRAILING = re.compile(
    rf"\s(?:-|–|—|\||/|:)\s*(?=[^-–—|/:]*\b(?:{_DECORATION})\b)[^-–—|/:]*$"
    rf"|\s+(?:\+\s*)?(?:(?:super|ultra)\s+)?(?:sped\s*up|speed\s*up|slowed(?:\s*(?:\+|and|&|n)\s*reverb)?"
    rf"|reverb|nightcore|tik\s*tok\s+(?:version|remix|edit))(?:\s+version)?\s*$"
)
_FEAT_TAIL = re.compile(rf"\s+{_FEAT}\s.*$")
_ARTIST_FEAT = re.compile(rf"\s+{_FEAT}\s+")
_CREDITS = re.compile(r"\s*(?:,|&|\band\b)\s*")
_APOSTROPHES = re.compile(r"['’`´]")
_NOT_WORD = re.compile(r"[^\w\s]|_")

ORIGINAL_SOUND = (
    "original sound", "originalsound", "son original", "sonido original", "som original",
    "suono originale", "originalton", "original ton", "originaler sound", "original ses",
    "orijinal ses", "dzwiek oryginalny", "origineel geluid", "originele geluid", "lyd original",
    "ljud original", "alkuperainen aani", "suara asli", "am thanh goc", "tunog orihinal",
    "оригинальныи звук", "оригінальнии звук", "الصوت الأصلي", "צליל מקורי", "เสียงต้นฉบับ",
    "オリジナル楽曲", "オリジナル音源", "原声", "原聲", "原创音乐", "오리지널 사운드",
    "मूल ध्वनि", "আসল শব্দ",
)
"""'original sound' in the languages TikTok shows it in, in normalised form."""


def normalize(text: str | None) -> str:
    """Comparison form of ``text``: NFKC, casefolded, without accents, single-spaced.

    Accents are marks on Latin, Greek and Cyrillic letters; the marks of other scripts
    (kana voicing, Devanagari vowel signs) are part of the letter and stay.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    kept, base = [], ""
    for c in unicodedata.normalize("NFD", folded):
        if unicodedata.combining(c) and base < "\u0530":
            continue
        if not unicodedata.combining(c):
            base = c
        kept.append(c)
    return _SPACE.sub(" ", unicodedata.normalize("NFC", "".join(kept))).strip()


def clean_title(title: str | None) -> str:
    """A song title as compared: decorations, featured credits, emoji and punctuation dropped."""
    text = normalize(title)
    text = _BRACKETED.sub(lambda m: " " if _is_decoration(m.group(1)) else f" {m.group(1)} ", text)
    for _ in range(3):  # "song - sped up + reverb (tiktok version)" peels in layers
        text = _TRAILING.sub("", _FEAT_TAIL.sub("", text)).strip()
    return _words(text)


def split_artist(artist: str | None) -> tuple[str, list[str]]:
    """``(main, featured)``: the credit before "feat."/"ft."/"featuring"/"with", and the rest.

    "&", "x" and commas stay in the main credit: they join acts ("Simon & Garfunkel",
    "Earth, Wind & Fire") as often as collaborators, and TF-IDF scores a partial overlap.
    """
    text = normalize(artist)
    featured = [m.group(1) for m in re.finditer(rf"[\(\[]\s*{_FEAT}\s+([^\)\]]*)[\)\]]", text)]
    text = _BRACKETED.sub(" ", text)
    main, *rest = _ARTIST_FEAT.split(text, maxsplit=1) + [""]
    featured = [part for chunk in featured + rest for part in _CREDITS.split(chunk)]
    return _words(main), [w for w in map(_words, featured) if w]


def clean_artist(artist: str | None) -> str:
    """An artist credit as compared: the main artist only."""
    return split_artist(artist)[0]


def is_original_sound(title: str | None, is_original: bool | None = False) -> bool:
    """True for a creator's own audio ("original sound - user", in any language)."""
    if is_original:
        return True
    text = _words(normalize(title))
    return any(text.startswith(o) for o in _ORIGINAL_FORMS)


def title_bucket(cleaned_title: str | None) -> str:
    """The partition of a cleaned title: its first letter a-z, '0' for a digit, else '_'."""
    for char in cleaned_title or "":
        if char.isalnum():
            if "a" <= char <= "z":
                return char
            return "0" if char.isdigit() else "_"
    return "_"


def _is_decoration(inner: str) -> bool:
    inner = inner.strip()
    return bool(re.match(rf"^{_FEAT}", inner) or re.search(rf"\b(?:{_DECORATION})\b", inner))


def _words(text: str) -> str:
    """Letters and digits of any script, single-spaced; emoji, symbols and punctuation dropped."""
    text = _APOSTROPHES.sub("", text)
    kept = "".join(c if unicodedata.category(c)[0] in "LNM" or c.isspace() else " " for c in text)
    return _SPACE.sub(" ", kept).strip()


_ORIGINAL_FORMS = tuple(_words(normalize(o)) for o in ORIGINAL_SOUND)
