"""The database file on disk, before SQLite opens it: its modes and its header.

Transcripts and loopback tokens live in this file, so it is private to its
owner: the directory session-tree creates for it is 0700, the file 0600, and
SQLite gives the ``-wal`` and ``-shm`` files it creates the database file's mode.
SQLite alone would create the file 0644 (less the umask), so session-tree
creates it first. A file of ours left readable by others (by an earlier
version) is tightened on open: group and other bits are dropped, the owner's
are kept (a file made read-only stays read-only). A file owned by someone else
is left alone.

The header (the first 100 bytes) tells a damaged file of ours from a stranger's
file: SQLite says "file is not a database" for both.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..errors import NotASessionTreeDatabase
from ._migrations import APPLICATION_ID

DIRECTORY_MODE: Final = 0o700
FILE_MODE: Final = 0o600
SIDE_FILES: Final = ("-wal", "-shm")
_MAGIC: Final = b"SQLite format 3\x00"


def is_on_disk(path: str) -> bool:
    """False for SQLite's in-memory and URI names, which have no file of ours to prepare."""
    return path not in ("", ":memory:") and not path.startswith("file:")


def prepare(path: str) -> None:
    """Create the missing directories (0700) and the file (0600); tighten a loose one."""
    target = Path(path)
    if target.is_dir():
        raise NotASessionTreeDatabase(path, "it is a directory")
    _make_directories(target.parent)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass  # ours to tighten below, or another process created it a moment ago
    else:
        try:
            os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
        finally:
            os.close(fd)
    for name in (path, *(path + suffix for suffix in SIDE_FILES)):
        _tighten(name)


def _make_directories(directory: Path) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=DIRECTORY_MODE)
            # mkdir's mode passes through the umask; set it exactly.
            created.chmod(DIRECTORY_MODE)


def _tighten(name: str) -> None:
    try:
        info = os.stat(name)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        # A read-only file system or the like: the open goes on, as loose as before.
        with contextlib.suppress(OSError):
            os.chmod(name, mode & ~0o077)


@dataclass(frozen=True)
class Header:
    """What the first 100 bytes of a SQLite file say about it."""

    application_id: int
    page_size: int
    page_count: int | None  # None where SQLite would not trust it either

    @property
    def ours(self) -> bool:
        return self.application_id == APPLICATION_ID


def read_header(path: str) -> Header | None:
    """The file's SQLite header, or None for a missing, empty or non-SQLite file."""
    try:
        with open(path, "rb") as file:
            raw = file.read(100)
    except OSError:
        return None
    if len(raw) < 100 or not raw.startswith(_MAGIC):
        return None
    page_size = int.from_bytes(raw[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    count = int.from_bytes(raw[28:32], "big")
    # SQLite trusts the in-header size only when the change counter (offset 24)
    # matches the version-valid-for number (offset 92).
    valid = count > 0 and raw[24:28] == raw[92:96]
    return Header(
        application_id=int.from_bytes(raw[68:72], "big"),
        page_size=page_size,
        page_count=count if valid else None,
    )


def truncation(path: str, header: Header) -> str | None:
    """How the file falls short of the size its header gives, or None if it does not.

    Only judged with no WAL beside it: a WAL may hold pages the file does not
    have yet, and SQLite itself then decides.
    """
    if header.page_count is None:
        return None
    with contextlib.suppress(OSError):
        if os.path.getsize(path + "-wal") > 0:
            return None
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    expected = header.page_count * header.page_size
    if size >= expected:
        return None
    return f"truncated: {size} bytes of the {expected} its header records"
