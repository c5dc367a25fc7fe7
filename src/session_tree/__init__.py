"""session-tree: run, fork and supervise child Claude Code sessions over MCP.

Every conversation lives in a branching node store in SQLite: a session is a
named head on a tree of nodes, and a fork is another head on the same tree.
"""

from importlib.metadata import version as _version

__version__ = _version("session-tree")

__all__ = ["__version__"]
