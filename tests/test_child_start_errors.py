"""A claude that exits at start-up is reported the same way however the SDK noticed."""

from __future__ import annotations

import pytest
from claude_agent_sdk import ProcessError
from claude_agent_sdk._errors import CLIConnectionError

from session_tree.agents._child import _start_failure


@pytest.mark.parametrize(
    "error",
    [
        # The SDK saw the exit first...
        ProcessError("Command failed with exit code 3", exit_code=3, stderr="..."),
        # ...or tried to write the first control request to the process it had left.
        CLIConnectionError("Cannot write to terminated process (exit code: 3)"),
    ],
)
def test_both_wordings_name_the_exit_code(error: Exception) -> None:
    assert _start_failure(error) == "claude exited with exit code 3"


def test_other_failures_keep_their_first_line() -> None:
    error = CLIConnectionError("Claude Code not found at /x\nmore detail")
    assert _start_failure(error) == "Claude Code not found at /x"
