"""Gunicorn's access log, with watch tokens cut to a prefix: a watch's address is its only key.

``python -m webapp.serve`` runs gunicorn with ``--logger-class webapp.access_log.AccessLog``.
Every logged form of the request (its line, path, query and referer) shows
``/watch/<first six characters>…`` instead of the token.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

TOKEN_IN_PATH = re.compile(r"(/watch/[A-Za-z0-9_-]{6})[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1…", text)


class AccessLog(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
