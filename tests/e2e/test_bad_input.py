"""Bad input to every tool: a clear tool error that says what to do instead, and nothing stored.

One server serves the whole table (module scope). Each case calls one tool with
one bad argument set and asserts that the call is refused with an MCP tool
error a model can act on: it names the bad argument or the unknown thing and
says what to do instead (the allowed range, the sessions that exist, the tool
that lists the ids), with no pydantic dump or traceback. Before and after the
call it takes a snapshot (the row count of every table; the sessions, trees,
streams and approvals rows, read-only from the database file; the ``list``
tool's answer; the live ``claude`` processes), and the two must be equal.
"""

from __future__ import annotations

import enum
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import CallToolResult, TextContent

from session_tree.testing import ScriptedModel, text

from .harness import Harness, serve

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.e2e,
    pytest.mark.sqlite_only(reason="compares every table of the SQLite file before and after"),
]

MIB = 1024 * 1024
TEN_KB = 10 * 1024
HUGE = 10**30  # past SQLite's 64-bit integers
INT64_OVER = 2**63  # one past SQLite's largest integer


class Ref(enum.Enum):
    """An id known only once the module's server is set up."""

    STREAM = "the stream of main's turn"
    SUMMARY = "main's head (the summary of its turn)"
    PROMPT = "main's prompt node, inside its turn"
    OTHER_ROOT = "the root of other's tree"


@dataclass
class World:
    harness: Harness
    ids: dict[Ref, int]


# --- what a clear message holds -------------------------------------------------------------

# Tool errors the SDK wraps start with this; what follows must say something.
PREFIX = re.compile(r"^Error executing tool \w+:?\s*")
NOISE = (
    "validation error",
    "pydantic",
    "[type=",
    "input_value",
    "input_type",
    "Traceback",
    'File "',
)
ARGUMENTS_MODEL = re.compile(r"\b\w+Arguments\b")  # the SDK's generated model names
MAX_MESSAGE = 2000  # an error never echoes a 1 MB prompt or a 10 KB name


def num(n: int) -> str:
    """A pattern for the number ``n`` as a message may write it (10000, 10,000, 10_000)."""
    return r"(?<![\d.])" + f"{n:,}".replace(",", r"[,_ ]?") + r"(?![\d])"


def arg(name: str) -> str:
    return rf"(?<![\w]){re.escape(name)}(?![\w])"


def missing(name: str) -> tuple[str, ...]:
    return (arg(name), r"required|missing")


STRING = r"string|text"
INTEGER = r"integer|whole number"
NUMBER = r"number"
BOOLEAN = r"true|false|boolean"
LIST = r"list|array"
OBJECT = r"object|dict"


def typed(name: str, kind: str) -> tuple[str, ...]:
    return (arg(name), kind)


def within(name: str, low: int, high: int | None = None) -> tuple[str, ...]:
    """Names the argument and states the allowed range."""
    return (arg(name), num(low)) + (() if high is None else (num(high),))


UNKNOWN_SESSION = (r"no session named", arg("main"), arg("other"))
UNKNOWN_STREAM = (r"no stream", arg("streams"))
UNKNOWN_NODE = (r"no node|not in the tree", arg("tree"))
UNKNOWN_APPROVAL = (r"no approval", arg("loopback_pending"))
# A name that create or fork would store: refused with the rule for names.
NAME_RULE = (r"name", num(100))
# A name a tool looks up: unknown (listing the sessions), or refused by the rule.
LOOKED_UP = (r"no session named.*" + arg("main") + r"|name.*" + num(100),)
PROMPT_LIMIT = (arg("prompt"), num(1_000_000))
EMPTY = r"empty|blank|at least 1"

# Names with odd characters. create and fork refuse them with the rule for names: a name
# is an identifier a model reads in lists and types back (the issue: "names with odd
# characters: a clear tool error"). A tool that looks a name up answers that it is unknown.
ODD_NAMES = [
    ("empty", ""),
    ("space", "my session"),
    ("slash", "team/alpha"),
    ("unicode", "sessión🙂"),
    ("10kb", "n" * TEN_KB),
    ("nul", "a\x00b"),
    ("newline", "two\nlines"),
]

# Every tool that looks up an existing session by ``name``, with the rest of a valid call.
LOOKUPS: dict[str, dict[str, Any]] = {
    "configure": {},
    "chat": {"prompt": "hi"},
    "chat_async": {"prompt": "hi"},
    "fork": {"new_name": "fresh"},
    "render_context": {},
    "get": {},
    "delete": {},
    "tree": {},
    "interrupt": {},
    "streams": {},
    "loopback_pending": {},
    "loopback_config": {},
    "workspace_diff": {},
    "workspace_apply": {"branch": "taken"},
}


def case(tool: str, label: str, arguments: dict[str, Any], *expect: str) -> Any:
    return pytest.param(tool, arguments, expect, id=f"{tool}-{label}")


CASES = [
    # create
    case("create", "missing-name", {}, *missing("name")),
    case("create", "name-is-a-number", {"name": 5}, *typed("name", STRING)),
    *(case("create", f"name-{label}", {"name": odd}, *NAME_RULE) for label, odd in ODD_NAMES),
    case("create", "name-taken", {"name": "main"}, r"already exists", r"another name|delete"),
    case("create", "max_turns-negative", {"name": "c", "max_turns": -1}, *within("max_turns", 1)),
    case("create", "max_turns-huge", {"name": "c", "max_turns": HUGE}, arg("max_turns")),
    case("create", "max_turns-string", {"name": "c", "max_turns": "three"}, arg("max_turns")),
    case(
        "create",
        "permission_mode-unknown",
        {"name": "c", "permission_mode": "yolo"},
        arg("permission_mode"),
        arg("default"),
        arg("acceptEdits"),
        arg("plan"),
    ),
    case(
        "create",
        "permission_mode-bypass",
        {"name": "c", "permission_mode": "bypassPermissions"},
        arg("bypass_for_s"),
    ),
    case(
        "create",
        "allowed_tools-a-string",
        {"name": "c", "allowed_tools": "Read"},
        *typed("allowed_tools", LIST),
    ),
    case(
        "create",
        "allowed_tools-bad-rule",
        {"name": "c", "allowed_tools": ["Bash(("]},
        r"Bash\(\(",
        r"Bash\(git \*\)",
    ),
    case(
        "create",
        "approval_timeout_s-negative",
        {"name": "c", "approval_timeout_s": -5},
        *within("approval_timeout_s", 0, 86_400),
    ),
    case(
        "create",
        "approval_timeout_s-huge",
        {"name": "c", "approval_timeout_s": 10**9},
        *within("approval_timeout_s", 0, 86_400),
    ),
    case(
        "create",
        "system_prompt-1mb",
        {"name": "c", "system_prompt": "s" * MIB},
        arg("system_prompt"),
        r"at most|too long|longer than|limit|exceeds",
    ),
    case(
        "create",
        "cwd-missing-dir",
        {"name": "c", "cwd": "/nonexistent/session-tree-bad-input"},
        arg("cwd"),
        r"/nonexistent/session-tree-bad-input",
        r"exist|director",
    ),
    case("create", "model-empty", {"name": "c", "model": ""}, arg("model")),
    # An argument the tool does not take is refused, not dropped: a misspelled
    # disallowed_tools would otherwise give a session without its restriction.
    case(
        "create",
        "misspelled-argument",
        {"name": "c", "disallowed_tool": ["Bash"]},
        arg("disallowed_tool"),
        arg("disallowed_tools"),
    ),
    # configure
    case("configure", "missing-name", {}, *missing("name")),
    case("configure", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case(
        "configure",
        "bypass_for_s-negative",
        {"name": "main", "bypass_for_s": -1},
        *within("bypass_for_s", 0, 86_400),
    ),
    case(
        "configure",
        "bypass_for_s-huge",
        {"name": "main", "bypass_for_s": 10**9},
        *within("bypass_for_s", 0, 86_400),
    ),
    case(
        "configure",
        "loopback-not-a-bool",
        {"name": "main", "loopback": "maybe"},
        *typed("loopback", BOOLEAN),
    ),
    case(
        "configure",
        "permission_mode-bypass",
        {"name": "main", "permission_mode": "bypassPermissions"},
        arg("bypass_for_s"),
    ),
    # A valid change with an invalid one: neither is stored.
    case(
        "configure",
        "half-valid",
        {"name": "main", "permission_mode": "plan", "allowed_tools": ["Bash(("]},
        r"Bash\(\(",
        r"Bash\(git \*\)",
    ),
    case(
        "configure",
        "misspelled-argument",
        {"name": "main", "bypass_for": 60},
        arg("bypass_for"),
        arg("bypass_for_s"),
    ),
    # chat
    case("chat", "missing-name", {"prompt": "hi"}, *missing("name")),
    case("chat", "missing-prompt", {"name": "main"}, *missing("prompt")),
    case("chat", "unknown-session", {"name": "nope", "prompt": "hi"}, *UNKNOWN_SESSION),
    case("chat", "name-is-a-list", {"name": ["main"], "prompt": "hi"}, *typed("name", STRING)),
    case("chat", "prompt-is-a-number", {"name": "main", "prompt": 5}, *typed("prompt", STRING)),
    case(
        "chat",
        "prompt-is-an-object",
        {"name": "main", "prompt": {"text": "hi"}},
        *typed("prompt", STRING),
    ),
    case("chat", "prompt-empty", {"name": "main", "prompt": ""}, arg("prompt"), EMPTY),
    case("chat", "prompt-blank", {"name": "main", "prompt": "   "}, arg("prompt"), EMPTY),
    case("chat", "prompt-1mb", {"name": "main", "prompt": "p" * MIB}, *PROMPT_LIMIT),
    case(
        "chat",
        "wait_s-zero",
        {"name": "main", "prompt": "hi", "wait_s": 0},
        *within("wait_s", 0, 3600),
    ),
    case(
        "chat",
        "wait_s-negative",
        {"name": "main", "prompt": "hi", "wait_s": -1},
        *within("wait_s", 0, 3600),
    ),
    case(
        "chat",
        "wait_s-huge",
        {"name": "main", "prompt": "hi", "wait_s": 10**9},
        *within("wait_s", 0, 3600),
    ),
    case(
        "chat",
        "wait_s-a-string",
        {"name": "main", "prompt": "hi", "wait_s": "soon"},
        *typed("wait_s", NUMBER),
    ),
    # chat_async
    case("chat_async", "missing-prompt", {"name": "main"}, *missing("prompt")),
    case("chat_async", "unknown-session", {"name": "nope", "prompt": "hi"}, *UNKNOWN_SESSION),
    case(
        "chat_async", "prompt-is-a-number", {"name": "main", "prompt": 5}, *typed("prompt", STRING)
    ),
    case("chat_async", "prompt-1mb", {"name": "main", "prompt": "p" * MIB}, *PROMPT_LIMIT),
    case(
        "chat_async",
        "ephemeral-not-a-bool",
        {"name": "main", "prompt": "hi", "ephemeral": "sometimes"},
        *typed("ephemeral", BOOLEAN),
    ),
    # poll
    case("poll", "missing-stream_id", {}, *missing("stream_id")),
    case("poll", "unknown-stream", {"stream_id": 999}, *UNKNOWN_STREAM),
    case("poll", "stream_id-a-string", {"stream_id": "abc"}, *typed("stream_id", INTEGER)),
    case("poll", "stream_id-fractional", {"stream_id": 1.5}, *typed("stream_id", INTEGER)),
    case("poll", "stream_id-negative", {"stream_id": -1}, r"stream_id|no stream"),
    case("poll", "stream_id-int64-overflow", {"stream_id": INT64_OVER}, r"stream_id|no stream"),
    case("poll", "stream_id-huge", {"stream_id": HUGE}, r"stream_id|no stream"),
    case(
        "poll",
        "from_seq-negative",
        {"stream_id": Ref.STREAM, "from_seq": -1},
        *within("from_seq", 0),
    ),
    case("poll", "from_seq-huge", {"stream_id": Ref.STREAM, "from_seq": HUGE}, arg("from_seq")),
    case("poll", "limit-zero", {"stream_id": Ref.STREAM, "limit": 0}, *within("limit", 1, 10_000)),
    case(
        "poll",
        "limit-negative",
        {"stream_id": Ref.STREAM, "limit": -1},
        *within("limit", 1, 10_000),
    ),
    case(
        "poll", "limit-huge", {"stream_id": Ref.STREAM, "limit": 10**9}, *within("limit", 1, 10_000)
    ),
    case(
        "poll",
        "limit-a-string",
        {"stream_id": Ref.STREAM, "limit": "all"},
        *typed("limit", INTEGER),
    ),
    case(
        "poll",
        "wait_ms-negative",
        {"stream_id": Ref.STREAM, "wait_ms": -1},
        *within("wait_ms", 0, 50_000),
    ),
    case(
        "poll",
        "wait_ms-huge",
        {"stream_id": Ref.STREAM, "wait_ms": 10**12},
        *within("wait_ms", 0, 50_000),
    ),
    case(
        "poll",
        "wait_ms-fractional",
        {"stream_id": Ref.STREAM, "wait_ms": 1.5},
        *typed("wait_ms", INTEGER),
    ),
    # fork
    case("fork", "missing-new_name", {"name": "main"}, *missing("new_name")),
    case("fork", "missing-name", {"new_name": "fresh"}, *missing("name")),
    case("fork", "unknown-session", {"name": "nope", "new_name": "fresh"}, *UNKNOWN_SESSION),
    case(
        "fork",
        "new_name-taken",
        {"name": "main", "new_name": "other"},
        r"already exists",
        r"delete",
    ),
    *(
        case("fork", f"new_name-{label}", {"name": "main", "new_name": odd}, *NAME_RULE)
        for label, odd in ODD_NAMES
    ),
    case(
        "fork",
        "at-unknown-node",
        {"name": "main", "new_name": "fresh", "at": 99_999},
        *UNKNOWN_NODE,
    ),
    case(
        "fork",
        "at-another-tree",
        {"name": "main", "new_name": "fresh", "at": Ref.OTHER_ROOT},
        r"not in the tree",
        arg("tree"),
    ),
    case(
        "fork",
        "at-inside-a-turn",
        {"name": "main", "new_name": "fresh", "at": Ref.PROMPT},
        r"turn boundary",
        r"summary",
    ),
    case("fork", "at-negative", {"name": "main", "new_name": "fresh", "at": -5}, r"\bat\b|no node"),
    case(
        "fork",
        "at-int64-overflow",
        {"name": "main", "new_name": "fresh", "at": INT64_OVER},
        r"\bat\b|no node",
    ),
    case(
        "fork",
        "at-a-string",
        {"name": "main", "new_name": "fresh", "at": "head"},
        *typed("at", INTEGER),
    ),
    # render_context
    case("render_context", "missing-name", {}, *missing("name")),
    case("render_context", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("render_context", "end-unknown-node", {"name": "main", "end": 99_999}, *UNKNOWN_NODE),
    case("render_context", "start-unknown-node", {"name": "main", "start": 99_999}, *UNKNOWN_NODE),
    case(
        "render_context",
        "end-in-another-tree",
        {"name": "main", "end": Ref.OTHER_ROOT},
        r"not in the tree",
        arg("tree"),
    ),
    # start exists, but is not on the branch that ends at end.
    case(
        "render_context",
        "start-not-an-ancestor",
        {"name": "main", "start": Ref.SUMMARY, "end": Ref.PROMPT},
        arg("start"),
        r"ancestor|branch|path",
    ),
    case("render_context", "end-negative", {"name": "main", "end": -1}, r"\bend\b|no node"),
    case(
        "render_context",
        "start-int64-overflow",
        {"name": "main", "start": INT64_OVER},
        r"\bstart\b|no node",
    ),
    case(
        "render_context",
        "start-a-string",
        {"name": "main", "start": "first"},
        *typed("start", INTEGER),
    ),
    # get, list, delete, tree, interrupt
    case("get", "missing-name", {}, *missing("name")),
    case("get", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("get", "name-is-a-number", {"name": 7}, *typed("name", STRING)),
    case("list", "unexpected-argument", {"name": "main"}, arg("name"), arg("get")),
    case("delete", "missing-name", {}, *missing("name")),
    case("delete", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("delete", "name-is-a-number", {"name": 7}, *typed("name", STRING)),
    case("tree", "missing-name", {}, *missing("name")),
    case("tree", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("interrupt", "missing-name", {}, *missing("name")),
    case("interrupt", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    # streams
    case("streams", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("streams", "name-is-a-number", {"name": 5}, *typed("name", STRING)),
    case("streams", "limit-zero", {"limit": 0}, *within("limit", 1, 1000)),
    case("streams", "limit-huge", {"limit": 10**9}, *within("limit", 1, 1000)),
    case("streams", "limit-a-string", {"limit": "many"}, *typed("limit", INTEGER)),
    case("streams", "misspelled-argument", {"session": "main"}, arg("session"), arg("name")),
    # loopback_pending
    case("loopback_pending", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("loopback_pending", "name-is-a-number", {"name": 5}, *typed("name", STRING)),
    case("loopback_pending", "wait_ms-negative", {"wait_ms": -1}, *within("wait_ms", 0, 50_000)),
    case("loopback_pending", "wait_ms-huge", {"wait_ms": 10**9}, *within("wait_ms", 0, 50_000)),
    case("loopback_pending", "wait_ms-a-string", {"wait_ms": "soon"}, *typed("wait_ms", INTEGER)),
    case(
        "loopback_pending", "misspelled-argument", {"session": "main"}, arg("session"), arg("name")
    ),
    # loopback_respond
    case(
        "loopback_respond",
        "missing-everything",
        {},
        arg("approval_id"),
        arg("decision"),
        r"required|missing",
    ),
    case("loopback_respond", "missing-decision", {"approval_id": 1}, *missing("decision")),
    case(
        "loopback_respond",
        "unknown-approval",
        {"approval_id": 999, "decision": "allow"},
        *UNKNOWN_APPROVAL,
    ),
    case(
        "loopback_respond",
        "approval_id-zero",
        {"approval_id": 0, "decision": "allow"},
        r"approval_id|no approval",
    ),
    case(
        "loopback_respond",
        "approval_id-int64-overflow",
        {"approval_id": 2**64, "decision": "deny"},
        r"approval_id|no approval",
    ),
    case(
        "loopback_respond",
        "approval_id-a-string",
        {"approval_id": "first", "decision": "deny"},
        *typed("approval_id", INTEGER),
    ),
    case(
        "loopback_respond",
        "decision-unknown",
        {"approval_id": 999, "decision": "maybe"},
        arg("decision"),
        r"'?allow'?",
        r"'?deny'?",
    ),
    case(
        "loopback_respond",
        "message-too-long",
        {"approval_id": 999, "decision": "deny", "message": "m" * 20_000},
        *within("message", 10_000),
    ),
    case(
        "loopback_respond",
        "updated_input-a-string",
        {"approval_id": 999, "decision": "allow", "updated_input": "ls"},
        *typed("updated_input", OBJECT),
    ),
    case(
        "loopback_respond",
        "interrupt-with-allow",
        {"approval_id": 999, "decision": "allow", "interrupt": True},
        arg("interrupt"),
        arg("deny"),
    ),
    case(
        "loopback_respond",
        "updated_input-with-deny",
        {"approval_id": 999, "decision": "deny", "updated_input": {"a": 1}},
        arg("updated_input"),
        arg("allow"),
    ),
    case(
        "loopback_respond",
        "rule-without-remember",
        {"approval_id": 999, "decision": "allow", "rule": "Bash"},
        arg("rule"),
        arg("remember"),
    ),
    # loopback_config
    case("loopback_config", "missing-name", {}, *missing("name")),
    case("loopback_config", "unknown-session", {"name": "nope"}, *UNKNOWN_SESSION),
    case("loopback_config", "name-is-a-number", {"name": 5}, *typed("name", STRING)),
    # a tool that does not exist
    case("nosuchtool", "unknown-tool", {}, arg("nosuchtool")),
    # Every session-name lookup with names no session can have.
    *(
        case(tool, f"name-{label}", {"name": odd, **rest}, *LOOKED_UP)
        for tool, rest in LOOKUPS.items()
        for label, odd in ODD_NAMES
    ),
]

# loopback_permit answers Claude Code's permission contract (one text block holding one JSON
# object), "never a tool error" (its module says so): malformed input gets a deny that says why.
PERMIT_CASES = [
    pytest.param({}, (arg("tool_name"), arg("input")), id="missing-everything"),
    pytest.param({"tool_name": "Bash"}, (arg("input"),), id="missing-input"),
    pytest.param({"tool_name": "Bash", "input": "ls"}, typed("input", OBJECT), id="input-a-string"),
    pytest.param(
        {"tool_name": 5, "input": {}}, typed("tool_name", STRING), id="tool_name-a-number"
    ),
    # Well-formed, but a parent's server cannot tell which session asks.
    pytest.param(
        {"tool_name": "Bash", "input": {"command": "ls"}, "tool_use_id": "toolu_1"},
        (r"loopback_config", r"SESSION_TREE_LOOPBACK_TOKEN"),
        id="no-loopback-token",
    ),
]


# --- one server for the module ------------------------------------------------------------


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedModel]:
    with ScriptedModel() as model:
        yield model


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedModel
) -> AsyncIterator[World]:
    """Sessions main (one finished turn) and other (empty), on one server."""
    async with serve(tmp_path_factory.mktemp("bad-input"), scripted) as harness:
        scripted.push(text("a1"))
        await harness.call("create", name="main")
        reply = await harness.call("chat", name="main", prompt="q1")
        other = await harness.call("create", name="other")
        nodes = (await harness.call("tree", name="main"))["tree"]["nodes"]
        (prompt,) = [n["id"] for n in nodes if n["kind"] == "user"]
        ids = {
            Ref.STREAM: reply["stream_id"],
            Ref.SUMMARY: reply["head_id"],
            Ref.PROMPT: prompt,
            Ref.OTHER_ROOT: other["head_id"],
        }
        await settled(harness)
        yield World(harness, ids)


async def settled(harness: Harness) -> None:
    """Wait until what the finished turn writes afterwards (its transcript) is written."""
    last = await state(harness)
    for _ in range(50):
        await anyio.sleep(0.1)
        now = await state(harness)
        if now == last:
            return
        last = now
    raise AssertionError("the database kept changing after main's turn ended")


async def state(harness: Harness) -> dict[str, Any]:
    """What bad input must not change: the database, the sessions listed, the children."""
    return {
        "db": db_snapshot(harness.db_path),
        "list": (await harness.call("list"))["result"],
        "claude": sorted(p.pid for p in harness.claude_children()),
    }


def db_snapshot(db_path: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        snapshot: dict[str, Any] = {
            f"count {t}": conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
        }
        for table in ("sessions", "trees", "streams", "approvals"):
            snapshot[table] = conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
        return snapshot


def resolve(arguments: dict[str, Any], ids: dict[Ref, int]) -> dict[str, Any]:
    return {k: ids[v] if isinstance(v, Ref) else v for k, v in arguments.items()}


def shown(value: Any) -> str:
    """A short repr of an argument set for a failure message."""
    return json.dumps(
        {
            k: v[:40] + f"...({len(v)} chars)" if isinstance(v, str) and len(v) > 40 else v
            for k, v in value.items()
        }
        if isinstance(value, dict)
        else value,
        default=str,
    )


def unclear(message: str, expect: tuple[str, ...]) -> list[str]:
    """Why ``message`` is not a clear error for this case (nothing when it is)."""
    problems = [f"not mentioned: /{p}/" for p in expect if not re.search(p, message, re.I | re.S)]
    noise = [n for n in NOISE if n in message] + ARGUMENTS_MODEL.findall(message)
    if noise:
        problems.append(f"a raw validation dump or traceback: {noise}")
    if len(PREFIX.sub("", message)) < 20:
        problems.append("says nothing beyond the tool's name")
    if len(message) > MAX_MESSAGE:
        problems.append(f"{len(message)} characters long")
    return problems


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call_and_clean(
    world: World, tool: str, arguments: dict[str, Any]
) -> tuple[CallToolResult, dict[str, Any], dict[str, Any]]:
    """Call a tool; the result and the state before and after. Sessions the call
    wrongly created are deleted again, so that one failing case leaves the next alone."""
    harness = world.harness
    before = await state(harness)
    result = await harness.client.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    after = await state(harness)
    known = {s["session"]["name"] for s in before["list"]}
    for info in after["list"]:
        if info["session"]["name"] not in known:
            await harness.client.call_tool("delete", {"name": info["session"]["name"]})
    return result, before, after


@pytest.mark.parametrize(("tool", "arguments", "expect"), CASES)
async def test_bad_input_is_refused_clearly_and_stores_nothing(
    world: World, tool: str, arguments: dict[str, Any], expect: tuple[str, ...]
) -> None:
    arguments = resolve(arguments, world.ids)
    result, before, after = await call_and_clean(world, tool, arguments)

    message = text_of(result)
    problems = [] if result.is_error else ["not a tool error: the call succeeded"]
    problems += unclear(message, expect)
    if after != before:
        changed = sorted(k for k in before["db"] if before["db"][k] != after["db"].get(k))
        changed += [k for k in ("list", "claude") if before[k] != after[k]]
        problems.append(f"state changed: {changed}")
    if problems:
        pytest.fail(
            f"{tool}({shown(arguments)}):\n  "
            + "\n  ".join(problems)
            + f"\nreturned: {message[:800]!r}",
            pytrace=False,
        )


@pytest.mark.parametrize(("arguments", "expect"), PERMIT_CASES)
async def test_loopback_permit_answers_bad_input_with_a_clear_deny(
    world: World, arguments: dict[str, Any], expect: tuple[str, ...]
) -> None:
    result, before, after = await call_and_clean(world, "loopback_permit", arguments)

    problems = [] if not result.is_error else ["a tool error, not the contract's deny"]
    blocks = result.content
    message = text_of(result)
    try:
        answer = json.loads(message) if len(blocks) == 1 and not result.is_error else None
    except json.JSONDecodeError:
        answer = None
    if not (isinstance(answer, dict) and answer.get("behavior") == "deny"):
        problems.append('not one text block holding {"behavior": "deny", "message": ...}')
    else:
        message = str(answer.get("message", ""))
    problems += unclear(message, expect)
    if after != before:
        problems.append("state changed")
    if problems:
        pytest.fail(
            f"loopback_permit({shown(arguments)}):\n  "
            + "\n  ".join(problems)
            + f"\nreturned: {text_of(result)[:800]!r}",
            pytrace=False,
        )
