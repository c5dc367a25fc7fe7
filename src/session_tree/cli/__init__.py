"""The ``session-tree`` command. ``serve`` (the default) runs the MCP server over stdio;
``ui`` serves a live view in the browser; the other commands read the database from
the terminal, check the set-up, or run an offline demo."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from ..agents import clean_environment
from ..errors import SessionTreeError, SettingsError
from ..server import build_server, run_stdio
from ..service import Settings, open_library
from ..web import bind, serve_ui
from ._demo import demo
from ._doctor import doctor
from ._inspect import ls, render_branch, show, tree
from ._transcripts import export_file, import_file
from ._workspace_commands import apply, diff

log = logging.getLogger("session_tree.cli")


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS, so an option given before the subcommand is not reset by the
    # subcommand's own copy of it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        # A string: Path would fold the "//" of a postgresql:// URL (Settings decides which).
        type=str,
        default=argparse.SUPPRESS,
        help="database file, or a postgresql:// URL (default: $SESSION_TREE_DB, else under "
        "the user data directory)",
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
    commands.add_parser(
        "doctor", parents=[common], help="check the claude binary, credentials and database"
    )
    commands.add_parser("ls", parents=[common], help="list the sessions")
    for command, helped in (
        ("show", "a session: status, config, usage, recent turns"),
        ("tree", "draw a session's tree: every branch, heads and forks marked"),
    ):
        commands.add_parser(command, parents=[common], help=helped).add_argument("name")
    render = commands.add_parser("render", parents=[common], help="a branch as Claude API messages")
    render.add_argument("name")
    render.add_argument("--at", type=int, help="end at this node (default: the head)")
    render.add_argument("--json", action="store_true", help="the messages as JSON")
    export = commands.add_parser(
        "export", parents=[common], help="a branch as a Claude Code JSONL transcript"
    )
    export.add_argument("name")
    export.add_argument("--at", type=int, help="end at this node (default: the head)")
    export.add_argument(
        "-o", "--output", type=Path, help="file to write (default: where claude --resume finds it)"
    )
    imported = commands.add_parser(
        "import", parents=[common], help="a Claude Code JSONL transcript as a new session"
    )
    imported.add_argument("file", type=Path)
    imported.add_argument("--name", help="the new session's name (default: import-<id>)")
    changed = commands.add_parser(
        "diff", parents=[common], help="what a workspace session's turn or branch changed"
    )
    changed.add_argument("name")
    changed.add_argument("--at", type=int, help="a turn's summary node: that turn alone")
    changed.add_argument(
        "--against", choices=("fork", "head"), default="fork", help="fork point or your HEAD"
    )
    applied = commands.add_parser(
        "apply", parents=[common], help="a workspace session's result as a branch or patch"
    )
    applied.add_argument("name")
    target = applied.add_mutually_exclusive_group(required=True)
    target.add_argument("--branch", help="a new branch of your repository at its last turn")
    target.add_argument("--patch", help="a new patch file of its change (git apply takes it)")
    applied.add_argument(
        "--switch", action="store_true", help="switch to the new branch (refused when dirty)"
    )
    commands.add_parser(
        "demo", parents=[common], help="an offline demo with a scripted model (no API key)"
    )
    ui = commands.add_parser(
        "ui",
        parents=[common],
        help="a live view in the browser, on 127.0.0.1: sessions, trees, turns, approvals",
    )
    ui.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    args = parser.parse_args(argv)

    # stdout is the MCP channel: every log line goes to stderr.
    level = str(getattr(args, "log_level", "WARNING")).upper()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("session_tree").setLevel(level)
    try:
        settings = Settings.from_env(db_path=getattr(args, "db", None))
    except SettingsError as exc:
        # A usage error, as argparse's own are (exit 2): the line names the variable or
        # flag, its value and what it may be; a traceback would add nothing.
        sys.stderr.write(f"session-tree: {exc}\n")
        sys.exit(2)
    if args.command in (None, "serve"):
        clean_environment()
        try:
            anyio.run(_serve, settings, backend="asyncio")
        except BaseException as exc:
            # Found at start-up (the database cannot be used): one line saying what
            # to do, which the MCP client shows as the server's log, not a traceback.
            reason = _startup_error(exc)
            if reason is None:
                raise
            sys.stderr.write(f"session-tree serve: {reason}\n")
            sys.exit(1)
        return
    if args.command == "ui":
        sys.exit(_ui(settings, args.port))
    if args.command == "demo":
        clean_environment()
        sys.exit(anyio.run(demo, _say))
    try:
        output, status = anyio.run(_command, args, settings)
    except SessionTreeError as exc:
        sys.stderr.write(f"session-tree {args.command}: {exc}\n")
        sys.exit(1)
    _say(output)
    sys.exit(status)


def _ui(settings: Settings, port: int) -> int:
    """Serve the browser view until SIGINT or SIGTERM; its address (with the token) is
    the one line of output."""
    try:
        sock = bind(port)
    except OSError as exc:
        sys.stderr.write(
            f"session-tree ui: cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
            "choose another --port, or leave it out for any free one.\n"
        )
        return 1
    if isinstance(settings.db_path, Path) and not settings.db_path.exists():
        # A viewer must not make an empty database where none was (as `ls` does not):
        # a wrong path would show nothing, and servers elsewhere would never appear.
        # (A PostgreSQL URL names a database its administrator made.)
        sock.close()
        sys.stderr.write(
            f"session-tree ui: no database at {settings.db_path}. Name the servers' "
            "database with --db or SESSION_TREE_DB, or start a server on it first "
            "(it creates one).\n"
        )
        return 1
    try:
        anyio.run(serve_ui, settings, sock, lambda url: _say(f"session-tree ui: {url}"))
    except BaseException as exc:
        reason = _startup_error(exc)
        if reason is None:
            raise
        sys.stderr.write(f"session-tree ui: {reason}\n")
        return 1
    finally:
        sock.close()
    return 0


def _startup_error(exc: BaseException) -> SessionTreeError | None:
    """The SessionTreeError that ended the server, however deep in task groups."""
    if isinstance(exc, SessionTreeError):
        return exc
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _startup_error(exc.exceptions[0])
    return None


def _say(line: str) -> None:
    """The CLI's own output (never the server's: its stdout is the MCP channel)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _command(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    if args.command == "doctor":
        return await doctor(settings)
    if args.command == "import":
        async with open_library(
            settings.db_path, writable=True, synchronous=settings.synchronous
        ) as library:
            return await import_file(library, args.file, name=args.name), 0
    if isinstance(settings.db_path, Path) and not settings.db_path.exists():
        # Reading must not create a database where none was.
        return f"No database at {settings.db_path} yet: nothing to show.", 0
    # Reading only: a database this user cannot write can still be read.
    async with open_library(settings.db_path, writable=False) as library:
        if args.command == "ls":
            return await ls(library), 0
        if args.command == "show":
            return await show(library, args.name), 0
        if args.command == "tree":
            return await tree(library, args.name), 0
        if args.command == "render":
            return await render_branch(library, args.name, at=args.at, as_json=args.json), 0
        if args.command == "diff":
            return await diff(library, args.name, at=args.at, against=args.against), 0
        if args.command == "apply":
            done = await apply(
                library, args.name, branch=args.branch, switch=args.switch, patch_file=args.patch
            )
            return done, 0
        if args.command == "export":
            return await export_file(library, args.name, at=args.at, output=args.output), 0
    raise AssertionError(f"unhandled command {args.command}")


async def _serve(settings: Settings) -> None:
    """Serve until stdin closes, SIGTERM or SIGINT; each ends the same clean way: running
    turns recorded as interrupted, children stopped (the server's lifespan)."""
    server = build_server(settings)
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:

        async def stop_on_signal() -> None:
            # Kept open until the server has stopped: Claude Code sends SIGINT, then
            # SIGTERM 100 ms later; the second must not cut the shutdown the first began
            # (each of its steps is bounded, and SIGKILL follows 400 ms on anyway).
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if stop.is_set():
                        log.info("%s received: already shutting down", name)
                        continue
                    log.info("%s received: shutting down", name)
                    stop.set()

        tg.start_soon(stop_on_signal)
        await run_stdio(server, stop=stop)
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    main()
