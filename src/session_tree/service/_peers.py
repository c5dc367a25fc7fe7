"""Turns whose server is gone, ended by any server that is not.

Several servers may share one database. A turn records the server running it
(its runner: host, pid and the pid's start time); when that server dies (kill
-9, a crash) its turns would stay running for ever. A server ends them when it
starts, and then keeps looking every ``peer_check_s`` seconds, so a peer that
dies while it runs is noticed within that bound: the turn is interrupted with a
closing event, its approvals expire, its session can take a turn again.
"""

from __future__ import annotations

import logging

import anyio

from ..errors import DatabaseError
from ..models import Stream
from ..store import Store
from ._runner import runner_alive

log = logging.getLogger("session_tree.service")

REASON = "the session-tree server running this turn stopped mid-turn"


async def end_orphaned_turns(store: Store, *, own_runner: str | None = None) -> list[Stream]:
    """End the turns of servers that are gone; ``own_runner``'s are this server's."""

    def alive(runner: str | None) -> bool:
        return (runner is not None and runner == own_runner) or runner_alive(runner)

    ended = await store.streams.end_all_active(REASON, still_running=alive)
    for stream in ended:
        await store.approvals.expire_pending(stream_id=stream.id, reason="the turn was interrupted")
        log.warning("ended stream %s of session %s: %s", stream.id, stream.session_name, REASON)
    return ended


async def watch_peers(store: Store, own_runner: str, every_s: float) -> None:
    """Look for orphaned turns every ``every_s`` seconds, until cancelled."""
    while True:
        # A timer, not a wait on another task: a dead peer sends no signal.
        await anyio.sleep(every_s)
        try:
            await end_orphaned_turns(store, own_runner=own_runner)
        except DatabaseError as exc:
            log.warning("could not look for orphaned turns: %s", exc)
