"""The files in config-examples/ (and README's worked example) match the real program:
its console script, its ``serve`` subcommand, its tools and their arguments."""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from mcp_types import Tool

from session_tree.agents import claude_binary
from session_tree.docs import list_tools
from session_tree.testing import ScriptedModel, child_env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "config-examples"
SERVER_ENTRIES = ["claude_desktop_config.json", ".mcp.json"]
PROMPT = EXAMPLES / "parent-system-prompt.md"
ADD_SCRIPT = EXAMPLES / "claude-mcp-add.sh"
SERVER_NAME = "session-tree"

# What the parent prompt must teach (the brief of config-examples/parent-system-prompt.md).
TAUGHT = [
    "create",
    "chat",
    "chat_async",
    "poll",
    "fork",
    "render_context",
    "loopback_pending",
    "loopback_respond",
    "interrupt",
    "delete",
]


@pytest.fixture(scope="module")
def tools() -> dict[str, Tool]:
    return {tool.name: tool for tool in list_tools()}


def console_script() -> tuple[str, str]:
    """The ``session-tree`` console script in pyproject.toml: its name and target."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts: dict[str, str] = pyproject["project"]["scripts"]
    assert SERVER_NAME in scripts, scripts
    return SERVER_NAME, scripts[SERVER_NAME]


def server_entry(filename: str) -> dict[str, Any]:
    config = json.loads((EXAMPLES / filename).read_text(encoding="utf-8"))
    entry: dict[str, Any] = config["mcpServers"][SERVER_NAME]
    return entry


def add_commands() -> list[list[str]]:
    """Every ``claude mcp add`` line in the script, commented out or not, as argv."""
    commands = []
    for line in ADD_SCRIPT.read_text(encoding="utf-8").splitlines():
        line = line.removeprefix("#").strip()
        if line.startswith("claude mcp add "):
            commands.append(shlex.split(line))
    return commands


def split_add(argv: list[str]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """``claude mcp add [options] <name> -- <command> [args...]``: options, names, command."""
    assert argv[:3] == ["claude", "mcp", "add"]
    assert "--" in argv, "a stdio server's command goes after --"
    cut = argv.index("--")
    options: dict[str, list[str]] = {}
    positional: list[str] = []
    words = iter(argv[3:cut])
    for word in words:
        if word in ("-s", "--scope", "-t", "--transport"):
            options[word.lstrip("-")[0]] = [next(words)]
        elif word in ("-e", "--env"):
            options["e"] = [next(words)]
        else:
            positional.append(word)
    return options, positional, argv[cut + 1 :]


def test_every_json_example_parses() -> None:
    found = {path.name for path in EXAMPLES.glob("*.json")} | {
        path.name for path in EXAMPLES.glob(".*.json")
    }
    assert set(SERVER_ENTRIES) <= found
    for name in found:
        json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_the_console_script_is_installed_and_resolves() -> None:
    name, target = console_script()
    installed = entry_points(group="console_scripts", name=name)
    assert [entry.value for entry in installed] == [target]
    module, _, function = target.partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_serve_is_a_subcommand_of_the_console_script() -> None:
    _, target = console_script()
    module, _, function = target.partition(":")
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}; {module}.{function}(['serve', '--help'])"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.parametrize("filename", SERVER_ENTRIES)
def test_the_server_entries_run_the_console_script_with_serve(filename: str) -> None:
    entry = server_entry(filename)
    command = Path(entry["command"])
    assert command.is_absolute(), "MCP clients do not start servers from a shell: use a full path"
    assert command.name == console_script()[0]
    assert entry["args"] == ["serve"]
    assert set(entry.get("env", {})) == {"SESSION_TREE_DB"}


def test_the_claude_mcp_add_lines_add_session_tree_serve() -> None:
    commands = add_commands()
    uncommented = [
        line
        for line in ADD_SCRIPT.read_text(encoding="utf-8").splitlines()
        if line.startswith("claude mcp add ")
    ]
    assert len(uncommented) == 1
    scopes = set()
    for argv in commands:
        options, names, command = split_add(argv)
        assert names == [SERVER_NAME], argv
        assert Path(command[0]).name == console_script()[0], argv
        assert command[1:] == ["serve"], argv
        scopes.add(options.get("s", ["local"])[0])
    assert scopes == {"local", "user", "project"}


def test_the_project_scope_line_writes_the_example_mcp_json(tmp_path: Path) -> None:
    binary = claude_binary()
    if binary is None:
        pytest.skip("no claude binary")
    (argv,) = [argv for argv in add_commands() if split_add(argv)[0].get("s") == ["project"]]
    project = tmp_path / "project"
    project.mkdir()
    # The scripted model only so that nothing this claude might send leaves the machine.
    with ScriptedModel() as model:
        result = subprocess.run(
            [binary, *argv[1:]],
            cwd=project,
            env=child_env(model, tmp_path / "home", inherit=True),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    written = json.loads((project / ".mcp.json").read_text(encoding="utf-8"))
    assert written == json.loads((EXAMPLES / ".mcp.json").read_text(encoding="utf-8"))


def vocabulary(tools: dict[str, Tool]) -> set[str]:
    """Every name a tool's schemas know: tools, parameters, result fields and values."""
    words = set(tools)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                words.update(properties)
            enum = node.get("enum")
            if isinstance(enum, list):
                words.update(str(value) for value in enum)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for tool in tools.values():
        walk(tool.input_schema)
        walk(tool.output_schema)
    return words


def check_call(source: str, tools: dict[str, Tool]) -> str:
    """A ``tool(arg=value, ...)`` call names a real tool and only its arguments; its name."""
    try:
        call = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise AssertionError(f"{source!r} does not read as tool(arg=value, ...)") from exc
    assert isinstance(call, ast.Call), source
    assert isinstance(call.func, ast.Name), source
    name = call.func.id
    assert name in tools, f"{source}: no tool named {name!r}"
    assert not call.args, f"{source}: tools take arguments by name"
    properties: dict[str, Any] = tools[name].input_schema.get("properties", {})
    for keyword in call.keywords:
        assert keyword.arg in properties, (
            f"{source}: {name} takes no argument {keyword.arg!r} (it takes {sorted(properties)})"
        )
        enum = next(
            (o["enum"] for o in properties[keyword.arg].get("anyOf", []) if "enum" in o), None
        )
        enum = properties[keyword.arg].get("enum", enum)
        if enum is not None and isinstance(keyword.value, ast.Constant):
            assert keyword.value.value in enum, f"{source}: {keyword.arg} is one of {enum}"
    return name


def code_spans(markdown: str) -> Iterator[str]:
    """Inline code spans, whitespace normalised (a span may wrap across lines)."""
    without_blocks = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    for span in re.findall(r"`([^`]+)`", without_blocks):
        yield " ".join(span.split())


def test_the_parent_prompt_names_only_real_tools_and_arguments(tools: dict[str, Tool]) -> None:
    known = vocabulary(tools)
    parameters = {name for tool in tools.values() for name in tool.input_schema["properties"]}
    mentioned = set()
    for span in code_spans(PROMPT.read_text(encoding="utf-8")):
        if re.fullmatch(r"[a-z_]+\(.*\)", span):
            mentioned.add(check_call(span, tools))
        elif argument := re.fullmatch(r"([a-z_]+)=.+", span):
            assert argument[1] in parameters, f"`{span}`: no tool takes {argument[1]!r}"
        elif prefixed := re.fullmatch(r"mcp__session-tree__(\w+)", span):
            assert prefixed[1] in tools, span
        elif re.fullmatch(r"[a-z][a-z0-9_]*", span):
            assert span in known, f"`{span}` is neither a tool nor a field of one"
            if span in tools:
                mentioned.add(span)
    missing = sorted(set(TAUGHT) - mentioned)
    assert not missing, f"the parent prompt does not teach {missing}"


def test_the_readme_example_calls_real_tools_with_their_arguments(
    tools: dict[str, Tool],
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Example", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```text\n(.*?)```", section, flags=re.DOTALL)
    called = [
        check_call(line.split("  ")[0], tools)
        for line in block.splitlines()
        if re.match(r"[a-z_]+\(", line)
    ]
    assert {"create", "chat_async", "chat", "fork", "loopback_respond", "poll"} <= set(called)
