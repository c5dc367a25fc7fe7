"""The stdio transport, read so that a signal can stop the server cleanly.

The MCP SDK's ``run_stdio_async`` reads stdin in a worker thread, which
nothing can interrupt: a server told to stop (SIGTERM) while its client keeps
stdin open could only be cancelled from the outside, which ends running turns
before anyone records them, and then still waits on that read. Here stdin is
read on the event loop, and ``stop`` ends the input as if stdin had closed, so
a signal takes exactly the path of a client that hangs up: the server's
lifespan interrupts and records the running turns, then stops the children.

Every request gets an answer. The SDK drops a line it cannot read as JSON-RPC
(it hands the parse error to the server, which only logs it; upstream
modelcontextprotocol/python-sdk#2751): a lone surrogate such as ``"\\ud800"``
in any string, arrays nested deeper than its JSON reader's limit (about 200),
a request missing its ``method``. Its client then waits forever. Here each line
is read once first; one the SDK could not read is answered with a JSON-RPC
error saying what was wrong, under the request's own id, and never reaches the
SDK. Everything else is the SDK's own transport.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
import sys
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

log = logging.getLogger("session_tree.server")

_CHUNK = 1 << 16


async def run_stdio(server: MCPServer[Any], *, stop: anyio.Event) -> None:
    """Serve ``server`` over stdin/stdout until stdin closes or ``stop`` is set."""
    if sys.platform == "win32" or not _pollable(0):
        # A file or /dev/null as stdin never blocks a read, so the SDK's reader can
        # always stop; and epoll refuses them. (wait_readable needs POSIX, too.)
        await server.run_stdio_async()
        return
    # Read and write the wire through private descriptors and point fd 0 at the null
    # device and fd 1 at stderr, as the SDK does: nothing else in the process can then
    # take bytes meant for MCP, or put a stray line on it.
    refusals, answers = anyio.create_memory_object_stream[SessionMessage](math.inf)
    wire = _Wire(os.dup(0), refusals)
    out = _WireOut(os.dup(1))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        async with anyio.create_task_group() as tg:

            async def end_input_on_stop() -> None:
                await stop.wait()
                wire.end()

            tg.start_soon(end_input_on_stop)
            lines = cast("anyio.AsyncFile[str]", wire)  # stdio_server only iterates it
            output = cast("anyio.AsyncFile[str]", out)  # and only writes and flushes this
            async with (
                stdio_server(stdin=lines, stdout=output) as (read, write),
                anyio.create_task_group() as replies,
            ):
                replies.start_soon(_send_all, answers, write.clone())
                # The SDK's run_stdio_async is these two lines around its own stdin.
                lowlevel = server._lowlevel_server
                await lowlevel.run(read, write, lowlevel.create_initialization_options())
                # The SDK's writer ends only when every copy of its stream is closed.
                replies.cancel_scope.cancel()
            tg.cancel_scope.cancel()
    finally:
        os.dup2(wire.fd, 0)
        os.close(wire.fd)
        out.restore(1)


async def _send_all(
    answers: MemoryObjectReceiveStream[SessionMessage],
    write: MemoryObjectSendStream[SessionMessage],
) -> None:
    async with answers, write:
        async for answer in answers:
            await write.send(answer)


def _pollable(fd: int) -> bool:
    """Whether the event loop can wait on ``fd``: a pipe, a socket or a terminal."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


class _WireOut:
    """The wire's output, written on the event loop: the SDK's own stdout goes
    through a worker thread for every write and every flush (two thread round
    trips an answer, each waiting for a free core while a child is busy)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._was_blocking = os.get_blocking(fd)
        # A full pipe (a parent slow to read) waits on the loop, not in os.write.
        os.set_blocking(fd, False)

    async def write(self, text: str) -> None:
        data = memoryview(text.encode("utf-8"))
        while data:
            try:
                written = os.write(self.fd, data)
            except BlockingIOError:
                await anyio.wait_writable(self.fd)
                continue
            data = data[written:]

    async def flush(self) -> None:
        """Nothing is buffered here: each write has reached the pipe when it returns."""

    def restore(self, target: int) -> None:
        """Put the wire back on ``target`` as it was, and let go of this descriptor."""
        os.set_blocking(self.fd, self._was_blocking)
        os.dup2(self.fd, target)
        os.close(self.fd)


class _Wire:
    """The lines of a pipe, as text, each read when the event loop says it is ready;
    ``end()`` makes the input end there, as at end of file."""

    def __init__(self, fd: int, refusals: MemoryObjectSendStream[SessionMessage]) -> None:
        self.fd = fd
        self._refusals = refusals
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
                line = pending[: end + 1].decode("utf-8", errors="replace")
                del pending[: end + 1]
                end = pending.find(b"\n")
                if self._readable(line):
                    yield line
        if not self._ended:
            log.info("stdin closed: shutting down")
        self._refusals.close()
        if pending and self._readable(text := pending.decode("utf-8", errors="replace")):
            yield text

    def _readable(self, line: str) -> bool:
        """Whether the SDK can read ``line``; if not, answer it here (a request) or
        log it (a notification, or a line with no id to answer)."""
        if not line.strip():
            return False  # the SDK would log an empty line as a parse error
        try:
            types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except ValidationError as exc:
            code, problem = _problem(line, exc)
            request_id = _request_id(line)
            if request_id is None:
                log.warning("ignored a line that is not a JSON-RPC request: %s", problem)
            else:
                error = types.ErrorData(code=code, message=problem)
                reply = types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)
                self._refusals.send_nowait(SessionMessage(reply))
            return False
        return True


# The JSON reader's nesting limit (pydantic's jiter), which the SDK reads with.
MAX_DEPTH = 200
# A UTF-16 surrogate escape that is not half of a pair.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _problem(line: str, error: ValidationError) -> tuple[int, str]:
    """The JSON-RPC error code and a sentence for a line the SDK cannot read."""
    detail = error.errors(include_url=False)[0]
    if detail["type"] != "json_invalid":
        where = ".".join(map(str, detail["loc"][1:])) or "the message"
        return types.INVALID_REQUEST, (
            f"Invalid request: not a JSON-RPC 2.0 request ({where}: {detail['msg']})"
        )
    surrogate = _LONE_SURROGATE.search(line)
    if surrogate is not None:
        return types.INVALID_PARAMS, (
            f"The request holds a lone UTF-16 surrogate ({surrogate.group()} at character "
            f"{surrogate.start()}), which is not a character and cannot be stored or passed "
            "to Claude Code: send valid Unicode text (a surrogate only as half of a pair)"
        )
    reason = str(detail.get("ctx", {}).get("error", detail["msg"]))
    if "recursion limit" in reason:
        return types.INVALID_PARAMS, (
            f"The request nests arrays or objects more than {MAX_DEPTH} levels deep, "
            "deeper than session-tree reads: send flatter arguments"
        )
    return types.PARSE_ERROR, f"Parse error: the request is not valid JSON ({reason})"


def _request_id(line: str) -> int | str | None:
    """The ``id`` member of the line's top-level object, found by scanning, since
    the rest of the line may be what cannot be parsed."""
    depth, at = 0, 0
    while at < len(line):
        char = line[at]
        if char == '"':
            end = _string_end(line, at)
            if depth == 1 and line[at:end] == '"id"':
                colon = len(line) - len(line[end:].lstrip())
                if line[colon : colon + 1] == ":":
                    return _id_value(line, colon + 1)
            at = end
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        at += 1
    return None


def _string_end(line: str, start: int) -> int:
    """The index just past the JSON string that opens at ``start``."""
    at = start + 1
    while at < len(line):
        if line[at] == "\\":
            at += 2
        elif line[at] == '"':
            return at + 1
        else:
            at += 1
    return len(line)


def _id_value(line: str, start: int) -> int | str | None:
    value_start = len(line) - len(line[start:].lstrip())
    try:
        value, _ = json.JSONDecoder().raw_decode(line, value_start)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str) and any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        return None  # an id that cannot be written back
    return value
