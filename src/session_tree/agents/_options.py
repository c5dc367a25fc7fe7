"""Build the Claude Agent SDK options for a child from a session's config."""

from __future__ import annotations

import os
from dataclasses import dataclass

from claude_agent_sdk import ClaudeAgentOptions

from ..models import SessionConfig
from ..store import TranscriptMirror
from ._launcher import checked_claude_binary, tied_to_this_process
from ._permissions import AskPermission, can_use_tool
from ._session_store import MirrorSessionStore

# Variables that tell a process it runs inside a Claude Code session. A child
# that inherits them believes it is nested and changes behaviour, so they are
# never passed on (the SDK itself drops only CLAUDECODE).
NESTED_SESSION_VARS = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT")

# The largest single message a child may send (one line of stream-json): the SDK's
# default, 1 MiB, fails a turn whose model writes a file of a few hundred KB.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ResumePoint:
    """Where a child picks up a conversation.

    ``session_id`` is the Claude session to resume, ``at`` the uuid of the
    assistant message to cut its history after. A child started from a resume
    point always forks (a new Claude session id), so no other session's child
    history is ever rewritten.
    """

    session_id: str
    at: str | None


def clean_environment() -> None:
    """Drop the nested-session markers from this process's environment, which
    children inherit. Called once by the server at start-up."""
    for name in NESTED_SESSION_VARS:
        os.environ.pop(name, None)


def build_options(
    config: SessionConfig,
    *,
    resume: ResumePoint | None,
    transcripts: TranscriptMirror | None,
    extra_env: dict[str, str] | None = None,
    ask_permission: AskPermission | None = None,
) -> ClaudeAgentOptions:
    """``transcripts`` mirrors the child's transcript (and lets it resume from the
    database alone); ``ask_permission``, when given, hears every tool call Claude
    Code's own rules leave open (the loopback)."""
    env = {**config.env, **(extra_env or {})}
    return ClaudeAgentOptions(
        cwd=config.cwd,
        model=config.model,
        system_prompt=config.system_prompt,
        permission_mode=config.permission_mode,
        allowed_tools=list(config.allowed_tools),
        disallowed_tools=list(config.disallowed_tools),
        max_turns=config.max_turns,
        env=env,
        cli_path=_cli_path(),
        include_partial_messages=True,
        resume=resume.session_id if resume else None,
        resume_session_at=resume.at if resume else None,
        fork_session=resume is not None,
        session_store=MirrorSessionStore(transcripts) if transcripts is not None else None,
        # A child's stderr goes to its Child, which keeps the tail for its errors.
        max_buffer_size=MAX_MESSAGE_BYTES,
        # Settings files on the machine must not change a child's behaviour
        # behind the parent's back; the session config is the whole truth.
        setting_sources=[],
        can_use_tool=can_use_tool(ask_permission) if ask_permission is not None else None,
    )


def _cli_path() -> str:
    return tied_to_this_process(checked_claude_binary())
