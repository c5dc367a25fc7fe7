"""The browser view's door to the service: reads of every server's writes, and decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from session_tree.errors import ApprovalAlreadyDecided
from session_tree.models import ApprovalStatus, NewNode, NodeKind, StreamStatus
from session_tree.service import SessionFilter, Settings, Supervisor, open_supervisor, turn_status
from session_tree.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    # The writer stands for a server: another connection to the same file.
    async with Store.open(tmp_path / "st.db") as opened:
        yield opened


@pytest.fixture
async def supervisor(tmp_path: Path, store: Store) -> AsyncIterator[Supervisor]:
    async with open_supervisor(Settings(db_path=tmp_path / "st.db")) as opened:
        yield opened


async def test_list_keeps_lists_filters_and_order(store: Store, supervisor: Supervisor) -> None:
    await store.sessions.create("b")
    await store.sessions.create("a")
    await store.sessions.fork("a", "a-fork")

    names = [row.session.name for row in await supervisor.list(order="name")]
    forks = await supervisor.list(SessionFilter(forked_from="a"))

    assert names == ["a", "a-fork", "b"]
    assert [row.session.name for row in forks] == ["a-fork"]
    assert all(not row.warm for row in await supervisor.list())


async def test_turns_say_how_each_turn_ended_by_its_prompt_node(
    store: Store, supervisor: Supervisor
) -> None:
    await store.sessions.create("main")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "hi"}))
    await store.streams.set_status(start.stream.id, StreamStatus.FAILED, error="boom")

    found = turn_status(await supervisor.turns(["main"]))

    assert found == {start.prompt_node.id: StreamStatus.FAILED}


async def test_a_decision_is_made_once(store: Store, supervisor: Supervisor) -> None:
    await store.sessions.create("main")
    approval = await store.approvals.create("main", tool_name="Write", input={"file_path": "x"})

    decided = await supervisor.respond(approval.id, allow=False, message="not now")

    assert decided.status is ApprovalStatus.DENIED
    assert decided.decision == {"behavior": "deny", "message": "not now"}
    with pytest.raises(ApprovalAlreadyDecided):
        await supervisor.respond(approval.id, allow=True)
    assert (await store.approvals.get(approval.id)).status is ApprovalStatus.DENIED


@pytest.mark.parametrize("every", [None, 0.05])
async def test_changed_returns_what_another_process_wrote(
    store: Store, supervisor: Supervisor, every: float | None
) -> None:
    await store.sessions.create("main")

    async def pending() -> list[int]:
        return [a.id for a in await supervisor.pending()]

    none: list[int] = []
    assert await supervisor.changed(pending, none, timeout=0.2, every=every) is None
    found: list[list[int] | None] = []

    async def watch() -> None:
        found.append(await supervisor.changed(pending, none, timeout=30, every=every))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            approval = await store.approvals.create("main", tool_name="Bash", input={})
    assert found == [[approval.id]]


async def test_info_is_lists_row_of_one_session_read_from_its_tree_alone(
    store: Store, supervisor: Supervisor
) -> None:
    await store.sessions.create("main")
    await store.sessions.create("other")
    await store.sessions.fork("main", "main-fork")
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "hi"}))

    # The list's rows carry a paging cursor; the rest is the same.
    listed = {row.session.name: row.model_dump() for row in await supervisor.list()}

    for name in ("main", "main-fork", "other"):
        assert (await supervisor.info(name)).model_dump() == {**listed[name], "cursor": None}
    assert (await supervisor.info("main")).running_stream_id == start.stream.id
