"""Writes that race, in one process and across two Store objects on one file
(two sets of connections, as two servers have): nothing acknowledged is lost,
and a delete never interleaves with a turn's start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from session_tree.errors import InvalidArgument, SessionBusy, SessionNotFound
from session_tree.models import NewNode, NodeKind, SessionConfig, StreamStatus
from session_tree.store import Store

pytestmark = pytest.mark.anyio

ROUNDS = 20


@pytest.fixture
async def other(db_location: str | Path, store: Store) -> AsyncIterator[Store]:
    """A second Store on the same database (a second server), opened after the first."""
    async with Store.open(db_location) as opened:
        yield opened


def prompt(text: str) -> NewNode:
    return NewNode(kind=NodeKind.USER, data={"text": text})


def changes_for(round_: int) -> list[dict[str, object]]:
    """One change per field, each naming only its own field."""
    return [
        {"disallowed_tools": [f"Bash(rm{round_}:*)"]},
        {"approval_timeout_s": 100.0 + round_},
        {"allowed_tools": [f"Read(/r{round_}/**)"]},
        {"model": f"model-{round_}"},
        {"system_prompt": f"prompt {round_}"},
        {"max_turns": round_ + 1},
        {"env": {"ROUND": str(round_)}},
        {"ask_human": True},
    ]


def expected_for(round_: int) -> SessionConfig:
    merged: dict[str, object] = {}
    for change in changes_for(round_):
        merged |= change
    return SessionConfig.model_validate(merged)


async def update(on: Store, name: str, values: dict[str, object]) -> None:
    await on.sessions.update_config(name, values)


async def all_at_once(calls: list[Callable[[], Coroutine[Any, Any, None]]]) -> None:
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(call)


async def test_concurrent_config_changes_on_one_store_are_all_kept(store: Store) -> None:
    for round_ in range(ROUNDS):
        name = f"s{round_}"
        await store.sessions.create(name)

        await all_at_once([partial(update, store, name, values) for values in changes_for(round_)])

        assert (await store.sessions.get(name)).config == expected_for(round_), round_


async def test_concurrent_config_changes_across_two_stores_are_all_kept(
    store: Store, other: Store
) -> None:
    for round_ in range(ROUNDS):
        name = f"s{round_}"
        await store.sessions.create(name)
        await all_at_once(
            [
                partial(update, store if index % 2 == 0 else other, name, values)
                for index, values in enumerate(changes_for(round_))
            ]
        )

        assert (await store.sessions.get(name)).config == expected_for(round_), round_
        assert (await other.sessions.get(name)).config == expected_for(round_), round_


async def test_update_config_changes_only_the_named_fields(store: Store) -> None:
    await store.sessions.create("main", SessionConfig(model="m1", disallowed_tools=["Bash(rm:*)"]))

    updated = await store.sessions.update_config("main", {"approval_timeout_s": 100})

    assert updated.config == SessionConfig(
        model="m1", disallowed_tools=["Bash(rm:*)"], approval_timeout_s=100
    )
    assert (await store.sessions.get("main")).config == updated.config


async def test_update_config_checks_the_merged_config_and_writes_nothing_when_refused(
    store: Store,
) -> None:
    await store.sessions.create("main", SessionConfig(disallowed_tools=["Bash(rm:*)"]))
    seen: list[SessionConfig] = []

    def refuse_bypass(config: SessionConfig) -> None:
        seen.append(config)
        if config.permission_mode == "bypassPermissions" and config.disallowed_tools:
            raise InvalidArgument("bypassPermissions would skip the deny rules")

    with pytest.raises(InvalidArgument, match="bypassPermissions"):
        await store.sessions.update_config(
            "main", {"permission_mode": "bypassPermissions"}, check=refuse_bypass
        )

    assert [c.disallowed_tools for c in seen] == [["Bash(rm:*)"]]  # it saw the merged config
    assert (await store.sessions.get("main")).config == SessionConfig(
        disallowed_tools=["Bash(rm:*)"]
    )


async def test_update_config_on_an_unknown_session_is_session_not_found(store: Store) -> None:
    with pytest.raises(SessionNotFound):
        await store.sessions.update_config("nope", {"model": "m"})


async def test_delete_is_refused_while_a_turn_runs_and_names_its_stream(
    store: Store, other: Store
) -> None:
    await store.sessions.create("d")
    start = await store.turns.begin("d", prompt("q"))

    for deleter in (store, other):  # this process, and another server on the file
        with pytest.raises(SessionBusy) as caught:
            await deleter.sessions.delete("d")
        assert caught.value.stream_id == start.stream.id
    assert (await store.streams.get(start.stream.id)).session_name == "d"

    await store.turns.end_early(
        start.stream.id, StreamStatus.INTERRUPTED, "stopped", ("interrupted", {"reason": "stopped"})
    )
    assert await other.sessions.delete("d") == 2  # root and prompt
    with pytest.raises(SessionNotFound):
        await store.sessions.get("d")


async def test_begin_on_a_deleted_session_is_session_not_found_and_writes_nothing(
    store: Store, other: Store
) -> None:
    await store.sessions.create("d")
    await other.sessions.delete("d")

    with pytest.raises(SessionNotFound):
        await store.turns.begin("d", prompt("q"))

    assert await store.streams.recent() == []


async def _race_delete_and_begin(deleter: Store, starter: Store) -> tuple[int, int]:
    """Each round, delete and begin at once (alternating which starts first):
    exactly one wins. Returns how many rounds each won."""
    begun = deleted = 0
    for round_ in range(ROUNDS):
        name = f"d{round_}"
        await starter.sessions.create(name)
        outcome: dict[str, object] = {}

        async def delete(name: str = name, outcome: dict[str, object] = outcome) -> None:
            try:
                outcome["delete"] = await deleter.sessions.delete(name)
            except SessionBusy as exc:
                outcome["delete"] = exc

        async def begin(name: str = name, outcome: dict[str, object] = outcome) -> None:
            try:
                outcome["begin"] = await starter.turns.begin(name, prompt("q"))
            except SessionNotFound as exc:
                outcome["begin"] = exc

        await all_at_once([delete, begin] if round_ % 2 else [begin, delete])

        if isinstance(outcome["begin"], SessionNotFound):
            # The delete went first and took everything; the start stored nothing.
            assert isinstance(outcome["delete"], int), round_
            assert name not in await starter.sessions.names()
            assert all(s.session_name != name for s in await starter.streams.recent())
            deleted += 1
        else:
            # The start went first; the delete was refused and the stream stays.
            assert isinstance(outcome["delete"], SessionBusy), round_
            (stream,) = await deleter.streams.active(
                session_id=(await deleter.sessions.get(name)).id
            )
            assert outcome["delete"].stream_id == stream.id
            begun += 1
    return begun, deleted


async def test_delete_and_turn_start_racing_in_one_process_never_both_win(store: Store) -> None:
    begun, deleted = await _race_delete_and_begin(store, store)
    assert begun + deleted == ROUNDS


async def test_delete_and_turn_start_racing_across_two_servers_never_both_win(
    store: Store, other: Store
) -> None:
    begun, deleted = await _race_delete_and_begin(other, store)
    assert begun + deleted == ROUNDS


async def test_events_from_two_servers_on_one_stream_are_numbered_without_gaps(
    store: Store, other: Store
) -> None:
    await store.sessions.create("main")
    stream = await store.streams.create("main")

    async def append(into: Store, name: str) -> None:
        for index in range(ROUNDS):
            await into.streams.append_many(stream.id, [(name, {"i": index}), (name, {})])

    async with anyio.create_task_group() as tg:
        tg.start_soon(append, store, "here")
        tg.start_soon(append, other, "there")
    events = await store.streams.read(stream.id)

    assert [e.seq for e in events] == list(range(4 * ROUNDS))
    # Each batch stays together: a writer's two events are never split by the other's.
    assert all(events[i].kind == events[i + 1].kind for i in range(0, len(events), 2))
