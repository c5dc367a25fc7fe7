"""Settings: a bad value is one SettingsError line naming the variable, its value and
what is allowed; paths are made absolute where they are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tree.errors import SettingsError
from session_tree.service import Settings

VARIABLES = (
    "SESSION_TREE_DB",
    "SESSION_TREE_SYNCHRONOUS",
    "SESSION_TREE_CHAT_WAIT_S",
    "SESSION_TREE_MAX_CHILDREN",
    "SESSION_TREE_IDLE_TIMEOUT_S",
    "SESSION_TREE_MAX_DB_MB",
    "SESSION_TREE_PEER_CHECK_S",
    "SESSION_TREE_LEASE_S",
    "SESSION_TREE_HOST",
    "SESSION_TREE_LOOPBACK_TOKEN",
    "SESSION_TREE_NODE_CACHE_MB",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("SESSION_TREE_MAX_CHILDREN", "abc", "a whole number, 1 or more"),
        ("SESSION_TREE_MAX_CHILDREN", "0", "a whole number, 1 or more"),
        ("SESSION_TREE_MAX_CHILDREN", "2.5", "a whole number, 1 or more"),
        ("SESSION_TREE_SYNCHRONOUS", "OFF", "NORMAL or FULL"),
        ("SESSION_TREE_CHAT_WAIT_S", "-1", "greater than 0"),
        ("SESSION_TREE_CHAT_WAIT_S", "0", "greater than 0"),
        ("SESSION_TREE_IDLE_TIMEOUT_S", "nan", "0 or more"),
        ("SESSION_TREE_IDLE_TIMEOUT_S", "inf", "0 or more"),
        ("SESSION_TREE_MAX_DB_MB", "-3", "0 or more"),
        ("SESSION_TREE_MAX_DB_MB", "lots", "0 or more"),
        ("SESSION_TREE_LEASE_S", "0.5", "1 or more"),
        ("SESSION_TREE_HOST", "a/b", "a host name without '/'"),
        ("SESSION_TREE_HOST", "", "a host name without '/'"),
        ("SESSION_TREE_NODE_CACHE_MB", "-1", "a number of MiB, 0 or more"),
        ("SESSION_TREE_NODE_CACHE_MB", "256MB", "a number of MiB, 0 or more"),
        ("SESSION_TREE_NODE_CACHE_MB", "nan", "a number of MiB, 0 or more"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it_its_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "\n" not in message
    assert f"{variable}={value!r}" in message
    assert allowed in message
    assert caught.value.name == variable


def test_a_directory_as_the_database_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SESSION_TREE_DB", str(tmp_path))
    with pytest.raises(SettingsError, match=r"SESSION_TREE_DB=.*is a directory"):
        Settings.from_env()


def test_a_database_inside_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "plain").write_text("")
    monkeypatch.setenv("SESSION_TREE_DB", str(tmp_path / "plain" / "st.db"))
    with pytest.raises(SettingsError, match="which is a file"):
        Settings.from_env()


def test_a_bad_flag_is_named_as_the_flag(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^Bad setting --db="):
        Settings.from_env(db_path=str(tmp_path))


def test_direct_construction_raises_settings_error_too() -> None:
    with pytest.raises(SettingsError, match="SESSION_TREE_MAX_CHILDREN=0"):
        Settings(max_children=0)


def test_a_relative_database_path_is_made_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SESSION_TREE_DB", "st.db")
    assert Settings.from_env().db_path == tmp_path / "st.db"
    assert Settings.from_env(db_path="sub/../other.db").db_path == tmp_path / "other.db"


def test_a_database_path_under_home_is_expanded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SESSION_TREE_DB", "~/data/st.db")
    assert Settings.from_env().db_path == tmp_path / "home" / "data" / "st.db"


def test_good_values_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SESSION_TREE_SYNCHRONOUS", "full")
    monkeypatch.setenv("SESSION_TREE_MAX_CHILDREN", "3")
    monkeypatch.setenv("SESSION_TREE_IDLE_TIMEOUT_S", "0")
    monkeypatch.setenv("SESSION_TREE_CHAT_WAIT_S", "1.5")
    settings = Settings.from_env()
    assert (settings.synchronous, settings.max_children) == ("FULL", 3)
    assert (settings.idle_timeout_s, settings.chat_wait_s) == (0, 1.5)
    assert isinstance(settings.db_path, Path)
    assert settings.db_path.is_absolute()


def test_a_postgresql_url_is_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://st@db.example/sessions?sslmode=verify-full"
    monkeypatch.setenv("SESSION_TREE_DB", url)
    assert Settings.from_env().db_path == url
    assert Settings.from_env(db_path="relative.db").db_path == Path.cwd() / "relative.db"


def test_the_node_cache_is_256_mib_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().node_cache_mb == 256
    monkeypatch.setenv("SESSION_TREE_NODE_CACHE_MB", "0")
    assert Settings.from_env().node_cache_mb == 0
    monkeypatch.setenv("SESSION_TREE_NODE_CACHE_MB", "12.5")
    assert Settings.from_env().node_cache_mb == 12.5
