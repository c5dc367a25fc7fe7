"""Bash commands against Bash rule patterns, through tree-sitter-bash's parser.

tree-sitter-bash was chosen over bashlex: it is kept up (bashlex's last release
is from 2023 and it raises NotImplementedError on ``time``, ``case``, ``[[``,
``$((...))`` and ``coproc``), it keeps each word's quoting in the tree, which an
allow decision needs, it ships type information, and its node names are the ones
Claude Code's own command parser produces.

Two questions, answered on the same tree:

- ``allows``: the command is a list of simple commands (``;``, ``&&``, ``||``,
  ``|``, newlines) made of literal words only, no redirection, no assignment, a
  bare command name that is no wrapper or shell, and each one matches the pattern.
- ``denies``: any command anywhere in the tree (inside substitutions, subshells,
  groups, loops, functions) might match the pattern once quotes are removed and
  a path is cut to its last part; behind a wrapper every later word may start the
  command, and each argument of a wrapper or shell is parsed as a command too;
  a command name not known before run time, a shell reading its script from
  stdin, or text that does not parse, is covered by every pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

_PARSER = Parser(Language(tree_sitter_bash.language()))
_MAX_DEPTH = 8  # nested -c strings and wrappers; deeper is denied

# Commands that run another command given in their arguments.
WRAPPERS = frozenset(
    [
        "builtin",
        "command",
        "coproc",
        "env",
        "exec",
        "sudo",
        "doas",
        "su",
        "runuser",
        "sg",
        "pkexec",
        "run0",
        "time",
        "nice",
        "ionice",
        "nohup",
        "setsid",
        "stdbuf",
        "timeout",
        "chrt",
        "taskset",
        "numactl",
        "xargs",
        "parallel",
        "find",
        "watch",
        "flock",
        "chroot",
        "nsenter",
        "unshare",
        "fakeroot",
        "eatmydata",
        "strace",
        "ltrace",
        "valgrind",
        "gdb",
        "unbuffer",
        "script",
        "ssh",
        "systemd-run",
        "dbus-run-session",
        "xvfb-run",
        "firejail",
        "torsocks",
        "proxychains",
        "caffeinate",
        "busybox",
        "eval",
        "source",
        ".",
    ]
)
# Shells: ``-c`` runs a string; with no script argument they read commands from stdin.
SHELLS = frozenset(
    [
        "sh",
        "bash",
        "zsh",
        "dash",
        "ksh",
        "mksh",
        "ash",
        "yash",
        "posh",
        "fish",
        "csh",
        "tcsh",
        "rbash",
    ]
)
_RUNS_STDIN = SHELLS | {"eval", "source", "."}

# An unquoted word that means only itself in bash and zsh (no glob, brace, tilde,
# expansion, escape or history character; zsh expands a leading '=').
_LITERAL_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_@%+:,.-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LIST_NODES = frozenset({"program", "list", "pipeline"})
_LIST_TOKENS = frozenset({";", "&&", "||", "|", "|&", "&", ";;"})


# ---------------------------------------------------------------- words


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogateescape")


def _unescape_unquoted(text: str) -> str | None:
    if re.search(r"[*?\[\]{}$`]", text):
        return None  # may expand to other words at run time
    return re.sub(r"\\(.)", r"\1", text.replace("\\\n", ""), flags=re.DOTALL)


def word_value(node: Node) -> str | None:
    """The word bash passes after quote removal, or None when only run time knows it."""
    kind = node.type
    text = _text(node)
    if kind in ("word", "number", "command_name"):
        if kind == "command_name":
            return word_value(node.children[0]) if len(node.children) == 1 else None
        return _unescape_unquoted(text)
    if kind == "raw_string":
        return text[1:-1]
    if kind == "string":
        if not text.startswith('"') or any(
            c.type not in ('"', "string_content") for c in node.children
        ):
            return None
        return re.sub(r'\\([$`"\\\n])', lambda m: "" if m[1] == "\n" else m[1], text[1:-1])
    if kind == "concatenation":
        parts = [word_value(child) for child in node.children]
        if any(part is None for part in parts) or "".join(_text(c) for c in node.children) != text:
            return None
        return "".join(part for part in parts if part is not None)
    return None


def _literal(node: Node) -> bool:
    """A word whose value is its plain text: nothing for the shell to expand."""
    kind = node.type
    text = _text(node)
    if kind in ("word", "number"):
        return bool(_LITERAL_WORD.fullmatch(text)) and not text.startswith("=")
    if kind == "raw_string":
        return True
    if kind == "string":
        value = word_value(node)
        return value is not None and not re.search(r"[\\$`!]", text)
    if kind == "concatenation":
        return word_value(node) is not None and all(_literal(c) for c in node.children)
    return False


# ---------------------------------------------------------------- patterns


def _glob(pattern: str, *, deny: bool) -> re.Pattern[str]:
    """A Bash pattern's ``*`` matches anything; for a deny, a trailing `` *`` may match nothing."""
    body = ".*".join(re.escape(part) for part in pattern.split("*"))
    if deny and pattern.endswith(" *"):
        body = ".*".join(re.escape(part) for part in pattern[:-2].split("*")) + "(?: .*)?"
    return re.compile(body, re.DOTALL)


def _may_match(pattern: str, words: list[str | None]) -> bool:
    """Whether the pattern might match a command of these words (None: unknown)."""
    known: list[str] = []
    for word in words:
        if word is None:
            break
        known.append(word)
    complete = len(known) == len(words)
    joined = " ".join(known)
    if pattern.endswith(":*"):
        prefix = " ".join(pattern[:-2].split())
        if joined == prefix or joined.startswith(prefix + " "):
            return True
        head = joined + " " if known else ""
        return not complete and (prefix + " ").startswith(head)
    if complete:
        return bool(_glob(pattern, deny=True).fullmatch(joined))
    lead = pattern.split("*", 1)[0]
    head = joined + " " if known else ""
    return lead.startswith(head) or head.startswith(lead)


def _surely_matches(pattern: str, words: list[str]) -> bool:
    if pattern.endswith(":*"):
        prefix = pattern[:-2].split()
        return words[: len(prefix)] == prefix
    return bool(_glob(pattern, deny=False).fullmatch(" ".join(words)))


# ---------------------------------------------------------------- allow


def allows(pattern: str, command: str) -> bool:
    """Whether the pattern surely covers every part of the command."""
    if _CONTROL.search(command) or "\\\n" in command:
        return False
    tree = _PARSER.parse(command.encode("utf-8", "surrogateescape"))
    commands: list[list[str]] = []
    if tree.root_node.has_error or not _simple_list(tree.root_node, command, commands):
        return False
    return bool(commands) and all(_surely_matches(pattern, words) for words in commands)


def _simple_list(node: Node, source: str, out: list[list[str]]) -> bool:
    """Collect the words of each simple command; False for anything else."""
    if node.type == "command":
        words = _literal_command(node)
        if words is None:
            return False
        out.append(words)
        return True
    if node.type not in _LIST_NODES:
        return False
    end = node.start_byte
    for child in node.children:
        gap = source.encode("utf-8", "surrogateescape")[end : child.start_byte]
        if gap.strip(b" \t\n"):
            return False  # text the tree does not account for
        end = child.end_byte
        if child.type in _LIST_TOKENS:
            continue
        if not _simple_list(child, source, out):
            return False
    return True


def _literal_command(node: Node) -> list[str] | None:
    name = node.child_by_field_name("name")
    if name is None or any(c.type == "variable_assignment" for c in node.children):
        return None
    if len(name.children) != 1 or name.children[0].type != "word":
        return None
    bare = _text(name.children[0])
    if not _PLAIN_NAME.fullmatch(bare) or bare in WRAPPERS or bare in SHELLS:
        return None
    words = [bare]
    for child in node.children:
        if child == name or child.type == "variable_assignment":
            continue
        if not _literal(child):
            return None
        value = word_value(child)
        if value is None:
            return None
        words.append(value)
    if not _blank_gaps(node):
        return None
    return words


def _blank_gaps(node: Node) -> bool:
    """Whether only blanks stand between a command's words (nothing the tree skipped)."""
    raw = node.text or b""
    for left, right in zip(node.children, node.children[1:], strict=False):
        gap = raw[left.end_byte - node.start_byte : right.start_byte - node.start_byte]
        if gap.strip(b" \t"):
            return False
    return True


# ---------------------------------------------------------------- deny


def denies(pattern: str, command: str, depth: int = 0) -> bool:
    """Whether the pattern might cover some part of the command."""
    if depth > _MAX_DEPTH or _CONTROL.search(command):
        return True
    variants = {command, command.replace("\\\n", "")}  # a line continuation joins words
    return any(_variant_denied(pattern, text, depth) for text in variants)


def _variant_denied(pattern: str, command: str, depth: int) -> bool:
    # The whole text too, for a pattern that spans operators ("curl *| sh").
    whole = " ".join(command.split())
    if pattern.endswith(":*"):
        prefix = " ".join(pattern[:-2].split())
        if whole == prefix or whole.startswith(prefix + " "):
            return True
    elif _glob(pattern, deny=True).fullmatch(whole):
        return True
    tree = _PARSER.parse(command.encode("utf-8", "surrogateescape"))
    if tree.root_node.has_error:
        return True
    for node in _commands(tree.root_node):
        name = node.child_by_field_name("name")
        if name is None:
            continue
        words = [word_value(name)] + [
            word_value(c) for c in node.children_by_field_name("argument")
        ]
        if _words_denied(pattern, words, depth):
            return True
    return False


def _commands(node: Node) -> Iterator[Node]:
    if node.type == "command":
        yield node
    for child in node.children:
        yield from _commands(child)


def _names(word: str) -> set[str]:
    """A command word as a rule may name it: itself, its last path part, zsh's ``=cmd``."""
    base = word.rsplit("/", 1)[-1]
    return {word, base, base.lstrip("=")}


def _words_denied(pattern: str, words: list[str | None], depth: int) -> bool:
    if not words:
        return False
    first = words[0]
    if first is None:
        return True  # the command is known only at run time
    if any(_may_match(pattern, [name, *words[1:]]) for name in _names(first)):
        return True
    if not _names(first) & (WRAPPERS | SHELLS):
        return False
    if depth >= _MAX_DEPTH:
        return True
    # Any later word may be the command a wrapper runs (sudo nice -n 5 rm), and any
    # may be a script handed to a shell (bash -c, ssh, su -c, watch). One pass over
    # the words covers chains of wrappers without trying each chain twice.
    for index, word in enumerate(words):
        if word is None:
            return True  # a word known only at run time may be the command
        rest = words[index + 1 :]
        if index > 0:
            if any(_may_match(pattern, [name, *rest]) for name in _names(word)):
                return True
            if _script_like(word) and denies(pattern, word, depth + 1):
                return True
        names = _names(word)
        joined = " ".join(w for w in rest if w is not None)
        if names & {"eval"} and None not in rest and denies(pattern, joined, depth + 1):
            return True
        scripts = [w for w in rest if w is not None and not w.startswith(("-", "+"))]
        if names & _RUNS_STDIN and not scripts:
            return True  # the commands come from stdin, which no rule can see
    return False


def _script_like(word: str) -> bool:
    """A word that is more than one command name (one without these is one already)."""
    return bool(re.search(r"[\s;&|()<>$`'\"\\{}*?\[\]~=#!]", word))
