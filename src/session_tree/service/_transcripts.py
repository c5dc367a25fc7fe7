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
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio

from ..agents import project_key
from ..errors import BadTranscript, InvalidArgument, SessionExists, SessionNotFound
from ..models import Session, SessionConfig
from ..store import Store, TranscriptKey
from ._branches import branch
from ._checks import check_name
from ._jsonl import Export, canonical_path, transcript_records
from ._jsonl_parse import read_conversation

__all__ = ["Imported", "export_branch", "import_transcript"]


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
