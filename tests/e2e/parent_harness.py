"""The real ``claude`` as the PARENT of ``session-tree serve``, both against one scripted model.

The parent's model is a generator: it yields the parent's next reply (a tool call
or its final text) and is sent what the parent's Claude Code showed it of the
last tool result (Claude Code shows ``JSON.stringify(structuredContent)``, so
that is parsed back to a dict; an error or a ToolSearch result stays raw). The
children's replies are a plain FIFO. A header tells their requests apart: the
parent sends ``x-session-tree-role: parent``; the server, and so every child it
starts, gets ``child`` through the MCP config's env (a child would otherwise
inherit the parent's header, since Claude Code starts the server with its env).
"""

from __future__ import annotations

import collections
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_tree.testing import RecordedRequest, Reply, ScriptedModel, child_env, text

from .harness import claude

ROLE_HEADER = "x-session-tree-role"
SERVER = "session-tree"

# What the parent's model is sent: a tool result parsed, or its raw form.
Seen = Any
ParentScript = Generator[Reply, Seen, None]


def tool(name: str) -> str:
    """A session-tree tool's name as the parent's model calls it."""
    return f"mcp__{SERVER}__{name}"


@dataclass
class Roles:
    """The responder that answers the parent from its script and children from theirs."""

    parent: ParentScript
    children: collections.deque[Reply] = field(default_factory=collections.deque)
    parent_requests: list[RecordedRequest] = field(default_factory=list)
    child_requests: list[RecordedRequest] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: bool = False

    def __call__(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            if request.headers.get(ROLE_HEADER) != "parent":
                self.child_requests.append(request)
                return self.children.popleft() if self.children else None
            self.parent_requests.append(request)
            try:
                if not self._started:
                    self._started = True
                    return next(self.parent)
                shown = last_tool_result(request)
                self.seen.append(shown)
                return self.parent.send(shown)
            except StopIteration:
                return text("parent: done")


def last_tool_result(request: RecordedRequest) -> Seen:
    """What the parent's model was shown of its latest tool call (Claude Code may add a
    system message after it, e.g. a nudge to keep the user updated)."""
    blocks = [
        block
        for message in request.messages
        if message.get("role") == "user" and isinstance(message.get("content"), list)
        for block in message["content"]
    ]
    for block in reversed(blocks):
        if isinstance(block, dict) and block.get("type") == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                texts = [b.get("text") for b in content if b.get("type") == "text"]
                content = "\n".join(t for t in texts if isinstance(t, str)) if texts else content
            if block.get("is_error"):
                return {"is_error": True, "content": content}
            if isinstance(content, str):
                try:
                    return json.loads(content)
                except json.JSONDecodeError:
                    return content
            return content
    return None


@dataclass(frozen=True)
class ParentRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    mcp_log: str

    @property
    def result(self) -> dict[str, Any]:
        (final,) = [e for e in self.events if e.get("type") == "result"]
        return final


def run_parent(
    tmp_path: Path,
    model: ScriptedModel,
    *,
    tool_timeout_ms: int,
    timeout_s: float = 120,
    server_env: Mapping[str, str] | None = None,
) -> ParentRun:
    """``claude -p`` with session-tree as its only MCP server; its stream-json events."""
    env = _parent_env(tmp_path, model, tool_timeout_ms)
    config_path, mcp_log = _mcp_config(tmp_path, server_env)
    completed = subprocess.run(
        [
            claude(),
            "-p",
            "orchestrate the children",
            "--output-format",
            "stream-json",
            "--verbose",
            "--mcp-config",
            str(config_path),
            "--strict-mcp-config",
            "--allowedTools",
            f"mcp__{SERVER}",
        ],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    events = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    log = mcp_log.read_text(errors="replace") if mcp_log.exists() else ""
    return ParentRun(completed.returncode, events, completed.stderr, log)


@dataclass(frozen=True)
class InteractiveRun:
    screen: str
    mcp_log: str


def run_interactive_parent(
    tmp_path: Path,
    model: ScriptedModel,
    done: threading.Event,
    *,
    final_text: str,
    tool_timeout_ms: int,
    timeout_s: float = 120,
    logged: Callable[[str], bool] | None = None,
) -> InteractiveRun:
    """Claude Code as a person runs it (no -p), in a tmux pane: sent the prompt as keys,
    run until ``done`` is set (the parent's script reached its last reply, ``final_text``)
    and that reply is on the screen, or ``timeout_s``; then, with ``logged``, until the
    server's log satisfies it (at most 20 s). The last screen and the server's log."""
    env = _parent_env(tmp_path, model, tool_timeout_ms)
    config_path, mcp_log = _mcp_config(tmp_path, None)
    home = Path(env["HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # What a person answers once: onboarding, this API key, trust in the folder.
    key = env["ANTHROPIC_API_KEY"]
    state = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
        "projects": {str(tmp_path): {"hasTrustDialogAccepted": True}},
    }
    (home / ".claude").mkdir(exist_ok=True)
    for place in (home / ".claude.json", home / ".claude" / ".claude.json"):
        place.write_text(json.dumps(state))
    session = f"st-parent-{os.getpid()}-{tmp_path.name}"[:60]
    variables = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    command = [
        claude(),
        "--mcp-config",
        str(config_path),
        "--strict-mcp-config",
        "--allowedTools",
        f"mcp__{SERVER}",
    ]
    tmux = ["tmux", "-L", session]  # a server of our own: nothing of anyone else's is touched
    where = ["-s", session, "-x", "200", "-y", "50", "-c", str(tmp_path)]
    subprocess.run(
        [*tmux, "new-session", "-d", *where, *variables, shlex.join(command)],
        check=True,
        env=env,
    )
    try:
        ready = _until_screen(tmux, session, lambda screen: "\u276f" in screen, 60)
        assert ready is not None, "Claude Code never showed its prompt"
        subprocess.run([*tmux, "send-keys", "-t", session, "orchestrate the children"], check=True)
        subprocess.run([*tmux, "send-keys", "-t", session, "Enter"], check=True)
        done.wait(timeout_s)
        final = _until_screen(tmux, session, lambda screen: final_text in screen, 30)
        screen = final if final is not None else _screen(tmux, session)
        if logged is not None:
            # What Claude Code sends the server after its model's last reply, within a bound.
            _until(lambda: logged(mcp_log.read_text(errors="replace")), 20)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
    log = mcp_log.read_text(errors="replace") if mcp_log.exists() else ""
    return InteractiveRun(screen, log)


def _until(holds: Callable[[], bool], bound_s: float) -> bool:
    ends = time.monotonic() + bound_s
    while time.monotonic() < ends:
        if holds():
            return True
        time.sleep(0.2)
    return False


def _until_screen(
    tmux: list[str], session: str, shown: Callable[[str], bool], bound_s: float
) -> str | None:
    ends = time.monotonic() + bound_s
    while time.monotonic() < ends:
        screen = _screen(tmux, session)
        if shown(screen):
            return screen
        time.sleep(0.2)
    return None


def _screen(tmux: list[str], session: str) -> str:
    shown = subprocess.run(
        [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=False
    )
    return shown.stdout


def _parent_env(tmp_path: Path, model: ScriptedModel, tool_timeout_ms: int) -> dict[str, str]:
    env = child_env(model, tmp_path / "parent-home", inherit=True, max_retries=0)
    return env | {
        "ANTHROPIC_CUSTOM_HEADERS": f"{ROLE_HEADER}: parent",
        "MCP_TOOL_TIMEOUT": str(tool_timeout_ms),
    }


def _mcp_config(tmp_path: Path, server_env: Mapping[str, str] | None) -> tuple[Path, Path]:
    """The MCP config that starts session-tree serve, and where its stderr goes."""
    db = tmp_path / "session-tree.db"
    mcp_log = tmp_path / "server.log"
    config = {
        "mcpServers": {
            SERVER: {
                # Through sh only to keep the server's stderr for a failing test's message.
                "command": "/bin/sh",
                "args": [
                    "-c",
                    f'exec "$0" "$@" 2>>"{mcp_log}"',
                    sys.executable,
                    *("-m", "session_tree.cli", "serve", "--db", str(db), "--log-level", "DEBUG"),
                ],
                "env": {"ANTHROPIC_CUSTOM_HEADERS": f"{ROLE_HEADER}: child", **(server_env or {})},
            }
        }
    }
    config_path = tmp_path / "mcp.json"
    config_path.write_text(json.dumps(config))
    return config_path, mcp_log


__all__ = [
    "InteractiveRun",
    "ParentRun",
    "ParentScript",
    "Roles",
    "Seen",
    "last_tool_result",
    "run_interactive_parent",
    "run_parent",
    "tool",
]
