"""OPS303 retry-without-backoff: an immediate or unbounded retry on a rate limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.flow import PathWalker
from opslint.analysis.scopes import BindingTable, Scope
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _jobs
from opslint.rules._recursion import calls_self, map_arguments
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import (
    ExitKind,
    always_exits,
    calls_in,
    is_true,
    nested_statements,
    scope_nodes,
    suite_statements,
)
from opslint.syntax.walk import iter_nodes

#: One path through an iteration: (saw the signal, slept, counters stepped on the way).
_Path = Tuple[bool, bool, FrozenSet[str]]
_START: FrozenSet[_Path] = frozenset({(False, False, frozenset())})


@dataclass
class _Signal:
    """A block that runs on a rate-limit/transient signal, and the check that opens it."""

    check: cst.CSTNode
    #: The ``if`` or ``try`` statement holding the check.
    statement: cst.BaseStatement
    block: Sequence[cst.BaseStatement]
    #: "HTTP 429", "`RateLimitError`", "Retry-After".
    what: str


@dataclass
class _Retry:
    node: cst.CSTNode
    signal: _Signal
    slept: List[bool] = field(default_factory=list)
    bounded: List[bool] = field(default_factory=list)


class _RetryPaths(PathWalker[_Path]):
    """Walks one iteration of a loop body (or a function body, for recursion) and notes,
    at each retry (``continue`` of the loop, falling off its end, a recursive call),
    whether the path saw the signal, slept, and stepped a counter."""

    def __init__(self, rule: RetryWithoutBackoff, signal_nodes: Set[int], retries: Set[int]) -> None:
        super().__init__(rule.ctx.imports)
        self.rule = rule
        self.signal_nodes = signal_nodes
        self.retries = retries
        #: Retry node id -> the path states that reached it.
        self.reached: List[Tuple[cst.CSTNode, FrozenSet[_Path]]] = []

    def on_node(self, node: cst.CSTNode, state: FrozenSet[_Path]) -> FrozenSet[_Path]:
        signal = id(node) in self.signal_nodes
        slept = self.rule.sleeps(node)
        stepped = _stepped(node)
        if any(id(call) in self.retries for call in calls_in(node)):
            retry = next(call for call in calls_in(node) if id(call) in self.retries)
            self.reached.append((retry, _mark(state, signal, False, ())))
        if not (signal or slept or stepped):
            return state
        return _mark(state, signal, slept, stepped)

    def on_jump(self, node: Union[cst.Break, cst.Continue], state: FrozenSet[_Path]) -> None:
        if id(node) in self.retries:
            self.reached.append((node, _mark(state, id(node) in self.signal_nodes, False, ())))

    def on_exit(self, kind: ExitKind, node: cst.CSTNode, state: FrozenSet[_Path]) -> None:
        if kind is ExitKind.END and id(node) in self.retries:
            self.reached.append((node, state))


def _mark(state: FrozenSet[_Path], signal: bool, slept: bool, stepped: Sequence[str]) -> FrozenSet[_Path]:
    return frozenset((s or signal, z or slept, c | frozenset(stepped)) for s, z, c in state)


#: Marks a name in a path's counters that grows by a factor (``delay *= 2``): a bound
#: only where a test of it leaves the loop (``if delay > 1024: raise``), not where it
#: clamps the delay (``if delay > 60: delay = 60``).
_GROWN = "*"


def _stepped(node: cst.CSTNode) -> Tuple[str, ...]:
    """Counters this statement steps: ``attempt += 1``, ``tries = tries - 1``,
    ``tries_left = 0 if permanent else tries_left - 1``; and growing waits
    (``wait_time *= 2``, ``delay = delay * 2``), marked ``_GROWN``."""
    if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name):
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            return (node.target.value,)
        if isinstance(node.operator, (cst.MultiplyAssign, cst.LeftShiftAssign)):
            return (_GROWN + node.target.value,)
    if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
        value = node.value
        name = node.targets[0].target.value
        if (
            isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, (cst.Multiply, cst.LeftShift))
            and isinstance(value.left, cst.Name)
            and value.left.value == name
        ):
            return (_GROWN + name,)
    if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
        name = node.targets[0].target.value
        for inner in iter_nodes(node.value):
            if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, (cst.Add, cst.Subtract)):
                if any(isinstance(n, cst.Name) and n.value == name for n in iter_nodes(inner)):
                    return (name,)
    return ()


class RetryWithoutBackoff(Rule):
    """A retry on a rate limit or a transient failure that calls again at once, or forever.

    ## What it does
    Finds retries after a rate-limit or transient signal: a status check for 429 (or
    502/503/504, or any 5xx), an `except` of a rate-limit exception (`RateLimitError`,
    `Throttled`, `ThrottlingException`, `TooManyRequests`...), a `Retry-After` read.  A
    retry is a `continue` (or falling off the end) of the loop that makes the request,
    or a call of the function to itself.  It reports the retry when the path from the
    signal back to the request has no sleep (`time.sleep(0)` does not count), or when
    nothing bounds the attempts (a `range`, an attempt counter stepped on that path and
    checked, a deadline).  A `continue` in a loop over items moves on to the next item
    and is not a retry; functions decorated with tenacity/backoff retries are left to
    those libraries.

    ## Why it matters
    Incident 001: a third-party API key shared by every account answered 429 past 20-30
    requests per second.  A client that retries at once only sends more requests into
    the same limit (and keeps it exhausted for everyone sharing the key); one that
    retries forever turns a long outage into a stuck worker.

    ## Example
    ```python
    import requests

    def push_status(session: requests.Session, order_id, status):
        while True:
            resp = session.put(f"https://api.example.com/orders/{order_id}", json={"status": status}, timeout=10)
            if resp.status_code == 429:
                continue
            resp.raise_for_status()
            return resp.json()
    ```

    ## Use instead
    ```python
    import random
    import time

    import requests

    def push_status(session: requests.Session, order_id, status):
        for attempt in range(5):
            resp = session.put(f"https://api.example.com/orders/{order_id}", json={"status": status}, timeout=10)
            if resp.status_code == 429:
                time.sleep(float(resp.headers.get("Retry-After", 2 ** attempt)) + random.random())
                continue
            resp.raise_for_status()
            return resp.json()
        raise RuntimeError("still rate limited")
    ```

    ## Fix safety
    No automatic fix: how long to wait and how often to try is the API's contract.  The
    suggestion is bounded retries with exponential backoff and jitter that honour
    `Retry-After` (urllib3 `Retry(backoff_factor=..., respect_retry_after_header=True)`
    mounted on the session, tenacity, backoff).

    ## Options
    None.

    ## See also
    OPS302 (recursion used as a loop).
    """

    code = "OPS303"
    name = "retry-without-backoff"
    message = "{retry} on {signal} with {missing}: {why}"
    tokens = (
        "429",
        "502",
        "503",
        "504",
        "RateLimit",
        "Ratelimit",
        "Throttl",
        "TooManyRequests",
        "TOO_MANY_REQUESTS",
        "SERVICE_UNAVAILABLE",
        "too_many_requests",
        "Retry-After",
        "retry-after",
        "retry_after",
        "ServiceUnavailable",
        "status_code >= 500",
    )
    fix_availability = "none"
    requires = (BindingTable,)

    SUGGESTION = (
        "Retry a bounded number of times with exponential backoff and jitter, honouring `Retry-After` "
        "(urllib3 `Retry(backoff_factor=..., respect_retry_after_header=True)`, tenacity, backoff)"
    )

    def leave_Module(self, original_node: cst.Module) -> None:
        table = self.ctx.analysis(BindingTable)
        self._table = table
        for scope in list(table.scopes()):
            function = scope.function
            if function is None or not isinstance(function.body, cst.IndentedBlock) or self._delegated(function):
                continue
            signals = self._signals(function)
            if not signals:
                continue
            statements = list(nested_statements(function.body.body))
            for stmt, _enclosing in statements:
                if isinstance(stmt, (cst.For, cst.While)) and self._retry_loop(stmt):
                    self._loop(stmt, signals)
            self._recursion(function, scope, signals)

    # -- signals ------------------------------------------------------------------------------

    def _delegated(self, function: cst.FunctionDef) -> bool:
        for decorator in function.decorators:
            expr = decorator.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            name = self.qualified_name(func) or dotted_name(func) or ""
            if _jobs.RETRY_DECORATORS.match(name) or _jobs.RETRY_DECORATORS.match(name.rsplit(".", 1)[-1]):
                return True
        return False

    def _signals(self, function: cst.FunctionDef) -> List[_Signal]:
        assert isinstance(function.body, cst.IndentedBlock)
        out: List[_Signal] = []
        for stmt, _enclosing in nested_statements(function.body.body):
            if isinstance(stmt, cst.If):
                what = self._status_test(stmt.test) or ("Retry-After" if _retry_after(stmt.test) else None)
                if what:
                    out.append(_Signal(stmt.test, stmt, suite_statements(stmt.body), what))
            elif isinstance(stmt, (cst.Try, cst.TryStar)):
                for handler in stmt.handlers:
                    what = self._rate_limit_handler(handler)
                    if what:
                        out.append(_Signal(handler, stmt, suite_statements(handler.body), what))
        return out

    def _status_test(self, test: cst.BaseExpression) -> Optional[str]:
        if isinstance(test, cst.BooleanOperation):
            return self._status_test(test.left) or self._status_test(test.right)
        if not isinstance(test, cst.Comparison):
            return None
        sides = [test.left, *(c.comparator for c in test.comparisons)]
        if not any(_status_value(side) for side in sides):
            return None
        for target in test.comparisons:
            operator = target.operator
            found = _retry_statuses(target.comparator) or _retry_statuses(test.left)
            if found and isinstance(operator, (cst.Equal, cst.In, cst.Is)):
                return "HTTP " + "/".join(str(s) for s in found)
            if isinstance(operator, (cst.GreaterThanEqual, cst.GreaterThan)) and isinstance(
                target.comparator, cst.Integer
            ):
                if _integer(target.comparator) in (499, 500):
                    return "HTTP 5xx"
        return None

    def _rate_limit_handler(self, handler: Union[cst.ExceptHandler, cst.ExceptStarHandler]) -> Optional[str]:
        if handler.type is None:
            return None
        types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
        for item in types:
            value = item.value if isinstance(item, cst.Element) else item
            name = dotted_name(value) if isinstance(value, cst.BaseExpression) else None
            if _jobs.rate_limit_exception(name):
                return f"`{name}`"
        return None

    # -- waits --------------------------------------------------------------------------------

    def sleeps(self, node: cst.CSTNode) -> bool:
        """A statement that waits a non-zero time (``time.sleep(d)``, ``await asyncio.sleep(d)``,
        ``event.wait(d)``, a project ``backoff(...)``/``_sleep(...)``)."""
        for call in calls_in(node):
            func = call.func
            name = self.qualified_name(func) or dotted_name(func) or ""
            last = name.rsplit(".", 1)[-1].lower()
            waits = name in _jobs.SLEEPS or "sleep" in last or "backoff" in last
            if not waits and last in _jobs.WAIT_METHODS and isinstance(func, cst.Attribute) and call.args:
                waits = True
            if waits and not (call.args and _zero(call.args[0].value)):
                return True
        return False

    # -- loops ---------------------------------------------------------------------------------

    def _retry_loop(self, loop: Union[cst.For, cst.While]) -> bool:
        """A loop that repeats the same request (not one over items)."""
        body = suite_statements(loop.body)
        if isinstance(loop, cst.While):
            return not _takes_first(body)
        target = loop.target
        if not isinstance(target, cst.Name):
            return False
        if isinstance(loop.iter, (cst.List, cst.Tuple)):
            return True
        iterator = self.qualified_name(loop.iter.func) if isinstance(loop.iter, cst.Call) else None
        if iterator not in ("range", "itertools.count", "itertools.repeat", "builtins.range"):
            if not (isinstance(loop.iter, cst.Call) and dotted_name(loop.iter.func) == "range"):
                return False
        return not self._used_as_item(target.value, loop)

    def _used_as_item(self, name: str, loop: Union[cst.For, cst.While]) -> bool:
        """The loop variable picks what is requested (an index, an argument)."""
        for node in scope_nodes(loop.body):
            if isinstance(node, cst.Subscript) and any(
                isinstance(n, cst.Name) and n.value == name for e in node.slice for n in iter_nodes(e)
            ):
                return True
            if isinstance(node, cst.Call):
                callee = dotted_name(node.func) or ""
                head, _, last = callee.rpartition(".")
                if (
                    self.sleeps(node)
                    or last in _NEUTRAL_CALLS
                    or head.split(".")[-1] in _LOGGERS
                    or callee in _NEUTRAL_CALLS
                ):
                    continue
                for arg in node.args:
                    if any(isinstance(n, cst.Name) and n.value == name for n in iter_nodes(arg.value)):
                        if not isinstance(arg.value, (cst.BinaryOperation, cst.Call)):
                            return True
        return False

    def _loop(self, loop: Union[cst.For, cst.While], signals: List[_Signal]) -> None:
        body = suite_statements(loop.body)
        own = {
            id(stmt)
            for stmt, enclosing in nested_statements(body)
            if not any(isinstance(outer, (cst.For, cst.While)) for outer, _role in enclosing)
        }
        inside = [s for s in signals if id(s.statement) in own]
        if not inside:
            return
        signal_nodes = {id(n) for s in inside for stmt in s.block for n in iter_nodes(stmt)}
        continues = _own_continues(loop)
        retries = {id(c) for c in continues} | {id(loop)}
        walker = _RetryPaths(self, signal_nodes, retries)
        walker.run(body, _START, loop)
        bound = self._static_bound(loop)
        compared = _compared(loop)
        leaving = _compared(loop, leaving=True)
        found: List[_Retry] = []
        for node, states in walker.reached:
            paths = [p for p in states if p[0] or id(node) in signal_nodes]
            if not paths:
                continue
            signal = next(
                (s for s in inside if id(node) in {id(n) for st in s.block for n in iter_nodes(st)}), inside[0]
            )
            retry = _Retry(node if node is not loop else signal.block[-1], signal)
            for _signal, slept, counted in paths:
                retry.slept.append(slept)
                grown = {name[len(_GROWN) :] for name in counted if name.startswith(_GROWN)}
                retry.bounded.append(bound or bool(counted & compared) or bool(grown & leaving))
            found.append(retry)
        for retry in found:
            self._report(
                retry,
                "`continue` retries the request"
                if isinstance(retry.node, cst.Continue)
                else "the loop retries the request",
            )

    def _static_bound(self, loop: Union[cst.For, cst.While]) -> bool:
        """``for`` over ``range``/a literal; a deadline in the test or in a check of the body."""
        if isinstance(loop, cst.For):
            if isinstance(loop.iter, cst.Call):
                name = self.qualified_name(loop.iter.func) or dotted_name(loop.iter.func)
                if name in ("itertools.count", "count"):
                    return False
                if name in ("itertools.repeat", "repeat"):
                    return len(loop.iter.args) > 1
            return True
        tests: List[cst.BaseExpression] = [] if is_true(loop.test) else [loop.test]
        tests.extend(s.test for s, _e in nested_statements(suite_statements(loop.body)) if isinstance(s, cst.If))
        return any(self._deadline(test, loop) for test in tests)

    def _deadline(self, test: cst.BaseExpression, loop: cst.CSTNode) -> bool:
        for node in iter_nodes(test):
            if isinstance(node, cst.Call) and (self.qualified_name(node.func) or "") in _jobs.CLOCKS:
                return True
            if isinstance(node, cst.Name) and "deadline" in node.value.lower():
                return True
        return False

    # -- recursion ----------------------------------------------------------------------------

    def _recursion(self, function: cst.FunctionDef, scope: Scope, signals: List[_Signal]) -> None:
        assert isinstance(function.body, cst.IndentedBlock)
        calls = [c for c in calls_in(function.body) if calls_self(c, function, self._table, scope)]
        if not calls:
            return
        signal_nodes = {id(n) for s in signals for stmt in s.block for n in iter_nodes(stmt)}
        walker = _RetryPaths(self, signal_nodes, {id(c) for c in calls})
        walker.run(list(function.body.body), _START, function)
        compared = _compared(function)
        method = scope.owner is not None
        for node, states in walker.reached:
            paths = [p for p in states if p[0] or id(node) in signal_nodes]
            if not paths or not isinstance(node, cst.Call):
                continue
            signal = next(
                (s for s in signals if id(node) in {id(n) for st in s.block for n in iter_nodes(st)}), signals[0]
            )
            retry = _Retry(node, signal)
            arguments = map_arguments(node, function, method) or {}
            bounded = any(
                isinstance(v, cst.BinaryOperation)
                and isinstance(v.left, cst.Name)
                and v.left.value == p
                and p in compared
                for p, v in arguments.items()
            )
            for _signal, slept, _counted in paths:
                retry.slept.append(slept)
                retry.bounded.append(bounded)
            self._report(retry, f"`{function.name.value}` calls itself again")

    # -- reporting ----------------------------------------------------------------------------

    def _report(self, retry: _Retry, how: str) -> None:
        no_sleep = not all(retry.slept)
        unbounded = not all(retry.bounded)
        if not (no_sleep or unbounded):
            return
        missing = " and ".join(
            part for part, flag in (("no sleep/backoff", no_sleep), ("no bound on attempts", unbounded)) if flag
        )
        if no_sleep and _reads_retry_after(retry.signal.block):
            missing += " (Retry-After is read but not honoured)"
        elif no_sleep and _zero_sleep(retry.signal.block):
            missing += " (`sleep(0)` only yields)"
        if no_sleep:
            why = "an immediate retry runs into the same limit" + (", and nothing stops it" if unbounded else "")
        else:
            why = "a lasting outage keeps it retrying forever"
        self.report(
            retry.node,
            fix=PendingFix.suggestion(self.SUGGESTION),
            related=(RelatedNode(retry.signal.check, f"the {retry.signal.what} check"),),
            retry=how,
            signal=retry.signal.what,
            missing=missing,
            why=why,
        )


# -- helpers ------------------------------------------------------------------------------------

_NEUTRAL_CALLS = frozenset(
    {
        "print",
        "min",
        "max",
        "str",
        "int",
        "float",
        "len",
        "range",
        "format",
        "pow",
        "uniform",
        "random",
        "randint",
        "debug",
        "info",
        "warning",
        "error",
        "exception",
        "warn",
        "log",
    }
)
_LOGGERS = frozenset({"log", "logger", "logging", "LOG", "LOGGER", "_log", "_logger"})


def _status_value(expr: cst.BaseExpression) -> bool:
    """``resp.status_code``, ``response.status``, ``status``, ``e.response.status_code``..."""
    if isinstance(expr, cst.Attribute):
        return expr.attr.value in _jobs.STATUS_ATTRIBUTES
    if isinstance(expr, cst.Name):
        return expr.value in _jobs.STATUS_ATTRIBUTES or expr.value.endswith("status_code")
    if isinstance(expr, cst.Call):
        return _status_value(expr.func) if isinstance(expr.func, (cst.Attribute, cst.Name)) else False
    return False


def _retry_statuses(expr: cst.BaseExpression) -> Tuple[int, ...]:
    values = [e.value for e in expr.elements] if isinstance(expr, (cst.Tuple, cst.List, cst.Set)) else [expr]
    out: List[int] = []
    for value in values:
        number = _integer(value)
        if number in _jobs.RETRY_STATUSES:
            out.append(number)
        else:
            name = dotted_name(value) or ""
            if name and _jobs.status_constant(name):
                out.append(429 if "429" in name or "MANY" in name.upper() else 503)
    return tuple(sorted(set(out)))


def _integer(expr: cst.BaseExpression) -> Optional[int]:
    """The value of an integer literal (``429``, ``0x80``, ``1_000``)."""
    if not isinstance(expr, cst.Integer):
        return None
    try:
        return int(expr.value.replace("_", ""), 0)
    except ValueError:
        return None


def _retry_after(expr: cst.CSTNode) -> bool:
    for node in iter_nodes(expr):
        if isinstance(node, cst.SimpleString) and _jobs.RETRY_AFTER.search(node.value):
            return True
        if isinstance(node, cst.Attribute) and _jobs.RETRY_AFTER.search(node.attr.value):
            return True
    return False


def _reads_retry_after(block: Sequence[cst.BaseStatement]) -> bool:
    return any(_retry_after(stmt) for stmt in block)


def _zero(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Integer, cst.Float)) and float(expr.value) == 0.0


def _zero_sleep(block: Sequence[cst.BaseStatement]) -> bool:
    for stmt in block:
        for call in calls_in(stmt):
            name = dotted_name(call.func) or ""
            if "sleep" in name and call.args and _zero(call.args[0].value):
                return True
    return False


def _own_continues(loop: Union[cst.For, cst.While]) -> List[cst.Continue]:
    """``continue`` statements of this loop (not of a loop nested in it)."""
    out: List[cst.Continue] = []
    stack: List[cst.CSTNode] = [loop.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Continue):
            out.append(node)
        elif isinstance(node, (cst.For, cst.While)):
            if node.orelse is not None:
                stack.append(node.orelse)
            continue
        elif isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(node.children)
    return out


def _compared(root: cst.CSTNode, leaving: bool = False) -> Set[str]:
    """Names compared in a ``while`` test or an ``if`` test of this scope (candidate
    bounds); with ``leaving``, only ``if`` tests whose body leaves the loop (raise,
    return, break)."""
    out: Set[str] = set()
    for node in scope_nodes(root):
        test = node.test if isinstance(node, (cst.If, cst.While)) else None
        if test is None or (leaving and isinstance(node, cst.If) and not _leaves(node.body)):
            continue
        for inner in iter_nodes(test):
            if isinstance(inner, cst.Comparison):
                out.update(n.value for n in iter_nodes(inner) if isinstance(n, cst.Name))
    return out


def _leaves(body: cst.BaseSuite) -> bool:
    """A block that ends the retrying: every path raises or returns, or it breaks."""
    if always_exits(body, jumps=False):
        return True
    return any(
        isinstance(small, cst.Break)
        for line in suite_statements(body)
        if isinstance(line, cst.SimpleStatementLine)
        for small in line.body
    )


def _takes_first(body: Sequence[cst.BaseStatement]) -> bool:
    """A ``while`` loop whose first statement takes the next item (``job = q.get()``)."""
    if not body or not isinstance(body[0], cst.SimpleStatementLine):
        return False
    for small in body[0].body:
        if isinstance(small, cst.Assign):
            for call in calls_in(small.value):
                func = call.func
                last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
                if last in _jobs.TAKE_METHODS or last in ("get", "next", "popleft"):
                    return True
    return False


__all__: Sequence[str] = ("RetryWithoutBackoff",)
