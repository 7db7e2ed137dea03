"""Declared per-file analyses: computed at most once per file, on demand.

A rule (or another analysis) lists what it needs, ``requires = (BindingTable,)``; the
engine computes the closure once per file and hands every rule the same instance
through ``ctx.analysis(BindingTable)`` (LibCST's metadata providers follow the same
idea: ``METADATA_DEPENDENCIES``).

An analysis may take part in the engine's single traversal: its ``visit_<Node>`` /
``leave_<Node>`` methods are dispatched like a rule's, *before* the rules' methods for
the same node, so that during a rule's ``visit_X`` the analysis has already seen ``X``
and everything before it, and in a rule's ``leave_Module`` it has seen the whole file.
An analysis without visit methods computes what it is asked lazily.
"""

from __future__ import annotations

from typing import (
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

import libcst as cst

from opslint.source import LineIndex
from opslint.syntax.names import ImportTable
from opslint.syntax.walk import walk

_A = TypeVar("_A", bound="Analysis")


class FileFacts(Protocol):
    """What an analysis may read of a file (``opslint.context.FileContext`` provides it;
    the analysis layer never imports the context, the rules or the engine)."""

    path: str
    text: str
    module: cst.Module
    module_name: Optional[str]
    imports: ImportTable
    lines: LineIndex
    stack: List[cst.CSTNode]

    def positions(self) -> Mapping[cst.CSTNode, Any]: ...

    def analysis(self, kind: Type[_A]) -> _A:
        """Another analysis of the file (one this analysis ``requires``)."""
        ...


class Analysis:
    """Base class of per-file analyses (see the module docstring)."""

    #: Analyses this one reads (computed before it, in the same traversal).
    requires: ClassVar[Tuple[Type[Analysis], ...]] = ()

    def __init__(self, ctx: FileFacts) -> None:
        self.ctx = ctx


def closure(wanted: Iterable[Type[Analysis]]) -> List[Type[Analysis]]:
    """``wanted`` and everything they require, dependencies first (a stable order)."""
    order: List[Type[Analysis]] = []
    state: Dict[Type[Analysis], str] = {}

    def visit(kind: Type[Analysis]) -> None:
        mark = state.get(kind)
        if mark == "done":
            return
        if mark == "active":
            raise TypeError(f"analyses require each other in a circle: {kind.__name__}")
        state[kind] = "active"
        for dependency in kind.requires:
            visit(dependency)
        state[kind] = "done"
        order.append(kind)

    for kind in wanted:
        visit(kind)
    return order


class Analyses:
    """The analyses of one file, created on first request (or by the engine before its walk)."""

    def __init__(self, ctx: FileFacts) -> None:
        self._ctx = ctx
        self._made: Dict[Type[Analysis], Analysis] = {}
        #: Whether the traversal has started: a traversal analysis asked for after that
        #: would have missed nodes.
        self.walking = False

    def prepare(self, wanted: Iterable[Type[Analysis]]) -> List[Analysis]:
        """Create ``wanted`` and their dependencies, in dependency order."""
        return [self.get(kind) for kind in closure(wanted)]

    def get(self, kind: Type[_A]) -> _A:
        made = self._made.get(kind)
        if made is None:
            if self.walking and _has_visits(kind):
                raise KeyError(f"{kind.__name__} takes part in the traversal: declare it in the rule's `requires`")
            for dependency in kind.requires:
                self.get(dependency)
            made = self._made[kind] = kind(self._ctx)
        assert isinstance(made, kind)
        return made


def analyse_alone(ctx: FileFacts, kind: Type[_A]) -> _A:
    """``kind`` (and what it requires) for a module outside the engine's traversal, in
    one traversal of its own that only the analyses take part in.

    For ``Rule.project_facts``, which gets a parsed module of another file but no walk:
    the facts a rule keeps about other modules then come from the same analyses (the
    same binding table and kinds) as its findings in the linted file.
    """
    analyses = Analyses(ctx)
    made = analyses.prepare([kind])
    walk(ctx.module, _AnalysesOnly(ctx, made))
    return analyses.get(kind)


class _AnalysesOnly:
    """The engine's dispatch, reduced to analyses (no rules, no crash isolation: a
    crash propagates to the caller, which owns the decision)."""

    def __init__(self, ctx: FileFacts, analyses: Sequence[Analysis]) -> None:
        self.stack = ctx.stack
        self.visits: Dict[str, List[Callable[[Any], Any]]] = {}
        self.leaves: Dict[str, List[Callable[[Any], Any]]] = {}
        for analysis in analyses:
            for attr in dir(type(analysis)):
                if attr.startswith("visit_"):
                    self.visits.setdefault(attr[6:], []).append(getattr(analysis, attr))
                elif attr.startswith("leave_"):
                    self.leaves.setdefault(attr[6:], []).append(getattr(analysis, attr))

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        for method in self.visits.get(type(node).__name__, ()):
            method(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for method in self.leaves.get(type(original_node).__name__, ()):
            method(original_node)
        self.stack.pop()


def _has_visits(kind: Type[Analysis]) -> bool:
    return any(name.startswith(("visit_", "leave_")) for name in dir(kind))
