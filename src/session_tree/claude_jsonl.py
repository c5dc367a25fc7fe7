"""Branches in and out of Claude Code's own transcript files (JSONL).

**Export** turns a branch (root to a session's head, or to any node of its
tree) into a transcript that ``claude --resume <id>`` accepts, so a person can
carry on a child's conversation in their own Claude Code. **Import** reads a
transcript Claude Code wrote and makes a new tree and session of it, which the
server's next ``chat`` resumes like any other.

What Claude Code expects (seen with claude 2.1.329): the file is
``<config dir>/projects/<project dir>/<session uuid>.jsonl`` (see
:func:`project_dir_name`), one compact JSON record per line. A conversation is
its ``user`` and ``assistant`` records, each with ``uuid``, ``parentUuid``
(null for the first) and a valid ISO 8601 ``timestamp``. Claude starts from
the last message record in file order (or the ``leafUuid`` of a
``last-prompt`` record) and walks ``parentUuid`` back; whatever is off that
chain is ignored. It writes one assistant record per content block, all of one
API response sharing ``message.id``, and a tool result as a user record whose
parent is its call's record. So a response with parallel tool calls forks the
file: the walk reaches only the call the conversation went on from, and the
other calls and their results are put back by ``message.id`` (as Claude Code
and the Agent SDK do).

An export is made of exactly the records that shape describes: one per run
of nodes that came from one record (keeping that record's uuid), one per
prompt, under a fresh session id. It needs nothing of Claude's own state. An import keeps the message records on the chain and drops the rest:
attachments, meta and transcript-only user records, API-error and synthetic
assistant records, and every bookkeeping record. It stops at a compaction
boundary; the summary Claude wrote after it is kept, being what the model was
given in place of everything before.

How an imported session resumes: the import leaves what real turns would have
left. Nodes are what the service's translation makes of a child's messages (a
prompt node per user text, a node per content block carrying its record's
uuid), and each turn (a prompt up to the next prompt after a reply) ends in a
summary node holding a Claude session id and the uuid of its last assistant
record. That session id is fresh, and under it the transcript mirror (the
Agent SDK ``SessionStore`` in the database) gets this module's own export of
the imported branch, written before the session exists. So the next chat
resumes it like any turn's summary (``resume`` + ``resume_session_at`` +
``fork_session``), with or without the original file, and the child sees
exactly what ``render_context`` shows: nothing that was dropped leaks back in.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
from claude_agent_sdk import project_key_for_directory
from claude_agent_sdk._cli_version import __cli_version__
from claude_agent_sdk.types import SessionKey, SessionStoreEntry

from .errors import BadTranscript, InvalidArgument, SessionExists, SessionNotFound
from .models import JSONObject, NewNode, Node, NodeKind, Session, SessionConfig, Usage

# The service's rule for session names, so an imported session is reachable by every tool.
from .service import check_name, node_block
from .store import Store

__all__ = [
    "Export",
    "Imported",
    "claude_config_dir",
    "export_branch",
    "import_transcript",
    "project_dir_name",
]

# Claude Code cuts longer project directory names and appends a hash.
MAX_DIR_NAME = 200

_ROLE: dict[NodeKind, str] = {
    NodeKind.USER: "user",
    NodeKind.TOOL_RESULT: "user",
    NodeKind.TEXT: "assistant",
    NodeKind.THINKING: "assistant",
    NodeKind.TOOL_USE: "assistant",
}
_ASSISTANT = frozenset({NodeKind.TEXT, NodeKind.THINKING, NodeKind.TOOL_USE})
T = TypeVar("T")


# --- where Claude Code keeps transcripts ---------------------------------------------------


def claude_config_dir() -> Path:
    """Claude Code's config directory: ``$CLAUDE_CONFIG_DIR``, else ``~/.claude``."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".claude"


def project_dir_name(cwd: str | os.PathLike[str]) -> str:
    """The directory under ``<config dir>/projects`` that holds the transcripts of
    sessions run in ``cwd``, named as Claude Code names it.

    On the real path, every UTF-16 unit outside ``[a-zA-Z0-9]`` becomes ``-``;
    a name longer than 200 units keeps its first 200 and gains ``-`` and the
    base-36 absolute value of the path's 32-bit string hash (Java's).
    """
    units = _utf16_units(_canonical(cwd))
    name = "".join(chr(u) if u < 128 and chr(u).isalnum() else "-" for u in units)
    if len(name) <= MAX_DIR_NAME:
        return name
    return f"{name[:MAX_DIR_NAME]}-{_base36(abs(_string_hash(units)))}"


def _canonical(path: str | os.PathLike[str]) -> str:
    return unicodedata.normalize("NFC", os.path.realpath(path))


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]


def _string_hash(units: list[int]) -> int:
    """``s.hashCode()``: 31 * h + unit over UTF-16 units, as a signed 32-bit int."""
    h = 0
    for unit in units:
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, rest = divmod(n, 36)
        out = digits[rest] + out
        if n == 0:
            return out


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """A branch as a Claude Code transcript, ready to write."""

    session_id: str
    """The transcript's Claude session id (a fresh uuid4): ``claude --resume`` takes it."""
    cwd: str
    """The working directory the records name; Claude looks for the file under it."""
    records: list[JSONObject]

    def text(self) -> str:
        """The file's content: one compact JSON record per line, newline-terminated."""
        return "".join(_dumps(record) + "\n" for record in self.records)

    def default_path(self, config_dir: str | os.PathLike[str] | None = None) -> Path:
        """Where ``claude --resume`` run in :attr:`cwd` finds it:
        ``<config_dir>/projects/<project dir>/<session_id>.jsonl``
        (``config_dir`` defaults to :func:`claude_config_dir`)."""
        base = Path(config_dir) if config_dir is not None else claude_config_dir()
        return base / "projects" / project_dir_name(self.cwd) / f"{self.session_id}.jsonl"

    def write(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write :meth:`text` as UTF-8 to ``path`` (default: :meth:`default_path`),
        creating its directory; returns the path written."""
        target = Path(path) if path is not None else self.default_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.text(), encoding="utf-8")
        return target


async def export_branch(
    store: Store, name: str, *, at: int | None = None, cwd: str | None = None
) -> Export:
    """Session ``name``'s branch, root to its head (or to node ``at`` of its tree),
    as a transcript ``claude --resume`` accepts.

    ``cwd`` is the working directory to resume it in (default: the session's,
    else this process's); it decides :meth:`Export.default_path`.
    """
    session = await store.sessions.get(name)
    end = session.head_id if at is None else at
    path = await store.nodes.path(end)
    if path[0].tree_id != session.tree_id:
        raise InvalidArgument(
            f"Node {end} is not in the tree of session {name!r}; call tree to see its nodes."
        )
    workdir = _canonical(cwd or session.config.cwd or os.getcwd())
    session_id = str(uuid.uuid4())
    records = _records(path, session_id=session_id, cwd=workdir)
    if not records:
        raise InvalidArgument(
            f"Session {name!r} has no conversation up to node {end} to export: chat with it first."
        )
    return Export(session_id=session_id, cwd=workdir, records=records)


def _records(
    nodes: Sequence[Node | NewNode], *, session_id: str, cwd: str, created: float | None = None
) -> list[JSONObject]:
    """Claude Code's records for a branch's message nodes, chained in order.

    Consecutive nodes of one role that came from one record (same
    ``message_uuid``) are one record again, with that uuid; others get a fresh
    one. Consecutive assistant records share a ``message.id``, as the blocks of
    one API response do. ``created`` stamps nodes not stored yet.
    """
    groups: list[list[Node | NewNode]] = []
    for node in nodes:
        if node.kind not in _ROLE:
            continue  # root and turn summaries carry no conversation
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and _ROLE[last.kind] == _ROLE[node.kind]
            and node.message_uuid is not None
            and node.message_uuid == last.message_uuid
        ):
            groups[-1].append(node)
        else:
            groups.append([node])

    records: list[JSONObject] = []
    used: set[str] = set()
    parent: str | None = None
    for group in groups:
        record_uuid = group[0].message_uuid
        if record_uuid is None or record_uuid in used:
            record_uuid = str(uuid.uuid4())
        used.add(record_uuid)
        role = _ROLE[group[0].kind]
        blocks = [node_block(node) for node in group]
        message: JSONObject
        if role == "user" and len(group) == 1 and group[0].kind is NodeKind.USER:
            message = {"role": "user", "content": blocks[0]["text"]}  # as Claude writes a prompt
        elif role == "user":
            message = {"role": "user", "content": blocks}
        else:
            previous = records[-1]["message"] if records else {}
            message = {
                "id": previous["id"]
                if previous.get("role") == "assistant"
                else "msg_" + uuid.uuid4().hex[:24],
                "type": "message",
                "role": "assistant",
                "content": blocks,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
        stamp = group[0].created_at if isinstance(group[0], Node) else created or time.time()
        records.append(
            {
                "parentUuid": parent,
                "isSidechain": False,
                "type": role,
                "message": message,
                "uuid": record_uuid,
                "timestamp": _iso(stamp),
                "userType": "external",
                "cwd": cwd,
                "sessionId": session_id,
                "version": __cli_version__,
            }
        )
        parent = record_uuid
    _set_stop_reasons(records)
    return records


def _set_stop_reasons(records: list[JSONObject]) -> None:
    """Each record of a response says how the response ended, as Claude writes them."""
    response: list[JSONObject] = []
    for record in [*records, None]:
        message = record["message"] if record is not None else {}
        if response and message.get("id") != response[0]["id"]:
            calls = any(b["type"] == "tool_use" for m in response for b in m["content"])
            for member in response:
                member["stop_reason"] = "tool_use" if calls else "end_turn"
            response = []
        if message.get("role") == "assistant":
            response.append(message)


def _iso(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _dumps(record: JSONObject) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


# --- import ----------------------------------------------------------------------------------


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
    lines = _parse(raw, shown)
    chain, off_chain = _chain(lines, shown)
    kept, skipped = _kept(chain)
    if off_chain:
        skipped["message on an abandoned branch"] = off_chain
    nodes = _nodes(kept, shown, skipped)
    claude_session_id = str(uuid.uuid4())
    history, unanswered = _turns(nodes, claude_session_id)
    if unanswered:
        skipped["block after the last reply"] = unanswered
    if not history:
        raise BadTranscript(
            shown,
            "its conversation has no assistant reply, so there is nothing a session could resume",
        )

    source_id = _source_session_id(source, kept)
    config = _config(config, kept)
    assert config.cwd is not None
    if name is None:
        name = await _free_name(store, source_id or source.stem)
    check_name(name)
    try:
        await store.sessions.get(name)
    except SessionNotFound:
        pass
    else:
        raise SessionExists(name)

    # The mirror first: entries no session points at are harmless if what follows
    # fails, while a session whose transcript is missing could not resume.
    key: SessionKey = {
        "project_key": project_key_for_directory(config.cwd),
        "session_id": claude_session_id,
    }
    entries = _records(history, session_id=claude_session_id, cwd=_canonical(config.cwd))
    await store.transcripts.append(key, cast(list[SessionStoreEntry], entries))
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
        messages=len(kept),
        skipped=dict(skipped),
    )


@dataclass(frozen=True)
class _Line:
    number: int
    record: JSONObject

    @property
    def uuid(self) -> str | None:
        value = self.record.get("uuid")
        return value if isinstance(value, str) and value else None

    @property
    def kind(self) -> object:
        return self.record.get("type")

    @property
    def message(self) -> JSONObject:
        message = self.record.get("message")
        return message if isinstance(message, dict) else {}


def _parse(raw: bytes, shown: str) -> list[_Line]:
    lines: list[_Line] = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        if not chunk.strip():
            continue
        try:
            value = json.loads(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadTranscript(shown, "not UTF-8 text", number) from exc
        except json.JSONDecodeError as exc:
            raise BadTranscript(
                shown, f"not JSON ({exc.msg} at column {exc.colno})", number
            ) from exc
        if not isinstance(value, dict):
            raise BadTranscript(
                shown, f"a JSON {type(value).__name__}, where a record is an object", number
            )
        lines.append(_Line(number, value))
    return lines


def _is_message(line: _Line) -> bool:
    return line.kind in ("user", "assistant") and line.uuid is not None


def _chain(lines: list[_Line], shown: str) -> tuple[list[_Line], int]:
    """The records of the conversation, first to last, and how many message
    records lie off it (abandoned branches)."""
    by_uuid: dict[str, _Line] = {}
    leaf: _Line | None = None
    pointed: str | None = None
    for line in lines:
        if line.uuid is not None:
            by_uuid[line.uuid] = line
        if _is_message(line) and not line.record.get("isSidechain"):
            leaf = line
        elif line.kind == "last-prompt" and isinstance(line.record.get("leafUuid"), str):
            pointed = line.record["leafUuid"]
    if leaf is None:
        raise BadTranscript(
            shown, "no user or assistant record with a uuid: there is no conversation in it"
        )
    if pointed is not None and pointed in by_uuid:
        leaf = by_uuid[pointed]

    chain: list[_Line] = []
    seen: set[str] = set()
    current = leaf
    while True:
        assert current.uuid is not None
        if current.uuid in seen:
            raise BadTranscript(
                shown, f"the parentUuid links loop back to {current.uuid}", current.number
            )
        seen.add(current.uuid)
        if current.kind == "system" and current.record.get("subtype") == "compact_boundary":
            break  # what came before was compacted into the summary that follows
        chain.append(current)
        parent = current.record.get("parentUuid")
        if parent is None:
            break
        if not isinstance(parent, str) or parent not in by_uuid:
            raise BadTranscript(
                shown,
                f"parentUuid {parent!r} names no record of the file, so the chain from the "
                "last message back to the first is broken here",
                current.number,
            )
        current = by_uuid[parent]
    chain.reverse()
    chain = _with_parallel_calls(chain, lines)
    on_chain = {line.number for line in chain}
    off = sum(1 for line in lines if _is_message(line) and line.number not in on_chain)
    return chain, off


def _with_parallel_calls(chain: list[_Line], lines: list[_Line]) -> list[_Line]:
    """Put back the calls of a parallel response, and their results, that the walk missed.

    Each goes after the last of its response's records on the chain: first the
    response's other records, then the results whose parent is one of them, in
    file order (Claude Code and the Agent SDK do the same).
    """
    on_chain = {line.number for line in chain}
    responses: dict[str, list[_Line]] = {}
    results: dict[str, list[_Line]] = {}
    for line in lines:
        message_id = line.message.get("id")
        if line.kind == "assistant" and line.uuid and isinstance(message_id, str):
            responses.setdefault(message_id, []).append(line)
        elif line.kind == "user" and isinstance(line.record.get("parentUuid"), str):
            results.setdefault(line.record["parentUuid"], []).append(line)
    last_on_chain: dict[str, int] = {}
    for line in chain:
        message_id = line.message.get("id")
        if line.kind == "assistant" and isinstance(message_id, str):
            last_on_chain[message_id] = line.number
    out: list[_Line] = []
    for line in chain:
        out.append(line)
        message_id = line.message.get("id")
        if line.kind != "assistant" or last_on_chain.get(str(message_id)) != line.number:
            continue
        group = responses[str(message_id)]
        missed = [member for member in group if member.number not in on_chain]
        answers = [
            result
            for member in group
            for result in results.get(member.uuid or "", [])
            if result.number not in on_chain and _has_tool_result(result)
        ]
        out.extend(missed + sorted(answers, key=lambda result: result.number))
    return out


def _has_tool_result(line: _Line) -> bool:
    content = line.message.get("content")
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def _kept(chain: list[_Line]) -> tuple[list[_Line], Counter[str]]:
    """The chain's message records that are conversation, and what the rest were."""
    kept: list[_Line] = []
    skipped: Counter[str] = Counter()
    for line in chain:
        reason = _skip_reason(line)
        if reason is None:
            kept.append(line)
        else:
            skipped[reason] += 1
    return kept, skipped


def _skip_reason(line: _Line) -> str | None:
    record = line.record
    if line.kind == "user":
        if record.get("isMeta"):
            return "meta user record"
        if record.get("isVisibleInTranscriptOnly") and not record.get("isCompactSummary"):
            return "transcript-only user record"
    elif line.kind == "assistant":
        if record.get("isApiErrorMessage"):
            return "API error record"
        if line.message.get("model") == "<synthetic>":
            return "synthetic assistant record"
    else:
        return f"{line.kind} record"
    if record.get("isSidechain"):
        return "sidechain record"
    return None


def _nodes(kept: list[_Line], shown: str, skipped: Counter[str]) -> list[NewNode]:
    """The nodes a real turn makes of these messages (see the service's translation):
    a prompt node per user text, a node per content block; blocks from the child
    carry their record's uuid."""
    nodes: list[NewNode] = []
    for line in kept:
        content = line.message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise BadTranscript(
                shown, f"a {line.kind} record whose message has no content list", line.number
            )
        record_uuid = _uuid_or_fresh(line.uuid)
        for block in content:
            if not isinstance(block, dict):
                raise BadTranscript(shown, "a content block that is not an object", line.number)
            try:
                node = _node(str(line.kind), block, record_uuid)
            except _BadField as exc:
                raise BadTranscript(
                    shown,
                    f"a {block.get('type')} block whose {exc.field} is {exc.problem}",
                    line.number,
                ) from exc
            if node is None:
                skipped[f"{block.get('type')} block in a {line.kind} message"] += 1
            else:
                nodes.append(node)
    return nodes


def _node(role: str, block: dict[str, Any], record_uuid: str) -> NewNode | None:
    kind = block.get("type")
    if role == "user":
        if kind == "text":
            return NewNode(kind=NodeKind.USER, data={"text": _str(block, "text")})
        if kind == "tool_result":
            data = {
                "tool_use_id": _str(block, "tool_use_id"),
                "content": block.get("content"),
                "is_error": bool(block.get("is_error")),
            }
            return NewNode(kind=NodeKind.TOOL_RESULT, data=data, message_uuid=record_uuid)
        return None  # images, documents: no node kind holds them
    if kind == "text":
        return NewNode(
            kind=NodeKind.TEXT, data={"text": _str(block, "text")}, message_uuid=record_uuid
        )
    if kind == "thinking":
        data = {"thinking": _str(block, "thinking"), "signature": str(block.get("signature", ""))}
        return NewNode(kind=NodeKind.THINKING, data=data, message_uuid=record_uuid)
    if kind == "tool_use":
        data = {
            "id": _field(block, "id", str),
            "name": _field(block, "name", str),
            "input": _field(block, "input", dict),
        }
        return NewNode(kind=NodeKind.TOOL_USE, data=data, message_uuid=record_uuid)
    return None  # as the service's translation: other blocks are not nodes


class _BadField(Exception):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem


def _field(block: dict[str, Any], field: str, kind: type[T]) -> T:
    if field not in block:
        raise _BadField(field, "missing")
    value = block[field]
    if not isinstance(value, kind):
        shown = "an object" if kind is dict else "a string"
        raise _BadField(field, f"not {shown}")
    return value


def _str(block: dict[str, Any], field: str) -> str:
    return _field(block, field, str)


def _uuid_or_fresh(value: str | None) -> str:
    """The record's uuid when it is one (Claude wants uuids), else a fresh one."""
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return str(uuid.uuid4())


def _turns(nodes: list[NewNode], claude_session_id: str) -> tuple[list[NewNode], int]:
    """The nodes with a summary after each turn, as real turns leave them, and how
    many nodes after the last reply were dropped.

    A turn ends where a prompt follows a reply; its summary resumes at its last
    assistant record, so a turn never ends before a tool call's result. Nodes
    after the last reply (a prompt never answered, results never read) are
    dropped: a real turn that got no reply does not move the head either.
    """
    history: list[NewNode] = []
    turn: list[NewNode] = []

    def close() -> None:
        resume_at = next(node.message_uuid for node in reversed(turn) if node.kind in _ASSISTANT)
        history.extend(turn)
        history.append(
            NewNode(
                kind=NodeKind.SUMMARY,
                data={
                    "claude_session_id": claude_session_id,
                    "resume_at": resume_at,
                    "stop_reason": None,
                    "is_error": False,
                    "usage": Usage().model_dump(),
                },
            )
        )

    for node in nodes:
        if node.kind is NodeKind.USER and turn and turn[-1].kind in _ASSISTANT:
            close()
            turn = []
        turn.append(node)
    replied = max((i + 1 for i, node in enumerate(turn) if node.kind in _ASSISTANT), default=0)
    dropped = len(turn) - replied
    turn = turn[:replied]
    if turn:
        close()
    return history, dropped


def _source_session_id(source: Path, kept: list[_Line]) -> str | None:
    try:
        return str(uuid.UUID(source.stem))
    except ValueError:
        pass
    for line in reversed(kept):
        value = line.record.get("sessionId")
        if isinstance(value, str) and value:
            return value
    return None


def _config(config: SessionConfig | None, kept: list[_Line]) -> SessionConfig:
    """``config`` with a working directory: the child's project directory, and so the
    key its transcript is mirrored under, follows from it."""
    config = config or SessionConfig()
    if config.cwd is not None:
        return config
    recorded = next(
        (line.record["cwd"] for line in reversed(kept) if isinstance(line.record.get("cwd"), str)),
        None,
    )
    cwd = recorded if recorded is not None and os.path.isdir(recorded) else os.getcwd()
    return config.model_copy(update={"cwd": _canonical(cwd)})


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
