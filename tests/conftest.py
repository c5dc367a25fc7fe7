from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from session_tree.store import Store


@pytest.fixture
def anyio_backend() -> str:
    # aiosqlite is asyncio-only.
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "session-tree.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    async with Store.open(db_path) as opened:
        yield opened
