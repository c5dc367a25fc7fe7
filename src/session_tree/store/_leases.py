"""Server leases: which servers are alive, by a row each renews, on any machine.

A server takes a lease when it starts (a new id, never reused) and renews it
every few seconds; every turn it starts records the lease's id. A turn whose
server's lease has expired is ended by whichever live server looks next: a
closing ``interrupted`` event, the stream interrupted, its session idle, its
pending approvals expired, all in one transaction, so two servers looking at
once cannot end it twice. The expired lease is marked ended in the same
transaction: if its server was only stalled, its next renewal fails and it
learns that its turns are gone.

A host and pid can prove more, sooner, on one machine: a lease whose holder
is on this host and whose pid is gone need not wait for its expiry. The caller
says which holders it knows to be gone (``gone``); the store knows no processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import Stream, StreamStatus
from . import _rows
from ._approvals import expire_pending
from ._database import now, reads
from ._sql import Database, Row
from ._streams import insert_events, update_status


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lease: enough to tell, on its own host, whether it still runs."""

    host: str
    pid: int
    pid_started: str | None


@dataclass(frozen=True)
class Lease:
    id: int
    holder: Holder
    expires_at: float


Gone = Callable[[Holder], bool]
"""Whether a holder whose lease has not expired is known to be gone (same host, pid dead)."""
LegacyAlive = Callable[[str | None], bool]
"""Whether the runner text of a stream written before leases names a live server."""


class Leases:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, holder: Holder, lease_s: float) -> Lease:
        """A new lease for a starting server, valid for ``lease_s`` seconds."""
        taken = now()
        async with self._db.write() as conn:
            row = await reads(conn).one(
                "INSERT INTO servers (host, pid, pid_started, started_at, renewed_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (holder.host, holder.pid, holder.pid_started, taken, taken, taken + lease_s),
            )
        assert row is not None
        return Lease(id=int(row[0]), holder=holder, expires_at=taken + lease_s)

    async def renew(self, lease_id: int, lease_s: float) -> bool:
        """Extend the lease by ``lease_s`` from now; False when a peer has ended it
        (it expired and its turns were ended): the holder must take a new one."""
        renewed = now()
        async with self._db.write() as conn:
            row = await reads(conn).one(
                "UPDATE servers SET renewed_at = ?, expires_at = ? "
                "WHERE id = ? AND ended_at IS NULL RETURNING id",
                (renewed, renewed + lease_s, lease_id),
            )
        return row is not None

    async def release(self, lease_id: int) -> None:
        """A server stopping cleanly (its turns already ended) gives its lease up."""
        released = now()
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE servers SET ended_at = ?, expires_at = min(expires_at, ?) "
                "WHERE id = ? AND ended_at IS NULL",
                (released, released, lease_id),
            )

    async def live(self) -> list[Lease]:
        """Leases not ended and not expired, oldest first."""
        rows = await self._db.all(
            "SELECT id, host, pid, pid_started, expires_at FROM servers "
            "WHERE ended_at IS NULL AND expires_at >= ? ORDER BY id",
            (now(),),
        )
        return [_lease(row) for row in rows]

    async def end_turns_of_gone(
        self,
        reason: str,
        *,
        own: int | None,
        gone: Gone,
        legacy_alive: LegacyAlive,
    ) -> list[Stream]:
        """End every active turn whose server is gone: its lease expired or ended,
        or ``gone(holder)``; a turn from before leases when not ``legacy_alive(runner)``.
        The turns of lease ``own`` are never ended here."""
        checked = now()
        async with self._db.write() as conn:
            rows = await reads(conn).all(
                "SELECT streams.id, streams.runner, servers.id, servers.host, servers.pid, "
                "servers.pid_started, servers.expires_at, servers.ended_at FROM streams "
                "LEFT JOIN servers ON servers.id = streams.server_id "
                f"WHERE streams.status IN ({_rows.ACTIVE_STREAM}) ORDER BY streams.id"
            )
            ended: list[Stream] = []
            for stream_id, runner, server, host, pid, started, expires_at, ended_at in rows:
                if server is None:
                    if legacy_alive(runner):
                        continue
                elif server == own:
                    continue
                elif ended_at is None and expires_at >= checked:
                    if not gone(Holder(host=host, pid=int(pid), pid_started=started)):
                        continue
                    await conn.execute(
                        "UPDATE servers SET ended_at = ? WHERE id = ?", (checked, server)
                    )
                # The closing event is named after the status it closes with.
                closing = (StreamStatus.INTERRUPTED.value, {"reason": reason})
                await insert_events(conn, stream_id, [closing])
                stream = await update_status(
                    conn, stream_id, StreamStatus.INTERRUPTED, error=reason
                )
                await expire_pending(conn, stream_id=stream_id, reason="the turn was interrupted")
                ended.append(stream)
            # Expired leases are ended for good, turns or not: a stalled holder that
            # wakes up must not carry on under a lease its peers have given up on.
            await conn.execute(
                "UPDATE servers SET ended_at = ? WHERE ended_at IS NULL AND expires_at < ?",
                (checked, checked),
            )
            return ended


def _lease(row: Row) -> Lease:
    return Lease(
        id=int(row["id"]),
        holder=Holder(host=str(row["host"]), pid=int(row["pid"]), pid_started=row["pid_started"]),
        expires_at=float(row["expires_at"]),
    )
