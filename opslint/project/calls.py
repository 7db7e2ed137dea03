"""The call sites of a function body, collected by a fast ``ast`` walker (pass 1)."""

from __future__ import annotations

import ast
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Tuple

from opslint.project.summary import CallSite

#: In a function's local names (``local_types``: name -> what built it), the mark of a name
#: bound by an import inside the function (``from .jobs import sync`` in ``create_app``).
LOCAL_IMPORT = "\x00import:"


def import_from_module(node: ast.ImportFrom, package: str) -> Optional[str]:
    """The module a ``from ... import`` reads, relative imports resolved against ``package``."""
    level = node.level or 0
    if level == 0:
        return node.module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    anchor = parts[: len(parts) - (level - 1)]
    if node.module:
        anchor.append(node.module)
    return ".".join(anchor) if anchor else None


class _Owner(Protocol):
    """What the collector asks of the module summariser (``summarise._Summariser``)."""

    #: The module's name, and what its top-level names are ("function", "class", "variable").
    name: str
    package: str
    defs: Dict[str, str]

    @property
    def lines(self) -> Any: ...

    def resolve_expr(
        self, node: ast.AST, local_types: Mapping[str, str], class_qualname: Optional[str] = None
    ) -> Optional[str]: ...

    def describe(self, node: ast.AST, local_types: Mapping[str, str], class_qualname: Optional[str]) -> str: ...

    def _arguments(
        self, call: ast.Call, local_types: Mapping[str, str], class_qualname: Optional[str]
    ) -> Tuple[Tuple[str, ...], Tuple[Tuple[str, str], ...]]: ...


#: Nodes that hold no call: the fast walker does not descend into them.
_LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.alias)


_MAX_ARG_TEXT = 160


def _dotted(node: ast.AST) -> Optional[str]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _source(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - unparse of exotic nodes
        return ""
    return text if len(text) <= _MAX_ARG_TEXT else text[: _MAX_ARG_TEXT - 3] + "..."


def _guard_calls(test: ast.AST) -> Tuple[List[ast.Call], List[ast.Call]]:
    """(calls the test is true for, calls the test is false for), one level deep."""
    pos: List[ast.Call] = []
    neg: List[ast.Call] = []

    def walk(node: ast.AST, positive: bool) -> None:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            walk(node.operand, not positive)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                walk(value, positive)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            op = node.ops[0]
            right = node.comparators[0]
            falsy = isinstance(right, ast.Constant) and right.value in (None, False, 0)
            if isinstance(op, (ast.Is, ast.Eq)) and falsy:
                walk(node.left, not positive)
            elif isinstance(op, (ast.IsNot, ast.NotEq)) and falsy:
                walk(node.left, positive)
        elif isinstance(node, ast.NamedExpr):
            walk(node.value, positive)
        elif isinstance(node, ast.Await):
            walk(node.value, positive)
        elif isinstance(node, ast.Call):
            (pos if positive else neg).append(node)

    walk(test, True)
    return pos, neg


class _CallCollector(ast.NodeVisitor):
    """Collects the calls of one function body in source order, with their context."""

    def __init__(
        self,
        owner: _Owner,
        class_qualname: Optional[str],
        local_types: Dict[str, str],
        qualname: str,
        module_level: bool = False,
    ) -> None:
        self.owner = owner
        self.class_qualname = class_qualname
        self.local_types = local_types
        self.qualname = qualname
        self.module_level = module_level
        self.calls: List[CallSite] = []
        self.nested: List[ast.AST] = []
        self.with_stack: List[str] = []
        self.with_texts: List[str] = []
        self.neg: List[int] = []
        self.pos: List[int] = []
        self.finally_depth = 0
        self._ids: Dict[int, int] = {}

    _dispatch: Dict[type, Callable[[Any, Any], None]] = {}

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = self._dispatch.get(kind)
        if method is None:
            method = getattr(type(self), "visit_" + kind.__name__, None) or type(self).generic_visit
            self._dispatch[kind] = method
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                        self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                self.visit(value)

    # Nested scopes are summarised on their own.
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if not self.module_level:
            self.nested.append(node)
        for dec in node.decorator_list:
            self.visit(dec)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        if not self.module_level:
            self.nested.append(node)
        for dec in node.decorator_list:
            self.visit(dec)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not self.module_level:
            self.nested.append(node)
        for dec in node.decorator_list:
            self.visit(dec)

    def visit_Import(self, node: ast.Import) -> None:
        if self.module_level:
            return
        for alias in node.names:
            if alias.asname:
                self.local_types[alias.asname] = LOCAL_IMPORT + alias.name
            else:
                head = alias.name.split(".", 1)[0]
                self.local_types[head] = LOCAL_IMPORT + head

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """``from .jobs import nightly_sync`` inside ``create_app()``: the function's calls
        and arguments name the imported function (the module's imports are elsewhere)."""
        if self.module_level:
            return
        module = import_from_module(node, self.owner.package)
        if module is None:
            return
        for alias in node.names:
            if alias.name != "*":
                self.local_types[alias.asname or alias.name] = f"{LOCAL_IMPORT}{module}.{alias.name}"

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)
        if isinstance(node.value, ast.Call) and not self.module_level:
            callee = self.owner.resolve_expr(node.value.func, self.local_types, self.class_qualname)
            for target in node.targets:
                if isinstance(target, ast.Name) and callee:
                    self.local_types[target.id] = callee
        if not self.module_level:
            for target in node.targets:
                self._store_into_module_state(target)

    def _store_into_module_state(self, target: ast.AST) -> None:
        """``_memo[key] = value`` into a container bound at module level: a site of its own
        (``pkg.rates._memo.__setitem__``), so that what a lock around it guards is seen to be
        that container (OPS401), as it is for ``_memo.setdefault(...)``."""
        if not isinstance(target, ast.Subscript) or not isinstance(target.value, ast.Name):
            return
        owner = self.owner
        if self.local_types.get(target.value.id) is not None or owner.defs.get(target.value.id) != "variable":
            return
        state = owner.resolve_expr(target.value, self.local_types, self.class_qualname)
        if state is None or state != f"{owner.name}.{target.value.id}":
            return
        key = owner.describe(target.slice, self.local_types, self.class_qualname)
        self._add_site(target, f"{state}.__setitem__", f"{target.value.id}.__setitem__", (key,), ())

    def _add_site(
        self, node: ast.AST, callee: str, raw: str, args: Tuple[str, ...], kwargs: Tuple[Tuple[str, str], ...]
    ) -> int:
        """Append a call site at ``node`` in the current context; its index."""
        index = len(self.calls)
        self.calls.append(
            CallSite(
                index=index,
                callee=callee,
                raw=raw,
                args=args,
                kwargs=kwargs,
                with_items=tuple(self.with_stack),
                with_texts=tuple(self.with_texts),
                neg_guards=tuple(self.neg),
                pos_guards=tuple(self.pos),
                in_finally=self.finally_depth > 0,
                span=self.owner.lines.span(node),
            )
        )
        return index

    def _with(self, node: Any) -> None:
        pushed = 0
        for item in node.items:
            self.visit(item.context_expr)
            # ``with make_consumer(...) as consumer:`` names what the call made, as
            # ``consumer = make_consumer(...)`` would (a context manager's yield, a
            # session or connection whose ``__enter__`` returns itself).
            target = item.optional_vars
            if isinstance(item.context_expr, ast.Call) and isinstance(target, ast.Name) and not self.module_level:
                callee = self.owner.resolve_expr(item.context_expr.func, self.local_types, self.class_qualname)
                if callee:
                    self.local_types[target.id] = callee
            # ``async with await lock_manager.lock(key):`` (aioredlock): what is awaited.
            entered = item.context_expr.value if isinstance(item.context_expr, ast.Await) else item.context_expr
            self.with_stack.append(self.owner.describe(entered, self.local_types, self.class_qualname))
            self.with_texts.append(_source(entered))
            pushed += 1
        for stmt in node.body:
            self.visit(stmt)
        del self.with_stack[len(self.with_stack) - pushed :]
        del self.with_texts[len(self.with_texts) - pushed :]

    def visit_With(self, node: ast.With) -> None:
        self._with(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._with(node)

    def _guarded(self, node: Any) -> None:
        self.visit(node.test)
        pos, neg = _guard_calls(node.test)
        pos_ids = [self._ids[id(c)] for c in pos if id(c) in self._ids]
        neg_ids = [self._ids[id(c)] for c in neg if id(c) in self._ids]
        self.pos.extend(pos_ids)
        self.neg.extend(neg_ids)
        for stmt in node.body:
            self.visit(stmt)
        del self.pos[len(self.pos) - len(pos_ids) :]
        del self.neg[len(self.neg) - len(neg_ids) :]
        # The else branch runs when the test failed.
        self.pos.extend(neg_ids)
        self.neg.extend(pos_ids)
        for stmt in node.orelse:
            self.visit(stmt)
        del self.pos[len(self.pos) - len(neg_ids) :]
        del self.neg[len(self.neg) - len(pos_ids) :]

    def visit_If(self, node: ast.If) -> None:
        self._guarded(node)

    def visit_While(self, node: ast.While) -> None:
        self._guarded(node)

    def visit_Try(self, node: ast.Try) -> None:
        for stmt in node.body:
            self.visit(stmt)
        for handler in node.handlers:
            self.visit(handler)
        for stmt in node.orelse:
            self.visit(stmt)
        self.finally_depth += 1
        for stmt in node.finalbody:
            self.visit(stmt)
        self.finally_depth -= 1

    visit_TryStar = visit_Try

    def visit_Call(self, node: ast.Call) -> None:
        # Arguments and the receiver run first.
        self.visit(node.func)
        for arg in node.args:
            self.visit(arg)
        for kw in node.keywords:
            self.visit(kw.value)
        owner = self.owner
        raw = _dotted(node.func) or ""
        callee = owner.resolve_expr(node.func, self.local_types, self.class_qualname) or raw
        if not callee:
            callee = owner.describe(node.func, self.local_types, self.class_qualname)
        args, kwargs = owner._arguments(node, self.local_types, self.class_qualname)
        self._ids[id(node)] = self._add_site(node, callee, raw, args, kwargs)
