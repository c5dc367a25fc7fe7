"""A 2026-07-28 MCP client in plain JSON-RPC over stdio, for what the mcp Python client lacks.

It speaks the revision as Claude Code does (no initialize; the protocol
version, client info and capabilities in every request's ``_meta``) and can
declare the Tasks extension, which the mcp Python client cannot drive
(it has no tasks/get). Each request waits for its own answer; notifications
are kept in order.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

from session_tree.testing import ScriptedModel, child_env

from .harness import db_location

TASKS = "io.modelcontextprotocol/tasks"
VERSION = "2026-07-28"


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        self.code: int = error["code"]
        self.message: str = error["message"]
        super().__init__(f"{self.code}: {self.message}")


@dataclass
class ModernClient:
    process: Process
    capabilities: dict[str, Any]
    stderr_path: Path
    notifications: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _buffer: str = ""

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request; its result (RpcError for an error answer)."""
        request_id = next(self._ids)
        meta = {
            "io.modelcontextprotocol/protocolVersion": VERSION,
            "io.modelcontextprotocol/clientInfo": {"name": "modern-test", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": self.capabilities,
        }
        body = {**(params or {})}
        body["_meta"] = {**meta, **body.get("_meta", {})}
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": body})
        assert self.process.stdin is not None
        await self.process.stdin.send((line + "\n").encode())
        with anyio.fail_after(60):
            while True:
                message = await self._next()
                if message.get("id") != request_id:
                    self.notifications.append(message)
                    continue
                if "error" in message:
                    raise RpcError(message["error"])
                result: dict[str, Any] = message["result"]
                return result

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """tools/call's raw result: a CallToolResult, a task, or an input_required result."""
        return await self.request("tools/call", {"name": tool, "arguments": arguments})

    async def _next(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while "\n" not in self._buffer:
            chunk = await self.process.stdout.receive()
            self._buffer += chunk.decode()
        line, self._buffer = self._buffer.split("\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def server_log(self) -> str:
        return self.stderr_path.read_text()


@asynccontextmanager
async def modern_serve(
    tmp_path: Path,
    model: ScriptedModel,
    *,
    tasks: bool = True,
    elicitation: bool = True,
    db_path: Path | None = None,
) -> AsyncIterator[ModernClient]:
    """``session-tree serve`` with a 2026-07-28 client that declares the Tasks extension
    (``tasks``) and form elicitation (``elicitation``)."""
    db_path = db_path or tmp_path / "session-tree.db"
    stderr_path = tmp_path / f"server-modern-{db_path.stem}.log"
    env = child_env(model, tmp_path / "home", inherit=True, max_retries=0)
    env["SESSION_TREE_DB"] = db = db_location(db_path)
    capabilities: dict[str, Any] = {}
    if elicitation:
        capabilities["elicitation"] = {"form": {}}
    if tasks:
        capabilities["extensions"] = {TASKS: {}}
    with stderr_path.open("a") as errlog:
        command = [sys.executable, "-m", "session_tree.cli", "serve", "--db", db]
        process = await anyio.open_process(command, env=env, cwd=tmp_path, stderr=errlog)
        client = ModernClient(process, capabilities, stderr_path)
        try:
            await client.request("server/discover")
            yield client
        finally:
            assert process.stdin is not None
            await process.stdin.aclose()
            with anyio.fail_after(20):
                await process.wait()


async def until_task(
    client: ModernClient, task_id: str, *statuses: str, bound_s: float = 60
) -> dict[str, Any]:
    """tasks/get until the task is in one of ``statuses``."""
    return await until_seen(client, task_id, lambda task: task["status"] in statuses, bound_s)


async def until_seen(
    client: ModernClient,
    task_id: str,
    seen: Callable[[dict[str, Any]], bool],
    bound_s: float = 60,
) -> dict[str, Any]:
    """tasks/get until ``seen`` holds for the task, pausing as its poll interval asks (at most
    0.2 s here), as a client of the extension does."""
    with anyio.fail_after(bound_s):
        while True:
            task = await client.request("tasks/get", {"taskId": task_id})
            if seen(task):
                return task
            await anyio.sleep(min(task.get("pollIntervalMs", 200), 200) / 1000)


__all__ = ["TASKS", "ModernClient", "RpcError", "modern_serve", "until_seen", "until_task"]
