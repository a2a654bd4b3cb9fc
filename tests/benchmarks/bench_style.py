"""Which ranking finds songs that sound alike: a style benchmark from real recordings.

The recordings are the game soundtracks of Debian packages (``apt-get download`` and
``dpkg -x``, as in ``tests/edits.py``): each package is one soundtrack, the label, with at
most ``--per-label`` recordings of 45 s or more. Each recording is described as the
catalogue describes a song: the middle 30 s (:func:`batch.core.audio.load_clip`), the
245 numbers, the learned style embedding, tempo and key.

First it searches every recording with the product's own search, through a store loaded
with the catalogue loader (:func:`through_store`). Then, for each ranking, it prints side
by side:

- P@5: the share of each recording's 5 nearest others from its own soundtrack;
- hubness at k = 10: the skewness of the k-occurrence (how often each recording is in
  the others' top 10) and the share of recordings in nobody's top 10.

The rankings: the 245 numbers (z-scored cosine, today's), the learned embedding
(standardised as the store does), both combined (:func:`batch.core.hubs.sound_view`, the
245 numbers' weight ``w``), and each of them re-ranked by mutual proximity. The product's
default, the style view, is both at :data:`batch.core.hubs.NUMBERS_WEIGHT` re-ranked by
mutual proximity. ``--models`` adds other converted models
(``infra/models/convert_musicnn.py``) to compare with the product's.

    .venv/bin/python tests/benchmarks/bench_style.py [--per-label 12] [--models a.onnx b.onnx]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.core import hubs, style  # noqa: E402
from batch.core.audio import AudioError, load_clip  # noqa: E402
from batch.core.features import feature_vector  # noqa: E402
from batch.store.embedding import embed, scaler_of  # noqa: E402
from tests.edits import game_music  # noqa: E402

SOUNDTRACKS = (
    "wesnoth-1.16-music", "supertux-data", "freedroidrpg-data", "hedgewars-data",
    "colobot-common-sounds", "hyperrogue-music", "singularity-music", "marsshooter-data",
    "drascula-music", "planetblupi-music-ogg", "xmoto-data", "extremetuxracer-data",
    "frozen-bubble-data", "freedink-data",
)
"""Packages whose ogg recordings of 45 s or more are one soundtrack each (at least 3)."""


def recordings(dest: Path, per_label: int) -> list[tuple[str, Path]]:
    """(soundtrack, path) pairs: up to ``per_label`` recordings per package, evenly spread."""
    found = []
    for package in SOUNDTRACKS:
        paths = game_music(dest, (package,))
        if len(paths) < 3:
            continue
        picks = np.linspace(0, len(paths) - 1, min(per_label, len(paths))).round().astype(int)
        found += [(package, paths[i]) for i in sorted(set(picks))]
    return found


def describe(items, sessions, cache: Path) -> dict[str, np.ndarray]:
    """Per recording: the 245 numbers, each model's embedding, tempo and key (cached)."""
    if cache.exists():
        saved = dict(np.load(cache, allow_pickle=False))
        if list(saved["paths"]) == [str(p) for _, p in items] and all(f"emb_{m}" in saved for m in sessions):
            return saved
    rows = {"paths": [], "labels": [], "vector": [], "bpm": [], "key": []}
    rows.update({f"emb_{m}": [] for m in sessions})
    started = time.perf_counter()
    for i, (label, path) in enumerate(items):
        try:
            clip = load_clip(path)
        except AudioError as e:
            print(f"  skipped {path.name}: {e}")
            continue
        vector = feature_vector(clip)
        found = style.describe(clip.y, clip.sr, vector)
        rep = style.log_mel(clip.y, clip.sr)
        for name, session in sessions.items():
            rows[f"emb_{name}"].append(style.embedding(rep, session))
        rows["paths"].append(str(path))
        rows["labels"].append(label)
        rows["vector"].append(vector)
        rows["bpm"].append(found.bpm)
        rows["key"].append(found.tonic + 12 * (found.mode == "minor"))
        if (i + 1) % 25 == 0:
            print(f"  described {i + 1}/{len(items)} in {time.perf_counter() - started:.0f} s", flush=True)
    saved = {k: np.asarray(v) for k, v in rows.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **saved)
    return saved


def scores(similarity: np.ndarray, labels: np.ndarray, k_p: int = 5, k_h: int = 10) -> tuple[float, float, float]:
    """(P@k_p, k-occurrence skewness at k_h, share in nobody's top k_h) of a similarity matrix."""
    s = similarity.astype(np.float64).copy()
    np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s, axis=1)
    precision = float((labels[order[:, :k_p]] == labels[:, None]).mean())
    return (precision, *hubs.hubness(similarity, k_h))


def mp_similarity(views: np.ndarray) -> np.ndarray:
    """Mutual proximity of every pair, as a search computes it against the sample."""
    sample = views[hubs.sample_rows(len(views))]
    stats = hubs.distance_stats(views, sample)
    distances = 1.0 - views.astype(np.float64) @ views.T.astype(np.float64)
    return np.stack([hubs.mutual_proximity(distances[i], stats[i], stats) for i in range(len(views))])


def through_store(data) -> None:
    """The product's own search over the recordings: loaded with the catalogue loader into a
    fresh embedded PostgreSQL, each one searched with :func:`batch.store.search.style_search`
    (the style index's candidates, the style view, mutual proximity), itself left out."""
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from batch.store import db, search
    from batch.store.load import load_catalogue

    labels = data["labels"]
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "out" / "vectors" / "genre_top=Experimental"
        part.mkdir(parents=True)
        n = len(labels)
        pq.write_table(pa.table({
            "track_id": pa.array(np.arange(n), pa.int64()), "vector": list(data["vector"]),
            "style": list(data["emb_product"]), "bpm": data["bpm"].astype(float),
            "key_tonic": pa.array(data["key"] % 12, pa.int8()),
            "key_mode": ["minor" if k >= 12 else "major" for k in data["key"]],
            "key_confidence": [0.5] * n, "source_path": list(data["paths"])}), part / "part-0.parquet")
        server = db.embedded_server(Path(tmp) / "pgdata", keep_running=False)
        conn = db.connect(server.get_uri())
        db.migrate(conn)
        load_catalogue(conn, Path(tmp) / "out")
        scaler = search.load_style_scaler(conn)
        top = []
        for i in range(n):
            hits = search.style_search(conn, data["vector"][i], data["emb_product"][i], scaler, k=11)
            top.append([h.track_id for h in hits if h.track_id != i][:10])
            conn.rollback()
        conn.close()
        server.cleanup()
    precision = np.mean([(labels[t[:5]] == labels[i]).mean() for i, t in enumerate(top)])
    skew, never = hubs.hubness_of(np.array(top), len(labels))
    print(f"the product's search through the store (the default view): P@5 {precision:.3f}, "
          f"skewness {skew:.2f}, never shown {never:.1%}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-label", type=int, default=12)
    parser.add_argument("--models", nargs="*", default=[], help="other converted models to compare")
    parser.add_argument("--music", default=str(ROOT / "var" / "style-music"))
    args = parser.parse_args(argv)

    items = recordings(Path(args.music), args.per_label)
    sessions = {"product": style._session(), **{Path(m).stem: style.session(m) for m in args.models}}
    data = describe(items, sessions, Path(args.music) / f"described-{args.per_label}.npz")
    labels = data["labels"]
    print(f"{len(labels)} recordings from {len(set(labels))} soundtracks; "
          f"chance P@5 {np.mean([(labels == x).sum() - 1 for x in labels]) / (len(labels) - 1):.3f}")

    numbers = embed(data["vector"], *scaler_of(data["vector"]))
    views = {"numbers (245, cosine; today)": numbers}
    for name in sessions:
        # standardised with the set's own scaler, as the store standardises the catalogue's
        views[f"learned ({name})"] = embed(data[f"emb_{name}"], *scaler_of(data[f"emb_{name}"]))
    views["learned (product), not standardised"] = data["emb_product"]
    for w in (0.2, 0.3, 0.5):
        default = " (default)" if w == hubs.NUMBERS_WEIGHT else ""
        views[f"both, w={w}{default}"] = hubs.sound_view(numbers, views["learned (product)"], w)
    through_store(data)
    print(f"{'ranking':38} {'P@5':>6} {'skew':>6} {'never':>6}   + mutual proximity: "
          f"{'P@5':>6} {'skew':>6} {'never':>6}")
    for name, v in views.items():
        plain = scores(v @ v.T, labels)
        mp = scores(mp_similarity(v), labels)
        print(f"{name:38} {plain[0]:6.3f} {plain[1]:6.2f} {plain[2]:6.1%}   {'':20}"
              f"{mp[0]:6.3f} {mp[1]:6.2f} {mp[2]:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
