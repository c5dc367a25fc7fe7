"""Server settings, from flags and ``SESSION_TREE_*`` environment variables.

A setting is checked where it is read, so that a bad one stops the server with
one line naming the variable, its value and what it may be (a
:class:`~session_tree.errors.SettingsError`), before anything is opened. Paths
are made absolute here: a relative ``SESSION_TREE_DB`` means the same file
however the server is reached later (``loopback_config`` hands it to other
processes, which run elsewhere).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..errors import SettingsError
from ..store import NODE_CACHE_MB, Synchronous, is_postgres_url

# Set in an outside Claude Code's MCP config: this server then serves only
# loopback_permit, on behalf of the session the token belongs to.
LOOPBACK_TOKEN_VAR = "SESSION_TREE_LOOPBACK_TOKEN"

# Each setting's variable, and what it may be (the end of "it must be ...").
_VARIABLES = {
    "db_path": "SESSION_TREE_DB",
    "synchronous": "SESSION_TREE_SYNCHRONOUS",
    "chat_wait_s": "SESSION_TREE_CHAT_WAIT_S",
    "max_children": "SESSION_TREE_MAX_CHILDREN",
    "idle_timeout_s": "SESSION_TREE_IDLE_TIMEOUT_S",
    "max_db_mb": "SESSION_TREE_MAX_DB_MB",
    "peer_check_s": "SESSION_TREE_PEER_CHECK_S",
    "lease_s": "SESSION_TREE_LEASE_S",
    "host": "SESSION_TREE_HOST",
    "node_cache_mb": "SESSION_TREE_NODE_CACHE_MB",
    "loopback_token": LOOPBACK_TOKEN_VAR,
}
_ALLOWED = {
    "db_path": "the path of a database file (a new one or a session-tree database) or a "
    "postgresql:// URL; not a directory",
    "synchronous": "NORMAL or FULL (SQLite's synchronous mode; FULL also survives power loss)",
    "chat_wait_s": "a number of seconds greater than 0 (the longest a blocking chat waits)",
    "max_children": "a whole number, 1 or more (the most warm children at once)",
    "idle_timeout_s": "a number of seconds, 0 or more (close a child idle this long)",
    "max_db_mb": "a number of MiB, 0 or more (the cap on the database's size; 0: no cap)",
    "peer_check_s": "a number of seconds, 0 or more (how often to look for turns of servers "
    "that are gone; 0: only at start)",
    "lease_s": "a number of seconds, 1 or more (how long a server's lease lasts unrenewed; "
    "it is renewed every third of that)",
    "host": "a host name without '/' (this server's host identity in its lease)",
    "node_cache_mb": "a number of MiB, 0 or more (the most memory nodes already read may "
    "hold, for deep branches; 0: keep none)",
    "loopback_token": "a loopback token, as loopback_config hands out",
}
# Settings given as command-line flags rather than variables, by their flag.
_FLAGS = {"db_path": "--db"}


def default_db_path() -> Path:
    """The embedded default: under the user's data directory (XDG on Linux)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "session-tree" / "session-tree.db"


class Settings(BaseModel):
    # A SQLite file, or a PostgreSQL database's postgresql:// URL (kept as given).
    db_path: Path | str = Field(default_factory=default_db_path)
    synchronous: Synchronous = "NORMAL"
    chat_wait_s: float = Field(
        default=45.0, gt=0, allow_inf_nan=False, description="longest a blocking chat waits"
    )
    max_children: int = Field(default=8, ge=1, description="warm children at once")
    idle_timeout_s: float = Field(
        default=600.0, ge=0, allow_inf_nan=False, description="close a child idle this long"
    )
    max_db_mb: float = Field(
        default=0,
        ge=0,
        allow_inf_nan=False,
        description="cap on the database file's size in MiB (0: no cap)",
    )
    peer_check_s: float = Field(
        default=2.0,
        ge=0,
        allow_inf_nan=False,
        description="look for turns of servers that are gone this often (0: only at start)",
    )
    lease_s: float = Field(
        default=15.0,
        ge=1,
        allow_inf_nan=False,
        description="a server's lease lasts this long unrenewed; renewed every third of it",
    )
    host: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        pattern=r"^[^/]+$",
        description="this server's host identity (its lease; the same-host check of peers)",
    )
    node_cache_mb: float = Field(
        default=NODE_CACHE_MB,
        ge=0,
        allow_inf_nan=False,
        description="most memory in MiB the nodes already read may hold (0: none)",
    )
    loopback_token: str | None = Field(
        default=None, description="serve only loopback_permit, for the session with this token"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(
        cls, data: Any, handler: ModelWrapValidatorHandler[Settings], info: ValidationInfo
    ) -> Settings:
        """Any bad value becomes a SettingsError naming where it came from."""
        try:
            return handler(data)
        except ValidationError as exc:
            detail = exc.errors(include_url=False)[0]
            field = str(detail["loc"][0]) if detail["loc"] else "db_path"
            flags = (info.context or {}).get("flags", ())
            name = _FLAGS[field] if field in flags else _VARIABLES.get(field, field)
            value = data.get(field, detail.get("input")) if isinstance(data, dict) else None
            allowed = _ALLOWED.get(field, detail["msg"])
            if detail["type"] == "value_error":  # one of ours below: say which problem
                allowed += f"; this one {detail.get('ctx', {}).get('error', detail['msg'])}"
            raise SettingsError(name, value, allowed) from None

    @field_validator("db_path", mode="before")
    @classmethod
    def _url_or_path(cls, value: object) -> object:
        if isinstance(value, str) and not is_postgres_url(value):
            return Path(value)
        return value

    @field_validator("db_path")
    @classmethod
    def _absolute_file(cls, path: Path | str) -> Path | str:
        if isinstance(path, str):
            return path  # a postgresql:// URL: the server checks it by connecting
        # "~" is expanded: MCP configs and quoted shell values never expand it.
        absolute = Path(os.path.abspath(os.path.expanduser(path)))
        if absolute.is_dir():
            raise ValueError("is a directory")
        if absolute.parent.exists() and not absolute.parent.is_dir():
            raise ValueError(f"is inside {absolute.parent}, which is a file")
        return absolute

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment; ``overrides`` (flags, when given) win.

        Raises :class:`SettingsError` for a value it cannot use."""
        values: dict[str, object] = {}
        env = os.environ
        for field, variable in _VARIABLES.items():
            if env.get(variable) if field == "loopback_token" else variable in env:
                values[field] = env[variable]
        if isinstance(values.get("synchronous"), str):
            values["synchronous"] = str(values["synchronous"]).upper()
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        # The context says which came from flags, so that an error names the flag.
        return cls.model_validate(values, context={"flags": set(given)})
