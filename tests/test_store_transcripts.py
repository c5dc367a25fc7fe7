"""The transcript mirror satisfies the Claude Agent SDK's SessionStore contract."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from claude_agent_sdk.testing import run_session_store_conformance
from claude_agent_sdk.types import SessionStore

from session_tree.agents import MirrorSessionStore
from session_tree.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def exit_stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def test_session_store_conformance_with_every_optional_method(
    new_db_location: Callable[[], str | Path], exit_stack: AsyncExitStack
) -> None:
    # On each backend: a new SQLite file or a new PostgreSQL database per contract.
    counter = itertools.count()

    async def fresh() -> SessionStore:
        next(counter)
        store = await exit_stack.enter_async_context(Store.open(new_db_location()))
        return MirrorSessionStore(store.transcripts)

    await run_session_store_conformance(fresh, skip_optional=frozenset())
    assert next(counter) > 10  # one fresh store per contract: the suite really ran


async def test_a_retried_batch_is_stored_once(store: Store) -> None:
    key = {"project_key": "p", "session_id": "s"}
    batch = [{"type": "user", "uuid": "u1"}, {"type": "assistant", "uuid": "u2"}]

    await store.transcripts.append(key, batch)  # type: ignore[arg-type]
    await store.transcripts.append(key, batch)  # type: ignore[arg-type]

    assert await store.transcripts.load(key) == batch  # type: ignore[arg-type]


async def test_transcripts_survive_reopening_the_database(db_location: str | Path) -> None:
    key = {"project_key": "p", "session_id": "s"}
    entries = [{"type": "user", "uuid": "u1", "message": {"content": "héllo"}}]
    async with Store.open(db_location) as store:
        await store.transcripts.append(key, entries)  # type: ignore[arg-type]

    async with Store.open(db_location) as store:
        assert await store.transcripts.load(key) == entries  # type: ignore[arg-type]
        assert await store.transcripts.sessions_with_id("s") == ["p"]
