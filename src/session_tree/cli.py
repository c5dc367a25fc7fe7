"""The ``session-tree`` command. ``serve`` (the default) runs the MCP server over stdio."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from .agents import clean_environment
from .server import build_server, run_stdio
from .service import Settings

log = logging.getLogger("session_tree.cli")


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS, so an option given before the subcommand is not reset by the
    # subcommand's own copy of it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help="database file (default: $SESSION_TREE_DB, else under the user data directory)",
    )
    common.add_argument(
        "--log-level", default=argparse.SUPPRESS, help="stderr log level (default WARNING)"
    )
    return common


def main(argv: Sequence[str] | None = None) -> None:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="session-tree", description=__doc__, parents=[common])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", parents=[common], help="run the MCP server over stdio (default)")
    args = parser.parse_args(argv)

    # stdout is the MCP channel: every log line goes to stderr.
    level = str(getattr(args, "log_level", "WARNING")).upper()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("session_tree").setLevel(level)
    settings = Settings.from_env(db_path=getattr(args, "db", None))
    if args.command in (None, "serve"):
        clean_environment()
        anyio.run(_serve, settings, backend="asyncio")


async def _serve(settings: Settings) -> None:
    """Serve until stdin closes, SIGTERM or SIGINT; each ends the same clean way: running
    turns recorded as interrupted, children stopped (the server's lifespan)."""
    server = build_server(settings)
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("%s received: shutting down", signal.Signals(signum).name)
                    stop.set()
                    return

        tg.start_soon(stop_on_signal)
        await run_stdio(server, stop=stop)
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    main()
