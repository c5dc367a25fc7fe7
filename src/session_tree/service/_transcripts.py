"""Branches in and out of Claude Code's own transcript files (JSONL), against the store.

**Export** turns a branch (root to a session's head, or to any node of its
tree) into a transcript that ``claude --resume <id>`` accepts, so a person can
carry on a child's conversation in their own Claude Code. **Import** reads a
transcript Claude Code wrote and makes a new tree and session of it, which the
server's next ``chat`` resumes like any other. The format itself is in
``_jsonl`` (written) and ``_jsonl_parse`` (read).

How an imported session resumes: the import leaves what real turns would have
left (see ``_jsonl_parse``): each turn ends in a summary node holding a Claude
session id and the uuid of its last assistant record. That session id is
fresh, and under it the transcript mirror (the Agent SDK ``SessionStore`` in
the database) gets this module's own export of the imported branch, written
before the session exists. So the next chat resumes it like any turn's summary
(``resume`` + ``resume_session_at`` + ``fork_session``), with or without the
original file, and the child sees exactly what ``render_context`` shows:
nothing that was dropped leaks back in.

The MCP tools and the command line share this path: :func:`claude_sessions`
lists what ``claude --resume`` offers in a directory (``_claude_sessions``),
:func:`import_claude_session` imports one by its id or file, and
:func:`export_claude_session` writes a branch where ``claude --resume`` finds it.
"""

from __future__ import annotations

import os
import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio

from ..agents import project_key
from ..errors import BadTranscript, InvalidArgument, SessionExists, SessionNotFound
from ..models import Session, SessionConfig
from ..store import Store, TranscriptKey
from ._branches import branch
from ._checks import check_cwd, check_name
from ._claude_sessions import find_claude_session, list_claude_sessions, project_directory
from ._jsonl import Export, canonical_path, transcript_records
from ._jsonl_parse import read_conversation
from ._results import ClaudeSession, ClaudeSessionList, ExportResult, ImportResult

__all__ = [
    "Imported",
    "claude_sessions",
    "export_branch",
    "export_claude_session",
    "import_claude_session",
    "import_transcript",
]


async def claude_sessions(
    cwd: str | None = None, *, limit: int = 50, config_dir: Path | None = None
) -> ClaudeSessionList:
    """The Claude Code sessions run in ``cwd`` (default: this process's), newest first, as
    ``claude --resume`` there offers them. (Our children's transcripts live in the
    database's mirror, not there.)"""
    workdir = canonical_path(cwd or os.getcwd())
    files, more = await anyio.to_thread.run_sync(
        lambda: list_claude_sessions(workdir, limit=limit, config_dir=config_dir)
    )
    sessions = [
        ClaudeSession(
            session_id=file.session_id,
            path=str(file.path),
            first_prompt=file.first_prompt,
            size_bytes=file.size_bytes,
            modified=file.modified,
        )
        for file in files
    ]
    return ClaudeSessionList(
        cwd=workdir,
        directory=str(project_directory(workdir, config_dir)),
        sessions=sessions,
        more=more,
    )


async def import_claude_session(
    store: Store,
    source: str,
    *,
    cwd: str | None = None,
    name: str | None = None,
    config_dir: Path | None = None,
) -> ImportResult:
    """Import ``source``, a Claude Code session id (found under ``cwd``'s project
    directory, else any project's) or a transcript's path, as a new session working
    in ``cwd`` (default: where the transcript was recorded, when it exists here)."""
    if cwd is not None:
        check_cwd(cwd, name or "")
    path = _transcript_path(source, cwd, config_dir)
    config = SessionConfig(cwd=canonical_path(cwd)) if cwd is not None else None
    imported = await import_transcript(store, path, name=name, config=config)
    return ImportResult(
        session=imported.session,
        source=str(path),
        source_session_id=imported.source_session_id,
        messages=imported.messages,
        skipped=imported.skipped,
    )


async def export_claude_session(
    store: Store,
    name: str,
    *,
    at: int | None = None,
    cwd: str | None = None,
    config_dir: Path | None = None,
) -> ExportResult:
    """Write session ``name``'s branch (to its head, or to node ``at``) where ``claude
    --resume`` run in ``cwd`` (default: the session's) finds it."""
    exported = await export_branch(store, name, at=at, cwd=cwd)
    target = exported.default_path(config_dir)
    written = await anyio.to_thread.run_sync(exported.write, target)
    return ExportResult(
        session=name,
        path=str(written),
        claude_session_id=exported.session_id,
        cwd=exported.cwd,
        records=len(exported.records),
        resume=f"cd {shlex.quote(exported.cwd)} && claude --resume {exported.session_id}",
    )


def _transcript_path(source: str, cwd: str | None, config_dir: Path | None) -> Path:
    """The file ``source`` names: a session id's transcript, else a path."""
    try:
        session_id = str(uuid.UUID(source.strip()))
    except ValueError:
        return Path(source).expanduser()
    found = find_claude_session(session_id, cwd or os.getcwd(), config_dir)
    if found is None:
        where = project_directory(canonical_path(cwd or os.getcwd()), config_dir)
        raise InvalidArgument(
            f"No Claude Code session {session_id} under {where} nor any other project: "
            "claude_sessions lists the sessions there are (give its cwd), or pass the "
            "transcript's path."
        )
    return found


async def export_branch(
    store: Store, name: str, *, at: int | None = None, cwd: str | None = None
) -> Export:
    """Session ``name``'s branch, root to its head (or to node ``at`` of its tree),
    as a transcript ``claude --resume`` accepts.

    ``cwd`` is the working directory to resume it in (default: the session's,
    else this process's); it decides :meth:`Export.default_path`.
    """
    session = await store.sessions.get(name)
    path = await branch(store, session, end=at)
    end = session.head_id if at is None else at
    workdir = canonical_path(cwd or session.config.cwd or os.getcwd())
    session_id = str(uuid.uuid4())
    records = transcript_records(path, session_id=session_id, cwd=workdir)
    if not records:
        raise InvalidArgument(
            f"Session {name!r} has no conversation up to node {end} to export: chat with it first."
        )
    return Export(session_id=session_id, cwd=workdir, records=records)


@dataclass(frozen=True)
class Imported:
    """What :func:`import_transcript` made."""

    session: Session
    claude_session_id: str
    """The fresh Claude session id its summaries resume (held by the transcript mirror)."""
    source_session_id: str | None
    """The Claude session the file recorded, when it says."""
    messages: int
    """Message records imported."""
    skipped: dict[str, int]
    """What was left out, by reason: records on the chain that carry no conversation,
    messages on abandoned branches, messages after the last reply."""


async def import_transcript(
    store: Store,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    config: SessionConfig | None = None,
) -> Imported:
    """A new tree and session holding the conversation of Claude Code transcript ``path``.

    ``name`` defaults to ``import-`` and the start of the transcript's session
    id. ``config`` is the session's (default: all defaults); its ``cwd``
    defaults to the directory the transcript was recorded in when it exists
    here, else this process's. Nothing is stored when the file cannot be used
    (:class:`BadTranscript` names the file and line) or the name is taken.
    """
    source = Path(path)
    shown = str(source)
    try:
        raw = await anyio.Path(source).read_bytes()
    except OSError as exc:
        raise BadTranscript(shown, f"cannot be read ({exc.strerror or exc})") from exc
    claude_session_id = str(uuid.uuid4())
    conversation = read_conversation(raw, shown, claude_session_id=claude_session_id)
    history = conversation.history
    if not history:
        raise BadTranscript(
            shown,
            "its conversation has no assistant reply, so there is nothing a session could resume",
        )

    source_id = _source_session_id(source, conversation.recorded_session_id)
    config = _config(config, conversation.recorded_cwd)
    assert config.cwd is not None
    if name is None:
        name = await _free_name(store, source_id or source.stem)
    check_name(name)  # the service's rule, so every tool can reach the imported session
    try:
        await store.sessions.get(name)
    except SessionNotFound:
        pass
    else:
        raise SessionExists(name)

    # The mirror first: entries no session points at are harmless if what follows
    # fails, while a session whose transcript is missing could not resume.
    key: TranscriptKey = {
        "project_key": project_key(config.cwd),
        "session_id": claude_session_id,
    }
    entries = transcript_records(
        history, session_id=claude_session_id, cwd=canonical_path(config.cwd)
    )
    await store.transcripts.append(key, entries)
    try:
        session = await store.sessions.create(
            name,
            config,
            root_data={
                "imported_from": str(await anyio.Path(source).resolve()),
                "source_session_id": source_id,
            },
            history=history,
            claude_session_id=claude_session_id,
        )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await store.transcripts.delete(key)
        raise
    return Imported(
        session=session,
        claude_session_id=claude_session_id,
        source_session_id=source_id,
        messages=conversation.messages,
        skipped=dict(conversation.skipped),
    )


def _source_session_id(source: Path, recorded: str | None) -> str | None:
    """The file's name when it is a uuid (as Claude names transcripts), else what the
    records say."""
    try:
        return str(uuid.UUID(source.stem))
    except ValueError:
        return recorded


def _config(config: SessionConfig | None, recorded_cwd: str | None) -> SessionConfig:
    """``config`` with a working directory: the child's project directory, and so the
    key its transcript is mirrored under, follows from it."""
    config = config or SessionConfig()
    if config.cwd is not None:
        return config
    if recorded_cwd is not None and os.path.isdir(recorded_cwd):
        return config.model_copy(update={"cwd": canonical_path(recorded_cwd)})
    return config.model_copy(update={"cwd": canonical_path(os.getcwd())})


async def _free_name(store: Store, stem: str) -> str:
    """``import-<stem>``, or with ``-2``, ``-3``... when taken."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in stem[:8])
    base = "import-" + safe
    taken = set(await store.sessions.names())
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
