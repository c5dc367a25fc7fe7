"""The ``session-tree`` command line, run as a user runs it: a subprocess on a real database."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from session_tree.cli._drawing import draw_tree
from session_tree.errors import InvalidArgument, NodeNotInTree
from session_tree.models import NewNode, NodeKind, TreeNode, TreeView
from session_tree.service import open_library
from session_tree.store import Store

pytestmark = pytest.mark.anyio


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "session_tree.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def node(id: int, parent: int | None, kind: NodeKind, preview: str = "") -> TreeNode:
    return TreeNode(id=id, parent_id=parent, kind=kind, ephemeral=False, depth=0, preview=preview)


def test_a_tree_indents_only_at_branch_points_and_marks_heads() -> None:
    view = TreeView(
        tree_id=1,
        nodes=[
            node(1, None, NodeKind.ROOT, "{}"),
            node(2, 1, NodeKind.USER, "q1"),
            node(3, 2, NodeKind.TEXT, "a1"),
            node(4, 3, NodeKind.SUMMARY),
            node(5, 4, NodeKind.USER, "left"),
            node(6, 4, NodeKind.USER, "right " + "x" * 500),
        ],
        heads={"main": 5, "alt": 6, "also-main": 5},
    )

    lines = draw_tree(view, width=60, only="main")

    assert lines[:4] == ["[1] root", "[2] user: q1", "[3] assistant: a1", "[4] turn end"]
    assert lines[4] == "├─ [5] user: left  ◀ also-main  ◀◀ main"
    assert lines[5].startswith("└─ [6] user: right xxx")
    assert lines[5].endswith("…  ◀ alt")
    assert len(lines[5]) <= 60


def test_a_very_long_conversation_draws_without_recursion() -> None:
    nodes = [node(1, None, NodeKind.ROOT)] + [
        node(i, i - 1, NodeKind.USER, f"m{i}") for i in range(2, 20_002)
    ]
    lines = draw_tree(TreeView(tree_id=1, nodes=nodes, heads={"main": 20_001}))
    assert len(lines) == 20_001
    assert lines[-1] == "[20001] user: m20001  ◀ main"


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    async with Store.open(path) as store:
        main = await store.sessions.create("main")
        q = await store.nodes.append(main.head_id, NewNode(kind=NodeKind.USER, data={"text": "q1"}))
        a = await store.nodes.append(q.id, NewNode(kind=NodeKind.TEXT, data={"text": "a1"}))
        await store.sessions.set_head("main", a.id)
        await store.sessions.fork("main", "alt", at=q.id)
    return path


async def test_ls_show_tree_and_render_read_the_database(database: Path) -> None:
    listed = run("--db", str(database), "ls")
    shown = run("--db", str(database), "show", "alt")
    drawn = run("--db", str(database), "tree", "main")
    rendered = run("--db", str(database), "render", "main", "--json")
    as_text = run("--db", str(database), "render", "main")

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == [
        "NAME",
        "STATUS",
        "TURNS",
        "HEAD",
        "FORKED",
        "FROM",
        "UPDATED",
    ]
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["alt", "main"]
    assert "forked from   main at node" in shown.stdout
    assert drawn.returncode == 0
    assert "◀◀ main" in drawn.stdout
    assert "◀ alt" in drawn.stdout
    assert json.loads(rendered.stdout) == [
        {"role": "user", "content": [{"type": "text", "text": "q1"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
    ]
    assert as_text.stdout.strip() == "## user\nq1\n\n## assistant\na1"


async def test_an_unknown_session_or_node_is_a_clear_error(database: Path) -> None:
    missing = run("--db", str(database), "show", "nope")
    elsewhere = run("--db", str(database), "render", "main", "--at", "999")

    assert missing.returncode == 1
    assert "No session named 'nope'. Sessions that exist: alt, main." in missing.stderr
    assert missing.stdout == ""
    assert elsewhere.returncode == 1
    assert "999" in elsewhere.stderr


async def test_render_at_a_node_of_another_tree_says_how_to_see_the_nodes(
    database: Path,
) -> None:
    async with Store.open(database) as store:
        other = await store.sessions.create("other")

    elsewhere = run("--db", str(database), "render", "main", "--at", str(other.head_id))

    assert elsewhere.returncode == 1
    assert elsewhere.stderr.splitlines() == [
        f"session-tree render: Node {other.head_id} is not in the tree of session 'main'; "
        "see: session-tree tree main"
    ]
    assert elsewhere.stdout == ""


async def test_the_library_renders_a_branch_from_an_ancestor_and_refuses_another_tree(
    database: Path,
) -> None:
    async with Store.open(database) as store:
        main = await store.sessions.get("main")
        answer = (await store.nodes.path(main.head_id))[-1]
        other = await store.sessions.create("other")

    async with open_library(database, writable=False) as library:
        whole = await library.render("main")
        tail = await library.render("main", start=answer.id)
        alt = await library.render("alt")
        with pytest.raises(NodeNotInTree) as refused:
            await library.render("main", at=other.head_id)

    assert [(m.role, m.content) for m in whole] == [
        ("user", [{"type": "text", "text": "q1"}]),
        ("assistant", [{"type": "text", "text": "a1"}]),
    ]
    assert [m.role for m in tail] == ["assistant"]
    assert [m.role for m in alt] == ["user"]
    assert isinstance(refused.value, InvalidArgument)
    assert (refused.value.node_id, refused.value.session) == (other.head_id, "main")
    assert str(refused.value) == (f"Node {other.head_id} is not in the tree of session 'main'.")


@pytest.mark.parametrize("command", ["ls", "serve", "doctor"])
def test_a_bad_setting_is_one_line_on_stderr_and_exit_2(tmp_path: Path, command: str) -> None:
    env = os.environ | {
        "SESSION_TREE_DB": str(tmp_path / "s.db"),
        "SESSION_TREE_MAX_CHILDREN": "lots",
    }

    result = run(command, env=env)

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "session-tree: Bad setting SESSION_TREE_MAX_CHILDREN='lots': it must be "
    )
    assert not (tmp_path / "s.db").exists()


def test_reading_commands_do_not_create_a_database(tmp_path: Path) -> None:
    result = run("--db", str(tmp_path / "none.db"), "ls")
    assert result.returncode == 0
    assert "No database at" in result.stdout
    assert not (tmp_path / "none.db").exists()


def _doctor_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "CLAUDE_", "SESSION_TREE_"))
    }
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return env | {"HOME": str(home), "SESSION_TREE_DB": str(tmp_path / "d.db")} | extra


def test_doctor_passes_on_a_ready_machine_and_never_prints_the_key(tmp_path: Path) -> None:
    result = run("doctor", env=_doctor_env(tmp_path, ANTHROPIC_API_KEY="sk-secret-value"))

    assert result.returncode == 0, result.stdout
    assert "ok    claude binary:" in result.stdout
    assert "ok    credentials: ANTHROPIC_API_KEY is set" in result.stdout
    assert "ok    database:" in result.stdout
    assert "ok    workspaces:" in result.stdout
    assert "sk-secret-value" not in result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("ready")


def test_doctor_fails_with_the_fix_for_each_missing_piece(tmp_path: Path) -> None:
    env = _doctor_env(tmp_path, SESSION_TREE_CLAUDE=str(tmp_path / "no-claude"))

    result = run("doctor", env=env)

    assert result.returncode == 2
    assert "FAIL  claude binary:" in result.stdout
    assert "point SESSION_TREE_CLAUDE at the claude binary" in result.stdout
    assert "FAIL  credentials: none found: set ANTHROPIC_API_KEY" in result.stdout
    assert "2 problem(s)" in result.stdout


def test_doctor_names_a_stray_worktree_beside_the_database(tmp_path: Path) -> None:
    stray = tmp_path / "d.db.workspaces" / "left-behind"
    stray.mkdir(parents=True)

    result = run("doctor", env=_doctor_env(tmp_path, ANTHROPIC_API_KEY="k"))

    assert result.returncode == 1, result.stdout
    assert f"FAIL  workspaces: stray worktree {stray} (no session has it)" in result.stdout
    assert "git worktree remove" in result.stdout


@pytest.mark.parametrize("stdin", ["devnull", "closed-pipe"])
def test_serve_ends_cleanly_when_its_input_ends(tmp_path: Path, stdin: str) -> None:
    """/dev/null cannot be waited on by the event loop; a pipe can: both end the server."""
    command = [sys.executable, "-m", "session_tree.cli", "--db", str(tmp_path / "s.db"), "serve"]
    if stdin == "devnull":
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False
        )
    else:
        result = subprocess.run(command, input=b"", capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout == b""


async def test_export_then_import_gives_the_same_branch(database: Path, tmp_path: Path) -> None:
    transcript = tmp_path / "main.jsonl"

    exported = run("--db", str(database), "export", "main", "-o", str(transcript))
    imported = run("--db", str(database), "import", str(transcript), "--name", "copy")
    original = run("--db", str(database), "render", "main", "--json")
    copy = run("--db", str(database), "render", "copy", "--json")
    again = run("--db", str(database), "import", str(transcript), "--name", "copy")

    assert exported.returncode == 0, exported.stderr
    assert f"to {transcript}" in exported.stdout
    assert imported.returncode == 0, imported.stderr
    assert "as session 'copy'" in imported.stdout
    assert json.loads(copy.stdout) == json.loads(original.stdout)
    assert again.returncode == 1
    assert "already exists" in again.stderr


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root (who ignores file modes): immutable."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"running as root, and chattr +i is refused here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


async def test_a_database_it_cannot_write_is_read_but_not_served(
    database: Path, tmp_path: Path
) -> None:
    before = await anyio.Path(database).read_bytes()
    transcript = tmp_path / "t.jsonl"
    assert run("--db", str(database), "export", "main", "-o", str(transcript)).returncode == 0

    with read_only(database):
        listed = run("--db", str(database), "ls")
        rendered = run("--db", str(database), "render", "main")
        served = run("--db", str(database), "serve")
        imported = run("--db", str(database), "import", str(transcript))
        doctored = run("--db", str(database), "doctor")

    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["alt", "main"]
    assert rendered.stdout.strip() == "## user\nq1\n\n## assistant\na1"
    assert served.returncode == 1
    assert served.stdout == ""
    assert served.stderr.splitlines() == [
        f"session-tree serve: Cannot write to {database} (attempt to write a readonly "
        "database). session-tree writes every turn to it: make the file and its directory "
        "writable (or free disk space), or point --db (or SESSION_TREE_DB) at a file it can "
        "write."
    ]
    assert imported.returncode == 1
    assert f"Cannot write to {database}" in imported.stderr
    assert "Traceback" not in imported.stderr
    assert f"FAIL  database: Cannot write to {database}" in doctored.stdout
    # Nothing was written, and the file is whole and usable again.
    assert await anyio.Path(database).read_bytes() == before
    async with Store.open(database) as store:
        assert await store.sessions.names() == ["alt", "main"]
        row = await store.db.one("PRAGMA integrity_check")
        assert row is not None
        assert row[0] == "ok"


def test_serve_refuses_a_file_that_is_not_its_database_in_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")

    served = run("--db", str(notes), "serve")

    assert served.returncode == 1
    assert served.stderr.splitlines() == [
        f"session-tree serve: {notes} is not a session-tree database (file is not a database). "
        "Point --db (or SESSION_TREE_DB) at a new file or an existing session-tree database."
    ]
    assert notes.read_text() == "my notes\n"
