"""What SQLite's errors say about the database file: damaged, unwritable, or locked."""

from __future__ import annotations

import sqlite3
from typing import Final

from ..errors import DatabaseCorrupt, NotASessionTreeDatabase

# SQLite's primary result codes.
SQLITE_BUSY: Final = 5
SQLITE_INTERRUPT: Final = 9
SQLITE_CORRUPT: Final = 11
SQLITE_NOTADB: Final = 26


def is_unwritable(exc: sqlite3.Error) -> bool:
    """SQLITE_READONLY, SQLITE_FULL and disk I/O errors: the file, not the statement."""
    if is_corrupt(exc):
        return False  # "database disk image is malformed" is damage, not a full disk
    message = str(exc)
    return "readonly" in message or "disk" in message or "full" in message


def is_corrupt(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT (with its extended codes) or SQLITE_NOTADB."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY (with its extended codes): another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == SQLITE_BUSY


def detail(exc: sqlite3.Error) -> str:
    return str(exc)


def refusal(path: str, exc: sqlite3.DatabaseError, *, ours: bool) -> Exception:
    """Why a file cannot be opened: damaged (SQLite says so, or it says "not a
    database" of a file whose header is ours) or not ours at all."""
    code = exc.sqlite_errorcode & 0xFF
    if code == SQLITE_CORRUPT or (code == SQLITE_NOTADB and ours):
        return DatabaseCorrupt(path, detail(exc), opening=True)
    return NotASessionTreeDatabase(path, str(exc))
