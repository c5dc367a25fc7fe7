"""Bad input gets a clear error before anything is stored (issue 13, items 13-16).

Through a real MCP client (or raw JSON-RPC lines on a real stdio pipe), a real
``session-tree serve`` and real ``claude`` children against the scripted model.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from session_tree.testing import ScriptedModel, child_env, last_user_text, text, tool_use

from .harness import Harness, serve

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

# Linux's MAX_ARG_STRLEN: the most one command-line argument may hold.
MAX_ARG_STRLEN = 128 * 1024


async def test_nul_in_model_system_prompt_or_rule_is_refused_and_nothing_is_stored(
    harness: Harness,
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("model", {"model": "claude\x00-sonnet"}),
        ("system_prompt", {"system_prompt": "be brief\x00"}),
        ("allowed_tools", {"allowed_tools": ["Read", "Bash(ls\x00)"]}),
        ("disallowed_tools", {"disallowed_tools": ["Bash(rm:*)\n"]}),
    ]
    for argument, bad in cases:
        message = await harness.call_error("create", name="nul", **bad)
        assert f"`{argument}`" in message, message
        assert "NUL" in message or "control character" in message, message
        assert "validation error" not in message
    assert (await harness.call("list"))["result"] == []
    await harness.call("create", name="kept", disallowed_tools=["Bash(rm:*)"])
    message = await harness.call_error("configure", name="kept", disallowed_tools=["Write\x00"])
    assert "`disallowed_tools" in message
    assert "NUL" in message
    kept = await harness.call("get", name="kept")
    assert kept["session"]["config"]["disallowed_tools"] == ["Bash(rm:*)"]
    assert (await harness.call("streams", name="kept"))["streams"] == []


async def test_a_prompt_with_nul_reaches_the_model_intact(harness: Harness) -> None:
    await harness.call("create", name="nul-prompt")
    harness.model.push(text("read it"))
    result = await harness.call("chat", name="nul-prompt", prompt="before\x00after")
    assert result["status"] == "completed", result
    (request,) = harness.model.conversation_requests()
    assert last_user_text(request) == "before\x00after"


async def test_a_200000_character_system_prompt_and_9000_rules_reach_the_child(
    tmp_path: Path, harness: Harness
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    prompt = "You are terse. " + "p" * (199_990 - len("You are terse. ")) + "LAST-WORDS"
    assert len(prompt.encode()) > MAX_ARG_STRLEN
    assert len(prompt) <= 200_000
    rules = [f"Read(/nowhere/{i})" for i in range(9000)] + [f"Bash(touch {work}/made)"]
    assert len(",".join(rules)) > MAX_ARG_STRLEN
    await harness.call(
        "create", name="big", cwd=str(work), system_prompt=prompt, allowed_tools=rules
    )
    harness.model.push(tool_use("Bash", {"command": f"touch {work}/made"}), text("done"))
    result = await harness.call("chat", name="big", prompt="touch it")
    assert result["status"] == "completed", result
    first = harness.model.conversation_requests()[0]
    assert "LAST-WORDS" in json.dumps(first.json.get("system"))
    # The one allow rule among 9,000 was honoured: the child ran touch unasked.
    assert (work / "made").exists()
    # The prompt and rules went in files only this user can read.
    (child,) = harness.claude_children()
    files = _option_values(child.cmdline(), ("--system-prompt-file", "--settings"))
    assert len(files) == 2
    assert _modes(files) == [(0o600, 0o700)] * 2
    assert await anyio.Path(files[0]).read_text() == prompt


async def test_the_private_files_are_removed_when_the_server_exits(
    tmp_path: Path, model: ScriptedModel
) -> None:
    async with serve(tmp_path, model) as harness:
        await harness.call("create", name="s", system_prompt="short", allowed_tools=["Read"])
        await harness.call("chat", name="s", prompt="hi")
        (child,) = harness.claude_children()
        files = _option_values(child.cmdline(), ("--system-prompt-file", "--settings"))
        assert files
        assert _existing(files) == files
    assert _existing([os.path.dirname(f) for f in files]) == []


@pytest.mark.sqlite_only(reason="a relative database file is made absolute")
async def test_relative_database_and_cwd_are_stored_absolute(
    tmp_path: Path, model: ScriptedModel
) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()  # HOME of the server (child_env)
    async with serve(tmp_path, model, db_path=Path("st.db")) as harness:
        await harness.call("create", name="rel", cwd="work")
        config = await harness.call("loopback_config", name="rel")
        args = config["mcp_config"]["mcpServers"]["session-tree"]["args"]
        assert args[args.index("--db") + 1] == str(tmp_path / "st.db")
        got = await harness.call("get", name="rel")
        assert got["session"]["config"]["cwd"] == str(tmp_path / "work")
        await harness.call("configure", name="rel", cwd="~")
        got = await harness.call("get", name="rel")
        assert got["session"]["config"]["cwd"] == str(tmp_path / "home")


def _modes(files: list[str]) -> list[tuple[int, int]]:
    """Each file's permission bits and its directory's."""
    return [
        (stat.S_IMODE(os.stat(f).st_mode), stat.S_IMODE(os.stat(os.path.dirname(f)).st_mode))
        for f in files
    ]


def _existing(paths: list[str]) -> list[str]:
    return [path for path in paths if os.path.exists(path)]


def _option_values(cmdline: list[str], flags: tuple[str, ...]) -> list[str]:
    return [cmdline[i + 1] for i, arg in enumerate(cmdline[:-1]) if arg in flags]


# --- raw JSON-RPC over a real stdio pipe --------------------------------------------------


def _request(request_id: int, method: str, params: str) -> bytes:
    return f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{params}}}\n'.encode()


def _call(request_id: int, tool: str, arguments: str) -> bytes:
    return _request(request_id, "tools/call", f'{{"name":"{tool}","arguments":{arguments}}}')


async def test_every_raw_request_gets_an_answer_and_the_server_keeps_serving(
    tmp_path: Path, model: ScriptedModel
) -> None:
    deep = "[" * 5000 + "]" * 5000
    bad_lines = {
        2: _call(2, "create", r'{"name":"s","system_prompt":"\ud800"}'),
        3: _call(3, "get", r'{"name":"x\udc00y"}'),
        4: _call(4, "create", f'{{"name":"s","allowed_tools":{deep}}}'),
        5: b'{"jsonrpc":"2.0","id":5,"params":{}}\n',  # no method
        6: b'{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"list"\n',
    }
    env = child_env(model, tmp_path / "home", inherit=True, max_retries=0)
    env["SESSION_TREE_DB"] = str(tmp_path / "st.db")
    with (tmp_path / "server.log").open("w") as log:
        process = await anyio.open_process(
            [sys.executable, "-m", "session_tree.cli", "serve"],
            env=env,
            cwd=tmp_path,
            stderr=log,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        replies: dict[int, dict[str, Any]] = {}
        buffer = b""

        async def reply_to(request_id: int) -> dict[str, Any]:
            nonlocal buffer
            assert process.stdout is not None
            while request_id not in replies:
                while b"\n" not in buffer:
                    buffer += await process.stdout.receive()
                line, buffer = buffer.split(b"\n", 1)
                message = json.loads(line)
                if "id" in message:
                    replies[message["id"]] = message
            return replies[request_id]

        try:
            with anyio.fail_after(60):
                init = '{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}'
                await process.stdin.send(_request(1, "initialize", init))
                assert "result" in await reply_to(1)
                await process.stdin.send(
                    b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
                )
                for request_id, line in bad_lines.items():
                    await process.stdin.send(line)
                    reply = await reply_to(request_id)
                    assert "error" in reply, reply
                    assert reply["error"]["message"], reply
                assert "surrogate" in replies[2]["error"]["message"]
                assert "\\ud800" in replies[2]["error"]["message"]
                assert "surrogate" in replies[3]["error"]["message"]
                assert "levels deep" in replies[4]["error"]["message"]
                assert "method" in replies[5]["error"]["message"]
                assert replies[6]["error"]["code"] == -32700
                # Nothing was stored, and the server still answers.
                await process.stdin.send(_call(7, "list", "{}"))
                listed = await reply_to(7)
                assert listed["result"]["structuredContent"] == {"result": []}, listed
        finally:
            await process.stdin.aclose()
            with anyio.fail_after(20):
                await process.wait()
    assert process.returncode == 0
