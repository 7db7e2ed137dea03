"""Summaries of project functions for OPS201, made with the walker of ``_unflushed.py``.

Per function of a module (and method of its classes): which parameters, if they
arrived unflushed, have an attribute (their key) tested before a flush, and what
every return builds when each builds a new object.  A call of a summarised function
is then read through these facts (``_orm_models.FunctionFacts``): the key test it
makes of an argument, the new object it returns.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterator, List, Mapping, Optional, Set, Tuple

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


def _receiver_tested(method: str) -> bool:
    """Whether a new object's call of ``method`` may make a constant key test of ``self``
    (not a persistence hook such as Django's ``save``, nor a dunder method)."""
    return method not in _orm.LIFECYCLE_METHODS and not method.startswith("__")


def positional_params(node: cst.FunctionDef) -> List[cst.Param]:
    return [*node.params.posonly_params, *node.params.params]


def _prescan(
    body: cst.CSTNode,
    names: Dict[str, int],
    qualify: Qualifier,
    owner: Optional[str],
    calls: Optional[Set[str]] = None,
    cls: Optional[str] = None,
) -> Tuple[bool, bool]:
    """A cheap pre-check: (the body reads ``<param>.id``-like attributes or uses ``getattr``,
    the body returns a name or a call, yields nothing and makes a call that may build a
    model: ``Model(k=...)``, in a classmethod ``cls(...)``).  ``calls`` collects the
    helpers (``_is_new``, ``Class.method`` for ``self.method``) a parameter is passed to."""
    reads = False
    returns = False
    builds = False
    yields = False
    reads_at_yield = False
    for node in scope_nodes(body):
        if isinstance(node, cst.Return):
            returns = returns or isinstance(node.value, (cst.Name, cst.Call))
        elif isinstance(node, cst.Yield):
            if not yields:
                reads_at_yield = reads  # a generator is summarised by what it reads before it yields
            yields = True
        elif isinstance(node, cst.Attribute):
            value = node.value
            if isinstance(value, cst.Name) and value.value in names and _orm.keyish(node.attr.value):
                reads = True
        elif isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Name) and func.value == "getattr":
                reads = True
            if not builds:
                builds = (owner is not None and isinstance(func, cst.Name) and func.value == "cls") or (
                    candidate(node, qualify) is not None
                )
            if calls is not None and any(dotted_name(a.value) in names for a in node.args):
                key = _helper_key(func, cls)
                if key is not None:
                    calls.add(key)
    if yields:
        return reads_at_yield, False
    return reads, returns and builds


def summarise(
    node: cst.FunctionDef,
    module: cst.Module,
    bound: bool,
    qualify: Qualifier,
    owner: Optional[str] = None,
    receiver: bool = False,
    helpers: Optional[Mapping[str, FunctionFacts]] = None,
    cls: Optional[str] = None,
    calls: Optional[Set[str]] = None,
) -> Tuple[Tuple[ParamTest, ...], Optional[Tuple[str, Tuple[str, ...]]]]:
    """Which parameters, if they arrived unflushed, have an attribute tested before a flush;
    and what every return builds, when each builds a new object (in a classmethod of
    ``owner``, ``cls(...)`` builds an ``owner``).  With ``receiver``, an instance method's
    ``self`` counts as parameter 0 (``def save_to(self, session): if self.id is None``).
    ``helpers``: summaries of this module's functions that test a parameter's key, followed
    where a parameter is handed on (``_persist(session, obj)`` calls ``_is_new(obj)``); ``cls``
    is the class of a method, for ``self._is_new(obj)``; ``calls`` collects the helpers it
    hands a parameter to (see ``_prescan``)."""
    indexes: Dict[str, int] = {}
    for index, param in enumerate(positional_params(node)):
        indexes[param.name.value] = index
    for param in node.params.kwonly_params:
        indexes[param.name.value] = -1
    if bound and not receiver:
        for param in positional_params(node)[:1]:
            indexes.pop(param.name.value, None)
    if helpers is not None:
        # A later round: only a parameter handed to a helper with tests can add a test (what
        # the function returns was settled in the first round).
        handed = _handed_on(node.body, indexes, helpers, cls) if indexes else frozenset()
        if not handed:
            return (), None
        reads, returns = True, False
    else:
        handed = frozenset()
        reads, returns = _prescan(node.body, indexes, qualify, owner, calls, cls)
        reads = reads and bool(indexes)
    if not reads and not returns:
        return (), None
    found: Dict[Tuple[str, str], ParamTest] = {}
    returned: List[Optional[Fresh]] = []

    def on_test(sink: cst.CSTNode, var: str, fresh: Fresh, attr: str) -> None:
        key = (var, attr)
        if var in indexes and fresh.pk is None and key not in found:
            found[key] = ParamTest(indexes[var], var, attr, module.code_for_node(sink).strip())

    def on_call(call: cst.CSTNode, var: str, fresh: Fresh, callee_name: str, test: ParamTest) -> None:
        key = (var, test.attr)
        if var in indexes and fresh.pk is None and key not in found:
            found[key] = ParamTest(indexes[var], var, test.attr, test.text)

    def local_callee(call: cst.Call) -> Optional[Tuple[str, FunctionFacts]]:
        name = _helper_key(call.func, cls)
        found_facts = helpers.get(name) if helpers is not None and name is not None else None
        display = dotted_name(call.func)
        return (display, found_facts) if found_facts is not None and found_facts.tests and display else None

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

    watched = (watched_attributes(node.body) | handed) if reads else frozenset()
    initial: State = frozenset()
    if reads:
        for name in indexes:
            initial |= built(name, Fresh("", None), watched)
    walker = FreshWalker(
        qualify.imports,
        construct=construct if returns else None,
        callee=local_callee if handed else None,
        on_test=on_test,
        on_call=on_call if handed else None,
        on_return=on_return if returns else None,
        watched=watched,
    )
    walker.analyse(node.body, initial)
    result: Optional[Tuple[str, Tuple[str, ...]]] = None
    kinds = {(b.model, b.keywords) if b is not None else None for b in returned}
    if len(kinds) == 1 and None not in kinds:
        result = next(iter(kinds))
    return tuple(found.values()), result


def _helper_key(func: cst.BaseExpression, cls: Optional[str]) -> Optional[str]:
    """The summary name of ``helper(...)`` or ``self.helper(...)`` (in a method of ``cls``)."""
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" and cls:
        return f"{cls}.{func.attr.value}"
    return None


def _handed_on(
    body: cst.CSTNode, indexes: Mapping[str, int], helpers: Mapping[str, FunctionFacts], cls: Optional[str]
) -> FrozenSet[str]:
    """The key attributes that helpers of this module test, where a parameter is passed to one."""
    out: Set[str] = set()
    for node in scope_nodes(body):
        if not isinstance(node, cst.Call) or not any(dotted_name(a.value) in indexes for a in node.args):
            continue
        name = _helper_key(node.func, cls)
        found = helpers.get(name) if name is not None else None
        if found is not None:
            out.update(test.attr for test in found.tests)
    return frozenset(out)


#: How many times a module's summaries are re-made to follow helpers that call helpers.
_HELPER_ROUNDS = 2


def add_summaries(module: cst.Module, facts: ModuleFacts, qualify: Qualifier) -> None:
    functions = list(_functions(module))
    #: Per function, the helpers of the module it hands a parameter to (seen in round 0).
    called: Dict[str, Set[str]] = {}
    for round_ in range(1 + _HELPER_ROUNDS):
        # Later rounds re-summarise only what hands a parameter to a function with tests.
        helpers = {name: found for name, found in facts.functions.items() if found.tests} if round_ else None
        if round_ and not helpers:
            return
        changed = False
        for name, node, bound in functions:
            if round_ and (
                name in facts.functions
                and facts.functions[name].tests
                or not called.get(name, set()) & (helpers or {}).keys()
            ):
                continue
            decorators = {call_name(d.decorator) for d in node.decorators}
            classmethod = "." in name and "classmethod" in decorators
            tests, returns = summarise(
                node,
                module,
                bound,
                qualify,
                name.split(".")[0] if classmethod else None,
                receiver=bound and not classmethod and _receiver_tested(node.name.value),
                helpers=helpers,
                cls=name.split(".")[0] if "." in name else None,
                calls=None if round_ else called.setdefault(name, set()),
            )
            if round_ and not tests:
                continue
            if round_ and name in facts.functions:
                returns = facts.functions[name].returns
            if tests or returns:
                via_class = "." in name and bool(decorators & {"classmethod", "staticmethod"})
                is_property = "." in name and bool(decorators & _orm.PROPERTY_DECORATORS)
                facts.functions[name] = FunctionFacts(tests, bound, returns, via_class, is_property)
                changed = changed or bool(tests)
        if round_ and not changed:
            return
