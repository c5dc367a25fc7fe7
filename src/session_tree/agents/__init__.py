"""Child agents: Claude Code processes driven through claude-agent-sdk.

Knows nothing of MCP. The service asks the pool for a child, hands it a
prompt, and reads the turn's SDK messages back.
"""

from ._child import Child
from ._launcher import checked_claude_binary, claude_binary
from ._options import ResumePoint, build_options, clean_environment
from ._pool import ChildPool

__all__ = [
    "Child",
    "ChildPool",
    "ResumePoint",
    "build_options",
    "checked_claude_binary",
    "claude_binary",
    "clean_environment",
]
