"""What a server's lifespan hands its tools, and the tools' way to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from ..service import SessionService
from ._permits import Permits


@dataclass(frozen=True)
class ServerState:
    """A parent's server has the service; a permit-only server has only its permits."""

    permits: Permits
    service: SessionService | None = None


def state_of(ctx: Context[Any, Any]) -> ServerState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState), "the server's lifespan yields a ServerState"
    return state


def service_of(ctx: Context[Any, Any]) -> SessionService:
    service = state_of(ctx).service
    # Only a parent's server registers the tools that call this, and it has a service.
    assert service is not None, "a tool that needs the service in a permit-only server"
    return service


def permits_of(ctx: Context[Any, Any]) -> Permits:
    return state_of(ctx).permits


__all__ = ["ServerState", "permits_of", "service_of", "state_of"]
