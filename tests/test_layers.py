"""The README's architecture, checked: imports point down the layers, no module imports itself back
through others, and nothing is registered by importing a module."""

from __future__ import annotations

import ast
import importlib
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each package may import (the README's table, top to bottom); anything else is an upward arrow.
BELOW = {
    "domain": set(),
    "config": {"domain"},
    "messages": {"domain", "config"},
    "storage": {"domain", "config"},
    "runtime": {"storage", "messages", "domain", "config"},
    "services": {"runtime", "storage", "messages", "domain", "config"},
    "handlers": {"services", "runtime", "messages", "domain", "config"},
    "web": {"services", "runtime", "storage", "messages", "domain", "config"},
    "bot": {
        "handlers",
        "web",
        "services",
        "runtime",
        "storage",
        "messages",
        "domain",
        "config",
        "slack_emulator",
    },
    "slack_emulator": set(),
}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every project module and the project modules it imports (anywhere in it, functions included)."""
    modules = {
        _module(p): p for pkg in BELOW for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts
    }
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                # `from pkg import mod` imports the module; `from pkg import name` the package.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return {name: graph[name] for name in modules}


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{src} imports {dst}"
        for src, dsts in _imports().items()
        for dst in dsts
        if (a := src.split(".")[0]) != (b := dst.split(".")[0]) and b not in BELOW[a]
    ]
    assert upward == []


def test_no_module_imports_itself_back() -> None:
    graph = _imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_checks_see_an_upward_import_and_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two checks above would fail on a tree that breaks them."""
    for pkg in BELOW:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "storage" / "a.py").write_text("from services import b\n")
    (tmp_path / "services" / "b.py").write_text("from storage.a import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError):
        test_imports_point_down_the_layers()
    with pytest.raises(AssertionError):
        test_no_module_imports_itself_back()


def test_importing_the_listeners_registers_nothing() -> None:
    """Every handlers module imported: no module-level table has been filled with listeners, ops or
    subcommands (they are attached only by `register(app, wiring)`)."""
    filled = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        module = importlib.import_module(_module(path))
        for attr, value in vars(module).items():
            if (
                not attr.startswith("__")
                and isinstance(value, dict)
                and value
                and any(callable(v) or hasattr(v, "handler") for v in value.values())
            ):
                filled.append(f"{module.__name__}.{attr}")
    assert filled == []
