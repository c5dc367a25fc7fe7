"""Named, ordered schema migrations, recorded in the ``migrations`` table.

Each migration is a file in ``migrations/`` named ``NNNN_what.sql``, applied in
the order of their names, each in the transaction that records it. Add a new
file with the next number; never edit, rename or reorder one that has shipped
(a database records migrations by name). A database from any earlier version
opens and upgrades; a database that records a migration this version does not
know was written by a newer session-tree and is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

# Marks the file as ours (PRAGMA application_id), so a stranger's SQLite file
# is recognised before anything is written to it. "STre" in ASCII.
APPLICATION_ID: Final = 0x53547265

_DIRECTORY = Path(__file__).with_name("migrations")

MIGRATIONS: Final[list[tuple[str, str]]] = [
    (path.stem, path.read_text(encoding="utf-8")) for path in sorted(_DIRECTORY.glob("*.sql"))
]


def statements(sql: str) -> list[str]:
    """The statements of a migration, in order. A semicolon ends a statement only
    where SQLite says one is complete, so a trigger's body (``BEGIN ...; END``)
    and a semicolon in a comment or a string stay whole."""
    found: list[str] = []
    current = ""
    pieces = sql.split(";")
    for number, piece in enumerate(pieces, 1):
        current += piece if number == len(pieces) else piece + ";"
        if number == len(pieces) or sqlite3.complete_statement(current):
            if _has_code(current):
                found.append(current.strip())
            current = ""
    return found


def _has_code(sql: str) -> bool:
    """Whether ``sql`` holds more than comments, white space and semicolons."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return bool(code.replace(";", "").strip())


__all__ = ["APPLICATION_ID", "MIGRATIONS", "statements"]
