"""The ``session-tree`` command."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("session-tree: not implemented yet")
