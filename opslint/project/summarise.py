"""Pass 1: a module's summary from Python's own ``ast`` (a C parser, ten times cheaper than LibCST)."""

from __future__ import annotations

import ast
import hashlib
import re
from typing import (
    Any,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import libcst as cst

from opslint import source
from opslint.model import Span
from opslint.project.calls import _MAX_ARG_TEXT, LOCAL_IMPORT, _CallCollector, _dotted, import_from_module
from opslint.project.summary import (
    Assignment,
    ClassSummary,
    Decorator,
    FunctionSummary,
    ModuleInfo,
    ModuleSummary,
    ProjectRule,
)
from opslint.syntax.parse import parse_module

_NEWLINE = re.compile(r"\r\n|\r|\n")
#: Methods whose ``self.x = Cls(...)`` assignments give attribute types.
_SETUP_METHODS = frozenset(
    {
        "__init__",
        "__post_init__",
        "__enter__",
        "__aenter__",
        "setup",
        "setUp",
        "start",
        "connect",
        "open",
        "init",
        "initialize",
    }
)


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class _Lines:
    """ast positions (UTF-8 byte columns) -> Span (code point columns, offsets)."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        starts.extend(m.end() for m in _NEWLINE.finditer(text))
        self.starts = starts

    def _column(self, line: int, byte_col: int) -> Tuple[int, int]:
        if line - 1 >= len(self.starts):
            return len(self.text), 0
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        line_text = self.text[start:end]
        if line_text.isascii():
            col = min(byte_col, len(line_text))
        else:
            col = len(line_text.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace"))
        return start + col, col

    def span(self, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None)
        start_off, start_col = self._column(line, col)
        if end_col is None:
            end_off, end_c = start_off, start_col
        else:
            end_off, end_c = self._column(end_line, end_col)
        return Span(line, start_col + 1, end_line, end_c + 1, start_off, end_off)

    def name_span(self, node: ast.AST, name: str) -> Span:
        """The span of a def/class name (``def <name>``) from the node's first line."""
        line = getattr(node, "lineno", 1)
        if line - 1 < len(self.starts):
            start = self.starts[line - 1]
            end = self.starts[line] if line < len(self.starts) else len(self.text)
            head = self.text[start:end]
            for keyword in ("def ", "class "):
                at = head.find(keyword)
                if at < 0:
                    continue
                found = head.find(name, at + len(keyword))
                if found >= 0:
                    return Span(line, found + 1, line, found + len(name) + 1, start + found, start + found + len(name))
        return self.span(node)


class _Summariser:
    def __init__(self, name: str, path: str, package: str, is_package: bool, text: str, tree: ast.Module) -> None:
        self.name = name
        self.path = path
        self.package = package
        self.is_package = is_package
        self.text = text
        self.tree = tree
        self.lines = _Lines(text)
        self.aliases: Dict[str, str] = {}
        self.defs: Dict[str, str] = {}
        self.var_types: Dict[str, str] = {}
        self.classes: Dict[str, ClassSummary] = {}
        self.functions: Dict[str, FunctionSummary] = {}
        self.assignments: List[Assignment] = []
        self.constants: Dict[str, str] = {}
        self.star_imports: List[str] = []
        self.class_attr_types: Dict[str, Dict[str, str]] = {}

    # -- module level ------------------------------------------------------

    def run(self) -> None:
        body = self.tree.body
        for stmt in self._flat(body):
            self._collect_def(stmt)
        # Attribute types need the class table first (``self.x = Cls()``).
        for stmt in self._flat(body):
            if isinstance(stmt, ast.ClassDef):
                self._prescan_class(stmt, f"{self.name}.{stmt.name}")
        module_calls: List[ast.stmt] = []
        main_calls: List[ast.stmt] = []
        for stmt in body:
            if _is_main_guard(stmt):
                assert isinstance(stmt, ast.If)
                main_calls.extend(stmt.body)
                module_calls.extend(stmt.orelse)
            else:
                module_calls.append(stmt)
        for stmt in self._flat(body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt, self.name, None, {})
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt, self.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                self._assignment(stmt)
                self._constant(stmt)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                self._update_call(stmt.value)
        self._pseudo("<module>", module_calls, "module", body[0] if body else self.tree)
        if main_calls:
            self._pseudo("<main>", main_calls, "main", main_calls[0])

    def _flat(self, body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
        """Module-level statements, looking into ``if``/``try`` blocks (not the main guard)."""
        for stmt in body:
            if isinstance(stmt, ast.If) and not _is_main_guard(stmt):
                yield from self._flat(stmt.body)
                yield from self._flat(stmt.orelse)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                yield from self._flat(getattr(stmt, "body", []))
                for handler in getattr(stmt, "handlers", []):
                    yield from self._flat(handler.body)
                yield from self._flat(getattr(stmt, "orelse", []))
                yield from self._flat(getattr(stmt, "finalbody", []))
            else:
                yield stmt

    def _collect_def(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    self.aliases[head] = head
        elif isinstance(stmt, ast.ImportFrom):
            module = import_from_module(stmt, self.package)
            if module is None:
                return
            for alias in stmt.names:
                if alias.name == "*":
                    self.star_imports.append(module)
                    continue
                self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.defs[stmt.name] = "function"
            self.aliases.pop(stmt.name, None)
        elif isinstance(stmt, ast.ClassDef):
            self.defs[stmt.name] = "class"
            self.aliases.pop(stmt.name, None)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for name_node in _target_names(target):
                    self.defs.setdefault(name_node, "variable")
                    if isinstance(stmt.value, ast.Call) and isinstance(target, ast.Name):
                        callee = self.resolve_expr(stmt.value.func, {})
                        if callee:
                            self.var_types[target.id] = callee

    # -- name resolution (module-local) ----------------------------------

    def resolve_name(self, dotted: str, local_types: Mapping[str, str], class_qualname: Optional[str] = None) -> str:
        head, _, rest = dotted.partition(".")
        base: Optional[str] = None
        if head in ("self", "cls") and class_qualname is not None:
            if rest:
                attr, _, tail = rest.partition(".")
                typ = self.class_attr_types.get(class_qualname, {}).get(attr)
                if typ is not None:
                    return f"{typ}()" + (f".{tail}" if tail else "")
            base = class_qualname
        elif head in local_types:
            known = local_types[head]
            # A function-local import names the thing itself; a local variable, what built it.
            base = known[len(LOCAL_IMPORT) :] if known.startswith(LOCAL_IMPORT) else known + "()"
        elif head in self.aliases:
            base = self.aliases[head]
        elif head in self.var_types and self.defs.get(head) == "variable":
            base = self.var_types[head] + "()"
        elif head in self.defs:
            base = f"{self.name}.{head}"
        if base is None:
            return dotted
        return f"{base}.{rest}" if rest else base

    def resolve_expr(
        self, node: ast.AST, local_types: Mapping[str, str], class_qualname: Optional[str] = None
    ) -> Optional[str]:
        dotted = _dotted(node)
        if dotted is not None:
            return self.resolve_name(dotted, local_types, class_qualname)
        if isinstance(node, ast.Attribute):
            # ``a.b(...).c``: the call's callee, then the attribute.
            inner = self.resolve_expr(node.value, local_types, class_qualname)
            if inner is not None:
                return f"{inner}.{node.attr}"
            return None
        if isinstance(node, ast.Call):
            inner = self.resolve_expr(node.func, local_types, class_qualname)
            return f"{inner}()" if inner is not None else None
        return None

    def describe(self, node: ast.AST, local_types: Mapping[str, str], class_qualname: Optional[str]) -> str:
        """An argument or with-item, as a short string."""
        if isinstance(node, ast.Constant):
            return repr(node.value)[:_MAX_ARG_TEXT]
        if isinstance(node, ast.Lambda) and isinstance(node.body, ast.Call):
            # ``add_job(lambda name=name: refresh(name), ...)``: what the lambda calls.
            inner = self.resolve_expr(node.body.func, local_types, class_qualname)
            if inner:
                return f"lambda: {inner}"
        resolved = self.resolve_expr(node, local_types, class_qualname)
        if resolved is not None:
            return resolved
        try:
            text = ast.unparse(node)
        except Exception:  # noqa: BLE001 - unparse of exotic nodes
            text = type(node).__name__
        return text[:_MAX_ARG_TEXT]

    # -- classes and functions -------------------------------------------

    def _prescan_class(self, node: ast.ClassDef, qualname: str) -> None:
        types: Dict[str, str] = {}
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in _SETUP_METHODS:
                for sub in ast.walk(item):
                    made = _constructed(sub.value) if isinstance(sub, ast.Assign) else None
                    if isinstance(sub, ast.Assign) and made is not None:
                        for target in sub.targets:
                            if (
                                isinstance(target, ast.Attribute)
                                and isinstance(target.value, ast.Name)
                                and target.value.id == "self"
                            ):
                                callee = self.resolve_expr(made.func, {})
                                if callee:
                                    types.setdefault(target.attr, callee)
            elif isinstance(item, ast.Assign) and isinstance(item.value, ast.Call):
                for target in item.targets:
                    if isinstance(target, ast.Name):
                        callee = self.resolve_expr(item.value.func, {})
                        if callee:
                            types.setdefault(target.id, callee)
        self.class_attr_types[qualname] = types
        for item in node.body:
            if isinstance(item, ast.ClassDef):
                self._prescan_class(item, f"{qualname}.{item.name}")

    def _class(self, node: ast.ClassDef, scope: str) -> None:
        qualname = f"{scope}.{node.name}"
        bases = []
        for base in node.bases:
            resolved = self.resolve_expr(base, {})
            if resolved is not None:
                bases.append(resolved)
        methods = []
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods.append(item.name)
                self._function(item, qualname, qualname, {})
            elif isinstance(item, ast.ClassDef):
                self._class(item, qualname)
        self.classes[qualname] = ClassSummary(
            qualname=qualname,
            bases=tuple(bases),
            methods=tuple(methods),
            attr_types=tuple(sorted(self.class_attr_types.get(qualname, {}).items())),
            decorators=tuple(self._decorator(d, {}, None) for d in node.decorator_list),
            span=self.lines.name_span(node, node.name),
        )

    def _decorator(self, node: ast.expr, local_types: Mapping[str, str], class_qualname: Optional[str]) -> Decorator:
        span = self.lines.span(node)
        if isinstance(node, ast.Call):
            name = self.resolve_expr(node.func, local_types, class_qualname) or self.describe(
                node.func, local_types, class_qualname
            )
            args, kwargs = self._arguments(node, local_types, class_qualname)
            # ``@retry(stop=stop_after_attempt(5))``: a strategy's literal arguments are what
            # the decorator means (a call elsewhere is described by its callee only).
            literal = {k.arg: self._literal_call(k.value, local_types, class_qualname) for k in node.keywords if k.arg}
            kwargs = tuple((key, literal.get(key) or text) for key, text in kwargs)
            return Decorator(name, True, args, kwargs, span)
        name = self.resolve_expr(node, local_types, class_qualname) or self.describe(node, local_types, class_qualname)
        return Decorator(name, False, (), (), span)

    def _literal_call(self, node: ast.expr, local_types: Mapping[str, str], class_qualname: Optional[str]) -> str:
        """``stop_after_attempt(5)`` -> ``tenacity.stop_after_attempt(5)``; "" unless every
        argument is a number or string literal."""
        if not isinstance(node, ast.Call) or node.keywords or not node.args:
            return ""
        if not all(isinstance(a, ast.Constant) and isinstance(a.value, (int, float, str)) for a in node.args):
            return ""
        callee = self.resolve_expr(node.func, local_types, class_qualname) or self.describe(
            node.func, local_types, class_qualname
        )
        text = f"{callee}({', '.join(repr(a.value) for a in node.args if isinstance(a, ast.Constant))})"
        return text[:_MAX_ARG_TEXT]

    def _arguments(
        self, call: ast.Call, local_types: Mapping[str, str], class_qualname: Optional[str]
    ) -> Tuple[Tuple[str, ...], Tuple[Tuple[str, str], ...]]:
        args = tuple(
            ("*" + self.describe(a.value, local_types, class_qualname))
            if isinstance(a, ast.Starred)
            else self.describe(a, local_types, class_qualname)
            for a in call.args
        )
        kwargs: List[Tuple[str, str]] = []
        for kw in call.keywords:
            text = self._timeout_text(kw.value) if kw.arg == "timeout" else None
            kwargs.append((kw.arg or "**", text or self.describe(kw.value, local_types, class_qualname)))
        return args, tuple(kwargs)

    def _timeout_text(self, value: ast.AST) -> Optional[str]:
        """``timeout=httpx.Timeout(10.0, connect=3.0)`` with its literal arguments kept (the
        description of a call drops them), the callee qualified."""
        if not isinstance(value, ast.Call):
            return None
        parts = [*value.args, *(kw.value for kw in value.keywords)]
        if not all(_literal(part) for part in parts) or any(kw.arg is None for kw in value.keywords):
            return None
        callee = self.resolve_expr(value.func, {}, None)
        if callee is None:
            return None
        inner = [ast.unparse(a) for a in value.args] + [f"{kw.arg}={ast.unparse(kw.value)}" for kw in value.keywords]
        text = f"{callee}({', '.join(inner)})"
        return text if len(text) <= _MAX_ARG_TEXT else None

    def _function(
        self,
        node: Any,
        scope: str,
        class_qualname: Optional[str],
        outer_types: Mapping[str, str],
    ) -> None:
        qualname = f"{scope}.{node.name}"
        args = node.args
        params = tuple(
            a.arg for a in (*args.posonlyargs, *args.args, *((args.vararg,) if args.vararg else ()), *args.kwonlyargs)
        )
        local_types: Dict[str, str] = dict(outer_types)
        collector = _CallCollector(self, class_qualname, local_types, qualname)
        for stmt in node.body:
            collector.visit(stmt)
        self.functions[qualname] = FunctionSummary(
            qualname=qualname,
            module=self.name,
            name=node.name,
            class_qualname=class_qualname,
            params=params,
            decorators=tuple(self._decorator(d, {}, class_qualname) for d in node.decorator_list),
            calls=tuple(collector.calls),
            span=self.lines.name_span(node, node.name),
            is_async=isinstance(node, ast.AsyncFunctionDef),
            kind="method" if class_qualname is not None else "function",
        )
        for nested in collector.nested:
            if isinstance(nested, ast.ClassDef):
                self._class(nested, f"{qualname}.<locals>")
            else:
                self._function(nested, f"{qualname}.<locals>", None, local_types)

    def _pseudo(self, name: str, body: Sequence[ast.stmt], kind: str, anchor: ast.AST) -> None:
        qualname = f"{self.name}.{name}"
        collector = _CallCollector(self, None, {}, qualname, module_level=True)
        for stmt in body:
            collector.visit(stmt)
        span = self.lines.span(anchor)
        span = Span(span.line, span.column, span.line, span.column, span.start, span.start)
        self.functions[qualname] = FunctionSummary(
            qualname=qualname,
            module=self.name,
            name=name,
            class_qualname=None,
            params=(),
            decorators=(),
            calls=tuple(collector.calls),
            span=span,
            kind=kind,
        )

    # -- assignments ------------------------------------------------------

    def _assignment(self, stmt: Any) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if stmt.value is None:
            return
        for target in targets:
            dotted = _dotted(target)
            if dotted is None:
                continue
            self._record_assignment(dotted, stmt.value, stmt)

    def _constant(self, stmt: Any) -> None:
        """``TIMEOUT = 15``, ``BATCH = 5 * 60``, ``TOPIC = "orders"``: kept as source text."""
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name) or stmt.value is None:
            return
        if not _literal(stmt.value):
            return
        text = ast.unparse(stmt.value)
        if len(text) <= _CONSTANT_TEXT_LIMIT:
            self.constants[targets[0].id] = text

    def _update_call(self, call: ast.Call) -> None:
        """``app.conf.update(beat_schedule={...})`` records ``app.conf.beat_schedule``."""
        if not isinstance(call.func, ast.Attribute) or call.func.attr != "update":
            return
        owner = _dotted(call.func.value)
        if owner is None:
            return
        for kw in call.keywords:
            if kw.arg:
                self._record_assignment(f"{owner}.{kw.arg}", kw.value, call)

    def _record_assignment(self, target: str, value: ast.AST, stmt: ast.AST) -> None:
        alias = self._type_alias(value)
        if not isinstance(value, (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Call)) and alias is None:
            return
        strings: List[Tuple[str, str]] = []
        names: List[str] = []
        if alias is not None:
            # ``HttpSession = Annotated[requests.Session, Depends(get_http)]``: the names of
            # the type expression (what a parameter annotated with the alias holds).
            names.append(self.resolve_name(alias, {}))
            self._strings(value.slice, "", strings, names)  # type: ignore[attr-defined]
        else:
            self._strings(value, "", strings, names)
        if strings or names:
            resolved = self.resolve_name(target, {})
            self.assignments.append(
                Assignment(resolved, tuple(strings[:500]), tuple(names[:500]), self.lines.span(stmt))
            )

    def _type_alias(self, value: ast.AST) -> Optional[str]:
        """The typing construct of a type alias's value (``Annotated[...]``, ``Optional[...]``)."""
        if not isinstance(value, ast.Subscript):
            return None
        dotted = _dotted(value.value)
        if dotted is None or self.resolve_name(dotted, {}) not in _TYPE_ALIAS_HEADS:
            return None
        return dotted

    def _strings(self, node: ast.AST, key: str, out: List[Tuple[str, str]], names: List[str]) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((key, node.value))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                sub = k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else key
                if k is not None and not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                    self._strings(k, key, out, names)
                self._strings(v, sub, out, names)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for elt in node.elts:
                self._strings(elt, key, out, names)
        elif isinstance(node, ast.Call):
            for arg in node.args:
                self._strings(arg, key, out, names)
            for kw in node.keywords:
                self._strings(kw.value, kw.arg or key, out, names)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            dotted = _dotted(node)
            if dotted is not None:
                names.append(self.resolve_name(dotted, {}))


def _constructed(value: ast.AST) -> Optional[ast.Call]:
    """The call that builds an attribute's value: ``Cls(...)``, or the fallback of an
    injected one (``session or requests.Session()``)."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        value = value.values[-1]
    return value if isinstance(value, ast.Call) else None


def _target_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _target_names(elt)


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If):
        return False
    test = stmt.test
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    has_name = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
    has_main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    return has_name and has_main


def summarise(
    path: str,
    text: str,
    name: str,
    package: str,
    is_package: bool,
    root: str = "",
    fact_rules: Sequence[ProjectRule] = (),
) -> ModuleSummary:
    """Pass 1 for one module (pure: picklable in, picklable out)."""
    digest = content_hash(text)
    try:
        tree = source.parse_ast(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return _empty(name, path, package, is_package, digest, f"{type(exc).__name__}: {exc}")
    try:
        worker = _Summariser(name, path, package, is_package, text, tree)
        worker.run()
    except RecursionError as exc:
        return _empty(name, path, package, is_package, digest, f"RecursionError: {exc}")
    codes = fact_codes(fact_rules, text)
    # Positions left out: a moved line changes no fact an analysis reads.
    shape = hashlib.blake2b(ast.dump(tree).encode(), digest_size=16).hexdigest() if codes else ""
    return ModuleSummary(
        name=name,
        path=path,
        package=package,
        is_package=is_package,
        content_hash=digest,
        aliases=worker.aliases,
        defs=worker.defs,
        var_types=worker.var_types,
        classes=worker.classes,
        functions=worker.functions,
        assignments=tuple(worker.assignments),
        star_imports=tuple(worker.star_imports),
        facts=codes,
        fact_shape=shape,
        constants=worker.constants,
    )


#: The typing constructs whose subscripts make a type alias the index records.
_TYPE_ALIAS_HEADS = frozenset(
    f"{module}.{name}" for module in ("typing", "typing_extensions") for name in ("Annotated", "Optional", "Union")
)

#: Longer values are not constants a rule reads (a number or a short name).
_CONSTANT_TEXT_LIMIT = 120


def _literal(node: ast.AST) -> bool:
    """A number, string, bool or None, or arithmetic over numbers."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, str, bool)) or node.value is None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv)):
        return all(
            _literal(side) and not (isinstance(side, ast.Constant) and isinstance(side.value, str))
            for side in (node.left, node.right)
        )
    return False


def _empty(name: str, path: str, package: str, is_package: bool, digest: str, error: str) -> ModuleSummary:
    return ModuleSummary(name, path, package, is_package, digest, {}, {}, {}, {}, {}, (), (), error)


def fact_codes(rules: Sequence[ProjectRule], text: str) -> Tuple[str, ...]:
    """The codes of the rules whose ``project_tokens`` occur in ``text`` (their facts may
    say something about the module)."""
    return tuple(sorted(r.code for r in rules if not r.project_tokens or any(tok in text for tok in r.project_tokens)))


def parse_for_facts(text: str) -> Optional[cst.Module]:
    try:
        return parse_module(text)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError):
        return None


def compute_fact(rule: ProjectRule, module: cst.Module, info: ModuleInfo) -> Any:
    """``rule.project_facts``, None when it fails (a rule's facts must not break the index)."""
    try:
        return rule.project_facts(module, info)
    except Exception:  # noqa: BLE001 - a rule's facts must not break the index
        return None


def read_source(path: str) -> str:
    """A file's text for the index: empty for a file linting refuses too (over the
    size limit: a 20 MB generated module took 30 s and 2 GB to summarise; binary;
    undecodable).  Raises OSError when it cannot be read."""
    try:
        return source.decode(source.read_bytes(path)).text
    except source.SourceError:
        return ""
