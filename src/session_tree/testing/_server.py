"""`ScriptedModel`: the script, the journal and the lifecycle of the fake API.

It decides what each request gets (script, then responder, then default) and
records what arrived; `_http.py` holds the threading HTTP server and the
request handler that read requests and write the replies.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

from ._classify import classify as default_classify
from ._http import _Handler, _HTTPServer
from ._recording import Journal, RecordedRequest, RequestKind
from ._replies import Reply, text
from ._transcript import last_user_text

Responder = Callable[[RecordedRequest], Reply | None]
# (method, path, parsed JSON body) -> kind; `classify` is the default.
Classifier = Callable[[str, str, Any], RequestKind]


class ScriptedModel:
    """A scripted Anthropic Messages API on 127.0.0.1; see the package docstring.

    - `replies`: the initial script; `push` adds more.
    - `responder`: asked when the script is empty; runs on a server thread,
      possibly on several at once when several children share the model;
      None passes to the default reply, an exception becomes a 500.
    - `api_key`: when set, other keys (x-api-key or Bearer) get a 401.
    - `latency_s`: delay before the first byte of every response.
    - `port`: 0 (default) picks a free one.
    - `classify`: replaces the request classifier (see `classify`).

    Single use: once closed it cannot be started again.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        api_key: str | None = None,
        latency_s: float = 0.0,
        port: int = 0,
        classify: Classifier = default_classify,
    ) -> None:
        self.responder = responder
        self.api_key = api_key
        self.latency_s = latency_s
        self.classify = classify
        self._port = port
        self._lock = threading.Lock()
        self._script: collections.deque[Reply] = collections.deque(replies)
        self._journal = Journal()
        self._closing = threading.Event()
        self._http: _HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------

    def start(self) -> Self:
        if self._http is not None:
            raise RuntimeError("ScriptedModel already started")
        if self._closing.is_set():
            raise RuntimeError("ScriptedModel is closed; make a new one")
        self._http = _HTTPServer(("127.0.0.1", self._port), _Handler, self)
        self._serve_thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="scripted-model",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end held streams and join the handler threads (bounded)."""
        http, self._http = self._http, None
        if http is None:
            return
        self._closing.set()
        http.shutdown()
        http.close_connections()
        http.server_close()
        http.join_handlers(timeout=5.0)
        if self._serve_thread is not None:
            self._serve_thread.join(timeout=5.0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("ScriptedModel is not running")
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        """What `ANTHROPIC_BASE_URL` should be, e.g. `http://127.0.0.1:40123`."""
        return f"http://127.0.0.1:{self.port}"

    # script -----------------------------------------------------------------

    def push(self, *replies: Reply) -> None:
        """Append replies to the script (consumed first-in, first-out)."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies are not consumed yet."""
        with self._lock:
            return len(self._script)

    def reply_for(self, request: RecordedRequest) -> Reply:
        """The reply a conversation request gets: script, then responder, then default."""
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted
        if self.responder is not None:
            answer = self.responder(request)
            if answer is not None:
                return answer
        return text(f"ok: {last_user_text(request)}")

    # recording ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, side requests and probes included."""
        return self._journal.snapshot()

    def conversation_requests(self) -> list[RecordedRequest]:
        return self._journal.snapshot(RequestKind.CONVERSATION)

    def wait_for_requests(
        self, count: int, timeout: float = 10.0, *, kind: RequestKind | None = None
    ) -> list[RecordedRequest]:
        """Block until `count` requests (of `kind`, default any) arrived; TimeoutError if not."""
        return self._journal.wait_for(count, timeout, kind)

    # used by the handler --------------------------------------------------------

    def _record(
        self, method: str, path: str, query: str, headers: dict[str, str], raw: bytes, body: Any
    ) -> RecordedRequest:
        return self._journal.add(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            raw_body=raw,
            kind=self.classify(method, path, body),
        )
