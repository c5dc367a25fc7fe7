"""Which server process runs a turn, and whether it still does.

Several servers may share one database (a parent's, and the permit servers of
outside children, or two parents). A server that starts ends only the turns
whose server is gone: a stream records its runner as host, pid and the pid's
start time, so a pid reused by another process after a crash is not taken for
the server that died.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """When a process started (clock ticks since boot, Linux), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the parenthesised command name (which may hold spaces).
    return stat.rsplit(")", 1)[1].split()[19]


def this_runner() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{_start_time(os.getpid()) or '?'}"


def runner_alive(runner: str | None) -> bool:
    """Whether the server that wrote ``runner`` is still running. A runner from
    another host cannot be checked and counts as alive: its turns are not ours to end."""
    if runner is None:
        return False  # written before runners were recorded
    try:
        host, pid_text, started = runner.split("/")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    if pid == os.getpid():
        return False  # this very process, starting: an earlier life of a reused pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return started == "?" or _start_time(pid) in (started, None)
