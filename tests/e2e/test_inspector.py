"""A client nobody here wrote: the MCP Inspector's CLI lists the tools and calls ``list``
against ``session-tree serve``. Node and npm come with the machine; npx fetches the
Inspector (pinned: 2.12.0 is the newest that runs on Node 20) from the npm registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"


def inspector(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    assert npx, "npx not found: install Node.js (the Inspector runs on it)"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SESSION_TREE_")}
    env |= {"npm_config_yes": "true", "npm_config_update_notifier": "false"}
    server = [sys.executable, "-m", "session_tree.cli", "--db", str(db), "serve"]
    return subprocess.run(
        [npx, "-y", INSPECTOR, "--cli", "-q", "--format", "json", *args, "--", *server],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_mcp_inspector_lists_the_tools_and_calls_list(tmp_path: Path) -> None:
    db = tmp_path / "inspected.db"

    listed = inspector(tmp_path, db, "--method", "tools/list")
    called = inspector(tmp_path, db, "--method", "tools/call", "--tool-name", "list")
    unknown = inspector(
        tmp_path, db, "--method", "tools/call", "--tool-name", "get", "--tool-arg", "name=nope"
    )

    assert listed.returncode == 0, listed.stderr[-2000:]
    tools = {tool["name"] for tool in json.loads(listed.stdout)["result"]["tools"]}
    assert {"create", "chat", "chat_async", "poll", "fork", "render_context", "tree"} <= tools
    assert {"loopback_pending", "loopback_respond", "list", "delete"} <= tools
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)["result"]
    assert result["isError"] is False
    assert result["structuredContent"] == {"result": []}
    # A tool error reaches this client as one too: exit 5, with our message.
    assert unknown.returncode == 5
    assert "No session named 'nope'" in unknown.stdout
