"""Task ids for turns: each names its stream, and only this database can make one.

A turn served as a task (the Tasks extension of MCP 2026-07-28) has no state
of its own: its status is its stream's, which is stored, so a restarted
server answers for it. The id is ``<stream id>-<tag>``, the tag an HMAC of the
stream id under a key kept in the database: a client cannot guess the id of
another turn from its own, and no table of tasks is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ..errors import TaskNotFound

SECRET_NAME = "task-ids"
# 128 bits of tag: far past what anyone could enumerate.
_TAG_BYTES = 16
_SHAPE = re.compile(r"([1-9][0-9]{0,18})-([A-Za-z0-9_-]{22})")


class TaskIds:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def mint(self, stream_id: int) -> str:
        """The task id of a stream's turn (the same every time, on every server of the database)."""
        return f"{stream_id}-{self._tag(stream_id)}"

    def stream_of(self, task_id: str) -> int:
        """The stream a task id names; TaskNotFound for any id not minted here."""
        shape = _SHAPE.fullmatch(task_id)
        if shape is None:
            raise TaskNotFound(task_id)
        stream_id = int(shape[1])
        if not hmac.compare_digest(shape[2], self._tag(stream_id)):
            raise TaskNotFound(task_id)
        return stream_id

    def _tag(self, stream_id: int) -> str:
        digest = hmac.new(self._key, f"task:{stream_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_TAG_BYTES]).decode().rstrip("=")


__all__ = ["SECRET_NAME", "TaskIds"]
