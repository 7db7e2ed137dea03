"""Summaries of project functions for OPS201, made with the walker of ``_unflushed.py``.

Per function of a module (and method of its classes): which parameters, if they
arrived unflushed, have an attribute (their key) tested before a flush, and what
every return builds when each builds a new object.  A call of a summarised function
is then read through these facts (``_orm_models.FunctionFacts``): the key test it
makes of an argument, the new object it returns.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from opslint.rules import _orm
from opslint.rules._orm_models import FunctionFacts, ModuleFacts, ParamTest, Qualifier, call_name, candidate
from opslint.rules._unflushed import Fresh, FreshWalker, State, built, watched_attributes
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import scope_nodes


def _functions(module: cst.Module) -> Iterator[Tuple[str, cst.FunctionDef, bool]]:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            yield stmt.name.value, stmt, False
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            for inner in stmt.body.body:
                if isinstance(inner, cst.FunctionDef):
                    static = any(call_name(d.decorator) == "staticmethod" for d in inner.decorators)
                    yield f"{stmt.name.value}.{inner.name.value}", inner, not static


def positional_params(node: cst.FunctionDef) -> List[cst.Param]:
    return [*node.params.posonly_params, *node.params.params]


def _prescan(body: cst.CSTNode, names: Dict[str, int]) -> Tuple[bool, bool]:
    """A cheap pre-check: (the body reads ``<param>.id``-like attributes or uses ``getattr``,
    the body returns a name or a call and yields nothing)."""
    reads = False
    returns = False
    for node in scope_nodes(body):
        if isinstance(node, cst.Return):
            returns = returns or isinstance(node.value, (cst.Name, cst.Call))
        elif isinstance(node, cst.Yield):
            return reads, False
        elif isinstance(node, cst.Attribute):
            value = node.value
            if isinstance(value, cst.Name) and value.value in names and _orm.keyish(node.attr.value):
                reads = True
        elif isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Name) and func.value == "getattr":
                reads = True
    return reads, returns


def summarise(
    node: cst.FunctionDef, module: cst.Module, bound: bool, qualify: Qualifier, owner: Optional[str] = None
) -> Tuple[Tuple[ParamTest, ...], Optional[Tuple[str, Tuple[str, ...]]]]:
    """Which parameters, if they arrived unflushed, have an attribute tested before a flush;
    and what every return builds, when each builds a new object (in a classmethod of
    ``owner``, ``cls(...)`` builds an ``owner``)."""
    indexes: Dict[str, int] = {}
    for index, param in enumerate(positional_params(node)):
        indexes[param.name.value] = index
    for param in node.params.kwonly_params:
        indexes[param.name.value] = -1
    if bound:
        for param in positional_params(node)[:1]:
            indexes.pop(param.name.value, None)
    reads, returns = _prescan(node.body, indexes)
    reads = reads and bool(indexes)
    if not reads and not returns:
        return (), None
    found: Dict[Tuple[str, str], ParamTest] = {}
    returned: List[Optional[Fresh]] = []

    def on_test(sink: cst.CSTNode, var: str, fresh: Fresh, attr: str) -> None:
        key = (var, attr)
        if var in indexes and fresh.pk is None and key not in found:
            found[key] = ParamTest(indexes[var], var, attr, module.code_for_node(sink).strip())

    def construct(value: cst.BaseExpression) -> Optional[Fresh]:
        if owner is not None and isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            if value.func.value == "cls":
                value = value.with_changes(func=cst.Name(owner))
        made = candidate(value, qualify)
        return Fresh(made.model, frozenset(), made.keywords) if made is not None else None

    def on_return(value: Optional[cst.BaseExpression], names: Dict[str, Fresh]) -> None:
        made: Optional[Fresh] = None
        if value is not None:
            name = dotted_name(value)
            made = names.get(name) if name is not None else construct(value)
        returned.append(made if made is not None and made.pk is not None else None)

    watched = watched_attributes(node.body) if reads else frozenset()
    initial: State = frozenset()
    if reads:
        for name in indexes:
            initial |= built(name, Fresh("", None), watched)
    walker = FreshWalker(
        qualify.imports,
        construct=construct if returns else None,
        callee=None,
        on_test=on_test,
        on_call=None,
        on_return=on_return if returns else None,
        watched=watched,
    )
    walker.analyse(node.body, initial)
    result: Optional[Tuple[str, Tuple[str, ...]]] = None
    kinds = {(b.model, b.keywords) if b is not None else None for b in returned}
    if len(kinds) == 1 and None not in kinds:
        result = next(iter(kinds))
    return tuple(found.values()), result


def add_summaries(module: cst.Module, facts: ModuleFacts, qualify: Qualifier) -> None:
    for name, node, bound in _functions(module):
        decorators = {call_name(d.decorator) for d in node.decorators}
        classmethod = "." in name and "classmethod" in decorators
        tests, returns = summarise(node, module, bound, qualify, name.split(".")[0] if classmethod else None)
        if tests or returns:
            via_class = "." in name and bool(decorators & {"classmethod", "staticmethod"})
            facts.functions[name] = FunctionFacts(tests, bound, returns, via_class)
