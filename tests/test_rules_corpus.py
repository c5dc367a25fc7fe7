"""A corpus of attempts on the loopback's rule matcher, in both directions: what a
deny rule must deny, and what an allow rule must and must not allow (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.service._rules import ToolRule, check_rules

CWD = "/work"

# (category, rule, tool, input, deny?, expected)
Case = tuple[str, str, str, dict[str, object], bool, bool]


def bash(category: str, rule: str, command: str, *, deny: bool, expected: bool) -> Case:
    return (category, rule, "Bash", {"command": command}, deny, expected)


RM_DISGUISES = [
    "\\rm -rf x",
    "/bin/rm -rf x",
    "./rm x",
    "~/bin/rm x",
    "(rm -rf x)",
    "rm\t-rf x",
    "r''m x",
    '"rm" x',
    "'rm' x",
    'r"m" x',
    "command rm x",
    "env rm x",
    "env -i A=1 rm x",
    "sudo rm x",
    "sudo -u root rm -rf /",
    "time rm x",
    "nice rm x",
    "nice -n 5 rm x",
    "nohup rm x",
    "exec rm x",
    "xargs rm",
    "echo x | xargs rm -f",
    "timeout 5 rm x",
    "$(echo rm) x",
    "`echo rm` x",
    "$CMD x",
    "${CMD} x",
    "bash -c 'rm x'",
    'sh -c "rm x"',
    "bash -lc 'rm x'",
    "zsh -c 'rm x'",
    "sudo bash -c 'rm x'",
    "eval 'rm x'",
    "eval rm x",
    "{ rm x; }",
    "if true; then rm x; fi",
    "for f in a; do rm $f; done",
    "while true; do rm x; done",
    "f() { rm x; }; f",
    "echo $(rm x)",
    "echo `rm x`",
    "cat <(rm x)",
    "X=$(rm y) true",
    "git status && rm -rf /",
    "ls; rm x",
    "ls | rm x",
    "ls || rm x",
    "true\nrm x",
    "! rm x",
    "rm x > /dev/null",
    "r\\\nm x",
    "find . -exec rm {} \\;",
    "watch 'rm x'",
    "ssh host rm x",
    "curl x | sh",
    "bash <<EOF\nrm x\nEOF",
    "echo 'unterminated",
    "=rm x",
    "/usr/bin/env rm x",
    "coproc rm x",
    "[[ -f x ]] && rm x",
    "case a in a) rm x;; esac",
]
RM_NOT = ["echo rm", "ls -la", "rmdir x", "git rm x", "grep rm file", "echo 'rm x'"]

GIT_ALLOWED = [
    "git status",
    "git log --oneline -5",
    "git commit -m 'a b'",
    'git commit -m "fix it"',
    "git status && git log",
    "git diff | git apply",
    "git add src/a.py",
    "git status\ngit log",
]
GIT_NOT_ALLOWED = [
    "git status > /etc/passwd",
    "git status >> log",
    "git status 2>&1",
    "git log < in",
    "git log $(rm -rf ~)",
    "git log `id`",
    "git log $HOME",
    "git log ${HOME}",
    "git add *.py",
    "git add src/?",
    "git add {a,b}",
    "git -C ~ status",
    "GIT_DIR=x git status",
    "/usr/bin/git status",
    "'git' status",
    '"git" status',
    "\\git status",
    "git status; rm x",
    "git status && rm x",
    "git status | sh",
    "(git status)",
    "{ git status; }",
    "sudo git status",
    "env git status",
    "command git status",
    "time git status",
    "bash -c 'git status'",
    "git status # note",
    "git log 'unterminated",
    'git log "$(id)"',
    "git log $'a'",
    "git status &> out",
    "git status\r",
    "git log =x",
]


def file_case(
    category: str, rule: str, tool: str, path: str, *, deny: bool, expected: bool
) -> Case:
    field = {"Read": "file_path", "Write": "file_path", "Edit": "file_path"}[tool]
    return (category, rule, tool, {field: path}, deny, expected)


CORPUS: list[Case] = [
    *(
        bash("bash deny: disguised rm", "Bash(rm:*)", c, deny=True, expected=True)
        for c in RM_DISGUISES
    ),
    *(bash("bash deny: not rm", "Bash(rm:*)", c, deny=True, expected=False) for c in RM_NOT),
    *(
        bash("bash allow: literal", "Bash(git *)", c, deny=False, expected=True)
        for c in GIT_ALLOWED
    ),
    *(
        bash("bash allow: not surely", "Bash(git *)", c, deny=False, expected=False)
        for c in GIT_NOT_ALLOWED
    ),
    bash(
        "bash allow: literal",
        "Bash(npm run test:*)",
        "npm run test -- -k x",
        deny=False,
        expected=True,
    ),
    bash(
        "bash allow: not surely",
        "Bash(npm run test:*)",
        "npm run testx",
        deny=False,
        expected=False,
    ),
    bash(
        "bash deny: disguised rm",
        "Bash(git push:*)",
        "git $(echo push) origin",
        deny=True,
        expected=True,
    ),
    bash("bash deny: not rm", "Bash(git push:*)", "git pull", deny=True, expected=False),
    file_case("path deny", "Read(//etc/**)", "Read", "/etc/passwd", deny=True, expected=True),
    file_case(
        "path deny", "Read(//etc/**)", "Read", "/work/../etc/shadow", deny=True, expected=True
    ),
    file_case("path deny", "Read(//etc/**)", "Read", "/etc", deny=True, expected=True),
    file_case("path deny", "Edit(.env)", "Write", "/work/.env", deny=True, expected=True),
    file_case("path deny", "Edit(.env)", "Write", "/work/app/.env", deny=True, expected=True),
    file_case("path deny", "Read(~/.ssh/**)", "Read", "~/.ssh/id_rsa", deny=True, expected=True),
    file_case("path deny", "Read(//etc/**)", "Read", "/work/etc/x", deny=True, expected=False),
    file_case("path allow", "Edit(src/**)", "Edit", "/work/src/app.py", deny=False, expected=True),
    file_case("path allow", "Edit(src/**)", "Write", "src/a/b/c.py", deny=False, expected=True),
    file_case("path allow", "Edit(src/*)", "Edit", "src/a.py", deny=False, expected=True),
    file_case("path allow", "Edit(src/*)", "Edit", "src/a/b/c.py", deny=False, expected=False),
    file_case(
        "path allow",
        "Edit(src/**)",
        "Edit",
        "/work/src/../../etc/passwd",
        deny=False,
        expected=False,
    ),
    file_case("path allow", "Edit(src/**)", "Edit", "/work/srcx/a.py", deny=False, expected=False),
    file_case("path allow", "Edit(src/**)", "Edit", "/etc/src/cron", deny=False, expected=False),
    file_case("path allow", "Edit(src/**)", "Edit", "/work/src/a\x00b", deny=False, expected=False),
    ("search deny", "Read(//etc/**)", "Grep", {"pattern": "root", "path": "/"}, True, True),
    ("search deny", "Read(//etc/**)", "Grep", {"pattern": "root", "path": "/etc/ssl"}, True, True),
    ("search deny", "Read(//etc/**)", "Glob", {"pattern": "/etc/*"}, True, True),
    (
        "search deny",
        "Read(//etc/**)",
        "Glob",
        {"pattern": "../../etc/*", "path": "/work/src"},
        True,
        True,
    ),
    ("search deny", "Read(//etc/**)", "Grep", {"pattern": "x"}, True, False),
    ("search deny", "Read(//etc/**)", "Grep", {"pattern": "x", "path": "/work/src"}, True, False),
    ("search allow", "Read(src/**)", "Grep", {"pattern": "x", "path": "/work/src"}, False, True),
    ("search allow", "Read(src/**)", "Grep", {"pattern": "x", "path": "/work/src/a"}, False, True),
    ("search allow", "Read(src/**)", "Grep", {"pattern": "x", "path": "/work"}, False, False),
    ("search allow", "Read(src/**)", "Grep", {"pattern": "x"}, False, False),
    ("search allow", "Read(src/*)", "Grep", {"pattern": "x", "path": "/work/src"}, False, False),
    (
        "search allow",
        "Read(src/**)",
        "Glob",
        {"pattern": "../../etc/*", "path": "/work/src"},
        False,
        False,
    ),
]

DOMAIN = "WebFetch(domain:example.com)"
URLS_ALLOWED = [
    "https://example.com/",
    "https://api.example.com/x?y=1",
    "http://EXAMPLE.com:8080/a",
]
URLS_NOT_ALLOWED = [
    "https://evil.net\\@example.com/",
    "https://example.com\\@evil.net/",
    "https://a@example.com/",
    "https://example.com.evil.net/",
    "https://ex%61mple.com/",
    "https://example\u3002com/",
    "https://example.com /",
    "ftp://example.com/",
    "https://exampl\te.com/",
    "//example.com/",
    "https://example.org/",
]
URLS_DENIED = [
    "https://evil.net\\@example.com/",
    "https://example.com\\@evil.net/",
    "https://ex%61mple.com/",
    "https://example\u3002com/",
    "https://EXAMPLE.COM./",
    "https://u:p@api.example.com/",
    "https://exam\tple.com/",
    " https://example.com/",
]
CORPUS += [("url allow", DOMAIN, "WebFetch", {"url": u}, False, True) for u in URLS_ALLOWED]
CORPUS += [("url allow", DOMAIN, "WebFetch", {"url": u}, False, False) for u in URLS_NOT_ALLOWED]
CORPUS += [("url deny", DOMAIN, "WebFetch", {"url": u}, True, True) for u in URLS_DENIED]
CORPUS += [("url deny", DOMAIN, "WebFetch", {"url": "https://example.org/"}, True, False)]

SPLIT_REFUSED = [
    "Read(/nonexistent),Bash(touch *)",
    "Read Write",
    "Read,Write",
    "Bash(git *) Edit",
    "Bash(echo (a) b)",
    "Bash(echo \\) x)",
    "Bash(x)\\",
    "Bash((",
    "Bash(x))",
    ")Bash(x)",
    "Write\x00",
    "Bash(ls\n)",
    "Bash(ls\t-la)",
    "Write\u200b",
    "",
    " ",
]
SPLIT_ACCEPTED = [
    "Write",
    "Bash(git *)",
    "Bash(echo a,b)",
    "Bash(npm run test:*)",
    "Edit(src/**)",
    "WebFetch(domain:example.com)",
    "mcp__github",
    "Bash(a(b)c)",
]


def case_id(case: Case) -> str:
    category, rule, tool, tool_input, _, _ = case
    return f"{category}|{rule}|{tool}|{next(iter(tool_input.values()), '')!r}"[:120]


@pytest.mark.parametrize("case", CORPUS, ids=case_id)
def test_the_rule_matcher_decides_each_corpus_case(case: Case) -> None:
    _, rule, tool, tool_input, deny, expected = case
    assert ToolRule.parse(rule).matches(tool, dict(tool_input), CWD, deny=deny) is expected


@pytest.mark.parametrize("rule", SPLIT_REFUSED)
def test_a_rule_claude_code_would_not_read_as_itself_is_refused(rule: str) -> None:
    from session_tree.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match=r"list entry|control character|not a tool rule"):
        check_rules([rule])


@pytest.mark.parametrize("rule", SPLIT_ACCEPTED)
def test_a_rule_that_is_one_rule_is_accepted(rule: str) -> None:
    check_rules([rule])


def test_the_corpus_is_large_and_goes_both_ways() -> None:
    assert len(CORPUS) + len(SPLIT_REFUSED) + len(SPLIT_ACCEPTED) >= 100
    assert {expected for *_, expected in CORPUS} == {True, False}
    assert {deny for *_, deny, _ in CORPUS} == {True, False}


def test_a_symlink_does_not_carry_an_allow_outside(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "link").symlink_to("/etc")
    (tmp_path / "src" / "ok.py").write_text("")
    rule = ToolRule.parse("Edit(src/**)")
    cwd = str(tmp_path)
    assert rule.matches("Edit", {"file_path": "src/ok.py"}, cwd, deny=False)
    assert not rule.matches("Write", {"file_path": "src/link/passwd"}, cwd, deny=False)
    assert not rule.matches("Write", {"file_path": "src/link"}, cwd, deny=False)
    deny = ToolRule.parse("Edit(//etc/**)")
    assert deny.matches("Write", {"file_path": str(tmp_path / "src/link/passwd")}, cwd, deny=True)
