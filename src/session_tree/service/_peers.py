"""This server's lease, and the turns of servers that are gone, ended by any that is not.

Several servers may share one database, on one machine or several. Each holds a
lease (``store._leases``), renewed every third of ``lease_s``; every turn it
starts records the lease. When a server dies (kill -9, a crash, a machine lost)
its lease runs out and its turns would otherwise stay running for ever: a live
server ends them when it starts, and then looks every ``peer_check_s`` seconds,
so a dead peer's turn ends at most ``lease_s + peer_check_s`` after the peer's
last renewal (sooner on the peer's own host, where its pid shows it is gone):
the turn is interrupted with a closing event, its approvals expire, its
session can take a turn again, here.

A server that could not renew in time (stalled, cut off from the database)
finds its lease ended on its next renewal: its peers have ended its turns. It
stops the turns it still runs and takes a new lease.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from ..errors import DatabaseError
from ..models import Stream
from ..store import Lease, Store
from ._runner import holder_gone, runner_alive, this_holder

log = logging.getLogger("session_tree.service")

REASON = "the session-tree server running this turn stopped mid-turn"
LAPSED = "this session-tree server's lease lapsed and another server ended the turn"


class LeaseKeeper:
    """Takes, renews and gives up this server's lease."""

    def __init__(self, store: Store, host: str, lease_s: float) -> None:
        self.store = store
        self.host = host
        self.lease_s = lease_s
        self._lease: Lease | None = None

    @property
    def id(self) -> int | None:
        return self._lease.id if self._lease is not None else None

    async def take(self) -> Lease:
        self._lease = await self.store.leases.take(this_holder(self.host), self.lease_s)
        return self._lease

    async def keep(self, on_lapse: Callable[[str], None]) -> None:
        """Renew every third of the lease until cancelled. A lease found ended (the
        turns it covered were ended by a peer) is replaced by a new one, then
        ``on_lapse(why)`` stops the turns still running under the old."""
        while True:
            # A timer: nothing else tells a server that time is passing for its peers.
            await anyio.sleep(self.lease_s / 3)
            if self._lease is None:
                continue
            try:
                if await self.store.leases.renew(self._lease.id, self.lease_s):
                    continue
                log.error("lease %s had lapsed; its turns were ended by a peer", self._lease.id)
                try:
                    await self.take()  # first, so that turns started from now run under it
                finally:
                    on_lapse(LAPSED)
            except DatabaseError as exc:
                log.warning("could not renew lease %s: %s", self._lease.id, exc)

    async def release(self) -> None:
        if self._lease is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await self.store.leases.release(self._lease.id)
                except DatabaseError as exc:
                    log.warning("could not give up lease %s: %s", self._lease.id, exc)


async def end_orphaned_turns(store: Store, keeper: LeaseKeeper) -> list[Stream]:
    """End the turns of servers that are gone; ``keeper``'s are this server's own."""
    host = keeper.host
    ended = await store.leases.end_turns_of_gone(
        REASON,
        own=keeper.id,
        gone=lambda holder: holder_gone(holder, host),
        legacy_alive=lambda runner: runner_alive(runner, host),
    )
    for stream in ended:
        log.warning("ended stream %s of session %s: %s", stream.id, stream.session_name, REASON)
    return ended


async def watch_peers(store: Store, keeper: LeaseKeeper, every_s: float) -> None:
    """Look for orphaned turns every ``every_s`` seconds, until cancelled."""
    while True:
        # A timer, not a wait on another task: a dead peer sends no signal.
        await anyio.sleep(every_s)
        try:
            await end_orphaned_turns(store, keeper)
        except DatabaseError as exc:
            log.warning("could not look for orphaned turns: %s", exc)
