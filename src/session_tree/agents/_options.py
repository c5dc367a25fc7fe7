"""Build the Claude Agent SDK options for a child from a session's config."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import cast

from claude_agent_sdk import ClaudeAgentOptions
from claude_agent_sdk.types import (
    McpHttpServerConfig,
    McpServerConfig,
    McpSSEServerConfig,
    McpStdioServerConfig,
    SandboxSettings,
    SystemPromptFile,
    ThinkingConfig,
)

from ..models import HttpMcpServer, Sandbox, SessionConfig, StdioMcpServer
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
    output_schema: dict[str, object] | None = None,
) -> ClaudeAgentOptions:
    """``transcripts`` mirrors the child's transcript (and lets it resume from the
    database alone); ``ask_permission``, when given, hears every tool call Claude
    Code's own rules leave open (the loopback)."""
    env = {**config.env, **(extra_env or {})}
    return ClaudeAgentOptions(
        cwd=config.cwd,
        model=config.model,
        system_prompt=_system_prompt(config.system_prompt),
        permission_mode=config.permission_mode,
        # The rules travel in a settings file, not as --allowedTools: that flag joins
        # them with commas, which Claude Code splits again (one rule with a comma
        # became two), and one argument holds at most 128 KiB on Linux.
        settings=_rules_file(config.allowed_tools, config.disallowed_tools),
        max_turns=config.max_turns,
        # What is left of the tightest budget over this session (the runner sets it).
        max_budget_usd=config.max_cost_usd,
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
        # behind the parent's back, unless the parent opts in to some of them.
        setting_sources=list(config.setting_sources),
        # Only the session's servers: none of the machine's (.mcp.json, user config).
        mcp_servers=_mcp_servers(config.mcp_servers),
        strict_mcp_config=True,
        add_dirs=list(config.add_dirs),
        effort=config.effort,
        thinking=_thinking(config.thinking_tokens),
        fallback_model=config.fallback_model,
        sandbox=_sandbox(config.sandbox),
        can_use_tool=can_use_tool(ask_permission) if ask_permission is not None else None,
        # Claude Code gives the model a StructuredOutput tool with this schema as its input.
        output_format={"type": "json_schema", "schema": output_schema} if output_schema else None,
        # Claude Code replays the system prompt a session recorded on its first request,
        # even on resume with another: off, a fork or configure's new prompt is the one sent.
        extra_args={"system-prompt-snapshot": "off"},
    )


def _mcp_servers(
    servers: dict[str, StdioMcpServer | HttpMcpServer],
) -> dict[str, McpServerConfig]:
    return {name: _mcp_server(server) for name, server in servers.items()}


def _mcp_server(server: StdioMcpServer | HttpMcpServer) -> McpServerConfig:
    if isinstance(server, StdioMcpServer):
        return McpStdioServerConfig(
            type="stdio", command=server.command, args=list(server.args), env=dict(server.env)
        )
    if server.type == "sse":
        return McpSSEServerConfig(type="sse", url=server.url, headers=dict(server.headers))
    return McpHttpServerConfig(type="http", url=server.url, headers=dict(server.headers))


def _thinking(tokens: int | None) -> ThinkingConfig | None:
    if tokens is None:
        return None
    if tokens == 0:
        return {"type": "disabled"}
    return {"type": "enabled", "budget_tokens": tokens}


def _sandbox(sandbox: Sandbox | None) -> SandboxSettings | None:
    """Claude Code's sandbox settings: the model's fields are theirs in snake_case,
    so the same names in camelCase, with what was left unset left out."""
    if sandbox is None:
        return None
    return cast(SandboxSettings, _camel_keys(sandbox.model_dump(exclude_none=True)))


def _camel_keys(value: object) -> object:
    if isinstance(value, dict):
        return {_camel(str(key)): _camel_keys(item) for key, item in value.items()}
    return value


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _system_prompt(prompt: str | None) -> str | SystemPromptFile | None:
    """The system prompt as a file Claude Code reads (--system-prompt-file): a
    command-line argument holds at most 128 KiB on Linux (MAX_ARG_STRLEN), and a
    file keeps the prompt out of every local user's process list."""
    if not prompt:
        return prompt  # the SDK passes an empty prompt for None: Claude Code's own is not used
    return SystemPromptFile(type="file", path=_private_file(prompt, ".txt"))


def _rules_file(allowed: list[str], disallowed: list[str]) -> str | None:
    """The rules as a Claude Code settings file (permissions.allow/deny), which
    --settings loads even with every setting source off."""
    if not allowed and not disallowed:
        return None
    permissions = {"allow": list(allowed), "deny": list(disallowed)}
    return _private_file(json.dumps({"permissions": permissions}), ".json")


_private_dir: str | None = None


def _private_file(content: str, suffix: str) -> str:
    """A file holding ``content``, readable by this user alone (0600 in a 0700
    directory), kept while this process runs and removed at its exit.

    Named by its content, so every child started with the same config shares one
    file, and written under a temporary name then renamed, so that a child never
    reads half of one. Children read these when they start."""
    global _private_dir
    if _private_dir is None or not os.path.isdir(_private_dir):
        _private_dir = tempfile.mkdtemp(prefix="session-tree-")  # mode 0700
        atexit.register(shutil.rmtree, _private_dir, ignore_errors=True)
    data = content.encode("utf-8")
    path = os.path.join(_private_dir, hashlib.sha256(data).hexdigest() + suffix)
    if not os.path.exists(path):
        fd, partial = tempfile.mkstemp(dir=_private_dir)  # mode 0600
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    return path


def _cli_path() -> str:
    return tied_to_this_process(checked_claude_binary())
