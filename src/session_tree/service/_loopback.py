"""The loopback: a child's tool call, asked of the parent and settled exactly once.

Claude Code asks only about calls its own rules leave open (its allowed and
disallowed tools and its permission mode come first, and win). What reaches
the loopback is settled, in order, by:

1. the session's disallowed rules (deny), then its allowed rules (allow): the
   rules a parent added with ``remember`` while this child was already running;
2. a bypass window (``bypass_until``): allow until it ends, then ask again;
3. the parent: a pending approval that ``loopback_respond`` decides, or that
   expires after the session's ``approval_timeout_s`` (a deny that says so).

The request and the decision travel through the database, so the process that
asks and the process that answers need not be the same.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ApprovalAlreadyDecided, InvalidArgument
from ..models import Approval, ApprovalStatus, JSONObject, SessionConfig
from ..store import Store
from ._rules import ToolRule, matching_rule

DEFAULT_DENY_MESSAGE = "The parent denied this tool call."


class PermitResult(BaseModel):
    """A decision in the shape of Claude Code's ``--permission-prompt-tool`` result."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    behavior: Literal["allow", "deny"]
    updated_input: JSONObject | None = Field(default=None, alias="updatedInput")
    message: str | None = None
    interrupt: bool = False

    @classmethod
    def allow(cls, tool_input: JSONObject) -> PermitResult:
        return cls(behavior="allow", updated_input=tool_input)

    @classmethod
    def deny(cls, message: str, *, interrupt: bool = False) -> PermitResult:
        return cls(behavior="deny", message=message, interrupt=interrupt)

    def contract(self) -> JSONObject:
        """The JSON object Claude Code expects: an allow always carries
        ``updatedInput``; a deny carries ``message`` and, only when set, ``interrupt``."""
        if self.behavior == "allow":
            return {"behavior": "allow", "updatedInput": self.updated_input or {}}
        result: JSONObject = {"behavior": "deny", "message": self.message or DEFAULT_DENY_MESSAGE}
        if self.interrupt:
            result["interrupt"] = True
        return result

    def text(self) -> str:
        """The contract object as the one text block Claude Code reads: JSON, nothing else."""
        return json.dumps(self.contract(), separators=(",", ":"))


class Loopback:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def ask(
        self,
        session_name: str,
        *,
        tool_name: str,
        tool_input: JSONObject,
        tool_use_id: str | None,
        stream_id: int | None = None,
        on_pending: Callable[[Approval], None] | None = None,
    ) -> PermitResult:
        """Settle a child's tool call: by a session rule, a bypass window, or the parent.

        Returns when it is settled; ``on_pending`` hears of the approval the
        parent must decide, if it comes to that.
        """
        config = (await self.store.sessions.get(session_name)).config
        by_policy = _settle_by_policy(config, tool_name, tool_input)
        if by_policy is not None:
            result, settled_by = by_policy
            if stream_id is not None:
                await self.store.streams.append(
                    stream_id,
                    "permission_decision",
                    {
                        "approval_id": None,
                        "tool_name": tool_name,
                        "tool_use_id": tool_use_id,
                        "behavior": result.behavior,
                        "message": result.message,
                        "decided_by": settled_by,
                    },
                )
            return result

        approval = await self.store.approvals.create(
            session_name,
            tool_name=tool_name,
            input=tool_input,
            tool_use_id=tool_use_id,
            stream_id=stream_id,
        )
        timeout = config.approval_timeout_s
        try:
            if on_pending is not None:
                on_pending(approval)
            settled = await self.store.approvals.wait_decided(approval.id, timeout=timeout)
        except BaseException:
            # Nobody waits any more (the child gave up, the call was cancelled):
            # the approval must not stay pending for a parent to answer.
            with anyio.CancelScope(shield=True):
                await self._expire(approval.id, "the child stopped waiting", "session-tree")
            raise
        if settled.status is ApprovalStatus.PENDING:
            settled = await self._expire(
                approval.id,
                f"No decision came within {timeout:g} s, so the approval timed out and "
                "this call is denied.",
                "timeout",
            )
        return decision_of(settled)

    async def _expire(self, approval_id: int, message: str, by: str) -> Approval:
        try:
            return await self.store.approvals.decide(
                approval_id,
                ApprovalStatus.EXPIRED,
                decision=PermitResult.deny(message).contract(),
                decided_by=by,
            )
        except ApprovalAlreadyDecided:  # decided in the same instant
            return await self.store.approvals.get(approval_id)

    async def respond(
        self,
        approval_id: int,
        *,
        allow: bool,
        message: str | None = None,
        updated_input: JSONObject | None = None,
        interrupt: bool = False,
        remember: bool = False,
        rule: str | None = None,
    ) -> Approval:
        """The parent's decision on a pending approval, exactly once."""
        if allow and interrupt:
            raise InvalidArgument("interrupt goes with a deny: it stops the child's whole turn.")
        if not allow and updated_input is not None:
            raise InvalidArgument(
                "updated_input goes with an allow: it is the input the tool runs with."
            )
        if rule is not None and not remember:
            raise InvalidArgument("rule is what remember keeps: set remember=true with it.")
        approval = await self.store.approvals.get(approval_id)
        remembered = str(ToolRule.parse(rule or approval.tool_name)) if remember else None
        if allow:
            result = PermitResult.allow(
                updated_input if updated_input is not None else approval.input
            )
        else:
            result = PermitResult.deny(message or DEFAULT_DENY_MESSAGE, interrupt=interrupt)
        decided = await self.store.approvals.decide(
            approval_id,
            ApprovalStatus.ALLOWED if allow else ApprovalStatus.DENIED,
            decision=result.contract(),
            decided_by="parent",
        )
        if remembered is not None:
            await self.store.sessions.add_rule(approval.session_name, remembered, allow=allow)
        return decided


def _settle_by_policy(
    config: SessionConfig, tool_name: str, tool_input: JSONObject
) -> tuple[PermitResult, str] | None:
    """A decision the session's rules or bypass window make without asking, and by what."""
    # A server's working directory is its Claude Code's when Claude Code started it.
    cwd = config.cwd or os.getcwd()
    rule = matching_rule(config.disallowed_tools, tool_name, tool_input, cwd, deny=True)
    if rule is not None:
        return PermitResult.deny(f"The session's rule {rule!r} denies this call."), f"rule {rule}"
    rule = matching_rule(config.allowed_tools, tool_name, tool_input, cwd, deny=False)
    if rule is not None:
        return PermitResult.allow(tool_input), f"rule {rule}"
    if config.bypass_until is not None and time.time() < config.bypass_until:
        return PermitResult.allow(tool_input), "bypass"
    return None


def decision_of(approval: Approval) -> PermitResult:
    """What the child hears for a settled approval (an expired one is a deny)."""
    decision = approval.decision or {}
    if approval.status is ApprovalStatus.ALLOWED and decision.get("behavior") == "allow":
        updated = decision.get("updatedInput")
        return PermitResult.allow(updated if isinstance(updated, dict) else approval.input)
    message = decision.get("message")
    return PermitResult.deny(
        str(message) if message else DEFAULT_DENY_MESSAGE,
        interrupt=bool(decision.get("interrupt")),
    )
