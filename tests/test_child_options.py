"""A session's child options reach the Claude Agent SDK as they should, and bad ones
are refused when the config is built, with what is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from session_tree.agents._options import build_options
from session_tree.errors import InvalidArgument
from session_tree.models import STORED, Session, SessionConfig
from session_tree.service._mcp_servers import failed_servers, masked, unmasked


def options(**config: object) -> dict[str, object]:
    built = build_options(SessionConfig.model_validate(config), resume=None, transcripts=None)
    return vars(built)


def test_children_load_no_settings_files_and_no_mcp_servers_of_the_machine_by_default() -> None:
    built = options()
    assert built["setting_sources"] == []
    assert built["strict_mcp_config"] is True
    assert built["mcp_servers"] == {}
    assert built["sandbox"] is None
    assert built["thinking"] is None


def test_mcp_servers_reach_the_sdk_by_kind() -> None:
    built = options(
        mcp_servers={
            "local": {"command": "python", "args": ["server.py"], "env": {"TOKEN": "t"}},
            "remote": {"url": "https://example.invalid/mcp", "headers": {"X-Key": "k"}},
            "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
        }
    )
    assert built["mcp_servers"] == {
        "local": {
            "type": "stdio",
            "command": "python",
            "args": ["server.py"],
            "env": {"TOKEN": "t"},
        },
        "remote": {"type": "http", "url": "https://example.invalid/mcp", "headers": {"X-Key": "k"}},
        "old": {"type": "sse", "url": "http://127.0.0.1:9/sse", "headers": {}},
    }


def test_opted_in_settings_and_options_reach_the_sdk() -> None:
    built = options(
        setting_sources=["project", "local"],
        add_dirs=["/srv/data"],
        effort="low",
        thinking_tokens=2048,
        fallback_model="sonnet",
        env={"LANG": "C"},
    )
    assert built["setting_sources"] == ["project", "local"]
    assert built["add_dirs"] == ["/srv/data"]
    assert built["effort"] == "low"
    assert built["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert built["fallback_model"] == "sonnet"
    assert built["env"] == {"LANG": "C"}
    assert options(thinking_tokens=0)["thinking"] == {"type": "disabled"}


def test_sandbox_settings_reach_claude_code_in_its_own_spelling() -> None:
    built = options(
        sandbox={
            "excluded_commands": ["git"],
            "auto_allow_bash_if_sandboxed": False,
            "network": {"allowed_domains": ["example.com"], "allow_local_binding": True},
        }
    )
    assert built["sandbox"] == {
        "enabled": True,
        "excludedCommands": ["git"],
        "autoAllowBashIfSandboxed": False,
        "network": {"allowedDomains": ["example.com"], "allowLocalBinding": True},
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"mcp_servers": {"a b": {"command": "x"}}}, "server name"),
        ({"mcp_servers": {"a__b": {"command": "x"}}}, "no '__'"),
        ({"mcp_servers": {"s": {"command": "x\x00"}}}, "NUL"),
        ({"mcp_servers": {"s": {"command": "x", "args": ["\ud800"]}}}, "lone surrogate"),
        ({"mcp_servers": {"s": {"command": "x", "env": {"A=B": "1"}}}}, "has no '='"),
        ({"mcp_servers": {"s": {"url": "file:///etc/passwd"}}}, "not an http"),
        ({"mcp_servers": {"s": {"url": "https://h", "headers": {"Bad Name": "v"}}}}, "header name"),
        ({"mcp_servers": {"s": {"url": "https://h", "headers": {"A": "v\r\nB: w"}}}}, "control"),
        ({"mcp_servers": {"s": {"command": ""}}}, "at least 1 character"),
        ({"setting_sources": ["global"]}, "'user', 'project' or 'local'"),
        ({"effort": "huge"}, "'low'"),
        ({"thinking_tokens": -1}, "greater than or equal to 0"),
        ({"fallback_model": "two words"}, "one word"),
        ({"add_dirs": ["/tmp/a\x00b"]}, "NUL"),
        ({"sandbox": {"excluded_commands": ["git\n"]}}, "control"),
        ({"sandbox": {"network": {"http_proxy_port": 70000}}}, "less than or equal to 65535"),
        ({"sandbox": {"unknown": True}}, "Extra inputs"),
    ],
)
def test_bad_options_are_refused_with_what_is_wrong(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        SessionConfig.model_validate(config)


def test_a_stored_config_is_read_back_whatever_it_holds() -> None:
    stored = {"mcp_servers": {"two words": {"command": "x\x00"}}, "fallback_model": "a b"}
    config = SessionConfig.model_validate(stored, context=STORED)
    assert config.mcp_servers["two words"].type == "stdio"


def test_masked_hides_env_header_and_url_secrets_and_keeps_the_rest() -> None:
    config = SessionConfig(
        env={"TOKEN": "a"},
        mcp_servers={
            "local": {"command": "python", "args": ["--flag"], "env": {"KEY": "b"}},
            "remote": {"url": "https://me:pw@h.invalid/mcp?x=1", "headers": {"Auth": "c"}},
        },
    )
    session = Session(
        id=1, name="s", tree_id=1, head_id=1, config=config, created_at=0, updated_at=0
    )
    shown = masked(session).config.model_dump()
    assert shown["env"] == {"TOKEN": "***"}
    assert shown["mcp_servers"]["local"] == {
        "type": "stdio",
        "command": "python",
        "args": ["--flag"],
        "env": {"KEY": "***"},
    }
    assert shown["mcp_servers"]["remote"]["url"] == "https://me:***@h.invalid/mcp?x=1"
    assert shown["mcp_servers"]["remote"]["headers"] == {"Auth": "***"}
    assert session.config.env == {"TOKEN": "a"}


def test_failed_servers_are_read_from_an_init_message() -> None:
    init = {
        "mcp_servers": [{"name": "a", "status": "failed"}, {"name": "b", "status": "connected"}]
    }
    assert failed_servers(init) == ["a"]
    assert failed_servers(None) == []


def test_unmasked_puts_back_the_stored_secret_behind_each_mask_and_refuses_the_rest() -> None:
    current = SessionConfig(
        env={"TOKEN": "a"},
        mcp_servers={
            "remote": {"url": "https://me:pw@h.invalid/mcp", "headers": {"Auth": "c"}},
        },
    )
    sent = masked(
        Session(id=1, name="s", tree_id=1, head_id=1, config=current, created_at=0, updated_at=0)
    ).config.model_dump()
    found = unmasked(
        {"env": sent["env"] | {"NEW": "n"}, "mcp_servers": sent["mcp_servers"]}, current, "s"
    )
    assert found["env"] == {"TOKEN": "a", "NEW": "n"}
    assert found["mcp_servers"] == current.mcp_servers
    moved = {"remote": {"url": "https://me:***@elsewhere.invalid/mcp"}}
    with pytest.raises(InvalidArgument, match=r"mcp_servers\['remote'\]\.url's password is \*\*\*"):
        unmasked({"mcp_servers": moved}, current, "s")
    with pytest.raises(InvalidArgument, match=r"headers\['Other'\] is \*\*\*"):
        unmasked(
            {"mcp_servers": {"remote": {"url": "https://h.invalid/", "headers": {"Other": "***"}}}},
            current,
            "s",
        )
