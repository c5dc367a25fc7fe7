"""A real git repository for workspace tests, and a scripted model whose children write files.

The model is told what to write by the prompt itself ("write PATH CONTENT"), so
replies do not depend on the order in which concurrent children ask; a prompt
holding "together" waits (bounded) until another such request has arrived, so
a turn that completes proves both ran at once.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_tree.testing import RecordedRequest, Reply, text, tool_use

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "user@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "user@example.com",
}
_WRITE = re.compile(r"write (/\S+) (\S+)")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **_IDENTITY},
    )
    return done.stdout.strip()


def make_repo(path: Path) -> Path:
    """A repository with one commit, an ignored file and an uncommitted one."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("hello\n")
    (path / ".gitignore").write_text("*.log\n")
    git(path, "add", "README.md", ".gitignore")
    git(path, "commit", "-q", "-m", "first")
    (path / "notes.txt").write_text("not committed yet\n")
    (path / "debug.log").write_text("ignored\n")
    return path


@dataclass(frozen=True)
class UserState:
    """What the user sees of their checkout."""

    head: str
    status: str
    branches: str
    stash: str
    index: bytes


def user_state(repo: Path) -> UserState:
    return UserState(
        head=git(repo, "rev-parse", "HEAD"),
        status=git(repo, "status", "--porcelain", "--untracked-files=all"),
        branches=git(repo, "branch", "--list"),
        stash=git(repo, "stash", "list"),
        index=(repo / ".git" / "index").read_bytes(),
    )


@dataclass
class Writer:
    """The responder: a Write for each "write PATH CONTENT" prompt, then a short answer."""

    together: threading.Barrier = field(default_factory=lambda: threading.Barrier(2))
    hold: threading.Event | None = None

    def __call__(self, request: RecordedRequest) -> Reply | None:
        # Claude Code may end the list with a system message of its own: the user's is the news.
        last = [m for m in request.messages if m.get("role") == "user"][-1]
        blocks = _blocks(last)
        if any(b.get("type") == "tool_result" for b in blocks):
            if self.hold is not None and "hold" in _prompt(request):
                self.hold.wait(120)  # kept mid-turn until the test has killed the server
            return text("written")
        said = " ".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        found = _WRITE.search(said)
        if found is None:
            return None
        if "together" in said:
            self.together.wait(60)  # both branches' requests are in flight at once
        return tool_use("Write", {"file_path": found[1], "content": found[2] + "\n"})


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _prompt(request: RecordedRequest) -> str:
    """The text of the turn's user prompt: the last user message with text in it."""
    for message in reversed(request.messages):
        if message.get("role") != "user":
            continue
        said = " ".join(str(b.get("text", "")) for b in _blocks(message) if b.get("type") == "text")
        if _WRITE.search(said):
            return said
    return ""
