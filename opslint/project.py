"""The whole-project index: what every module defines, imports and calls.

Cross-file rules (``Rule.needs_project``) read a :class:`ProjectIndex` through
``ctx.project``.  The index is built in two passes:

* pass 1, per module: a :class:`ModuleSummary` of plain, picklable data
  (imports, classes and their bases, functions with their decorators and call
  sites, module-level assignments, the ``__main__`` block).  It is built from
  Python's own ``ast`` (a C parser, about ten times cheaper than LibCST), keyed
  by the content hash, cached in memory and built in parallel for big projects.
  Rules that need more (``Rule.project_facts``) get a LibCST module, parsed only
  for the files that contain one of their ``project_tokens``;
* pass 2, lazily: name resolution across modules (re-exports through
  ``__init__``), class hierarchies, callers and callees, entry points.

The index is found by project root: the nearest directory above a file that
holds ``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``, or is an
installed-code tree (``site-packages``, the standard library's folder).  Linting one
file (flake8, the LSP, pre-commit) therefore sees the whole project, and a
buffer that differs from the disk replaces its module (``refresh``).
"""

from __future__ import annotations

import ast
import fnmatch
import gc
import hashlib
import multiprocessing
import os
import pickle
import re
import time
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    Union,
)

import libcst as cst

from opslint import source
from opslint._version import __version__
from opslint.cache import code_fingerprint
from opslint.model import Span

if TYPE_CHECKING:
    from opslint.rule import Rule

#: Files whose presence marks a project root.
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
#: Directories never indexed (by base name).
SKIP_DIRS = (
    ".*",
    "__pycache__",
    "node_modules",
    "venv",
    "env",
    "site-packages",
    "build",
    "dist",
    "_build",
    "buck-out",
    "*.egg-info",
)
#: A safety net for roots that turn out to be huge (a home directory).
MAX_FILES = 50_000
#: Below this many files to summarise, a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 200
#: How long a single-file caller trusts the index without checking the disk.
REVALIDATE_SECONDS = 2.0

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
#: Nodes that hold no call: the fast walker does not descend into them.
_LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.alias)
_MAX_ARG_TEXT = 160


# --------------------------------------------------------------------------
# Pass 1 data (plain, picklable)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleInfo:
    """Where a module lives, as given to ``Rule.project_facts``."""

    name: str
    path: str
    package: str
    is_package: bool
    root: str


@dataclass(frozen=True)
class Decorator:
    #: Resolved qualified name of the decorator (of the callee for ``@x(...)``).
    name: str
    is_call: bool
    args: Tuple[str, ...]
    kwargs: Tuple[Tuple[str, str], ...]
    span: Span


@dataclass(frozen=True)
class CallSite:
    """One call inside a function (or module body), in source order."""

    index: int
    #: Best qualified name: imports, module definitions, ``self``/``cls`` and
    #: simple local/attribute types are resolved; otherwise the dotted source.
    callee: str
    #: The dotted source text of the callee (``self.lock.acquire``), or "".
    raw: str
    #: Positional arguments: resolved names, ``callee()`` for calls, repr of
    #: constants, else short source text.
    args: Tuple[str, ...]
    kwargs: Tuple[Tuple[str, str], ...]
    #: The items of the enclosing ``with`` statements, outer to inner, in the
    #: same notation as arguments.
    with_items: Tuple[str, ...]
    #: Indexes of calls whose result is tested by an enclosing ``if not <call>``
    #: (or ``if <call> is None``...): this call runs when that call failed.
    neg_guards: Tuple[int, ...]
    #: Indexes of calls tested by an enclosing ``if <call>``/``while <call>``.
    pos_guards: Tuple[int, ...]
    #: Inside a ``finally`` block.
    in_finally: bool
    span: Span
    #: The source text of the enclosing ``with`` items (same order as ``with_items``).
    with_texts: Tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSummary:
    qualname: str
    module: str
    name: str
    #: The qualified name of the class for methods, else None.
    class_qualname: Optional[str]
    params: Tuple[str, ...]
    decorators: Tuple[Decorator, ...]
    calls: Tuple[CallSite, ...]
    #: The span of the function's name (of the first line for pseudo-functions).
    span: Span
    is_async: bool = False
    #: "function", "method", "module" (module-level code) or "main"
    #: (the ``if __name__ == "__main__":`` block).
    kind: str = "function"


@dataclass(frozen=True)
class ClassSummary:
    qualname: str
    #: Resolved (module-local) qualified names of the bases, as written.
    bases: Tuple[str, ...]
    methods: Tuple[str, ...]
    #: ``self.x = Something(...)`` in any method: attribute -> callee.
    attr_types: Tuple[Tuple[str, str], ...]
    decorators: Tuple[Decorator, ...]
    span: Span


@dataclass(frozen=True)
class Assignment:
    """A module-level assignment (``x = ...``, ``app.conf.x = ...``, or ``x.update(k=...)``)."""

    target: str
    #: Every string constant in the value, with the dict key it sits under ("" if none).
    strings: Tuple[Tuple[str, str], ...]
    #: Names (resolved) in the value.
    names: Tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class ModuleSummary:
    name: str
    path: str
    package: str
    is_package: bool
    content_hash: str
    #: local name -> qualified name for module-level imports.
    aliases: Mapping[str, str]
    #: module-level names defined here -> "function", "class" or "variable".
    defs: Mapping[str, str]
    #: module-level variable -> the callee that built it (``x = Cls(...)``).
    var_types: Mapping[str, str]
    classes: Mapping[str, ClassSummary]
    functions: Mapping[str, FunctionSummary]
    assignments: Tuple[Assignment, ...]
    #: ``__all__``-free star imports: modules whose names this module re-exports.
    star_imports: Tuple[str, ...] = ()
    #: Why the module could not be summarised ("" when it was).
    error: str = ""
    #: code -> what ``Rule.project_facts`` returned.
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def module_function(self) -> Optional[FunctionSummary]:
        return self.functions.get(f"{self.name}.<module>")

    @property
    def main_function(self) -> Optional[FunctionSummary]:
        return self.functions.get(f"{self.name}.<main>")


# --------------------------------------------------------------------------
# Roots and module names
# --------------------------------------------------------------------------

_root_cache: Dict[str, str] = {}


def find_root(path: str) -> str:
    """The project root of a file or directory (see the module docstring)."""
    absolute = os.path.abspath(path)
    start = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
    cached = _root_cache.get(start)
    if cached is not None:
        return cached
    directory = start
    found: Optional[str] = None
    while True:
        if any(os.path.exists(os.path.join(directory, m)) for m in ROOT_MARKERS) or _is_library_dir(directory):
            found = directory
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    if found is None:
        # The parent of the top-most package, else the directory itself.
        directory = start
        while os.path.isfile(os.path.join(directory, "__init__.py")):
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        found = directory
    _root_cache[start] = found
    return found


def _is_library_dir(directory: str) -> bool:
    """An installed-code tree (``site-packages``, or a ``lib/pythonX.Y`` holding one).

    The root search stops there: code under it never belongs to a project
    further up (``~/.pyenv`` is a git checkout, and everything in it is not one
    project).
    """
    name = os.path.basename(directory)
    return name in ("site-packages", "dist-packages") or os.path.isdir(os.path.join(directory, "site-packages"))


def _is_package_dir(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py")) or os.path.isfile(
        os.path.join(directory, "__init__.pyi")
    )


def module_names(path: str, root: str) -> Tuple[str, List[str], bool]:
    """(canonical module name, other names it may be imported as, is package).

    The canonical name follows the ``__init__.py`` chain when the file sits in a
    package; otherwise (scripts, namespace packages) it is the path relative to
    the root, with a leading ``src/`` dropped.
    """
    absolute = os.path.abspath(path)
    directory, filename = os.path.split(absolute)
    stem = filename.rsplit(".", 1)[0]
    is_package = stem == "__init__"
    own = [] if is_package else [stem]
    chain: List[str] = []
    current = directory
    while _is_package_dir(current):
        chain.insert(0, os.path.basename(current))
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    chain_name = ".".join(chain + own)
    rel = os.path.relpath(absolute, root)
    rel_parts = rel.replace(os.sep, "/").split("/")
    names: List[str] = []
    if not rel.startswith(".."):
        parts = rel_parts[:-1] + own
        if parts and parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        if all(p.isidentifier() for p in parts) and parts:
            names.append(".".join(parts))
    if chain_name and chain_name not in names:
        if chain and _is_package_dir(directory):
            names.insert(0, chain_name)
        else:
            names.append(chain_name)
    if not names:
        names = [stem]
    return names[0], names[1:], is_package


def iter_project_files(root: str) -> Iterator[str]:
    """Python files of a project, skipping nested projects and tool folders."""
    count = 0
    for directory, dirnames, filenames in os.walk(root):
        keep = []
        for name in sorted(dirnames):
            if any(fnmatch.fnmatchcase(name, pat) for pat in SKIP_DIRS):
                continue
            full = os.path.join(directory, name)
            if any(os.path.exists(os.path.join(full, m)) for m in ROOT_MARKERS):
                continue  # a project of its own
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.endswith(".py"):
                count += 1
                if count > MAX_FILES:
                    return
                yield os.path.join(directory, name)


# --------------------------------------------------------------------------
# Pass 1: the summariser
# --------------------------------------------------------------------------


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


def _dotted(node: ast.AST) -> Optional[str]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _import_from_module(node: ast.ImportFrom, package: str) -> Optional[str]:
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
            module = _import_from_module(stmt, self.package)
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
            base = local_types[head] + "()"
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
                    if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                        for target in sub.targets:
                            if (
                                isinstance(target, ast.Attribute)
                                and isinstance(target.value, ast.Name)
                                and target.value.id == "self"
                            ):
                                callee = self.resolve_expr(sub.value.func, {})
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
            return Decorator(name, True, args, kwargs, span)
        name = self.resolve_expr(node, local_types, class_qualname) or self.describe(node, local_types, class_qualname)
        return Decorator(name, False, (), (), span)

    def _arguments(
        self, call: ast.Call, local_types: Mapping[str, str], class_qualname: Optional[str]
    ) -> Tuple[Tuple[str, ...], Tuple[Tuple[str, str], ...]]:
        args = tuple(
            ("*" + self.describe(a.value, local_types, class_qualname))
            if isinstance(a, ast.Starred)
            else self.describe(a, local_types, class_qualname)
            for a in call.args
        )
        kwargs = tuple((kw.arg or "**", self.describe(kw.value, local_types, class_qualname)) for kw in call.keywords)
        return args, kwargs

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
        if not isinstance(value, (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Call)):
            return
        strings: List[Tuple[str, str]] = []
        names: List[str] = []
        self._strings(value, "", strings, names)
        if strings or names:
            resolved = self.resolve_name(target, {})
            self.assignments.append(
                Assignment(resolved, tuple(strings[:500]), tuple(names[:500]), self.lines.span(stmt))
            )

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


def _source(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - unparse of exotic nodes
        return ""
    return text if len(text) <= _MAX_ARG_TEXT else text[: _MAX_ARG_TEXT - 3] + "..."


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
        owner: _Summariser,
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

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)
        if isinstance(node.value, ast.Call) and not self.module_level:
            callee = self.owner.resolve_expr(node.value.func, self.local_types, self.class_qualname)
            for target in node.targets:
                if isinstance(target, ast.Name) and callee:
                    self.local_types[target.id] = callee

    def _with(self, node: Any) -> None:
        pushed = 0
        for item in node.items:
            self.visit(item.context_expr)
            self.with_stack.append(self.owner.describe(item.context_expr, self.local_types, self.class_qualname))
            self.with_texts.append(_source(item.context_expr))
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
        index = len(self.calls)
        self._ids[id(node)] = index
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
                span=owner.lines.span(node),
            )
        )


def summarise(
    path: str,
    text: str,
    name: str,
    package: str,
    is_package: bool,
    root: str = "",
    fact_rules: Sequence[Type[Rule]] = (),
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
    facts = _facts(fact_rules, text, ModuleInfo(name, path, package, is_package, root))
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
        facts=facts,
    )


def _empty(name: str, path: str, package: str, is_package: bool, digest: str, error: str) -> ModuleSummary:
    return ModuleSummary(name, path, package, is_package, digest, {}, {}, {}, {}, {}, (), (), error)


def _facts(rules: Sequence[Type[Rule]], text: str, info: ModuleInfo) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    wanted = [r for r in rules if not r.project_tokens or any(tok in text for tok in r.project_tokens)]
    if not wanted:
        return out
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError):
        return out
    for rule in wanted:
        try:
            out[rule.code] = rule.project_facts(module, info)
        except Exception:  # noqa: BLE001 - a rule's facts must not break the index
            continue
    return out


# --------------------------------------------------------------------------
# Entry points (data given by the rule's table module)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySpec:
    """Which project constructs start functions without a caller in the project.

    Names are matched against resolved qualified names by their last dotted
    parts (``scheduled_job`` matches ``apscheduler...BackgroundScheduler.scheduled_job()``
    and ``scheduler.scheduled_job``).
    """

    #: decorator method/function name -> kind (``scheduled_job`` -> "APScheduler job").
    decorators: Mapping[str, str] = field(default_factory=dict)
    #: Decorators that need a qualified prefix (``airflow.decorators.task``) -> kind.
    qualified_decorators: Mapping[str, str] = field(default_factory=dict)
    #: Decorator keyword arguments that make any decorated function scheduled
    #: (``@dramatiq.actor(periodic=cron(...))``) -> kind.
    decorator_keywords: Mapping[str, str] = field(default_factory=dict)
    #: Registration call (method) name -> (kind, positional index of the callable, keyword of the callable).
    register_calls: Mapping[str, Tuple[str, int, str]] = field(default_factory=dict)
    #: Registration names that only count when the callee contains this text
    #: (``do`` only in ``schedule.every(...).do``).
    register_requires: Mapping[str, str] = field(default_factory=dict)
    #: Calls whose keyword argument holds the callable (``PythonOperator(python_callable=f)``) -> kind.
    callable_keywords: Mapping[str, Tuple[str, str]] = field(default_factory=dict)
    #: Assignment targets (last part) whose strings name tasks by dotted path -> (kind, dict key or "").
    schedule_assignments: Mapping[str, Tuple[str, str]] = field(default_factory=dict)
    #: Base classes of Django-style management commands (their ``handle`` is an entry).
    command_bases: FrozenSet[str] = frozenset()
    #: Kind of ``if __name__ == "__main__":`` blocks ("" to ignore them).
    main_kind: str = ""


@dataclass(frozen=True)
class Entry:
    function: str
    kind: str
    path: str
    span: Span
    detail: str = ""


def _suffix_match(name: str, table: Mapping[str, Any]) -> Optional[str]:
    base = name.replace("()", "") if "()" in name else name
    dot = base.rfind(".")
    if dot >= 0:
        two = base[base.rfind(".", 0, dot) + 1 :]
        if two in table:
            return two
    last = base[dot + 1 :]
    return last if last in table else None


# --------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------


@dataclass
class _Edge:
    caller: str
    site: CallSite


class ProjectIndex:
    """Summaries of every module of one project, and queries across them."""

    def __init__(self, root: str, fact_rules: Sequence[Type[Rule]] = (), cache_dir: Optional[str] = None) -> None:
        self.root = root
        #: Where module summaries are kept between processes (``.opslint_cache``), if anywhere.
        self.cache_dir = cache_dir
        self.fact_rules: List[Type[Rule]] = list(fact_rules)
        self.modules: Dict[str, ModuleSummary] = {}
        self.by_path: Dict[str, str] = {}
        self.alias_modules: Dict[str, str] = {}
        self._stamps: Dict[str, Tuple[float, int]] = {}
        self._derived: Optional[_Derived] = None
        self._memo: Dict[Any, Any] = {}
        self._canon: Dict[str, str] = {}
        #: Names being resolved right now (a star-import cycle must not loop).
        self._resolving: Set[str] = set()
        #: How often the depth limit cut a resolution (such answers are not cached).
        self._cuts = 0
        self._splits: Dict[str, Tuple[Optional[ModuleSummary], List[str]]] = {}
        self._ancestors: Dict[str, List[str]] = {}
        #: path -> (span held by a derived result -> span now), see ``_swap``.
        self._remaps: Dict[str, Dict[Span, Span]] = {}
        self.checked_at = 0.0
        self.build_seconds = 0.0
        #: Set by the runner: a run lints one snapshot, so no disk re-checks.
        self.pinned = False

    # -- building ------------------------------------------------------------

    def build(self, jobs: int = 0, files: Optional[Iterable[str]] = None) -> ProjectIndex:
        started = time.perf_counter()
        paths = list(files) if files is not None else list(iter_project_files(self.root))
        todo: List[Tuple[str, str, str, str, bool]] = []
        for path in paths:
            item = self._plan(path)
            if item is not None:
                todo.append(item)
        for summary, extra in _summarise_many(todo, self.root, self.fact_rules, jobs, self.cache_dir):
            self._add(summary, extra)
        self.checked_at = time.monotonic()
        self.build_seconds = time.perf_counter() - started
        return self

    def _plan(self, path: str) -> Optional[Tuple[str, str, str, str, bool]]:
        absolute = os.path.abspath(path)
        try:
            stat = os.stat(absolute)
        except OSError:
            return None
        self._stamps[absolute] = (stat.st_mtime, stat.st_size)
        name, extra, is_package = module_names(absolute, self.root)
        package = name if is_package else name.rpartition(".")[0]
        return absolute, name, package, ",".join(extra), is_package

    def _add(self, summary: ModuleSummary, extra: str) -> None:
        old = self.by_path.get(summary.path)
        if old is not None and old != summary.name:
            self.modules.pop(old, None)
        if summary.name in self.modules and self.modules[summary.name].path != summary.path:
            # Two files claim one name (e.g. scripts in different folders): the
            # first keeps the name, the other is known by its path-based alias.
            alternatives = [n for n in extra.split(",") if n and n not in self.modules]
            if not alternatives:
                return
            summary = _renamed(summary, alternatives[0])
            extra = ",".join(a for a in alternatives[1:])
        self.modules[summary.name] = summary
        self.by_path[summary.path] = summary.name
        for alias in extra.split(","):
            if alias and alias not in self.modules:
                self.alias_modules.setdefault(alias, summary.name)
        self._invalidate()

    def refresh(self, path: str, text: str) -> None:
        """Use ``text`` for ``path`` (an editor buffer, a fix in progress)."""
        absolute = os.path.abspath(path)
        name = self.by_path.get(absolute)
        digest = content_hash(text)
        if name is not None and self.modules[name].content_hash == digest:
            return
        item = self._plan(absolute) if os.path.exists(absolute) else None
        if item is None:
            mod, extra_names, is_package = module_names(absolute, self.root)
            item = (absolute, mod, mod if is_package else mod.rpartition(".")[0], ",".join(extra_names), is_package)
        _, mod_name, package, extra, is_package = item
        if name is not None:
            mod_name = name
        summary = summarise(absolute, text, mod_name, package, is_package, self.root, self.fact_rules)
        old = self.modules.get(name) if name is not None else None
        if old is not None and summary.name == old.name and _shape(old) == _shape(summary):
            self._swap(old, summary)
            return
        if name is not None:
            self.modules.pop(name, None)
        self._add(summary, extra)

    def _swap(self, old: ModuleSummary, new: ModuleSummary) -> None:
        """Replace a module whose edit moved code but changed nothing the analyses read.

        Derived results (call graph, rule memos) stay valid; only positions moved,
        and ``current_span`` maps the positions they hold to the new ones.
        """
        remap = dict(zip(_spans(old), _spans(new)))
        previous = self._remaps.get(new.path, {})
        composed = {origin: remap.get(current, current) for origin, current in previous.items()}
        for before, after in remap.items():
            composed.setdefault(before, after)
        self._remaps[new.path] = composed
        self.modules[new.name] = new
        self._memo.pop("fingerprint", None)
        derived = self._derived
        if derived is not None:
            for qualname, fn in new.functions.items():
                before_fn = old.functions.get(qualname)
                derived.functions[qualname] = fn
                if before_fn is None:
                    continue
                for before_site, site in zip(before_fn.calls, fn.calls):
                    target = derived.targets.get(id(before_site))
                    if target is not None:
                        derived.targets[id(site)] = target

    def current_span(self, path: str, span: Span) -> Span:
        """Where a position recorded by an analysis is now (after buffer edits that kept the shape)."""
        remap = self._remaps.get(os.path.abspath(path))
        return remap.get(span, span) if remap else span

    def revalidate(self, force: bool = False) -> None:
        """Re-read files changed on disk since the build (for long-lived callers)."""
        now = time.monotonic()
        if not force and (self.pinned or now - self.checked_at < REVALIDATE_SECONDS):
            return
        self.checked_at = now
        current = set()
        for path in iter_project_files(self.root):
            absolute = os.path.abspath(path)
            current.add(absolute)
            try:
                stat = os.stat(absolute)
            except OSError:
                continue
            if self._stamps.get(absolute) != (stat.st_mtime, stat.st_size):
                try:
                    with open(absolute, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                self._stamps[absolute] = (stat.st_mtime, stat.st_size)
                self.refresh(absolute, _decode(data))
        for gone in set(self.by_path) - current:
            if os.path.exists(gone):
                continue
            self.modules.pop(self.by_path.pop(gone), None)
            self._invalidate()

    def add_fact_rules(self, rules: Iterable[Type[Rule]]) -> None:
        """Compute ``project_facts`` of rules not seen at build time."""
        new = [r for r in rules if r not in self.fact_rules]
        if not new:
            return
        self.fact_rules.extend(new)
        for name, summary in list(self.modules.items()):
            try:
                with open(summary.path, "rb") as handle:
                    text = _decode(handle.read())
            except OSError:
                continue
            if content_hash(text) != summary.content_hash:
                continue
            info = ModuleInfo(summary.name, summary.path, summary.package, summary.is_package, self.root)
            facts = dict(summary.facts)
            facts.update(_facts(new, text, info))
            self.modules[name] = _with_facts(summary, facts)
        self._memo.clear()

    def _heads(self) -> Set[str]:
        """First components of every module name (a quick reject for external callees)."""
        heads = self._memo.get("heads")
        if heads is None:
            heads = {n.split(".", 1)[0] for n in (*self.modules, *self.alias_modules)}
            self._memo["heads"] = heads
        return heads

    def _invalidate(self) -> None:
        self._remaps.clear()
        self._derived = None
        self._memo.clear()
        self._canon.clear()
        self._splits.clear()
        self._ancestors.clear()

    # -- plain queries ------------------------------------------------------

    def fingerprint(self) -> str:
        """Changes whenever any module of the project changes (for result caches)."""
        found = self._memo.get("fingerprint")
        if found is None:
            digest = hashlib.sha256()
            for name in sorted(self.modules):
                digest.update(f"{name}\0{self.modules[name].content_hash}\0".encode())
            found = self._memo["fingerprint"] = digest.hexdigest()
        return str(found)

    def module_of(self, path: str) -> Optional[str]:
        return self.by_path.get(os.path.abspath(path))

    def summary(self, module: str) -> Optional[ModuleSummary]:
        name = module if module in self.modules else self.alias_modules.get(module)
        return self.modules.get(name) if name is not None else None

    def facts(self, code: str) -> Dict[str, Any]:
        """module name -> ``project_facts`` result of rule ``code`` (modules that gave one)."""
        return {name: s.facts[code] for name, s in self.modules.items() if code in s.facts}

    def function(self, qualname: str) -> Optional[FunctionSummary]:
        resolved = self.canonical(qualname)
        module = self._module_for_qualname(resolved)
        if module is None:
            return None
        return module.functions.get(resolved)

    def functions(self) -> Iterator[FunctionSummary]:
        for summary in self.modules.values():
            yield from summary.functions.values()

    def class_summary(self, qualname: str) -> Optional[ClassSummary]:
        resolved = self.canonical(qualname)
        module = self._module_for_qualname(resolved)
        if module is None:
            return None
        return module.classes.get(resolved)

    def path_of(self, qualname: str) -> Optional[str]:
        module = self._module_for_qualname(qualname)
        return module.path if module is not None else None

    def memo(self, key: Any, compute: Callable[[], Any], persist: bool = False) -> Any:
        """Cache a derived result until the index changes.

        ``persist`` also keeps it on disk (when the index has a cache
        directory), keyed by the project's fingerprint, the key's ``repr`` and
        opslint's code: for whole-project analyses that a single-file run
        (flake8, pre-commit) would otherwise redo every time.
        """
        if key in self._memo:
            return self._memo[key]
        disk = self._derived_path(key) if persist and self.cache_dir else None
        value = _disk_load_any(disk) if disk else None
        if value is None:
            value = compute()
            if disk:
                _disk_store(disk, value)
        self._memo[key] = value
        return value

    def _derived_path(self, key: Any) -> str:
        parts = (__version__, code_fingerprint(), repr(key), self.root, self.fingerprint())
        digest = hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self.cache_dir or "", __version__, "derived", digest[:2], digest[2:])

    # -- resolution ---------------------------------------------------------

    def _split_module(self, qualname: str) -> Tuple[Optional[ModuleSummary], List[str]]:
        cached = self._splits.get(qualname)
        if cached is not None:
            return cached
        parts = qualname.split(".")
        found: Tuple[Optional[ModuleSummary], List[str]] = (None, parts)
        for cut in range(len(parts), 0, -1):
            summary = self.summary(".".join(parts[:cut]))
            if summary is not None:
                found = (summary, parts[cut:])
                break
        self._splits[qualname] = found
        return found

    def _module_for_qualname(self, qualname: str) -> Optional[ModuleSummary]:
        summary, _ = self._split_module(qualname)
        return summary

    def canonical(self, qualname: str, _depth: int = 0) -> str:
        """Follow re-exports: ``pkg.helper`` -> ``pkg.impl.helper`` when ``pkg/__init__`` imports it."""
        cached = self._canon.get(qualname)
        if cached is not None:
            return cached
        if qualname in self._resolving:
            return qualname  # a cycle of star imports: nothing new down this path
        cuts = self._cuts
        self._resolving.add(qualname)
        try:
            found = self._canonical(qualname, _depth)
        finally:
            self._resolving.discard(qualname)
        # Every complete answer is kept, at any depth: star imports re-exporting
        # each other (site-packages has such packages) otherwise make the
        # search exponential in the depth.
        if self._cuts == cuts:
            self._canon[qualname] = found
        return found

    def _canonical(self, qualname: str, _depth: int) -> str:
        if _depth > 12:
            self._cuts += 1
            return qualname
        if "()" in qualname:
            return qualname
        summary, rest = self._split_module(qualname)
        if summary is None:
            return qualname
        if not rest:
            return summary.name
        head = rest[0]
        if head in summary.defs or f"{summary.name}.{head}" in summary.classes:
            return ".".join([summary.name, *rest])
        target = summary.aliases.get(head)
        if target is not None:
            return self.canonical(".".join([target, *rest[1:]]), _depth + 1)
        for star in summary.star_imports:
            candidate = self.canonical(".".join([star, *rest]), _depth + 1)
            if self._module_for_qualname(candidate) is not None and self._defines(candidate):
                return candidate
        return ".".join([summary.name, *rest])

    def _defines(self, qualname: str) -> bool:
        summary, rest = self._split_module(qualname)
        return summary is not None and bool(rest) and rest[0] in summary.defs

    def resolve(self, module_name: str, local_name: str) -> Optional[str]:
        """The canonical qualified name ``local_name`` (dotted) refers to in a module."""
        summary = self.summary(module_name)
        if summary is None:
            return None
        head, _, rest = local_name.partition(".")
        if head in summary.aliases:
            base = summary.aliases[head]
        elif head in summary.defs:
            base = f"{summary.name}.{head}"
        else:
            for star in summary.star_imports:
                candidate = self.canonical(f"{star}.{local_name}")
                if self._defines(candidate):
                    return candidate
            return None
        return self.canonical(f"{base}.{rest}" if rest else base)

    # -- classes --------------------------------------------------------------

    def class_bases(self, qualname: str) -> Tuple[str, ...]:
        """Canonical direct bases of a project class (external bases as written)."""
        cls = self.class_summary(qualname)
        if cls is None:
            return ()
        return tuple(self.canonical(b) for b in cls.bases)

    def ancestors(self, qualname: str) -> List[str]:
        """All bases, transitively, in breadth-first order (no duplicates)."""
        cached = self._ancestors.get(qualname)
        if cached is not None:
            return cached
        seen: List[str] = []
        self._ancestors[qualname] = seen  # cycles end here
        queue = list(self.class_bases(qualname))
        while queue:
            base = queue.pop(0)
            if base in seen:
                continue
            seen.append(base)
            queue.extend(self.class_bases(base))
        return seen

    def is_subclass(self, qualname: str, base_qualnames: Iterable[str]) -> bool:
        targets = set(base_qualnames)
        name = self.canonical(qualname)
        if name in targets:
            return True
        return any(a in targets for a in self.ancestors(name))

    def subclasses_of(self, base_qualnames: Iterable[str]) -> Set[str]:
        targets = set(base_qualnames)
        out = set()
        for summary in self.modules.values():
            for cls in summary.classes:
                if self.is_subclass(cls, targets) and cls not in targets:
                    out.add(cls)
        return out

    def method(self, class_qualname: str, name: str) -> Optional[FunctionSummary]:
        """The method ``name`` as found on the class or its project bases (MRO-ish)."""
        for cls in [self.canonical(class_qualname), *self.ancestors(class_qualname)]:
            summary = self.class_summary(cls)
            if summary is not None and name in summary.methods:
                return self.function(f"{cls}.{name}")
        return None

    # -- the call graph ----------------------------------------------------------

    def target_of(self, site: CallSite) -> Optional[str]:
        """The project function a call site calls, if it is one."""
        return self._graph().targets.get(id(site))

    def callers(self, qualname: str) -> List[Tuple[FunctionSummary, CallSite]]:
        """(calling function, call site) for every call of a project function."""
        graph = self._graph()
        out = []
        for caller, site in graph.callers.get(self.canonical(qualname), ()):
            fn = graph.functions.get(caller)
            if fn is not None:
                out.append((fn, site))
        return out

    def callees(self, qualname: str) -> List[Tuple[CallSite, str]]:
        """(call site, called project function) for the calls of a function."""
        fn = self.function(qualname)
        if fn is None:
            return []
        out = []
        for site in fn.calls:
            target = self.target_of(site)
            if target is not None:
                out.append((site, target))
        return out

    def _graph(self) -> _Derived:
        if self._derived is None:
            self._derived = _Derived(self)
        return self._derived

    def _resolve_callee(self, fn: FunctionSummary, callee: str) -> Optional[str]:
        head = callee.split(".", 1)[0].replace("()", "")
        if head not in self._heads() and "." in callee:
            return None
        if "()" in callee:
            # ``pkg.Cls().method``: a method of an instance of a project class.
            head, _, tail = callee.rpartition("().")
            if not head or "()" in head or "." in tail:
                return None
            cls = self.class_summary(head)
            if cls is None:
                return None
            found = self.method(cls.qualname, tail)
            return found.qualname if found else None
        name = self.canonical(callee)
        target = self.function(name)
        if target is not None:
            return target.qualname
        # A class: its constructor; ``Cls.method`` through bases.
        cls = self.class_summary(name)
        if cls is not None:
            init = self.method(cls.qualname, "__init__")
            return init.qualname if init else None
        owner, _, attr = name.rpartition(".")
        if owner and self.class_summary(owner) is not None:
            found = self.method(owner, attr)
            return found.qualname if found else None
        # A call of a nested function by its bare name.
        if "." not in callee:
            local = self.function(f"{fn.qualname}.<locals>.{callee}")
            if local is not None:
                return local.qualname
        return None

    # -- entry points ---------------------------------------------------------

    def entry_points(self, spec: EntrySpec) -> Dict[str, List[Entry]]:
        """Function qualname -> the entries that start it (computed once per spec)."""
        key = ("entry_points", id(spec))
        held = self._memo.get(key)
        if held is None or held[0] is not spec:
            held = (spec, self._entry_points(spec))
            self._memo[key] = held
        return held[1]

    def _callable_ref(self, module: ModuleSummary, text: str) -> Optional[str]:
        """A project function named by an argument (``f``, ``mod.f``, ``f.s()``, ``"pkg.mod:f"``)."""
        if not text:
            return None
        if text[0] in "'\"":
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None
            if not isinstance(value, str):
                return None
            return self.function_by_path(value.replace(":", "."))
        if text.endswith("()"):
            base = text[:-2]
            for suffix in (".s", ".si", ".signature", ".delay"):
                if base.endswith(suffix):
                    text = base[: -len(suffix)]
                    break
            else:
                if base.endswith(("functools.partial", "partial")):
                    return None
                return None
        if "()." in text:
            # ``service.refresh`` where ``service = Service()``: a bound method.
            head, _, attr = text.rpartition("().")
            cls = self.class_summary(head) if "()" not in head and "." not in attr else None
            found = self.method(cls.qualname, attr) if cls is not None else None
            return found.qualname if found is not None else None
        name = self.canonical(text)
        fn = self.function(name)
        return fn.qualname if fn is not None else None

    def function_by_path(self, dotted: str) -> Optional[str]:
        """A function named by a dotted string (``proj.tasks.refresh``), or a task name."""
        fn = self.function(self.canonical(dotted))
        if fn is not None:
            return fn.qualname
        return self._task_names().get(dotted)

    def _task_names(self) -> Dict[str, str]:
        def compute() -> Dict[str, str]:
            out: Dict[str, str] = {}
            for fn in self.functions():
                for dec in fn.decorators:
                    for key, value in dec.kwargs:
                        if key == "name" and value[:1] in "'\"":
                            try:
                                literal = ast.literal_eval(value)
                            except (ValueError, SyntaxError):
                                continue
                            if isinstance(literal, str):
                                out.setdefault(literal, fn.qualname)
            return out

        return self.memo("task_names", compute)  # type: ignore[no-any-return]

    def _entry_points(self, spec: EntrySpec) -> Dict[str, List[Entry]]:
        out: Dict[str, List[Entry]] = {}

        def add(fn: Optional[str], kind: str, path: str, span: Span, detail: str = "") -> None:
            if fn is not None:
                out.setdefault(fn, []).append(Entry(fn, kind, path, span, detail))

        for module in self.modules.values():
            for fn in module.functions.values():
                for dec in fn.decorators:
                    key = _suffix_match(dec.name, spec.decorators)
                    kind = spec.decorators.get(key) if key else None
                    if kind is None:
                        kind = spec.qualified_decorators.get(self.canonical(dec.name))
                    if kind is None:
                        kind = next(
                            (spec.decorator_keywords[k] for k, _ in dec.kwargs if k in spec.decorator_keywords), None
                        )
                    if kind is not None:
                        add(fn.qualname, kind, module.path, dec.span, dec.name)
                for site in fn.calls:
                    key = _suffix_match(site.callee, spec.register_calls)
                    if key is not None and spec.register_requires.get(key, "") not in site.callee:
                        key = None
                    if key is not None:
                        kind, position, keyword = spec.register_calls[key]
                        ref = dict(site.kwargs).get(keyword) if keyword else None
                        if ref is None and 0 <= position < len(site.args):
                            ref = site.args[position]
                        if ref is not None:
                            add(self._callable_ref(module, ref), kind, module.path, site.span, key)
                    key = _suffix_match(site.callee, spec.callable_keywords)
                    if key is not None:
                        kind, keyword = spec.callable_keywords[key]
                        ref = dict(site.kwargs).get(keyword)
                        if ref is not None:
                            add(self._callable_ref(module, ref), kind, module.path, site.span, key)
                if spec.main_kind and (
                    fn.kind == "main" or (fn.kind == "module" and module.name.rpartition(".")[2] == "__main__")
                ):
                    add(fn.qualname, spec.main_kind, module.path, fn.span, "__main__")
            for assignment in module.assignments:
                last = assignment.target.rsplit(".", 1)[-1]
                entry = spec.schedule_assignments.get(last) or spec.schedule_assignments.get(last.lower())
                if entry is None:
                    continue
                kind, key = entry
                for dict_key, value in assignment.strings:
                    if key and dict_key != key:
                        continue
                    add(self.function_by_path(value), kind, module.path, assignment.span, value)
            if spec.command_bases and ".management.commands." in f".{module.name}":
                for cls in module.classes.values():
                    if cls.qualname != f"{module.name}.Command":
                        continue
                    if not self.is_subclass(cls.qualname, spec.command_bases) and not any(
                        b.rsplit(".", 1)[-1] in {"BaseCommand", "LabelCommand", "AppCommand"} for b in cls.bases
                    ):
                        continue
                    handle = self.method(cls.qualname, "handle")
                    if handle is not None:
                        add(handle.qualname, "management command", module.path, handle.span, cls.qualname)
        return out

    def reaching_entries(self, qualname: str, spec: EntrySpec) -> List[Entry]:
        """Entries from which ``qualname`` is reachable through project calls."""
        entries = self.entry_points(spec)
        target = self.canonical(qualname)
        out: List[Entry] = []
        seen = {target}
        queue = [target]
        while queue:
            current = queue.pop()
            out.extend(entries.get(current, ()))
            for caller, _site in self.callers(current):
                if caller.qualname not in seen:
                    seen.add(caller.qualname)
                    queue.append(caller.qualname)
        return out


class _Derived:
    """Pass 2: call edges resolved across modules (rebuilt after any change)."""

    def __init__(self, index: ProjectIndex) -> None:
        self.functions: Dict[str, FunctionSummary] = {}
        self.targets: Dict[int, str] = {}
        self.callers: Dict[str, List[Tuple[str, CallSite]]] = {}
        for summary in index.modules.values():
            self.functions.update(summary.functions)
        for fn in self.functions.values():
            for site in fn.calls:
                target = index._resolve_callee(fn, site.callee)
                if target is None:
                    continue
                self.targets[id(site)] = target
                self.callers.setdefault(target, []).append((fn.qualname, site))


def _shape(summary: ModuleSummary) -> Any:
    """Everything of a summary but positions (see ``ProjectIndex._swap``)."""
    functions = tuple(
        (
            q,
            f.class_qualname,
            f.params,
            tuple((d.name, d.is_call, d.args, d.kwargs) for d in f.decorators),
            f.kind,
            f.is_async,
            tuple(
                (
                    c.callee,
                    c.raw,
                    c.args,
                    c.kwargs,
                    c.with_items,
                    c.neg_guards,
                    c.pos_guards,
                    c.in_finally,
                    c.with_texts,
                )
                for c in f.calls
            ),
        )
        for q, f in sorted(summary.functions.items())
    )
    classes = tuple(
        (q, c.bases, c.methods, c.attr_types, tuple((d.name, d.is_call, d.args, d.kwargs) for d in c.decorators))
        for q, c in sorted(summary.classes.items())
    )
    assignments = tuple((a.target, a.strings, a.names) for a in summary.assignments)
    return (
        sorted(summary.aliases.items()),
        sorted(summary.defs.items()),
        sorted(summary.var_types.items()),
        summary.star_imports,
        summary.error,
        functions,
        classes,
        assignments,
        repr(sorted(summary.facts.items())),
    )


def _spans(summary: ModuleSummary) -> List[Span]:
    """Every position a summary holds, in a deterministic order (parallel to ``_shape``)."""
    out: List[Span] = []
    for _, fn in sorted(summary.functions.items()):
        out.append(fn.span)
        out.extend(d.span for d in fn.decorators)
        out.extend(c.span for c in fn.calls)
    for _, cls in sorted(summary.classes.items()):
        out.append(cls.span)
        out.extend(d.span for d in cls.decorators)
    out.extend(a.span for a in summary.assignments)
    return out


def _renamed(summary: ModuleSummary, name: str) -> ModuleSummary:
    old = summary.name
    prefix = old + "."

    def fix(q: str) -> str:
        return name + q[len(old) :] if q == old or q.startswith(prefix) else q

    functions = {
        fix(q): FunctionSummary(
            fix(f.qualname),
            name,
            f.name,
            fix(f.class_qualname) if f.class_qualname else None,
            f.params,
            f.decorators,
            tuple(_fix_site(s, fix) for s in f.calls),
            f.span,
            f.is_async,
            f.kind,
        )
        for q, f in summary.functions.items()
    }
    classes = {
        fix(q): ClassSummary(
            fix(c.qualname), tuple(fix(b) for b in c.bases), c.methods, c.attr_types, c.decorators, c.span
        )
        for q, c in summary.classes.items()
    }
    return ModuleSummary(
        name,
        summary.path,
        summary.package,
        summary.is_package,
        summary.content_hash,
        summary.aliases,
        summary.defs,
        summary.var_types,
        classes,
        functions,
        summary.assignments,
        summary.star_imports,
        summary.error,
        summary.facts,
    )


def _fix_site(site: CallSite, fix: Callable[[str], str]) -> CallSite:
    return CallSite(
        site.index,
        fix(site.callee),
        site.raw,
        tuple(fix(a) for a in site.args),
        tuple((k, fix(v)) for k, v in site.kwargs),
        tuple(fix(w) for w in site.with_items),
        site.neg_guards,
        site.pos_guards,
        site.in_finally,
        site.span,
        site.with_texts,
    )


def _with_facts(summary: ModuleSummary, facts: Dict[str, Any]) -> ModuleSummary:
    return ModuleSummary(
        summary.name,
        summary.path,
        summary.package,
        summary.is_package,
        summary.content_hash,
        summary.aliases,
        summary.defs,
        summary.var_types,
        summary.classes,
        summary.functions,
        summary.assignments,
        summary.star_imports,
        summary.error,
        facts,
    )


def _decode(data: bytes) -> str:
    from opslint import source

    try:
        return source.decode(data).text
    except Exception:  # noqa: BLE001 - undecodable files index as empty
        return ""


# --------------------------------------------------------------------------
# Building many summaries (in memory cache, optional worker pool)
# --------------------------------------------------------------------------

#: content hash + name + fact rules -> summary, for the whole process.
_SUMMARY_CACHE: Dict[Tuple[str, str, str, Tuple[str, ...]], ModuleSummary] = {}
_POOL_STATE: Dict[str, Any] = {}


_Item = Tuple[str, str, str, str, bool]
_Result = Tuple[ModuleSummary, str]


@dataclass(frozen=True)
class _Miss:
    """A file not in any cache: its text and cache key, for computing its summary."""

    text: str
    key: Tuple[str, str, str, Tuple[str, ...]]


def _summarise_item(item: _Item) -> _Result:
    """A file's summary, cached or computed (a pool worker's entry point)."""
    found = _lookup(item)
    return _compute(item, found) if isinstance(found, _Miss) else found


def _lookup_all(todo: List[_Item]) -> List[Union[_Result, _Miss]]:
    # Unpickling thousands of summaries allocates millions of objects that all
    # live on: the cyclic collector would rescan them again and again (3x slower).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [_lookup(item) for item in todo]
    finally:
        if enabled:
            gc.enable()


def _lookup(item: _Item) -> Union[_Result, _Miss]:
    """The summary of one file from the memory or disk cache, else what computing it needs."""
    path, name, package, extra, is_package = item
    try:
        with open(path, "rb") as handle:
            text = _decode(handle.read())
    except OSError as exc:
        return _empty(name, path, package, is_package, "", str(exc)), extra
    rules: Sequence[Type[Rule]] = _POOL_STATE.get("rules", ())
    key = (content_hash(text), name, path, tuple(sorted(r.code for r in rules)))
    cached = _SUMMARY_CACHE.get(key)
    if cached is not None:
        return cached, extra
    cache_dir: Optional[str] = _POOL_STATE.get("cache_dir")
    if cache_dir:
        loaded = _disk_load(_disk_path(cache_dir, key))
        if loaded is not None and loaded.path == path and loaded.name == name:
            _SUMMARY_CACHE[key] = loaded
            return loaded, extra
    return _Miss(text, key)


def _compute(item: _Item, miss: _Miss) -> _Result:
    path, name, package, extra, is_package = item
    rules: Sequence[Type[Rule]] = _POOL_STATE.get("rules", ())
    summary = summarise(path, miss.text, name, package, is_package, _POOL_STATE.get("root", ""), rules)
    _SUMMARY_CACHE[miss.key] = summary
    cache_dir: Optional[str] = _POOL_STATE.get("cache_dir")
    if cache_dir:
        _disk_store(_disk_path(cache_dir, miss.key), summary)
    return summary, extra


#: Bumped when the summary dataclasses change (old cache entries are then ignored).
_SUMMARY_FORMAT = "1"


def _disk_path(cache_dir: str, key: Tuple[str, str, str, Tuple[str, ...]]) -> str:
    digest = hashlib.sha256(repr((__version__, _SUMMARY_FORMAT, key)).encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(cache_dir, __version__, "index", digest[:2], digest[2:])


def _disk_load(path: str) -> Optional[ModuleSummary]:
    value = _disk_load_any(path)
    return value if isinstance(value, ModuleSummary) else None


def _disk_load_any(path: str) -> Any:
    """A pickled cache entry, or None when it is missing or unreadable (a cache never fails a run)."""
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None


def _disk_store(path: str, value: Any) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.{os.getpid()}.tmp"
        with open(temp, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return


def _summarise_many(
    todo: List[_Item],
    root: str,
    rules: Sequence[Type[Rule]],
    jobs: int,
    cache_dir: Optional[str] = None,
) -> List[_Result]:
    """Summaries in the order of ``todo`` (when two files claim one module name, the first wins).

    Cached ones are loaded here, not in a worker, which would unpickle them
    twice (a warm index of the standard library: 18 s -> 4 s); only the
    misses go to a pool, and only when there are enough of them.
    """
    _POOL_STATE.update(root=root, rules=tuple(rules), cache_dir=cache_dir)
    jobs = jobs or (os.cpu_count() or 1)
    found = _lookup_all(todo)
    missing = [i for i, result in enumerate(found) if isinstance(result, _Miss)]
    parallel = (
        jobs > 1
        and len(missing) >= PARALLEL_THRESHOLD
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon  # a pool worker (flake8 -j) cannot fork its own pool
    )
    if parallel:
        # Workers read the files again: cheaper than pickling every text to them.
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs) as pool:
            computed = pool.imap(_summarise_item, [todo[i] for i in missing], chunksize=16)
            for i, result in zip(missing, computed):
                found[i] = result
    else:
        for i in missing:
            miss = found[i]
            assert isinstance(miss, _Miss)
            found[i] = _compute(todo[i], miss)
    return [result for result in found if not isinstance(result, _Miss)]


# --------------------------------------------------------------------------
# The per-process registry of indexes
# --------------------------------------------------------------------------

_INDEXES: Dict[str, ProjectIndex] = {}


def project_rules(rules: Iterable[Type[Rule]]) -> List[Type[Rule]]:
    return [r for r in rules if getattr(r, "needs_project", False)]


def index_for(
    path: str,
    rules: Iterable[Type[Rule]] = (),
    *,
    jobs: int = 0,
    fresh: bool = False,
    cache_dir: Optional[str] = None,
) -> ProjectIndex:
    """The index of the project that ``path`` belongs to (built on first use).

    ``fresh`` re-checks the disk now (a run starting); otherwise the disk is
    re-checked at most every ``REVALIDATE_SECONDS`` (editors, flake8).
    """
    root = find_root(path)
    fact_rules = [r for r in project_rules(rules) if _has_facts(r)]
    index = _INDEXES.get(root)
    if index is None:
        if cache_dir is None:
            # Share summaries with earlier runs only where the CLI already keeps its cache.
            default = os.path.join(root, ".opslint_cache")
            cache_dir = default if os.path.isdir(default) else None
        index = ProjectIndex(root, fact_rules, cache_dir=cache_dir).build(jobs=jobs)
        _INDEXES[root] = index
    else:
        index.revalidate(force=fresh)
        index.add_fact_rules(fact_rules)
    return index


def prepare(
    paths: Iterable[str],
    rules_for_path: Callable[[str], Sequence[Type[Rule]]],
    jobs: int = 0,
    cache_dir: Optional[str] = None,
) -> List[Tuple[ProjectIndex, List[Type[Rule]], str]]:
    """Build (or refresh) and pin the index of every project the paths belong to.

    Called by a run before it forks its workers, so they inherit the indexes.
    ``rules_for_path`` gives the enabled rules of a file.  Returns (index, its
    project rules, a file of it) per project; unpin with ``unpin``.
    """
    by_root: Dict[str, Tuple[str, Dict[str, Type[Rule]]]] = {}
    for path in paths:
        needing = project_rules(rules_for_path(path))
        if needing:
            _first, chosen = by_root.setdefault(find_root(path), (path, {}))
            for rule in needing:
                chosen[rule.code] = rule
    out = []
    for root, (first, chosen) in by_root.items():
        index = index_for(root, list(chosen.values()), jobs=jobs, fresh=True, cache_dir=cache_dir)
        index.pinned = True
        out.append((index, list(chosen.values()), first))
    return out


def unpin(indexes: Iterable[ProjectIndex]) -> None:
    for index in indexes:
        index.pinned = False


def cached_index(path: str) -> Optional[ProjectIndex]:
    """The index already built for ``path``'s project, if any (never builds one)."""
    return _INDEXES.get(find_root(path))


def _has_facts(rule: Type[Rule]) -> bool:
    """Whether the rule (or a base below ``Rule``) defines ``project_facts``."""
    return any("project_facts" in vars(k) for k in rule.__mro__[: rule.__mro__.index(_rule_base())])


def _rule_base() -> type:
    from opslint.rule import Rule as _Base

    return _Base


def forget(root: Optional[str] = None) -> None:
    """Drop cached indexes (all, or one root's)."""
    if root is None:
        _INDEXES.clear()
        _root_cache.clear()
    else:
        _INDEXES.pop(os.path.abspath(root), None)
