"""The import contract of ARCHITECTURE.md, read from the source with ``ast``.

Who may import whom (TYPE_CHECKING imports count too: a type is a dependency):
- ``model`` imports nothing from opslint; leaf helpers (``_version``, ``codebase``, ``urls``,
  ``suppress``, ``parallel``, ``config``) neither.
- ``syntax``: model, source.  ``analysis``: syntax, model, source; never the rules,
  the engine, the configuration or the project.
- ``project``: model, source, cache, parallel, syntax; never rule, context, config, engine.
- ``report``: model (and urls, source, _version); it knows no rule.
- the engine imports ``opslint.rules`` only through the registry (dynamically).
- ``rules/ops*.py`` never import another ``ops*.py``; ``rules/_*.py`` never import ``ops*.py``.
- no import circles.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: module group -> opslint modules it may import (prefixes; the group itself is implied).
ALLOWED: Dict[str, Tuple[str, ...]] = {
    "opslint.model": (),
    "opslint._version": (),
    "opslint.urls": (),
    "opslint.suppress": (),
    "opslint.parallel": (),
    "opslint.config": (),
    "opslint.source": ("opslint.model",),
    "opslint.syntax": ("opslint.model", "opslint.source"),
    "opslint.analysis": ("opslint.syntax", "opslint.model", "opslint.source"),
    "opslint.codebase": (),
    # What a run that parses nothing imports (opslint.screen): never LibCST, a rule or the engine.
    "opslint.outcome": ("opslint.model",),
    "opslint.catalog": ("opslint.config", "opslint.codebase"),
    "opslint.cache": ("opslint.model", "opslint.source", "opslint._version", "opslint.codebase"),
    "opslint.project": (
        "opslint.model",
        "opslint.source",
        "opslint.cache",
        "opslint.parallel",
        "opslint.syntax",
        "opslint._version",
    ),
    "opslint.edits": ("opslint.model", "opslint.source", "opslint.syntax"),
    "opslint.report": ("opslint.model", "opslint.urls", "opslint.source", "opslint._version"),
    "opslint.context": (
        "opslint.analysis",
        "opslint.config",
        "opslint.edits",
        "opslint.project",
        "opslint.source",
        "opslint.syntax",
        "opslint.model",
    ),
    "opslint.rule": ("opslint.context", "opslint.edits", "opslint.model", "opslint.analysis", "opslint.config"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "rules":
        parts = ["opslint", "rules", *parts[1:]]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> Set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # ``from pkg import name``: an edge to ``pkg.name`` when that is a module (the
            # graph keeps real modules only), else to ``pkg``.
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(f"{base}?")
    return {m for m in found if m == "opslint" or m.startswith("opslint.")}


def _graph() -> Dict[str, Set[str]]:
    files = [*ROOT.joinpath("opslint").rglob("*.py"), *ROOT.joinpath("rules").glob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        # Keep edges to real modules only (``from opslint.x import y`` also names ``opslint.x.y``).
        imported = _imports(path)
        edges = {m for m in imported if m in modules and m != name}
        for marker in (m for m in imported if m.endswith("?")):
            base = marker[:-1]
            if base in modules and base != name and not any(e.startswith(base + ".") for e in edges):
                edges.add(base)
        graph[name] = edges
    return graph


GRAPH = _graph()


def _group(module: str) -> str:
    for group in sorted(ALLOWED, key=len, reverse=True):
        if module == group or module.startswith(group + "."):
            return group
    return module


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _group(m) in ALLOWED))
def test_layer_imports(module: str) -> None:
    group = _group(module)
    allowed = ALLOWED[group]
    bad = sorted(
        m
        for m in GRAPH[module]
        if _group(m) != group and m != "opslint" and not any(m == a or m.startswith(a + ".") for a in allowed)
    )
    assert not bad, f"{module} ({group}) may not import {bad}"


def test_the_engine_imports_rules_only_through_the_registry() -> None:
    offenders = sorted(
        m
        for m, deps in GRAPH.items()
        if not m.startswith("opslint.rules") and any(d.startswith("opslint.rules") for d in deps)
    )
    assert not offenders, offenders


def test_rules_never_import_rules() -> None:
    offenders: List[Tuple[str, str]] = []
    for module, deps in GRAPH.items():
        if not module.startswith("opslint.rules."):
            continue
        for dep in deps:
            if dep.rpartition(".")[2].startswith("ops"):
                offenders.append((module, dep))
    assert not offenders, offenders


def test_no_import_circles() -> None:
    """Tarjan's strongly connected components over all modules (TYPE_CHECKING imports
    included): every component must be a single module."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components: List[List[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(GRAPH[node]):
            if dep not in index:
                connect(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            connect(module)
    assert not components, components
