"""The demo's watch, and its next day.

``make demo`` runs ``python -m batch.demo.watch create``: one demo song (the first whole
song, ``fma_audio/000/000002.mp3``) is watched, as a musician would from its results page,
and the watch's address is written to ``DIR/watch.txt``. The reprocess that follows is the
first run to search it. ``make demo-next-day`` runs ``python -m batch.demo.watch next-day``:
a later TikTok dump (``tiktok/dump-0002.ndjson``, its videos a month after the first
dump's) whose new sounds cut the watched song and others, with their audio. The reprocess
after it finds the new uses, which the watch page marks as new.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from batch.core import metadata as md
from batch.core.fingerprint import analyse
from batch.demo.tiktok import FIRST_VIDEO, VIDEO_SECONDS, write_tiktok
from batch.store import db, watches

SONG = Path("fma_audio") / "000" / "000002.mp3"
"""The watched demo song: the first whole song."""
NEXT_DAY = "dump-0002.ndjson"
NEXT_DAY_VIDEOS = 3000
NEXT_DAY_SEED = 1


def create(demo: Path, base_url: str) -> str:
    """Watch the demo song; its address, also written to ``demo/watch.txt``."""
    song = demo / SONG
    if not song.exists():
        raise FileNotFoundError(f"{song} does not exist: write the demo corpus first (python -m batch.demo.corpus)")
    _, peaks, clip = analyse(str(song))
    peaks = peaks.reference()
    conn = db.connect()
    try:
        db.migrate(conn)
        _, token = watches.create(conn, file_name=song.name, genre=None, duration=clip.heard,
                                  peak_t=peaks.t, peak_f=peaks.lf)
    finally:
        conn.close()
    url = f"{base_url.rstrip('/')}/watch/{token}"
    (demo / "watch.txt").write_text(url + "\n")
    return url


def next_day(demo: Path) -> Path:
    """A later dump of TikTok videos and their sounds' audio, a month after the first."""
    tracks = md.read_tracks(demo / "fma_metadata" / "tracks.csv", md.read_genres(demo / "fma_metadata" / "genres.csv"))
    rows = [{**row, "path": demo / "fma_audio" / f"{row['track_id'] // 1000:03d}" / f"{row['track_id']:06d}.mp3"}
            for row in tracks.to_dict("records")]
    rows = [row for row in rows if row["path"].exists()]
    whole = [row for row in rows if row["duration"] > 30]  # the songs TikTok cuts from anywhere
    return write_tiktok(demo / "tiktok", whole + rows[len(whole):len(whole) + 40], n_videos=NEXT_DAY_VIDEOS,
                        seed=NEXT_DAY_SEED, name=NEXT_DAY, since=FIRST_VIDEO + VIDEO_SECONDS,
                        audio_truth=f"{Path(NEXT_DAY).stem}-audio-truth.csv",
                        log=lambda line: print(line, flush=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batch.demo.watch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("create", help="watch the demo's first whole song; its address goes to DIR/watch.txt")
    made.add_argument("--demo", type=Path, required=True, help="the demo corpus folder (var/demo)")
    made.add_argument("--url", default="http://127.0.0.1:5000", help="where the app is served")
    later = sub.add_parser("next-day", help="write a later TikTok dump whose sounds use the demo songs")
    later.add_argument("--demo", type=Path, required=True, help="the demo corpus folder (var/demo)")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            print(f"[demo] watching {SONG}: {create(args.demo, args.url)}")
        else:
            print(f"[demo] the next day: {next_day(args.demo)}")
    except (FileNotFoundError, md.MetadataError, db.StoreError) as e:
        print(f"watch: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
