"""``session-tree demo``: the whole thing, offline, in under a minute.

A real ``session-tree serve`` with a real MCP client and real ``claude``
children, against the scripted model of :mod:`session_tree.testing` instead of
the API (no key needed): two children, a fork, a tool call the parent
approves, a branch rendered, and the tree drawn. Each step prints the tool
call and what came back.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import TextContent

from ..models import TreeView
from ..testing import (
    RecordedRequest,
    Reply,
    ScriptedModel,
    child_env,
    last_user_text,
    text,
    tool_use,
)
from ._drawing import draw_tree

Say = Callable[[str], None]


def _answers(notes: Path) -> Callable[[RecordedRequest], Reply | None]:
    """What the scripted model says, by the last thing it was told."""

    def answer(request: RecordedRequest) -> Reply:
        said = last_user_text(request)
        if said.startswith("Write your findings"):
            return tool_use("Write", {"file_path": str(notes), "content": "SQLite, WAL mode.\n"})
        if "File created" in said or "written" in said.lower():
            return text(f"Saved my findings to {notes.name}.")
        if said.startswith("Which database"):
            return text("SQLite: one file, no server, and WAL lets readers run beside a writer.")
        if said.startswith("What if"):
            return text("Then PostgreSQL: more to run, but many writers at once.")
        if said.startswith("Draft"):
            return text("session-tree keeps every conversation as a tree you can branch.")
        return text(f"(scripted) {said[:60]}")

    return answer


class _Parent:
    """The demo's parent agent: calls tools and shows each call."""

    def __init__(self, client: ClientSession, say: Say) -> None:
        self.client = client
        self.say = say

    async def call(self, tool: str, *, quiet: bool = False, **arguments: Any) -> dict[str, Any]:
        if not quiet:
            shown = ", ".join(f"{k}={json.dumps(v)[:50]}" for k, v in arguments.items())
            self.say(f"\n> {tool}({shown})")
        result = await self.client.call_tool(tool, arguments)
        body = "\n".join(b.text for b in result.content if isinstance(b, TextContent))
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {body}")
        structured: dict[str, Any] = result.structured_content or {}
        return structured


async def demo(say: Say) -> int:
    with tempfile.TemporaryDirectory(prefix="session-tree-demo-") as scratch:
        root = Path(scratch)
        work = root / "work"
        work.mkdir()
        notes = work / "notes.md"
        with ScriptedModel(responder=_answers(notes)) as model:
            env = child_env(model, root / "home", inherit=True, max_retries=0)
            params = StdioServerParameters(
                command=sys.executable,
                args=["-m", "session_tree.cli", "serve", "--db", str(root / "demo.db")],
                env=env,
                cwd=str(work),
            )
            with (root / "server.log").open("w") as errlog:
                async with (
                    stdio_client(params, errlog=errlog) as (read, write),
                    ClientSession(read, write) as client,
                ):
                    await client.initialize()
                    await _scenario(_Parent(client, say), work, notes, say)
    return 0


async def _scenario(parent: _Parent, work: Path, notes: Path, say: Say) -> None:
    say("session-tree demo: a parent agent runs two children against a scripted model.")
    await parent.call("create", name="researcher", cwd=str(work), loopback=True)
    await parent.call("create", name="writer", cwd=str(work))

    reply = await parent.call("chat", name="researcher", prompt="Which database should we use?")
    say(f"  researcher: {reply['text']}")
    reply = await parent.call("chat", name="writer", prompt="Draft a one-line intro.")
    say(f"  writer: {reply['text']}")

    fork = await parent.call("fork", name="researcher", new_name="researcher-alt")
    say(f"  researcher-alt branches off at node {fork['head_id']}; nothing is copied")
    reply = await parent.call("chat", name="researcher-alt", prompt="What if we need many writers?")
    say(f"  researcher-alt: {reply['text']}")

    started = await parent.call(
        "chat_async", name="researcher", prompt="Write your findings to notes.md."
    )
    pending = await parent.call("loopback_pending", wait_ms=30_000)
    approval = pending["approvals"][0]
    say(f"  the child asks to run {approval['tool_name']} on {approval['input']['file_path']}")
    await parent.call("loopback_respond", approval_id=approval["id"], decision="allow")
    say(f"\n> poll(stream_id={started['stream_id']}, from_seq=..., wait_ms=10000) until done")
    events: list[dict[str, Any]] = []
    seq = 0
    while True:
        page = await parent.call(
            "poll", quiet=True, stream_id=started["stream_id"], from_seq=seq, wait_ms=10_000
        )
        events += page["events"]
        seq = page["next_seq"]
        if page["done"]:
            break
    say(
        f"  turn {page['status']} after {len(events)} events; {notes.name} holds: "
        f"{(await anyio.Path(notes).read_text()).strip()!r}"
    )

    rendered = await parent.call("render_context", name="researcher")
    for message in rendered["messages"]:
        first = message["content"][0]
        gist = first.get("text") or first.get("name") or first.get("type")
        say(f"  {message['role']:<9} {str(gist)[:70]}")

    view = await parent.call("tree", name="researcher")
    say("")
    for line in draw_tree(TreeView.model_validate(view["tree"]), only="researcher"):
        say(line)
    say("\nEvery branch above lives in one SQLite file; run `session-tree --help` for more.")
