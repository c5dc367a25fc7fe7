"""A tool rule: which tools it names, and whether it covers one call."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from ...models import JSONObject
from . import _paths, _shell, _urls
from ._syntax import parse_rule

FAMILIES = {
    "Edit": frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"}),
    "Read": frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead"}),
}
# The input field a file tool's pattern is matched against.
_FILE_FIELDS = {
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "Read": "file_path",
    "NotebookEdit": "notebook_path",
    "NotebookRead": "notebook_path",
}
SEARCH_TOOLS = frozenset({"Glob", "Grep", "LS"})


@dataclass(frozen=True)
class ToolRule:
    tool: str
    pattern: str | None = None

    @classmethod
    def parse(cls, text: str) -> ToolRule:
        """One rule, or InvalidArgument saying what to write instead."""
        parsed = parse_rule(text)
        return cls(tool=parsed.tool, pattern=parsed.pattern)

    def __str__(self) -> str:
        if self.pattern is None:
            return self.tool
        escaped = self.pattern.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return f"{self.tool}({escaped})"

    def covers_tool(self, tool_name: str) -> bool:
        if tool_name == self.tool or tool_name in FAMILIES.get(self.tool, ()):
            return True
        if self.tool.startswith("mcp__"):
            return fnmatchcase(tool_name, self.tool) or tool_name.startswith(self.tool + "__")
        return False

    def matches(self, tool_name: str, tool_input: JSONObject, cwd: str, *, deny: bool) -> bool:
        """Whether the rule covers this call: for a deny, whether it might; for an
        allow, whether it surely does."""
        if not self.covers_tool(tool_name):
            return False
        pattern = self.pattern
        if pattern is None:
            return True
        if tool_name == "Bash":
            command = tool_input.get("command")
            if not isinstance(command, str):
                return deny
            return _shell.denies(pattern, command) if deny else _shell.allows(pattern, command)
        if tool_name == "WebFetch":
            url = tool_input.get("url")
            return _urls.url_matches(pattern, url, deny=deny) if isinstance(url, str) else deny
        if tool_name in SEARCH_TOOLS:
            root = _paths.search_root(tool_name, tool_input, cwd)
            if root is None:
                return deny
            return _paths.subtree_matches(pattern, root, cwd, deny=deny)
        field = _FILE_FIELDS.get(tool_name)
        path = tool_input.get(field) if field else None
        if not isinstance(path, str):
            return deny  # a pattern this matcher cannot check
        return _paths.file_matches(pattern, path, cwd, deny=deny)
