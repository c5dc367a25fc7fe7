from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel

from .harness import BACKEND, DATABASES, ON_POSTGRES, Harness, serve


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On PostgreSQL for the whole run, skip the tests of the SQLite file itself before any
    of their fixtures (a module's server) starts."""
    if not ON_POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None and item.path.parent == Path(__file__).parent:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def postgres_cluster(request: pytest.FixtureRequest) -> None:
    """On PostgreSQL for the whole run, the cluster starts first: a module's own server
    (a module-scoped fixture) needs it before any test's e2e_backend runs."""
    if ON_POSTGRES:
        DATABASES.cluster = request.getfixturevalue("pg_cluster")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked both_backends runs on SQLite and on PostgreSQL in every run (unless
    SESSION_TREE_TEST_BACKEND already says postgresql: then on that alone, as every test)."""
    if metafunc.definition.get_closest_marker("both_backends") and not ON_POSTGRES:
        metafunc.parametrize("e2e_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def e2e_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend of the servers this test starts: SESSION_TREE_TEST_BACKEND's (sqlite
    unless set), or the parameter of a both_backends test. On PostgreSQL one cluster serves
    the whole run, and a test of the SQLite file itself (sqlite_only) is skipped."""
    backend: str = getattr(request, "param", BACKEND)
    if backend == "postgresql":
        marker = request.node.get_closest_marker("sqlite_only")
        if marker is not None:
            pytest.skip(f"SQLite only: {marker.kwargs.get('reason') or marker.args[0]}")
        DATABASES.cluster = request.getfixturevalue("pg_cluster")
    DATABASES.backend = backend
    try:
        yield backend
    finally:
        DATABASES.backend = BACKEND
        DATABASES.by_file.clear()


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as scripted:
        yield scripted


@pytest.fixture
async def harness(tmp_path: Path, model: ScriptedModel) -> AsyncIterator[Harness]:
    async with serve(tmp_path, model) as connected:
        yield connected
