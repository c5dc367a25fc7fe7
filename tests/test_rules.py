"""Properties of the loopback's rule matcher (issue 13, items 2 and 3)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_tree.errors import InvalidArgument
from session_tree.models import SessionConfig
from session_tree.service import Loopback
from session_tree.service._rules import ToolRule, check_rules, matching_rule
from session_tree.service._rules._syntax import split_by_depth, split_open_flag
from session_tree.service._rules._urls import hosts
from session_tree.store import Store

CWD = "/work"
LITERAL_CHARS = "abcxyz019-_./:,@%+"
words = st.text(LITERAL_CHARS, min_size=1, max_size=8).filter(lambda w: not w.startswith("="))
names = st.text("abcdefgrmxyz", min_size=1, max_size=6)
METACHARS = [*"$`*?[{~><()\\'\"!", "$(id)", "${x}", " > /etc/passwd", "\nrm", ";rm", "|rm", "&rm"]


def allowed(rule: str, command: str) -> bool:
    return ToolRule.parse(rule).matches("Bash", {"command": command}, CWD, deny=False)


def denied(rule: str, command: str) -> bool:
    return ToolRule.parse(rule).matches("Bash", {"command": command}, CWD, deny=True)


@given(st.lists(words, min_size=1, max_size=5))
def test_a_simple_command_of_literal_words_is_allowed_by_its_rule(args: list[str]) -> None:
    assert allowed("Bash(git *)", " ".join(["git", *args]))
    assert allowed("Bash(git:*)", " ".join(["git", *args]))


@given(
    st.lists(words, min_size=1, max_size=5),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=8),
    st.sampled_from(METACHARS),
)
def test_an_allowed_command_stays_allowed_only_while_it_is_literal(
    args: list[str], which: int, at: int, metachar: str
) -> None:
    parts = ["git", *args]
    index = which % len(parts)
    word = parts[index]
    parts[index] = word[: at % (len(word) + 1)] + metachar + word[at % (len(word) + 1) :]
    command = " ".join(parts)
    assert not allowed("Bash(git *)", command), command


QUOTINGS = [
    lambda n: n,
    lambda n: f"'{n}'",
    lambda n: f'"{n}"',
    lambda n: "\\" + n,
    lambda n: n[0] + "''" + n[1:],
    lambda n: "/usr/bin/" + n,
    lambda n: "./" + n,
]
# Wrappers that run the command named in their arguments: they go first, around a
# simple command, since "sudo { x; }" is no shell at all.
PREFIXES = [
    lambda c: f"sudo {c}",
    lambda c: f"sudo -u root {c}",
    lambda c: f"env A=1 {c}",
    lambda c: f"command {c}",
    lambda c: f"time {c}",
    lambda c: f"nice -n 5 {c}",
    lambda c: f"nohup {c}",
    lambda c: f"exec {c}",
    lambda c: f"timeout 5 {c}",
    lambda c: f"xargs {c}",
]
STRUCTURES = [
    lambda c: f"( {c} )",  # "((" would be arithmetic
    lambda c: f"{{ {c}; }}",
    lambda c: f"bash -c {shlex.quote(c)}",
    lambda c: f"sh -c {shlex.quote(c)}",
    lambda c: f"eval {shlex.quote(c)}",
    lambda c: f"echo $( {c} )",  # "$((" would be arithmetic
    lambda c: f"echo `{c}`" if "`" not in c else f"echo $( {c} )",
    lambda c: f"true && {c}",
    lambda c: f"ls | {c}",
    lambda c: f"{c}; true",
    lambda c: f"if true; then {c}; fi",
    lambda c: f"X=$( {c} ) true",
]


@settings(max_examples=300)
@given(
    names,
    st.lists(words, max_size=3),
    st.sampled_from(QUOTINGS),
    st.lists(st.sampled_from(PREFIXES), max_size=3),
    st.lists(st.sampled_from(STRUCTURES), max_size=3),
)
def test_a_deny_rule_on_a_command_holds_through_any_wrapping(
    name: str, args: list[str], quoting: object, prefixes: list[object], structures: list[object]
) -> None:
    command = " ".join([quoting(name), *args])  # type: ignore[operator]
    for wrap in [*prefixes, *structures]:
        command = wrap(command)  # type: ignore[operator]
    assert denied(f"Bash({name}:*)", command), command
    assert matching_rule(["Write", f"Bash({name}:*)"], "Bash", {"command": command}, CWD, deny=True)


@given(st.text(min_size=1, max_size=40))
def test_any_command_is_denied_or_allowed_without_raising(command: str) -> None:
    denied("Bash(rm:*)", command)
    allowed("Bash(git *)", command)


segments = st.lists(st.sampled_from(["a", "b", "src", "..", ".", "etc", ""]), max_size=8)


@given(segments)
def test_dot_dot_never_carries_an_allow_outside(parts: list[str]) -> None:
    path = "/".join(["src", *parts])
    if ToolRule.parse("Edit(src/**)").matches("Edit", {"file_path": path}, CWD, deny=False):
        resolved = os.path.normpath(os.path.join(CWD, path))
        assert resolved == "/work/src" or resolved.startswith("/work/src/"), path


@pytest.fixture(scope="module")
def linked_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """src/ with a real dir, a link out of the tree and a link back in."""
    root = tmp_path_factory.mktemp("tree")
    (root / "src" / "in").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "src" / "out").symlink_to(root / "outside")
    (root / "src" / "etc").symlink_to("/etc")
    (root / "src" / "back").symlink_to(root / "src" / "in")
    return root


@given(st.lists(st.sampled_from(["in", "out", "etc", "back", "..", ".", "f"]), max_size=6))
def test_a_symlink_never_carries_an_allow_outside(linked_tree: Path, parts: list[str]) -> None:
    path = "/".join(["src", *parts])
    cwd = str(linked_tree)
    if ToolRule.parse("Edit(src/**)").matches("Write", {"file_path": path}, cwd, deny=False):
        real = os.path.realpath(os.path.join(cwd, path))
        assert real.startswith(os.path.realpath(cwd) + "/src"), (path, real)


url_parts = st.tuples(
    st.sampled_from(["https", "http", "HTTPS", "ftp"]),
    st.sampled_from(["://", ":/", ":\\\\", "://\\", ":///"]),
    st.sampled_from(["", "evil.net@", "evil.net\\@", "a:b@", "example.com@"]),
    st.sampled_from(["example.com", "evil.net", "api.example.com", "ex%61mple.com", "EXAMPLE.com"]),
    st.sampled_from(["", ":8080", ":x"]),
    st.sampled_from(["/", "", "/a?b#c", "\\@evil.net/", "/@evil.net", "\\.evil.net/"]),
)


@given(url_parts)
def test_an_allowed_url_reaches_the_domain_by_every_reading(parts: tuple[str, ...]) -> None:
    url = "".join(parts)
    rule = ToolRule.parse("WebFetch(domain:example.com)")
    if rule.matches("WebFetch", {"url": url}, CWD, deny=False):
        assert hosts(url), url
        assert all(h == "example.com" or h.endswith(".example.com") for h in hosts(url)), url
    if any(h == "example.com" or h.endswith(".example.com") for h in hosts(url)):
        assert rule.matches("WebFetch", {"url": url}, CWD, deny=True), url


rule_texts = st.text("ab(), \\*:", min_size=1, max_size=12).map(lambda s: "Bash" + s)


@given(st.lists(rule_texts, min_size=1, max_size=4))
def test_accepted_rules_joined_with_commas_split_back_into_themselves(rules: list[str]) -> None:
    accepted = []
    for rule in rules:
        try:
            check_rules([rule])
        except InvalidArgument:
            continue
        accepted.append(rule.strip())
    if accepted:
        joined = ",".join(accepted)
        assert split_open_flag(joined) == accepted
        assert split_by_depth(joined) == accepted


def test_a_stored_rule_holding_two_is_read_as_both_when_it_denies() -> None:
    stored = ["Read(/nonexistent),Bash(touch *)"]
    assert matching_rule(stored, "Bash", {"command": "touch x"}, CWD, deny=True) == stored[0]
    assert matching_rule(stored, "Bash", {"command": "touch x"}, CWD, deny=False) is None


@pytest.mark.anyio
async def test_remembering_a_rule_that_is_two_is_refused_and_the_approval_waits(
    store: Store,
) -> None:
    await store.sessions.create("main", SessionConfig(loopback=True, approval_timeout_s=30))
    loopback = Loopback(store)
    async with anyio.create_task_group() as tg:

        async def ask() -> None:
            await loopback.ask(
                "main", tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="t"
            )

        tg.start_soon(ask)
        (pending,) = await store.approvals.wait_pending("main", timeout=10)
        with pytest.raises(InvalidArgument, match="own list entry"):
            await loopback.respond(pending.id, allow=True, remember=True, rule="Read,Bash(rm *)")
        assert [a.id for a in await store.approvals.pending()] == [pending.id]
        await loopback.respond(pending.id, allow=False)
    config = (await store.sessions.get("main")).config
    assert config.allowed_tools == []
