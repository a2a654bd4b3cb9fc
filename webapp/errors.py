"""Errors carry their HTTP status; one handler renders them as JSON (API) or a page (forms).

Messages never carry what the server knows and the user should not: paths, hosts and
driver text go to the log. Values the user sent are quoted through :func:`quote`, so an
error never echoes more than a short prefix of them.
"""

from __future__ import annotations

import logging

import psycopg2
from flask import current_app, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from batch.store.db import answers

log = logging.getLogger(__name__)

UNAVAILABLE = "the catalogue is briefly unavailable; please try again in a minute"
"""What a user is told when the store cannot be reached (details go to the log)."""
RETRY_AFTER = 30
"""Seconds a client is asked to wait after a 503 for an outage."""


class AppError(Exception):
    """A request that cannot be served, with the status and the message the user sees.

    ``retry_after`` (seconds) becomes a ``Retry-After`` header: 503s carry one.
    """

    def __init__(self, status: int, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after if retry_after is not None or status != 503 else RETRY_AFTER


def quote(value, limit: int = 40) -> str:
    """``repr`` of what a user sent, cut to ``limit`` characters."""
    text = str(value)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text):,} characters)"


def unavailable(e: Exception) -> AppError:
    """The 503 for an unreachable store; the cause is logged, not shown."""
    log.warning("database unavailable: %s", str(e).strip())
    return AppError(503, UNAVAILABLE)


def init_app(app) -> None:
    @app.before_request
    def refuse_nul():
        """PostgreSQL cannot store or compare a NUL character: refuse it wherever it was sent."""
        for where, text in _sent():
            if "\x00" in text:
                raise AppError(400, f"the {where} contains a NUL character (%00), which no song, "
                                    "chart or hashtag has")

    @app.errorhandler(AppError)
    def app_error(e: AppError):
        return _render(e.status, e.message, e.retry_after)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e):
        if (request.content_length or 0) > app.config["MAX_CONTENT_LENGTH"]:
            return _render(413, f"the file is too large: the limit is {app.config['MAX_UPLOAD_MB']} MB")
        limit = app.config["MAX_FORM_MEMORY_SIZE"] // 1024
        return _render(413, f"a form field is too large: fields other than the file hold at most {limit} KB")

    @app.errorhandler(psycopg2.Error)
    def store_error(e: psycopg2.Error):
        # "server closed the connection" is a bare DatabaseError: ask the connection itself.
        lost = isinstance(e, (psycopg2.OperationalError, psycopg2.InterfaceError)) or not answers(g.get("db"))
        if not lost:
            return unexpected(e)
        e = unavailable(e)
        return _render(e.status, e.message, e.retry_after)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return _render(e.code or 500, e.description or e.name)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unexpected error")
        return _render(500, "something went wrong on our side; please try again")


def _sent():
    yield "address", request.path
    for name, values in request.args.lists():
        yield "query string", name
        for value in values:
            yield "query string", value
    if request.method == "POST":
        for name, values in request.form.lists():
            yield "form", name
            for value in values:
                yield "form", value
        for upload in request.files.values():
            yield "file name", upload.filename or ""


def _chosen_genre() -> str:
    """The genre the failed upload asked for, to keep it in the form; "" when the form
    itself could not be read (too large, or cut off)."""
    try:
        return (request.form.get("genre") or "")[:60]
    except (HTTPException, ValueError, OSError):
        return ""


def _render(status: int, message: str, retry_after: int | None = None):
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
    else:
        upload = request.endpoint == "pages.search"
        response = make_response(render_template(
            "error.html", status=status, message=message, upload=upload,
            genres=current_app.extensions.get("last_genres", []),
            chosen=_chosen_genre() if upload else ""))
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
