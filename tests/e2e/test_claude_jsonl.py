"""Claude Code transcripts end to end: an exported branch resumed by the real
``claude``, and a transcript the real ``claude`` wrote imported and resumed by
the server's next chat. The scripted model's recorded requests show exactly
what conversation each child was given."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest

from session_tree.models import NodeKind
from session_tree.service import export_branch, import_transcript, project_dir_name
from session_tree.store import Store
from session_tree.testing import (
    ScriptedModel,
    TextBlock,
    ToolUseBlock,
    child_env,
    message,
    text,
    tool_use,
    transcript,
)

from .harness import claude, db_location, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def run_claude(
    model: ScriptedModel, home: Path, config_dir: Path, cwd: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """``claude -p ...`` against the scripted model, with its own config dir."""
    env = child_env(model, home, inherit=True, max_retries=0)
    env["CLAUDE_CONFIG_DIR"] = str(config_dir)
    with anyio.fail_after(90):
        result = await anyio.run_process(
            [claude(), "-p", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-4000:]
    return result


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


async def test_an_exported_fork_resumes_in_claude_with_exactly_its_conversation(
    tmp_path: Path, model: ScriptedModel, workdir: Path
) -> None:
    model.push(tool_use("Bash", {"command": "echo hi"}), text("a1"), text("a2"), text("a3"))
    async with serve(tmp_path, model) as harness:
        await harness.call("create", name="main", cwd=str(workdir), allowed_tools=["Bash"])
        first = await harness.call("chat", name="main", prompt="q1")
        await harness.call("chat", name="main", prompt="q2")
        await harness.call("fork", name="main", new_name="exp", at=first["head_id"])
        await harness.call("chat", name="exp", prompt="q3")
        rendered = await harness.call("render_context", name="exp")
        # A second connection to the database the server is using.
        async with Store.open(harness.db) as store:
            exported = await export_branch(store, "exp")
    config_dir = tmp_path / "claude-config"
    path = exported.write(exported.default_path(config_dir))

    model.push(text("next answer"))
    result = await run_claude(
        model, tmp_path / "home", config_dir, workdir, "--resume", exported.session_id, "q-next"
    )

    assert path.parent.name == project_dir_name(workdir)
    assert "next answer" in result.stdout.decode()
    fork_conversation = [
        ("user", ["q1"]),
        ("assistant", ['[tool_use Bash {"command":"echo hi"}]']),
        ("user", ["[tool_result hi]"]),
        ("assistant", ["a1"]),
        ("user", ["q3"]),
        ("assistant", ["a3"]),
    ]
    assert transcript(rendered["messages"]) == fork_conversation
    assert transcript(model.conversation_requests()[-1]) == [
        *fork_conversation,
        ("user", ["q-next"]),
    ]


async def test_a_transcript_claude_wrote_resumes_in_the_servers_next_chat(
    tmp_path: Path, model: ScriptedModel, workdir: Path
) -> None:
    # The real claude writes a transcript: parallel tool calls, then a resumed turn.
    config_dir = tmp_path / "claude-config"
    home = tmp_path / "home"
    model.push(
        message(
            TextBlock(("two at once",)),
            ToolUseBlock("Bash", {"command": "echo a"}, "toolu_a"),
            ToolUseBlock("Bash", {"command": "echo b"}, "toolu_b"),
        ),
        text("a1"),
        text("a2"),
    )
    first = await run_claude(
        model, home, config_dir, workdir, "q1", "--allowedTools", "Bash", "--output-format", "json"
    )
    session_id = json.loads(first.stdout)["session_id"]
    await run_claude(model, home, config_dir, workdir, "--resume", session_id, "q2")
    claudes_own_request = transcript(model.conversation_requests()[-1])
    path = config_dir / "projects" / project_dir_name(workdir) / f"{session_id}.jsonl"

    db_path = tmp_path / "session-tree.db"
    async with Store.open(db_location(db_path)) as store:
        imported = await import_transcript(store, path, name="imported")
        nodes = await store.nodes.path(imported.session.head_id)
    first_turn_end = next(node.id for node in nodes if node.kind is NodeKind.SUMMARY)
    # Claude's own files go: the database alone must carry the conversation.
    shutil.rmtree(config_dir)

    model.push(text("a3"), text("another way"))
    async with serve(tmp_path, model, db_path=db_path) as harness:
        reply = await harness.call("chat", name="imported", prompt="q3")
        rendered = await harness.call("render_context", name="imported")
        # Each imported turn ends in a summary a fork can start from.
        await harness.call("fork", name="imported", new_name="early", at=first_turn_end)
        await harness.call("chat", name="early", prompt="q2, differently")

    assert reply["status"] == "completed"
    assert reply["text"] == "a3"
    assert claudes_own_request[:2] == [
        ("user", ["q1"]),
        (
            "assistant",
            [
                "two at once",
                '[tool_use Bash {"command":"echo a"}]',
                '[tool_use Bash {"command":"echo b"}]',
            ],
        ),
    ]
    imported_conversation = [*claudes_own_request, ("assistant", ["a2"])]
    resumed, forked = model.conversation_requests()[-2:]
    assert transcript(resumed) == [*imported_conversation, ("user", ["q3"])]
    assert transcript(forked) == [*claudes_own_request[:-1], ("user", ["q2, differently"])]
    assert transcript(rendered["messages"]) == [
        *imported_conversation,
        ("user", ["q3"]),
        ("assistant", ["a3"]),
    ]
    assert imported.skipped.get("attachment record", 0) > 0
