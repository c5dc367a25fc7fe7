"""Start claude so that it ends with the server that started it, on every OS.

A child is a process of its own: when the server is killed (kill -9, OOM), a
claude waiting on the model would otherwise run on, unseen. Children are
started through a tiny launcher script:

- On Linux it asks the kernel for SIGTERM when its parent dies
  (``PR_SET_PDEATHSIG``, which survives ``exec``) and then becomes claude. The
  kernel sends the signal when the *thread* that started the process ends:
  children are started from the event loop's thread, which lives as long as
  the server does. Starting them from a short-lived worker thread would kill
  them.
- Elsewhere (macOS, where most Claude Desktop users are) it stays as claude's
  parent and watches its own: when the server is gone (the launcher is
  re-parented), it ends claude, SIGTERM then SIGKILL. Signals the SDK sends the
  launcher are passed on to claude, and claude's exit status is the launcher's.
  ``SESSION_TREE_PARENT_WATCH=1`` forces this way on Linux too (tests use it).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import claude_agent_sdk

from ..errors import ChildUnavailable

_LAUNCHER = """#!{python}
import ctypes, os, signal, sys
parent = os.getppid()
ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    sys.exit(1)  # the server died before the request took hold
os.execv({claude!r}, [{claude!r}, *sys.argv[1:]])
"""


_WATCHER = """#!{python}
import os, signal, subprocess, sys, threading, time
parent = os.getppid()
claude = subprocess.Popen([{claude!r}, *sys.argv[1:]])
def forward(signum, frame):
    try:
        claude.send_signal(signum)
    except ProcessLookupError:
        pass
for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(number, forward)
def watch():
    while claude.poll() is None:
        if os.getppid() != parent:  # the server is gone: we were re-parented
            claude.terminate()
            try:
                claude.wait(5)
            except subprocess.TimeoutExpired:
                claude.kill()
            return
        time.sleep(0.2)
threading.Thread(target=watch, daemon=True).start()
code = claude.wait()
sys.exit(128 - code if code < 0 else code)
"""

# Forces the watching launcher where the kernel could tie children to the server.
PARENT_WATCH_VAR = "SESSION_TREE_PARENT_WATCH"

# Where the claude binary comes from when not the one bundled with the SDK.
CLAUDE_PATH_VAR = "SESSION_TREE_CLAUDE"


def claude_binary() -> str | None:
    """The claude binary children run: $SESSION_TREE_CLAUDE, else the one bundled
    with the Agent SDK, else the one on PATH."""
    if configured := os.environ.get(CLAUDE_PATH_VAR):
        return configured
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return str(bundled) if bundled.exists() else shutil.which("claude")


def checked_claude_binary() -> str:
    """:func:`claude_binary`, or :class:`ChildUnavailable` saying how to provide one."""
    binary = claude_binary()
    if binary is None:
        raise ChildUnavailable(
            "No claude binary: reinstall claude-agent-sdk (its wheel bundles one), put "
            f"claude on PATH, or set {CLAUDE_PATH_VAR} to its path."
        )
    source = f" ({CLAUDE_PATH_VAR})" if os.environ.get(CLAUDE_PATH_VAR) else ""
    fix = f"point {CLAUDE_PATH_VAR} at the claude binary, or unset it to use the bundled one"
    if not os.path.isfile(binary):
        raise ChildUnavailable(f"The claude binary {binary}{source} does not exist: {fix}.")
    if not os.access(binary, os.X_OK):
        raise ChildUnavailable(
            f"The claude binary {binary}{source} is not executable: chmod +x it, or {fix}."
        )
    return binary


def tied_to_this_process(claude: str) -> str:
    """A path that starts ``claude`` bound to end with this process."""
    watch = not sys.platform.startswith("linux") or os.environ.get(PARENT_WATCH_VAR) == "1"
    return _launcher(claude, watch=watch)


@functools.cache
def _launcher(claude: str, *, watch: bool) -> str:
    template = _WATCHER if watch else _LAUNCHER
    script = template.format(python=sys.executable, claude=claude)
    digest = hashlib.sha256(script.encode()).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / f"session-tree-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    if directory.stat().st_uid != os.getuid():
        return claude  # not ours: never run a file someone else could write
    launcher = directory / f"claude-{digest}"
    if not launcher.exists():
        staged = directory / f".claude-{digest}-{os.getpid()}"
        staged.write_text(script)
        staged.chmod(0o700)
        staged.replace(launcher)  # atomic: another server may be doing the same
    return str(launcher)


__all__ = [
    "CLAUDE_PATH_VAR",
    "PARENT_WATCH_VAR",
    "checked_claude_binary",
    "claude_binary",
    "tied_to_this_process",
]
