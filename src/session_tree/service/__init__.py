"""The behaviour: sessions, turns, forks, streams. Knows nothing of MCP."""

from ._render import RenderedMessage, render
from ._results import (
    ChatResult,
    DeleteResult,
    InterruptResult,
    PollResult,
    RenderResult,
    SessionInfo,
    StreamList,
    ToolCallSummary,
    TreeResult,
)
from ._service import SessionService
from ._settings import Settings, default_db_path

__all__ = [
    "ChatResult",
    "DeleteResult",
    "InterruptResult",
    "PollResult",
    "RenderResult",
    "RenderedMessage",
    "SessionInfo",
    "SessionService",
    "Settings",
    "StreamList",
    "ToolCallSummary",
    "TreeResult",
    "default_db_path",
    "render",
]
