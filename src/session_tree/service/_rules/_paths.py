"""File paths against path patterns (Edit and Read rules).

A pattern is resolved to an absolute glob: ``//x`` is the absolute ``/x``,
``~/x`` is under home, anything else is under the session's working directory.
A pattern with no slash but a trailing one (``.env``, ``*.key``) names a file at
any depth, as in gitignore, for a deny; an allow reads it under the working
directory only. ``*`` and ``?`` stay within one path segment, ``**`` spans any
number, and ``dir/**`` covers ``dir`` itself.

A target path is read two ways: lexically (``..`` folded) and physically
(symlinks resolved, ``..`` taken after the link, as the kernel does). An allow
needs both readings to match; a deny takes either. A search tool (Glob, Grep,
LS) reads a whole subtree: a deny covers it when the subtree and the pattern's
fixed directory overlap, an allow only when the pattern ends in ``/**`` and the
search root lies inside it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

_FOLDS_CASE = sys.platform in ("darwin", "win32")  # file systems that ignore case
_GLOB_CHARS = re.compile(r"[*?\[]")


def _regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("/**/", index):
            out.append("(?:/.*)?/")
            index += 4
        elif pattern.startswith("/**", index) and index + 3 == len(pattern):
            out.append("(?:/.*)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if _FOLDS_CASE else 0))


def absolute_pattern(pattern: str, cwd: str, *, deny: bool) -> str:
    if pattern.endswith("/") and not pattern.endswith("//"):
        pattern += "**"
    if pattern.startswith("//"):
        return "/" + pattern[2:].lstrip("/")
    if pattern.startswith("~/"):
        return str(Path.home()) + "/" + pattern[2:]
    if deny and "/" not in pattern:
        return "/**/" + pattern
    relative = pattern.lstrip("/").removeprefix("./")
    return cwd.rstrip("/") + "/" + relative


def _fixed_dir(pattern: str) -> str:
    """The directory a glob cannot leave: its segments before the first wildcard."""
    fixed: list[str] = []
    for segment in pattern.split("/")[:-1]:
        if _GLOB_CHARS.search(segment):
            break
        fixed.append(segment)
    joined = "/".join(fixed)
    return joined or ("/" if pattern.startswith("/") else "")


def _physical_pattern(pattern: str) -> str:
    """The pattern with its fixed directory's symlinks resolved."""
    fixed = _fixed_dir(pattern)
    return os.path.realpath(fixed).rstrip("/") + pattern[len(fixed.rstrip("/")) :]


def readings(path: str, cwd: str) -> tuple[str, str]:
    """A path lexically (``..`` folded) and physically (symlinks resolved)."""
    joined = os.path.join(cwd, os.path.expanduser(path))
    return os.path.normpath(joined), os.path.realpath(joined)


def _within(inner: str, outer: str) -> bool:
    inner, outer = (p.casefold() if _FOLDS_CASE else p for p in (inner, outer))
    return outer == "/" or inner == outer or inner.startswith(outer.rstrip("/") + "/")


def file_matches(pattern: str, path: str, cwd: str, *, deny: bool) -> bool:
    try:
        lexical, physical = readings(path, cwd)
        glob = absolute_pattern(pattern, cwd, deny=deny)
        physical_glob = _physical_pattern(glob)
    except (OSError, ValueError):  # a NUL byte, a loop of links
        return deny
    plain, resolved = _regex(glob), _regex(physical_glob)
    if deny:
        return any(r.fullmatch(p) for r in (plain, resolved) for p in (lexical, physical))
    return bool(plain.fullmatch(lexical) and resolved.fullmatch(physical))


def search_root(tool_name: str, tool_input: dict[str, object], cwd: str) -> str | None:
    """The directory a search tool reads, its subtree included; None if unreadable."""
    root = tool_input.get("path")
    if root is None or root == "":
        root = cwd
    if not isinstance(root, str):
        return None
    if tool_name == "Glob":
        glob = tool_input.get("pattern")
        if not isinstance(glob, str):
            return None
        # Glob's pattern may climb out of its path ("../../etc/*") or be absolute.
        root = os.path.join(root, _fixed_dir(glob + ("x" if glob.endswith("/") else "")))
    return root


def subtree_matches(pattern: str, root: str, cwd: str, *, deny: bool) -> bool:
    try:
        lexical, physical = readings(root, cwd)
        glob = absolute_pattern(pattern, cwd, deny=deny)
        physical_glob = _physical_pattern(glob)
    except (OSError, ValueError):
        return deny
    if deny:
        return any(
            _within(target, _fixed_dir(g)) or _within(_fixed_dir(g), target)
            for g in (glob, physical_glob)
            for target in (lexical, physical)
        )
    if not glob.endswith("/**"):
        return False
    plain, resolved = _regex(glob), _regex(physical_glob)
    return bool(plain.fullmatch(lexical) and resolved.fullmatch(physical))
