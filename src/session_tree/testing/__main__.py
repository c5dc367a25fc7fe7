"""`python -m session_tree.testing`: a scripted model as a standalone process.

Prints its base URL as the only line on stdout, then serves until stdin
reaches end of file (the parent closed the pipe or exited) or SIGTERM/SIGINT.
With no script every conversation turn is answered `ok: <last user text>`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from ._replies import text
from ._server import ScriptedModel


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m session_tree.testing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--api-key", help="accept only this x-api-key (default: any)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before first byte")
    parser.add_argument(
        "--reply", action="append", default=[], help="a scripted text reply; repeat for more"
    )
    parser.add_argument(
        "--ignore-stdin",
        action="store_true",
        help="serve until a signal only (for `&` in scripts, where stdin is /dev/null)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    replies = [text(reply) for reply in args.reply]
    with ScriptedModel(replies, api_key=args.api_key, latency_s=args.latency, port=args.port) as m:
        sys.stdout.write(m.base_url + "\n")
        sys.stdout.flush()
        if not args.ignore_stdin:
            threading.Thread(target=_wait_for_eof, args=(stop,), daemon=True).start()
        # A timed wait keeps the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    return 0


def _wait_for_eof(stop: threading.Event) -> None:
    try:
        while os.read(sys.stdin.fileno(), 65536):
            pass
    except (OSError, ValueError, AttributeError):
        pass  # no usable stdin counts as closed
    stop.set()


if __name__ == "__main__":
    sys.exit(main())
