from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel

from .harness import DATABASES, ON_POSTGRES, Harness, serve


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On PostgreSQL (SESSION_TREE_TEST_BACKEND), skip what tests the SQLite file itself."""
    if not ON_POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None and item.path.parent == Path(__file__).parent:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def postgres_backend(request: pytest.FixtureRequest) -> None:
    """With SESSION_TREE_TEST_BACKEND=postgresql, one cluster for the run serves every test."""
    if ON_POSTGRES:
        DATABASES.cluster = request.getfixturevalue("pg_cluster")


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as scripted:
        yield scripted


@pytest.fixture
async def harness(tmp_path: Path, model: ScriptedModel) -> AsyncIterator[Harness]:
    async with serve(tmp_path, model) as connected:
        yield connected
