"""``ls``, ``show``, ``tree`` and ``render``: a database read from the terminal.

They read through the service's library (a running server may share the file)
and write plain text, or JSON where a program will read it.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

from ..errors import InvalidArgument, NodeNotInTree
from ..models import Session
from ..service import Library
from ._drawing import draw_tree


def _ago(timestamp: float) -> str:
    seconds = max(0, int(time.time() - timestamp))
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


async def ls(library: Library) -> str:
    sessions = await library.sessions()
    if not sessions:
        return "No sessions yet. Add session-tree to your MCP client and call create."
    rows = [("NAME", "STATUS", "TURNS", "HEAD", "FORKED FROM", "UPDATED")]
    for s in sorted(sessions, key=lambda s: s.name):
        fork = f"{s.forked_from}@{s.fork_node_id}" if s.forked_from else ""
        rows.append(
            (s.name, s.status, str(s.usage.turns), str(s.head_id), fork, _ago(s.updated_at))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


async def show(library: Library, name: str) -> str:
    overview = await library.show(name, recent=5)
    session, streams = overview.session, overview.recent_streams
    lines = [
        f"session {session.name}",
        f"  status        {session.status}",
        f"  head          node {session.head_id} (tree {session.tree_id})",
        f"  forked from   {_fork(session)}",
        f"  claude id     {session.claude_session_id or '-'}",
        f"  turns         {session.usage.turns}, "
        f"{session.usage.input_tokens} in / {session.usage.output_tokens} out tokens, "
        f"${session.usage.cost_usd:.4f}",
        f"  created       {_ago(session.created_at)}, updated {_ago(session.updated_at)}",
        "  config",
    ]
    config = session.config.model_dump(exclude_defaults=True, exclude={"env"})
    lines += [f"    {key:<20}{value}" for key, value in config.items()] or ["    (defaults)"]
    lines.append("  recent turns")
    for stream in streams:
        error = f"  {stream.error}" if stream.error else ""
        lines.append(
            f"    stream {stream.id:<6}{stream.status:<20}{_ago(stream.created_at)}{error}"
        )
    if not streams:
        lines.append("    (none)")
    return "\n".join(lines)


def _fork(session: Session) -> str:
    if not session.forked_from:
        return "-"
    return f"{session.forked_from} at node {session.fork_node_id}"


async def tree(library: Library, name: str) -> str:
    view = await library.tree(name)
    width = shutil.get_terminal_size((100, 24)).columns
    return "\n".join(draw_tree(view, width=width, only=name))


async def render_branch(library: Library, name: str, *, at: int | None, as_json: bool) -> str:
    try:
        messages = await library.render(name, at=at)
    except NodeNotInTree as exc:
        # The same fact, with the advice a person at a terminal can follow.
        raise InvalidArgument(
            f"Node {exc.node_id} is not in the tree of session {name!r}; "
            f"see: session-tree tree {name}"
        ) from exc
    if as_json:
        return json.dumps([m.model_dump(exclude={"node_ids"}) for m in messages], indent=2)
    return "\n\n".join(f"## {m.role}\n" + "\n".join(_block(b) for b in m.content) for m in messages)


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block["text"])
    if kind == "thinking":
        return f"[thinking] {block.get('thinking', '')}"
    if kind == "tool_use":
        return f"[tool_use {block['name']}] {json.dumps(block['input'], ensure_ascii=False)}"
    if kind == "tool_result":
        error = " error" if block.get("is_error") else ""
        content = block.get("content")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return f"[tool_result{error}] {text}"
    return f"[{kind}]"
