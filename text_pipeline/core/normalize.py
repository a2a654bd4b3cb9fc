"""The one normaliser for song titles and artist names, used on both sides of a match.

Everything that compares titles or artists, the catalogue and TikTok alike, goes
through here; the original text is kept elsewhere for display.

- :func:`normalize`: Unicode NFKC, case folded, accents removed, whitespace collapsed.
- :func:`clean_title`: that, minus what TikTok adds to a song's name: bracketed or
  trailing decorations ("(Sped Up)", "slowed + reverb", "[Official Audio]",
  "(TikTok Version)", "- Remastered 2011"...), featured-artist credits, emoji and
  punctuation. Letters of every script survive, so non-Latin titles still match.
- :func:`split_artist`: the main credit and the featured artists, both cleaned.
- :func:`clean_artist`: the main credit alone, as compared, without a channel's suffix.
- :func:`version_of`: the version a title names (a remix and its remixer, live,
  acoustic, instrumental, a part or volume number), compared apart from the title:
  another version is another song.
- :func:`is_cut`: a title TikTok cut short with "…"; :func:`clean_title` keeps its prefix.
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

VERSION_WORDS = (
    "remix", "rmx", "mix", "rework", "bootleg", "vip", "dub", "flip", "live", "acoustic",
    "instrumental", "unplugged", "demo", "acapella", "a cappella", "karaoke", "orchestral", "reprise",
)
"""Words that make a bracketed or trailing segment a *version*: another recording of the song.

Unlike TikTok's edits (sped up, slowed, "TikTok version"), a version names a different
song: "Night Drive (UncleBibby Remix)" is not "Night Drive (tozo Remix)". See :func:`version_of`."""
EDIT_WORDS = ("sped up", "speed up", "spedup", "slowed", "reverb", "nightcore", "daycore", "tiktok", "tik tok")
"""Words that make a segment TikTok's own edit, even when it says "remix" ("TikTok Remix")."""
PLAIN_VERSION = ("original mix", "original version", "album version", "single version", "radio edit",
                 "radio mix", "original")
"""Segments that name the original recording: no version."""
CHANNEL_SUFFIXES = ("official", "officiel", "oficial", "music", "topic", "vevo", "tv")
"""Words a channel adds after an artist's name ("Greg Cratwright Official", "X - Topic")."""

_FEAT = r"(?:feat|ft|featuring|with|prod)\b\.?"
_DECORATION = "|".join(re.escape(w) for w in sorted(DECORATIONS, key=len, reverse=True))
_BRACKETED = re.compile(r"[\(\[\{【「]([^\)\]\}】」]*)[\)\]\}】」]")
_TRAILING = re.compile(
    rf"\s(?:-|–|—|\||/|:)\s*(?=[^-–—|/:]*\b(?:{_DECORATION})\b)[^-–—|/:]*$"
    rf"|\s+(?:\+\s*)?(?:(?:super|ultra)\s+)?(?:sped\s*up|speed\s*up|slowed(?:\s*(?:\+|and|&|n)\s*reverb)?"
    rf"|reverb|nightcore|tik\s*tok\s+(?:version|remix|edit))(?:\s+version)?\s*$"
)
_CUT = re.compile(r"\s*(?:…|\.\.\.+)\s*$")
_DASHED = re.compile(r"\s(?:-|–|—)\s+([^-–—]+)")
_VERSION = r"\b(?:" + "|".join(re.escape(w) for w in VERSION_WORDS) + r")\b"
_EDIT = r"\b(?:" + "|".join(re.escape(w) for w in EDIT_WORDS) + r")\b"
_FILLER = r"\b(?:official|audio|video|version|feat|ft|prod|by)\b"
_PART = re.compile(r"\b(part|pt|vol|volume|chapter)\s*(\d+|i{1,3}|iv|v|vi{1,3}|ix|x)\b")
_NUMBERED = {"pt": "part", "volume": "vol"}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8",
          "ix": "9", "x": "10"}
_CHANNEL_DASH = re.compile(r"\s+-\s+topic\s*$")
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


def is_cut(title: str | None) -> bool:
    """True for a title TikTok cut short with "…" or "..." ("FRIENDS OF MINE [OFFIC...")."""
    return bool(_CUT.search(normalize(title)))


def _uncut(text: str) -> str:
    """A cut title without its cut: the ellipsis, an unclosed bracket and the partial last word."""
    if not _CUT.search(text):
        return text
    text = _CUT.sub("", text)
    opened = max(text.rfind(c) for c in "([{【「")
    if opened > max(text.rfind(c) for c in ")]}】」"):
        return text[:opened].strip()
    if text[-1:].isalnum() and " " in text.strip():  # the last word may be cut in two
        return text.rsplit(" ", 1)[0]
    return text


def version_of(title: str | None) -> str:
    """The version a title names, as compared: "" for the original recording.

    A version is a bracketed or dash-separated segment with a word of :data:`VERSION_WORDS`
    (the remixer's name stays: "unclebibby remix"), or a part or volume number anywhere
    ("part 2", "vol 3"; "pt" and "volume" read as those, roman numerals as numbers). TikTok's edits
    (:data:`EDIT_WORDS`) and the original's own labels (:data:`PLAIN_VERSION`) are none.
    """
    text = _uncut(normalize(title))
    found = []
    segments = [m.group(1) for m in _BRACKETED.finditer(text)]
    segments += [m.group(1) for m in _DASHED.finditer(_BRACKETED.sub(" ", text))]
    for segment in segments:
        words = _words(segment)
        if (not re.search(_VERSION, words) or re.search(_EDIT, words)
                or any(words == p for p in PLAIN_VERSION)):
            continue
        words = re.sub(_FILLER, " ", words)
        found.append(_SPACE.sub(" ", words).strip())
    for m in _PART.finditer(_words(text)):
        word, number = m.group(1), m.group(2)
        found.append(f"{_NUMBERED.get(word, word)} {_ROMAN.get(number, number)}")
    return " ".join(sorted(set(found)))


def clean_title(title: str | None) -> str:
    """A song title as compared: decorations, featured credits, emoji and punctuation dropped.

    A title cut short with "…" loses its partial last word (and an unclosed bracket), so
    that what is left is a prefix of the full title."""
    text = _uncut(normalize(title))
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
    """An artist credit as compared: the main artist only, without a channel's suffix
    ("Richard Jonas Music", "Crank Sturgeon - Topic", "NameVEVO")."""
    main = split_artist(_CHANNEL_DASH.sub("", normalize(artist)))[0]
    words = main.split(" ")
    while len(words) > 1 and words[-1] in CHANNEL_SUFFIXES and len(" ".join(words[:-1])) > 3:
        words.pop()
    if len(words) == 1 and words[0].endswith("vevo") and len(words[0]) > 6:
        words[0] = words[0][:-4]
    return " ".join(words)


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
