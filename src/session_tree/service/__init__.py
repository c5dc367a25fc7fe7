"""The behaviour: sessions, turns, forks, streams, approvals. Knows nothing of MCP."""

from ._loopback import Loopback, PermitResult, SessionPermits
from ._render import RenderedMessage, node_block, render
from ._results import (
    ChatResult,
    DeleteResult,
    InterruptResult,
    LoopbackConfig,
    PendingApproval,
    PendingList,
    PollResult,
    RenderResult,
    SessionInfo,
    StreamList,
    ToolCallSummary,
    TreeResult,
)
from ._service import AskHuman, HumanAnswer, SessionService, check_name
from ._settings import LOOPBACK_TOKEN_VAR, SERVER_NAME, Settings, default_db_path

__all__ = [
    "LOOPBACK_TOKEN_VAR",
    "SERVER_NAME",
    "AskHuman",
    "ChatResult",
    "DeleteResult",
    "HumanAnswer",
    "InterruptResult",
    "Loopback",
    "LoopbackConfig",
    "PendingApproval",
    "PendingList",
    "PermitResult",
    "PollResult",
    "RenderResult",
    "RenderedMessage",
    "SessionInfo",
    "SessionPermits",
    "SessionService",
    "Settings",
    "StreamList",
    "ToolCallSummary",
    "TreeResult",
    "check_name",
    "default_db_path",
    "node_block",
    "render",
]
