"""The stdio transport, read so that a signal can stop the server cleanly.

The MCP SDK's ``run_stdio_async`` reads stdin in a worker thread, which
nothing can interrupt: a server told to stop (SIGTERM) while its client keeps
stdin open could only be cancelled from the outside, which ends running turns
before anyone records them, and then still waits on that read. Here stdin is
read on the event loop, and ``stop`` ends the input as if stdin had closed, so
a signal takes exactly the path of a client that hangs up: the server's
lifespan interrupts and records the running turns, then stops the children.
Everything else is the SDK's own transport.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

log = logging.getLogger("session_tree.server")

_CHUNK = 1 << 16


async def run_stdio(server: MCPServer[Any], *, stop: anyio.Event) -> None:
    """Serve ``server`` over stdin/stdout until stdin closes or ``stop`` is set."""
    if sys.platform == "win32" or not _pollable(0):
        # A file or /dev/null as stdin never blocks a read, so the SDK's reader can
        # always stop; and epoll refuses them. (wait_readable needs POSIX, too.)
        await server.run_stdio_async()
        return
    # Read the wire from a private descriptor and point fd 0 at the null device, as
    # the SDK does: nothing else in the process can then take bytes meant for MCP.
    wire = _Wire(os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        async with anyio.create_task_group() as tg:

            async def end_input_on_stop() -> None:
                await stop.wait()
                wire.end()

            tg.start_soon(end_input_on_stop)
            lines = cast("anyio.AsyncFile[str]", wire)  # stdio_server only iterates it
            async with stdio_server(stdin=lines) as (read, write):
                # The SDK's run_stdio_async is these two lines around its own stdin.
                lowlevel = server._lowlevel_server
                await lowlevel.run(read, write, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()
    finally:
        os.dup2(wire.fd, 0)
        os.close(wire.fd)


def _pollable(fd: int) -> bool:
    """Whether the event loop can wait on ``fd``: a pipe, a socket or a terminal."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


class _Wire:
    """The lines of a pipe, as text, each read when the event loop says it is ready;
    ``end()`` makes the input end there, as at end of file."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._ended = False
        self._reading: anyio.CancelScope | None = None

    def end(self) -> None:
        self._ended = True
        if self._reading is not None:
            self._reading.cancel()

    async def _read(self) -> bytes:
        with anyio.CancelScope() as self._reading:
            if not self._ended:
                await anyio.wait_readable(self.fd)
                return os.read(self.fd, _CHUNK)
        return b""

    async def __aiter__(self) -> AsyncIterator[str]:
        pending = bytearray()
        while chunk := await self._read():
            start = len(pending)
            pending += chunk
            end = pending.find(b"\n", start)
            while end != -1:
                yield pending[: end + 1].decode("utf-8", errors="replace")
                del pending[: end + 1]
                end = pending.find(b"\n")
        if not self._ended:
            log.info("stdin closed: shutting down")
        if pending:
            yield pending.decode("utf-8", errors="replace")
