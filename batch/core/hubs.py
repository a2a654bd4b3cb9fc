"""Rankings without hubs: the views a search can rank by, and mutual proximity.

Views
-----
Each song has two unit-length descriptions, both standardised with the catalogue's
scalers (:func:`batch.store.embedding.embed`): the 245 numbers and the learned style
embedding (:mod:`batch.core.style`). A search ranks by one of two views:

- ``numbers``: the 245 numbers' cosine;
- ``style`` (the default): :func:`sound_view`, both concatenated with weights
  ``sqrt(w)`` and ``sqrt(1 - w)``, so its cosine is ``w cos(numbers) + (1 - w) cos(style)``
  with ``w`` = :data:`NUMBERS_WEIGHT`, re-ranked by mutual proximity. On the style
  benchmark (``tests/benchmarks/bench_style.py``) it measured best.

Hubs
----
In high dimensions a few songs are near everything ("hubs") and turn up in everyone's
results, while others are in nobody's. Mutual proximity (Schnitzer et al., 2012) asks
instead how unusual a distance is for *both* songs: with ``d`` the cosine distance of a
query ``q`` and a song ``s``, and each one's distances to the catalogue modelled as a
normal distribution (mean ``mu``, std ``sd``),

    MP(q, s) = P(D_q > d) * P(D_s > d)

A hub is near everyone, so a short distance to a hub is usual for the hub, and its
proximity falls. The catalogue load stores each song's ``mu`` and ``sd`` over a sample
of :data:`SAMPLE` songs (:func:`distance_stats`); a search computes the query's against
the same sample and re-ranks by MP the :data:`CANDIDATES` songs nearest by the style
embedding's index.
"""

from __future__ import annotations

import numpy as np

NUMBERS_WEIGHT = 0.2
"""The 245 numbers' share of the style view (the best of 0.2, 0.3 and 0.5 on the style benchmark)."""
SAMPLE = 512
"""Songs a distance distribution is measured against."""
CANDIDATES = 100
"""Songs the style embedding's index offers, which the style view and mutual proximity re-rank."""
FILTERED_CANDIDATES = 40
"""The same under tempo or key filters: the index is scanned until this many songs qualify,
and fewer keep a filtered search within 2x an unfiltered one (``bench_style_search.py``)."""


def sound_view(numbers: np.ndarray, style: np.ndarray, weight: float = NUMBERS_WEIGHT) -> np.ndarray:
    """Unit rows ``numbers`` (n, 245) and ``style`` (n, 200) concatenated with weights
    ``sqrt(weight)`` and ``sqrt(1 - weight)``: unit rows whose cosine is
    ``weight * cos(numbers) + (1 - weight) * cos(style)``."""
    numbers, style = np.atleast_2d(numbers), np.atleast_2d(style)
    return np.hstack([np.sqrt(weight) * numbers, np.sqrt(1 - weight) * style]).astype(np.float32)


def sample_rows(n: int, seed: int = 0) -> np.ndarray:
    """Which of ``n`` songs form the reference sample: :data:`SAMPLE` of them, sorted."""
    if n <= SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, SAMPLE, replace=False))


def distance_stats(vectors: np.ndarray, sample: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """(n, 2) mean and std of each unit row's cosine distances to the unit rows ``sample``."""
    out = np.empty((len(vectors), 2), np.float64)
    for lo in range(0, len(vectors), chunk):
        d = 1.0 - vectors[lo:lo + chunk].astype(np.float64) @ sample.T.astype(np.float64)
        out[lo:lo + chunk, 0] = d.mean(axis=1)
        out[lo:lo + chunk, 1] = d.std(axis=1)
    out[:, 1] = np.maximum(out[:, 1], 1e-6)
    return out


def mutual_proximity(distances: np.ndarray, query: tuple[float, float], songs: np.ndarray) -> np.ndarray:
    """MP of a query and songs at cosine ``distances``, from the query's (mu, sd) and
    the songs' (n, 2) :func:`distance_stats`. Higher is more alike; 0 to 1."""
    from scipy.special import ndtr

    d = np.asarray(distances, np.float64)
    return ndtr((query[0] - d) / query[1]) * ndtr((songs[:, 0] - d) / songs[:, 1])


def hubness(similarity: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(skewness of the k-occurrence, share of songs in nobody's top ``k``) of a square
    similarity matrix: how often each song is among the others' ``k`` most similar."""
    s = np.asarray(similarity, np.float64).copy()
    np.fill_diagonal(s, -np.inf)
    return hubness_of(np.argsort(-s, axis=1)[:, :k], len(s))


def hubness_of(top: np.ndarray, n: int) -> tuple[float, float]:
    """:func:`hubness` of each of ``n`` songs' top lists (rows of song indices)."""
    occurrence = np.bincount(np.ravel(top), minlength=n).astype(np.float64)
    centred = occurrence - occurrence.mean()
    return float((centred ** 3).mean() / (centred ** 2).mean() ** 1.5), float((occurrence == 0).mean())
