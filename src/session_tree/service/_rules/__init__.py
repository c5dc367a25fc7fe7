"""Tool rules in Claude Code's syntax, as the loopback applies them.

    Write                 every Write
    Bash(git *)           a Bash command matching the glob (``*`` is any text)
    Bash(npm run test:*)  "npm run test", alone or with arguments
    Edit(src/**)          an edit of a file under src/ of the working directory
    Edit(src/*)           a file directly in src/ (``*`` stays in one segment)
    Read(//etc/**)        an absolute path (two slashes), Read(~/x) under home
    WebFetch(domain:example.com)
    mcp__github           every tool of one MCP server

The same rules go to Claude Code itself whenever a child starts, and Claude Code
settles them before asking anyone. The loopback applies them too: for the child
already running when a rule is added (``remember``), and for a Claude Code outside
session-tree (``loopback_config``), where this matcher is the only guard. Its
contract: a deny rule that might cover a call denies it; an allow rule allows
only what it surely covers.

One entry is one rule. An entry that Claude Code would read as several (a comma or
a space outside parentheses, parentheses that do not pair) or that holds a control
character is refused: pass each rule as its own list entry.

Bash commands are parsed with tree-sitter-bash, never cut up with regular expressions.

- An allow rule covers a command only when it is one simple command, or several
  joined by ``;``, ``&&``, ``||``, ``|`` or newlines, each made of literal words
  (plain words or quoted text with nothing to expand), with no redirection, no
  variable assignment, and a bare command name that is no wrapper (``sudo``,
  ``env``, ``command``, ``time``, ``nice``, ``nohup``, ``exec``, ``xargs``,
  ``find``, ``eval``, ...) and no shell; and every part matches the rule.
  ``git status > /etc/passwd``, ``git log $(id)`` and ``git *.c`` are asked about.
- A deny rule covers a command when any command in it, wherever it sits
  (substitutions, subshells, groups, loops, functions, pipelines), might match
  once quotes and escapes are removed (``"rm"``, ``r''m``, ``\\rm``) and a path is
  cut to its last part (``/bin/rm``). Behind a wrapper any later word may be the
  command, and each argument of a wrapper or shell is parsed as a command too
  (``bash -c 'rm x'``). A command name known only at run time (``$(echo rm) x``),
  a shell reading commands from stdin, and text that does not parse are covered
  by every deny rule of the Bash tool.

Files and searches:

- Edit rules cover every tool that edits files (Edit, MultiEdit, Write,
  NotebookEdit); Read rules every tool that reads them (Read, Glob, Grep, LS).
- Paths are read twice, with ``..`` folded and with symlinks resolved; an allow
  needs both to match, a deny either. A pattern without a slash (``.env``) is a
  file at any depth for a deny.
- A search tool reads its whole subtree (its ``path``, or the working directory,
  and where Glob's pattern leads): a deny covers it when the subtree and the
  rule's directory overlap (a Grep of ``/`` is denied by ``Read(//etc/**)``); an
  allow only when the rule ends in ``/**`` and the subtree lies inside it.
- A WebFetch URL that Python and the WHATWG standard could read differently
  (a backslash, a user part, a percent sign or non-ASCII text in the host) is
  allowed by no rule, and denied by a rule matching either reading.

Known limits: a symlink made after the check, or one inside a searched subtree
that the tool follows, is not seen; code handed to another interpreter
(``python -c``, ``node -e``) or kept in a script file is not read; commands are
read as bash reads them (zsh's leading ``=`` is also taken as a path lookup).
"""

from __future__ import annotations

from ...errors import InvalidArgument
from ...models import JSONObject
from ._rule import ToolRule
from ._syntax import parse_rule, split_by_depth, split_open_flag

__all__ = ["ToolRule", "check_rules", "matching_rule"]


def check_rules(rules: list[str]) -> None:
    """Refuse a rule that does not parse, or that Claude Code would read as more than
    one: a deny that never matches, or an allow wider than it looks, would be worse."""
    for text in rules:
        parse_rule(text)


def _as_read(text: str, *, deny: bool) -> list[ToolRule]:
    """A stored rule as Claude Code would read it. Rules stored before they were
    checked may be several in one entry: a deny takes every piece, and a piece that
    does not parse covers everything; an allow takes only a rule that parses whole."""
    try:
        return [ToolRule.parse(text)]
    except InvalidArgument:
        pass
    if not deny:
        return []
    pieces = {*split_open_flag(text), *split_by_depth(text)} or {text}
    read: list[ToolRule] = []
    for piece in sorted(pieces):
        try:
            read.append(ToolRule.parse(piece))
        except InvalidArgument:
            return [ToolRule("*")]
    return read


def matching_rule(
    rules: list[str], tool_name: str, tool_input: JSONObject, cwd: str, *, deny: bool
) -> str | None:
    """The first of ``rules`` that covers this call: for deny rules, one that might
    cover it; for allow rules, one that surely does."""
    for text in rules:
        for rule in _as_read(text, deny=deny):
            if rule.tool == "*" or rule.matches(tool_name, tool_input, cwd, deny=deny):
                return text
    return None
