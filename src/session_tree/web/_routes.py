"""The pages and their JSON: sessions, a session's tree, a turn, the approval inbox.

Every page is rendered on the server from a template; what changes while it is
open arrives as server-sent events (``/…/events``), and every page's data is
also served as JSON under ``/api``. Reads and decisions go through the
:class:`~session_tree.service.Supervisor`; nothing here touches the database.
"""

from __future__ import annotations

import json
from typing import Any, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import InvalidArgument
from ..models import JSONObject
from ..service import (
    ListOrder,
    PendingApproval,
    SessionFilter,
    SessionInfo,
    SessionState,
    Supervisor,
    turn_status,
)
from ._auth import Access
from ._graph import layout
from ._pages import Pages
from ._sse import LIST_EVERY_S, changes, stream_events, version_of

_STATES: tuple[str, ...] = get_args(SessionState)
# Ids and seqs are SQLite integers: a larger number is no id (and would overflow).
MAX_ID = 2**63 - 1


class Decision(BaseModel):
    """A decision posted from the inbox."""

    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern="^(allow|deny)$")
    # As loopback_respond takes it: what the child is told stays a message.
    message: str | None = Field(default=None, max_length=10_000)
    updated_input: JSONObject | None = None
    remember: bool = False
    rule: str | None = None


def routes(supervisor: Supervisor, access: Access) -> list[BaseRoute]:
    pages = Pages(access)

    def filters(request: Request) -> tuple[SessionFilter, ListOrder]:
        q = request.query_params
        status = q.get("status") or None
        if status is not None and status not in _STATES:
            raise InvalidArgument(f"status must be one of {', '.join(_STATES)}, not {status!r}.")
        order = q.get("order") or "activity"
        if order not in ("activity", "name"):
            raise InvalidArgument(f"order must be activity or name, not {order!r}.")
        found = SessionFilter(
            status=cast("SessionState | None", status),
            cwd=q.get("cwd") or None,
            forked_from=q.get("forked_from") or None,
            query=q.get("q") or None,
        )
        return found, cast("ListOrder", order)

    async def sessions(request: Request) -> Response:
        kept, order = filters(request)
        rows = await supervisor.list(kept, order=order)
        pending = len(await supervisor.pending())
        return HTMLResponse(
            pages.render(
                "sessions.html",
                rows=rows,
                version=version_of(rows),
                filter=request.query_params,
                states=_STATES,
                pending=pending,
                db=supervisor.db_path,
            )
        )

    async def sessions_json(request: Request) -> Response:
        kept, order = filters(request)
        return _json(
            [row.model_dump(mode="json") for row in await supervisor.list(kept, order=order)]
        )

    async def sessions_events(request: Request) -> Response:
        kept, order = filters(request)

        async def read() -> list[SessionInfo]:
            return await supervisor.list(kept, order=order)

        return EventSourceResponse(
            changes(
                supervisor,
                read,
                lambda rows: pages.render("session_rows.html", rows=rows),
                version_of,
                every=LIST_EVERY_S,
            ),
            ping=15,
        )

    async def session(request: Request) -> Response:
        name = request.path_params["name"]
        expanded = frozenset(_ids(request.query_params.get("expand", "")))
        # Read before the tree: a change after it makes the page draw itself again.
        state = _state_version(await supervisor.session_state(name))
        result = await supervisor.tree(name)
        turns = await supervisor.turns(list(result.tree.heads))
        graph = layout(result.tree, turn_status(turns), expanded=expanded)
        info = await supervisor.info(name)
        return HTMLResponse(
            pages.render(
                "session.html",
                name=name,
                state=state,
                info=info,
                tree=result,
                graph=graph,
                streams=turns[:20],
                expanded=sorted(expanded),
                pending=len(await supervisor.pending()),
            )
        )

    async def session_events(request: Request) -> Response:
        name = request.path_params["name"]
        await supervisor.session_state(name)  # an unknown session is a 404, not a stream

        async def read() -> JSONObject:
            return await supervisor.session_state(name)

        return EventSourceResponse(
            changes(supervisor, read, _state_version, _state_version), ping=15
        )

    async def tree_json(request: Request) -> Response:
        return _json((await supervisor.tree(request.path_params["name"])).model_dump(mode="json"))

    async def render_page(request: Request) -> Response:
        name = request.path_params["name"]
        at = request.query_params.get("at")
        messages = await supervisor.render(name, at=_query_id(at, "at", low=1) if at else None)
        return HTMLResponse(
            pages.render("render.html", name=name, at=at, messages=messages, pending=None)
        )

    async def node_json(request: Request) -> Response:
        node = await supervisor.node(_path_id(request, "node_id"))
        return _json(node.model_dump(mode="json"))

    async def stream_page(request: Request) -> Response:
        stream = await supervisor.stream(_path_id(request, "stream_id"))
        return HTMLResponse(
            pages.render("stream.html", stream=stream, pending=len(await supervisor.pending()))
        )

    async def stream_sse(request: Request) -> Response:
        stream = await supervisor.stream(_path_id(request, "stream_id"))
        # A reconnecting EventSource says where it was; else from ?from= (default 0).
        last = _whole(request.headers.get("last-event-id", ""))
        given = request.query_params.get("from")
        start = last + 1 if last is not None else _query_id(given, "from") if given else 0
        return EventSourceResponse(stream_events(supervisor, stream.id, start), ping=15)

    async def inbox(request: Request) -> Response:
        found = await supervisor.pending()
        return HTMLResponse(pages.render("inbox.html", approvals=found, pending=len(found)))

    async def pending_json(request: Request) -> Response:
        return _json([a.model_dump(mode="json") for a in await supervisor.pending()])

    async def inbox_events(request: Request) -> Response:
        async def read() -> list[PendingApproval]:
            # Without each one's age, which changes every time it is read.
            return [a.model_copy(update={"age_s": 0.0}) for a in await supervisor.pending()]

        def cards(found: list[PendingApproval]) -> str:
            return json.dumps(
                {
                    "ids": [a.id for a in found],
                    "cards": {a.id: pages.render("card.html", approval=a) for a in found},
                }
            )

        return EventSourceResponse(changes(supervisor, read, cards, version_of), ping=15)

    async def decide(request: Request) -> Response:
        try:
            body = Decision.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            raise InvalidArgument(
                "Send JSON: decision (allow or deny), and optionally message, "
                f"updated_input (an object), remember, rule. {_first_error(exc)}"
            ) from exc
        decided = await supervisor.respond(
            _path_id(request, "approval_id"),
            allow=body.decision == "allow",
            message=body.message or None,
            updated_input=body.updated_input,
            remember=body.remember,
            rule=body.rule or None,
        )
        return _json(decided.model_dump(mode="json"))

    return [
        Route("/", sessions),
        Route("/api/sessions", sessions_json),
        Route("/sessions/events", sessions_events),
        Route("/s/{name}", session),
        Route("/s/{name}/render", render_page),
        Route("/s/{name}/events", session_events),
        Route("/api/s/{name}/tree", tree_json),
        Route("/api/nodes/{node_id:int}", node_json),
        Route("/streams/{stream_id:int}", stream_page),
        Route("/streams/{stream_id:int}/events", stream_sse),
        Route("/inbox", inbox),
        Route("/inbox/events", inbox_events),
        Route("/api/approvals", pending_json),
        Route("/api/approvals/{approval_id:int}", decide, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("session_tree.web", "static")]), name="static"),
    ]


def _json(content: Any) -> Response:
    return JSONResponse(content)


def _state_version(state: JSONObject) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def _whole(text: str) -> int | None:
    """``text`` as a whole number an id can be, else None (``isdigit`` alone lets
    through digits ``int`` refuses, such as '²')."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def _query_id(text: str, what: str, *, low: int = 0) -> int:
    number = _whole(text)
    if number is None or number < low:
        raise InvalidArgument(
            f"{what} must be a whole number from {low} to {MAX_ID}, not {text[:40]!r}."
        )
    return number


def _path_id(request: Request, key: str) -> int:
    # The route's int converter has read the digits; only the size is left to check.
    number: int = request.path_params[key]
    if not 1 <= number <= MAX_ID:
        raise InvalidArgument(f"{key} must be from 1 to {MAX_ID}, not {number}.")
    return number


def _ids(text: str) -> list[int]:
    return [number for part in text.split(",") if (number := _whole(part)) is not None]


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        return f"{where}: {error['msg']}." if where else f"{error['msg']}."
    return "The body is not JSON."
