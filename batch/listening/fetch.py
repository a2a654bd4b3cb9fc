"""Download one TikTok sound's audio from a URL found in a dump, which is untrusted input.

:func:`fetch_audio` never raises for a bad URL or a bad answer: it returns a
:class:`Fetched` whose ``status`` is ``ok`` or the reason it failed:

==================  ==============================================================
status              meaning
==================  ==============================================================
ok                  audio bytes, sniffed as mp3, m4a, aac, ogg, wav or flac
expired             403, 404 or 410: the signed link is dead (every 2019 link is)
http error          another 4xx
server error        5xx on every attempt
timeout             no connection or no bytes within the timeouts, on every attempt
connection failed   refused, reset or unreachable, on every attempt
too large           more than :data:`MAX_BYTES` (declared or received)
not audio           the body is HTML, JSON, an image or anything that is not audio
refused address     a loopback, private, link-local, multicast or reserved address
bad url             not http or https, no host, or unparsable
too many redirects  more than :data:`MAX_REDIRECTS`
==================  ==============================================================

Safety: only ``http`` and ``https`` are followed. The host is resolved once, every
address it resolves to must be public (``ipaddress``'s ``is_global``, not multicast),
and the connection goes to that checked address (TLS still verifies the host name),
so a DNS answer cannot change between the check and the connection. Every redirect
is checked the same way. ``allow_private=True`` lifts the address check; it exists
for tests against a loopback server and is unsafe anywhere else.

Timeouts, 5xx and broken connections are retried :data:`ATTEMPTS` times in all, with
exponential backoff from :data:`BACKOFF` s; 4xx answers are final.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_BYTES = 20 * 1024 * 1024
"""Largest sound accepted: 20 MiB, about 20 minutes of 128 kbps mp3 (TikTok sounds last 60 s at most)."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
"""Seconds to connect, and seconds without a byte before a read gives up."""
ATTEMPTS = 3
BACKOFF = 0.5
MAX_REDIRECTS = 5
USER_AGENT = "fma-tiktok-sound-fetcher/1"

EXPIRED = (403, 404, 410)
RETRIED = ("timeout", "server error", "connection failed")
"""Failures worth another attempt on the next run; every other failure is final."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: str
    data: bytes | None = None
    ext: str | None = None  # the audio format, from the bytes
    http_status: int | None = None
    detail: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _Refused(Exception):
    def __init__(self, status: str, detail: str = "", http_status: int | None = None):
        super().__init__(detail)
        self.status, self.detail, self.http_status = status, detail, http_status


def audio_format(head: bytes) -> str | None:
    """The audio format of a file from its first bytes, or None when it is not audio."""
    if head.startswith(b"ID3"):
        return "mp3"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3"  # an MPEG audio frame without an ID3 tag
    return None


def check_address(host: str, port: int, *, allow_private: bool = False,
                  trusted: frozenset[str] = frozenset()) -> str:
    """The address to connect to for ``host``: resolved, and refused unless every answer is public.

    ``trusted`` lists addresses allowed although they are not public (tests use it to
    serve a first hop on one loopback address and refuse a redirect to another).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise _Refused("connection failed", f"cannot resolve {host!r}: {e}") from None
    addresses = [info[4][0] for info in infos]
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            mapped = getattr(ip, "ipv4_mapped", None)
            ip = mapped or ip
            if str(ip) in trusted:
                continue
            if not ip.is_global or ip.is_multicast:
                raise _Refused("refused address", f"{host} resolves to {ip}, which is not a public address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever the host name resolves to now."""

    def __init__(self, host, port, address, timeouts):
        super().__init__(host, port)
        self._address, self._timeouts = address, timeouts

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), timeout=self._timeouts[0])
        self.sock.settimeout(self._timeouts[1])


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeouts):
        super().__init__(host, port, context=ssl.create_default_context())
        self._address, self._timeouts = address, timeouts

    def connect(self):
        sock = socket.create_connection((self._address, self.port), timeout=self._timeouts[0])
        sock.settimeout(self._timeouts[1])
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch_audio(url: str, *, allow_private: bool = False, max_bytes: int = MAX_BYTES,
                attempts: int = ATTEMPTS, backoff: float = BACKOFF,
                timeouts: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
                trusted: frozenset[str] = frozenset(), sleep=time.sleep) -> Fetched:
    """Download the audio at ``url`` (see the module docstring); never raises for bad input.

    ``timeouts`` are (connect, read) in seconds; ``trusted`` is for tests (:func:`check_address`).
    """
    tries = 0
    while True:
        tries += 1
        try:
            data, ext, code = _get(url, allow_private=allow_private, max_bytes=max_bytes,
                                   timeouts=timeouts, trusted=trusted)
            return Fetched(url, "ok", data, ext, code, attempts=tries)
        except _Refused as e:
            if e.status not in RETRIED or tries >= attempts:
                return Fetched(url, e.status, http_status=e.http_status, detail=e.detail[:300],
                               attempts=tries)
        sleep(backoff * 2 ** (tries - 1))


def _get(url: str, *, allow_private: bool, max_bytes: int, timeouts, trusted) -> tuple[bytes, str, int]:
    for _ in range(MAX_REDIRECTS + 1):
        parts = _split(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = check_address(parts.hostname, port, allow_private=allow_private, trusted=trusted)
        cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = cls(parts.hostname, port, address, timeouts)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "audio/*"})
            response = conn.getresponse()
            code = response.status
            if code in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise _Refused("http error", f"{code} redirect without a Location", code)
                url = urljoin(url, location)
                continue
            if code in EXPIRED:
                raise _Refused("expired", f"HTTP {code}", code)
            if 500 <= code < 600:
                raise _Refused("server error", f"HTTP {code}", code)
            if code != 200:
                raise _Refused("http error", f"HTTP {code}", code)
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _Refused("too large", f"declares {int(declared):,} bytes; the cap is {max_bytes:,}", code)
            kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if kind.startswith(("text/", "image/")) or kind in ("application/json", "application/xml"):
                raise _Refused("not audio", f"Content-Type {kind}", code)
            data = _read_capped(response, max_bytes)
            ext = audio_format(data[:16])
            if ext is None:
                raise _Refused("not audio", f"the body starts with {data[:8]!r}", code)
            return data, ext, code
        except _Refused:
            raise
        except (socket.timeout, TimeoutError) as e:
            raise _Refused("timeout", str(e) or "timed out") from None
        except ssl.SSLError as e:
            raise _Refused("connection failed", f"TLS: {e}") from None
        except (OSError, http.client.HTTPException) as e:
            raise _Refused("connection failed", f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
    raise _Refused("too many redirects", f"more than {MAX_REDIRECTS}")


def _split(url: str):
    try:
        parts = urlsplit(str(url).strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        raise _Refused("bad url", str(e)) from None
    if parts.scheme not in ("http", "https"):
        raise _Refused("bad url", f"scheme {parts.scheme or '(none)'!r}: only http and https are followed")
    if not parts.hostname:
        raise _Refused("bad url", "no host")
    return parts


def _read_capped(response, max_bytes: int) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = response.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise _Refused("too large", f"more than {max_bytes:,} bytes received", response.status)
        chunks.append(chunk)
