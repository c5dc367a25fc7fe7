"""``session-tree ui`` from the command line: what it says when it cannot listen."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_a_port_in_use_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "session_tree.cli", "ui", "--port", str(port)],
            env={"SESSION_TREE_DB": str(tmp_path / "st.db"), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "choose another --port" in done.stderr
    assert not (tmp_path / "st.db").exists()
