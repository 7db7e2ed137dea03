"""Name resolution through imports and aliases, without QualifiedNameProvider.

QualifiedNameProvider costs about 6.8 parses (``PERF_FACTS.md``).  Rules only
need "what imported thing does this expression name", so the engine keeps an
alias table filled from the module's imports and answers from it.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence

import libcst as cst


def dotted_name(expr: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, else None (calls, subscripts...)."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def _module_of(node: cst.ImportFrom, package: Optional[str]) -> Optional[str]:
    base = dotted_name(node.module) if node.module is not None else None
    level = len(node.relative)
    if level == 0:
        return base
    if package is None:
        return None
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    anchor = parts[: len(parts) - (level - 1)]
    if base:
        anchor.append(base)
    return ".".join(anchor) if anchor else None


class ImportTable:
    """Local name -> fully qualified imported name."""

    def __init__(self, package: Optional[str] = None) -> None:
        #: The package the file belongs to, for relative imports (``""`` at top level).
        self.package = package
        self.aliases: Dict[str, str] = {}

    def add(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = full
                else:
                    # ``import a.b`` binds ``a``.
                    head = full.split(".", 1)[0]
                    self.aliases[head] = head
        elif isinstance(node, cst.ImportFrom):
            if isinstance(node.names, cst.ImportStar):
                return
            module = _module_of(node, self.package)
            if module is None:
                return
            for alias in node.names:
                name = dotted_name(alias.name)
                if name is None:
                    continue
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.aliases[local] = f"{module}.{name}"

    def add_top_level(self, body: Sequence[cst.CSTNode]) -> None:
        """Record imports at module level, including inside ``if``/``try`` blocks."""
        for stmt in body:
            for node in _top_level_imports(stmt):
                self.add(node)

    def resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        """The qualified name an expression refers to, if it starts at an import."""
        name = dotted_name(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = self.aliases.get(head)
        if full is None:
            return None
        return f"{full}.{rest}" if rest else full

    def imports_module(self, prefix: str) -> bool:
        """Whether anything from module ``prefix`` (or a submodule) is imported."""
        dotted = prefix + "."
        return any(v == prefix or v.startswith(dotted) for v in self.aliases.values())


def _top_level_imports(stmt: cst.CSTNode) -> Iterable[cst.CSTNode]:
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                yield small
    elif isinstance(stmt, cst.If):
        yield from _block_imports(stmt.body)
        orelse = stmt.orelse
        while orelse is not None:
            yield from _block_imports(orelse.body)
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    elif isinstance(stmt, cst.Try):
        yield from _block_imports(stmt.body)
        for handler in stmt.handlers:
            yield from _block_imports(handler.body)
        if stmt.orelse is not None:
            yield from _block_imports(stmt.orelse.body)


def _block_imports(block: cst.BaseSuite) -> Iterable[cst.CSTNode]:
    if isinstance(block, cst.IndentedBlock):
        for stmt in block.body:
            yield from _top_level_imports(stmt)
    elif isinstance(block, cst.SimpleStatementSuite):
        for small in block.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                yield small
