"""``export`` and ``import``: branches in and out as Claude Code JSONL transcripts."""

from __future__ import annotations

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
    imported = await library.import_transcript(path, name=name)
    skipped = ", ".join(f"{count} {why}" for why, count in sorted(imported.skipped.items()))
    return (
        f"Imported {imported.messages} messages from {path} as session "
        f"{imported.session.name!r} (head node {imported.session.head_id})"
        + (f"; skipped: {skipped}" if skipped else "")
        + f"\nChat on it through the server, or see it: session-tree tree {imported.session.name}"
    )
