"""Tool rules in Claude Code's syntax, as the loopback applies them.

    Write                 every Write
    Bash(git *)           a Bash command matching the glob
    Bash(npm run test:*)  "npm run test", alone or with arguments
    Edit(src/**)          an edit of a file under src/ of the working directory
    Read(//etc/**)        an absolute path (two slashes), Read(~/x) under home
    WebFetch(domain:example.com)
    mcp__github           every tool of one MCP server

The same rules go to Claude Code itself (``allowed_tools``/``disallowed_tools``)
whenever a child starts, and Claude Code settles them before asking anyone.
The loopback applies them too: for the child already running when a rule is
added (``remember``), and for a Claude Code outside session-tree. Where this
matching cannot be sure, it leans the safe way: a deny rule that might cover a
call denies it, an allow rule allows only what it surely covers.

- A Bash command made of several (``a && b``, ``a; b``, ``a | b``) is allowed
  only when every part is, and denied when any part is. A command with
  substitutions (``$(...)``, backticks) is never allowed by a pattern.
- Edit rules cover every tool that edits files (Edit, MultiEdit, Write,
  NotebookEdit); Read rules every tool that reads them (Read, Glob, Grep).
- Paths are normalised (``..`` resolved) before matching; a relative pattern is
  relative to the session's working directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InvalidArgument
from ..models import JSONObject

_RULE = re.compile(r"^(?P<tool>[A-Za-z0-9_.*-]+)(?:\((?P<pattern>.*)\))?$", re.DOTALL)
_FAMILIES = {
    "Edit": frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"}),
    "Read": frozenset({"Read", "Glob", "Grep"}),
}
# The input field a pattern is matched against, by tool.
_SUBJECTS = {
    "Bash": "command",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "Read": "file_path",
    "NotebookEdit": "notebook_path",
    "Glob": "path",
    "Grep": "path",
    "WebFetch": "url",
}
_COMMAND_SEPARATORS = re.compile(r"&&|\|\||[;&|\n]")
_SUBSTITUTION = re.compile(r"\$\(|`|<\(|>\(")


@dataclass(frozen=True)
class ToolRule:
    tool: str
    pattern: str | None = None

    @classmethod
    def parse(cls, text: str) -> ToolRule:
        match = _RULE.match(text.strip())
        if match is None:
            raise InvalidArgument(
                f"{text!r} is not a tool rule. Write a tool name ('Write'), or a tool and a "
                "pattern in Claude Code's syntax ('Bash(git *)', 'Edit(src/**)')."
            )
        pattern = match["pattern"]
        return cls(tool=match["tool"], pattern=pattern if pattern not in (None, "", "*") else None)

    def __str__(self) -> str:
        return self.tool if self.pattern is None else f"{self.tool}({self.pattern})"

    def covers_tool(self, tool_name: str) -> bool:
        if tool_name == self.tool or tool_name in _FAMILIES.get(self.tool, ()):
            return True
        if self.tool.startswith("mcp__"):
            return fnmatchcase(tool_name, self.tool) or tool_name.startswith(self.tool + "__")
        return False

    def matches(self, tool_name: str, tool_input: JSONObject, cwd: str, *, deny: bool) -> bool:
        """Whether the rule covers this call; ``deny`` says which way to lean when unsure."""
        if not self.covers_tool(tool_name):
            return False
        if self.pattern is None:
            return True
        field = _SUBJECTS.get(tool_name)
        subject = tool_input.get(field) if field else None
        if not isinstance(subject, str):
            return deny  # a pattern we cannot check
        if field == "command":
            return self._matches_command(subject, deny=deny)
        if field == "url":
            return self._matches_url(subject)
        return self._matches_path(subject, cwd)

    def _matches_command(self, command: str, *, deny: bool) -> bool:
        assert self.pattern is not None
        parts = [part.strip() for part in _COMMAND_SEPARATORS.split(command) if part.strip()]
        if not parts:
            return False
        if deny:
            return any(self._command_part(part) for part in [command.strip(), *parts])
        if _SUBSTITUTION.search(command):
            return False
        return all(self._command_part(part) for part in parts)

    def _command_part(self, part: str) -> bool:
        assert self.pattern is not None
        if self.pattern.endswith(":*"):
            prefix = self.pattern[:-2]
            return part == prefix or part.startswith(prefix + " ")
        return fnmatchcase(part, self.pattern)

    def _matches_url(self, url: str) -> bool:
        assert self.pattern is not None
        if self.pattern.startswith("domain:"):
            host = urlsplit(url).hostname or ""
            domain = self.pattern.removeprefix("domain:")
            return host == domain or host.endswith("." + domain)
        return fnmatchcase(url, self.pattern)

    def _matches_path(self, path: str, cwd: str) -> bool:
        assert self.pattern is not None
        pattern = self.pattern
        if pattern.startswith("//"):
            pattern = pattern[1:]
        elif pattern.startswith("~/"):
            pattern = str(Path.home() / pattern[2:])
        else:
            pattern = os.path.join(cwd, pattern.lstrip("/").removeprefix("./"))
        target = os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))
        return fnmatchcase(target, os.path.normpath(pattern)) or (
            pattern.endswith("/**") and target == os.path.normpath(pattern[:-3])
        )


def check_rules(rules: list[str]) -> None:
    """Refuse a rule that does not parse: a deny that never matches would be worse."""
    for text in rules:
        ToolRule.parse(text)


def matching_rule(
    rules: list[str], tool_name: str, tool_input: JSONObject, cwd: str, *, deny: bool
) -> str | None:
    """The first of ``rules`` that covers this call: for deny rules, one that might
    cover it; for allow rules, one that surely does."""
    for text in rules:
        if ToolRule.parse(text).matches(tool_name, tool_input, cwd, deny=deny):
            return text
    return None
