"""The behaviour: sessions, turns, forks, streams, approvals. Knows nothing of MCP.

Front ends reach it through two doors: :class:`SessionService` (a server: the
store, the children and the running turns) and :func:`open_library` (reads and
transcripts, with no children: the command line), and :func:`open_supervisor`
(reads, turns' streams and approval decisions, with no children: the browser view).
"""

from ._branches import branch
from ._chat import AskHuman, HumanAnswer, OnProgress
from ._checks import check_name
from ._jsonl import Export, claude_config_dir, project_dir_name
from ._library import Library, SessionOverview, open_library
from ._loopback import Loopback, PermitResult
from ._permits import SessionPermits, open_permits
from ._render import RenderedMessage, node_block, render
from ._results import (
    BranchUsage,
    ChatResult,
    ClaudeSession,
    ClaudeSessionList,
    ContextUse,
    DeleteResult,
    ExportResult,
    ImportResult,
    InterruptResult,
    ListOrder,
    PendingApproval,
    PendingList,
    PollResult,
    RenderResult,
    SearchHit,
    SearchResult,
    SessionInfo,
    SessionState,
    StreamList,
    StreamView,
    ToolCallSummary,
    TreeResult,
)
from ._running import RunningTurn, TurnState
from ._search import SessionFilter
from ._service import SessionService
from ._settings import LOOPBACK_TOKEN_VAR, Settings, default_db_path
from ._summaries import summary_node
from ._supervisor import Supervisor, open_supervisor, turn_status
from ._tasks import TaskIds
from ._transcripts import Imported, export_branch, import_transcript
from ._workspace_changes import (
    ApplyResult,
    DiffAgainst,
    FileChange,
    WorkspaceChanges,
    WorkspaceDiff,
)
from ._workspaces import Workspaces, workspaces_dir

__all__ = [
    "LOOPBACK_TOKEN_VAR",
    "ApplyResult",
    "AskHuman",
    "BranchUsage",
    "ChatResult",
    "ClaudeSession",
    "ClaudeSessionList",
    "ContextUse",
    "DeleteResult",
    "DiffAgainst",
    "Export",
    "ExportResult",
    "FileChange",
    "HumanAnswer",
    "ImportResult",
    "Imported",
    "InterruptResult",
    "Library",
    "ListOrder",
    "Loopback",
    "OnProgress",
    "PendingApproval",
    "PendingList",
    "PermitResult",
    "PollResult",
    "RenderResult",
    "RenderedMessage",
    "RunningTurn",
    "SearchHit",
    "SearchResult",
    "SessionFilter",
    "SessionInfo",
    "SessionOverview",
    "SessionPermits",
    "SessionService",
    "SessionState",
    "Settings",
    "StreamList",
    "StreamView",
    "Supervisor",
    "TaskIds",
    "ToolCallSummary",
    "TreeResult",
    "TurnState",
    "WorkspaceChanges",
    "WorkspaceDiff",
    "Workspaces",
    "branch",
    "check_name",
    "claude_config_dir",
    "default_db_path",
    "export_branch",
    "import_transcript",
    "node_block",
    "open_library",
    "open_permits",
    "open_supervisor",
    "project_dir_name",
    "render",
    "summary_node",
    "turn_status",
    "workspaces_dir",
]
