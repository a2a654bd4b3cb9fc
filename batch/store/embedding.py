"""Search vectors: how a 245-number feature vector becomes what pgvector compares.

The loader writes these for the catalogue and the TikTok sounds, and the search and
the web app make one for each upload, so both sides use this module and nothing else:
standardise with the catalogue's per-feature mean and std (:func:`scaler_of`), then
scale to unit length (:func:`embed`), so cosine distance compares shapes, not loudness.
"""

from __future__ import annotations

import numpy as np


def scaler_of(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std over the catalogue; a constant feature gets std 1."""
    mean = features.mean(axis=0, dtype=np.float64)
    std = features.std(axis=0, dtype=np.float64)
    return mean, np.where(std > 1e-12, std, 1.0)


def embed(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Search vectors: standardised with the catalogue's scaler, then unit length."""
    z = (np.atleast_2d(features).astype(np.float64) - mean) / std
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return (z / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def vector_literal(vector: np.ndarray) -> str:
    """A pgvector literal, '[x1,x2,...]', exact for float32."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32)) + "]"
