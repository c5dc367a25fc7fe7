"""Branches out to Claude Code transcripts and transcripts back in, on a real SQLite store."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from claude_agent_sdk import project_key_for_directory
from claude_agent_sdk.types import SessionKey

from session_tree.errors import BadTranscript, InvalidArgument, SessionExists
from session_tree.models import NewNode, Node, NodeKind, SessionConfig
from session_tree.service import (
    Export,
    export_branch,
    import_transcript,
    project_dir_name,
    render,
)
from session_tree.service._transcripts import (
    claude_sessions,
    export_claude_session,
    import_claude_session,
)
from session_tree.store import Store

pytestmark = pytest.mark.anyio

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def summary(claude_session_id: str, resume_at: str) -> NewNode:
    return NewNode(
        kind=NodeKind.SUMMARY,
        data={"claude_session_id": claude_session_id, "resume_at": resume_at},
    )


async def turn(store: Store, name: str, *nodes: NewNode) -> Node:
    """Append a turn's nodes at the session's head and move the head to the last."""
    session = await store.sessions.get(name)
    appended = await store.nodes.append_chain(session.head_id, nodes)
    await store.sessions.set_head(name, appended[-1].id)
    return appended[-1]


def messages(path: list[Node]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(m.role, m.content) for m in render(path)]


async def branch(store: Store, name: str) -> list[Node]:
    session = await store.sessions.get(name)
    return await store.nodes.path(session.head_id)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path.resolve()  # the real path, as the records name it


async def forked_tree(store: Store, workdir: Path) -> tuple[Node, list[str]]:
    """main: q1 a1 | main-only question and answer; exp, forked after the first turn: q3, a tool call, a3.
    Returns the first turn's summary and the uuids of exp's assistant records."""
    a1, a2, call, result, a3 = ids(5)
    await store.sessions.create("main", SessionConfig(cwd=str(workdir)))
    first = await turn(
        store,
        "main",
        NewNode(kind=NodeKind.USER, data={"text": "q1"}),
        NewNode(kind=NodeKind.TEXT, data={"text": "a1"}, message_uuid=a1),
        summary("c1", a1),
    )
    await turn(
        store,
        "main",
        NewNode(kind=NodeKind.USER, data={"text": "main-only question"}),
        NewNode(kind=NodeKind.TEXT, data={"text": "main-only answer"}, message_uuid=a2),
        summary("c2", a2),
    )
    await store.sessions.fork("main", "exp", at=first.id)
    await turn(
        store,
        "exp",
        NewNode(kind=NodeKind.USER, data={"text": "q3 — ünïcode"}),
        NewNode(kind=NodeKind.TEXT, data={"text": "calling"}, message_uuid=call),
        NewNode(
            kind=NodeKind.TOOL_USE,
            data={"id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            message_uuid=call,
        ),
        NewNode(
            kind=NodeKind.TOOL_RESULT,
            data={"tool_use_id": "toolu_1", "content": "a.txt", "is_error": False},
            message_uuid=result,
        ),
        NewNode(kind=NodeKind.TEXT, data={"text": "a3"}, message_uuid=a3),
        summary("c3", a3),
    )
    return first, [a1, call, a3]


# --- export ----------------------------------------------------------------------------------


async def test_export_of_a_fork_holds_its_branch_as_one_exact_chain(
    store: Store, workdir: Path
) -> None:
    _, (a1, call, a3) = await forked_tree(store, workdir)

    exported = await export_branch(store, "exp")

    records = exported.records
    assert [(r["type"], r["message"]["content"]) for r in records] == [
        ("user", "q1"),
        ("assistant", [{"type": "text", "text": "a1"}]),
        ("user", "q3 — ünïcode"),
        (
            "assistant",
            [
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            ],
        ),
        ("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}]),
        ("assistant", [{"type": "text", "text": "a3"}]),
    ]
    # Only the branch: main's second turn is on another branch of the tree.
    assert "main-only" not in exported.text()
    # The chain: first record has no parent, each next names the one before.
    assert [r["parentUuid"] for r in records] == [None] + [r["uuid"] for r in records[:-1]]
    assert len({r["uuid"] for r in records}) == len(records)
    # Assistant records keep their nodes' uuids, so a summary's resume_at names one.
    assert [r["uuid"] for r in records if r["type"] == "assistant"] == [a1, call, a3]
    assert [r["message"]["stop_reason"] for r in records if r["type"] == "assistant"] == [
        "end_turn",
        "tool_use",
        "end_turn",
    ]
    for record in records:
        assert ISO_MS.fullmatch(record["timestamp"]), record["timestamp"]
        assert datetime.fromisoformat(record["timestamp"]).tzinfo is not None
        assert record["sessionId"] == exported.session_id
        assert record["cwd"] == str(workdir)
        assert record["isSidechain"] is False
    assert uuid.UUID(exported.session_id).version == 4


async def test_export_text_is_compact_json_lines_ending_in_a_newline(
    store: Store, workdir: Path
) -> None:
    await forked_tree(store, workdir)

    exported = await export_branch(store, "exp")

    text = exported.text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert [json.loads(line) for line in lines] == exported.records
    assert lines == [
        json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in exported.records
    ]
    assert "ünïcode" in text  # UTF-8, as Claude Code writes it, not \u escapes


async def test_export_at_a_node_stops_there_and_names_the_default_path(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    first, _ = await forked_tree(store, workdir)

    exported = await export_branch(store, "main", at=first.id)
    written = exported.write(exported.default_path(tmp_path / "config"))

    assert [r["message"]["content"] for r in exported.records] == [
        "q1",
        [{"type": "text", "text": "a1"}],
    ]
    assert written == (
        tmp_path
        / "config"
        / "projects"
        / project_dir_name(workdir)
        / f"{exported.session_id}.jsonl"
    )
    assert written.read_text(encoding="utf-8") == exported.text()


async def test_export_refuses_a_node_of_another_tree_and_an_empty_branch(
    store: Store, workdir: Path
) -> None:
    await forked_tree(store, workdir)
    other = await store.sessions.create("other")

    with pytest.raises(InvalidArgument, match="not in the tree of session 'main'"):
        await export_branch(store, "main", at=other.head_id)
    with pytest.raises(InvalidArgument, match="no conversation"):
        await export_branch(store, "other")


def test_project_dir_names_follow_claude_code() -> None:
    assert project_dir_name("/no/such dir/v1.2_x") == "-no-such-dir-v1-2-x"
    assert project_dir_name("/no/such/dir/") == "-no-such-dir"
    # Per UTF-16 unit: an emoji outside the BMP is two units, so two dashes.
    assert project_dir_name("/no/é😀") == "-no----"
    long = "/no/" + "abc/" * 80
    name = project_dir_name(long)
    assert name.startswith(("-no-" + "abc-" * 49)[:200] + "-")
    # The Agent SDK's key agrees on ASCII paths, long ones (with their hash) included.
    assert name == project_key_for_directory(long)
    assert project_dir_name("/no/such dir") == project_key_for_directory("/no/such dir")


def test_project_dir_name_uses_the_real_path(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)

    assert project_dir_name(tmp_path / "link") == project_dir_name(target)


# --- import ----------------------------------------------------------------------------------


class Transcript:
    """A hand-written Claude Code transcript: records chained by parentUuid."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = str(cwd)
        self.session_id = str(uuid.uuid4())
        self.lines: list[dict[str, Any]] = []

    def add(self, kind: str, parent: str | None, **fields: Any) -> str:
        record_uuid = fields.pop("uuid", None) or str(uuid.uuid4())
        self.lines.append(
            {
                "parentUuid": parent,
                "isSidechain": False,
                "type": kind,
                "uuid": record_uuid,
                "timestamp": "2026-01-02T03:04:05.678Z",
                "cwd": self.cwd,
                "sessionId": self.session_id,
                "version": "2.1.329",
                **fields,
            }
        )
        return record_uuid

    def user(self, parent: str | None, content: Any, **fields: Any) -> str:
        return self.add("user", parent, message={"role": "user", "content": content}, **fields)

    def assistant(self, parent: str | None, message_id: str, *blocks: Any, **fields: Any) -> str:
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": fields.pop("model", "claude-x"),
            "content": list(blocks),
        }
        return self.add("assistant", parent, message=message, **fields)

    def other(self, record: dict[str, Any]) -> None:
        self.lines.append(record)

    def write(self, path: Path) -> Path:
        path.write_text(
            "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in self.lines),
            encoding="utf-8",
        )
        return path


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(call_id: str, command: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "Bash", "input": {"command": command}}


def tool_result(call_id: str, content: str) -> dict[str, Any]:
    """As render_context shows it (is_error only when true)."""
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


def claude_result(call_id: str, content: str) -> dict[str, Any]:
    """As Claude Code writes it."""
    return tool_result(call_id, content) | {"is_error": False}


async def loaded_mirror(store: Store, cwd: str, claude_session_id: str) -> list[dict[str, Any]]:
    key: SessionKey = {
        "project_key": project_key_for_directory(cwd),
        "session_id": claude_session_id,
    }
    entries = await store.transcripts.load(key)
    assert entries is not None
    return [dict(entry) for entry in entries]


async def count(store: Store, table: str) -> int:
    row = await store.db.one(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_import_follows_the_chain_from_the_leaf_and_skips_the_noise(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    t.other({"type": "queue-operation", "operation": "enqueue", "content": "q1"})
    q1 = t.user(None, "q1")
    env = t.add("attachment", q1, attachment={"type": "environment"})
    think = t.assistant(env, "m1", {"type": "thinking", "thinking": "hmm", "signature": "sig"})
    say = t.assistant(think, "m1", text("let me look"))
    call = t.assistant(say, "m1", tool_use("toolu_1", "ls"))
    result = t.user(call, [claude_result("toolu_1", "a.txt")], toolUseResult={"stdout": "a.txt"})
    meta = t.user(result, "<local-command-caveat>", isMeta=True)
    t.other({"type": "api-request", "id": "x"})
    a1 = t.assistant(meta, "m2", text("a1"))
    duration = t.add("system", a1, subtype="turn_duration", durationMs=5)
    dead = t.user(a1, "abandoned prompt")
    t.assistant(dead, "m3", text("dead answer"))
    q2 = t.user(duration, "q2")
    error = t.assistant(
        q2, "m4", text("API Error: 500"), isApiErrorMessage=True, model="<synthetic>"
    )
    q2_again = t.user(error, [text("q2 again"), {"type": "image", "source": {}}])
    a2 = t.assistant(q2_again, "m5", text("a2"))
    for record in (
        {"type": "last-prompt", "lastPrompt": "q2 again", "leafUuid": a2},
        {"type": "custom-title", "customTitle": "t", "sessionId": t.session_id},
        {"type": "file-history-snapshot", "messageId": a2, "snapshot": {}},
        {"type": "cost-state", "totalCostUSD": 1.0},
        {"type": "mode", "mode": "normal"},
    ):
        t.other(record)
    path = t.write(tmp_path / f"{t.session_id}.jsonl")

    imported = await import_transcript(store, path)

    session = imported.session
    assert session.name == f"import-{t.session_id[:8]}"
    assert imported.source_session_id == t.session_id
    assert session.config.cwd == str(workdir)
    nodes = await store.nodes.path(session.head_id)
    assert messages(nodes) == [
        ("user", [text("q1")]),
        (
            "assistant",
            [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                text("let me look"),
                tool_use("toolu_1", "ls"),
            ],
        ),
        ("user", [tool_result("toolu_1", "a.txt")]),
        ("assistant", [text("a1")]),
        ("user", [text("q2"), text("q2 again")]),
        ("assistant", [text("a2")]),
    ]
    # What real turns leave: a prompt node, a node per block with its record's uuid,
    # a summary after each turn resuming at the turn's last assistant record.
    assert [(n.kind.value, n.message_uuid) for n in nodes] == [
        ("root", None),
        ("user", None),
        ("thinking", think),
        ("text", say),
        ("tool_use", call),
        ("tool_result", result),
        ("text", a1),
        ("summary", None),
        ("user", None),
        ("user", None),
        ("text", a2),
        ("summary", None),
    ]
    summaries = [n.data for n in nodes if n.kind is NodeKind.SUMMARY]
    assert [s["resume_at"] for s in summaries] == [a1, a2]
    assert {s["claude_session_id"] for s in summaries} == {imported.claude_session_id}
    assert session.claude_session_id == imported.claude_session_id
    assert imported.messages == 9
    assert imported.skipped == {
        "attachment record": 1,
        "meta user record": 1,
        "system record": 1,
        "API error record": 1,
        "image block in a user message": 1,
        "message on an abandoned branch": 2,
    }

    # The transcript mirror holds the branch under the summaries' session id, as a
    # chain that contains every resume point: the next chat can resume it.
    entries = await loaded_mirror(store, session.config.cwd, imported.claude_session_id)
    assert [e["parentUuid"] for e in entries] == [None] + [e["uuid"] for e in entries[:-1]]
    assert {a1, a2} <= {e["uuid"] for e in entries}
    assert [e["message"]["content"] for e in entries][-3:] == ["q2", "q2 again", [text("a2")]]


async def test_a_last_prompt_record_chooses_the_leaf(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    q1 = t.user(None, "q1")
    a1 = t.assistant(q1, "m1", text("a1"))
    chosen = t.user(a1, "chosen")
    chosen_answer = t.assistant(chosen, "m2", text("chosen answer"))
    later = t.user(a1, "later, abandoned")
    t.assistant(later, "m3", text("later answer"))
    t.other({"type": "last-prompt", "leafUuid": chosen_answer})

    imported = await import_transcript(store, t.write(tmp_path / "t.jsonl"), name="picked")

    assert imported.session.name == "picked"
    assert [m[1] for m in messages(await branch(store, "picked"))] == [
        [text("q1")],
        [text("a1")],
        [text("chosen")],
        [text("chosen answer")],
    ]


async def test_parallel_tool_calls_come_back_whole(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    # As Claude Code writes them: one record per block, each result under its own
    # call, so the chain from the leaf misses the second call and its result.
    t = Transcript(workdir)
    go = t.user(None, "go")
    say = t.assistant(go, "m1", text("two at once"))
    first = t.assistant(say, "m1", tool_use("toolu_a", "echo a"))
    second = t.assistant(first, "m1", tool_use("toolu_b", "echo b"))
    t.user(second, [claude_result("toolu_b", "b")])
    answer_a = t.user(first, [claude_result("toolu_a", "a")])
    snapshot = t.add("attachment", answer_a, attachment={"type": "prompt_snapshot"})
    t.assistant(snapshot, "m2", text("done"))

    imported = await import_transcript(store, t.write(tmp_path / "t.jsonl"))

    assert [m[1] for m in messages(await branch(store, imported.session.name))] == [
        [text("go")],
        [text("two at once"), tool_use("toolu_a", "echo a"), tool_use("toolu_b", "echo b")],
        [tool_result("toolu_b", "b"), tool_result("toolu_a", "a")],
        [text("done")],
    ]
    assert "message on an abandoned branch" not in imported.skipped


async def test_a_compaction_boundary_starts_the_conversation_at_its_summary(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    old = t.user(None, "long forgotten")
    old_answer = t.assistant(old, "m1", text("old answer"))
    boundary = t.add("system", None, subtype="compact_boundary", logicalParentUuid=old_answer)
    summary_text = "This session is being continued from a previous conversation..."
    compacted = t.user(
        boundary, summary_text, isCompactSummary=True, isVisibleInTranscriptOnly=True
    )
    q = t.user(compacted, "next question")
    t.assistant(q, "m2", text("next answer"))

    imported = await import_transcript(store, t.write(tmp_path / "t.jsonl"))

    assert messages(await branch(store, imported.session.name)) == [
        ("user", [text(summary_text), text("next question")]),
        ("assistant", [text("next answer")]),
    ]


async def test_a_prompt_never_answered_is_left_out_and_counted(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    q1 = t.user(None, "q1")
    a1 = t.assistant(q1, "m1", text("a1"))
    t.user(a1, "no reply ever came")

    imported = await import_transcript(store, t.write(tmp_path / "t.jsonl"))

    head = await store.nodes.get(imported.session.head_id)
    assert head.kind is NodeKind.SUMMARY
    assert head.data["resume_at"] == a1
    assert imported.skipped == {"block after the last reply": 1}


async def test_round_trip_export_import_renders_the_same_branch(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    await forked_tree(store, workdir)
    original = await branch(store, "exp")
    exported = await export_branch(store, "exp")
    path = exported.write(tmp_path / "exp.jsonl")

    imported = await import_transcript(store, path, name="back")

    again = await branch(store, "back")
    assert messages(again) == messages(original)
    assert [n.kind for n in again] == [n.kind for n in original]
    assert imported.skipped == {}
    # And out again: the same records but for ids, times and the session.
    volatile = {"uuid", "parentUuid", "timestamp", "sessionId"}
    out = await export_branch(store, "back")

    def stable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in r.items() if k not in volatile}
            | {"message": {k: v for k, v in r["message"].items() if k != "id"}}
            for r in records
        ]

    assert stable(out.records) == stable(exported.records)


def line_numbered_error(path: Path, line: int | None) -> str:
    return re.escape(f"{path}:{line}: " if line else f"{path}: ")


async def nothing_stored(store: Store) -> None:
    assert await store.sessions.names() == []
    assert await count(store, "nodes") == 0
    assert await count(store, "transcript_entries") == 0
    assert await count(store, "transcript_files") == 0


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        pytest.param(
            '{"type":"queue-operation"}\n{"type": "user", oops\n', 2, "not JSON", id="not-json"
        ),
        pytest.param("[1, 2]\n", 1, "a JSON list", id="not-an-object"),
        pytest.param(b"\xff\xfe\n", 1, "not UTF-8", id="not-utf8"),
        pytest.param(
            '{"type":"queue-operation"}\n{"type":"summary","summary":"s"}\n',
            None,
            "no user or assistant record",
            id="no-messages",
        ),
        pytest.param(
            '{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"q"}}\n'
            '{"type":"assistant","uuid":"a1","parentUuid":"gone","message":{"role":"assistant","content":[]}}\n',
            2,
            "parentUuid 'gone' names no record",
            id="broken-chain",
        ),
        pytest.param(
            '{"type":"user","uuid":"u1","parentUuid":"a1","message":{"role":"user","content":"q"}}\n'
            '{"type":"assistant","uuid":"a1","parentUuid":"u1","message":{"role":"assistant","content":[]}}\n',
            2,
            "loop back",
            id="loop",
        ),
        pytest.param(
            '{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"q"}}\n'
            '{"type":"assistant","uuid":"a1","parentUuid":"u1","message":{"role":"assistant",'
            '"content":[{"type":"tool_use","id":"t","name":"Bash","input":"ls"}]}}\n',
            2,
            "tool_use block whose input is not an object",
            id="bad-block",
        ),
        pytest.param(
            '{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"q"}}\n',
            None,
            "no assistant reply",
            id="no-reply",
        ),
    ],
)
async def test_a_bad_file_names_the_file_and_line_and_stores_nothing(
    store: Store, tmp_path: Path, content: str | bytes, line: int | None, problem: str
) -> None:
    path = tmp_path / "bad.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(BadTranscript) as raised:
        await import_transcript(store, path)

    message = str(raised.value)
    assert re.match(line_numbered_error(path, line), message), message
    assert problem in message
    assert message.endswith("Nothing was imported.")
    assert raised.value.line == line
    await nothing_stored(store)


async def test_a_missing_file_or_a_taken_name_stores_nothing(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    with pytest.raises(BadTranscript, match="cannot be read"):
        await import_transcript(store, tmp_path / "missing.jsonl")

    t = Transcript(workdir)
    t.assistant(t.user(None, "q"), "m1", text("a"))
    path = t.write(tmp_path / "t.jsonl")
    await store.sessions.create("taken")
    with pytest.raises(SessionExists):
        await import_transcript(store, path, name="taken")
    with pytest.raises(InvalidArgument, match="Session names"):
        await import_transcript(store, path, name="no spaces allowed")

    assert await store.sessions.names() == ["taken"]
    assert await count(store, "transcript_entries") == 0


async def test_importing_twice_gives_two_sessions_with_their_own_transcripts(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    t.assistant(t.user(None, "q"), "m1", text("a"))
    path = t.write(tmp_path / f"{t.session_id}.jsonl")

    first = await import_transcript(store, path)
    second = await import_transcript(store, path)

    assert second.session.name == f"{first.session.name}-2"
    assert first.claude_session_id != second.claude_session_id
    assert first.session.tree_id != second.session.tree_id


def test_an_export_is_a_plain_value() -> None:
    exported = Export(session_id="s", cwd="/no/where", records=[{"type": "user"}])
    assert exported.text() == '{"type":"user"}\n'
    assert exported.default_path("/c") == Path("/c/projects/-no-where/s.jsonl")


async def test_a_last_line_cut_short_is_left_out_as_claude_code_reads_it(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    q1 = t.user(None, "q1")
    a1 = t.assistant(q1, "m1", text("a1"))
    q2 = t.user(a1, "q2")
    a2 = t.assistant(q2, "m2", text("a2"))
    path = t.write(tmp_path / "crashed.jsonl")
    record = json.dumps({"type": "user", "parentUuid": a2, "message": {"content": "q3"}})
    # A crash mid-write: half a record, cut inside a UTF-8 character, no newline.
    with path.open("ab") as file:
        file.write(record.encode()[:40] + "é".encode()[:1])

    imported = await import_transcript(store, path)

    head = await store.nodes.get(imported.session.head_id)
    assert head.data["resume_at"] == a2
    assert imported.skipped == {"truncated last line": 1}
    assert messages(await branch(store, imported.session.name)) == [
        ("user", [text("q1")]),
        ("assistant", [text("a1")]),
        ("user", [text("q2")]),
        ("assistant", [text("a2")]),
    ]


async def test_a_line_cut_short_before_others_is_still_an_error(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    t = Transcript(workdir)
    q1 = t.user(None, "q1")
    t.assistant(q1, "m1", text("a1"))
    path = tmp_path / "bad.jsonl"
    lines = t.write(path).read_text().splitlines()
    path.write_text(lines[0][:20] + "\n" + lines[1] + "\n", encoding="utf-8")

    with pytest.raises(BadTranscript, match="not JSON") as raised:
        await import_transcript(store, path)

    assert raised.value.line == 1
    await nothing_stored(store)


async def test_claude_sessions_lists_a_directorys_transcripts_newest_first(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    config_dir = tmp_path / "claude-config"
    project = config_dir / "projects" / project_dir_name(workdir)
    project.mkdir(parents=True)
    written = []
    for n, prompt in enumerate(["fix the  login\nbug", "x" * 300]):
        t = Transcript(workdir)
        t.other({"type": "queue-operation", "operation": "enqueue"})
        t.user(None, "<command-name>/clear</command-name>", isMeta=True)
        q = t.user(None, [text(prompt)])
        t.assistant(q, "m1", text("ok"))
        path = t.write(project / f"{t.session_id}.jsonl")
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
        written.append((t.session_id, path))
    (project / "notes.jsonl").write_text("{}\n")  # not a session: not named by a uuid
    (project / written[0][0]).mkdir()  # a session's subagent folder

    listed = await claude_sessions(str(workdir), config_dir=config_dir)
    first = await claude_sessions(str(workdir), limit=1, config_dir=config_dir)

    assert listed.directory == str(project)
    assert [s.session_id for s in listed.sessions] == [written[1][0], written[0][0]]
    assert listed.sessions[1].first_prompt == "fix the login bug"
    assert listed.sessions[0].first_prompt == "x" * 199 + "…"
    assert listed.sessions[1].size_bytes == written[0][1].stat().st_size
    assert listed.sessions[1].modified == 1_000_000
    assert not listed.more
    assert first.more
    assert [s.session_id for s in first.sessions] == [written[1][0]]


async def test_import_claude_session_finds_a_session_id_and_refuses_an_unknown_one(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    config_dir = tmp_path / "claude-config"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    project = config_dir / "projects" / project_dir_name(elsewhere)
    project.mkdir(parents=True)
    t = Transcript(elsewhere)
    q = t.user(None, "q1")
    t.assistant(q, "m1", text("a1"))
    t.write(project / f"{t.session_id}.jsonl")

    # Not under workdir's project: found under the project it ran in.
    imported = await import_claude_session(
        store, t.session_id, cwd=str(workdir), name="taken-over", config_dir=config_dir
    )
    with pytest.raises(InvalidArgument, match="claude_sessions lists"):
        await import_claude_session(store, str(uuid.uuid4()), config_dir=config_dir)

    assert imported.session.name == "taken-over"
    assert imported.session.config.cwd == str(workdir)
    assert imported.source == str(project / f"{t.session_id}.jsonl")
    assert imported.source_session_id == t.session_id
    assert imported.messages == 2


async def test_export_claude_session_writes_where_claude_resume_looks(
    store: Store, workdir: Path, tmp_path: Path
) -> None:
    await forked_tree(store, workdir)
    config_dir = tmp_path / "claude-config"

    exported = await export_claude_session(store, "exp", config_dir=config_dir)

    path = Path(exported.path)
    assert path == (
        config_dir / "projects" / project_dir_name(workdir) / f"{exported.claude_session_id}.jsonl"
    )
    assert len((await anyio.Path(path).read_text()).splitlines()) == exported.records
    assert exported.resume == f"cd {workdir} && claude --resume {exported.claude_session_id}"
    listed = await claude_sessions(str(workdir), config_dir=config_dir)
    assert [s.session_id for s in listed.sessions] == [exported.claude_session_id]
    assert listed.sessions[0].first_prompt == "q1"
