"""The layers hold: each import runs down the stack, and each outside library stays in its layer.

front ends   server/ (MCP), cli/            may use service, agents, models
             ui/ (the browser view)         may use service, models
service      the behaviour                  may use agents, store, models
agents       child agents (the Agent SDK)   may use store, models
store        everything durable             may use models
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "session_tree"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(path: Path) -> str:
    """The package a module belongs to (its first folder under session_tree), or its name."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute, as dotted names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ["session_tree", *path.relative_to(PACKAGE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _importers(prefix: str) -> dict[str, set[str]]:
    """The modules that import ``prefix`` (or something under it), by layer."""
    by_layer: dict[str, set[str]] = {}
    for path in _modules():
        if any(name == prefix or name.startswith(prefix + ".") for name in _imports(path)):
            by_layer.setdefault(_layer(path), set()).add(str(path.relative_to(PACKAGE)))
    return by_layer


def test_the_scanner_sees_imports() -> None:
    # Guards the guard: if the scanner found nothing, every rule below would pass.
    assert "agents" in _importers("claude_agent_sdk")
    assert "server" in _importers("mcp")
    assert "service" in _importers("session_tree.store")
    assert "web" in _importers("starlette")


def test_only_agents_and_testing_import_the_agent_sdk() -> None:
    outside = {
        layer: files
        for layer, files in _importers("claude_agent_sdk").items()
        if layer not in {"agents", "testing"}
    }
    assert outside == {}, "claude_agent_sdk belongs to agents/: wrap what you need there"


@pytest.mark.parametrize("library", ["mcp", "mcp_types"])
def test_only_front_ends_and_testing_import_mcp(library: str) -> None:
    allowed = {"server", "cli", "testing", "docs"}
    outside = {layer: files for layer, files in _importers(library).items() if layer not in allowed}
    assert outside == {}, f"{library} belongs to server/ (and the CLI's demo client)"


@pytest.mark.parametrize("upper", ["service", "agents", "server", "cli", "web"])
def test_the_store_imports_nothing_above_it(upper: str) -> None:
    assert "store" not in _importers(f"session_tree.{upper}")


@pytest.mark.parametrize("upper", ["service", "server", "cli", "web"])
def test_agents_import_nothing_above_them(upper: str) -> None:
    assert "agents" not in _importers(f"session_tree.{upper}")


@pytest.mark.parametrize("front_end", ["server", "cli", "docs", "web"])
def test_front_ends_do_not_reach_the_store(front_end: str) -> None:
    assert front_end not in _importers("session_tree.store"), "go through the service"


def test_the_browser_view_runs_no_children() -> None:
    # It runs beside the servers and decides through the service: the agents are theirs.
    assert "web" not in _importers("session_tree.agents")


@pytest.mark.parametrize("library", ["starlette", "uvicorn", "sse_starlette", "jinja2"])
def test_only_the_browser_view_imports_the_web_stack(library: str) -> None:
    outside = {layer: files for layer, files in _importers(library).items() if layer != "web"}
    assert outside == {}, f"{library} belongs to web/ (the browser view)"


# The service's parts behind its facade (SessionService): a front end that reached one
# would have a second door to the same behaviour.
_SERVICE_PARTS = {"sessions", "chats", "turns", "loopback", "store", "pool"}


@pytest.mark.parametrize("front_end", ["server", "cli"])
def test_front_ends_call_the_service_facade_not_its_parts(front_end: str) -> None:
    reached = set()
    for path in sorted((PACKAGE / front_end).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            # service.chats.chat(...), service_of(ctx).sessions.fork(...)
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr in _SERVICE_PARTS
                and _names_the_service(node.value.value)
            ):
                reached.add(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.value.attr}")
    assert reached == set(), "call SessionService's own method (add one if it lacks it)"


def _names_the_service(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "service_of"
    return isinstance(node, ast.Name) and node.id == "service"


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in _modules()
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
