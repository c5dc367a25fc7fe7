"""Claude Code's transcript format, written: where Claude keeps transcripts, and the
records of a branch as Claude Code writes them. Pure: no store, no file read.

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
prompt, under a fresh session id. It needs nothing of Claude's own state.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..agents import cli_version
from ..models import JSONObject, NewNode, Node, NodeKind
from ._render import node_block

__all__ = [
    "ASSISTANT_KINDS",
    "Export",
    "canonical_path",
    "claude_config_dir",
    "project_dir_name",
    "transcript_records",
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
ASSISTANT_KINDS = frozenset({NodeKind.TEXT, NodeKind.THINKING, NodeKind.TOOL_USE})
"""The node kinds a reply is made of (assistant records)."""

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
    units = _utf16_units(canonical_path(cwd))
    name = "".join(chr(u) if u < 128 and chr(u).isalnum() else "-" for u in units)
    if len(name) <= MAX_DIR_NAME:
        return name
    return f"{name[:MAX_DIR_NAME]}-{_base36(abs(_string_hash(units)))}"


def canonical_path(path: str | os.PathLike[str]) -> str:
    """The real path, NFC-normalised, as Claude Code names a working directory."""
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


def transcript_records(
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
                "version": cli_version(),
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
