"""A newcomer's first minutes, as the README tells them: a fresh checkout, the two
quick-start commands as written, then ``session-tree doctor`` and ``session-tree demo``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def quick_start_commands() -> tuple[str, str]:
    """The README's two set-up commands: the ``sh`` blocks of its Quick start (before
    any subsection)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start\n", 1)[1].split("\n#", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(blocks) == 2, f"the Quick start must hold exactly two commands, found {blocks}"
    return blocks[0].strip(), blocks[1].strip()


def fresh_checkout(target: Path) -> Path:
    """The repository's tracked files, as a clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def sh(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # serve ends when its stdin closes
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_readme_quick_start_then_doctor_and_demo(tmp_path: Path) -> None:
    serve_command, test_command = quick_start_commands()
    checkout = fresh_checkout(tmp_path / "session-tree")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "CLAUDE_", "SESSION_TREE_", "VIRTUAL_ENV"))
    } | {"HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    served = sh(serve_command, checkout, env)
    assert served.returncode == 0, served.stderr[-3000:]
    assert (home / ".local/share/session-tree/session-tree.db").exists()

    # The test command as written; its pytest only collects here (the run would be
    # this suite inside itself). The script passes its arguments on to pytest.
    assert test_command == "bash scripts/test", test_command
    collected = sh(f"{test_command} --collect-only -q", checkout, env)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert re.search(r"^\d+ tests collected", collected.stdout, flags=re.MULTILINE)

    # Credentials come from the environment the server runs in; the demo needs none.
    doctor = sh(".venv/bin/session-tree doctor", checkout, env | {"ANTHROPIC_API_KEY": "sk-x"})
    assert doctor.returncode == 0, doctor.stdout
    assert doctor.stdout.rstrip().endswith("ready")

    demo = sh(".venv/bin/session-tree demo", checkout, env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "turn end  ◀◀ researcher" in demo.stdout
    assert "◀ researcher-alt" in demo.stdout
