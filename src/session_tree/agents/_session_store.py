"""The Agent SDK's ``SessionStore``, over the store's transcript mirror.

The store keeps transcripts as opaque entries and knows nothing of the SDK;
this adapter is where the SDK's protocol types and its summary fold meet it.

While a turn runs, appends are held rather than written: the SDK hands over
what the child's transcript gained just before it yields the turn's result,
and waits for the write, so a transaction of their own would sit between the
result and the turn's end. Held, they go into the turn's next write instead
(``Turns.record``, or ``Turns.finish`` with the result), and whatever is left
when the turn is over is written on its own (:meth:`MirrorSessionStore.release`).
The SDK's own batching already keeps a turn's entries in memory until its
result; holding adds the moment between the result and its turn's end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from claude_agent_sdk import fold_session_summary
from claude_agent_sdk.types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)

from ..store import TranscriptAppend, TranscriptKey, TranscriptMirror, TranscriptSummary

log = logging.getLogger("session_tree.child")


class MirrorSessionStore(SessionStore):
    """A ``SessionStore`` over the session-tree database. Implements every optional method."""

    def __init__(self, mirror: TranscriptMirror) -> None:
        self.mirror = mirror
        # Appends waiting for a turn's write, while a turn holds them.
        self._held: list[TranscriptAppend] = []
        # Turns holding (a turn's next may start before the last has let go).
        self._holders = 0

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        def fold(previous: TranscriptSummary | None) -> TranscriptSummary:
            return fold_session_summary(previous, key, entries)

        append = TranscriptAppend(
            _key(key), [dict(entry) for entry in entries], None if key.get("subpath") else fold
        )
        if self._holders:
            self._held.append(append)
        else:
            await self.mirror.append_all([append])

    def hold(self) -> None:
        """Hold appends from now on, for the turn's writes to take (:meth:`taken`),
        until :meth:`release`."""
        self._holders += 1

    @contextmanager
    def taken(self) -> Iterator[list[TranscriptAppend]]:
        """The appends held so far, for one write to store; held again if it fails."""
        taken, self._held = self._held, []
        try:
            yield taken
        except BaseException:
            self._held[:0] = taken
            raise

    async def release(self) -> None:
        """Stop holding; once no turn holds, write what is still held, in one
        transaction. A failure is logged, not raised, as the SDK does with an
        append that keeps failing: the turn's outcome is the news."""
        self._holders -= 1
        if self._holders or not self._held:
            return
        try:
            with self.taken() as appends:
                await self.mirror.append_all(appends)
        except Exception:
            log.exception("could not mirror %d transcript appends", len(self._held))
            self._held.clear()

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        entries = await self.mirror.load(_key(key))
        if entries is None and not key.get("subpath") and not await self.mirror.known(_key(key)):
            # Claude keys transcripts by working directory; a session moved to another
            # (configure cwd) resumes a Claude session kept under its old one. Session
            # ids are UUIDs: the same id under another project is the same conversation.
            # A key whose transcript was deleted stays deleted.
            for project_key in await self.mirror.sessions_with_id(key["session_id"]):
                moved: TranscriptKey = {"project_key": project_key, "session_id": key["session_id"]}
                entries = await self.mirror.load(moved)
                if entries is not None:
                    break
        return None if entries is None else [cast(SessionStoreEntry, entry) for entry in entries]

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        return list(await self.mirror.list_sessions(project_key))

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        return list(await self.mirror.list_session_summaries(project_key))

    async def delete(self, key: SessionKey) -> None:
        await self.mirror.delete(_key(key))

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        return await self.mirror.list_subkeys(
            {"project_key": key["project_key"], "session_id": key["session_id"]}
        )


def _key(key: SessionKey) -> TranscriptKey:
    found: TranscriptKey = {"project_key": key["project_key"], "session_id": key["session_id"]}
    if subpath := key.get("subpath"):
        found["subpath"] = subpath
    return found
