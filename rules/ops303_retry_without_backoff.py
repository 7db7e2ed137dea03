"""OPS303 retry-without-backoff: an immediate or unbounded retry on a rate limit."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingTable, Scope
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _jobs
from opslint.rules._recursion import calls_self, map_arguments
from opslint.rules._retry import (
    GROWN,
    LOGGERS,
    NEUTRAL_CALLS,
    START,
    Retry,
    RetryPaths,
    Signal,
    compared_names,
    integer,
    own_continues,
    reads_retry_after,
    retry_after,
    retry_statuses,
    status_value,
    takes_first,
    zero,
    zero_sleep,
)
from opslint.rules._urls import string_value
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import (
    calls_in,
    is_true,
    keyword,
    nested_statements,
    scope_nodes,
    suite_statements,
)
from opslint.syntax.walk import iter_nodes


class RetryWithoutBackoff(Rule):
    """A retry on a rate limit or a transient failure that calls again at once, or forever.

    ## What it does
    Finds retries after a rate-limit or transient signal: a status check for 429 (or
    502/503/504, or any 5xx), an `except` of a rate-limit exception (`RateLimitError`,
    `Throttled`, `ThrottlingException`, `TooManyRequests`...), a `Retry-After` read.  A
    retry is a `continue` (or falling off the end) of the loop that makes the request,
    a call of the function to itself, or a Celery `self.retry(countdown=0)`.  It reports the retry when the path from the
    signal back to the request has no sleep (`time.sleep(0)` does not count), or when
    nothing bounds the attempts (a `range`, an attempt counter stepped on that path and
    checked, a deadline).  A `continue` in a loop over items moves on to the next item
    and is not a retry.  Functions decorated with tenacity/backoff retries are left to
    those libraries, except a tenacity `@retry` on a rate limit (or on every exception)
    without `wait=` or `stop=`: its defaults retry at once, and forever; and a
    `@backoff.on_exception(...)` on one without `max_tries=` or `max_time=`: it
    waits, but retries forever.

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
        "500 <=",
        "RESOURCE_EXHAUSTED",
        "StatusCode.UNAVAILABLE",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "ResourceExhausted",
        "SlowDown",
        "rate_limited",
        "RetryAfter",
        "FloodWait",
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
            if function is None or not isinstance(function.body, cst.IndentedBlock):
                continue
            if self._delegated(function):
                self._tenacity(function)
                self._backoff(function)
                continue
            statements = list(nested_statements(function.body.body))
            for stmt, _enclosing in statements:
                if isinstance(stmt, cst.While):
                    self._condition_loop(stmt)
            signals = self._signals(function, scope)
            if not signals:
                continue
            for stmt, _enclosing in statements:
                if isinstance(stmt, (cst.For, cst.While)) and self._retry_loop(stmt):
                    self._loop(stmt, signals)
            self._recursion(function, scope, signals)
            self._task_retry(function, signals)

    # -- signals ------------------------------------------------------------------------------

    def _delegated(self, function: cst.FunctionDef) -> bool:
        for decorator in function.decorators:
            expr = decorator.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            name = self.qualified_name(func) or dotted_name(func) or ""
            if _jobs.RETRY_DECORATORS.match(name) or _jobs.RETRY_DECORATORS.match(name.rsplit(".", 1)[-1]):
                return True
        return False

    def _tenacity(self, function: cst.FunctionDef) -> None:
        """``@retry(retry=retry_if_exception_type(RateLimitError))`` without ``wait=`` or
        ``stop=``: tenacity's defaults retry at once (``wait_none()``) and forever
        (``stop_never``).  A bare ``@retry`` retries every exception, a rate limit included."""
        for decorator in function.decorators:
            expr = decorator.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            if self.qualified_name(func) not in _TENACITY_RETRY:
                continue
            given = (
                {a.keyword.value: a.value for a in expr.args if a.keyword is not None}
                if isinstance(expr, cst.Call)
                else {}
            )
            if isinstance(expr, cst.Call) and any(a.keyword is None or a.star for a in expr.args):
                continue  # ``@retry(**RETRY_POLICY)``, positional strategies: not known here
            condition = given.get("retry")
            if condition is not None:
                named = [dotted_name(n) for n in iter_nodes(condition) if isinstance(n, (cst.Name, cst.Attribute))]
                what = next((f"`{n}`" for n in named if n and _jobs.rate_limit_exception(n)), None)
            else:
                what = "any exception (a rate limit included)"
            if what is None or ("wait" in given and "stop" in given):
                continue
            check = condition if condition is not None else decorator.decorator
            retry = Retry(decorator, Signal(check, function, [], what))
            retry.slept.append("wait" in given)
            retry.bounded.append("stop" in given)
            self._report(retry, f"`@{dotted_name(func)}` retries `{function.name.value}`")

    def _backoff(self, function: cst.FunctionDef) -> None:
        """``@backoff.on_exception(backoff.expo, RateLimitError)`` without ``max_tries=`` or
        ``max_time=``: the backoff library's defaults retry for ever (it waits, but nothing
        bounds the attempts)."""
        for decorator in function.decorators:
            expr = decorator.decorator
            if not isinstance(expr, cst.Call) or self.qualified_name(expr.func) not in _BACKOFF_ON_EXCEPTION:
                continue
            given = {a.keyword.value: a.value for a in expr.args if a.keyword is not None}
            bounds = [given[key] for key in ("max_tries", "max_time") if key in given]
            if any(a.star for a in expr.args) or any(not _is_none(b) for b in bounds):
                continue  # bounded, or ``**policy`` (not known here)
            positional = [a.value for a in expr.args if a.keyword is None]
            caught = positional[1] if len(positional) > 1 else given.get("exception")
            if caught is None:
                continue
            named = [dotted_name(n) for n in iter_nodes(caught) if isinstance(n, (cst.Name, cst.Attribute))]
            what = next((f"`{n}`" for n in named if n and _jobs.rate_limit_exception(n)), None)
            if what is None and any(n in ("Exception", "BaseException") for n in named):
                what = "any exception (a rate limit included)"
            if what is None:
                continue
            retry = Retry(decorator, Signal(caught, function, [], what))
            retry.slept.append(True)
            retry.bounded.append(False)
            self._report(retry, f"`@{dotted_name(expr.func)}` retries `{function.name.value}`")

    def _task_retry(self, function: cst.FunctionDef, signals: List[Signal]) -> None:
        """Celery ``raise self.retry(exc=exc, countdown=0)`` on the signal: the task is
        queued again at once (a ``countdown`` of zero overrides the 180 s default delay);
        with ``max_retries=None`` on the task, forever."""
        forever = any(
            isinstance(d.decorator, cst.Call)
            and (arg := keyword(d.decorator, "max_retries")) is not None
            and isinstance(arg.value, cst.Name)
            and arg.value.value == "None"
            for d in function.decorators
        )
        for signal in signals:
            for stmt in signal.block:
                for call in calls_in(stmt):
                    func = call.func
                    if not (isinstance(func, cst.Attribute) and func.attr.value == "retry"):
                        continue
                    countdown = keyword(call, "countdown")
                    if countdown is None or not zero(countdown.value):
                        continue
                    retry = Retry(call, signal)
                    retry.slept.append(False)
                    limit = keyword(call, "max_retries")
                    retry.bounded.append(not (_none(limit.value) if limit is not None else forever))
                    self._report(retry, f"`{self.edits.code(call.func)}(countdown=0)` re-queues the task")

    def _signals(self, function: cst.FunctionDef, scope: Scope) -> List[Signal]:
        assert isinstance(function.body, cst.IndentedBlock)
        out: List[Signal] = []
        for stmt, _enclosing in nested_statements(function.body.body):
            if isinstance(stmt, cst.If):
                what = (
                    self._status_test(stmt.test)
                    or ("Retry-After" if retry_after(stmt.test) else None)
                    or self._predicate(stmt.test, scope)
                )
                if what:
                    out.append(Signal(stmt.test, stmt, suite_statements(stmt.body), what))
            elif isinstance(stmt, cst.Match) and status_value(stmt.subject):
                # ``match resp.status_code: case 429 | 503: continue``
                for case in stmt.cases:
                    found = _case_statuses(case.pattern)
                    if found:
                        what = "HTTP " + "/".join(str(s) for s in found)
                        out.append(Signal(case.pattern, stmt, suite_statements(case.body), what))
            elif isinstance(stmt, (cst.Try, cst.TryStar)):
                for handler in stmt.handlers:
                    what = self._rate_limit_handler(handler)
                    if what:
                        out.append(Signal(handler, stmt, suite_statements(handler.body), what))
        return out

    def _status_test(self, test: cst.BaseExpression) -> Optional[str]:
        if isinstance(test, cst.BooleanOperation):
            return self._status_test(test.left) or self._status_test(test.right)
        if not isinstance(test, cst.Comparison):
            return None
        sides = [test.left, *(c.comparator for c in test.comparisons)]
        # ``exc.code() in TRANSIENT`` with ``TRANSIENT = (StatusCode.UNAVAILABLE, ...)``.
        code = _rate_limit_code([self._collection(side) for side in sides])
        if code is not None and all(isinstance(c.operator, (cst.Equal, cst.In)) for c in test.comparisons):
            return f"`{code}`"
        if not any(status_value(side) for side in sides):
            return None
        for target in test.comparisons:
            operator = target.operator
            found = retry_statuses(self._collection(target.comparator)) or retry_statuses(test.left)
            if found and isinstance(operator, (cst.Equal, cst.In, cst.Is)):
                return "HTTP " + "/".join(str(s) for s in found)
            if isinstance(operator, (cst.GreaterThanEqual, cst.GreaterThan)) and isinstance(
                target.comparator, cst.Integer
            ):
                if integer(target.comparator) in (499, 500):
                    return "HTTP 5xx"
        first = test.comparisons[0]
        if (
            isinstance(first.operator, (cst.LessThanEqual, cst.LessThan))
            and integer(test.left) in (499, 500)
            and status_value(first.comparator)
        ):
            return "HTTP 5xx"  # ``500 <= resp.status_code < 600``
        return None

    def _predicate(self, test: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """A status test written elsewhere: a local flag bound to one
        (``throttled = resp.status_code == 429``), a function of this file that returns
        one, or a predicate named for a rate limit (``is_rate_limited(resp)``)."""
        if isinstance(test, cst.Name):
            bindings = self._table.lookup(test.value, scope)
            if len(bindings) == 1 and bindings[0].value is not None:
                return self._status_test(bindings[0].value)
            return None
        if not isinstance(test, cst.Call):
            return None
        name = dotted_name(test.func) or ""
        function = self._table.function_named(test.func.value, scope) if isinstance(test.func, cst.Name) else None
        if function is not None:
            values = self._table.returns(function)
            found = [self._status_test(v) for v in values if v is not None]
            return found[0] if found and all(found) else None
        last = name.rsplit(".", 1)[-1]
        return f"`{last}()`" if _jobs.RATE_LIMIT_PREDICATES.match(last) else None

    def _collection(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """A module constant's value, when it is a literal collection
        (``RETRYABLE = {429, 503}``, ``frozenset({...})``) bound once; else ``expr``."""
        module = self._table.module_scope
        if not isinstance(expr, cst.Name) or module is None:
            return expr
        bindings = module.own(expr.value)
        if len(bindings) != 1 or bindings[0].value is None:
            return expr
        value = bindings[0].value
        if isinstance(value, cst.Call) and dotted_name(value.func) in ("frozenset", "set", "tuple") and value.args:
            value = value.args[0].value
        return value if isinstance(value, (cst.Set, cst.Tuple, cst.List)) else expr

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
        awaited = {id(n.expression) for n in iter_nodes(node) if isinstance(n, cst.Await)}
        for call in calls_in(node):
            func = call.func
            name = self.qualified_name(func) or dotted_name(func) or ""
            if name in _jobs.COROUTINE_SLEEPS and id(call) not in awaited:
                continue  # ``asyncio.sleep(delay)`` without ``await``: a coroutine that never runs
            last = name.rsplit(".", 1)[-1].lower()
            waits = name in _jobs.SLEEPS or "sleep" in last or "backoff" in last
            if not waits and last in _jobs.WAIT_METHODS and isinstance(func, cst.Attribute) and call.args:
                waits = True
            if waits and not (call.args and zero(call.args[0].value)):
                return True
        return False

    # -- loops ---------------------------------------------------------------------------------

    def _retry_loop(self, loop: Union[cst.For, cst.While]) -> bool:
        """A loop that repeats the same request (not one over items)."""
        body = suite_statements(loop.body)
        if isinstance(loop, cst.While):
            return not takes_first(body) or _taken_item(body) is not None
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
                    or last in NEUTRAL_CALLS
                    or head.split(".")[-1] in LOGGERS
                    or callee in NEUTRAL_CALLS
                ):
                    continue
                for arg in node.args:
                    if any(isinstance(n, cst.Name) and n.value == name for n in iter_nodes(arg.value)):
                        if not isinstance(arg.value, (cst.BinaryOperation, cst.Call)):
                            return True
        return False

    def _loop(self, loop: Union[cst.For, cst.While], signals: List[Signal]) -> None:
        body = suite_statements(loop.body)
        own = {
            id(stmt)
            for stmt, enclosing in nested_statements(body)
            if not any(isinstance(outer, (cst.For, cst.While)) for outer, _role in enclosing)
        }
        inside = [s for s in signals if id(s.statement) in own]
        if isinstance(loop, cst.While) and takes_first(body):
            # A loop over a worklist: only putting the same item back (``pending.appendleft(
            # product)`` then ``continue``) makes the next pass a retry.
            item = _taken_item(body)
            inside = [s for s in inside if item is not None and any(_requeues(st, item) for st in s.block)]
        if not inside:
            return
        signal_nodes = {id(n) for s in inside for stmt in s.block for n in iter_nodes(stmt)}
        continues = own_continues(loop)
        retries = {id(c) for c in continues} | {id(loop)}
        walker = RetryPaths(self.ctx.imports, self.sleeps, signal_nodes, retries)
        walker.run(body, START, loop)
        bound = self._static_bound(loop)
        compared = compared_names(loop)
        leaving = compared_names(loop, leaving=True)
        found: List[Retry] = []
        for node, states in walker.reached:
            paths = [p for p in states if p[0] or id(node) in signal_nodes]
            if not paths:
                continue
            signal = next(
                (s for s in inside if id(node) in {id(n) for st in s.block for n in iter_nodes(st)}), inside[0]
            )
            retry = Retry(node if node is not loop else signal.block[-1], signal)
            for _signal, slept, counted in paths:
                retry.slept.append(slept)
                grown = {name[len(GROWN) :] for name in counted if name.startswith(GROWN)}
                retry.bounded.append(bound or bool(counted & compared) or bool(grown & leaving))
            found.append(retry)
        for retry in found:
            self._report(
                retry,
                "`continue` retries the request"
                if isinstance(retry.node, cst.Continue)
                else "the loop retries the request",
            )

    def _condition_loop(self, loop: cst.While) -> None:
        """``while resp.status_code == 429: resp = session.post(...)``: the loop's own test
        is the signal, and each turn sends again."""
        what = self._status_test(loop.test)
        body = suite_statements(loop.body)
        if what is None or not any(True for stmt in body for _ in calls_in(stmt)):
            return
        signal = Signal(loop.test, loop, body, what)
        retry = Retry(loop, signal)
        retry.slept.append(any(self.sleeps(stmt) for stmt in body))
        stepped = {
            node.target.value
            for stmt in body
            for node in iter_nodes(stmt)
            if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name)
        }
        retry.bounded.append(self._static_bound(loop) or bool(stepped & compared_names(loop)))
        self._report(retry, "the loop retries the request")

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

    def _recursion(self, function: cst.FunctionDef, scope: Scope, signals: List[Signal]) -> None:
        assert isinstance(function.body, cst.IndentedBlock)
        calls = [c for c in calls_in(function.body) if calls_self(c, function, self._table, scope)]
        if not calls:
            return
        signal_nodes = {id(n) for s in signals for stmt in s.block for n in iter_nodes(stmt)}
        walker = RetryPaths(self.ctx.imports, self.sleeps, signal_nodes, {id(c) for c in calls})
        walker.run(list(function.body.body), START, function)
        compared = compared_names(function)
        method = scope.owner is not None
        for node, states in walker.reached:
            paths = [p for p in states if p[0] or id(node) in signal_nodes]
            if not paths or not isinstance(node, cst.Call):
                continue
            signal = next(
                (s for s in signals if id(node) in {id(n) for st in s.block for n in iter_nodes(st)}), signals[0]
            )
            retry = Retry(node, signal)
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

    def _report(self, retry: Retry, how: str) -> None:
        no_sleep = not all(retry.slept)
        unbounded = not all(retry.bounded)
        if not (no_sleep or unbounded):
            return
        missing = " and ".join(
            part for part, flag in (("no sleep/backoff", no_sleep), ("no bound on attempts", unbounded)) if flag
        )
        if no_sleep and reads_retry_after(retry.signal.block):
            missing += " (Retry-After is read but not honoured)"
        elif no_sleep and zero_sleep(retry.signal.block):
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


#: Methods that put an item back on a worklist (a deque, a list, a queue).
_REQUEUE_METHODS = frozenset({"appendleft", "append", "insert", "put", "put_nowait", "rpush", "lpush"})


def _taken_item(body: Sequence[cst.BaseStatement]) -> Optional[Tuple[str, str]]:
    """(the item, the worklist) of a loop whose first statement takes the next item
    (``product = pending.popleft()``), when some statement of the loop puts it back."""
    first = body[0] if body else None
    if not (isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Assign)):
        return None
    assign = first.body[0]
    value = assign.value.expression if isinstance(assign.value, cst.Await) else assign.value
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
        return None
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
        return None
    source = dotted_name(value.func.value)
    if source is None:
        return None
    taken = (assign.targets[0].target.value, source)
    loop_body = [n for stmt in body for n in iter_nodes(stmt)]
    return taken if any(_requeues(n, taken) for n in loop_body) else None


def _requeues(stmt: cst.CSTNode, taken: Tuple[str, str]) -> bool:
    """``pending.appendleft(item)`` (or ``append``/``insert(0, item)``/``put``) as a
    statement, on the worklist the item was taken from."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    item, source = taken
    for small in stmt.body:
        call = small.value if isinstance(small, cst.Expr) else None
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            continue
        if (
            call.func.attr.value in _REQUEUE_METHODS
            and dotted_name(call.func.value) == source
            and any(isinstance(a.value, cst.Name) and a.value.value == item for a in call.args)
        ):
            return True
    return False


def _case_statuses(pattern: cst.MatchPattern) -> Tuple[int, ...]:
    """The retryable statuses a ``case`` pattern matches: ``429``, ``HTTPStatus.SERVICE_UNAVAILABLE``,
    an or-pattern of them, or one bound with ``as``."""
    if isinstance(pattern, cst.MatchValue):
        return retry_statuses(pattern.value)
    if isinstance(pattern, cst.MatchOr):
        return tuple(sorted({s for element in pattern.patterns for s in _case_statuses(element.pattern)}))
    if isinstance(pattern, cst.MatchAs) and pattern.pattern is not None:
        return _case_statuses(pattern.pattern)
    return ()


def _none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


#: tenacity's decorator (its defaults: no wait, no stop).
_TENACITY_RETRY = frozenset({"tenacity.retry"})
#: The backoff library's exception decorator (its defaults: ``max_tries=None``, ``max_time=None``).
_BACKOFF_ON_EXCEPTION = frozenset({"backoff.on_exception", "backoff._decorator.on_exception"})


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _rate_limit_code(sides: Sequence[cst.BaseExpression]) -> Optional[str]:
    """A provider's rate-limit error code among the compared values (``"ThrottlingException"``,
    gRPC's ``StatusCode.RESOURCE_EXHAUSTED``)."""
    for side in sides:
        values = [e.value for e in side.elements] if isinstance(side, (cst.Tuple, cst.List, cst.Set)) else [side]
        for value in values:
            text = string_value(value)
            if text is not None and _jobs.RATE_LIMIT_CODES.match(text):
                return text
            name = dotted_name(value) or ""
            if "." in name and _jobs.RATE_LIMIT_MEMBERS.match(name.rsplit(".", 1)[-1]):
                return name  # ``exc.code == APIErrorCode.RateLimited``
            if name.endswith("StatusCode.RESOURCE_EXHAUSTED"):
                return "StatusCode.RESOURCE_EXHAUSTED"  # gRPC's rate limit
            if name.endswith("StatusCode.UNAVAILABLE"):
                return "StatusCode.UNAVAILABLE"  # gRPC's transient failure (HTTP 503's peer)
    return None


__all__: Sequence[str] = ("RetryWithoutBackoff",)
