"""The JSON API: search, genres, tracks, and its OpenAPI description."""

from __future__ import annotations

import swagger_ui_bundle
from flask import (
    Blueprint,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from webapp import charts, hashtags, similar, songs, watch
from webapp.db import get_db
from webapp.options import resolve_options, unmet

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/search")
def search():
    """The most similar catalogue songs to an uploaded file, with their TikTok uses."""
    conn = get_db()
    options = resolve_options(conn, request.form)
    genre = options.genre
    k = similar.resolve_k(request.form.get("k"), current_app.config["RESULTS"],
                          current_app.config["MAX_RESULTS"])
    query = similar.read_upload(request.files.get("file"), style=bool(current_app.config["STYLE_MODEL"]))
    filters = options.filters(query.style)
    per = current_app.config["VIDEOS_PER_SONG"]
    same = similar.same_recording(conn, query)
    results = similar.similar_songs(conn, query.features, genre=genre, k=k, videos_per_song=per, same=same,
                                    style=query.style and query.style.embedding, view=options.view,
                                    filters=filters)
    containing = similar.sounds_containing(conn, query, same, videos_per_sound=per)
    style = query.style
    return jsonify(
        query={"filename": query.filename, "duration": round(query.duration, 3),
               "window": [round(query.window[0], 3), round(query.window[1], 3)],
               "listened": round(query.heard, 3), "listening_note": query.note, "genre": genre, "k": k,
               "view": options.view if style else "numbers", "bpm": style and round(style.bpm, 1),
               "key": query.key, "key_confidence": style and round(style.key_confidence, 2),
               "filters": {"bpm_min": options.bpm and options.bpm[0], "bpm_max": options.bpm and options.bpm[1],
                           "key": options.key or None, "described": options.describe(style) or None}},
        filter_notice=unmet(conn, options, style, results),
        same_recording=same,
        tiktok_sounds_containing=containing,
        where_tiktok_listens=similar.listening_strip(query, containing),
        tiktok_sounds_like=similar.sounds_like(conn, query, k=current_app.config["SOUNDS_LIKE"], heard=containing,
                                               videos_per_sound=per),
        results=results,
        hashtags=[{"tag": t, "videos": n} for t, n in similar.hashtag_summary(results)],
        popularity=similar.popularity(conn, query),
        watch_offer=watch.offer(query, genre, containing),
    )


@bp.post("/watch")
def create_watch():
    """Watch an uploaded song: ``offer`` is the ``watch_offer`` of its /api/search answer."""
    offer = request.form.get("offer") or (request.get_json(silent=True) or {}).get("offer")
    token = watch.create(get_db(), offer, request.remote_addr or "")
    return jsonify(token=token, page=url_for("pages.watch_page", token=token, _external=True),
                   feed=url_for("pages.watch_feed", token=token, _external=True),
                   api=url_for("api.watch_json", token=token, _external=True)), 201


@bp.get("/watch/<token>")
def watch_json(token: str):
    """A watch: the sounds found to use the song, where, at what speed, and its videos per week."""
    return jsonify(watch.as_json(watch.watch(get_db(), token)))


@bp.delete("/watch/<token>")
def delete_watch(token: str):
    """Delete a watch and everything found for it."""
    watch.delete(get_db(), token)
    return "", 204


@bp.get("/genres")
def genres():
    """The 16 top-level genres."""
    return jsonify(genres=similar.genres(get_db()))


@bp.get("/tracks/<int:track_id>")
def track(track_id: int):
    """One catalogue track with its TikTok sounds, videos and the songs most like it."""
    return jsonify(songs.song(get_db(), track_id))


@bp.get("/hashtags")
def hashtag_suggestions():
    """The sounds and catalogue songs most used with the given hashtags, by summed engagement."""
    tags = hashtags.parse_tags(request.args.get("tags"))
    limit = similar.resolve_k(request.args.get("limit"), current_app.config["RESULTS"],
                              current_app.config["MAX_RESULTS"], name="limit")
    page = similar.resolve_k(request.args.get("page"), 1, hashtags.MAX_PAGE, name="page")
    return jsonify(hashtags.suggestions(get_db(), tags, limit=limit, offset=(page - 1) * limit,
                                        videos_per=current_app.config["VIDEOS_PER_SONG"]))


@bp.get("/charts")
def chart_list():
    """The loaded Spotify charts."""
    return jsonify(charts=charts.list_charts(get_db()))


@bp.get("/charts/<name>")
def chart(name: str):
    """One chart's entries with their TikTok videos and engagement, and a summary."""
    entries = charts.chart_entries(get_db(), name)
    return jsonify(summary=charts.summary(entries), entries=charts.as_json(entries),
                   history=charts.history(get_db(), entries))


@bp.get("/docs")
def docs():
    """This API's interactive documentation: Swagger UI over the OpenAPI description."""
    return render_template("docs.html")


@bp.get("/docs/static/<path:filename>")
def swagger_ui(filename: str):
    """Swagger UI's own files, from the swagger-ui-bundle package: nothing comes from a CDN."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


@bp.get("/openapi.json")
def openapi():
    """This API, described in OpenAPI 3.0 (the version Swagger UI 4, at /api/docs, renders)."""
    error = {"$ref": "#/components/schemas/Error"}
    problem = lambda text: {"description": text, "content": {"application/json": {"schema": error}}}  # noqa: E731
    return jsonify({
        "openapi": "3.0.3",
        "info": {"title": "FMA x TikTok similar songs", "version": "1"},
        "paths": {
            "/api/search": {"post": {
                "summary": "Catalogue songs most similar to an uploaded mp3, wav, ogg or flac",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "genre": {"type": "string", "description": "a top-level genre's title or id; empty: all"},
                        "k": {"type": "integer", "minimum": 1,
                              "maximum": current_app.config["MAX_RESULTS"], "default": current_app.config["RESULTS"]},
                        "view": {"type": "string", "enum": ["style", "numbers"], "default": "style",
                                 "description": "rank by the style view: the learned style model with the "
                                                "245 numbers, re-ranked by mutual proximity (style), or by "
                                                "the 245 audio numbers' cosine (numbers)"},
                        "bpm_min": {"type": "number", "minimum": 30, "maximum": 300,
                                    "description": "with bpm_max: only songs whose tempo, its half or its "
                                                   "double falls in the range"},
                        "bpm_max": {"type": "number", "minimum": 30, "maximum": 300},
                        "key": {"type": "string", "enum": ["", "same", "relative"],
                                "description": "only songs in the upload's key (same), or in it or its "
                                               "relative key (relative)"},
                    }}}}},
                "responses": {
                    "200": {"description": "the query (window: the seconds the 245-number vector "
                            "and the style model describe; bpm, key and key_confidence: the upload's "
                            "estimated tempo and key; view and filters: as asked); filter_notice: when "
                            "the filters leave no song, why, with the nearest tempo, else null; listened: the seconds heard for identification, from the start, "
                            "at most 600; listening_note: why listening stopped before the end, or null); "
                            "same_recording: the catalogue song the upload is a "
                            "recording of, identified by its audio fingerprint (track_id, hashes, offset: "
                            "where in the catalogue's recording the upload starts, in s, below 0 when the "
                            "upload starts before it; speed), or null; tiktok_sounds_containing: TikTok "
                            "sounds heard to contain the upload, each with how it was found, its speed "
                            "relative to the upload, variant (original speed, sped up or slowed), offset "
                            "(where in the upload it starts, s), covers (how many seconds of the upload it "
                            "uses) and its videos; where_tiktok_listens: the parts of the upload those "
                            "sounds use (segments with start, end and videos), the busiest part, the share "
                            "of videos per variant and a sentence, or null; tiktok_sounds_like: the sounds whose audio vectors are nearest, with "
                            "their videos; results: similar catalogue songs (the same recording first, "
                            "marked same_recording), each with track id, title, artist, genre, score "
                            "(cosine similarity in its view), view (style, numbers, or fingerprint for "
                            "the same recording), bpm, key, key_confidence, "
                            "TikTok uses, groups (per feature group: timbre, harmony, brightness, "
                            "noisiness, the percentile of the pair's similarity among random catalogue "
                            "pairs, 0-100) and summary (that comparison in one sentence); and, once "
                            "trained, the popularity predicted from the audio (value, 80 % range "
                            "low-high, cross-validated r2)"},
                    "400": problem("missing file, unknown genre, or a bad k, view, bpm_min, bpm_max or key "
                                   "(the message names it)"),
                    "413": problem("file too large"), "415": problem("unsupported file type"),
                    "422": problem("corrupt, undecodable, too short or too long audio, or no music heard "
                                   "(silence or near-silence)"),
                    "503": problem("database unavailable")}}},
            "/api/genres": {"get": {"summary": "The 16 top-level genres",
                                    "responses": {"200": {"description": "genres with id and title"},
                                                  "503": problem("database unavailable")}}},
            "/api/watch": {"post": {
                "summary": "Watch an uploaded song: every scheduled run adds the TikTok sounds found to use it. "
                           "The store keeps the song's fingerprint, length, file name and genre, never the audio. "
                           f"At most {watch.PER_HOUR} watches per client address per hour",
                "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["offer"], "properties": {
                        "offer": {"type": "string", "description": "the watch_offer of the song's /api/search "
                                  f"answer, valid for {watch.OFFER_SECONDS // 60} minutes"}}}}}},
                "responses": {"201": {"description": "token (the only key to the watch: keep it), and the "
                                                     "addresses of its page, Atom feed and API"},
                              "400": problem("a bad or expired offer"),
                              "429": problem("too many watches from this address; see Retry-After"),
                              "503": problem("database unavailable")}}},
            "/api/watch/{token}": {
                "get": {
                    "summary": "A watch: file_name, genre, duration, created_at, new_since (the date since "
                               "which the newest uses are new, or null), uses (newest first: music_id, title, "
                               "artist, videos, offset in the song (s), speed, variant, votes, found_at, new), "
                               "where_tiktok_listens and videos_per_week (as in /api/tracks/{track_id}). "
                               "Its Atom feed is /watch/{token}/feed.atom",
                    "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "the watch"},
                                  "404": problem("no such watch (any wrong token)")}},
                "delete": {
                    "summary": "Delete a watch and everything found for it",
                    "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "deleted"},
                                  "404": problem("no such watch (any wrong token)")}}},
            "/api/tracks/{track_id}": {"get": {
                "summary": "A catalogue track with its TikTok sounds (each with how it was found: "
                           "method title, audio or title+audio, with the title scores and, for audio, "
                           "the votes, offset in the song and speed, and how in words), its "
                           "videos, where_tiktok_listens (as in /api/search), sound_ids (every sound that "
                           "carries the song, by title or by listening), videos_per_week (null without "
                           "dated videos; else weeks: week (its Monday), videos and by_sound (music_id to "
                           "videos), every week from the first to the last; sounds: music_id, title, "
                           "videos and share, most videos first; undated: videos without a date), and "
                           "more_like_this: the most similar catalogue songs, as in "
                           "/api/search's results",
                "parameters": [{"name": "track_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the track"}, "404": problem("no such track"),
                              "503": problem("database unavailable")}}},
            "/api/hashtags": {"get": {
                "summary": "TikTok sounds and catalogue songs most used with hashtags, by summed engagement "
                           "(plays + 2 likes + 3 comments + 4 shares over the videos that carry any of them)",
                "parameters": [
                    {"name": "tags", "in": "query", "required": True, "schema": {"type": "string"},
                     "description": "up to 10 hashtags separated by commas or spaces, with or without #"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1},
                     "description": "results per page, of each kind"},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                "maximum": hashtags.MAX_PAGE, "default": 1}},
                ],
                "responses": {"200": {"description": "sounds and songs, best first, each with its videos; "
                                                     "more: whether a next page has any"},
                              "400": problem("no hashtag, too many, or a malformed one"),
                              "503": problem("the store is unavailable")}}},
            "/api/charts": {"get": {
                "summary": "The loaded Spotify charts, with how many of their songs TikTok uses",
                "responses": {"200": {"description": "charts (one file each: a chart on one date) with "
                                                     "series, date, kind, entries, used and videos"},
                              "503": problem("the store is unavailable")}}},
            "/api/charts/{name}": {"get": {
                "summary": "A chart's entries with the TikTok sounds matched to each, their videos and "
                           "engagement, the rank correlation of position and engagement, and its "
                           "history: per song used on TikTok, its positions on every dated chart of "
                           "the series and its TikTok videos and engagement per week (null with "
                           "fewer than two dated charts)",
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "summary, entries by position (with their date) "
                                                     "and history"},
                              "404": problem("no such chart loaded"),
                              "503": problem("the store is unavailable")}}},
            "/api/openapi.json": {"get": {"summary": "This description",
                                          "responses": {"200": {"description": "OpenAPI 3.0"}}}},
            "/api/docs": {"get": {"summary": "This description as an interactive page (Swagger UI)",
                                  "responses": {"200": {"description": "an HTML page",
                                                        "content": {"text/html": {}}}}}},
            "/api/docs/static/{filename}": {"get": {
                "summary": "Swagger UI's scripts and styles, for /api/docs",
                "parameters": [{"name": "filename", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "a file of the swagger-ui-bundle package"},
                              "404": {"description": "no such file"}}}},
        },
        "components": {"schemas": {"Error": {"type": "object", "required": ["error"],
                                             "properties": {"error": {"type": "string"}}}}},
    })
