"""A real MCP client talking to a real ``session-tree serve`` whose children
are the real ``claude`` binary, pointed at a scripted model on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import psutil
from mcp.client.session import ClientSession, ElicitationFnT
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import TextContent

from session_tree.agents import claude_binary
from session_tree.store import Store
from session_tree.testing import ScriptedModel, child_env
from session_tree.testing.postgres import Cluster

# SESSION_TREE_TEST_BACKEND=postgresql: every server a test starts keeps its tree in a
# PostgreSQL database of one cluster for the run (conftest.py starts it), one database for
# each database file the test names, so servers given the same file share the database.
# Without it, tests marked both_backends run on both and the others on SQLite.
BACKEND_VAR = "SESSION_TREE_TEST_BACKEND"
BACKEND = os.environ.get(BACKEND_VAR, "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"{BACKEND_VAR} is {BACKEND!r}: set it to sqlite or postgresql")
ON_POSTGRES = BACKEND == "postgresql"


@dataclass
class _Databases:
    # The running test's backend (conftest.py's e2e_backend sets it: both_backends tests).
    backend: str = BACKEND
    cluster: Cluster | None = None
    by_file: dict[Path, str] = field(default_factory=dict)

    def url(self, db_path: Path) -> str:
        """The PostgreSQL database standing for ``db_path`` (made on first use)."""
        if self.cluster is None:
            raise RuntimeError(f"{BACKEND_VAR}=postgresql but no cluster was started")
        key = db_path.absolute()
        if key not in self.by_file:
            self.by_file[key] = self.cluster.new_database()
        return self.by_file[key]


DATABASES = _Databases()


def db_location(db_path: Path) -> str:
    """What a server is given as its database: the file, or on PostgreSQL its database's URL."""
    return DATABASES.url(db_path) if DATABASES.backend == "postgresql" else str(db_path)


@dataclass
class Harness:
    model: ScriptedModel
    client: ClientSession
    db_path: Path
    stderr_path: Path
    # Where the server runs: tells apart two servers on one database.
    cwd: Path | None = None
    # The --db the server was given (a PostgreSQL URL, or the file's path).
    db: str = ""

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Call a tool that must succeed; its structured result."""
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, f"{tool} failed: {_text(result.content)}\n{self.server_log()}"
        structured: dict[str, Any] | None = result.structured_content
        assert structured is not None
        return structured

    async def call_error(self, tool: str, **arguments: Any) -> str:
        """Call a tool that must fail; the error text."""
        result = await self.client.call_tool(tool, arguments)
        assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
        return _text(result.content)

    async def poll_to_end(self, stream_id: int, *, wait_ms: int = 5000) -> list[dict[str, Any]]:
        """Every event of a stream, polling until it has ended and all is read."""
        events: list[dict[str, Any]] = []
        from_seq = 0
        for _ in range(200):
            page = await self.call("poll", stream_id=stream_id, from_seq=from_seq, wait_ms=wait_ms)
            events.extend(page["events"])
            from_seq = page["next_seq"]
            if page["done"]:
                return events
        raise AssertionError(f"stream {stream_id} did not end after 200 polls")

    def server_process(self) -> psutil.Process:
        """The ``session-tree serve`` process behind this client."""
        for process in psutil.Process().children(recursive=True):
            try:
                command = process.cmdline()
                here = self.cwd is None or process.cwd() == str(self.cwd)
                if (self.db or str(self.db_path)) in command and "serve" in command and here:
                    return process
            except psutil.Error:
                continue
        raise AssertionError(f"no server process for {self.db_path}")

    def claude_children(self) -> list[psutil.Process]:
        """The server's own claude children (its warm children), without the claude
        processes they start themselves: Claude Code runs its embedded ripgrep as its
        own binary, now and then, for a moment."""
        server = self.server_process().pid
        found = []
        for process in claude_processes():
            with contextlib.suppress(psutil.Error):
                if process.ppid() == server:
                    found.append(process)
        return found

    def server_log(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-4000:]


async def query(harness: Harness, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read straight from the server's database, on either backend."""
    async with Store.open(harness.db, check_writable=False) as store:
        return [tuple(row) for row in await store.db.all(sql, params)]


def claude() -> str:
    """The binary the server's children run (the server inherits this environment)."""
    binary = claude_binary()
    assert binary is not None, "no claude binary: install claude-agent-sdk with its bundled CLI"
    return binary


def claude_processes() -> list[psutil.Process]:
    """The live ``claude`` processes started (at any depth) by this test process."""
    binary = os.path.realpath(claude())
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if (
                process.status() != psutil.STATUS_ZOMBIE
                and os.path.realpath(process.exe()) == binary
            ):
                found.append(process)
        except psutil.Error:
            continue  # it ended while we looked
    return found


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 30, what: str = "the condition"
) -> None:
    """Wait until ``check()`` is true, re-checking every 50 ms, for at most ``timeout`` s."""
    with anyio.move_on_after(timeout):
        # The state lives in other processes (the server, its children): nothing
        # here to wait on but the next look.
        while not await check():  # noqa: ASYNC110
            await anyio.sleep(0.05)
        return
    raise AssertionError(f"{what} did not hold within {timeout} s")


async def first_delta_stored(harness: Harness, name: str) -> int:
    """Wait until the session's running turn has streamed a text delta; its stream id."""
    found: list[int] = []

    async def streamed() -> bool:
        streams = (await harness.call("streams", name=name))["streams"]
        if not streams:
            return False
        page = await harness.call("poll", stream_id=streams[0]["stream_id"], from_seq=0)
        if any(e["kind"] == "text_delta" for e in page["events"]):
            found.append(streams[0]["stream_id"])
            return True
        return False

    await eventually(streamed, what="a first text delta")
    return found[0]


def _text(content: list[Any]) -> str:
    return "\n".join(block.text for block in content if isinstance(block, TextContent))


@asynccontextmanager
async def serve(
    tmp_path: Path,
    model: ScriptedModel,
    *,
    db_path: Path | None = None,
    db_url: str | None = None,
    env: dict[str, str] | None = None,
    max_retries: int | None = 0,
    elicitation_callback: ElicitationFnT | None = None,
) -> AsyncIterator[Harness]:
    db_path = db_path or tmp_path / "session-tree.db"
    stderr_path = tmp_path / f"server-{db_path.stem}.log"
    # A PostgreSQL database's URL, when given, is the database instead of the file.
    db = db_url or db_location(db_path)
    server_env = child_env(model, tmp_path / "home", inherit=True, max_retries=max_retries)
    server_env |= {"SESSION_TREE_DB": db, **(env or {})}
    params = StdioServerParameters(
        command=sys.executable,
        # --db repeats SESSION_TREE_DB so that the process can be told apart (server_process).
        args=["-m", "session_tree.cli", "serve", "--db", db, "--log-level", "DEBUG"],
        env=server_env,
        cwd=str(tmp_path),
    )
    async with AsyncExitStack() as stack:
        errlog: TextIO = stack.enter_context(stderr_path.open("w"))
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        client = await stack.enter_async_context(
            ClientSession(read, write, elicitation_callback=elicitation_callback)
        )
        await client.initialize()
        yield Harness(
            model=model,
            client=client,
            db_path=db_path,
            stderr_path=stderr_path,
            cwd=tmp_path,
            db=db,
        )
