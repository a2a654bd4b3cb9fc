"""The web app: upload a song, see the catalogue songs that sound like it and their TikTok uses.

``create_app(test_config=None)`` is the only place configuration happens. Settings
(:data:`SETTINGS`) come from the environment at start-up, and ``test_config`` overrides
them. Debug mode is never on. ``python -m webapp.serve`` serves it with gunicorn (what
``make serve`` and ``make demo`` run); ``make dev`` runs Flask's development server.
"""

from __future__ import annotations

import os
import secrets

from flask import Flask

SETTINGS = (
    # name, default, help
    ("DATABASE_URL", None, "PostgreSQL with pgvector; unset: the embedded server in var/pgdata"),
    ("DB_POOL_SIZE", 8, "database connections per server process"),
    ("DB_POOL_TIMEOUT", 10, "seconds a request waits for a free connection before a 503"),
    ("SECRET_KEY", None, "signs cookies and watch offers; unset: a random key per start of webapp.serve"),
    ("MAX_UPLOAD_MB", 30, "largest upload accepted, in MB (larger gets 413)"),
    ("RESULTS", 10, "similar songs shown by default"),
    ("MAX_RESULTS", 50, "largest k the API accepts"),
    ("VIDEOS_PER_SONG", 12, "TikTok videos shown per song"),
    ("SOUNDS_LIKE", 6, "TikTok sounds shown whose audio is nearest the upload's"),
    ("STYLE_MODEL", 1, "1: each upload gets the learned style model, tempo and key (about 0.5 s of CPU); "
                       "0: uploads are searched by the 245 numbers alone"),
    ("AWS_ENDPOINT_URL", None, "S3-compatible endpoint for presigned audio links"),
)
"""Every setting: its environment variable, default and meaning."""


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; ``test_config`` overrides the settings read from the environment."""
    app = Flask(__name__)
    for name, default, _ in SETTINGS:
        value = os.environ.get(name, default)
        app.config[name] = int(value) if isinstance(default, int) else value
    app.config.update(test_config or {})
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_UPLOAD_MB"]) * 1024 * 1024
    # Fields other than the file hold a genre or a number. Werkzeug also applies this limit to
    # its 64 KiB read buffer, so it must stay well above that.
    app.config["MAX_FORM_MEMORY_SIZE"] = 256 * 1024
    app.config["DEBUG"] = False
    app.debug = False

    from webapp import api, db, display, errors, pages

    db.init_app(app)
    errors.init_app(app)
    display.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data:; media-src 'self' https:; "
            "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
