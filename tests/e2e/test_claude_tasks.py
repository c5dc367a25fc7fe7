"""Interactive Claude Code (no -p) declares the Tasks extension: its chat is a task.

claude 2.1.332 in print mode declares only roots and elicitation; run as a
person runs it, in a terminal, it adds ``io.modelcontextprotocol/tasks`` to
every request's capabilities (its own gate: the ``cli`` entrypoint, not
remote, and ``CLAUDE_CODE_DISABLE_MCP_TASKS`` unset). Driven here in a tmux
pane against the scripted model, which scripts the parent's tool calls.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from session_tree.testing import ScriptedModel, text, tool_use

from .parent_harness import ParentScript, Roles, run_interactive_parent, tool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="needs tmux (scripts/test installs it)"
    ),
]

TOOL_TIMEOUT_MS = 4000
FINAL = "the task came back"


def test_interactive_claude_code_takes_a_chat_as_a_task(tmp_path: Path) -> None:
    observed: dict[str, Any] = {}
    done = threading.Event()

    def script() -> ParentScript:
        names = ",".join(tool(name) for name in ("create", "chat"))
        found = yield tool_use("ToolSearch", {"query": f"select:{names}"})
        while isinstance(found, str) and "still connecting" in found:
            found = yield tool_use("ToolSearch", {"query": f"select:{names}"})
        yield tool_use(tool("create"), {"name": "main", "cwd": str(tmp_path)})
        observed["chat"] = yield tool_use(tool("chat"), {"name": "main", "prompt": "slowly"})
        # The task runs in the background; Claude Code tells the model when it ends.
        yield text("waiting for the child")
        observed["notified"] = roles.parent_requests[-1]
        done.set()
        yield text(FINAL)

    roles = Roles(script())
    # About 6 s: past the parent's 4 s tool timeout, which a task is not bound by.
    roles.children.append(text(*[f"part {i} " for i in range(6)], delay_s=1.0))
    with ScriptedModel(responder=roles) as model:
        run = run_interactive_parent(
            tmp_path, model, done, final_text=FINAL, tool_timeout_ms=TOOL_TIMEOUT_MS
        )

    context = f"seen: {roles.seen}\nscreen:\n{run.screen}\nserver: {run.mcp_log[-4000:]}"
    assert done.is_set(), context
    # Claude Code took the task, and told its model so, at once.
    assert "started server-side task" in observed["chat"], context
    task_id = observed["chat"].split("server-side task ", 1)[1].split(".", 1)[0]
    notified = json.dumps(observed["notified"].messages[-1])
    assert task_id in notified or "part 5" in notified, notified
    assert "part 0 part 1 part 2 part 3 part 4 part 5" in notified, notified
    # It followed the task with tasks/get (the server logs each at DEBUG) to its end.
    assert f"tasks/get {task_id}: working" in run.mcp_log, context
    assert f"tasks/get {task_id}: completed" in run.mcp_log, context


def test_claude_codes_taskstop_cancels_the_task_and_interrupts_the_turn(tmp_path: Path) -> None:
    observed: dict[str, Any] = {}
    done = threading.Event()
    gate = threading.Event()

    def script() -> ParentScript:
        names = ",".join(tool(name) for name in ("create", "chat"))
        found = yield tool_use("ToolSearch", {"query": f"select:{names}"})
        while isinstance(found, str) and "still connecting" in found:
            found = yield tool_use("ToolSearch", {"query": f"select:{names}"})
        yield tool_use(tool("create"), {"name": "main", "cwd": str(tmp_path)})
        started = yield tool_use(tool("chat"), {"name": "main", "prompt": "never ends"})
        observed["chat"] = started
        (background,) = re.findall(r'TaskStop with task_id "([^"]+)"', str(started))
        observed["stopped"] = yield tool_use("TaskStop", {"task_id": background})
        done.set()
        yield text(FINAL)

    roles = Roles(script())
    roles.children.append(text("held ", "forever", gate=gate, gate_after_deltas=1))
    try:
        with ScriptedModel(responder=roles) as model:
            run = run_interactive_parent(
                tmp_path,
                model,
                done,
                final_text=FINAL,
                tool_timeout_ms=TOOL_TIMEOUT_MS,
                logged=lambda log: "tasks/cancel" in log,
            )
    finally:
        gate.set()

    context = f"seen: {roles.seen}\nscreen:\n{run.screen}\nserver: {run.mcp_log[-4000:]}"
    assert done.is_set(), context
    task_id = observed["chat"].split("server-side task ", 1)[1].split(".", 1)[0]
    # TaskStop is Claude Code's tasks/cancel, and the turn it cancels is interrupted.
    assert f"tasks/cancel {task_id}: interrupted" in run.mcp_log, context
