"""Which server process runs a turn, and whether it still does, on this host.

Several servers may share one database (a parent's, and the permit servers of
outside children, or two parents, on one machine or several). Across machines
only a lease says a server is alive (``store._leases``); on its own host a
server can prove sooner that another is gone: a lease holder and a stream's
runner record host, pid and the pid's start time, so a pid reused by another
process after a crash is not taken for the server that died. The host is
``socket.gethostname()`` unless ``SESSION_TREE_HOST`` names it (two servers on
one machine that must treat each other as remote, as tests do).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ..store import Holder


def _start_time(pid: int) -> str | None:
    """When a process started (clock ticks since boot, Linux), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the parenthesised command name (which may hold spaces).
    return stat.rsplit(")", 1)[1].split()[19]


def this_runner(host: str | None = None) -> str:
    return f"{host or socket.gethostname()}/{os.getpid()}/{_start_time(os.getpid()) or '?'}"


def this_holder(host: str) -> Holder:
    """What this process's lease records about it."""
    return Holder(host=host, pid=os.getpid(), pid_started=_start_time(os.getpid()))


def holder_gone(holder: Holder, host: str) -> bool:
    """Whether a lease's holder is known to be gone: it ran on this host and its
    process has ended. Elsewhere only its lease's expiry can say so."""
    if holder.host != host:
        return False
    return not runner_alive(f"{holder.host}/{holder.pid}/{holder.pid_started or '?'}", host)


def runner_alive(runner: str | None, host: str | None = None) -> bool:
    """Whether the server that wrote ``runner`` is still running. A runner from
    another host cannot be checked and counts as alive: its turns are not ours to end."""
    if runner is None:
        return False  # written before runners were recorded
    try:
        runner_host, pid_text, started = runner.split("/")
        pid = int(pid_text)
    except ValueError:
        return False
    if runner_host != (host or socket.gethostname()):
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
