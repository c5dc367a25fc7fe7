"""Server settings, from flags and ``SESSION_TREE_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from ..store import Synchronous

# The name session-tree goes by in MCP configs; Claude Code names the permit
# tool after it: mcp__session-tree__loopback_permit.
SERVER_NAME = "session-tree"
# Set in an outside Claude Code's MCP config: this server then serves only
# loopback_permit, on behalf of the session the token belongs to.
LOOPBACK_TOKEN_VAR = "SESSION_TREE_LOOPBACK_TOKEN"


def default_db_path() -> Path:
    """The embedded default: under the user's data directory (XDG on Linux)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "session-tree" / "session-tree.db"


class Settings(BaseModel):
    db_path: Path = Field(default_factory=default_db_path)
    synchronous: Synchronous = "NORMAL"
    chat_wait_s: float = Field(default=45.0, gt=0, description="longest a blocking chat waits")
    max_children: int = Field(default=8, ge=1, description="warm children at once")
    idle_timeout_s: float = Field(default=600.0, ge=0, description="close a child idle this long")
    max_db_mb: float = Field(
        default=0, ge=0, description="cap on the database file's size in MiB (0: no cap)"
    )
    loopback_token: str | None = Field(
        default=None, description="serve only loopback_permit, for the session with this token"
    )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        env = os.environ
        if "SESSION_TREE_DB" in env:
            values["db_path"] = env["SESSION_TREE_DB"]
        if "SESSION_TREE_SYNCHRONOUS" in env:
            values["synchronous"] = env["SESSION_TREE_SYNCHRONOUS"].upper()
        if "SESSION_TREE_CHAT_WAIT_S" in env:
            values["chat_wait_s"] = env["SESSION_TREE_CHAT_WAIT_S"]
        if "SESSION_TREE_MAX_CHILDREN" in env:
            values["max_children"] = env["SESSION_TREE_MAX_CHILDREN"]
        if env.get(LOOPBACK_TOKEN_VAR):
            values["loopback_token"] = env[LOOPBACK_TOKEN_VAR]
        if "SESSION_TREE_MAX_DB_MB" in env:
            values["max_db_mb"] = env["SESSION_TREE_MAX_DB_MB"]
        if "SESSION_TREE_IDLE_TIMEOUT_S" in env:
            values["idle_timeout_s"] = env["SESSION_TREE_IDLE_TIMEOUT_S"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
