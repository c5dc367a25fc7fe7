"""SessionConfig refuses what cannot reach Claude Code, and makes its cwd absolute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from session_tree.models import STORED, SessionConfig


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("model", "claude\x00-sonnet", "NUL"),
        ("model", "claude\ud800", "lone surrogate"),
        ("model", "claude\n", "control character"),
        ("model", "claude sonnet", "one word"),
        ("system_prompt", "be brief\x00", "NUL"),
        ("system_prompt", "be \udfff brief", "lone surrogate"),
        ("allowed_tools", ["Read", "Bash(ls\x00)"], "rule 1"),
        ("allowed_tools", ["Bash(ls)\nBash(rm *)"], "control character"),
        ("disallowed_tools", ["Bash(rm:*)\r"], "control character"),
        ("cwd", "/tmp/\x00", "NUL"),
        ("env", {"A=B": "c"}, "no '='"),
        ("env", {"A": "c\x00"}, "NUL"),
    ],
)
def test_unsendable_text_is_refused_with_what_and_where(
    field: str, value: Any, problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.model_validate({field: value})
    (detail,) = caught.value.errors(include_url=False)
    assert detail["loc"][0] == field
    assert problem in detail["msg"]


def test_multiline_system_prompt_with_tabs_is_accepted() -> None:
    config = SessionConfig(system_prompt="line one\n\tline two\r\n")
    assert config.system_prompt == "line one\n\tline two\r\n"


def test_a_relative_cwd_is_made_absolute_against_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert SessionConfig(cwd="work").cwd == str(tmp_path / "work")
    assert SessionConfig(cwd="a/../b").cwd == str(tmp_path / "b")


def test_a_cwd_under_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert SessionConfig(cwd="~/project").cwd == str(tmp_path / "project")


def test_a_stored_config_is_read_back_even_when_it_would_now_be_refused() -> None:
    raw = '{"model": "bad\\u0000model", "allowed_tools": ["Read\\n"]}'
    config = SessionConfig.model_validate_json(raw, context=STORED)
    assert config.model == "bad\x00model"
    assert config.allowed_tools == ["Read\n"]


def test_a_changed_config_is_checked_again() -> None:
    stored = SessionConfig(model="sonnet")
    with pytest.raises(ValidationError, match="NUL"):
        SessionConfig.model_validate(stored.model_dump() | {"disallowed_tools": ["x\x00"]})
