"""Claude Code's transcript format, read: the conversation a transcript holds, as the
nodes real turns would have left. Pure: it is handed the file's bytes.

A last line cut short (Claude Code crashed while writing it: no newline ends
it and it is not JSON) is left out, as Claude Code reads such a file; a bad
line anywhere else is an error. It keeps the message records on the chain from
the leaf back to the first and drops the rest: attachments, meta and transcript-only user records, API-error
and synthetic assistant records, and every bookkeeping record. It stops at a
compaction boundary; the summary Claude wrote after it is kept, being what the
model was given in place of everything before.

Nodes are what the service's translation makes of a child's messages (a prompt
node per user text, a node per content block carrying its record's uuid), and
each turn (a prompt up to the next prompt after a reply) ends in a summary node
holding the Claude session id it resumes and the uuid of its last assistant
record, and the context its last request took when the record says (see
``_context_use``).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import BadTranscript
from ..models import JSONObject, NewNode, NodeKind, Usage
from ._context_use import CONTEXT_KEY, context_data
from ._jsonl import ASSISTANT_KINDS
from ._summaries import summary_node

__all__ = ["Conversation", "read_conversation"]

T = TypeVar("T")


@dataclass(frozen=True)
class Conversation:
    """What a transcript holds that a session can be made of."""

    history: list[NewNode]
    """The nodes, each turn ending in its summary (empty: no reply to resume)."""
    messages: int
    """Message records kept."""
    skipped: Counter[str]
    """What was left out, by reason."""
    recorded_session_id: str | None
    """The Claude session id the records name, the last one given."""
    recorded_cwd: str | None
    """The working directory the records name, the last one given."""


def read_conversation(raw: bytes, shown: str, *, claude_session_id: str) -> Conversation:
    """The conversation in transcript bytes ``raw`` (``shown`` names the file in errors),
    its summaries resuming ``claude_session_id``.

    Raises :class:`BadTranscript` (naming the file and line) when it cannot be read.
    """
    lines, truncated = _parse(raw, shown)
    chain, off_chain = _chain(lines, shown)
    kept, skipped = _kept(chain)
    if truncated:
        skipped["truncated last line"] = 1
    if off_chain:
        skipped["message on an abandoned branch"] = off_chain
    nodes = _nodes(kept, shown, skipped)
    contexts = {
        line.uuid or "": context_data(line.message.get("usage"), line.message.get("model"))
        for line in kept
    }
    history, unanswered = _turns(nodes, claude_session_id, contexts)
    if unanswered:
        skipped["block after the last reply"] = unanswered
    return Conversation(
        history=history,
        messages=len(kept),
        skipped=skipped,
        recorded_session_id=_last_given(kept, "sessionId"),
        recorded_cwd=_last_given(kept, "cwd"),
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


def _last_given(kept: list[_Line], field: str) -> str | None:
    """The last non-empty string the records give for ``field``."""
    values = [line.record.get(field) for line in reversed(kept)]
    return next((value for value in values if isinstance(value, str) and value), None)


def _parse(raw: bytes, shown: str) -> tuple[list[_Line], bool]:
    """The records, and whether a truncated last line was left out."""
    lines: list[_Line] = []
    chunks = raw.split(b"\n")
    for number, chunk in enumerate(chunks, start=1):
        if not chunk.strip():
            continue
        try:
            value = json.loads(chunk.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if number == len(chunks):
                return lines, True  # no newline after it: a write cut short
            raise BadTranscript(shown, _unreadable(exc), number) from exc
        if not isinstance(value, dict):
            raise BadTranscript(
                shown, f"a JSON {type(value).__name__}, where a record is an object", number
            )
        lines.append(_Line(number, value))
    return lines, False


def _unreadable(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg} at column {exc.colno})"
    return "not UTF-8 text"


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


def _turns(
    nodes: list[NewNode], claude_session_id: str, contexts: dict[str, JSONObject | None]
) -> tuple[list[NewNode], int]:
    """The nodes with a summary after each turn, as real turns leave them (with the
    context of the record it resumes at, from ``contexts`` by uuid), and how many
    nodes after the last reply were dropped.

    A turn ends where a prompt follows a reply; its summary resumes at its last
    assistant record, so a turn never ends before a tool call's result. Nodes
    after the last reply (a prompt never answered, results never read) are
    dropped: a real turn that got no reply does not move the head either.
    """
    history: list[NewNode] = []
    turn: list[NewNode] = []

    def close() -> None:
        resume_at = next(
            node.message_uuid for node in reversed(turn) if node.kind in ASSISTANT_KINDS
        )
        history.extend(turn)
        summary = summary_node(
            claude_session_id=claude_session_id, resume_at=resume_at, usage=Usage()
        )
        context = contexts.get(resume_at or "")
        if context is not None:
            summary = summary.model_copy(update={"data": {**summary.data, CONTEXT_KEY: context}})
        history.append(summary)

    for node in nodes:
        if node.kind is NodeKind.USER and turn and turn[-1].kind in ASSISTANT_KINDS:
            close()
            turn = []
        turn.append(node)
    replied = max((i + 1 for i, node in enumerate(turn) if node.kind in ASSISTANT_KINDS), default=0)
    dropped = len(turn) - replied
    turn = turn[:replied]
    if turn:
        close()
    return history, dropped
