"""Task ids: bound to their stream by a key the database keeps, so they outlive a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.errors import TaskNotFound
from session_tree.service import TaskIds
from session_tree.store import Store

pytestmark = pytest.mark.anyio


async def test_a_databases_key_is_made_once_and_kept_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    async with Store.open(path) as store:
        first = await store.secrets.get_or_create("task-ids")
        again = await store.secrets.get_or_create("task-ids")
        other = await store.secrets.get_or_create("request-state")
    async with Store.open(path) as reopened:
        kept = await reopened.secrets.get_or_create("task-ids")
    assert first == again == kept
    assert len(first) == 32
    assert other != first


def test_a_task_id_names_its_stream_and_nothing_else_passes() -> None:
    ids = TaskIds(b"k" * 32)
    task_id = ids.mint(42)
    assert ids.stream_of(task_id) == 42
    assert TaskIds(b"k" * 32).mint(42) == task_id  # another server on the same database
    number, tag = task_id.split("-", 1)
    forged = [
        f"43-{tag}",  # another stream, same tag
        f"{number}-{tag[:-1]}{'A' if tag[-1] != 'A' else 'B'}",  # one character changed
        TaskIds(b"o" * 32).mint(42),  # another database's id for the same stream
        "42",
        "",
        f"0-{tag}",
        f"{number}-{tag}-x",
    ]
    for candidate in forged:
        with pytest.raises(TaskNotFound):
            ids.stream_of(candidate)
