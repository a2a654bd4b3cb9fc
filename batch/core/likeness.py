"""How alike two songs are, per feature group, in words a musician can read.

Raw cosine per group is a poor guide: any two songs score 0.9 or more on brightness,
because every clip's spectral centroid and roll-off curves look alike. So each group's
similarity is placed among typical catalogue pairs instead: the catalogue load samples
random pairs of songs (:func:`reference`) and stores each group's percentiles in
``similarity_reference`` (sql/011). A pair at percentile 90 on timbre is closer in
timbre than 90 % of random catalogue pairs.

The definitions live here once; the loader, the results page, the song page and the API
all use them.
"""

from __future__ import annotations

import numpy as np

from batch.core.features import FEATURE_NAMES

GROUPS = {
    "timbre": ("mfcc_",),
    "harmony": ("chroma_",),
    "brightness": ("centroid_", "rolloff_"),
    "noisiness": ("zcr_",),
}
"""Feature groups, by feature-name prefix, in the order they are shown."""

GROUP_INDEX = {g: np.array([i for i, n in enumerate(FEATURE_NAMES) if n.startswith(p)])
               for g, p in GROUPS.items()}

CLOSE = 75
"""A group at or above this percentile is called close."""
DIFFERENT = 35
"""A group below this percentile is called different."""
REFERENCE_PAIRS = 20_000
"""Random pairs of catalogue songs that the percentiles are taken over."""


def group_cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Cosine similarity of two search vectors (:func:`batch.store.embedding.embed`) per group."""
    out = {}
    for g, idx in GROUP_INDEX.items():
        x, y = a[idx], b[idx]
        denom = float(np.linalg.norm(x) * np.linalg.norm(y))
        out[g] = float(x @ y) / denom if denom else 0.0
    return out


def reference(embedding: np.ndarray, *, pairs: int = REFERENCE_PAIRS, seed: int = 0) -> dict[str, np.ndarray]:
    """Per group, the 0th..100th percentiles of cosine similarity over random pairs of distinct rows."""
    n = len(embedding)
    if n < 2:
        return {}
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, pairs)
    j = (i + rng.integers(1, n, pairs)) % n  # never a song with itself
    out = {}
    for g, idx in GROUP_INDEX.items():
        x, y = embedding[i][:, idx].astype(np.float64), embedding[j][:, idx].astype(np.float64)
        denom = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
        cos = np.divide((x * y).sum(axis=1), denom, out=np.zeros(pairs), where=denom > 0)
        out[g] = np.percentile(cos, np.arange(101)).astype(np.float32)
    return out


def percentile(cosine: float, quantiles) -> int:
    """Where ``cosine`` falls among a group's reference pairs: 0 to 100."""
    q = np.asarray(quantiles, np.float64)
    return int(np.clip(np.searchsorted(q, cosine, side="right") - 1, 0, 100))


def compare(a: np.ndarray, b: np.ndarray, references: dict[str, list[float]]) -> dict:
    """A pair's percentile per group (None without a reference) and the sentence that sums it up."""
    cos = group_cosines(a, b)
    groups = {g: percentile(c, references[g]) if g in references else None for g, c in cos.items()}
    return {"groups": groups, "summary": sentence(groups)}


def sentence(groups: dict[str, int | None]) -> str:
    """``{"timbre": 91, "harmony": 20, ...}`` -> "close in timbre, different in harmony"."""
    known = [(g, groups[g]) for g in GROUPS if groups.get(g) is not None]  # in GROUPS' order
    close = [g for g, p in known if p >= CLOSE]
    apart = [g for g, p in known if p < DIFFERENT]
    middle = [g for g, p in known if DIFFERENT <= p < CLOSE]
    parts = []
    if close:
        parts.append("close in " + _and(close))
    if middle and not close:
        parts.append("somewhat alike in " + _and(middle))
    if apart:
        parts.append("different in " + _and(apart))
    return ", ".join(parts) if parts else "no comparison yet: the catalogue has no reference pairs"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
