"""Files first: safe paths, atomic no-clobber writes, real format sniffing, readable names, previews.

Every artifact is written to a temporary file in the destination directory and then hard-linked to
its final name (atomic, and it fails instead of overwriting), so a failure or cancellation never
leaves a partial file under a real name. The extension comes from the bytes (``filetype`` sniffing,
then Pillow or PyAV verification), never from what was requested.

Paths are checked once and then used through open directory descriptors: a :class:`Folder` is
opened from its allowed root one component at a time with ``O_NOFOLLOW``, and every temporary file,
final link and input read goes through a descriptor (``dir_fd``), never through the path again. A
directory swapped for a symlink after the check cannot redirect a write or a read outside. Writers
that need a path (PyAV, ffmpeg) get ``/proc/<pid>/fd/N/name`` on Linux, which reaches the same open
directory; elsewhere they get the plain path (the final link still goes through the descriptor).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import secrets
import shutil
import stat
import time
import unicodedata
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DISK_ERRNOS, AccessDenied, BadProviderResponse, InvalidRequest, storage_error

__all__ = [
    "Confinement",
    "Folder",
    "MediaInfo",
    "SavedFile",
    "check_output_dir",
    "cleanup_temp",
    "make_preview",
    "new_temp",
    "probe",
    "save_artifact",
    "save_sidecar",
    "slugify",
    "sniff",
    "sweep_stale_temps",
    "thumbnail",
    "writing",
]

log = logging.getLogger("generate_media.output")

#: ``%2e`` ``%2f`` ``%5c`` (., /, \\): a folder path is plain text, never URL-encoded.
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
TEMP_PREFIX = ".gm-partial-"
_TEMP_NAME = re.compile(r"^\.gm-partial-[0-9a-f]{16}(\.[A-Za-z0-9]{1,8})?$")
#: A temporary file untouched this long belongs to no running call (downloads write in batches,
#: every call has a deadline): left by a crash, it is removed when the server starts.
STALE_TEMP_S = 6 * 3600.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_PROC_FD = Path("/proc/self/fd").is_dir()

# Formats filetype cannot sniff (no magic bytes), accepted only on the provider's word.
_UNSNIFFABLE = {"audio/pcm": "pcm", "audio/L16": "pcm", "image/svg+xml": "svg"}
_EXT_FIX = {"jpeg": "jpg", "mpga": "mp3", "x-wav": "wav", "quicktime": "mov"}
_MIME_FIX = {
    "audio/x-wav": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
    "video/x-m4v": "video/mp4",
}


@dataclass(frozen=True)
class Confinement:
    """The directories files may be read from and written to (symlinks and .. resolved first).

    The first root is home: where outputs go by default and what a relative ``output_dir`` is
    relative to. ``read_only`` roots may be read, never written (over HTTP: the operator's allowed
    directories, shared by every client). Nothing inside a ``fenced`` directory is reachable except
    through a root that is itself inside it (over HTTP: the other clients' areas).
    """

    roots: tuple[Path, ...]
    read_only: tuple[Path, ...] = ()
    fenced: tuple[Path, ...] = ()

    @classmethod
    def of(cls, dirs: Iterable[Path], *, read_only: Iterable[Path] = (), fenced: Iterable[Path] = ()) -> Confinement:
        def resolved(paths: Iterable[Path]) -> tuple[Path, ...]:
            return tuple(dict.fromkeys(Path(d).expanduser().resolve() for d in paths))

        roots = resolved([*dirs, *read_only])
        writable = resolved(dirs)
        return cls(roots, tuple(r for r in roots if r not in writable), resolved(fenced))

    @property
    def home(self) -> Path:
        return self.roots[0]

    def writable(self) -> Confinement:
        """The same confinement without its read-only roots: where outputs may be written."""
        return Confinement(tuple(r for r in self.roots if r not in self.read_only), (), self.fenced)

    def contains(self, path: Path) -> bool:
        if not any(_within(path, root) for root in self.roots):
            return False
        return not any(
            _within(path, fence) and not any(_within(path, r) and _within(r, fence) for r in self.roots)
            for fence in self.fenced
        )

    def resolve(self, raw: str | Path, *, base: Path | None = None, output: bool = False) -> Path:
        """Resolve ``raw`` (relative to ``base``) and require it inside an allowed root.

        ``output`` says ``raw`` is where files are to be written, so the message speaks of the
        output folder rather than of moving an input file.

        Raises:
            AccessDenied: outside every allowed directory (after resolving symlinks and ..).
        """
        text = str(raw)
        if "\x00" in text:
            raise InvalidRequest("path contains a NUL character")
        path = Path(text).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        resolved = path.resolve()
        if not self.contains(resolved):
            roots = ", ".join(str(r) for r in self.roots)
            if output:
                raise AccessDenied(
                    f"output folder {text} is outside the allowed directories ({roots}); choose an output folder "
                    "inside them or add it to GENERATE_MEDIA_ALLOWED_DIRS"
                )
            raise AccessDenied(
                f"{text} is outside the allowed directories ({roots}); move the file there or add its "
                "directory to GENERATE_MEDIA_ALLOWED_DIRS"
            )
        return resolved

    def root_of(self, path: Path) -> Path:
        """The allowed root holding the resolved ``path`` (the deepest, when roots nest)."""
        inside = [root for root in self.roots if path == root or path.is_relative_to(root)]
        if not inside:
            raise AccessDenied(f"{path} is outside the allowed directories; move it there")
        return max(inside, key=lambda root: len(root.parts))

    def open_dir(self, path: Path, *, create: bool = False) -> int:
        """A descriptor of the checked directory ``path``, reached from its root without following
        any symlink (one that appeared since the check is refused); missing parts are made when
        ``create``.

        Raises:
            AccessDenied: a component became a symlink.
            InvalidRequest: a component is not a directory.
            OSError: the directory cannot be made or opened (the caller says which folder).
        """
        root = self.root_of(path)
        if create:
            root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | _DIRECTORY)
        for part in path.relative_to(root).parts:
            fd = _step(fd, part, path, create)  # closes the parent's descriptor
        return fd

    def open_file(self, path: Path, flags: int) -> int:
        """Open the checked file ``path`` through descriptors of its parents (no symlink anywhere)."""
        parent = self.open_dir(path.parent)
        try:
            return os.open(path.name, flags | _NOFOLLOW, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                raise _swapped(path) from exc
            raise
        finally:
            os.close(parent)

    def regular_file(self, raw: str | Path, *, base: Path | None = None) -> Path:
        """An existing regular file inside the roots (no devices, FIFOs or directories)."""
        path = self.resolve(raw, base=base)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError as exc:
            raise InvalidRequest(f"{raw} does not exist; check the path") from exc
        if not stat.S_ISREG(mode):
            raise AccessDenied(f"{raw} is not a regular file; give an image, audio or video file")
        return path


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _swapped(path: Path) -> AccessDenied:
    return AccessDenied(f"{path} changed into a symlink while in use; call again with a real directory")


def _step(fd: int, part: str, path: Path, create: bool) -> int:
    """Descend from the directory ``fd`` into ``part`` (closing ``fd``), never through a symlink."""
    try:
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
        try:
            return os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise _swapped(path) from exc
                raise InvalidRequest(f"{path}: {part} is not a directory; check the path") from exc
            raise
    finally:
        os.close(fd)


class Folder:
    """An output directory held open: every file goes in through its descriptor (see the module
    docstring). ``path`` is where it was when checked, for results and messages."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self._close = weakref.finalize(self, os.close, fd)

    @classmethod
    def open(cls, confinement: Confinement, path: Path) -> Folder:
        """Open (making it if needed) the checked directory ``path``.

        Raises:
            AccessDenied: a component is (or became) a symlink.
            StorageError: it cannot be made or opened (read-only, disk full...).
        """
        try:
            return cls(path, confinement.open_dir(path, create=True))
        except OSError as exc:
            raise storage_error(exc, path, move="pass another output_dir") from exc

    def local(self, name: str) -> Path:
        """A path to ``name`` in this folder for code that needs a path (reaches the open directory)."""
        # By pid, not "self": a child process (ffmpeg) resolves it to this process's descriptor.
        return Path(f"/proc/{os.getpid()}/fd/{self.fd}/{name}") if _PROC_FD else self.path / name

    def still_there(self, name: str) -> None:
        """The file ``name`` was written through the descriptor; if ``path`` no longer leads to this
        directory (it was moved or swapped for a symlink meanwhile), the path we would report is
        wrong: remove the file and refuse.

        Raises:
            AccessDenied: the folder was swapped while in use (nothing is left behind).
        """
        held = os.fstat(self.fd)
        try:
            now = os.stat(self.path)
            same = (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
        except OSError:
            same = False
        if not same:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=self.fd)
            raise _swapped(self.path)

    def close(self) -> None:
        self._close()

    def __repr__(self) -> str:
        return f"Folder({str(self.path)!r})"


@dataclass
class MediaInfo:
    mime_type: str
    extension: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    has_audio: bool | None = None
    has_video: bool | None = None
    preview: tuple[bytes, str] | None = field(default=None, repr=False)  # (thumbnail bytes, MIME)


@dataclass
class SavedFile:
    path: Path
    info: MediaInfo
    size_bytes: int
    sidecars: dict[str, str] = field(default_factory=dict)  # extension -> path of a file written beside it
    object_uri: str | None = None  # s3:// URI once uploaded to the bucket (storage.py)

    @property
    def uri(self) -> str:
        return self.path.as_uri()


def slugify(text: str, limit: int = 40) -> str:
    """A readable ASCII slug of the prompt (``a-red-fox-at-dawn``); ``media`` when nothing is left."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", norm).strip("-").lower()
    return slug[:limit].rstrip("-") or "media"


def _safe_stem(filename: str) -> str:
    name = Path(filename).name
    if name != filename or name in ("", ".", "..") or "\x00" in filename or "/" in filename or "\\" in filename:
        raise InvalidRequest(f"filename={filename!r} must be a plain file name without directories")
    stem = Path(name).stem if Path(name).suffix else name
    clean = re.sub(r"[^\w.\- ]+", "_", stem).strip(" .")
    if not clean:
        raise InvalidRequest(f"filename={filename!r} has no usable characters")
    return clean[:120]


def sniff(head: bytes) -> tuple[str, str] | None:
    """(mime, extension) of the bytes, or None when unknown."""
    import filetype

    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = _MIME_FIX.get(kind.mime, kind.mime)
    ext = _EXT_FIX.get(kind.extension, kind.extension)
    if mime == "video/mp4" and ext == "mp4" and b"M4A " in head[:32]:
        mime, ext = "audio/mp4", "m4a"
    return mime, ext


def _probe_image(path: Path, info: MediaInfo, preview: tuple[int, int] | None = None) -> None:
    """Verify the image and read its size; with ``preview``, make the thumbnail from the same decode.

    A PNG is not decoded: ``verify`` has read every chunk to ``IEND`` and checked each one's CRC,
    which refuses a truncated or corrupted file for a fraction of a full decode (0.4 ms against 3-4 ms
    for 1 MB), and leaves ``info.preview`` unset: the caller makes it (:func:`make_preview`) beside its
    other work. Other formats carry no checksums, so they are decoded, and the preview comes from that
    decode.
    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            info.width, info.height = img.size
            img.verify()
        if info.extension == "png":
            return
        with Image.open(path) as img:
            img.load()
            info.width, info.height = img.size
            if preview is not None:  # from the decode we already paid for
                info.preview = thumbnail(img, max_pixels=preview[0], max_bytes=preview[1])
    except Exception as exc:  # Pillow raises many types for broken files
        raise BadProviderResponse(f"the provider returned a broken {info.extension} image ({exc}); try again") from exc


def _probe_av(path: Path, info: MediaInfo) -> None:
    import av

    try:
        with av.open(str(path)) as container:
            vstreams = container.streams.video
            astreams = container.streams.audio
            info.has_video, info.has_audio = bool(vstreams), bool(astreams)
            if vstreams:
                info.width, info.height = vstreams[0].codec_context.width, vstreams[0].codec_context.height
            if astreams:
                info.sample_rate = astreams[0].codec_context.sample_rate
                info.channels = astreams[0].codec_context.channels
            header = float(container.duration / 1_000_000) if container.duration else None
            decoded = _decoded_duration(container)
    except Exception as exc:
        raise BadProviderResponse(
            f"the provider returned unreadable {info.extension} media ({exc}); try again"
        ) from exc
    if header and decoded is not None and decoded < header * 0.9 - 0.25:
        raise BadProviderResponse(
            f"the provider returned truncated {info.extension} media ({decoded:.1f} s of {header:.1f} s); try again"
        )
    info.duration_s = round(decoded if decoded is not None else (header or 0.0), 3) or None


def _decoded_duration(container: Any) -> float | None:
    """Seconds actually present, from packet timestamps (demux only: fast, catches truncation)."""
    end = 0.0
    streams = list(container.streams.audio or container.streams.video)[:1]
    if not streams:
        return None
    stream = streams[0]
    for packet in container.demux(stream):
        if packet.pts is None or packet.time_base is None:
            continue
        finish = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        end = max(end, finish)
    start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
    return max(end - start, 0.0)


def probe(path: Path, *, declared_mime: str | None = None, preview: tuple[int, int] | None = None) -> MediaInfo:
    """Identify and verify a media file.

    Raises:
        BadProviderResponse: unknown bytes, or a broken or truncated file.
    """
    with path.open("rb") as fh:
        head = fh.read(8192)
    found = sniff(head)
    if found is None:
        if declared_mime in _UNSNIFFABLE and head:
            return MediaInfo(mime_type=declared_mime, extension=_UNSNIFFABLE[declared_mime])
        start = head[:60].decode("utf-8", "replace").replace("\n", " ")
        raise BadProviderResponse(f"the provider returned data that is not a known media format ({start!r})")
    info = MediaInfo(mime_type=found[0], extension=found[1])
    if info.mime_type.startswith("image/"):
        _probe_image(path, info, preview)
    elif info.mime_type.startswith(("audio/", "video/")):
        _probe_av(path, info)
    return info


def _link_no_clobber(temp: Path, folder: Folder, stem: str, ext: str) -> Path:
    """Link ``temp`` (a file of ``folder``) to a free name; both names go through the descriptor."""
    fd = folder.fd
    for attempt in range(100):
        suffix = "" if attempt == 0 else f"-{attempt}"
        name = f"{stem}{suffix}.{ext}"
        try:
            os.link(temp.name, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:  # filesystems without hard links: check-then-rename (best effort)
            if exc.errno in DISK_ERRNOS - {errno.EPERM}:
                raise
            if _exists(name, fd):
                continue
            os.replace(temp.name, name, src_dir_fd=fd, dst_dir_fd=fd)
            return folder.path / name
        os.unlink(temp.name, dir_fd=fd)
        return folder.path / name
    raise InvalidRequest(f"could not find a free file name for {stem}.{ext} in {folder.path}")


def save_sidecar(folder: Folder, artifact: Path, ext: str, data: bytes) -> Path:
    """Write ``data`` atomically next to ``artifact`` (a file of ``folder``) as ``<its stem>.<ext>``
    (never over an existing file), through the folder's descriptor.

    Raises:
        InvalidRequest: a file of that name already exists.
        StorageError: the folder cannot take the file (nothing is left behind).
    """
    final = artifact.with_suffix(f".{ext}").name
    temp = new_temp(folder)
    try:
        _write_new(folder, temp, data)
        os.link(temp.name, final, src_dir_fd=folder.fd, dst_dir_fd=folder.fd, follow_symlinks=False)
    except FileExistsError as exc:
        raise InvalidRequest(f"{folder.path / final} already exists; choose another filename") from exc
    except OSError as exc:
        if exc.errno in DISK_ERRNOS:
            raise storage_error(exc, folder.path, move="pass another output_dir") from exc
        raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp.name, dir_fd=folder.fd)
    return folder.path / final


def _exists(name: str, fd: int) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def new_temp(folder: Folder, suffix: str = "") -> Path:
    """A fresh temporary name in ``folder`` (not created: the writer creates it)."""
    return folder.local(f"{TEMP_PREFIX}{secrets.token_hex(8)}{suffix}")


def _write_new(folder: Folder, path: Path, data: bytes) -> None:
    fd = os.open(path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=folder.fd)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def cleanup_temp(path: Path | None) -> None:
    """Remove a temporary file, or a temporary working directory a backend made with ``temp_file``."""
    if path is None:
        return
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def sweep_stale_temps(directory: Path, *, older_than: float = STALE_TEMP_S, now: float | None = None) -> int:
    """Remove ``.gm-partial-*`` files and working folders a crashed server left in ``directory``.

    Only ours (our exact name pattern, owned by this user, never through a symlink) and only old
    ones (untouched for ``older_than`` seconds), so another server's write in progress is safe.
    Returns how many were removed; errors are skipped (a sweep never fails a start).
    """
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if not _TEMP_NAME.match(entry.name):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if (uid is not None and info.st_uid != uid) or _last_touched(entry, info) > cutoff:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)
                elif stat.S_ISREG(info.st_mode):
                    os.unlink(entry.path)
                else:
                    continue
                removed += 1
    if removed:
        log.info("removed %d stale partial file(s) from %s", removed, directory)
    return removed


def _last_touched(entry: os.DirEntry[str], info: os.stat_result) -> float:
    """Newest mtime of a temp file, or of a temp folder and what it directly holds."""
    newest = info.st_mtime
    if stat.S_ISDIR(info.st_mode):
        with os.scandir(entry.path) as inner:
            for item in inner:
                newest = max(newest, item.stat(follow_symlinks=False).st_mtime)
    return newest


_KNOWN_SCHEME = re.compile(r"^(file|data|https?|s?ftps?|s3|gs|smb|blob|about|javascript):", re.IGNORECASE)


def check_output_dir(text: str) -> None:
    """Refuse ``output_dir`` values that are not plain paths: URIs (``file:///...``), Windows paths
    (``C:\\x``, backslashes), percent-encoded separators (``%2f``), control or invisible characters,
    and look-alikes of path characters (full-width ``．``, ``／``...) that would silently become odd
    folder names.

    Raises:
        InvalidRequest: naming the character and what to type instead.
    """
    if "://" in text or re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", text) or _KNOWN_SCHEME.match(text):
        raise InvalidRequest(
            f"output_dir={text[:80]!r} is a URI; give a plain folder path such as 'renders' or '/abs/renders'"
        )
    if "\\" in text or re.match(r"^[A-Za-z]:([/\\]|$)", text):
        raise InvalidRequest(
            f"output_dir={text[:80]!r} is a Windows path; this server separates folders with '/' (e.g. 'renders/sub')"
        )
    if encoded := _ENCODED_SEPARATOR.search(text):
        raise InvalidRequest(
            f"output_dir contains {encoded.group()!r}, a percent-encoded path character; type the plain character"
        )
    for char in text:
        if unicodedata.category(char).startswith("C"):
            raise InvalidRequest(f"output_dir contains the control or invisible character U+{ord(char):04X}; remove it")
        plain = unicodedata.normalize("NFKC", char)
        if plain != char and any(c in "./\\:~" for c in plain):
            raise InvalidRequest(
                f"output_dir contains {char!r} (U+{ord(char):04X}), a look-alike of {plain!r}; type a plain {plain!r}"
            )


@contextlib.contextmanager
def writing(directory: Path) -> Iterator[None]:
    """A disk failure while a backend streams into the output folder (or its file is saved) says
    which folder and what happened, instead of surfacing as an internal error."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        raise storage_error(exc, directory, move="pass another output_dir") from exc


def save_artifact(
    *,
    folder: Folder,
    data: bytes | None = None,
    temp: Path | None = None,
    prompt: str,
    filename: str | None,
    index: int | None,
    expect: tuple[str, ...],
    declared_mime: str | None = None,
    clock: Any = time,
    preview: tuple[int, int] | None = None,
) -> SavedFile:
    """Write one artifact atomically under a readable, unique name with its real extension.

    ``expect`` is the accepted MIME prefixes (``("image/",)``). Either ``data`` or a ``temp`` file
    already streamed inside ``folder`` is given.

    Raises:
        BadProviderResponse: the bytes are not the expected kind of media, or are broken.
        StorageError: the folder cannot take the file (nothing is left behind).
    """
    if temp is None and not data:
        raise BadProviderResponse("the provider returned an empty file; try again")
    try:
        if temp is None:
            temp = new_temp(folder)
            _write_new(folder, temp, data or b"")
        info = probe(temp, declared_mime=declared_mime, preview=preview)
        if not info.mime_type.startswith(expect):
            wanted = " or ".join(e.rstrip("/") for e in expect)
            raise BadProviderResponse(f"the provider returned {info.mime_type} where {wanted} was expected")
        if filename:
            stem = _safe_stem(filename)
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock.time()))
            stem = f"{slugify(prompt)}_{stamp}_{secrets.token_hex(3)}"
        if index is not None:
            stem = f"{stem}_{index + 1:02d}"
        size = temp.stat().st_size
        final = _link_no_clobber(temp, folder, stem, info.extension)
        folder.still_there(final.name)
    except BaseException as exc:
        cleanup_temp(temp)
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            raise storage_error(exc, folder.path, move="pass another output_dir") from exc
        raise
    return SavedFile(path=final, info=info, size_bytes=size)


def make_preview(
    source: Path | bytes, *, max_pixels: int = 256, max_bytes: int = 48 * 1024
) -> tuple[bytes, str] | None:
    """A small JPEG/PNG thumbnail of an image file (or its bytes) under ``max_bytes`` (None if it
    cannot be made that small)."""
    from PIL import Image

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
        img.draft("RGB", (max_pixels * 2, max_pixels * 2))  # JPEG: decode at reduced scale
        # The whole file to the decoder at once rather than in 64 KiB reads: each read comes back to
        # Python for the interpreter lock, which the event loop's thread holds for up to 5 ms at a time.
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        img.decodermaxblock = max(img.decodermaxblock, min(size, 1 << 24))
        return thumbnail(img, max_pixels=max_pixels, max_bytes=max_bytes)


def thumbnail(img: Any, *, max_pixels: int, max_bytes: int) -> tuple[bytes, str] | None:
    """Shrink a decoded PIL image to at most ``max_pixels`` a side and encode it under ``max_bytes``.

    The shrink is a box average by a whole factor (``Image.reduce``: each preview pixel the mean of a
    block), so the side lands between half of ``max_pixels`` and all of it (1024 px: 256; 577 px: 193).
    A resample to exactly ``max_pixels`` cost 2.5 ms more for a 1 MB image, a third of the preview."""
    has_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
    if img.mode not in ("RGB", "RGBA", "L", "LA"):  # palette, CMYK, 16-bit: what reduce takes
        img = img.convert("RGBA" if has_alpha else "RGB")
    factor = -(-max(img.size) // max_pixels)
    if factor > 1:
        img = img.reduce(factor)
    for side in (max_pixels, max_pixels * 3 // 4, max_pixels // 2, max_pixels // 4):
        thumb = img.copy()
        thumb.thumbnail((side, side))
        buf = io.BytesIO()
        if has_alpha:
            thumb.convert("RGBA").save(buf, "PNG")
            mime = "image/png"
        else:
            thumb.convert("RGB").save(buf, "JPEG", quality=70)
            mime = "image/jpeg"
        if buf.tell() <= max_bytes:
            return buf.getvalue(), mime
    return None
