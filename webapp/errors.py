"""Errors carry their HTTP status; one handler renders them as JSON (API) or a page (forms)."""

from __future__ import annotations

import logging

import psycopg2
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class AppError(Exception):
    """A request that cannot be served, with the status and the message the user sees."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def init_app(app) -> None:
    @app.errorhandler(AppError)
    def app_error(e: AppError):
        return _render(e.status, e.message)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e):
        limit = app.config["MAX_UPLOAD_MB"]
        return _render(413, f"the file is too large: the limit is {limit} MB")

    @app.errorhandler(psycopg2.OperationalError)
    @app.errorhandler(psycopg2.InterfaceError)
    def store_down(e):
        log.warning("database error: %s", e)
        return _render(503, "the database is unavailable; please try again shortly")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return _render(e.code or 500, e.description or e.name)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unexpected error")
        return _render(500, "something went wrong on our side; please try again")


def _render(status: int, message: str):
    if request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status
