"""Child agents: Claude Code processes driven through claude-agent-sdk.

The only layer that imports the SDK, and it knows nothing of MCP. The service
asks the pool for a child (a :class:`ChildSpec`), hands it a prompt, and reads
the turn back as our own items (:mod:`._items`); a tool call the child wants to
make reaches the service as a :class:`ToolCall`, answered :class:`Allow` or
:class:`Deny`.
"""

from ._child import Child, ChildState, TurnItems
from ._claude_paths import cli_version, project_key
from ._items import Block, Delta, Item, Note, Result
from ._launcher import PARENT_WATCH_VAR, checked_claude_binary, claude_binary
from ._options import ResumePoint, clean_environment
from ._permissions import Allow, AskPermission, Deny, ToolCall
from ._pool import ChildPool, ChildSpec
from ._session_store import MirrorSessionStore

__all__ = [
    "PARENT_WATCH_VAR",
    "Allow",
    "AskPermission",
    "Block",
    "Child",
    "ChildPool",
    "ChildSpec",
    "ChildState",
    "Delta",
    "Deny",
    "Item",
    "MirrorSessionStore",
    "Note",
    "Result",
    "ResumePoint",
    "ToolCall",
    "TurnItems",
    "checked_claude_binary",
    "claude_binary",
    "clean_environment",
    "cli_version",
    "project_key",
]
