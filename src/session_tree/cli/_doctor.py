"""``session-tree doctor``: is this machine ready to run children?

Each check prints one line, ``ok`` or ``FAIL`` with the fix; the exit status is
the number of failures (0: ready). Credentials are reported by where they come
from, never by value.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from .. import __version__
from ..agents import checked_claude_binary
from ..errors import SessionTreeError
from ..service import Settings, open_library

# Where Claude Code finds credentials, in the order it looks (the server's
# children inherit its environment).
_CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
_CLOUD_VARS = ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _claude() -> Check:
    try:
        binary = checked_claude_binary()
    except SessionTreeError as exc:
        return Check("claude binary", False, str(exc))
    try:
        done = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("claude binary", False, f"{binary} does not run: {exc}")
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()[-300:]
        return Check("claude binary", False, f"{binary} --version failed: {said}")
    return Check("claude binary", True, f"{binary} ({done.stdout.strip()})")


def _credentials() -> Check:
    for name in _CREDENTIAL_VARS + _CLOUD_VARS:
        if os.environ.get(name):
            return Check("credentials", True, f"{name} is set")
    config_dir = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    stored = config_dir / ".credentials.json"
    if stored.is_file():
        return Check("credentials", True, f"logged in ({stored})")
    return Check(
        "credentials",
        False,
        "none found: set ANTHROPIC_API_KEY in the environment the server runs in (the "
        "env of its MCP config), or log in once with `claude` (/login).",
    )


async def _database(settings: Settings) -> list[Check]:
    """The database, and the git worktrees of its workspace sessions."""
    path = settings.db_path
    try:
        # Opening writable proves the file writable (it writes the schema's version
        # stamp), creating it and its directory when missing.
        async with open_library(path, writable=True, synchronous=settings.synchronous) as library:
            sessions = len(await library.names())
            strays = await library.workspace_problems()
    except SessionTreeError as exc:
        return [Check("database", False, str(exc))]  # it names the file
    except (OSError, sqlite3.Error) as exc:
        return [Check("database", False, f"{path}: {exc}")]
    database = Check("database", True, f"{path} is writable ({sessions} sessions)")
    if not strays:
        return [database, Check("workspaces", True, "every worktree is where its session expects")]
    fix = (
        "a server's start brings back missing worktrees and removes unused ones; remove a "
        "stray one with git worktree remove (or delete the directory)"
    )
    return [database, Check("workspaces", False, "; ".join(strays) + f". {fix}")]


async def doctor(settings: Settings) -> tuple[str, int]:
    checks = [_claude(), _credentials(), *await _database(settings)]
    lines = [f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks]
    lines.append(
        f"      versions: session-tree {__version__}, python {platform.python_version()}, "
        f"mcp {version('mcp')}, claude-agent-sdk {version('claude-agent-sdk')}, "
        f"sqlite {sqlite3.sqlite_version}"
    )
    failures = sum(not c.ok for c in checks)
    lines.append("ready" if not failures else f"{failures} problem(s): fix the FAIL lines above")
    return "\n".join(lines), failures
