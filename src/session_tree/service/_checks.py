"""Checks made before anything is stored: names, policies, working directories."""

from __future__ import annotations

import os
import re

from ..errors import InvalidArgument, WorkingDirMissing
from ..models import SessionConfig
from ._rules import check_rules

MAX_NAME = 100
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME - 1}}}")


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 40 else f"{name[:37]}..."
        raise InvalidArgument(
            f"Session names are 1-{MAX_NAME} characters: letters, digits, '.', '_' and '-', "
            f"starting with a letter or digit (they name files and appear in commands); "
            f"got {shown!r}. Try {_suggest(name)!r}."
        )


def check_policy(config: SessionConfig) -> None:
    check_rules(config.allowed_tools)
    check_rules(config.disallowed_tools)
    if not config.loopback and (config.ask_human or config.bypass_until is not None):
        raise InvalidArgument(
            "ask_human and bypass_for_s act on the loopback; set loopback=true with them."
        )
    if config.permission_mode == "bypassPermissions":
        raise InvalidArgument(
            "bypassPermissions never ends by itself, so session-tree does not start children in it. "
            "Use loopback=true and configure with bypass_for_s: calls are allowed until then, "
            "and asked again after."
        )


def check_cwd(cwd: str | None, name: str) -> None:
    """A child's working directory must exist when it starts; say so before storing."""
    if cwd is None or os.path.isdir(cwd):
        return
    problem = "is not a directory" if os.path.exists(cwd) else "does not exist"
    raise WorkingDirMissing(cwd, name, problem)


def check_add_dirs(dirs: list[str]) -> None:
    """Each extra directory a child may work in must be there, as its cwd must."""
    for path in dirs:
        if not os.path.isdir(path):
            problem = "is not a directory" if os.path.exists(path) else "does not exist"
            raise InvalidArgument(
                f"add_dirs: {path} {problem}. Give directories that exist, or leave it out."
            )


def _suggest(name: str) -> str:
    """A valid name close to ``name``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:MAX_NAME]
    return cleaned or "session-1"
