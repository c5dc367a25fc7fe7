"""A rule string as Claude Code reads it: how many rules it is, its tool and its pattern.

Claude Code (2.1.332) splits a ``--allowedTools``/``--disallowedTools`` value with
two tokenizers and keeps the rules of both: one splits on commas and spaces outside
parentheses, tracking only whether a parenthesis is open; the other counts nesting
depth, honours backslash escapes and drops a piece with an unbalanced parenthesis.
The SDK joins a list of rules with commas into that one flag. A rule is accepted
here only when both tokenizers read it as exactly itself, so it means the same
whether it travels in a settings file, on the command line, or joined with others.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ...errors import InvalidArgument

_TOOL_NAME = re.compile(r"[A-Za-z0-9_.*-]+")


def _js_trim(text: str) -> str:
    # JavaScript's trim() removes Unicode whitespace and U+FEFF; str.strip() misses U+FEFF.
    return text.strip().strip("\ufeff").strip()


def split_open_flag(text: str) -> list[str]:
    """Claude Code's first tokenizer: commas and spaces outside an open parenthesis."""
    pieces: list[str] = []
    current = ""
    inside = False
    for ch in text:
        if ch == "(":
            inside = True
            current += ch
        elif ch == ")":
            inside = False
            current += ch
        elif ch in ", ":
            if inside:
                current += ch
            else:
                if _js_trim(current):
                    pieces.append(_js_trim(current))
                current = ""
        elif current or _js_trim(ch):
            current += ch
    if _js_trim(current):
        pieces.append(_js_trim(current))
    return pieces


def split_by_depth(text: str) -> list[str]:
    """Claude Code's second tokenizer: nesting depth, backslash escapes, and a piece
    with a stray ``)`` or an unclosed ``(`` dropped."""
    pieces: list[str] = []
    start = depth = 0
    stray = False
    index = 0
    while index <= len(text):
        ch = text[index] if index < len(text) else ""
        if ch == "\\":
            index += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            stray = stray or depth == 0
            depth = max(depth - 1, 0)
        elif index == len(text) or (depth == 0 and ch in ", "):
            if depth == 0 and not stray:
                pieces.append(_js_trim(text[start:index]))
            start = index + 1
            stray = False
        index += 1
    return pieces


def _unescaped(text: str, ch: str, *, last: bool) -> int:
    """Index of the first (or last) ``ch`` not escaped by an odd run of backslashes."""
    order = range(len(text) - 1, -1, -1) if last else range(len(text))
    for index in order:
        if text[index] == ch:
            slashes = 0
            while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                return index
    return -1


def _control_characters(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


@dataclass(frozen=True)
class ParsedRule:
    tool: str
    pattern: str | None


def parse_rule(text: str) -> ParsedRule:
    """One rule in Claude Code's syntax, or InvalidArgument saying how to write it."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    bad = _control_characters(text)
    if bad:
        raise InvalidArgument(
            f"The rule {shown!r} holds the control character {bad[0]!r}; a rule is one "
            "line of printable text, such as 'Bash(git *)'."
        )
    open_flag, by_depth, whole = split_open_flag(text), split_by_depth(text), _js_trim(text)
    if open_flag != [whole] or by_depth != [whole]:
        read_as = open_flag if len(open_flag) > 1 else by_depth
        if len(read_as) <= 1:
            raise InvalidArgument(
                f"{shown!r} is not a tool rule: its parentheses do not pair. "
                "Write a tool name ('Write'), or a tool and a pattern in "
                "Claude Code's syntax ('Bash(git *)', 'Edit(src/**)')."
            )
        raise InvalidArgument(
            f"Claude Code would read the rule {shown!r} as {len(read_as)} rules "
            f"({', '.join(repr(r) for r in read_as[:5])}): it splits rules on commas and "
            "spaces outside parentheses. Pass each rule as its own list entry, such as "
            "['Read(src/**)', 'Bash(git *)']."
        )
    open_at = _unescaped(whole, "(", last=False)
    close_at = _unescaped(whole, ")", last=True)
    if open_at == -1 and close_at == -1:
        tool, content = whole, None
    elif open_at == -1 or close_at != len(whole) - 1 or close_at < open_at:
        tool, content = "", None
    else:
        tool, content = whole[:open_at], whole[open_at + 1 : close_at]
    if not _TOOL_NAME.fullmatch(tool):
        raise InvalidArgument(
            f"{shown!r} is not a tool rule. Write a tool name ('Write'), or a tool and a "
            "pattern in Claude Code's syntax ('Bash(git *)', 'Edit(src/**)')."
        )
    if content in (None, "", "*"):
        return ParsedRule(tool, None)
    # Claude Code unescapes \( and \) first, then \\.
    pattern = content.replace("\\(", "(").replace("\\)", ")").replace("\\\\", "\\")
    return ParsedRule(tool, pattern)
