from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from session_tree.testing import ScriptedModel

from .harness import Harness, serve


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as scripted:
        yield scripted


@pytest.fixture
async def harness(tmp_path: Path, model: ScriptedModel) -> AsyncIterator[Harness]:
    async with serve(tmp_path, model) as connected:
        yield connected
