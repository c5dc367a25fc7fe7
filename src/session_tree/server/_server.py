"""Tool arguments, checked so that a model can act on the error.

The SDK reports bad arguments as pydantic's own dump ("1 validation error for
chatArguments ... For further information visit ..."), and ignores arguments a
tool does not take (a misspelt ``bypass_for`` would quietly do nothing).
``SessionTreeServer`` refuses unknown arguments, and turns a validation
failure into one sentence per argument: its name, what it must be, what was
given, then the parameters the tool takes. ``loopback_permit`` is Claude Code's,
not a model's: it takes what Claude Code adds, and answers bad arguments with
a deny in its contract, since Claude Code reads nothing else.
Everything else is the SDK's.
"""

from __future__ import annotations

from typing import Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..service import PermitResult

LifespanT = TypeVar("LifespanT")

PERMIT_TOOL = "loopback_permit"

# Ids and sequence numbers are SQLite integers.
MAX_ID = 2**63 - 1

# Where a caller who passed arguments to these probably meant another tool.
_UNKNOWN_HINTS = {"list": "To see one session, call get(name)"}

# Error kinds whose message is already a sentence about the value (models.py).
_OWN_SENTENCES = frozenset({"unsendable_text", "model_name", "env_name"})

# What to do instead, for the arguments where that is not obvious.
_HINTS = {
    "prompt": "put long material in a file in the session's cwd and ask the child to read it",
    "system_prompt": "put long material in a file in the session's cwd and refer to it",
}


class SessionTreeServer(MCPServer[LifespanT]):
    """An MCP server whose tool argument errors say what to send instead."""

    _schemas: dict[str, dict[str, Any]] | None = None

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[LifespanT, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        schema = await self._schema(name)
        if name == PERMIT_TOOL:
            return await self._permit(arguments, context)
        if schema is not None:
            unknown = sorted(set(arguments) - set(schema.get("properties", {})))
            if unknown:
                listed = ", ".join(f"`{arg}`" for arg in unknown)
                hint = f" {_UNKNOWN_HINTS[name]}." if name in _UNKNOWN_HINTS else ""
                raise ToolError(
                    f"{name} takes no argument {listed}.{hint} {_signature(name, schema)}"
                )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if schema is not None and isinstance(exc.__cause__, ValidationError):
                raise ToolError(explain(name, exc.__cause__, schema)) from exc.__cause__
            raise

    async def _permit(
        self, arguments: dict[str, Any], context: Context[LifespanT, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(PERMIT_TOOL, arguments, context)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            problems = "; ".join(
                f"{'.'.join(map(str, d['loc'])) or 'arguments'}: {d['msg']}"
                for d in exc.__cause__.errors(include_url=False)
            )
            deny = PermitResult.deny(
                f"session-tree got malformed permission arguments ({problems})"
            )
            return CallToolResult(content=[TextContent(type="text", text=deny.text())])

    async def _schema(self, name: str) -> dict[str, Any] | None:
        if self._schemas is None:
            # Tools are registered once, before the server runs.
            self._schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        return self._schemas.get(name)


def explain(tool: str, error: ValidationError, schema: dict[str, Any]) -> str:
    """One sentence per bad argument, then the tool's parameters."""
    properties: dict[str, Any] = schema.get("properties", {})
    sentences = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        name = str(loc[0]) if loc else "arguments"
        where = name + "".join(f"[{part}]" for part in loc[1:])
        sentence = _sentence(where, detail, _constraints(properties.get(name, {})))
        if name in _HINTS and detail["type"] == "string_too_long":
            sentence += f"; {_HINTS[name]}"
        sentences.append(sentence + ".")
    return f"Bad arguments to {tool}: {' '.join(sentences)} {_signature(tool, schema)}"


def _sentence(where: str, detail: ErrorDetails, limits: dict[str, Any]) -> str:
    kind = detail["type"]
    got = _shown(detail.get("input"))
    context = detail.get("ctx", {})
    if kind == "missing":
        return f"`{where}` is required"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"`{where}` must be {_range(limits)} (got {got})"
    if kind == "string_too_short":
        high = f" to {limits['maxLength']}" if "maxLength" in limits else " or more"
        size = f"{context.get('min_length')}{high} characters"
        if context.get("min_length") == 1:
            return f"`{where}` must not be empty ({size})"
        return f"`{where}` must be {size} (got {got})"
    if kind == "string_too_long":
        given = detail.get("input")
        length = f"{len(given)} characters" if isinstance(given, str) else "too long"
        return f"`{where}` is {length}; at most {context.get('max_length')} are accepted"
    if kind in _OWN_SENTENCES:
        # SessionConfig's own checks (models.py) word the problem after the name.
        return f"`{where}` {detail['msg']}"
    if kind == "literal_error":
        return f"`{where}` must be {context.get('expected')} (got {got})"
    if kind.startswith("int_"):
        return f"`{where}` must be a whole number{_range_suffix(limits)} (got {got})"
    if kind.startswith("float_"):
        return f"`{where}` must be a number{_range_suffix(limits)} (got {got})"
    if kind.startswith("bool_"):
        return f"`{where}` must be true or false (got {got})"
    if kind.startswith("string_"):
        return f"`{where}` must be a string (got {got})"
    if kind.startswith("dict_") or kind == "model_type":
        return f"`{where}` must be a JSON object (got {got})"
    if kind.startswith("list_"):
        return f"`{where}` must be a list (got {got})"
    return f"`{where}`: {detail['msg']} (got {got})"


def _constraints(prop: dict[str, Any]) -> dict[str, Any]:
    """The numeric bounds of a property, also when it is optional (anyOf with null)."""
    found = {k: v for k, v in prop.items() if k.endswith(("imum", "Minimum", "Maximum", "Length"))}
    for option in prop.get("anyOf", []):
        found |= _constraints(option)
    return found


def _range(limits: dict[str, Any]) -> str:
    limits = {k: v for k, v in limits.items() if not k.endswith("Length")}
    low = (
        f"more than {limits['exclusiveMinimum']}"
        if "exclusiveMinimum" in limits
        else f"at least {limits['minimum']}"
        if "minimum" in limits
        else ""
    )
    high = (
        f"less than {limits['exclusiveMaximum']}"
        if "exclusiveMaximum" in limits
        else f"at most {limits['maximum']}"
        if "maximum" in limits
        else ""
    )
    return " and ".join(part for part in (low, high) if part) or "in range"


def _range_suffix(limits: dict[str, Any]) -> str:
    bounds = _range(limits)
    return f", {bounds}" if bounds != "in range" else ""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _signature(tool: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    params = [
        f"{param} (required)" if param in required else param
        for param in schema.get("properties", {})
    ]
    return f"{tool} takes: {', '.join(params) or 'no arguments'}."


__all__ = ["MAX_ID", "SessionTreeServer", "explain"]
