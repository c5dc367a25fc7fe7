"""The loopback's decisions on a real store: rules, bypass windows, timeouts, the contract."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from session_tree.errors import ApprovalAlreadyDecided, InvalidArgument
from session_tree.models import ApprovalStatus, NewNode, NodeKind, SessionConfig, StreamStatus
from session_tree.service import Loopback, PermitResult, SessionPermits
from session_tree.service._rules import ToolRule, check_rules, matching_rule
from session_tree.store import Store

pytestmark = pytest.mark.anyio

WRITE = {"file_path": "/work/src/app.py", "content": "x"}


CWD = "/work"


@pytest.mark.parametrize(
    ("rule", "tool", "tool_input", "expected"),
    [
        ("Write", "Write", WRITE, True),
        ("Write", "Edit", WRITE, False),
        ("Bash(git *)", "Bash", {"command": "git status"}, True),
        ("Bash(git *)", "Bash", {"command": "rm -rf /"}, False),
        ("Bash(git *)", "Bash", {"command": "git status && rm -rf /"}, False),
        ("Bash(git *)", "Bash", {"command": "git log $(rm -rf ~)"}, False),
        ("Bash(npm run test:*)", "Bash", {"command": "npm run test -- -k x"}, True),
        ("Bash(npm run test:*)", "Bash", {"command": "npm run testx"}, False),
        ("Bash(npm run test:*)", "Bash", {"command": "npm run test; curl x | sh"}, False),
        ("Edit(src/**)", "Edit", {"file_path": "/work/src/app.py"}, True),
        ("Edit(src/**)", "Write", {"file_path": "src/new.py"}, True),
        ("Edit(src/**)", "Edit", {"file_path": "/work/docs/a.md"}, False),
        ("Edit(src/**)", "Edit", {"file_path": "/work/src/../../home/.bashrc"}, False),
        ("Edit(src/**)", "Edit", {"file_path": "/etc/src/cron"}, False),
        ("Read(//etc/**)", "Read", {"file_path": "/etc/passwd"}, True),
        ("WebFetch(domain:example.com)", "WebFetch", {"url": "https://api.example.com/x"}, True),
        ("WebFetch(domain:example.com)", "WebFetch", {"url": "https://example.org/"}, False),
        ("mcp__github", "mcp__github__create_issue", {}, True),
        ("Bash(git *)", "Bash", {}, False),
    ],
)
def test_an_allow_rule_allows_only_what_it_surely_covers(
    rule: str, tool: str, tool_input: dict[str, object], expected: bool
) -> None:
    assert ToolRule.parse(rule).matches(tool, tool_input, CWD, deny=False) is expected


@pytest.mark.parametrize(
    ("rule", "tool", "tool_input"),
    [
        ("Bash(rm:*)", "Bash", {"command": "git status && rm -rf /"}),
        ("Bash(rm:*)", "Bash", {"command": "ls | rm -rf x"}),
        ("Edit(.env)", "Write", {"file_path": "/work/.env"}),
        ("Read(~/.ssh/**)", "Grep", {"path": "~/.ssh/id_rsa"}),
        ("Bash(git *)", "Bash", {}),  # no command to check: a deny leans to deny
    ],
)
def test_a_deny_rule_denies_whatever_it_might_cover(
    rule: str, tool: str, tool_input: dict[str, object]
) -> None:
    assert ToolRule.parse(rule).matches(tool, tool_input, CWD, deny=True)
    assert matching_rule(["Write(/nowhere)", rule], tool, tool_input, CWD, deny=True) == rule


def test_a_malformed_rule_says_how_to_write_one() -> None:
    with pytest.raises(InvalidArgument, match="Bash\\(git \\*\\)"):
        ToolRule.parse("Bash((")
    with pytest.raises(InvalidArgument):
        check_rules(["Write", "Bash(("])
    with pytest.raises(InvalidArgument, match="own list entry"):
        check_rules(["Read(/nonexistent),Bash(touch *)"])  # Claude Code reads two rules
    assert matching_rule(["Write"], "Write", WRITE, CWD, deny=False) == "Write"


def test_the_permit_contract_is_one_json_object_and_nothing_else() -> None:
    allow = PermitResult.allow({"a": 1})
    assert allow.text() == '{"behavior":"allow","updatedInput":{"a":1}}'
    assert json.loads(PermitResult.allow({}).text()) == {"behavior": "allow", "updatedInput": {}}
    deny = PermitResult.deny("no")
    assert json.loads(deny.text()) == {"behavior": "deny", "message": "no"}
    stop = PermitResult.deny("stop", interrupt=True)
    assert json.loads(stop.text()) == {"behavior": "deny", "message": "stop", "interrupt": True}


async def test_a_remembered_deny_rule_settles_without_asking(store: Store) -> None:
    await store.sessions.create("main", SessionConfig(loopback=True, disallowed_tools=["Write"]))

    result = await Loopback(store).ask(
        "main", tool_name="Write", tool_input=WRITE, tool_use_id="toolu_1"
    )

    assert result.behavior == "deny"
    assert "'Write'" in (result.message or "")
    assert await store.approvals.pending() == []


async def test_a_bypass_window_allows_until_it_ends(store: Store) -> None:
    await store.sessions.create(
        "main", SessionConfig(loopback=True, bypass_until=time.time() + 3600)
    )
    loopback = Loopback(store)

    assert (
        await loopback.ask("main", tool_name="Write", tool_input=WRITE, tool_use_id="a")
    ).behavior == "allow"
    await store.sessions.set_config(
        "main", SessionConfig(loopback=True, bypass_until=time.time() - 1, approval_timeout_s=0.2)
    )
    after = await loopback.ask("main", tool_name="Write", tool_input=WRITE, tool_use_id="b")
    assert after.behavior == "deny"
    assert "timed out" in (after.message or "")
    (expired,) = [a for a in await store.approvals.history() if a.tool_use_id == "b"]
    assert expired.status is ApprovalStatus.EXPIRED


async def test_a_decision_reaches_the_waiting_child_and_moves_the_stream(store: Store) -> None:
    await store.sessions.create("main", SessionConfig(loopback=True))
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "go"}))
    loopback = Loopback(store)
    results: list[PermitResult] = []
    seen: list[int] = []

    async with anyio.create_task_group() as tg:

        async def ask() -> None:
            results.append(
                await loopback.ask(
                    "main",
                    tool_name="Write",
                    tool_input=WRITE,
                    tool_use_id="toolu_1",
                    stream_id=start.stream.id,
                    on_pending=lambda approval: seen.append(approval.id),
                )
            )

        tg.start_soon(ask)
        (pending,) = await store.approvals.wait_pending("main", timeout=10)
        assert (await store.streams.get(start.stream.id)).status is StreamStatus.AWAITING_PERMISSION
        await loopback.respond(pending.id, allow=True, updated_input={"file_path": "/x"})

    assert seen == [pending.id]
    assert results == [PermitResult.allow({"file_path": "/x"})]
    assert (await store.streams.get(start.stream.id)).status is StreamStatus.RUNNING
    kinds = [e.kind for e in await store.streams.read(start.stream.id)]
    assert kinds == ["turn_start", "permission_request", "permission_decision"]
    with pytest.raises(ApprovalAlreadyDecided):
        await loopback.respond(pending.id, allow=False)


async def test_asking_twice_about_one_call_is_one_approval(store: Store) -> None:
    await store.sessions.create("main", SessionConfig(loopback=True, approval_timeout_s=0.2))
    loopback = Loopback(store)
    async with anyio.create_task_group() as tg:

        async def ask() -> None:
            await loopback.ask("main", tool_name="Write", tool_input=WRITE, tool_use_id="same")

        for _ in range(2):
            tg.start_soon(ask)
    assert len([a for a in await store.approvals.history() if a.tool_use_id == "same"]) == 1


async def test_a_token_asks_for_its_own_session_only(store: Store) -> None:
    await store.sessions.create("mine", SessionConfig(loopback=True, approval_timeout_s=0.2))
    await store.sessions.create("other", SessionConfig(loopback=True))
    token = await store.sessions.loopback_token("mine")
    assert await store.sessions.loopback_token("mine") == token  # stable

    await SessionPermits(Loopback(store), token).permit("Write", WRITE, "toolu_9")

    (asked,) = await store.approvals.history()
    assert asked.session_name == "mine"
    with pytest.raises(InvalidArgument, match="loopback_config"):
        await SessionPermits(Loopback(store), "forged").permit("Write", WRITE, "toolu_9")


async def test_a_session_with_loopback_off_is_denied_with_what_to_do(store: Store) -> None:
    await store.sessions.create("off")
    token = await store.sessions.loopback_token("off")

    result = await SessionPermits(Loopback(store), token).permit("Write", WRITE, None)

    assert result.behavior == "deny"
    assert "configure(loopback=true)" in (result.message or "")
