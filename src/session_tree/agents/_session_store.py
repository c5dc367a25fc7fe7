"""The Agent SDK's ``SessionStore``, over the store's transcript mirror.

The store keeps transcripts as opaque entries and knows nothing of the SDK;
this adapter is where the SDK's protocol types and its summary fold meet it.
"""

from __future__ import annotations

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

from ..store import TranscriptKey, TranscriptMirror, TranscriptSummary


class MirrorSessionStore(SessionStore):
    """A ``SessionStore`` over the session-tree database. Implements every optional method."""

    def __init__(self, mirror: TranscriptMirror) -> None:
        self.mirror = mirror

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        def fold(previous: TranscriptSummary | None) -> TranscriptSummary:
            return fold_session_summary(previous, key, entries)

        await self.mirror.append(
            _key(key), [dict(entry) for entry in entries], fold=None if key.get("subpath") else fold
        )

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
