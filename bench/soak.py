"""Soak: many sessions, turns, forks and approvals through one server, then account for everything.

    python bench/soak.py                          # the full soak: 20 sessions x 20 turns
    python bench/soak.py --sessions 5 --turns 5   # a quick run (under a minute)

(from the repository root, in the development environment: ``pip install -e '.[test]'``).

Options: ``--concurrency N`` (default 8: sessions in progress at once, each
with at most one turn in flight; the server's ``SESSION_TREE_MAX_CHILDREN`` is
set to the same unless ``--max-children``), ``--interleave`` (all sessions at
once instead, still at most N turns in flight: nearly every turn then finds its
child evicted and resumes it from the database), ``--fork-every K`` (default
5), ``--latency-ms`` (the scripted model's delay before each response, default
0), ``--turn-timeout S`` (default 180), ``--rss-growth F`` (the bound below,
default 0.25), ``--log-level`` (the server's, default INFO), ``--keep`` (keep
the work directory: database, server log, the files the children wrote; it is
always kept when a check fails), ``--dir PATH``. Not part of the default test
suite: run it by hand; the full soak takes minutes.

Everything is real except the model: a real MCP client (``mcp.client.stdio``)
starts one ``session-tree serve`` whose children are the real ``claude``
binary, talking to a ``ScriptedModel`` on 127.0.0.1 whose responder reads the
prompt and answers with text, a Write tool call, or an HTTP 500.

The run:

- a warm-up session (3 turns, one approval), then the server's RSS is taken as
  the start figure;
- ``--sessions`` sessions of ``--turns`` turns each, taken by ``--concurrency``
  workers (each runs a session to its end, then takes the next). Three sessions
  in four have ``loopback=true``: on those every fourth turn asks to Write a
  file in the session's cwd, which one parent task answers through
  ``loopback_pending`` + ``loopback_respond`` (most allowed, some denied, some
  denied with ``interrupt``, which ends the turn interrupted). Some turns get an
  HTTP 500 from the model (the turn fails; ``CLAUDE_CODE_MAX_RETRIES=0``).
  Turns alternate between a blocking ``chat`` (then ``poll`` if it returned
  early) and ``chat_async`` + long ``poll``, some polls paged with a small
  ``limit``;
- after every ``--fork-every`` turns a session is forked at its head and at its
  previous summary node (the root when there is none), and each fork takes a
  turn of its own (right away in the same worker; with ``--interleave``, in its
  own task while the session goes on).

Checks; any violation fails the run (exit status 1, each problem printed; a
failed poll is one too, retried so that the run goes on):

- events: every stream, read again from seq 0 once it ended, has seqs exactly
  0..n-1 (no gap, no duplicate), identical to what was read live, starts with
  ``turn_start`` and ends as scripted: ``completed`` with ``turn_end``, or
  ``interrupted`` / ``failed`` exactly where the script made it so; a Write
  turn has one ``permission_request`` and one ``permission_decision``, other
  turns none; ``streams`` lists exactly the streams the run started, with the
  same ``last_seq``; the database agrees (``count(events) = last_seq + 1`` for
  every stream, no stream left running);
- approvals: every one the children asked was decided once by the parent (none
  pending or expired at the end); allowed writes wrote their file, denied ones
  did not;
- branches: each turn's first model request carried exactly the prompts of the
  completed turns on its branch (so forks and resumes under load see the right
  history); a fork renders as its origin did at the fork point; each session's
  head is its last completed turn's summary;
- processes: every process seen under the server during the run (sampled every
  0.2 s by pid tree, with its start time so a reused pid is not mistaken) is gone
  once the server has exited, and no ``claude`` descends from this process; no
  sample saw more ``claude`` children of the server than
  ``SESSION_TREE_MAX_CHILDREN`` (a claude's own claude, its embedded ripgrep, is
  not one of them);
- memory: the server's RSS grows in the second half of the run (from the moment
  half the turns had ended to the end of the last) by at most ``--rss-growth``
  (default 25 %) of its RSS at mid-run. A steady server levels off after the
  warm-up; the bound catches a gross leak (at ~90 MiB mid-run, 25 % is ~22 MiB,
  ~80 KiB per turn over the second half of the full soak), and the printed
  per-turn growth shows a smaller one;
- the database: ``PRAGMA integrity_check`` is ``ok``.

Figures printed at the end: turns, turns/s, turn latency (p50/p90/max, by kind
of turn), events, approvals and their wait, server RSS at start, mid, peak and
end, second-half growth, claude processes at peak and at the end, database size,
shutdown time, and the paths of the work directory and the server log.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import psutil
from anyio.abc import TaskGroup
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

from session_tree.testing import (
    RecordedRequest,
    Reply,
    ScriptedModel,
    child_env,
    last_user_text,
    server_error,
    text,
    tool_use,
    transcript,
)
from turn_bench import claude, quantile

MIB = 1024 * 1024
SAMPLE_EVERY_S = 0.2
APPROVER_WAIT_MS = 500
WARMUP_TURNS = 3
POLL_RETRIES = 20

Json = dict[str, Any]

# "soak s03 turn 7: say 4" | "soak s03 turn 5: write /abs/path/s03-t5-allow.txt" | "... fail"
PROMPT = re.compile(r"^soak (\S+) turn (\d+): (?:say (\d+)|write (\S+)|fail)$")


# --- the script ------------------------------------------------------------------------------


class Action(enum.StrEnum):
    SAY = "say"
    ALLOW = "allow"  # a Write the parent allows
    DENY = "deny"  # a Write the parent denies; the child goes on and completes
    STOP = "stop"  # a Write denied with interrupt: the turn ends interrupted
    FAIL = "fail"  # the model answers 500: the turn fails

    @property
    def writes(self) -> bool:
        return self in (Action.ALLOW, Action.DENY, Action.STOP)

    @property
    def expected_status(self) -> str:
        if self is Action.STOP:
            return "interrupted"
        if self is Action.FAIL:
            return "failed"
        return "completed"


VERDICTS = (Action.ALLOW, Action.ALLOW, Action.DENY, Action.ALLOW, Action.STOP, Action.ALLOW)


def action_for(session: int, turn: int, loopback: bool) -> Action:
    """What a main session's turn does: deterministic, so that a short run (5 x 5) has each kind."""
    if loopback and turn % 4 == 1:
        return VERDICTS[(session * 7 + turn // 4) % len(VERDICTS)]
    if session % 4 == 0 and turn % 10 == 3:
        return Action.FAIL
    return Action.SAY


def prompt_for(name: str, turn: int, action: Action, cwd: Path) -> str:
    if action.writes:
        return f"soak {name} turn {turn}: write {cwd / f'{name}-t{turn}-{action.value}.txt'}"
    if action is Action.FAIL:
        return f"soak {name} turn {turn}: fail"
    return f"soak {name} turn {turn}: say {1 + (turn * 3 + len(name)) % 6}"


def file_content(path: str) -> str:
    return f"written by the soak: {Path(path).name}\n"


def respond(request: RecordedRequest) -> Reply | None:
    """The scripted model: after a tool result, a closing text; else what the prompt says."""
    messages = request.messages
    if messages:
        content = messages[-1].get("content")
        if isinstance(content, list) and any(
            isinstance(block, dict) and block.get("type") == "tool_result" for block in content
        ):
            return text("noted")
    match = PROMPT.match(last_user_text(request))
    if match is None:
        return None  # the default reply
    words, path = match.group(3), match.group(4)
    if words is not None:
        return text(*[f"word{i} " for i in range(int(words))])
    if path is not None:
        return tool_use("Write", {"file_path": path, "content": file_content(path)})
    return server_error("soak: scripted failure")


# --- helpers -----------------------------------------------------------------------------------


def latency_row(label: str, samples: Sequence[float]) -> str:
    if not samples:
        return f"{label:<44}{0:>6}"
    p50, p90 = statistics.median(samples) * 1000, quantile(samples, 0.9) * 1000
    return f"{label:<44}{len(samples):>6}{p50:>10.0f}{p90:>10.0f}{max(samples) * 1000:>10.0f}"


def mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


class ToolFailed(RuntimeError):
    pass


@dataclass
class Server:
    client: ClientSession
    db_path: Path
    log_path: Path
    pid: int

    async def call(self, tool: str, **arguments: Any) -> Json:
        """Call a tool that must succeed; its structured result."""
        result = await self.client.call_tool(tool, arguments)
        if not isinstance(result, CallToolResult):
            raise ToolFailed(f"{tool}: unexpected result {type(result).__name__}")
        if result.is_error or result.structured_content is None:
            detail = "\n".join(b.text for b in result.content if isinstance(b, TextContent))
            raise ToolFailed(f"{tool}({_shown(arguments)}) failed: {detail}")
        structured: Json = result.structured_content
        return structured


def _shown(arguments: Json) -> str:
    shown = json.dumps(arguments)
    return shown if len(shown) < 200 else shown[:197] + "..."


@asynccontextmanager
async def serve(
    directory: Path, model: ScriptedModel, *, max_children: int, log_level: str
) -> AsyncIterator[Server]:
    """One ``session-tree serve`` over stdio; it ends when the client closes its stdin."""
    db_path = directory / "soak.db"
    log_path = directory / "server.log"
    env = child_env(model, directory / "home", inherit=True, max_retries=0)
    env |= {"SESSION_TREE_DB": str(db_path), "SESSION_TREE_MAX_CHILDREN": str(max_children)}
    params = StdioServerParameters(
        command=sys.executable,
        # --db also makes the server's command line unique, to find its pid.
        args=["-m", "session_tree.cli", "serve", "--db", str(db_path), "--log-level", log_level],
        env=env,
        cwd=str(directory),
    )
    async with AsyncExitStack() as stack:
        errlog: TextIO = stack.enter_context(log_path.open("w"))
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        client = await stack.enter_async_context(ClientSession(read, write))
        await client.initialize()
        yield Server(client=client, db_path=db_path, log_path=log_path, pid=server_pid(db_path))


def server_pid(db_path: Path) -> int:
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            command = process.cmdline()
        except psutil.Error:
            continue
        if str(db_path) in command and "serve" in command:
            found.append(int(process.pid))
    if len(found) != 1:
        raise SystemExit(f"expected one server process for {db_path}, found {found}")
    return found[0]


# --- state -------------------------------------------------------------------------------------


@dataclass
class SessionState:
    name: str
    cwd: Path
    loopback: bool
    # Prompts of the completed turns on this session's branch, oldest first.
    prompts: list[str] = field(default_factory=list)
    # (summary node, prompts up to it) of each completed turn on the branch.
    summaries: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    # Where the branch starts: the root, or the node a fork started at.
    base_node: int | None = None
    streams: list[int] = field(default_factory=list)

    @property
    def expected_head(self) -> int | None:
        return self.summaries[-1][0] if self.summaries else self.base_node


@dataclass
class TurnRecord:
    session: str
    stream_id: int
    prompt: str
    action: Action
    blocking: bool
    counted: bool
    latency_s: float
    status: str
    events: int
    permission_waits: list[float]


@dataclass
class Decision:
    approval_id: int
    session: str
    stream_id: int | None
    path: str
    decision: str


@dataclass
class ProcessSeen:
    create_time: float
    claude: bool
    command: str
    # Started by the server itself (a warm child), not by one of its children:
    # Claude Code runs its embedded ripgrep as its own binary, a claude grandchild.
    child: bool = False


@dataclass
class Monitor:
    server_pid: int
    claude_path: str
    rss: list[tuple[float, int]] = field(default_factory=list)
    # Per sample: the server's claude children (what the cap bounds).
    claude_counts: list[int] = field(default_factory=list)
    # Each sample with more of them than the cap: who they were.
    over_cap: list[list[str]] = field(default_factory=list)
    cap: int = 0
    seen: dict[int, ProcessSeen] = field(default_factory=dict)

    def sample(self) -> None:
        try:
            server = psutil.Process(self.server_pid)
            rss = int(server.memory_info().rss)
            below = server.children(recursive=True)
        except psutil.Error:
            return  # the server is gone: shutting down
        self.rss.append((time.monotonic(), rss))
        claude = 0
        found: list[str] = []
        for process in below:
            try:
                pid, created = int(process.pid), float(process.create_time())
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                is_claude = is_claude_process(process, self.claude_path)
                is_child = is_claude and process.ppid() == self.server_pid
                command = " ".join(process.cmdline())[:160]
            except psutil.Error:
                continue
            claude += is_child
            if is_child:
                found.append(f"pid {pid} ({time.time() - created:.2f} s old): {command[:100]}")
            known = self.seen.get(pid)
            if known is None or known.create_time != created or (is_claude and not known.claude):
                self.seen[pid] = ProcessSeen(created, is_claude, command, is_child)
        self.claude_counts.append(claude)
        if self.cap and claude > self.cap:
            self.over_cap.append(found)

    def rss_now(self) -> int:
        return int(psutil.Process(self.server_pid).memory_info().rss)


def is_claude_process(process: Any, claude_path: str) -> bool:
    try:
        return os.path.realpath(str(process.exe())) == claude_path
    except psutil.Error:
        return False


@dataclass
class Soak:
    server: Server
    model: ScriptedModel
    monitor: Monitor
    work: Path
    slots: anyio.Semaphore
    turn_timeout_s: float
    fork_every: int
    planned: int
    problems: list[str] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)
    sessions: dict[str, SessionState] = field(default_factory=dict)
    decisions: dict[int, Decision] = field(default_factory=dict)
    # Each turn's prompt -> the prompts its first model request must carry.
    contexts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    forks_checked: int = 0
    contexts_checked: int = 0
    finished: int = 0
    mid_rss: int | None = None
    started: float = 0.0
    last_report: float = 0.0

    def problem(self, message: str) -> None:
        self.problems.append(message)
        print(f"  PROBLEM: {message}", flush=True)

    # --- one turn ----------------------------------------------------------------------------

    async def turn(
        self, state: SessionState, number: int, action: Action, *, counted: bool = True
    ) -> TurnRecord | None:
        """Run one turn to its end, then check its stream; None when it could not be run."""
        prompt = prompt_for(state.name, number, action, state.cwd)
        self.contexts[prompt] = (*state.prompts, prompt)
        blocking = (number + sum(map(ord, state.name))) % 2 == 0
        limit = 5 if number % 3 == 0 else 500
        live: list[Json] = []
        stream_id: int | None = None
        async with self.slots:
            try:
                with anyio.fail_after(self.turn_timeout_s):
                    start = time.perf_counter()
                    if blocking:
                        reply = await self.server.call("chat", name=state.name, prompt=prompt)
                        stream_id = int(reply["stream_id"])
                        from_seq = int(reply["next_seq"])
                    else:
                        stream = await self.server.call(
                            "chat_async", name=state.name, prompt=prompt
                        )
                        stream_id = int(stream["stream_id"])
                        from_seq = 0
                    state.streams.append(stream_id)
                    first_live = from_seq
                    while True:
                        page = await self.poll(stream_id, from_seq, limit)
                        self.check_page(page, from_seq, limit)
                        live.extend(page["events"])
                        from_seq = int(page["next_seq"])
                        if page["done"]:
                            break
                    latency = time.perf_counter() - start
            except TimeoutError:
                where = f"stream {stream_id}" if stream_id is not None else "no stream yet"
                self.problem(
                    f"{state.name} turn {number} ({action.value}, {where}): "
                    f"no end within {self.turn_timeout_s:g} s; last events: "
                    f"{[e['kind'] for e in live[-5:]]}"
                )
                return None
        record = await self.check_stream(state, stream_id, prompt, action, live, first_live)
        record.blocking, record.counted, record.latency_s = blocking, counted, latency
        self.turns.append(record)
        if counted:
            self.finished += 1
            if self.mid_rss is None and self.finished * 2 >= self.planned:
                self.mid_rss = self.monitor.rss_now()
            now = time.monotonic()
            if now - self.last_report >= 10 or self.finished == self.planned:
                self.last_report = now
                print(
                    f"  {self.finished}/{self.planned} turns, {now - self.started:.0f} s, "
                    f"{len(self.decisions)} approvals, server RSS {mib(self.monitor.rss_now())}",
                    flush=True,
                )
        return record

    async def poll(self, stream_id: int, from_seq: int, limit: int) -> Json:
        """A long poll; a failed one is a problem, retried so that the run goes on."""
        for _ in range(POLL_RETRIES):
            try:
                return await self.server.call(
                    "poll", stream_id=stream_id, from_seq=from_seq, limit=limit, wait_ms=5000
                )
            except ToolFailed as exc:
                self.problem(f"stream {stream_id}: {exc}")
                await anyio.sleep(0.2)
        raise ToolFailed(f"poll of stream {stream_id} failed {POLL_RETRIES} times")

    def check_page(self, page: Json, from_seq: int, limit: int) -> None:
        seqs = [int(e["seq"]) for e in page["events"]]
        expected = list(range(from_seq, from_seq + len(seqs)))
        where = f"stream {page['stream_id']} poll from {from_seq}"
        if seqs != expected:
            self.problem(f"{where}: seqs {seqs} are not {expected}")
        if len(seqs) > limit:
            self.problem(f"{where}: {len(seqs)} events past limit {limit}")
        if int(page["next_seq"]) != from_seq + len(seqs):
            self.problem(f"{where}: next_seq {page['next_seq']} after {len(seqs)} events")
        if page["done"] and (page["more"] or page["status"] in ("running", "awaiting_permission")):
            self.problem(f"{where}: done with more={page['more']} status={page['status']}")

    async def check_stream(
        self,
        state: SessionState,
        stream_id: int,
        prompt: str,
        action: Action,
        live: list[Json],
        first_live: int,
    ) -> TurnRecord:
        """Read the ended stream again from 0 and hold it to the script."""
        page = await self.poll(stream_id, 0, 10_000)
        events: list[Json] = page["events"]
        where = f"{state.name} stream {stream_id} ({action.value})"
        seqs = [int(e["seq"]) for e in events]
        if seqs != list(range(len(seqs))):
            missing = sorted(set(range(max(seqs, default=-1) + 1)) - set(seqs))
            duplicated = sorted({s for s in seqs if seqs.count(s) > 1})
            self.problem(f"{where}: seqs not gap-free: missing {missing}, duplicated {duplicated}")
        if not page["done"] or page["more"]:
            self.problem(f"{where}: re-read not done (more={page['more']}, done={page['done']})")
        if events[first_live:] != live:
            self.problem(
                f"{where}: events read live ({len(live)} from seq {first_live}) differ from the "
                f"re-read ({len(events) - first_live})"
            )
        status = str(page["status"])
        if status != action.expected_status:
            self.problem(
                f"{where}: ended {status} ({page['error']}), expected {action.expected_status}"
            )
        kinds = [str(e["kind"]) for e in events]
        if not kinds or kinds[0] != "turn_start":
            self.problem(f"{where}: first event {kinds[:1]}, expected turn_start")
        last_ok = {
            "completed": ("turn_end",),
            "failed": ("turn_end", "error"),
            "interrupted": ("interrupted",),
        }.get(status, ())
        if not kinds or kinds[-1] not in last_ok:
            self.problem(f"{where}: {status} stream ends with {kinds[-1:]}, expected {last_ok}")
        asked = kinds.count("permission_request")
        decided = kinds.count("permission_decision")
        want = 1 if action.writes else 0
        if asked != want or decided != want:
            self.problem(
                f"{where}: {asked} permission_request and {decided} permission_decision "
                f"events, expected {want} of each"
            )
        self.check_decision(where, action, events)
        waits: list[float] = []
        requested: dict[Any, float] = {}
        for event in events:
            data = event["data"]
            if event["kind"] == "permission_request":
                requested[data.get("approval_id")] = float(event["created_at"])
            elif event["kind"] == "permission_decision" and data.get("approval_id") in requested:
                waits.append(float(event["created_at"]) - requested[data["approval_id"]])
        if status == "completed":
            end = events[-1]["data"]
            if not end.get("head_moved"):
                self.problem(f"{where}: completed but the head did not move: {end}")
            state.prompts.append(prompt)
            state.summaries.append((int(end["summary_node_id"]), tuple(state.prompts)))
        return TurnRecord(
            session=state.name,
            stream_id=stream_id,
            prompt=prompt,
            action=action,
            blocking=False,
            counted=True,
            latency_s=0.0,
            status=status,
            events=len(events),
            permission_waits=waits,
        )

    def check_decision(self, where: str, action: Action, events: list[Json]) -> None:
        """A Write turn's decision in its stream is the parent's, and the tool ran if allowed."""
        decisions = [e["data"] for e in events if e["kind"] == "permission_decision"]
        if not action.writes or not decisions:
            return
        decision = decisions[0]
        want = "allowed" if action is Action.ALLOW else "denied"
        if decision.get("status") != want:
            self.problem(
                f"{where}: approval {decision.get('approval_id')} {decision.get('status')} by "
                f"{decision.get('decided_by')} ({decision.get('message')!r}); the parent was "
                f"to decide {want}"
            )
        results = [e["data"] for e in events if e["kind"] == "tool_result"]
        if action is Action.ALLOW and (not results or results[0].get("is_error")):
            shown = str(results[0].get("content"))[:200] if results else "no tool_result"
            self.problem(f"{where}: the allowed Write did not run: {shown}")

    # --- sessions and forks ------------------------------------------------------------------

    async def create(self, name: str, loopback: bool) -> SessionState:
        cwd = self.work / name
        cwd.mkdir()
        session = await self.server.call("create", name=name, cwd=str(cwd), loopback=loopback)
        state = SessionState(name, cwd, loopback, base_node=int(session["head_id"]))
        self.sessions[name] = state
        return state

    async def run_session(self, tg: TaskGroup | None, index: int, turns: int) -> None:
        """A session's turns, in order; its forks' turns in ``tg`` (None: right here)."""
        name = f"s{index:02d}"
        try:
            state = await self.create(name, loopback=index % 4 != 3)
            for number in range(turns):
                action = action_for(index, number, state.loopback)
                if await self.turn(state, number, action) is None:
                    return  # stuck: the final checks report what is left
                if number % self.fork_every == self.fork_every - 1:
                    await self.fork_both(tg, state, number)
        except ToolFailed as exc:
            self.problem(f"{name}: {exc}")

    async def fork_both(self, tg: TaskGroup | None, state: SessionState, number: int) -> None:
        """Fork at the head and at the previous summary (or the root); each takes a turn."""
        head_fork = await self.fork(state, f"{state.name}-h{number}", None)
        if len(state.summaries) >= 2:
            at, prompts = state.summaries[-2]
        else:
            root = await self.root_of(state.name)
            at, prompts = root, ()
        early_fork = await self.fork(state, f"{state.name}-e{number}", (at, prompts))
        first = Action.ALLOW if state.loopback else Action.SAY
        if tg is None:
            await self.run_fork(head_fork, first)
            await self.run_fork(early_fork, Action.SAY)
        else:
            tg.start_soon(self.run_fork, head_fork, first)
            tg.start_soon(self.run_fork, early_fork, Action.SAY)

    async def root_of(self, name: str) -> int:
        tree = (await self.server.call("tree", name=name))["tree"]
        return next(int(n["id"]) for n in tree["nodes"] if n["kind"] == "root")

    async def fork(
        self, state: SessionState, new_name: str, at: tuple[int, tuple[str, ...]] | None
    ) -> SessionState:
        if at is None:
            node, prompts = state.expected_head, tuple(state.prompts)
            session = await self.server.call("fork", name=state.name, new_name=new_name)
        else:
            node, prompts = at
            session = await self.server.call("fork", name=state.name, new_name=new_name, at=node)
        if int(session["head_id"]) != node:
            self.problem(f"fork {new_name}: head {session['head_id']}, expected {node}")
        # The fork renders as its origin did at the fork point.
        origin = await self.server.call("render_context", name=state.name, end=node)
        forked = await self.server.call("render_context", name=new_name)
        if origin["messages"] != forked["messages"]:
            self.problem(f"fork {new_name}: renders differently from {state.name} at node {node}")
        self.forks_checked += 1
        # Summaries are in branch order, each holding the prompts up to it.
        summaries = [s for s in state.summaries if len(s[1]) <= len(prompts)]
        fork = SessionState(
            new_name,
            state.cwd,
            state.loopback,
            prompts=list(prompts),
            summaries=summaries,
            base_node=node,
        )
        self.sessions[new_name] = fork
        return fork

    async def run_fork(self, state: SessionState, action: Action) -> None:
        try:
            await self.turn(state, 0, action)
        except ToolFailed as exc:
            self.problem(f"{state.name}: {exc}")

    # --- the parent's approvals ----------------------------------------------------------------

    async def approve(self, stop: anyio.Event) -> None:
        """Answer every approval the children ask, as the file name says."""
        while not stop.is_set():
            try:
                pending = await self.server.call("loopback_pending", wait_ms=APPROVER_WAIT_MS)
            except ToolFailed as exc:
                self.problem(f"loopback_pending: {exc}")
                await anyio.sleep(0.5)
                continue
            for approval in pending["approvals"]:
                await self.decide(approval)

    async def decide(self, approval: Json) -> None:
        approval_id = int(approval["id"])
        if approval_id in self.decisions:
            self.problem(f"approval {approval_id} is still pending after it was decided")
            return
        path = str(approval["input"].get("file_path", ""))
        verdict = Path(path).stem.rsplit("-", 1)[-1]
        if approval["tool_name"] != "Write" or verdict not in ("allow", "deny", "stop"):
            self.problem(f"unexpected approval {approval}: denied")
            verdict = "deny"
        arguments: Json = {"approval_id": approval_id, "decision": "allow"}
        if verdict != "allow":
            arguments = {
                "approval_id": approval_id,
                "decision": "deny",
                "message": "the soak says no",
                "interrupt": verdict == "stop",
            }
        self.decisions[approval_id] = Decision(
            approval_id, str(approval["session"]), approval["stream_id"], path, verdict
        )
        try:
            decided = await self.server.call("loopback_respond", **arguments)
        except ToolFailed as exc:
            self.problem(f"loopback_respond: {exc}")
            return
        status = "allowed" if verdict == "allow" else "denied"
        if decided["status"] != status:
            self.problem(f"approval {approval_id}: {decided['status']}, expected {status}")

    # --- the final account -------------------------------------------------------------------

    async def check_sessions(self) -> None:
        """Every session as the server lists it: its streams and head."""
        pending = await self.server.call("loopback_pending")
        if pending["approvals"]:
            self.problem(f"approvals still pending at the end: {pending['approvals']}")
        # A tool returning a list has it under "result" in its structured content.
        listed = (await self.server.call("list"))["result"]
        names = {str(info["session"]["name"]) for info in listed}
        if names != set(self.sessions):
            self.problem(
                f"list differs from the sessions created: {sorted(names ^ set(self.sessions))}"
            )
        records = {t.stream_id: t for t in self.turns}
        for state in self.sessions.values():
            streams = (await self.server.call("streams", name=state.name, limit=1000))["streams"]
            ids = sorted(int(s["stream_id"]) for s in streams)
            if ids != sorted(state.streams):
                self.problem(
                    f"{state.name}: streams {ids}, the run started {sorted(state.streams)}"
                )
            for stream in streams:
                record = records.get(int(stream["stream_id"]))
                if stream["status"] in ("running", "awaiting_permission"):
                    self.problem(
                        f"{state.name}: stream {stream['stream_id']} still {stream['status']}"
                    )
                elif record is not None and int(stream["events"]) != record.events:
                    self.problem(
                        f"{state.name}: stream {stream['stream_id']} holds {stream['events']} events, "
                        f"{record.events} events read"
                    )
            info = await self.server.call("get", name=state.name)
            head = int(info["session"]["head_id"])
            if head != state.expected_head:
                self.problem(f"{state.name}: head {head}, expected {state.expected_head}")
            if info["running_stream_id"] is not None:
                self.problem(f"{state.name}: still running stream {info['running_stream_id']}")

    def check_contexts(self) -> None:
        """Each turn's first model request carried the prompts of its branch, in order."""
        seen: set[str] = set()
        for request in self.model.conversation_requests():
            last = last_user_text(request)
            expected = self.contexts.get(last)
            if expected is None or last in seen:
                continue
            seen.add(last)
            self.contexts_checked += 1
            carried = tuple(
                block
                for role, blocks in transcript(request)
                if role == "user"
                for block in blocks
                if PROMPT.match(block)
            )
            if carried != expected:
                self.problem(
                    f"context of {last!r}: the model saw prompts {list(carried)}, "
                    f"expected {list(expected)}"
                )
        for record in self.turns:
            if record.prompt not in seen and record.status == "completed":
                self.problem(f"no model request carried the prompt {record.prompt!r}")

    def check_files(self) -> None:
        for record in self.turns:
            if not record.action.writes:
                continue
            match = PROMPT.match(record.prompt)
            assert match is not None
            path = Path(match.group(4))
            if record.action is Action.ALLOW:
                if not path.exists() or path.read_text() != file_content(str(path)):
                    self.problem(f"{record.session}: allowed write of {path} did not happen")
            elif path.exists():
                self.problem(f"{record.session}: denied write of {path} happened")


# --- after the server has gone ---------------------------------------------------------------


@dataclass
class DbAccount:
    integrity: str
    streams: int
    events: int
    bad_streams: list[str]
    approvals: dict[str, int]
    size: int


def account_db(db_path: Path) -> DbAccount:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        integrity = ", ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))
        streams = int(db.execute("SELECT count(*) FROM streams").fetchone()[0])
        # A finished turn's events are rows of events or runs of event_runs (migration
        # 0013): one seq range each, seq..seq for a row.
        held = """(SELECT stream_id, seq AS first, seq AS last FROM events UNION ALL
            SELECT stream_id, first_seq, last_seq FROM event_runs)"""
        events = int(db.execute(f"SELECT sum(last - first + 1) FROM {held}").fetchone()[0] or 0)
        bad = [
            f"stream {row[0]} ({row[1]}): last_seq {row[2]}, {row[3]} events, seqs {row[4]}..{row[5]}"
            for row in db.execute(
                f"""
                SELECT s.id, s.status, s.last_seq, coalesce(sum(e.last - e.first + 1), 0),
                    min(e.first), max(e.last)
                FROM streams s LEFT JOIN {held} e ON e.stream_id = s.id
                GROUP BY s.id
                HAVING coalesce(sum(e.last - e.first + 1), 0) != s.last_seq + 1
                    OR (count(e.first) > 0 AND (min(e.first) != 0 OR max(e.last) != s.last_seq))
                    OR s.status NOT IN ('completed', 'failed', 'interrupted')
                """
            )
        ]
        approvals = {
            str(row[0]): int(row[1])
            for row in db.execute("SELECT status, count(*) FROM approvals GROUP BY status")
        }
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*") if p.is_file())
    return DbAccount(integrity, streams, events, bad, approvals, size)


def leftovers(monitor: Monitor) -> tuple[list[str], list[str]]:
    """Processes seen under the server that still run; claude processes under this one."""
    alive = []
    for pid, seen in monitor.seen.items():
        try:
            process = psutil.Process(pid)
            if float(process.create_time()) == seen.create_time and (
                process.status() != psutil.STATUS_ZOMBIE
            ):
                alive.append(f"pid {pid}{' (claude)' if seen.claude else ''}: {seen.command}")
        except psutil.Error:
            continue
    mine = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.status() != psutil.STATUS_ZOMBIE and is_claude_process(
                process, monitor.claude_path
            ):
                mine.append(f"pid {process.pid}: {' '.join(process.cmdline())[:160]}")
        except psutil.Error:
            continue
    return alive, mine


def log_findings(log_path: Path) -> tuple[int, list[str]]:
    """Tracebacks in the server log, and its lines that speak of errors (first few)."""
    lines = log_path.read_text(errors="replace").splitlines()
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    notable = [
        line for line in lines if re.search(r"error|exception|failed|warning", line, re.IGNORECASE)
    ]
    return tracebacks, notable


# --- the run -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="session-tree soak: see the module docstring")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--turns", type=int, default=20, help="turns per session (forks add more)")
    parser.add_argument("--concurrency", type=int, default=8, help="turns in flight at once")
    parser.add_argument(
        "--max-children",
        type=int,
        default=None,
        help="SESSION_TREE_MAX_CHILDREN (default: --concurrency)",
    )
    parser.add_argument("--fork-every", type=int, default=5)
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="run every session at once (turns still bounded by --concurrency), not in workers",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--turn-timeout", type=float, default=180.0, help="seconds per turn")
    parser.add_argument("--rss-growth", type=float, default=0.25)
    parser.add_argument("--log-level", default="INFO", help="the server's --log-level")
    parser.add_argument(
        "--dir", type=Path, default=None, help="work directory (default: a temp one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if min(args.sessions, args.turns, args.concurrency, args.fork_every) < 1:
        parser.error("--sessions, --turns, --concurrency and --fork-every must be at least 1")
    return args


async def run_sessions(soak: Soak, args: argparse.Namespace) -> None:
    if args.interleave:
        # Every session at once, turns bounded by the semaphore: most turns find their
        # session's child evicted and resume it from the database.
        async with anyio.create_task_group() as tg:
            for index in range(args.sessions):
                tg.start_soon(soak.run_session, tg, index, args.turns)
        return
    # --concurrency workers, each taking the next session and running it to its end,
    # forks' turns in line: main turns mostly find their child warm.
    queue = list(range(args.sessions))

    async def worker() -> None:
        while queue:
            await soak.run_session(None, queue.pop(0), args.turns)

    async with anyio.create_task_group() as tg:
        for _ in range(min(args.concurrency, args.sessions)):
            tg.start_soon(worker)


@dataclass
class Run:
    """What the drive measured, for the final account."""

    max_children: int
    start_rss: int = 0
    end_rss: int = 0
    elapsed_s: float = 0.0
    shutdown_s: float = 0.0
    alive: list[str] = field(default_factory=list)
    mine: list[str] = field(default_factory=list)


async def drive(args: argparse.Namespace, work: Path, figures: Run) -> Soak:
    """Start the model and the server, run the warm-up and every session, stop the server."""
    # The real path: the monitor knows a claude process by its executable.
    claude_path = str(await anyio.Path(claude()).resolve())
    stop_approver, stop_monitor = anyio.Event(), anyio.Event()
    with ScriptedModel(responder=respond, latency_s=args.latency_ms / 1000) as model:
        async with anyio.create_task_group() as sampling:
            async with serve(
                work, model, max_children=figures.max_children, log_level=args.log_level
            ) as server:
                monitor = Monitor(server.pid, claude_path, cap=figures.max_children)
                soak = Soak(
                    server=server,
                    model=model,
                    monitor=monitor,
                    work=work / "sessions",
                    slots=anyio.Semaphore(args.concurrency),
                    turn_timeout_s=args.turn_timeout,
                    fork_every=args.fork_every,
                    planned=planned_turns(args),
                )

                async def sample() -> None:
                    # Until the server has exited: its children are watched while it stops.
                    while not stop_monitor.is_set():
                        await anyio.to_thread.run_sync(monitor.sample)
                        with anyio.move_on_after(SAMPLE_EVERY_S):
                            await stop_monitor.wait()

                sampling.start_soon(sample)
                async with anyio.create_task_group() as parent:
                    parent.start_soon(soak.approve, stop_approver)
                    warm = await soak.create("warmup", loopback=True)
                    for number, action in enumerate((Action.SAY, Action.ALLOW, Action.SAY)):
                        await soak.turn(warm, number, action, counted=False)
                    figures.start_rss = monitor.rss_now()
                    soak.started = soak.last_report = time.monotonic()
                    await run_sessions(soak, args)
                    figures.elapsed_s = time.monotonic() - soak.started
                    figures.end_rss = monitor.rss_now()
                    await soak.check_sessions()
                    stop_approver.set()
                shutdown_started = time.monotonic()
                # Leaving this block closes the server's stdin: it shuts down.
            figures.shutdown_s = time.monotonic() - shutdown_started
            stop_monitor.set()
        soak.check_contexts()
    return soak


async def check_processes(soak: Soak, figures: Run) -> None:
    """The server has exited: whatever it started must go with it (within 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        figures.alive, figures.mine = leftovers(soak.monitor)
        if not (figures.alive or figures.mine) or time.monotonic() > deadline:
            break
        await anyio.sleep(0.2)
    for line in figures.alive:
        soak.problem(f"still running after the server exited: {line}")
    for line in figures.mine:
        soak.problem(f"claude still running under this process: {line}")
    over = [count for count in soak.monitor.claude_counts if count > figures.max_children]
    if over:
        soak.problem(
            f"{len(over)} samples saw more claude children than the cap "
            f"{figures.max_children} (at most {max(over)}; server pid {soak.monitor.server_pid}); "
            f"the first: {soak.monitor.over_cap[:1]}"
        )


def check_db(soak: Soak, db: DbAccount) -> None:
    if db.integrity != "ok":
        soak.problem(f"integrity_check: {db.integrity}")
    for line in db.bad_streams:
        soak.problem(f"database: {line}")
    allowed = sum(d.decision == "allow" for d in soak.decisions.values())
    want = {"allowed": allowed, "denied": len(soak.decisions) - allowed}
    got = {k: v for k, v in db.approvals.items() if v}
    if got != {k: v for k, v in want.items() if v}:
        soak.problem(f"database approvals {got}, the parent decided {want}")
    writes = sum(t.action.writes for t in soak.turns)
    if len(soak.decisions) != writes:
        soak.problem(f"{len(soak.decisions)} approvals decided for {writes} write turns")
    if db.streams != len(soak.turns):
        soak.problem(f"database has {db.streams} streams, the run checked {len(soak.turns)}")


def check_rss(soak: Soak, figures: Run, bound: float) -> None:
    mid = soak.mid_rss or figures.end_rss
    growth = figures.end_rss - mid
    if growth > bound * mid:
        soak.problem(
            f"server RSS grew {mib(growth)} in the second half of the run, more than "
            f"{bound:.0%} of its mid-run {mib(mid)}"
        )


def report(soak: Soak, figures: Run, db: DbAccount, args: argparse.Namespace) -> None:
    counted = [t for t in soak.turns if t.counted]
    monitor = soak.monitor
    elapsed = max(figures.elapsed_s, 1e-9)
    print()
    print(
        f"turns: {len(counted)} of {soak.planned} planned ({WARMUP_TURNS} warm-up turns not "
        f"counted) in {elapsed:.1f} s: {len(counted) / elapsed:.2f} turns/s; "
        f"sessions {len(soak.sessions)} (forks {soak.forks_checked})"
    )
    outcomes = {
        s: sum(t.status == s for t in counted) for s in ("completed", "failed", "interrupted")
    }
    print(f"turn outcomes: {outcomes}")
    print(
        f"{'turn latency (ms), start to stream done':<44}{'n':>6}{'p50':>10}{'p90':>10}{'max':>10}"
    )
    rows: list[tuple[str, list[float]]] = [
        ("all turns", [t.latency_s for t in counted]),
        (
            "text, blocking chat",
            [t.latency_s for t in counted if t.action is Action.SAY and t.blocking],
        ),
        (
            "text, chat_async + poll",
            [t.latency_s for t in counted if t.action is Action.SAY and not t.blocking],
        ),
        ("Write (with its approval)", [t.latency_s for t in counted if t.action.writes]),
        ("failing (model 500)", [t.latency_s for t in counted if t.action is Action.FAIL]),
        ("approval wait (request -> decision)", [w for t in counted for w in t.permission_waits]),
    ]
    for label, samples in rows:
        print(latency_row(label, samples))
    print(
        f"events: {sum(t.events for t in soak.turns)} in {len(soak.turns)} streams, each read "
        f"live and again from seq 0; database: {db.events} events in {db.streams} streams"
    )
    verdicts = [d.decision for d in soak.decisions.values()]
    print(
        f"approvals answered: {len(verdicts)} ({verdicts.count('allow')} allowed, "
        f"{verdicts.count('deny')} denied, {verdicts.count('stop')} denied with interrupt); "
        f"database: {db.approvals}"
    )
    mid = soak.mid_rss or figures.end_rss
    growth = figures.end_rss - mid
    peak = max((rss for _, rss in monitor.rss), default=figures.end_rss)
    second_half = max(soak.finished - soak.planned // 2, 1)
    print(
        f"server RSS: start {mib(figures.start_rss)} (after warm-up), mid {mib(mid)}, "
        f"peak {mib(peak)}, end {mib(figures.end_rss)}"
    )
    print(
        f"RSS growth: first half {mib(mid - figures.start_rss)}, second half {mib(growth)} "
        f"({growth / mid:+.1%} of mid; bound {args.rss_growth:.0%}; "
        f"{growth / 1024 / second_half:+.1f} KiB per turn)"
    )
    cap = figures.max_children
    left_claude = sum("(claude)" in a for a in figures.alive) + len(figures.mine)
    print(
        f"claude children: peak {max(monitor.claude_counts, default=0)} (cap {cap}; "
        f"{sum(c > cap for c in monitor.claude_counts)} of {len(monitor.claude_counts)} samples "
        f"above it), started {sum(s.child for s in monitor.seen.values())} for "
        f"{len(soak.turns)} turns (and {sum(s.claude and not s.child for s in monitor.seen.values())}"
        f" claude run by claude, such as its embedded ripgrep), left at the end {left_claude}; "
        f"other processes left "
        f"{len(figures.alive) + len(figures.mine) - left_claude}"
    )
    print(
        f"branches: {soak.contexts_checked} first model requests matched their branch's "
        f"prompts; {soak.forks_checked} forks rendered as their origin at the fork point"
    )
    print(f"shutdown (stdin closed -> server exited): {figures.shutdown_s:.2f} s")
    print(f"database: {mib(db.size)} (with WAL), integrity_check {db.integrity}")
    tracebacks, notable = log_findings(soak.server.log_path)
    print(
        f"server log: {soak.server.log_path} ({tracebacks} tracebacks, "
        f"{len(notable)} lines mentioning errors or warnings)"
    )
    for line in notable[:8]:
        print(f"    {line[:200]}")
    print()


def planned_turns(args: argparse.Namespace) -> int:
    forks = args.sessions * (args.turns // args.fork_every) * 2
    return int(args.sessions * args.turns + forks)


async def run(args: argparse.Namespace, work: Path) -> int:
    figures = Run(max_children=args.max_children or args.concurrency)
    print(
        f"session-tree soak (python {sys.version.split()[0]}): {args.sessions} sessions x "
        f"{args.turns} turns + fork turns = {planned_turns(args)} turns, concurrency "
        f"{args.concurrency}{' (interleaved)' if args.interleave else ''}, "
        f"SESSION_TREE_MAX_CHILDREN={figures.max_children}; work in {work}",
        flush=True,
    )
    (work / "sessions").mkdir()
    soak = await drive(args, work, figures)
    soak.check_files()
    await check_processes(soak, figures)
    db = account_db(soak.server.db_path)
    check_db(soak, db)
    check_rss(soak, figures, args.rss_growth)
    report(soak, figures, db, args)
    if soak.problems:
        print(f"FAILED: {len(soak.problems)} problems")
        for line in soak.problems[:60]:
            print(f"  - {line}")
        return 1
    print(
        "OK: no lost or duplicated events, every approval decided, no orphan process, RSS bounded"
    )
    return 0


def main() -> None:
    args = parse_args()
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="soak-"))
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        raise SystemExit(f"{work} is not empty")
    status = anyio.run(run, args, work, backend="asyncio")
    if status == 0 and not args.keep and args.dir is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}")
    sys.exit(status)


if __name__ == "__main__":
    main()
