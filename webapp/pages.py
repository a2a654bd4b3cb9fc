"""The pages musicians use: the upload form, the results, and catalogue audio."""

from __future__ import annotations

import os

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from batch.core.likeness import GROUPS
from text_pipeline.jobs.charts import to_csv
from webapp import charts, hashtags, similar, songs, watch, weekly
from webapp.db import get_db
from webapp.errors import AppError
from webapp.options import resolve_options, unmet

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """The upload form."""
    return render_template("index.html", genres=similar.genres(get_db()))


@bp.post("/search")
def search():
    """Vectorise the upload and show the most similar catalogue songs."""
    conn = get_db()
    options = resolve_options(conn, request.form)
    genre = options.genre
    query = similar.read_upload(request.files.get("file"), style=bool(current_app.config["STYLE_MODEL"]))
    filters = options.filters(query.style)
    per = current_app.config["VIDEOS_PER_SONG"]
    same = similar.same_recording(conn, query)
    results = similar.similar_songs(conn, query.features, genre=genre, k=current_app.config["RESULTS"],
                                    videos_per_song=per, same=same, style=query.style and query.style.embedding,
                                    view=options.view, filters=filters)
    containing = similar.sounds_containing(conn, query, same, videos_per_sound=per)
    return render_template("results.html", query=query, genre=genre, results=results,
                           options=options, filters=options.describe(query.style),
                           notice=unmet(conn, options, query.style, results),
                           hashtags=similar.hashtag_summary(results), groups=list(GROUPS),
                           popularity=similar.popularity(conn, query), containing=containing,
                           strip=similar.listening_strip(query, containing),
                           sounds_like=similar.sounds_like(conn, query, k=current_app.config["SOUNDS_LIKE"], heard=containing,
                                                           videos_per_sound=per),
                           watch_offer=watch.offer(query, genre, containing))


@bp.get("/tracks/<int:track_id>")
def track(track_id: int):
    """A song page: the song, its player, its TikTok sounds and videos, and songs like it."""
    track = songs.song(get_db(), track_id)
    return render_template("track.html", track=track, groups=list(GROUPS),
                           weekly=weekly.plot(track["videos_per_week"]))


@bp.get("/hashtags")
def hashtag_suggestions():
    """The hashtag form, and with ``tags`` the sounds and songs most used with them."""
    raw = request.args.get("tags")
    if raw is None:
        return render_template("hashtags.html", found=None, raw="")
    limit = current_app.config["RESULTS"]
    page = similar.resolve_k(request.args.get("page"), 1, hashtags.MAX_PAGE, name="page")
    found = hashtags.suggestions(get_db(), hashtags.parse_tags(raw), limit=limit, offset=(page - 1) * limit,
                                 videos_per=current_app.config["VIDEOS_PER_SONG"])
    return render_template("hashtags.html", found=found, raw=raw, page=page)


@bp.get("/charts")
def chart_list():
    """The loaded Spotify charts, with how many of their songs TikTok uses."""
    return render_template("charts.html", charts=charts.list_charts(get_db()))


@bp.get("/charts/<name>")
def chart(name: str):
    """One chart: chart position against TikTok engagement, and every entry."""
    entries = charts.chart_entries(get_db(), name)
    past = charts.history(get_db(), entries)
    small = None
    if past:
        worst = max([p["position"] for song in past["songs"] for p in song["positions"]] or [2])
        small = [(song, charts.history_plot(song, past["dates"], worst)) for song in past["songs"]]
    return render_template("chart.html", summary=charts.summary(entries), plot=charts.plot(entries),
                           entries=charts.as_json(entries), history=past, small=small,
                           catalogue=charts.catalogue_songs(get_db(), name))


@bp.get("/charts/<name>.csv")
def chart_csv(name: str):
    """One chart's overlap as CSV, the same columns as the command line's --csv."""
    return Response(to_csv(charts.chart_entries(get_db(), name)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_safe_name(name)}.csv"'})


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "chart"


@bp.post("/watch")
def create_watch():
    """Watch the song the results page offered: a private page, at an address only the musician has."""
    token = watch.create(get_db(), request.form.get("offer"), request.remote_addr or "")
    return redirect(url_for("pages.watch_page", token=token), code=303)


@bp.get("/watch/<token>")
def watch_page(token: str):
    """A watched song: the TikTok sounds found to use it, newest first, where, and when."""
    found = watch.watch(get_db(), token)
    return render_template("watch.html", watch=found, token=token,
                           weekly=weekly.plot(found["videos_per_week"]))


@bp.post("/watch/<token>/delete")
def delete_watch(token: str):
    """Delete a watch and everything found for it."""
    watch.delete(get_db(), token)
    return render_template("watch_deleted.html")


@bp.get("/watch/<token>/feed.atom")
def watch_feed(token: str):
    """The watch as an Atom feed: one entry per sound found."""
    found = watch.watch(get_db(), token)
    page = url_for("pages.watch_page", token=token, _external=True)
    return Response(watch.feed(found, token, page), mimetype="application/atom+xml")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same icon as the pages'."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/audio/<int:track_id>")
def audio(track_id: int):
    """A catalogue clip: the local file, or a presigned link for one in S3."""
    with get_db().cursor() as cur:
        cur.execute("SELECT audio_path FROM tracks WHERE track_id = %s", (track_id,))
        row = cur.fetchone()
    path = row[0] if row else None
    if not path:
        raise AppError(404, f"no audio for track {track_id}")
    if path.startswith("s3://"):
        from batch.spark.sources import s3_client, split_s3

        bucket, key = split_s3(path)
        url = s3_client(current_app.config["AWS_ENDPOINT_URL"]).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
        return redirect(url)
    if not os.path.isfile(path):
        raise AppError(404, f"the audio of track {track_id} is not reachable")
    return send_file(path, conditional=True)
