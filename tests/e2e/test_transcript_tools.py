"""Claude Code's own sessions as tools, through the real MCP client: a transcript the real
``claude`` wrote is listed, imported, chatted on and exported back where ``claude
--resume`` finds it; and the context a branch takes, in get, grows turn over turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from session_tree.service import project_dir_name
from session_tree.testing import ScriptedModel, text, tool_use, transcript
from session_tree.testing._sse import estimate_tokens

from .harness import Harness, serve
from .test_claude_jsonl import run_claude

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_context_in_use_grows_turn_over_turn_and_counts_only_the_last_request(
    harness: Harness, model: ScriptedModel, tmp_path: Path
) -> None:
    model.push(text("a1 " * 40), tool_use("Bash", {"command": "echo hi"}), text("a2 " * 40))
    model.push(text("a3 " * 40))
    await harness.call("create", name="main", cwd=str(tmp_path), allowed_tools=["Bash"])
    empty = await harness.call("get", name="main")
    contexts: list[dict[str, Any]] = []
    usages: list[dict[str, Any]] = []
    for prompt in ("q1", "q2: run echo", "q3"):
        await harness.call("chat", name="main", prompt=prompt)
        info = await harness.call("get", name="main")
        contexts.append(info["context"])
        usages.append(info["head_turn_usage"])

    tokens = [context["tokens"] for context in contexts]
    assert empty["context"] is None
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 3
    last_request = model.conversation_requests()[-1]
    last_reply = [{"type": "text", "text": "a3 " * 40}]
    # What the last request sent plus its reply, as the scripted model counted them.
    assert tokens[-1] == estimate_tokens(last_request.messages) + estimate_tokens(last_reply)
    # The tool call's turn made two requests: its summed usage counts the history twice.
    assert usages[1]["input_tokens"] > tokens[1]
    assert contexts[-1]["model"] == last_request.model
    assert contexts[-1]["window"] > 0
    assert contexts[-1]["percent"] == round(100 * tokens[-1] / contexts[-1]["window"], 1)


async def test_a_terminal_session_is_listed_imported_chatted_on_and_exported(
    tmp_path: Path, model: ScriptedModel
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    home = tmp_path / "home"
    config_dir = home / ".claude"  # where the server and its children look (child_env)
    model.push(text("a1"), text("a2"))
    first = await run_claude(
        model, home, config_dir, workdir, "fix the login bug", "--output-format", "json"
    )
    terminal_id = json.loads(first.stdout)["session_id"]
    await run_claude(model, home, config_dir, workdir, "--resume", terminal_id, "and the tests")
    claudes_own = transcript(model.conversation_requests()[-1])

    model.push(text("a3"))
    async with serve(tmp_path, model) as harness:
        before = await harness.call("claude_sessions", cwd=str(workdir))
        # By id alone: the server runs elsewhere, so the id is found under its own project.
        imported = await harness.call("import_claude_session", source=terminal_id, name="login")
        reply = await harness.call("chat", name="login", prompt="q3")
        exported = await harness.call("export_claude_session", name="login")
        after = await harness.call("claude_sessions", cwd=str(workdir))
        missing = await harness.call_error("import_claude_session", source=str(tmp_path / "x"))

    project = config_dir / "projects" / project_dir_name(workdir)
    assert before["directory"] == str(project)
    assert [(s["session_id"], s["first_prompt"]) for s in before["sessions"]] == [
        (terminal_id, "fix the login bug")
    ]
    assert before["sessions"][0]["size_bytes"] == (project / f"{terminal_id}.jsonl").stat().st_size

    assert imported["session"]["name"] == "login"
    assert imported["session"]["config"]["cwd"] == str(workdir.resolve())
    assert imported["source_session_id"] == terminal_id
    assert reply["status"] == "completed"
    assert reply["text"] == "a3"
    assert transcript(model.conversation_requests()[-1]) == [
        *claudes_own,
        ("assistant", ["a2"]),
        ("user", ["q3"]),
    ]

    path = Path(exported["path"])
    assert path == project / f"{exported['claude_session_id']}.jsonl"
    assert exported["resume"] == (
        f"cd {workdir.resolve()} && claude --resume {exported['claude_session_id']}"
    )
    # The server's children keep their transcripts in its database, not here.
    assert [s["session_id"] for s in after["sessions"]] == [
        exported["claude_session_id"],
        terminal_id,
    ]
    assert after["sessions"][0]["first_prompt"] == "fix the login bug"
    assert "cannot be read" in missing

    # The person carries it on in a terminal: claude sees the whole conversation.
    model.push(text("a4"))
    await run_claude(
        model, home, config_dir, workdir, "--resume", exported["claude_session_id"], "q4"
    )
    assert transcript(model.conversation_requests()[-1]) == [
        *claudes_own,
        ("assistant", ["a2"]),
        ("user", ["q3"]),
        ("assistant", ["a3"]),
        ("user", ["q4"]),
    ]
