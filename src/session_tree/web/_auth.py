"""Who may use the browser view: whoever holds the token it printed, from its own page.

As notebook servers do, ``session-tree ui`` prints its address with a random
token. The first request carrying it (``?token=``) gets the token as a cookie
and is sent on without it in the address bar; every later request needs that
cookie (or ``Authorization: Bearer <token>``, for a script). Beyond that:

- the ``Host`` header must name this server (127.0.0.1 or localhost, its port),
  so a page on another site cannot reach it by pointing a name at 127.0.0.1;
- a request that changes anything must carry the CSRF token the pages embed
  (a header, which a cross-site form cannot set) and, when the browser says
  where it comes from (``Origin``, ``Sec-Fetch-Site``), come from this origin;
- no response allows cross-origin reads (no CORS headers), framing, or
  scripts from anywhere but this server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECURITY_HEADERS = {
    # Scripts only from this server's files; inline style attributes are allowed (the
    # graph is positioned with them), inline scripts are not.
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class Access:
    """The token of one ``ui`` process and the origin it serves."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def cookie(self) -> str:
        # Cookies are per host, not per port: two ui processes must not share one.
        return f"session_tree_ui_{self.port}"

    @property
    def csrf(self) -> str:
        """What a state-changing request carries in ``X-CSRF-Token``; derived from the
        token, so it is as secret and needs no storage."""
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    @property
    def url(self) -> str:
        """The address to print: it carries the token."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def holds(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


class Guard:
    """ASGI middleware in front of every route: token, host, CSRF and headers."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["headers"])
        method = scope["method"]
        if headers.get("host") not in self.access.hosts:
            await _refuse(send, 403, "This server answers only at 127.0.0.1 or localhost.")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        if method == "GET" and self.access.holds(query.get("token")):
            # The token moves from the address to a cookie, out of history and logs.
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            # The path as sent (still percent-encoded, so no line break can reach the
            # header), with one leading slash: "//host/" would send the browser elsewhere.
            path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            location = "/" + path.lstrip("/") + (f"?{rest}" if rest else "")
            await _redirect(send, location, self.access)
            return
        if not self._authenticated(headers):
            await _refuse(
                send,
                401,
                "No valid token: open the address `session-tree ui` printed (it carries "
                "?token=...), or send Authorization: Bearer <token>.",
            )
            return
        if method not in _SAFE_METHODS and not self._same_origin(headers):
            await _refuse(
                send,
                403,
                "A request that changes anything must come from this server's own page "
                f"(with its {CSRF_HEADER} header).",
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    response_headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _authenticated(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and self.access.holds(bearer.removeprefix("Bearer ")):
            return True
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            return False
        morsel = cookies.get(self.access.cookie)
        return self.access.holds(morsel.value if morsel is not None else None)

    def _same_origin(self, headers: dict[str, str]) -> bool:
        given = headers.get(CSRF_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), self.access.csrf.encode()):
            return False
        origin = headers.get("origin")
        if origin is not None and origin.removeprefix("http://") not in self.access.hosts:
            return False
        return headers.get("sec-fetch-site", "same-origin") == "same-origin"


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


async def _refuse(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *((k.encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str, access: Access) -> None:
    cookie = f"{access.cookie}={access.token}; Path=/; HttpOnly; SameSite=Strict"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (b"set-cookie", cookie.encode()),
                (b"content-length", b"0"),
                *((k.encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
