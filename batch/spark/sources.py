"""Where audio comes from: a local folder or an ``s3://bucket/prefix``.

The driver lists files with their size and version (modification time, or the
S3 ETag); the executors read the bytes. S3 access goes through boto3, so the
standard AWS chain (environment, shared config, instance profile) supplies the
credentials and region, and ``AWS_ENDPOINT_URL`` is honoured. ``endpoint_url``
overrides it for S3-compatible stores.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

AUDIO_EXTENSIONS = (".mp3", ".wav", ".ogg", ".flac")
_TRACK_ID = re.compile(r"^(\d+)$")


@dataclass(frozen=True)
class AudioFile:
    """One listed object: where it is, its FMA track id if its name is one, and its version."""

    path: str
    track_id: int | None
    size: int
    version: str


def is_s3(uri: str) -> bool:
    return str(uri).startswith("s3://")


def track_id_from_path(path: str) -> int | None:
    """The FMA track id from a file name: ``000/000002.mp3`` gives 2; other names give None."""
    stem = os.path.splitext(os.path.basename(path))[0]
    match = _TRACK_ID.match(stem)
    return int(match.group(1)) if match else None


def list_audio(src: str, *, endpoint_url: str | None = None) -> list[AudioFile]:
    """List the audio files under the folder or S3 prefix ``src``, sorted by path.

    Raises
    ------
    FileNotFoundError
        If a local ``src`` does not exist.
    NotADirectoryError
        If a local ``src`` is not a folder.
    """
    if not is_s3(src) and Path(src).is_file():
        raise NotADirectoryError(f"audio source {src!r} is not a folder")
    return list_files(src, AUDIO_EXTENSIONS, endpoint_url=endpoint_url, kind="audio")


def list_files(src: str, extensions: tuple[str, ...], *, endpoint_url: str | None = None,
               kind: str = "input") -> list[AudioFile]:
    """Files under ``src`` (a file, a folder or an S3 prefix) whose names end in ``extensions``."""
    if is_s3(src):
        return _list_s3(src, extensions, endpoint_url=endpoint_url)
    root = Path(src)
    if not root.exists():
        raise FileNotFoundError(f"{kind} source {src!r} does not exist")
    candidates = [root] if root.is_file() else (
        Path(dirpath, name)
        for dirpath, dirnames, filenames in os.walk(root)
        if not any(part.startswith(".") for part in Path(dirpath).relative_to(root).parts)
        for name in filenames if not name.startswith(".")
    )
    files = []
    for path in candidates:
        if path.name.lower().endswith(extensions):
            path = path.resolve()
            st = path.stat()
            files.append(AudioFile(str(path), track_id_from_path(str(path)), st.st_size,
                                   str(st.st_mtime_ns)))
    return sorted(files, key=lambda f: f.path)


def s3_client(endpoint_url: str | None = None):
    """A boto3 S3 client; path-style addressing when an endpoint is given (S3-compatible stores)."""
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"} if endpoint_url else {},
        retries={"max_attempts": 5, "mode": "standard"},
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def _list_s3(uri: str, extensions: tuple[str, ...], *, endpoint_url: str | None) -> list[AudioFile]:
    bucket, prefix = split_s3(uri)
    paginator = s3_client(endpoint_url).get_paginator("list_objects_v2")
    files = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.lower().endswith(extensions):
                path = f"s3://{bucket}/{key}"
                files.append(
                    AudioFile(path, track_id_from_path(key), obj["Size"], obj["ETag"].strip('"'))
                )
    return sorted(files, key=lambda f: f.path)


class Reader:
    """Reads whole objects by path; one per executor task, so the S3 client is reused."""

    def __init__(self, endpoint_url: str | None = None):
        self.endpoint_url = endpoint_url
        self._client = None

    def read(self, path: str, n: int | None = None) -> bytes:
        """The whole file or object, or its first ``n`` bytes (fewer when it is shorter)."""
        if not is_s3(path):
            with open(path, "rb") as f:
                return f.read(-1 if n is None else n)
        if self._client is None:
            self._client = s3_client(self.endpoint_url)
        bucket, key = split_s3(path)
        span = {} if n is None else {"Range": f"bytes=0-{n - 1}"}
        return self._client.get_object(Bucket=bucket, Key=key, **span)["Body"].read()


def fetch(uri: str, dest: Path, *, endpoint_url: str | None = None) -> Path:
    """Copy the S3 object ``uri`` to the local file ``dest`` (atomically) and return ``dest``.

    Raises
    ------
    FileNotFoundError
        If there is no such object.
    """
    from botocore.exceptions import ClientError

    bucket, key = split_s3(uri)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        s3_client(endpoint_url).download_file(bucket, key, str(tmp))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
            raise FileNotFoundError(f"{uri} does not exist") from e
        raise
    os.replace(tmp, dest)
    return dest
