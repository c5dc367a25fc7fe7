"""``export``, ``import`` and the listing of Claude Code's own sessions: branches in and
out as Claude Code JSONL transcripts, through the same service path as the MCP tools."""

from __future__ import annotations

import time
from pathlib import Path

import anyio

from ..service import Library


async def export_file(library: Library, name: str, *, at: int | None, output: Path | None) -> str:
    exported = await library.export(name, at=at)
    path = await anyio.to_thread.run_sync(exported.write, output)
    resume = (
        f"\nResume it with: cd {exported.cwd} && claude --resume {exported.session_id}"
        if output is None
        else ""
    )
    return f"Wrote {len(exported.records)} records to {path}{resume}"


async def import_file(library: Library, path: Path, *, name: str | None) -> str:
    """Import a transcript file, or the Claude Code session a session id names."""
    imported = await library.import_claude_session(str(path), name=name)
    skipped = ", ".join(f"{count} {why}" for why, count in sorted(imported.skipped.items()))
    return (
        f"Imported {imported.messages} messages from {imported.source} as session "
        f"{imported.session.name!r} (head node {imported.session.head_id})"
        + (f"; skipped: {skipped}" if skipped else "")
        + f"\nChat on it through the server, or see it: session-tree tree {imported.session.name}"
    )


async def list_claude_sessions(library: Library, cwd: str | None, *, limit: int) -> str:
    """What ``claude --resume`` offers in ``cwd``, newest first: id, time, size, first prompt."""
    listed = await library.claude_sessions(cwd, limit=limit)
    if not listed.sessions:
        return f"No Claude Code sessions for {listed.cwd} (none in {listed.directory})."
    rows = [
        f"{s.session_id}  {time.strftime('%Y-%m-%d %H:%M', time.localtime(s.modified))}  "
        f"{s.size_bytes:>9,} B  {s.first_prompt or '(no prompt)'}"
        for s in listed.sessions
    ]
    more = f"\n(older ones left out: --limit {limit * 2})" if listed.more else ""
    return "\n".join(rows) + more + "\nImport one with: session-tree import <id>"
