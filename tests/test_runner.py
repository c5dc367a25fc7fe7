"""Which server runs a turn: a restart ends only the turns of servers that are gone."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import pytest

from session_tree.service._peers import LAPSED, LeaseKeeper
from session_tree.service._runner import _start_time, runner_alive, this_runner
from session_tree.store import Store


def runner_of(pid: int) -> str:
    """What a server with this pid would record, read the way this_runner reads its own."""
    return f"{socket.gethostname()}/{pid}/{_start_time(pid) or '?'}"


@contextmanager
def another_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process that runs until the block ends (it waits on its stdin)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def test_a_live_server_keeps_its_turns_and_a_dead_one_does_not() -> None:
    with another_process() as process:
        runner = runner_of(process.pid)
        assert runner_alive(runner)
    assert not runner_alive(runner)


def test_a_reused_pid_is_not_the_server_that_died() -> None:
    with another_process() as process:
        host, pid, started = runner_of(process.pid).split("/")
        assert not runner_alive(f"{host}/{pid}/{int(started) - 1 if started != '?' else 'x'}")


def test_unknown_and_foreign_runners() -> None:
    assert not runner_alive(None)
    assert not runner_alive("garbage")
    assert not runner_alive(this_runner())  # this process is only starting: not a survivor
    assert runner_alive("some-other-host/1/1")


@pytest.mark.anyio
async def test_a_server_whose_lease_was_ended_stops_its_turns_and_takes_a_new_one(
    store: Store,
) -> None:
    keeper = LeaseKeeper(store, "here", lease_s=0.3)
    first = await keeper.take()
    # What a peer does to a lease it found expired (and whose turns it ended).
    await store.leases.release(first.id)
    lapsed = anyio.Event()
    why: list[str] = []

    def on_lapse(reason: str) -> None:
        why.append(reason)
        lapsed.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(keeper.keep, on_lapse)
            await lapsed.wait()
            tg.cancel_scope.cancel()

    assert why == [LAPSED]
    assert keeper.id is not None
    assert keeper.id > first.id
    assert [lease.id for lease in await store.leases.live()] == [keeper.id]
