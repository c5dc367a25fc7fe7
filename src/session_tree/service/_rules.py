"""Tool rules in Claude Code's syntax, as the loopback applies them.

    Write                 every Write
    Bash(git *)           a Bash command matching the glob
    Bash(npm run test:*)  a Bash command starting with "npm run test"
    Edit(src/**)          an edit of a file under src/ (any depth)
    WebFetch(domain:example.com)
    mcp__github           every tool of one MCP server

The same rules go to Claude Code itself (``allowed_tools``/``disallowed_tools``)
whenever a child starts, and Claude Code settles them before asking anyone.
The loopback applies them too, for the child that is already running when a
rule is added (``remember``). Its matching of paths is simpler than Claude
Code's (a glob on the file path, absolute or under any directory), which can
only make it ask where Claude Code would not, never the reverse for a deny.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from ..errors import InvalidArgument
from ..models import JSONObject

_RULE = re.compile(r"^(?P<tool>[A-Za-z0-9_.-]+)(?:\((?P<pattern>.*)\))?$", re.DOTALL)
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

    def matches(self, tool_name: str, tool_input: JSONObject) -> bool:
        if tool_name != self.tool and not (
            self.tool.startswith("mcp__") and tool_name.startswith(self.tool + "__")
        ):
            return False
        if self.pattern is None:
            return True
        field = _SUBJECTS.get(tool_name)
        subject = tool_input.get(field) if field else None
        if not isinstance(subject, str):
            return False
        pattern = self.pattern
        if pattern.endswith(":*"):
            return subject.startswith(pattern[:-2])
        if pattern.startswith("domain:"):
            host = urlsplit(subject).hostname or ""
            domain = pattern.removeprefix("domain:")
            return host == domain or host.endswith("." + domain)
        if field in ("command", "url"):
            return fnmatchcase(subject, pattern)
        relative = pattern.removeprefix("./")
        return fnmatchcase(subject, pattern) or fnmatchcase(subject, "*/" + relative)


def first_match(rules: list[str], tool_name: str, tool_input: JSONObject) -> str | None:
    """The first of ``rules`` that covers this call; unparsable rules never match."""
    for text in rules:
        try:
            rule = ToolRule.parse(text)
        except InvalidArgument:
            continue
        if rule.matches(tool_name, tool_input):
            return text
    return None
