"""Pydantic types of what a child is given beyond its prompt and rules: its MCP
servers, the settings files it may read, and Claude Code's sandbox for Bash.

Shared by every layer through :mod:`session_tree.models`, which re-exports them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ._sendable import check_env, check_lines, check_text, stored


class _Frozen(BaseModel):
    # models.Frozen's config; models imports this module, so it cannot be imported here.
    model_config = ConfigDict(frozen=True, extra="forbid")


class StdioMcpServer(_Frozen):
    """An MCP server the child starts as a subprocess, speaking stdio."""

    type: Literal["stdio"] = "stdio"
    command: str = Field(min_length=1, description="the program to run")
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="shown masked by get")

    @field_validator("command")
    @classmethod
    def _sendable_command(cls, command: str, info: ValidationInfo) -> str:
        check_text(command, "", info, one_line=True)
        return command

    @field_validator("args")
    @classmethod
    def _sendable_args(cls, args: list[str], info: ValidationInfo) -> list[str]:
        for number, arg in enumerate(args):
            check_text(arg, f"argument {number} ", info, one_line=False)
        return args

    @field_validator("env")
    @classmethod
    def _sendable_env(cls, env: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        return check_env(env, info)


class HttpMcpServer(_Frozen):
    """An MCP server the child reaches over HTTP (streamable HTTP, or the older SSE)."""

    type: Literal["http", "sse"] = "http"
    url: str = Field(min_length=1, description="an http:// or https:// address")
    headers: dict[str, str] = Field(default_factory=dict, description="shown masked by get")

    @field_validator("url")
    @classmethod
    def _web_url(cls, url: str, info: ValidationInfo) -> str:
        check_text(url, "", info, one_line=True)
        if not stored(info) and not re.match(r"https?://[^/\s]", url, re.IGNORECASE):
            raise PydanticCustomError("mcp_url", "is not an http:// or https:// address")
        return url

    @field_validator("headers")
    @classmethod
    def _sendable_headers(cls, headers: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for key, value in headers.items():
            check_text(key, f"the header name {key[:40]!r} ", info, one_line=True)
            if not stored(info) and not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", key):
                raise PydanticCustomError(
                    "header_name",
                    "has the header name {key}: not a valid HTTP header name",
                    {"key": repr(key[:40])},
                )
            check_text(value, f"header {key[:40]} ", info, one_line=True)
        return headers


def _server_kind(value: Any) -> str:
    """stdio or http: by ``type`` when given, else by whether it has a ``command``."""
    if isinstance(value, BaseModel):
        return "stdio" if isinstance(value, StdioMcpServer) else "http"
    if isinstance(value, dict):
        kind = value.get("type")
        if kind in ("http", "sse") or (kind is None and "command" not in value):
            return "http"
    return "stdio"


McpServer = Annotated[
    Annotated[StdioMcpServer, Tag("stdio")] | Annotated[HttpMcpServer, Tag("http")],
    Discriminator(_server_kind),
]
# A server's name becomes part of its tools' names (mcp__NAME__TOOL), in rules too.
MCP_SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SettingSource = Literal["user", "project", "local"]
Effort = Literal["low", "medium", "high", "xhigh", "max"]


class SandboxNetwork(_Frozen):
    """Claude Code's sandbox.network settings, in snake_case."""

    allowed_domains: list[str] | None = None
    denied_domains: list[str] | None = None
    allow_unix_sockets: list[str] | None = None
    allow_all_unix_sockets: bool | None = None
    allow_local_binding: bool | None = None
    http_proxy_port: int | None = Field(default=None, ge=1, le=65535)
    socks_proxy_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("allowed_domains", "denied_domains", "allow_unix_sockets")
    @classmethod
    def _one_line_items(cls, items: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return check_lines(items, info)


class Sandbox(_Frozen):
    """Claude Code's sandbox settings for Bash, in snake_case (enabled ->
    enabled, auto_allow_bash_if_sandboxed -> autoAllowBashIfSandboxed, ...)."""

    enabled: bool = True
    auto_allow_bash_if_sandboxed: bool | None = None
    excluded_commands: list[str] | None = None
    allow_unsandboxed_commands: bool | None = None
    network: SandboxNetwork | None = None
    enable_weaker_nested_sandbox: bool | None = None

    @field_validator("excluded_commands")
    @classmethod
    def _one_line_items(cls, items: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return check_lines(items, info)
