"""How a turn that reached its result went, and what its end records.

Pure: from what the turn's items said (``TurnReading``) and what the turn asked
for (an output schema, ephemeral), the verdict (failed, and why), the summary
node the branch goes on from, and the ``turn_end`` event's data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..agents import Result
from ..errors import ChildError
from ..models import JSONObject, NewNode
from ._structured import structured_error
from ._summaries import summary_node
from ._turn_records import TurnReading


@dataclass(frozen=True)
class TurnOutcome:
    read: TurnReading
    result: Result
    failed: bool
    error: str | None
    ephemeral: bool
    structured: bool
    """The turn had an output schema."""
    answer: JSONObject = dataclasses.field(default_factory=dict)
    """``structured_output``, for a structured turn whose answer met its schema."""

    @classmethod
    def of(
        cls, read: TurnReading, output_schema: JSONObject | None, ephemeral: bool
    ) -> TurnOutcome:
        result = read.result
        if result is None:
            raise ChildError("Claude Code ended the turn without a result.")
        failed = result.is_error or read.last_assistant_uuid is None
        error = result.error if failed else None
        answer: JSONObject = {}
        if output_schema is not None and not failed:
            structured = result.data.get("structured_output")
            error = structured_error(output_schema, structured, result.data.get("result"))
            failed = error is not None
            answer = {} if failed else {"structured_output": structured}
        return cls(read, result, failed, error, ephemeral, output_schema is not None, answer)

    def with_error(self, error: str | None) -> TurnOutcome:
        """The same outcome, with ``error`` (when given) as what went wrong."""
        return self if error is None else dataclasses.replace(self, error=error)

    @property
    def kept(self) -> bool:
        """Whether the head moves to the turn's end."""
        return not self.failed and not self.ephemeral

    def summary(self, commit: str | None) -> NewNode:
        """The summary node: where a child resumes this branch. ``commit``, the
        workspace snapshot the turn's end took."""
        result, model = self.result, self.read.model
        summary = summary_node(
            claude_session_id=result.claude_session_id,
            # A structured turn ends with the StructuredOutput call's result: resumed at
            # the call itself, the next child would find it unanswered.
            resume_at=(
                self.read.last_message_uuid if self.structured else self.read.last_assistant_uuid
            ),
            stop_reason=result.stop_reason,
            is_error=result.is_error,
            usage=result.usage,
            ephemeral=self.ephemeral,
        )
        extra: JSONObject = {}
        if model is not None:  # what get shows beside the configured model
            extra["model"] = model
        if commit is not None:  # the worktree's files as this turn left them
            extra["commit"] = commit
        if not extra:
            return summary
        return summary.model_copy(update={"data": summary.data | extra})

    def end(self, commit: str | None) -> JSONObject:
        """The ``turn_end`` event's data (the store adds the summary node's id)."""
        model = self.read.model
        return (
            {"usage": self.result.usage.model_dump(), "head_moved": self.kept}
            | ({"model": model} if model else {})
            | self.answer
            | ({"commit": commit} if commit else {})
            | ({"error": self.error} if self.error else {})
        )
