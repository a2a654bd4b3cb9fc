"""The one normaliser: titles, artists, original sounds and title partitions."""

from __future__ import annotations

import pytest

from text_pipeline.core.normalize import (
    clean_artist,
    clean_title,
    is_original_sound,
    normalize,
    split_artist,
    title_bucket,
)


@pytest.mark.parametrize("raw, cleaned", [
    # TikTok decorations
    ("Blinding Lights (Sped Up)", "blinding lights"),
    ("Old Town Road - slowed + reverb", "old town road"),
    ("Song sped up + reverb", "song"),
    ("Bad Guy [Official Audio]", "bad guy"),
    ("Savage (TikTok Version)", "savage"),
    ("Good 4 U - Sped Up Version", "good 4 u"),
    ("Love Story (Taylor's Version)", "love story"),
    ("Heroes (Remastered 2017) (Super Slowed)", "heroes"),
    # featured credits, emoji, punctuation
    ("Say So (feat. Nicki Minaj)", "say so"),
    ("Levitating ft. DaBaby", "levitating"),
    ("Heat Waves 🔥🔥", "heat waves"),
    ("✨Dreams✨", "dreams"),
    ("Mr. Brightside!", "mr brightside"),
    ("Don't Stop Me Now", "dont stop me now"),
    ("A&B", "a b"),
    # Unicode: NFKC, case folding, accents
    ("Café del Mar", "cafe del mar"),
    ("ＦＵＬＬＷＩＤＴＨ", "fullwidth"),
    ("Straße", "strasse"),
    ("Ünïcödé", "unicode"),
    # non-Latin scripts keep their letters
    ("Дождь (speed up)", "дождь"),
    ("千本桜 (Slowed)", "千本桜"),
    ("사랑해 💜", "사랑해"),
    ("الحب", "الحب"),
    # words that are decorations only in brackets or after a dash
    ("Part of Me", "part of me"),
    ("Live Forever", "live forever"),
    ("Remix Culture", "remix culture"),
    ("Cover Me", "cover me"),
    ("(Untitled)", "untitled"),
    ("", ""),
    (None, ""),
])
def test_clean_title(raw, cleaned):
    assert clean_title(raw) == cleaned


def test_normalize_keeps_punctuation_for_display_free_comparison():
    assert normalize("  Beyoncé   –  HALO ") == "beyonce – halo"


@pytest.mark.parametrize("raw, main, featured", [
    ("Lil Nas X feat. Billy Ray Cyrus", "lil nas x", ["billy ray cyrus"]),
    ("Drake (feat. Rihanna & Future)", "drake", ["rihanna", "future"]),
    ("Kendrick Lamar ft SZA, Travis Scott", "kendrick lamar", ["sza", "travis scott"]),
    ("Simon & Garfunkel", "simon garfunkel", []),
    ("Earth, Wind & Fire", "earth wind fire", []),
    ("Ñengo Flow", "nengo flow", []),
    ("", "", []),
])
def test_split_artist_separates_featured_credits(raw, main, featured):
    assert split_artist(raw) == (main, featured)
    assert clean_artist(raw) == main


@pytest.mark.parametrize("title, flag, original", [
    ("original sound - bob", False, True),
    ("Original Sound", False, True),
    ("sonido original - pepe", False, True),
    ("son original - marie", False, True),
    ("som original - joão", False, True),
    ("оригинальный звук - ivan", False, True),
    ("オリジナル楽曲 - ken", False, True),
    ("原声 - li", False, True),
    ("anything at all", True, True),
    ("Original Sin", False, False),
    ("The Original", False, False),
    ("Sound of Silence", False, False),
])
def test_original_sounds_in_any_language(title, flag, original):
    assert is_original_sound(title, flag) is original


@pytest.mark.parametrize("title, bucket", [
    ("apple", "a"), ("zebra", "z"), ("99 problems", "0"), ("cafe", "c"),
    ("дождь", "_"), ("千本桜", "_"), ("", "_"), (None, "_"),
])
def test_title_bucket(title, bucket):
    assert title_bucket(title) == bucket
