"""The browser view's application and its server: Starlette behind the guard, on uvicorn.

It listens on 127.0.0.1 only, on a socket bound before the server starts, so
the address it prints (with the token) names the port it really has.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..errors import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    NodeNotFound,
    SessionNotFound,
    SessionTreeError,
    StreamNotFound,
)
from ..service import Settings, Supervisor, open_supervisor
from ._auth import Access, Guard
from ._routes import routes

HOST = "127.0.0.1"


def build_app(supervisor: Supervisor, access: Access) -> Guard:
    """The whole view: every route behind :class:`Guard`."""

    async def domain_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SessionNotFound | StreamNotFound | NodeNotFound | ApprovalNotFound):
            status = 404
        elif isinstance(exc, ApprovalAlreadyDecided):
            status = 409
        else:
            status = 400
        return PlainTextResponse(str(exc), status_code=status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    app = Starlette(
        routes=routes(supervisor, access),
        exception_handlers={SessionTreeError: domain_error, HTTPException: http_error},
    )
    return Guard(app, access)


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (``port`` 0: any free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


async def serve_ui(
    settings: Settings, sock: socket.socket, announce: Callable[[str], None]
) -> None:
    """Serve the view on ``sock`` until SIGINT or SIGTERM; ``announce`` hears the address."""
    access = Access(port=sock.getsockname()[1])
    async with open_supervisor(settings) as supervisor:
        config = uvicorn.Config(
            build_app(supervisor, access),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        announce(access.url)
        await server.serve(sockets=[sock])
