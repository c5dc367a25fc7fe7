"""Named random keys, made once per database and kept for its life.

Whoever can read the file reads every turn anyway, so a key here protects
what leaves the process (an id handed to a client), not the file itself.
"""

from __future__ import annotations

import secrets

from ._database import now, reads
from ._sql import Database

KEY_BYTES = 32
KEEP_FIRST = "INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?, ?, ?)"


class Secrets:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_or_create(self, name: str) -> bytes:
        """The key called ``name``; the first caller makes it (one per database, never changed)."""
        row = await self._db.one("SELECT value FROM secrets WHERE name = ?", (name,))
        if row is not None:
            return bytes(row["value"])
        async with self._db.write() as conn:
            # Two servers starting at once: the first insert wins, both read it back.
            await conn.execute(
                KEEP_FIRST,
                (name, secrets.token_bytes(KEY_BYTES), now()),
            )
            kept = await reads(conn).one("SELECT value FROM secrets WHERE name = ?", (name,))
        assert kept is not None
        return bytes(kept["value"])


__all__ = ["Secrets"]
