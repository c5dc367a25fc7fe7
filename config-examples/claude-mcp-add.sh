#!/bin/sh
# Add session-tree to Claude Code. Replace /path/to/session-tree with the
# checkout where you ran `python3 -m venv .venv && .venv/bin/pip install -e .`.
# Pick one of the three lines; `claude mcp list` shows the result.
set -eu

# For you, in this project only (Claude Code's default scope, "local"):
claude mcp add session-tree -- /path/to/session-tree/.venv/bin/session-tree serve

# For you, in every project:
# claude mcp add --scope user session-tree -- /path/to/session-tree/.venv/bin/session-tree serve

# For everyone working on this project: writes .mcp.json in the project root
# (the same as config-examples/.mcp.json), to commit. Claude Code asks each
# person to approve it once. -e sets variables for the server (options go
# after the name: -e takes several values).
# claude mcp add --scope project session-tree -e SESSION_TREE_DB=/path/to/session-tree.db -- /path/to/session-tree/.venv/bin/session-tree serve
