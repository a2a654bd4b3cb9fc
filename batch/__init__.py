"""The batch side of the product, in rooms: ``core`` (audio, the vector, fingerprints,
FMA metadata), ``spark`` (sessions, sources, progress, output folders), ``store``
(PostgreSQL), ``listening`` (TikTok sounds' audio, identified), ``jobs`` (the
``python -m`` entries) and ``demo`` (the generated demo corpus)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout: ``sql/``, ``var/`` and the code Spark's Python workers import."""
