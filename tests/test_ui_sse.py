"""The browser view's server-sent events over a real socket: a page that goes away
leaves nothing running behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn

from session_tree.service import Settings, open_supervisor
from session_tree.store import Store
from session_tree.web import Access, bind, build_app

pytestmark = pytest.mark.anyio


def _tasks() -> list[asyncio.Task[object]]:
    # sse_starlette starts one shutdown watcher per event loop, on the first stream, and
    # keeps it for the loop's life: it belongs to the server, not to a connection.
    return [t for t in asyncio.all_tasks() if t.get_coro().__name__ != "_shutdown_watcher"]  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["/inbox/events", "/sessions/events", "/s/main/events"])
async def test_a_closed_event_stream_ends_its_task(tmp_path: Path, path: str) -> None:
    async with Store.open(tmp_path / "st.db") as store:
        await store.sessions.create("main")
    sock = bind(0)
    access = Access(port=sock.getsockname()[1])
    async with open_supervisor(Settings(db_path=tmp_path / "st.db")) as supervisor:
        server = uvicorn.Server(
            uvicorn.Config(build_app(supervisor, access), log_level="warning", lifespan="off")
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            with anyio.fail_after(30):
                while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
                    await anyio.sleep(0.01)
            before = len(_tasks())
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{access.port}",
                headers={"authorization": f"Bearer {access.token}"},
            ) as client:
                with anyio.fail_after(30):
                    async with client.stream("GET", path) as events:
                        assert events.status_code == 200
                        async for line in events.aiter_lines():
                            if line.startswith("event: update"):
                                break
                        # Held open by the server: more tasks than before.
                        assert len(_tasks()) > before
            # The client went away: its connection's tasks end, none waits on the database.
            with anyio.fail_after(10):
                while len(_tasks()) > before:  # noqa: ASYNC110 - tasks have no event
                    await anyio.sleep(0.02)
            server.should_exit = True
    sock.close()
