"""Which variables certainly hold a new, unflushed ORM object (OPS201's must-analysis).

A :class:`~opslint.analysis.flow.PathWalker` with ``must = True``: a fact holds at a
point when it holds on every path that reaches it.  The facts of a variable ``v``:

* ``("new", v, Fresh)``: ``v`` holds an object built in this function (or a parameter,
  when a function is summarised) that nothing has written yet;
* ``("quiet", v, "")``: ``v`` was not handed to ``session.add`` (else the next query may
  autoflush it);
* ``("pristine", v, attr)``: ``v.attr`` was not assigned since the object was built
  (a test of an assigned key is not constant).

A key test is reported when it holds on *every* walk of its statement (a loop body is
walked again from the state its back edge brings, a ``finally`` once per way out), so
the verdict is the one of the loop's fixpoint.  The same walker summarises project
functions (``_unflushed_summaries.add_summaries``): which parameters have their key
tested before a flush, and whether every return hands back a new object.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.flow import PathWalker
from opslint.rules import _orm
from opslint.rules._orm_models import FunctionFacts, ParamTest, call_name
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import is_none, is_true, scope_nodes, suite_statements
from opslint.syntax.walk import children


@dataclass(frozen=True)
class Fresh:
    """What a new object is: its model (as shown), the attributes that hold its key (None
    while summarising: any key-like attribute), the keywords its constructor got."""

    model: str
    pk: Optional[FrozenSet[str]]
    keywords: Tuple[str, ...] = ()
    #: A list of new objects (``[Order(...) for p in payloads]``): what each element is.
    element: Optional[Fresh] = None


Fact = Tuple[str, str, object]
State = FrozenSet[Fact]
Construct = Callable[[cst.BaseExpression], Optional[Fresh]]
Callee = Callable[[cst.Call], Optional[Tuple[str, FunctionFacts]]]
OnTest = Callable[[cst.CSTNode, str, Fresh, str], None]
OnCall = Callable[[cst.CSTNode, str, Fresh, str, ParamTest], None]
OnReturn = Callable[[Optional[cst.BaseExpression], Dict[str, Fresh]], None]

_COMMIT: Fact = ("commit", "", "")
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_OPAQUE = (cst.Lambda, cst.FunctionDef, cst.ClassDef)


def fresh_of(state: State) -> Dict[str, Fresh]:
    return {f[1]: f[2] for f in state if f[0] == "new"}  # type: ignore[misc]


def built(var: str, fresh: Fresh, watched: FrozenSet[str]) -> State:
    """The facts of a variable that now holds a new object."""
    attrs = fresh.pk if fresh.pk is not None else watched
    return frozenset({("new", var, fresh), ("quiet", var, ""), *(("pristine", var, a) for a in attrs)})


def _shadows(node: cst.CSTNode, names: Dict[str, Fresh]) -> bool:
    """A comprehension whose ``for`` target reuses the name of a tracked variable."""
    if not isinstance(node, _COMPREHENSIONS):
        return False
    clause: Optional[cst.CompFor] = node.for_in
    while clause is not None:
        for target in scope_nodes(clause.target):
            if isinstance(target, cst.Name) and target.value in names:
                return True
        clause = clause.inner_for_in
    return False


def _children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    return () if isinstance(node, _OPAQUE) else children(node)


def _test_parts(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The operands whose truth the test uses: ``a and not b`` -> a, b."""
    if isinstance(expr, cst.BooleanOperation):
        yield from _test_parts(expr.left)
        yield from _test_parts(expr.right)
    elif isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        yield from _test_parts(expr.expression)
    else:
        yield expr


def _none_test(left: cst.BaseExpression, target: cst.ComparisonTarget) -> bool:
    operator = target.operator
    if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
        return is_none(left) or is_none(target.comparator)
    if isinstance(operator, (cst.In, cst.NotIn)) and isinstance(target.comparator, (cst.Tuple, cst.List, cst.Set)):
        return any(is_none(e.value) for e in target.comparator.elements)
    return False


def _cases_none(node: cst.Match) -> bool:
    """A ``match`` with a ``case None:`` (its subject's value is tested for None)."""
    return any(isinstance(case.pattern, cst.MatchSingleton) and is_none(case.pattern.value) for case in node.cases)


def _harmless(call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value in _orm.HARMLESS_FUNCTIONS
    if isinstance(func, cst.Attribute) and func.attr.value in _orm.LOG_METHODS:
        return "log" in (dotted_name(func.value) or "").lower()
    return False


def watched_attributes(body: cst.CSTNode) -> FrozenSet[str]:
    """Key-like attribute names read in a body (``x.id``, ``getattr(x, "order_id")``):
    the attributes a summary follows on parameters."""
    out: Set[str] = set()
    for node in scope_nodes(body):
        if isinstance(node, cst.Attribute) and _orm.keyish(node.attr.value):
            out.add(node.attr.value)
        elif isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            if isinstance(value, str) and _orm.keyish(value):
                out.add(value)
    return frozenset(out)


class FreshWalker(PathWalker[Fact]):
    """The must-analysis of one body (see the module docstring)."""

    must = True

    def __init__(
        self,
        imports: Optional[ImportTable],
        *,
        construct: Optional[Construct],
        callee: Optional[Callee],
        on_test: OnTest,
        on_call: Optional[OnCall],
        on_return: Optional[OnReturn] = None,
        watched: FrozenSet[str] = frozenset(),
    ) -> None:
        super().__init__(imports)
        self.construct = construct
        self.callee = callee
        self.on_test = on_test
        self.on_call = on_call
        self.on_return = on_return
        self.watched = watched
        #: Per statement (or test) walked: the reports that held on every walk of it so far.
        self._verdicts: Dict[int, Dict[int, Callable[[], None]]] = {}
        self._current: Optional[Dict[int, Callable[[], None]]] = None
        #: ``with`` items (id of the expression -> the item) and expressions that are not tests.
        self._with_items: Dict[int, cst.WithItem] = {}
        self._plain: Set[int] = set()
        #: Per name, the first ``for`` loop over it (in source order).
        self._first_loops: Dict[str, cst.For] = {}

    # -- driving ---------------------------------------------------------------

    def analyse(self, body: Union[cst.BaseSuite, Sequence[cst.BaseStatement]], state: State) -> None:
        statements = suite_statements(body) if isinstance(body, cst.BaseSuite) else list(body)
        for stmt in statements:
            for node in scope_nodes(stmt):
                if isinstance(node, cst.For):
                    iterated = dotted_name(node.iter)
                    if iterated is not None:
                        self._first_loops.setdefault(iterated, node)
                if isinstance(node, cst.WithItem):
                    self._with_items[id(node.item)] = node
                    self._plain.add(id(node.item))
                elif isinstance(node, cst.Match) and not _cases_none(node):
                    self._plain.add(id(node.subject))  # ``match bin_.id: case None:`` is a test
        end = statements[-1] if statements else cst.Pass()
        self.run(statements, state, end)
        for reports in self._verdicts.values():
            for report in reports.values():
                report()

    def _report(self, key: cst.CSTNode, report: Callable[[], None]) -> None:
        if self._current is not None:
            self._current[id(key)] = report

    # -- PathWalker hooks ----------------------------------------------------------

    def on_node(self, node: cst.CSTNode, state: State) -> State:
        self._current = {}
        try:
            if isinstance(node, cst.BaseSmallStatement):
                return self._simple(node, state)
            assert isinstance(node, cst.BaseExpression)
            item = self._with_items.get(id(node))
            if item is not None:
                state = self.expr(node, state)
                return self.bind(item.asname.name, None, state) if item.asname is not None else state
            return self.expr(node, state, test=id(node) not in self._plain)
        finally:
            self._settle(node)

    def _settle(self, node: cst.CSTNode) -> None:
        found = self._current or {}
        self._current = None
        earlier = self._verdicts.get(id(node))
        if earlier is None:
            self._verdicts[id(node)] = found
        else:
            self._verdicts[id(node)] = {k: found[k] for k in earlier if k in found}

    def on_loop_head(self, loop: Union[cst.For, cst.While], state: State) -> State:
        self._current = {}
        try:
            if isinstance(loop, cst.While):
                return self.expr(loop.test, state, test=True)
            state = self.expr(loop.iter, state)
            return self._bind_element(loop, self.bind(loop.target, None, state))
        finally:
            self._settle(loop.test if isinstance(loop, cst.While) else loop.iter)

    def on_loop_next(self, loop: cst.For, state: State) -> State:
        return self._bind_element(loop, self.bind(loop.target, None, state))

    def is_forever(self, loop: Union[cst.For, cst.While]) -> bool:
        # ``while True:`` ends only by ``break`` (the walker joins the breaks itself).
        return isinstance(loop, cst.While) and is_true(loop.test)

    def with_drains(self, item: cst.WithItem, state: State) -> State:
        call = item.item
        if isinstance(call, cst.Call) and call_name(call.func) in _orm.COMMITTING_CONTEXTS:
            return frozenset({_COMMIT})
        return frozenset()

    def drop(self, state: State, drains: State) -> State:
        # ``with session.begin():`` commits when the block ends: every new object is written.
        return frozenset() if _COMMIT in drains else state - drains

    # -- statements ----------------------------------------------------------------

    def _subscript_target(self, target: cst.BaseExpression, state: State) -> State:
        """``counts["new" if row.id is None else "old"] += 1``: the index is evaluated too."""
        if isinstance(target, cst.Subscript):
            for element in target.slice:
                if isinstance(element.slice, cst.Index):
                    state = self.expr(element.slice.value, state)
        return state

    def _simple(self, small: cst.BaseSmallStatement, state: State) -> State:
        if isinstance(small, cst.Expr):
            return self.expr(small.value, state)
        if isinstance(small, cst.Assign):
            state = self.expr(small.value, state)
            for target in small.targets:
                state = self._subscript_target(target.target, state)
                state = self.bind(target.target, small.value, state)
            return state
        if isinstance(small, cst.AnnAssign):
            if small.value is None:
                return state
            state = self.expr(small.value, state)
            return self.bind(small.target, small.value, state)
        if isinstance(small, cst.AugAssign):
            state = self.expr(small.value, state)
            state = self._subscript_target(small.target, state)
            return self.bind(small.target, None, state)
        if isinstance(small, cst.Return):
            if self.on_return is not None:
                self.on_return(small.value, fresh_of(state))
            return self.expr(small.value, state) if small.value is not None else state
        if isinstance(small, cst.Raise):
            return self.expr(small.exc, state) if small.exc is not None else state
        if isinstance(small, cst.Assert):
            # ``assert obj.id is None`` states an expectation on purpose (tests do): not a decision.
            return self.effects(small.test, state) if state else state
        if isinstance(small, cst.Del):
            return self.bind(small.target, None, state)
        if isinstance(small, (cst.Global, cst.Nonlocal)):
            return frozenset()
        return state

    # -- bindings ------------------------------------------------------------------

    @staticmethod
    def unbind_name(name: str, state: State) -> State:
        prefix = name + "."
        return frozenset(f for f in state if f[1] != name and not f[1].startswith(prefix))

    def bind(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression], state: State) -> State:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                state = self.bind(element.value, None, state)
            return state
        if isinstance(target, cst.StarredElement):
            return self.bind(target.value, None, state)
        if isinstance(target, cst.Attribute):
            owner = dotted_name(target.value)
            if owner is not None:
                state = state - {("pristine", owner, target.attr.value)}
        name = dotted_name(target)
        if name is None:
            return state
        state = self.unbind_name(name, state)
        if value is not None and isinstance(target, cst.Name):
            # ``key = order.id`` while the key is empty: the local holds None from now on.
            copied = self.pk_access(value, state, fresh_of(state))
            if copied is not None:
                state = state | {("keycopy", name, copied)}
        if value is not None and self.construct is not None:
            fresh = self.construct(value)
            if fresh is None and isinstance(value, cst.ListComp):
                # ``orders = [Order(...) for p in payloads]``: a list of new objects, none has a
                # key of its own to test (an empty ``pk``); its loop variable gets the element.
                item = self.construct(value.elt)
                if item is not None:
                    fresh = Fresh(item.model, frozenset(), item.keywords, item)
            if fresh is not None:
                state = state | built(name, fresh, self.watched)
        return state

    def _bind_element(self, loop: cst.For, state: State) -> State:
        """``for order in orders:`` over a list of new objects: ``order`` is new.  Only the first
        loop over the list counts: what it did to the elements (added, flushed, handed on) is
        not tracked per element, so a later loop may see them written."""
        batch = dotted_name(loop.iter)
        fresh = fresh_of(state).get(batch) if batch is not None else None
        target = dotted_name(loop.target)
        if fresh is None or fresh.element is None or target is None or batch is None:
            return state
        if self._first_loops.get(batch) is not loop:
            return state
        return state | built(target, fresh.element, self.watched)

    # -- expressions -----------------------------------------------------------------

    def expr(self, expr: cst.BaseExpression, state: State, *, test: bool = False) -> State:
        if not state:
            return state
        names = fresh_of(state)
        if not names:
            return state
        self.sinks(expr, state, names, test)
        return self.effects(expr, state)

    def pk_access(self, node: cst.CSTNode, state: State, names: Dict[str, Fresh]) -> Optional[Tuple[str, str]]:
        """(variable, attribute) when ``node`` reads the key of a new object (or a copy of
        it: ``key = order.id``, ``(key := order.id)``, taken while the key was empty)."""
        var: Optional[str] = None
        attr: Optional[str] = None
        if isinstance(node, cst.NamedExpr):
            node = node.value
        if isinstance(node, cst.Name):
            copied = next((f[2] for f in state if f[0] == "keycopy" and f[1] == node.value), None)
            if isinstance(copied, tuple) and copied[0] in names:
                return copied
            return None
        if isinstance(node, cst.Attribute):
            var, attr = dotted_name(node.value), node.attr.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "getattr"
            and len(node.args) in (2, 3)
            and isinstance(node.args[1].value, cst.SimpleString)
        ):
            var = dotted_name(node.args[0].value)
            literal = node.args[1].value.evaluated_value
            attr = literal if isinstance(literal, str) else None
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in _orm.KEY_ACCESSORS
            and not node.args
        ):
            # Peewee ``job.get_id()``, Django ``obj._get_pk_val()``: the key through a method.
            var = dotted_name(node.func.value)
            if var is None or var not in names:
                return None
            pk = names[var].pk
            keys = sorted(pk) if pk else ["id", "pk"]
            if not any(("pristine", var, key) in state for key in keys):
                return None
            return var, f"{node.func.attr.value}()"
        if var is None or attr is None or var not in names:
            return None
        fresh = names[var]
        if (attr not in fresh.pk) if fresh.pk is not None else not _orm.keyish(attr):
            return None
        if ("pristine", var, attr) not in state:
            return None
        return var, attr

    def sinks(self, expr: cst.BaseExpression, state: State, names: Dict[str, Fresh], test: bool) -> None:
        """Record the key tests in ``expr`` (``test``: the whole expression is a condition)."""
        candidates: List[Tuple[cst.CSTNode, cst.CSTNode]] = []
        tests: List[cst.BaseExpression] = [expr] if test else []
        stack: List[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Comparison):
                left: cst.BaseExpression = node.left
                for target in node.comparisons:
                    if _none_test(left, target):
                        candidates.append((node, left))
                        candidates.append((node, target.comparator))
                    left = target.comparator
            elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
                candidates.extend((node, part) for part in _test_parts(node.expression))
            elif isinstance(node, cst.IfExp):
                tests.append(node.test)
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "bool":
                tests.extend(arg.value for arg in node.args[:1])
            elif self._element_sinks(node, state, names):
                continue
            elif _shadows(node, names):
                continue
            stack.extend(reversed(_children(node)))
        for item in tests:
            candidates.extend((part, part) for part in _test_parts(item))
        done: Set[int] = set()
        for report_at, operand in candidates:
            if id(operand) in done:
                continue
            found = self.pk_access(operand, state, names)
            if found is None:
                if self._property_test(operand, state, names):
                    done.add(id(operand))
                continue
            done.add(id(operand))
            var, attr = found
            self._report(operand, partial(self.on_test, report_at, var, names[var], attr))

    def _property_test(self, node: cst.CSTNode, state: State, names: Dict[str, Fresh]) -> bool:
        """``if invoice.is_persisted:`` where the model's ``is_persisted`` property returns
        ``self.pk is not None``: a key test of the new object through its class."""
        if self.callee is None or self.on_call is None or not isinstance(node, cst.Attribute):
            return False
        var = dotted_name(node.value)
        if var is None or var not in names:
            return False
        target = self.callee(cst.Call(func=node))
        if target is None or not target[1].is_property:
            return False
        callee_name, facts = target
        fresh = names[var]
        for test in facts.tests:
            keyed = fresh.pk is None or test.attr in fresh.pk
            if test.index == 0 and keyed and ("pristine", var, test.attr) in state:
                self._report(node, partial(self.on_call, node, var, fresh, callee_name, test))
                return True
        return False

    def _element_sinks(self, node: cst.CSTNode, state: State, names: Dict[str, Fresh]) -> bool:
        """``[lvl for lvl in levels if lvl.id is None]`` over a list of new objects: the
        comprehension's variable is each new element, and its filter a key test."""
        if not isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return False
        clause = node.for_in
        if clause.inner_for_in is not None or not isinstance(clause.target, cst.Name):
            return False
        batch = names.get(clause.iter.value) if isinstance(clause.iter, cst.Name) else None
        if batch is None or batch.element is None or clause.target.value in names:
            return False
        inner = state | built(clause.target.value, batch.element, self.watched)
        inner_names = fresh_of(inner)
        for condition in clause.ifs:
            self.sinks(condition.test, inner, inner_names, True)
        self.sinks(node.elt, inner, inner_names, False)
        return True

    def effects(self, expr: cst.BaseExpression, state: State) -> State:
        """Apply what the expression does to new objects: flushes, adds, escapes."""
        names = fresh_of(state)
        calls: List[cst.Call] = []
        uses: List[Tuple[str, List[cst.CSTNode]]] = []
        self.scan(expr, [], state, names, calls, uses)
        if not calls and not uses:
            return state
        added: Set[str] = set()
        killed: Set[str] = set()
        for call in calls:
            name = call_name(call.func)
            if isinstance(call.func, cst.Attribute) and name in _orm.FLUSH_METHODS:
                return frozenset()
            if not _harmless(call):
                killed.update(k for k in names if ("quiet", k, "") not in state)
                if name not in _orm.SESSION_ADD_METHODS:
                    # ``self.order`` can be written by any method that sees ``self``.
                    killed.update(k for k in names if "." in k)
        for var, ancestors in uses:
            verdict = self.use(ancestors)
            if verdict == "add":
                added.add(var)
            elif verdict == "kill":
                killed.add(var)
        state = state - {("quiet", var, "") for var in added - killed}
        for var in killed:
            state = self.unbind_name(var, state)
        return state

    def scan(
        self,
        node: cst.CSTNode,
        ancestors: List[cst.CSTNode],
        state: State,
        names: Dict[str, Fresh],
        calls: List[cst.Call],
        uses: List[Tuple[str, List[cst.CSTNode]]],
    ) -> None:
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = dotted_name(node)
            if name is not None and name in names:
                uses.append((name, list(ancestors)))
                if isinstance(node, cst.Name):
                    return
        if isinstance(node, cst.NamedExpr):
            name = dotted_name(node.target)
            if name is not None:
                uses.append((name, [node]))
        elif _shadows(node, names):
            return
        ancestors.append(node)
        if isinstance(node, cst.Attribute):
            kids: Sequence[cst.CSTNode] = (node.value,)
        elif isinstance(node, cst.Arg):
            kids = (node.value,)
        else:
            kids = _children(node)
        for child in kids:
            self.scan(child, ancestors, state, names, calls, uses)
        ancestors.pop()
        if isinstance(node, cst.Call):
            calls.append(node)
            if self.on_call is not None and self.callee is not None and names:
                self.interprocedural(node, state, names)

    @staticmethod
    def use(ancestors: List[cst.CSTNode]) -> str:
        """How one occurrence of a new object's variable affects it: keep, add or kill."""
        parent = ancestors[-1] if ancestors else None
        if parent is None:
            return "keep"
        if isinstance(parent, cst.NamedExpr):
            return "kill"  # rebound by ``:=``
        if isinstance(parent, cst.Attribute):
            grand = ancestors[-2] if len(ancestors) > 1 else None
            attr = parent.attr.value
            if attr in _orm.OBJECT_ESCAPE_ATTRIBUTES:
                return "kill"
            if isinstance(grand, cst.Call) and grand.func is parent and attr not in _orm.OBJECT_SAFE_METHODS:
                return "kill"
            return "keep"
        if isinstance(parent, (cst.Comparison, cst.ComparisonTarget, cst.UnaryOperation, cst.BooleanOperation)):
            return "keep"
        if isinstance(parent, (cst.FormattedStringExpression, cst.If, cst.While, cst.IfExp)):
            return "keep"
        holder = parent
        depth = len(ancestors) - 1
        while isinstance(holder, (cst.Element, cst.List, cst.Tuple, cst.Set)) and depth > 0:
            depth -= 1
            holder = ancestors[depth]
        if isinstance(holder, cst.Arg) and depth > 0:
            call = ancestors[depth - 1]
            if isinstance(call, cst.Call):
                if _harmless(call):
                    return "keep"
                if isinstance(call.func, cst.Attribute) and call.func.attr.value in _orm.SESSION_ADD_METHODS:
                    return "add"
        return "kill"

    def interprocedural(self, call: cst.Call, state: State, names: Dict[str, Fresh]) -> None:
        assert self.callee is not None and self.on_call is not None
        positional: List[Tuple[int, str]] = []
        keywords: List[Tuple[str, str]] = []
        for index, arg in enumerate(call.args):
            if arg.star:
                break
            name = dotted_name(arg.value)
            if name is None or name not in names:
                continue
            if arg.keyword is not None:
                keywords.append((arg.keyword.value, name))
            else:
                positional.append((index, name))
        # ``order.save_to(session)``: the new object is the method's ``self``.
        receiver = dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None
        receiver = receiver if receiver is not None and receiver in names else None
        if not positional and not keywords and receiver is None:
            return
        target = self.callee(call)
        if target is None:
            return
        callee_name, facts = target
        offset = 1 if facts.bound and isinstance(call.func, cst.Attribute) else 0
        for test in facts.tests:
            matched = [var for index, var in positional if index + offset == test.index]
            matched += [var for keyword, var in keywords if keyword == test.name]
            if receiver is not None and offset and test.index == 0:
                matched.append(receiver)
            for var in matched:
                fresh = names[var]
                # (In a summary a parameter's model is unknown: ``pk`` is None, every key counts.)
                keyed = fresh.pk is None or test.attr in fresh.pk
                if keyed and ("pristine", var, test.attr) in state:
                    self._report(call, partial(self.on_call, call, var, fresh, callee_name, test))
                    return
