"""Where finished outputs live: the local output folder (the default) or an S3-compatible bucket.

    GENERATE_MEDIA_STORAGE_URL=s3://bucket/prefix     outputs go to this bucket, under this prefix
    AWS_ENDPOINT_URL=http://seaweed:8333              any S3-compatible store (unset: AWS itself)
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (/ AWS_SESSION_TOKEN)

Every file is first written locally exactly as without a bucket (``output.save_artifact``: a
partial file linked to its final name, confined to the allowed folders, one folder per HTTP client),
then uploaded, and reported only once the upload finished. An S3 object appears only when complete
(a single PUT, or a multipart upload completed at the end for large files), so no reader ever sees
half a file; when an upload fails, the objects of that prompt already uploaded are deleted and the
local files removed, and the call fails with one line. The local folder stays as a cache: a replica
that lacks a file another replica made fetches it back (``localize``) by the same key.

The key of a file is its path relative to the output folder (``clients/alice/fox.png``), so every
replica configured with the same ``GENERATE_MEDIA_OUTPUT_DIR`` names the same object the same way;
a file saved elsewhere (stdio clients may write to allowed folders) is keyed by its absolute path
under ``_abs/``.

The client is obstore (Apache-2.0, one Rust wheel without dependencies, native asyncio, multipart
uploads and presigned URLs built in), imported only when a bucket is configured: the ``[s3]`` extra.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from . import settings as declared
from .config import Settings
from .errors import StorageError

__all__ = ["LocalStorage", "S3Storage", "Storage", "StorageConfigError", "open_storage"]

log = logging.getLogger("generate_media.storage")

#: Files larger than this go up as a multipart upload, in parts of this size.
PART_BYTES = 8 * 1024 * 1024


class StorageConfigError(ValueError):
    """``GENERATE_MEDIA_STORAGE_URL`` or the AWS variables are unusable; the message says what to set."""


class LocalStorage:
    """The default: files stay in the local output folder and nothing is uploaded."""

    remote = False

    async def publish(self, paths: list[Path]) -> dict[Path, str]:
        return {}

    async def localize(self, path: Path) -> bool:
        return path.is_file()

    def signed_url(self, path: Path) -> str | None:
        return None

    def describe(self) -> str:
        return "local folder"


@dataclass
class _Target:
    bucket: str
    prefix: str


class S3Storage:
    """Outputs uploaded to ``s3://bucket/prefix`` of any S3-compatible store (see the module docstring)."""

    remote = True

    def __init__(self, url: str, settings: Settings) -> None:
        self.target = _parse(url)
        self.output_dir = settings.output_dir.expanduser().resolve()
        self.link_ttl = timedelta(seconds=_link_ttl(settings))
        endpoint = settings.get(declared.AWS_ENDPOINT_URL.name)
        if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
            raise StorageConfigError(f"{declared.AWS_ENDPOINT_URL.name} must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint
        self._settings = settings
        self._store: Any = None

    @property
    def store(self) -> Any:
        """The obstore client, made on first use (its import is not paid by servers without a bucket)."""
        if self._store is None:
            self._store = _make_store(self.target, self.endpoint, self._settings)
        return self._store

    def describe(self) -> str:
        return f"s3://{self.target.bucket}/{self.target.prefix}".rstrip("/")

    def key_for(self, path: Path) -> str:
        """The object key (below the prefix) of a local output file."""
        resolved = path.expanduser().resolve()
        if resolved.is_relative_to(self.output_dir):
            return resolved.relative_to(self.output_dir).as_posix()
        return "_abs" + resolved.as_posix()

    def uri_for(self, path: Path) -> str:
        return f"{self.describe()}/{self.key_for(path)}"

    def signed_url(self, path: Path) -> str:
        """A time-limited GET link to the object of ``path`` (made locally: no request is sent)."""
        import obstore

        return str(obstore.sign(self.store, "GET", self.key_for(path), self.link_ttl))

    async def publish(self, paths: list[Path]) -> dict[Path, str]:
        """Upload ``paths`` (each a complete local file); path -> ``s3://`` URI of its object.

        All or nothing: on any failure the objects this call uploaded are deleted again.

        Raises:
            StorageError: an upload failed (one line: which file, the store's reason, what to do).
        """
        done: list[str] = []
        try:
            for path in paths:
                key = self.key_for(path)
                await self._put(key, path)
                done.append(key)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):  # a cancelled call leaves no object either
                await self._forget(done)
            if isinstance(exc, Exception) and not isinstance(exc, StorageError):
                raise self._failed(path, exc) from exc
            raise
        return {path: self.uri_for(path) for path in paths}

    async def _put(self, key: str, path: Path) -> None:
        import obstore
        from obstore.exceptions import AlreadyExistsError

        size = path.stat().st_size
        if size > PART_BYTES:
            # Multipart: the object appears only when the upload completes (aborted on failure).
            if await self._exists(key):
                raise self._taken(key)
            await obstore.put_async(self.store, key, path, use_multipart=True, chunk_size=PART_BYTES)
            return
        try:  # one PUT with If-None-Match: never replaces an object another replica wrote
            await obstore.put_async(self.store, key, path, mode="create")
        except AlreadyExistsError as exc:
            raise self._taken(key) from exc

    async def _exists(self, key: str) -> bool:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            await obstore.head_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    async def _forget(self, keys: list[str]) -> None:
        import obstore

        for key in keys:
            with contextlib.suppress(Exception):
                await obstore.delete_async(self.store, key)

    def _taken(self, key: str) -> StorageError:
        return StorageError(
            f"{self.describe()}/{key} already exists in the bucket; choose another filename and call again",
            storage=self.describe(),
        )

    def _failed(self, path: Path, exc: Exception) -> StorageError:
        reason = _first_line(exc)
        return StorageError(
            f"could not upload {path.name} to {self.describe()} ({reason}); check {declared.STORAGE_URL.name}, "
            "AWS_ENDPOINT_URL and the AWS credentials, then call again",
            storage=self.describe(),
        )

    async def localize(self, path: Path) -> bool:
        """Make sure the output file ``path`` is on this machine: fetch its object when only the
        bucket has it (another replica made it). The download goes to a partial file first, then is
        linked to its name, as every write. False when neither has it, or when ``path`` is outside
        the output folder."""
        if path.is_file():
            return True
        if not path.expanduser().resolve().is_relative_to(self.output_dir):
            return False  # fetched only into the output folder, never to a path named elsewhere
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            result = await obstore.get_async(self.store, self.key_for(path))
        except (NotFoundError, FileNotFoundError):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".gm-partial-{secrets.token_hex(8)}")
        try:
            with temp.open("xb") as fh:
                async for chunk in result.stream():
                    await anyio.to_thread.run_sync(fh.write, bytes(chunk))
            with contextlib.suppress(FileExistsError):  # another caller fetched it meanwhile: same bytes
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        return True


Storage = LocalStorage | S3Storage


def open_storage(settings: Settings) -> Storage:
    """The storage ``GENERATE_MEDIA_STORAGE_URL`` names (unset: the local folder).

    Raises:
        StorageConfigError: not an ``s3://bucket/prefix`` URL, or obstore is not installed.
    """
    url = settings.get(declared.STORAGE_URL.name)
    if not url:
        return LocalStorage()
    storage = S3Storage(url, settings)
    try:
        import obstore  # noqa: F401
    except ImportError as exc:
        raise StorageConfigError(
            f"{declared.STORAGE_URL.name} needs the S3 client: pip install 'generate-media-mcp[s3]'"
        ) from exc
    return storage


def _parse(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise StorageConfigError(f"{declared.STORAGE_URL.name} must look like s3://bucket/prefix, got {url!r}")
    prefix = parts.path.strip("/")
    if any(p in ("", ".", "..") for p in prefix.split("/")) and prefix:
        raise StorageConfigError(f"{declared.STORAGE_URL.name}: the prefix {prefix!r} has an empty, . or .. part")
    return _Target(parts.netloc, prefix)


def _link_ttl(settings: Settings) -> float:
    raw = settings.get(declared.STORAGE_LINK_TTL_S.name)
    try:
        ttl = float(raw) if raw else declared.STORAGE_LINK_TTL_S.default
    except ValueError as exc:
        name = declared.STORAGE_LINK_TTL_S.name
        raise StorageConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not 1 <= ttl <= 7 * 24 * 3600:  # S3 refuses presigned links longer than 7 days
        raise StorageConfigError(f"{declared.STORAGE_LINK_TTL_S.name} must be between 1 and 604800 seconds (7 days)")
    return ttl


def _make_store(target: _Target, endpoint: str, settings: Settings) -> Any:
    from obstore.store import S3Store

    config: dict[str, Any] = {"region": settings.get(declared.AWS_REGION.name) or "us-east-1"}
    key_id = settings.get(declared.AWS_ACCESS_KEY_ID.name)
    secret = settings.get(declared.AWS_SECRET_ACCESS_KEY.name)
    if key_id and secret:
        config.update(access_key_id=key_id, secret_access_key=secret)
        if token := settings.get(declared.AWS_SESSION_TOKEN.name):
            config["session_token"] = token  # temporary credentials: signed requests and links carry it
    if endpoint:
        config["endpoint"] = endpoint
    client = {"allow_http": endpoint.startswith("http://"), "connect_timeout": timedelta(seconds=10)}
    client["timeout"] = timedelta(seconds=max(settings.request_timeout_s, 30.0) * 5)
    return S3Store(target.bucket, prefix=target.prefix or None, config=config, client_options=client)  # type: ignore[arg-type]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), type(exc).__name__)
    return line[:200]
