"""OPS303's analysis helpers: the walk of one retry, and what signals, waits and loops look like.

:class:`RetryPaths` walks one iteration of a retry loop (or a function body, for a
recursive retry) and notes, at each retry, whether the path saw the rate-limit signal,
slept, and stepped a counter.  The functions below answer the small syntactic questions
of the rule (``ops303_retry_without_backoff.py``): a status check or a ``Retry-After``
read, a zero sleep, a loop's own ``continue`` statements, the names its tests compare.
Knowledge (statuses, sleeps, take methods) comes from ``_jobs.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.flow import PathWalker
from opslint.rules import _jobs
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import ExitKind, always_exits, calls_in, scope_nodes, suite_statements
from opslint.syntax.walk import iter_nodes

#: One path through an iteration: (saw the signal, slept, counters stepped on the way).
_Path = Tuple[bool, bool, FrozenSet[str]]
START: FrozenSet[_Path] = frozenset({(False, False, frozenset())})


@dataclass
class Signal:
    """A block that runs on a rate-limit/transient signal, and the check that opens it."""

    check: cst.CSTNode
    #: The ``if`` or ``try`` statement holding the check.
    statement: cst.BaseStatement
    block: Sequence[cst.BaseStatement]
    #: "HTTP 429", "`RateLimitError`", "Retry-After".
    what: str


@dataclass
class Retry:
    node: cst.CSTNode
    signal: Signal
    slept: List[bool] = field(default_factory=list)
    bounded: List[bool] = field(default_factory=list)


class RetryPaths(PathWalker[_Path]):
    """Walks one iteration of a loop body (or a function body, for recursion) and notes,
    at each retry (``continue`` of the loop, falling off its end, a recursive call),
    whether the path saw the signal, slept, and stepped a counter."""

    def __init__(
        self,
        imports: ImportTable,
        sleeps: Callable[[cst.CSTNode], bool],
        signal_nodes: Set[int],
        retries: Set[int],
    ) -> None:
        super().__init__(imports)
        #: Whether a statement waits (the rule's ``sleeps``).
        self.sleeps = sleeps
        self.signal_nodes = signal_nodes
        self.retries = retries
        #: Retry node id -> the path states that reached it.
        self.reached: List[Tuple[cst.CSTNode, FrozenSet[_Path]]] = []

    def on_node(self, node: cst.CSTNode, state: FrozenSet[_Path]) -> FrozenSet[_Path]:
        signal = id(node) in self.signal_nodes
        slept = self.sleeps(node)
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
GROWN = "*"


def _stepped(node: cst.CSTNode) -> Tuple[str, ...]:
    """Counters this statement steps: ``attempt += 1``, ``tries = tries - 1``,
    ``tries_left = 0 if permanent else tries_left - 1``; and growing waits
    (``wait_time *= 2``, ``delay = delay * 2``), marked ``GROWN``."""
    if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name):
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            return (node.target.value,)
        if isinstance(node.operator, (cst.MultiplyAssign, cst.LeftShiftAssign)):
            return (GROWN + node.target.value,)
    if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
        value = node.value
        name = node.targets[0].target.value
        if (
            isinstance(value, cst.BinaryOperation)
            and isinstance(value.operator, (cst.Multiply, cst.LeftShift))
            and isinstance(value.left, cst.Name)
            and value.left.value == name
        ):
            return (GROWN + name,)
    if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
        name = node.targets[0].target.value
        for inner in iter_nodes(node.value):
            if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, (cst.Add, cst.Subtract)):
                if any(isinstance(n, cst.Name) and n.value == name for n in iter_nodes(inner)):
                    return (name,)
    return ()


# -- signals, waits and loops ------------------------------------------------------------------

NEUTRAL_CALLS = frozenset(
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
LOGGERS = frozenset({"log", "logger", "logging", "LOG", "LOGGER", "_log", "_logger"})


def status_value(expr: cst.BaseExpression) -> bool:
    """``resp.status_code``, ``response.status``, ``status``, ``e.response.status_code``..."""
    if isinstance(expr, cst.Attribute):
        return expr.attr.value in _jobs.STATUS_ATTRIBUTES
    if isinstance(expr, cst.Name):
        return expr.value in _jobs.STATUS_ATTRIBUTES or expr.value.endswith("status_code")
    if isinstance(expr, cst.Call):
        return status_value(expr.func) if isinstance(expr.func, (cst.Attribute, cst.Name)) else False
    return False


def retry_statuses(expr: cst.BaseExpression) -> Tuple[int, ...]:
    values = [e.value for e in expr.elements] if isinstance(expr, (cst.Tuple, cst.List, cst.Set)) else [expr]
    out: List[int] = []
    for value in values:
        number = integer(value)
        if number in _jobs.RETRY_STATUSES:
            out.append(number)
        else:
            name = dotted_name(value) or ""
            if name and _jobs.status_constant(name):
                out.append(429 if "429" in name or "MANY" in name.upper() else 503)
    return tuple(sorted(set(out)))


def integer(expr: cst.BaseExpression) -> Optional[int]:
    """The value of an integer literal (``429``, ``0x80``, ``1_000``)."""
    if not isinstance(expr, cst.Integer):
        return None
    try:
        return int(expr.value.replace("_", ""), 0)
    except ValueError:
        return None


def retry_after(expr: cst.CSTNode) -> bool:
    for node in iter_nodes(expr):
        if isinstance(node, cst.SimpleString) and _jobs.RETRY_AFTER.search(node.value):
            return True
        if isinstance(node, cst.Attribute) and _jobs.RETRY_AFTER.search(node.attr.value):
            return True
    return False


def reads_retry_after(block: Sequence[cst.BaseStatement]) -> bool:
    return any(retry_after(stmt) for stmt in block)


def zero(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Integer, cst.Float)) and float(expr.value) == 0.0


def zero_sleep(block: Sequence[cst.BaseStatement]) -> bool:
    for stmt in block:
        for call in calls_in(stmt):
            name = dotted_name(call.func) or ""
            if "sleep" in name and call.args and zero(call.args[0].value):
                return True
    return False


def own_continues(loop: Union[cst.For, cst.While]) -> List[cst.Continue]:
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


def compared_names(root: cst.CSTNode, leaving: bool = False) -> Set[str]:
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


def takes_first(body: Sequence[cst.BaseStatement]) -> bool:
    """A ``while`` loop whose first statement takes the next item (``job = q.get()``), not
    one that sends a request (``resp = client.get(url)``, then ``resp.status_code``)."""
    if not body or not isinstance(body[0], cst.SimpleStatementLine):
        return False
    for small in body[0].body:
        if isinstance(small, cst.Assign):
            for call in calls_in(small.value):
                func = call.func
                last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
                if last in _jobs.TAKE_METHODS or last in ("next", "popleft"):
                    return True
                if last == "get" and not _request(call, small, body):
                    return True
    return False


#: Keywords of an HTTP request, never of ``Queue.get(block, timeout)``.
_REQUEST_KEYWORDS = frozenset({"url", "params", "headers", "json", "data", "auth", "cookies", "allow_redirects"})
#: What code reads of a response, never of a queued item it took with ``get``.
_RESPONSE_ATTRS = frozenset({"status_code", "status", "ok", "raise_for_status", "headers", "links", "reason"})
#: Receivers of ``get`` that send requests (``session.get(url)``, ``http_client.get(path)``).
_REQUEST_RECEIVERS = frozenset({"session", "requests", "httpx", "client", "http"})
_TEXT = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString, cst.BinaryOperation)


def _request(call: cst.Call, assign: cst.Assign, body: Sequence[cst.BaseStatement]) -> bool:
    """A ``get`` that sends a request: a URL as its first argument, a request keyword, or
    a result whose status the loop reads."""
    if call.args and call.args[0].keyword is None and isinstance(call.args[0].value, _TEXT):
        return True
    if any(arg.keyword is not None and arg.keyword.value in _REQUEST_KEYWORDS for arg in call.args):
        return True
    receiver = dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None
    if receiver is not None and receiver.rsplit(".", 1)[-1].lower().rsplit("_", 1)[-1] in _REQUEST_RECEIVERS:
        return True
    names = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}
    return any(
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value in names
        and node.attr.value in _RESPONSE_ATTRS
        for stmt in body
        for node in iter_nodes(stmt)
    )
