"""Entry points of a project: data given by a rule's table module, matched against summaries."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Protocol,
    Set,
    Tuple,
)

from opslint import source
from opslint.model import Span
from opslint.project.summary import CallSite, ClassSummary, FunctionSummary, ModuleSummary


class IndexQueries(Protocol):
    """What the entry-point search and the call resolution (``derived.resolve_callee``)
    ask of a ``ProjectIndex`` (a protocol: those modules do not import the index)."""

    @property
    def modules(self) -> Mapping[str, ModuleSummary]: ...

    def function(self, qualname: str) -> Optional[FunctionSummary]: ...

    def functions(self) -> Iterator[FunctionSummary]: ...

    def class_summary(self, qualname: str) -> Optional[ClassSummary]: ...

    def method(self, class_qualname: str, name: str) -> Optional[FunctionSummary]: ...

    def canonical(self, qualname: str, _depth: int = 0) -> str: ...

    def built_by(self, qualified: str) -> Optional[str]: ...

    def is_subclass(self, qualname: str, base_qualnames: Iterable[str]) -> bool: ...

    def callers(self, qualname: str) -> List[Tuple[FunctionSummary, CallSite]]: ...

    def memo(self, key: Any, compute: Callable[[], Any], persist: bool = False) -> Any: ...

    def entry_points(self, spec: EntrySpec) -> Dict[str, List[Entry]]: ...

    def _heads(self) -> Set[str]: ...

    @property
    def root(self) -> str: ...


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
    #: Base classes (qualified, or last name) whose subclasses' method is an entry ->
    #: (method, kind) (django-cron ``CronJobBase.do``, ``luigi.Task.run``).
    class_entries: Mapping[str, Tuple[str, str]] = field(default_factory=dict)
    #: Kind of ``[project.scripts]`` targets ("" to ignore them).
    console_script_kind: str = ""
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


# -- queries of a project index (ProjectIndex.entry_points and function_by_path) --


def _callable_ref(index: IndexQueries, module: ModuleSummary, text: str) -> Optional[str]:
    """A project function named by an argument (``f``, ``mod.f``, ``f.s()``, ``"pkg.mod:f"``)."""
    if text.startswith("lambda: "):
        text = text[len("lambda: ") :]
    if not text:
        return None
    if text[0] in "'\"":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, str):
            return None
        return function_by_path(index, value.replace(":", "."))
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
        cls = index.class_summary(head) if "()" not in head and "." not in attr else None
        found = index.method(cls.qualname, attr) if cls is not None else None
        return found.qualname if found is not None else None
    name = index.canonical(text)
    fn = index.function(name)
    return fn.qualname if fn is not None else None


def function_by_path(index: IndexQueries, dotted: str) -> Optional[str]:
    """A function named by a dotted string (``proj.tasks.refresh``), or a task name."""
    fn = index.function(index.canonical(dotted))
    if fn is not None:
        return fn.qualname
    return _task_names(index).get(dotted)


def _task_names(index: IndexQueries) -> Dict[str, str]:
    def compute() -> Dict[str, str]:
        out: Dict[str, str] = {}
        for fn in index.functions():
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

    return index.memo("task_names", compute)  # type: ignore[no-any-return]


def entry_points(index: IndexQueries, spec: EntrySpec) -> Dict[str, List[Entry]]:
    out: Dict[str, List[Entry]] = {}

    def add(fn: Optional[str], kind: str, path: str, span: Span, detail: str = "") -> None:
        if fn is not None:
            out.setdefault(fn, []).append(Entry(fn, kind, path, span, detail))

    for module in index.modules.values():
        for fn in module.functions.values():
            for dec in fn.decorators:
                key = _suffix_match(dec.name, spec.decorators)
                kind = spec.decorators.get(key) if key else None
                if kind is None:
                    kind = spec.qualified_decorators.get(index.canonical(dec.name))
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
                        add(_callable_ref(index, module, ref), kind, module.path, site.span, key)
                key = _suffix_match(site.callee, spec.callable_keywords)
                if key is not None:
                    kind, keyword = spec.callable_keywords[key]
                    ref = dict(site.kwargs).get(keyword)
                    if ref is not None:
                        add(_callable_ref(index, module, ref), kind, module.path, site.span, key)
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
                add(function_by_path(index, value), kind, module.path, assignment.span, value)
        if spec.class_entries:
            for cls in module.classes.values():
                for base in cls.bases:
                    found = spec.class_entries.get(base) or spec.class_entries.get(base.rsplit(".", 1)[-1])
                    method = index.method(cls.qualname, found[0]) if found is not None else None
                    if found is not None and method is not None:
                        add(method.qualname, found[1], module.path, method.span, cls.qualname)
        if spec.command_bases and ".management.commands." in f".{module.name}":
            for cls in module.classes.values():
                if cls.qualname != f"{module.name}.Command":
                    continue
                if not index.is_subclass(cls.qualname, spec.command_bases) and not any(
                    b.rsplit(".", 1)[-1] in {"BaseCommand", "LabelCommand", "AppCommand"} for b in cls.bases
                ):
                    continue
                handle = index.method(cls.qualname, "handle")
                if handle is not None:
                    add(handle.qualname, "management command", module.path, handle.span, cls.qualname)
    if spec.console_script_kind:
        for name, target in _console_scripts(index):
            module_name, _, attr = target.partition(":")
            summary = index.modules.get(module_name.strip())
            script = index.function(f"{module_name.strip()}.{attr.strip()}") if attr else None
            if summary is not None and script is not None:
                add(script.qualname, spec.console_script_kind, summary.path, script.span, name)
    return out


def _console_scripts(index: IndexQueries) -> List[Tuple[str, str]]:
    """``[project.scripts]`` / ``[tool.poetry.scripts]`` of the project's ``pyproject.toml``."""
    return source.pyproject_scripts(os.path.join(index.root, "pyproject.toml")) if index.root else []


def reaching_entries(index: IndexQueries, qualname: str, spec: EntrySpec) -> List[Entry]:
    """Entries from which ``qualname`` is reachable through project calls."""
    entries = index.entry_points(spec)
    target = index.canonical(qualname)
    out: List[Entry] = []
    seen = {target}
    queue = [target]
    while queue:
        current = queue.pop()
        out.extend(entries.get(current, ()))
        for caller, _site in index.callers(current):
            if caller.qualname not in seen:
                seen.add(caller.qualname)
                queue.append(caller.qualname)
    return out
