"""The HTTP side: a stdlib threading server that plays the Messages API.

It runs on its own threads, not on an event loop, so a test on any loop (or
none) can use it, and a blocked stream (a gate) never blocks the test.
Streams use chunked transfer encoding over keep-alive connections, as the
real API does, so a cut stream is a connection closed before the last chunk.
`ScriptedModel` (in `_server.py`) owns the script and the journal; this
module only reads requests and writes what the model answers.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import select
import socket
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import _sse
from ._classify import side_reply
from ._recording import RecordedRequest, RequestKind
from ._replies import HttpErrorReply, MessageReply, Reply

if TYPE_CHECKING:
    # Only for annotations: `_server` imports this module to start the server.
    from ._server import ScriptedModel

logger = logging.getLogger(__name__)

# How often a held stream checks for close() or a vanished client; only
# bounds how late the server notices, never what a test observes.
_POLL_S = 0.05


class _Abort(Exception):
    """The stream must end now: model closed, client gone or gate timed out."""


class _HTTPServer(ThreadingHTTPServer):
    """Tracks its connections and threads so close() can end them all."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], model: ScriptedModel
    ) -> None:
        self.model = model
        self._active_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True
        )
        with self._active_lock:
            self._connections.add(request)
            self._handler_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._connections.discard(request)
                self._handler_threads.discard(threading.current_thread())

    def close_connections(self) -> None:
        # Unblocks handlers idling on keep-alive reads or writing to a slow client.
        with self._active_lock:
            connections = list(self._connections)
        for connection in connections:
            # Already closed by the client is fine.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def join_handlers(self, timeout: float) -> None:
        with self._active_lock:
            threads = list(self._handler_threads)
        for thread in threads:
            thread.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up between requests is normal (claude exits or
        # interrupts); anything else is a bug in the fake: logged, not printed.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("scripted model: %s hung up: %r", client_address, error)
        else:
            logger.exception("scripted model: error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Each SSE event is a small write; with Nagle's algorithm and delayed ACKs
    # on loopback some would stall ~40 ms, a delay the real API does not add.
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "scripted-model"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("scripted model: " + format, *args)

    @property
    def model(self) -> ScriptedModel:
        return self.server.model

    # entry points ---------------------------------------------------------------

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            self._route()
        except (_Abort, OSError) as reason:
            logger.debug("scripted model: hanging up (%r)", reason)
            self._hang_up()

    def _route(self) -> None:
        url = urlsplit(self.path)
        raw = self._read_body()
        body = _parse_json(raw)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = self.model._record(self.command, url.path, url.query, headers, raw, body)
        self._pause(self.model.latency_s)
        if url.path.startswith("/v1/") and not self._authorized(headers):
            self._send_error(401, "authentication_error", "invalid x-api-key")
            return
        kind = request.kind
        if kind is RequestKind.COUNT_TOKENS:
            payload = {key: request.json.get(key) for key in ("system", "messages", "tools")}
            self._send_json(200, {"input_tokens": _sse.estimate_tokens(payload)})
        elif kind is RequestKind.OTHER:
            if url.path == "/api/hello":
                self._send_json(200, {})
            else:
                self._send_error(404, "not_found_error", f"no route for {url.path}")
        elif not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_error(400, "invalid_request_error", "body must be JSON with messages")
        elif kind is RequestKind.CONVERSATION:
            self._send_reply(request, self._conversation_reply(request))
        else:
            self._send_reply(request, side_reply(request))

    def _conversation_reply(self, request: RecordedRequest) -> Reply:
        try:
            return self.model.reply_for(request)
        except Exception as error:
            # The responder belongs to the test; its failure becomes a 500
            # the test will see in claude's output, with the cause logged.
            logger.exception("scripted model: responder failed")
            return HttpErrorReply(status=500, error_type="api_error", message=repr(error))

    def _authorized(self, headers: dict[str, str]) -> bool:
        expected = self.model.api_key
        if expected is None:
            return True
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
        return expected in (headers.get("x-api-key"), bearer)

    # reading --------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        else:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        encoding = self.headers.get("content-encoding", "").lower()
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding == "deflate":
            return zlib.decompress(raw)
        return raw

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailer section: lines until an empty one.
                while self.rfile.readline().strip():
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    # writing --------------------------------------------------------------------

    def _send_json(
        self, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", _sse.new_request_id())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send_json(status, _sse.error_json(error_type, message), headers)

    def _send_reply(self, request: RecordedRequest, reply: Reply) -> None:
        if isinstance(reply, HttpErrorReply):
            self._send_error(reply.status, reply.error_type, reply.message, dict(reply.headers))
        elif request.stream:
            self._stream(request, reply)
        else:
            self._respond_whole(request, reply)

    def _respond_whole(self, request: RecordedRequest, reply: MessageReply) -> None:
        if reply.gate is not None:
            self._hold(reply)
        if reply.cut_after_deltas is not None:
            raise _Abort("scripted cut")
        if reply.error_after_deltas is not None:
            status = 529 if reply.error_type == "overloaded_error" else 500
            self._send_error(status, reply.error_type, reply.error_message)
            return
        model = request.model or "claude-scripted"
        tokens = _sse.estimate_tokens(request.messages)
        self._send_json(200, _sse.message_json(reply, model=model, input_tokens=tokens))

    def _stream(self, request: RecordedRequest, reply: MessageReply) -> None:
        events = _sse.message_events(
            reply,
            model=request.model or "claude-scripted",
            input_tokens=_sse.estimate_tokens(request.messages),
        )
        # Counts past the last delta mean "after the last delta": a scripted
        # hold, error or cut must never be skipped silently.
        total = _sse.delta_count(reply)
        gate_at = min(total, total if reply.gate_after_deltas is None else reply.gate_after_deltas)
        error_at = (
            None if reply.error_after_deltas is None else min(total, reply.error_after_deltas)
        )
        cut_at = None if reply.cut_after_deltas is None else min(total, reply.cut_after_deltas)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", _sse.new_request_id())
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        sent = 0
        for event in events:
            if event.event == _sse.DELTA:
                self._pause(reply.delay_s)
                sent += 1
            self._write_chunk(event.encode())
            # Checkpoints: after the opening ping (0 deltas) and after each delta.
            if event.event not in ("ping", _sse.DELTA):
                continue
            if reply.gate is not None and sent == gate_at:
                self._hold(reply)
            if error_at == sent:
                error = _sse.error_json(reply.error_type, reply.error_message)
                self._write_chunk(_sse.SseEvent("error", error).encode())
                break
            if cut_at == sent:
                raise _Abort("scripted cut")
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have hung up first
            self.connection.shutdown(socket.SHUT_RDWR)

    # waiting --------------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        if seconds > 0 and self.model._closing.wait(seconds):
            raise _Abort("closing")

    def _hold(self, reply: MessageReply) -> None:
        """Wait for the reply's gate; abort on close(), hang-up or timeout."""
        assert reply.gate is not None
        remaining = reply.gate_timeout_s
        while not reply.gate.wait(min(_POLL_S, max(remaining, 0.0))):
            remaining -= _POLL_S
            if remaining <= 0:
                logger.warning("scripted model: gate not set within %ss", reply.gate_timeout_s)
                raise _Abort("gate timeout")
            if self.model._closing.is_set():
                raise _Abort("closing")
            if self._client_gone():
                raise _Abort("client hung up")

    def _client_gone(self) -> bool:
        # Mid-response the client sends nothing, so "readable" means EOF/reset.
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True
        return peeked == b""


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
