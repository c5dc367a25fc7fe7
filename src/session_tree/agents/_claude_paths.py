"""Facts about Claude Code's own transcripts that the Agent SDK knows: the project key
a working directory's transcripts are mirrored under, and the bundled CLI's version.

They live here so that nothing outside ``agents/`` imports the SDK: the service's
transcript export and import take them from this module.
"""

from __future__ import annotations

from claude_agent_sdk import project_key_for_directory
from claude_agent_sdk._cli_version import __cli_version__

__all__ = ["cli_version", "project_key"]


def project_key(cwd: str) -> str:
    """The mirror's project key for transcripts of sessions run in ``cwd``."""
    return project_key_for_directory(cwd)


def cli_version() -> str:
    """The version of the ``claude`` binary the SDK bundles; transcripts record it."""
    return __cli_version__
