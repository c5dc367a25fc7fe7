"""README's tool reference is the one the code generates."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest
from mcp_types import Tool

from session_tree.docs import (
    END,
    REGENERATE,
    START,
    list_tools,
    main,
    replace_block,
    tool_reference,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def reference() -> str:
    return tool_reference()


@pytest.fixture(scope="module")
def tools() -> list[Tool]:
    return list_tools()


def test_readme_tool_reference_is_what_the_tools_generate(reference: str) -> None:
    readme = README.read_text(encoding="utf-8")
    expected = replace_block(readme, reference)
    if expected != readme:
        diff = "".join(
            difflib.unified_diff(
                readme.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                "README.md",
                "generated",
                n=1,
            )
        )
        pytest.fail(
            f"README.md's tool reference differs from the tools' schemas: "
            f"run `{REGENERATE}`.\n{diff[:4000]}"
        )


def test_the_reference_has_a_section_and_a_row_for_every_tool_and_parameter(
    reference: str, tools: list[Tool]
) -> None:
    assert len(tools) > 10
    for tool in tools:
        assert f"\n### `{tool.name}`\n" in reference
        assert f"| [`{tool.name}`](#{tool.name}) |" in reference
        section = reference.split(f"### `{tool.name}`\n", 1)[1].split("\n### ", 1)[0]
        for parameter in tool.input_schema.get("properties", {}):
            assert f"\n| `{parameter}` |" in section, (tool.name, parameter)


def test_the_reference_shows_required_defaults_and_constraints(reference: str) -> None:
    chat = reference.split("### `chat`\n", 1)[1].split("\n### ", 1)[0]
    assert "| `prompt` | string | required | 1 to 1,000,000 chars |" in chat
    assert "| `ephemeral` | boolean | default `false` |" in chat
    respond = reference.split("### `loopback_respond`\n", 1)[1].split("\n### ", 1)[0]
    assert "one of `allow`, `deny`" in respond


def test_building_the_reference_opens_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert tool_reference()
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_only_the_text_between_the_markers(tmp_path: Path, reference: str) -> None:
    target = tmp_path / "README.md"
    target.write_text(f"# Title\n\nbefore\n\n{START}\nstale\n{END}\n\nafter\n")

    assert main(["--write", str(target)]) == 0

    text = target.read_text()
    assert text.startswith(f"# Title\n\nbefore\n\n{START}\n")
    assert text.endswith(f"\n{END}\n\nafter\n")
    assert "stale" not in text
    assert reference in text
    assert main(["--check", str(target)]) == 0


def test_check_fails_on_a_stale_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "README.md"
    target.write_text(f"{START}\nstale\n{END}\n")

    assert main(["--check", str(target)]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert "stale" in target.read_text()


def test_missing_markers_are_an_error_that_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "README.md"
    target.write_text("no markers here\n")

    assert main(["--write", str(target)]) == 2
    assert START in capsys.readouterr().err
    assert target.read_text() == "no markers here\n"


def test_python_m_session_tree_docs_prints_the_reference(reference: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "session_tree.docs"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == reference
