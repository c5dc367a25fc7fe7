"""The permit-only service: what an outside Claude Code's ``loopback_permit`` reaches.

A Claude Code started outside session-tree (from ``loopback_config``'s MCP
config) runs a session-tree server of its own, holding one session's loopback
token. That server serves only permission requests, on behalf of that one
session: it can ask, never decide, starts no children and ends no turns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..models import JSONObject
from ..store import Store
from ._loopback import Loopback, PermitResult
from ._settings import Settings


class SessionPermits:
    """Every call asks on behalf of the session ``token`` belongs to."""

    def __init__(self, loopback: Loopback, token: str) -> None:
        self.loopback = loopback
        self._token = token

    async def permit(
        self, tool_name: str, tool_input: JSONObject, tool_use_id: str | None
    ) -> PermitResult:
        # Looked up on every call: the session may have been renamed, reconfigured or deleted.
        session = await self.loopback.store.sessions.by_loopback_token(self._token)
        if not session.config.loopback:
            return PermitResult.deny(
                f"Loopback is off for session {session.name!r}; the parent can switch it on "
                "with configure(loopback=true)."
            )
        return await self.loopback.ask(
            session.name, tool_name=tool_name, tool_input=tool_input, tool_use_id=tool_use_id
        )


@asynccontextmanager
async def open_permits(settings: Settings, token: str) -> AsyncIterator[SessionPermits]:
    """The permits of ``token``'s session, for the length of a block; a token that
    belongs to no session fails here, at start."""
    async with Store.open(settings.db_path, synchronous=settings.synchronous) as store:
        await store.sessions.by_loopback_token(token)
        yield SessionPermits(Loopback(store), token)
