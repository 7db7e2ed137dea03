"""Structures derived from the summaries (call graph) and summary transforms used by ``refresh``."""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from opslint.model import Span
from opslint.project.entries import IndexQueries
from opslint.project.summary import (
    CallSite,
    ClassSummary,
    FunctionSummary,
    ModuleSummary,
)


class _Derived:
    """Pass 2: call edges resolved across modules (rebuilt after any change)."""

    def __init__(
        self, modules: Mapping[str, ModuleSummary], resolve: Callable[[FunctionSummary, str], Optional[str]]
    ) -> None:
        self.functions: Dict[str, FunctionSummary] = {}
        self.targets: Dict[int, str] = {}
        self.callers: Dict[str, List[Tuple[str, CallSite]]] = {}
        for summary in modules.values():
            self.functions.update(summary.functions)
        for fn in self.functions.values():
            for site in fn.calls:
                target = resolve(fn, site.callee)
                if target is None:
                    continue
                target = sys.intern(target)  # one string per function called, not per call
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
        summary.facts,
        summary.fact_shape,
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
        summary.fact_shape,
        summary.constants,
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


def resolve_callee(index: IndexQueries, fn: FunctionSummary, callee: str) -> Optional[str]:
    """The project function a call in ``fn`` reaches (ProjectIndex's call graph)."""
    head = callee.split(".", 1)[0].replace("()", "")
    if head not in index._heads() and "." in callee:
        return None
    if "()" in callee:
        # ``pkg.Cls().method``: a method of an instance of a project class.
        head, _, tail = callee.rpartition("().")
        if not head or "()" in head or "." in tail:
            return None
        cls = index.class_summary(head)
        if cls is None:
            return None
        found = index.method(cls.qualname, tail)
        return found.qualname if found else None
    name = index.canonical(callee)
    target = index.function(name)
    if target is not None:
        return target.qualname
    # A class: its constructor; ``Cls.method`` through bases.
    cls = index.class_summary(name)
    if cls is not None:
        init = index.method(cls.qualname, "__init__")
        return init.qualname if init else None
    owner, _, attr = name.rpartition(".")
    if owner and index.class_summary(owner) is not None:
        found = index.method(owner, attr)
        return found.qualname if found else None
    # ``catalog_sync._replace_catalog()``: a method of a module-level instance of a project class.
    built = index.built_by(owner) if owner else None
    cls = index.class_summary(built) if built else None
    if cls is not None:
        found = index.method(cls.qualname, attr)
        return found.qualname if found else None
    # A call of a nested function by its bare name.
    if "." not in callee:
        local = index.function(f"{fn.qualname}.<locals>.{callee}")
        if local is not None:
            return local.qualname
    return None
