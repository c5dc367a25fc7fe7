from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from itertools import count
from pathlib import Path

import pytest

from session_tree.store import Store
from session_tree.testing.postgres import Cluster

# The store suite runs on both backends: every test that takes ``store`` (or
# ``db_location``) runs once on a SQLite file and once on a PostgreSQL database
# of a throwaway cluster. A test of what only one backend has is marked.
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): a store test of what only the SQLite backend has"
    )


@pytest.fixture
def anyio_backend() -> str:
    # aiosqlite is asyncio-only.
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "session-tree.db"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One cluster for the whole run (a database per test), removed at the end. In the
    system temp directory: as root the cluster's user must reach it, and pytest's are 0700."""
    with Cluster.start() as cluster:
        yield cluster


@pytest.fixture(params=BACKENDS)
def db_location(request: pytest.FixtureRequest, db_path: Path) -> str | Path:
    """Where a test's store lives: a SQLite file, or a new PostgreSQL database's URL."""
    if request.param == "sqlite":
        return db_path
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None:
        pytest.skip(f"SQLite only: {marker.kwargs.get('reason') or marker.args[0]}")
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@pytest.fixture(params=BACKENDS)
def new_db_location(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str | Path]:
    """For a test that needs many stores: each call, a new SQLite file or PostgreSQL database."""
    numbers = count()
    if request.param == "sqlite":
        return lambda: tmp_path / f"{next(numbers)}.db"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database


@pytest.fixture
async def store(db_location: str | Path) -> AsyncIterator[Store]:
    async with Store.open(db_location) as opened:
        yield opened
