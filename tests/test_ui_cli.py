"""``session-tree ui`` from the command line: what it says when it cannot start, and
that its address line is all it prints."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
from pathlib import Path

import httpx


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


def test_a_missing_database_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "st.db"
    done = subprocess.run(
        [sys.executable, "-m", "session_tree.cli", "ui", "--port", "0"],
        env={"SESSION_TREE_DB": str(missing), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"no database at {missing}" in done.stderr
    assert "--db or SESSION_TREE_DB" in done.stderr
    assert not missing.exists()
    assert not missing.parent.exists()


def test_the_token_is_printed_once_and_nothing_else_goes_to_stdout(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    db.touch()  # an empty file is an empty SQLite database: the ui migrates it
    process = subprocess.Popen(
        [sys.executable, "-m", "session_tree.cli", "ui", "--port", "0", "--log-level", "DEBUG"],
        env={"SESSION_TREE_DB": str(db), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "session-tree ui printed no address within 30 s"
        line = process.stdout.readline()
        assert line.startswith("session-tree ui: http://127.0.0.1:"), line
        url = line.removeprefix("session-tree ui: ").strip()
        base, _, token = url.partition("/?token=")
        with httpx.Client(base_url=base) as client:
            assert client.get(f"/s/nope?token={token}").status_code == 303
            assert client.get("/", headers={"cookie": "x=1"}).status_code == 401
            bearer = {"authorization": f"Bearer {token}"}
            assert client.get("/s/nope", headers=bearer).status_code == 404
            assert client.get("/s/x/render?at=q", headers=bearer).status_code == 400
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert out == ""
    assert token not in err
