"""The browser view's routes given bad numbers: a clear 400 saying what to send, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from session_tree.service import Settings, open_supervisor
from session_tree.store import Store
from session_tree.web import Access, build_app

pytestmark = pytest.mark.anyio

PORT = 8766
TOO_BIG = "9" * 25  # beyond any SQLite integer


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with Store.open(tmp_path / "st.db") as store:
        await store.sessions.create("main")
    access = Access(port=PORT)
    async with open_supervisor(Settings(db_path=tmp_path / "st.db")) as supervisor:
        # raise_app_exceptions (the default): a 500 would raise here and fail the test.
        transport = httpx.ASGITransport(app=build_app(supervisor, access))
        async with httpx.AsyncClient(
            transport=transport,
            base_url=f"http://127.0.0.1:{PORT}",
            headers={"authorization": f"Bearer {access.token}", "x-csrf-token": access.csrf},
        ) as http:
            yield http


@pytest.mark.parametrize("at", ["²", "abc", "-1", "0", TOO_BIG])
async def test_a_bad_render_point_says_what_at_must_be(client: httpx.AsyncClient, at: str) -> None:
    answer = await client.get("/s/main/render", params={"at": at})

    assert answer.status_code == 400
    assert "at must be a whole number" in answer.text


@pytest.mark.parametrize(
    "path", [f"/api/nodes/{TOO_BIG}", f"/streams/{TOO_BIG}", f"/streams/{TOO_BIG}/events"]
)
async def test_an_id_too_large_for_the_database_is_refused(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)

    assert answer.status_code == 400
    assert "must be from 1 to" in answer.text


async def test_a_decision_on_an_id_too_large_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.post(f"/api/approvals/{TOO_BIG}", json={"decision": "allow"})

    assert answer.status_code == 400
    assert "approval_id must be from 1 to" in answer.text


async def test_a_bad_expand_list_leaves_the_tree_folded(client: httpx.AsyncClient) -> None:
    answer = await client.get("/s/main", params={"expand": f"²,x,{TOO_BIG}"})

    assert answer.status_code == 200
    assert "1 nodes, 1 rows" in answer.text


async def test_a_deny_message_is_capped_as_loopback_respond_caps_it(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/api/approvals/1", json={"decision": "deny", "message": "x" * 10_001}
    )

    assert answer.status_code == 400
    assert "message: String should have at most 10000 characters" in answer.text
