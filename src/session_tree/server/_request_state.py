"""The key that seals a 2026-07-28 ``requestState``, kept in the database.

An ``input_required`` chat hands the client a sealed request state, and the
client's retry brings it back. The SDK's default key lives in one process, so
a retry that reached a restarted server could not be read and failed. Sealed
under the database's own key (made once, kept in its ``secrets`` table), the
retry of any server on that database is read, and answered from the stored
turn: it goes on, or says how it ended.
"""

from __future__ import annotations

from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState

SECRET_NAME = "request-state"


class DatabaseKeyCodec:
    """AES-256-GCM (the SDK's own codec) under a key the lifespan hands over once the store is
    open, before the server reads its first request."""

    def __init__(self) -> None:
        self._codec: AESGCMRequestStateCodec | None = None

    def use(self, key: bytes) -> None:
        self._codec = AESGCMRequestStateCodec([key])

    def seal(self, payload: bytes) -> str:
        return self._ready().seal(payload)

    def unseal(self, token: str) -> bytes:
        return self._ready().unseal(token)

    def _ready(self) -> AESGCMRequestStateCodec:
        if self._codec is None:
            raise InvalidRequestState("no_key_yet")
        return self._codec


__all__ = ["SECRET_NAME", "DatabaseKeyCodec"]
