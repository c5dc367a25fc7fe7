"""The Claude Code sessions on this machine: the transcript files ``claude --resume``
offers in a directory, and the one a session id names. Files only: no store.

Claude Code keeps a directory's sessions as ``<config dir>/projects/<project
dir>/<session uuid>.jsonl`` (see ``_jsonl``); its resume picker lists them
newest first by the file's modification time, showing each one's first prompt.
Subagents' transcripts live in folders beside them and are not sessions.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ._jsonl import claude_config_dir, project_dir_name

__all__ = ["ClaudeSessionFile", "find_claude_session", "list_claude_sessions", "project_directory"]

# How much of a file is read for its first prompt: a prompt comes in the first
# records, after a few bookkeeping ones; a huge file is not read whole.
_HEAD_BYTES = 1 << 20
PROMPT_CHARS = 200


@dataclass(frozen=True)
class ClaudeSessionFile:
    session_id: str
    path: Path
    size_bytes: int
    modified: float
    first_prompt: str | None


def project_directory(cwd: str | os.PathLike[str], config_dir: Path | None = None) -> Path:
    """Where Claude Code keeps the transcripts of sessions run in ``cwd``."""
    return (config_dir or claude_config_dir()) / "projects" / project_dir_name(cwd)


def list_claude_sessions(
    cwd: str | os.PathLike[str], *, limit: int, config_dir: Path | None = None
) -> tuple[list[ClaudeSessionFile], bool]:
    """Up to ``limit`` of the sessions run in ``cwd``, newest first, and whether there
    are more. Blocking: run it in a worker thread."""
    directory = project_directory(cwd, config_dir)
    found: list[tuple[float, str, os.DirEntry[str]]] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                session_id = _session_id(entry.name)
                if session_id is None or not entry.is_file():
                    continue
                found.append((entry.stat().st_mtime, session_id, entry))
    except FileNotFoundError:
        return [], False
    found.sort(key=lambda row: (row[0], row[1]), reverse=True)
    files = [
        ClaudeSessionFile(
            session_id=session_id,
            path=Path(entry.path),
            size_bytes=entry.stat().st_size,
            modified=modified,
            first_prompt=first_prompt(Path(entry.path)),
        )
        for modified, session_id, entry in found[:limit]
    ]
    return files, len(found) > limit


def find_claude_session(
    session_id: str, cwd: str | os.PathLike[str], config_dir: Path | None = None
) -> Path | None:
    """The transcript of session ``session_id``: under ``cwd``'s project directory,
    else under any project's (a session started in another directory)."""
    name = f"{session_id}.jsonl"
    here = project_directory(cwd, config_dir) / name
    if here.is_file():
        return here
    projects = (config_dir or claude_config_dir()) / "projects"
    return next((path for path in sorted(projects.glob(f"*/{name}")) if path.is_file()), None)


def first_prompt(path: Path) -> str | None:
    """The first thing a person typed in the transcript at ``path``, on one line, cut
    at :data:`PROMPT_CHARS`; None when its first MiB holds none."""
    try:
        with path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
    except OSError:
        return None
    for raw in head.split(b"\n"):
        try:
            record = json.loads(raw)
        except ValueError:
            continue  # a blank line, or the one the read cut
        text = _prompt_text(record)
        if text:
            words = " ".join(text.split())
            return words if len(words) <= PROMPT_CHARS else words[: PROMPT_CHARS - 1] + "…"
    return None


def _prompt_text(record: object) -> str | None:
    if not isinstance(record, dict) or record.get("type") != "user":
        return None
    if record.get("isMeta") or record.get("isSidechain") or record.get("isCompactSummary"):
        return None
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        content = next((text for text in texts if isinstance(text, str)), None)
    if not isinstance(content, str) or content.lstrip().startswith("<"):
        return None  # a tool result, or a command's or the harness's wrapped text
    return content


def _session_id(file_name: str) -> str | None:
    """The session id a transcript's file name holds (Claude names them by uuid)."""
    stem, dot, extension = file_name.rpartition(".")
    if not dot or extension != "jsonl":
        return None
    try:
        return str(uuid.UUID(stem))
    except ValueError:
        return None
