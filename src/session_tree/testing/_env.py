"""The environment a child `claude` needs to talk to a ScriptedModel, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server import ScriptedModel

# Variables that would send the child elsewhere or make it authenticate with
# real credentials. claude 2.1.329 treats an empty value as unset, so the
# overlay blanks them (an overlay cannot delete); `inherit=True` drops them.
_REDIRECTING = (
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_UNIX_SOCKET",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
)


def child_env(
    model: ScriptedModel,
    home: str | os.PathLike[str],
    *,
    max_retries: int | None = None,
    inherit: bool = False,
) -> dict[str, str]:
    """Variables that point a child `claude` at `model`, with `home` as its HOME.

    Without `inherit` this is an overlay, the shape `ClaudeAgentOptions.env`
    wants (the Agent SDK merges it over `os.environ` and drops `CLAUDECODE`).
    With `inherit=True` it is a complete environment for `subprocess`: the
    current one minus `CLAUDECODE` (set inside a Claude Code session, it makes
    the child believe it is nested) and the redirecting variables.

    `max_retries=0` makes model failures surface at once: claude otherwise
    retries a 500 or 529 with backoff for minutes.
    """
    home_path = Path(home)
    overlay = {
        "ANTHROPIC_BASE_URL": model.base_url,
        "ANTHROPIC_API_KEY": model.api_key or "scripted-dummy-key",
        "HOME": str(home_path),
        "CLAUDE_CONFIG_DIR": str(home_path / ".claude"),
        # No title requests, no /api/hello probe, no telemetry or update
        # checks: the child talks to the model and to nothing else.
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    if max_retries is not None:
        overlay["CLAUDE_CODE_MAX_RETRIES"] = str(max_retries)
    if not inherit:
        return dict.fromkeys(_REDIRECTING, "") | overlay
    dropped = {"CLAUDECODE", *_REDIRECTING}
    base = {name: value for name, value in os.environ.items() if name not in dropped}
    return base | overlay
