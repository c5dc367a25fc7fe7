"""A child's MCP servers as the parent sees them: configs with their secrets masked,
and each server's status as the child reported it.

Claude Code names every MCP server in the init message it sends at the start of each
turn (stored as that turn's ``system`` event, subtype ``init``), with a status:
``connected``, ``failed`` (a command that does not exist, a server that exits),
``needs-auth`` or ``pending``. A server that fails to start does not stop the turn:
the child goes on without its tools, so the init message is where the parent learns.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from ..errors import InvalidArgument
from ..models import HttpMcpServer, JSONObject, Session, SessionConfig, StdioMcpServer
from ..store import Store

MASK = "***"
# The init message comes first in a turn, after turn_start: a few events suffice.
_INIT_WITHIN = 20


class McpServerState(BaseModel):
    name: str
    type: Literal["stdio", "http", "sse"]
    status: str = Field(
        description="as the child reported at the start of the session's latest turn: "
        "connected, failed, needs-auth or pending; not_started when that turn did not have it "
        "(given since, or no turn yet)"
    )
    tools: list[str] = Field(
        description="its tools, named as rules name them (mcp__NAME__TOOL), when connected"
    )


def masked(session: Session) -> Session:
    """``session`` with every env value, header value and URL password replaced by ***:
    a parent's transcript, logs and screens should not hold the child's secrets."""
    config = session.config
    if not config.env and not config.mcp_servers:
        return session
    servers = {name: _masked_server(server) for name, server in config.mcp_servers.items()}
    update = {"env": _mask(config.env), "mcp_servers": servers}
    return session.model_copy(update={"config": config.model_copy(update=update)})


def unmasked(changes: dict[str, object], current: SessionConfig, whose: str) -> dict[str, object]:
    """``changes`` (of ``env`` and ``mcp_servers``) with every *** value, the mask get
    shows, replaced by the real value it stands for in ``current`` (the session's
    own config for configure, the origin's for fork): a parent may send back what
    get showed it, and a secret is never stored as ***. A *** with no real value
    behind it (a new key, another server) is refused, naming it; ``whose`` says
    whose config that is (e.g. "session 'main'")."""
    found = dict(changes)
    if isinstance(env := changes.get("env"), dict):
        found["env"] = _unmask(env, current.env, "env", whose)
    if isinstance(servers := changes.get("mcp_servers"), dict):
        given = SessionConfig.model_validate({"mcp_servers": servers}).mcp_servers
        found["mcp_servers"] = {
            name: _unmasked_server(name, server, current.mcp_servers.get(name), whose)
            for name, server in given.items()
        }
    return found


def _unmasked_server(
    name: str,
    server: StdioMcpServer | HttpMcpServer,
    current: StdioMcpServer | HttpMcpServer | None,
    whose: str,
) -> StdioMcpServer | HttpMcpServer:
    where = f"mcp_servers[{name!r}]"
    if isinstance(server, StdioMcpServer):
        kept = current.env if isinstance(current, StdioMcpServer) else {}
        return server.model_copy(update={"env": _unmask(server.env, kept, f"{where}.env", whose)})
    headers = current.headers if isinstance(current, HttpMcpServer) else {}
    url = server.url
    if urlsplit(url).password == MASK:
        if not isinstance(current, HttpMcpServer) or _masked_url(current.url) != url:
            raise _no_value(f"{where}.url's password", whose)
        url = current.url
    return server.model_copy(
        update={"headers": _unmask(server.headers, headers, f"{where}.headers", whose), "url": url}
    )


def _unmask(values: dict[str, str], kept: dict[str, str], where: str, whose: str) -> dict[str, str]:
    found = {}
    for key, value in values.items():
        if value == MASK:
            if key not in kept:
                raise _no_value(f"{where}[{key!r}]", whose)
            value = kept[key]
        found[key] = value
    return found


def _no_value(what: str, whose: str) -> InvalidArgument:
    return InvalidArgument(
        f"{what} is {MASK}, the mask get shows for a secret, but {whose} has no value "
        f"there to keep; send the real value ({MASK} is never stored as one)."
    )


async def server_states(store: Store, session: Session) -> list[McpServerState]:
    """Each configured server with its status from the latest turn's child."""
    if not session.config.mcp_servers:
        return []
    init = await latest_init(store, session.name) or {}
    reported = {
        str(entry.get("name")): str(entry.get("status"))
        for entry in init.get("mcp_servers") or []
        if isinstance(entry, dict)
    }
    tools = [str(tool) for tool in init.get("tools") or []]
    return [
        McpServerState(
            name=name,
            type=server.type,
            status=reported.get(name, "not_started"),
            tools=[tool for tool in tools if tool.startswith(f"mcp__{name}__")],
        )
        for name, server in session.config.mcp_servers.items()
    ]


async def latest_init(store: Store, name: str) -> JSONObject | None:
    """The init message of the session's latest turn, if its child sent one."""
    streams = await store.streams.recent(name, limit=1)
    if not streams:
        return None
    for event in await store.streams.read(streams[0].id, from_seq=0, limit=_INIT_WITHIN):
        if event.kind == "system" and event.data.get("subtype") == "init":
            data = event.data.get("data")
            return data if isinstance(data, dict) else None
    return None


def failed_servers(init: object) -> list[str]:
    """The servers an init message (a system event's data) reports as failed."""
    if not isinstance(init, dict):
        return []
    return [
        str(entry.get("name"))
        for entry in init.get("mcp_servers") or []
        if isinstance(entry, dict) and entry.get("status") == "failed"
    ]


def _masked_server(server: StdioMcpServer | HttpMcpServer) -> StdioMcpServer | HttpMcpServer:
    if isinstance(server, StdioMcpServer):
        return server.model_copy(update={"env": _mask(server.env)})
    return server.model_copy(
        update={"headers": _mask(server.headers), "url": _masked_url(server.url)}
    )


def _mask(values: dict[str, str]) -> dict[str, str]:
    return dict.fromkeys(values, MASK)


def _masked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))
