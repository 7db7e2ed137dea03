"""Self-recursion as OPS302 (drains) and OPS303 (retries) read it: which calls of a
function call itself, which calls are tail calls, which arguments they pass for which
parameters, and the exact tail-call-to-loop rewrite.

Reads the binding table (what a name refers to, rebinding, ``self``) and
``opslint.syntax.nodes`` (statements with the compound statements around them).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.analysis.scopes import BindingKind, BindingTable, Scope
from opslint.edits import Edits, PendingFix
from opslint.rules import _jobs
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import (
    Enclosing,
    calls_in,
    is_docstring,
    nested_statements,
    scope_nodes,
    suite_statements,
    tail_statements,
    unwrap_await,
)
from opslint.syntax.walk import iter_nodes


@dataclass
class Tail:
    """A call in tail position: ``return f(...)`` anywhere, or ``f(...)`` as the last
    statement to run."""

    call: cst.Call
    statement: cst.SimpleStatementLine
    #: "return", "statement", "accumulate" (``return 1 + f(...)``) or "conditional"
    #: (``return f(...) if c else x``); the last two have no exact loop rewrite here.
    form: str
    enclosing: Enclosing
    #: Parameters of the function (the instance parameter of a method left out).
    parameters: Tuple[str, ...] = ()
    #: Parameter -> value passed (None when the call cannot be mapped: ``*args``...).
    arguments: Optional[Dict[str, cst.BaseExpression]] = None

    @property
    def in_loop(self) -> bool:
        return any(isinstance(outer, (cst.For, cst.While)) for outer, _role in self.enclosing)

    @property
    def in_handler(self) -> bool:
        return any(role == "handler" for _outer, role in self.enclosing)


def parameters(function: cst.FunctionDef, method: bool) -> List[cst.Param]:
    params = [*function.params.posonly_params, *function.params.params]
    if method and params:
        params = params[1:]
    return params + list(function.params.kwonly_params)


def map_arguments(call: cst.Call, function: cst.FunctionDef, method: bool) -> Optional[Dict[str, cst.BaseExpression]]:
    """Parameter -> passed value (omitted parameters absent); None for ``*args``/``**kw``
    in the call or the signature, or arguments that do not fit."""
    if isinstance(function.params.star_arg, cst.Param) or function.params.star_kwarg is not None:
        return None
    positional_params = [*function.params.posonly_params, *function.params.params]
    if method and positional_params:
        positional_params = positional_params[1:]
    names = {p.name.value for p in parameters(function, method)}
    out: Dict[str, cst.BaseExpression] = {}
    index = 0
    args = list(call.args)
    if method and _through_class(call, function):
        args = args[1:]  # ``type(self).drain(self, n)``: the instance passed by hand
    for arg in args:
        if arg.star:
            return None
        if arg.keyword is None:
            if index >= len(positional_params):
                return None
            out[positional_params[index].name.value] = arg.value
            index += 1
        else:
            if arg.keyword.value not in names or arg.keyword.value in out:
                return None
            out[arg.keyword.value] = arg.value
    return out


def is_generator(function: cst.FunctionDef) -> bool:
    return any(isinstance(n, (cst.Yield,)) for n in scope_nodes(function.body))


def _is_method(scope: Scope) -> bool:
    return scope.owner is not None


def calls_self(call: cst.Call, function: cst.FunctionDef, table: BindingTable, scope: Scope) -> bool:
    """``f(...)`` naming this ``def`` (bound once), or ``self.f(...)``/``cls.f(...)`` in
    a method ``f`` (``super().f()`` and another object's ``f`` are not)."""
    func = call.func
    name = function.name.value
    if isinstance(func, cst.Name) and func.value == name and not _is_method(scope):
        found = table.lookup(name, scope)
        return len(found) == 1 and found[0].node is function
    if isinstance(func, cst.Name) and name == "__call__" and scope.owner is not None and func.value == scope.self_name:
        # ``return 1 + self()`` in ``__call__``: calling the instance calls the method again.
        return all(b.kind is BindingKind.FUNCTION for b in table.attribute(scope.owner, name))
    if _bound_task_self_call(func, function):
        return True
    if isinstance(func, cst.Attribute) and func.attr.value == name and _own_class(func.value, scope):
        # ``type(self).drain(self)``, ``self.__class__.drain(self)``: the method itself.
        return all(b.kind is BindingKind.FUNCTION for b in table.attribute(scope.owner, name))  # type: ignore[arg-type]
    if isinstance(func, cst.Attribute) and func.attr.value == name and isinstance(func.value, cst.Name):
        parent = scope.parent
        if parent is not None and isinstance(parent.node, cst.ClassDef) and func.value.value == parent.node.name.value:
            # ``ImportRunner.run_next(account_id)`` in a staticmethod of ``ImportRunner``.
            return all(b.kind is BindingKind.FUNCTION for b in table.attribute(parent, name))
        if not _is_method(scope) or func.value.value not in (scope.self_name, "cls") or scope.owner is None:
            return False
        # ``self._readline = self._file.readline`` rebinds the name on the instance.
        return all(b.kind is BindingKind.FUNCTION for b in table.attribute(scope.owner, name))
    return False


def _through_class(call: cst.Call, function: cst.FunctionDef) -> bool:
    """A method called on its class with the instance as first argument
    (``type(self).m(self)``, ``self.__class__.m(self)``, ``Relay.m(self)``)."""
    params = [*function.params.posonly_params, *function.params.params]
    if not params or not call.args or not isinstance(call.func, cst.Attribute):
        return False
    first, receiver = call.args[0].value, call.func.value
    self_name = params[0].name.value
    if not (isinstance(first, cst.Name) and first.value == self_name and call.args[0].keyword is None):
        return False
    return not (isinstance(receiver, cst.Name) and receiver.value == self_name)


def _own_class(expr: cst.BaseExpression, scope: Scope) -> bool:
    """``type(self)`` or ``self.__class__`` in a method of a class."""
    if scope.owner is None or not scope.self_name:
        return False
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "type":
        return (
            len(expr.args) == 1
            and isinstance(expr.args[0].value, cst.Name)
            and expr.args[0].value.value == scope.self_name
        )
    return (
        isinstance(expr, cst.Attribute)
        and expr.attr.value == "__class__"
        and isinstance(expr.value, cst.Name)
        and expr.value.value == scope.self_name
    )


def _bound_task_self_call(func: cst.BaseExpression, function: cst.FunctionDef) -> bool:
    """``self.run(...)`` (or ``self(...)``) in a Celery task declared with ``bind=True``,
    whose first parameter is the task itself: the task's body runs again, in this frame."""
    params = function.params.params
    if not params or not any(_binds_task(d.decorator) for d in function.decorators):
        return False
    first = params[0].name.value
    if isinstance(func, cst.Name):
        return func.value == first
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "run"
        and isinstance(func.value, cst.Name)
        and func.value.value == first
    )


def _binds_task(decorator: cst.BaseExpression) -> bool:
    """``@app.task(bind=True)``, ``@shared_task(bind=True, ...)``."""
    if not isinstance(decorator, cst.Call):
        return False
    last = (dotted_name(decorator.func) or "").rsplit(".", 1)[-1]
    return last in ("task", "shared_task") and any(
        a.keyword is not None
        and a.keyword.value == "bind"
        and isinstance(a.value, cst.Name)
        and a.value.value == "True"
        for a in decorator.args
    )


def self_calls(function: cst.FunctionDef, table: BindingTable, scope: Scope) -> List[cst.Call]:
    return [c for c in calls_in(function.body) if calls_self(c, function, table, scope)]


def tail_calls(function: cst.FunctionDef, method: bool = False) -> List[Tail]:
    """The function's calls in tail position, with their arguments mapped onto its own
    parameters (meaningful for its self-calls)."""
    if not isinstance(function.body, cst.IndentedBlock):
        return []
    body = list(function.body.body)
    last = {id(s) for s in tail_statements(body)}
    out: List[Tail] = []
    for stmt, enclosing in nested_statements(body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        value: cst.BaseExpression
        if isinstance(small, cst.Return) and isinstance(small.value, cst.BinaryOperation):
            # ``return 1 + drain(q)``: not a tail call, but the depth grows the same way.
            operation = small.value
            sides = [unwrap_await(operation.left), unwrap_await(operation.right)]
            calls = [side for side in sides if isinstance(side, cst.Call)]
            if not isinstance(operation.operator, cst.Add) or len(calls) != 1:
                continue
            value, form = calls[0], "accumulate"
        elif isinstance(small, cst.Return) and isinstance(small.value, cst.IfExp):
            # ``return drain(q, n + 1) if q.llen(k) else n``: the branch that calls.
            branches = [unwrap_await(small.value.body), unwrap_await(small.value.orelse)]
            calls = [b for b in branches if isinstance(b, cst.Call)]
            if len(calls) != 1:
                continue
            value, form = calls[0], "conditional"
        elif isinstance(small, cst.Return) and small.value is not None:
            value, form = unwrap_await(small.value), "return"
        elif isinstance(small, cst.Expr) and id(stmt) in last:
            value, form = unwrap_await(small.value), "statement"
        else:
            continue
        if isinstance(value, cst.Call):
            params = tuple(p.name.value for p in parameters(function, method))
            out.append(Tail(value, stmt, form, enclosing, params, map_arguments(value, function, method)))
    return out


#: Per binding table (so per file), its helpers already scanned: id -> (helper, takes an
#: item).  A module's functions call the same few helpers many times (Django's db
#: package: 4 s of a cold index went to scanning them again for each call).  Weak keys:
#: an entry goes with its file's table, and no tree outlives its file.
_HELPERS: weakref.WeakKeyDictionary[BindingTable, Dict[int, Tuple[cst.FunctionDef, bool]]] = weakref.WeakKeyDictionary()


def takes_item(function: cst.FunctionDef, table: BindingTable, scope: Scope) -> bool:
    """Whether the function takes one item (``lpop``, ``.first()``, ``fetchone``,
    ``receive_message``...), itself or in a function of this file it calls."""
    helpers = _HELPERS.get(table)
    if helpers is None:
        helpers = _HELPERS[table] = {}
    if _takes_slice(function.body) or _takes_limited_rows(function.body):
        return True
    for call in calls_in(function.body):
        if _takes(call):
            return True
        helper = _local_function(call, table, scope)
        if helper is None or helper is function:
            continue
        known = helpers.get(id(helper))
        if known is None or known[0] is not helper:
            known = helpers[id(helper)] = (helper, any(_takes(c) for c in calls_in(helper.body)))
        if known[1]:
            return True
    return False


def taken_names(function: cst.FunctionDef) -> Optional[Set[str]]:
    """Names the function binds to an item it takes itself (``raw = r.lpop("jobs")``); None
    when it takes nothing directly (an empty set: it takes one but binds no name)."""
    found: Optional[Set[str]] = None
    assigns: List[cst.Assign] = []
    for node in scope_nodes(function.body):
        if isinstance(node, cst.Call) and _takes(node):
            found = found if found is not None else set()
        elif isinstance(node, cst.Assign) and any(_takes(c) for c in calls_in(node.value)):
            found = found if found is not None else set()
            found.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
        elif isinstance(node, cst.Assign):
            assigns.append(node)
    if found:
        # ``resp = sqs.receive_message(...)`` then ``messages = resp.get("Messages", [])``:
        # what is read out of the taken item is the item too.
        for assign in assigns:
            if any(isinstance(n, cst.Name) and n.value in found for n in iter_nodes(assign.value)):
                found.update(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))
    return found


#: Keywords of a queue's ``get`` (queue.Queue, asyncio.Queue; aio-pika's ``Queue.get``).
QUEUE_GET_KEYWORDS = frozenset({"block", "timeout", "no_ack", "fail"})


def _takes(call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "poll":
        # A consumer's next message (``consumer.poll(1.0)``), or a state polled again.
        return True
    if isinstance(func, cst.Attribute):
        if func.attr.value == "fetch":
            # NATS JetStream ``await sub.fetch(1)``: a pull subscription's next message.
            first = call.args[0] if call.args else None
            return (
                first is not None
                and (first.keyword is None or first.keyword.value == "batch")
                and isinstance(first.value, cst.Integer)
                and first.value.value == "1"
            )
        if func.attr.value in ("query", "scan", "list_objects_v2", "list_objects"):
            # DynamoDB ``table.query(..., Limit=1)``: the first matching item; S3
            # ``list_objects_v2(..., MaxKeys=1)``: the next file of a drop folder.
            return any(
                a.keyword is not None
                and a.keyword.value in ("Limit", "MaxKeys")
                and isinstance(a.value, cst.Integer)
                and a.value.value == "1"
                for a in call.args
            )
        if func.attr.value == "scalar" and call.args:
            # SQLAlchemy ``session.scalar(select(Job)....limit(1))``: one row of a query.
            return any(
                isinstance(n, cst.Call)
                and isinstance(n.func, cst.Attribute)
                and n.func.attr.value == "limit"
                and len(n.args) == 1
                and isinstance(n.args[0].value, cst.Integer)
                and n.args[0].value.value == "1"
                for n in iter_nodes(call.args[0].value)
            )
        if func.attr.value in _jobs.ZMQ_RECEIVES:
            # ZeroMQ ``sock.recv_json()``, ``sock.recv(zmq.NOBLOCK)``: the socket's next
            # message (a plain ``recv`` only with ZeroMQ's non-blocking flag).
            return func.attr.value != "recv" or any(
                isinstance(n, (cst.Name, cst.Attribute)) and (dotted_name(n) or "").endswith(_jobs.ZMQ_NONBLOCKING)
                for a in call.args
                for n in iter_nodes(a.value)
            )
        if func.attr.value == "get":
            # ``q.get()``, ``await q.get()``, ``q.get(timeout=1)``: a queue's next item (a
            # mapping's ``get`` takes a key).
            return all(a.keyword is not None and a.keyword.value in QUEUE_GET_KEYWORDS for a in call.args)
        return func.attr.value in _jobs.TAKE_METHODS
    if isinstance(func, cst.Name):
        # ``next(it)``, or a project's own take function (``claim_next(account_id)``);
        # a bare ``pop``/``first`` is too generic a name to tell.
        return func.value == "next" or (func.value in _jobs.TAKE_METHODS and func.value not in ("pop", "first"))
    return False


#: SQL that claims a bounded batch of rows: what ``fetchall()`` then reads is one batch.
_BATCH_SQL = re.compile(r"\bLIMIT\b|\bSKIP\s+LOCKED\b|\bFETCH\s+FIRST\b", re.IGNORECASE)


def _takes_limited_rows(body: cst.CSTNode) -> bool:
    """``cur.execute("SELECT ... LIMIT %s FOR UPDATE SKIP LOCKED")`` then ``cur.fetchall()``:
    the rows of one claimed batch (``fetchmany(n)`` without the SQL saying so)."""
    executed = fetched = False
    for node in scope_nodes(body):
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            continue
        method = node.func.attr.value
        if method == "fetchall":
            fetched = True
        elif method in ("execute", "exec_driver_sql") and node.args:
            text = _sql_text(node.args[0].value)
            executed = executed or (text is not None and _BATCH_SQL.search(text) is not None)
    return executed and fetched


def _sql_text(expr: cst.BaseExpression) -> Optional[str]:
    """The text of a string literal, implicitly concatenated or not (None for anything else)."""
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value if isinstance(expr.evaluated_value, str) else None
    if isinstance(expr, cst.ConcatenatedString):
        left, right = _sql_text(expr.left), _sql_text(expr.right)
        return left + right if left is not None and right is not None else None
    return None


def _takes_slice(body: cst.CSTNode) -> bool:
    """``qs.select_for_update(skip_locked=True).filter(...)[:1]`` (or ``[0]``): the first row
    of a query, taken by slicing instead of ``.first()``."""
    listed: Set[str] = set()
    for node in scope_nodes(body):
        if isinstance(node, cst.Assign) and _lists_items(node.value):
            listed.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
        if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
            continue
        index = node.slice[0].slice
        one = (
            isinstance(index, cst.Slice)
            and index.lower is None
            and isinstance(index.upper, cst.Integer)
            and index.upper.value == "1"
        ) or (isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "0")
        value = node.value
        if one and isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            if value.func.attr.value in _jobs.QUERY_METHODS | {"order_by"}:
                return True
        if one and ((isinstance(value, cst.Name) and value.value in listed) or _lists_items(value)):
            return True  # ``pending = sorted(INBOX.glob("*.tif"))`` then ``job = pending[0]``
    return False


def _lists_items(expr: cst.BaseExpression) -> bool:
    """A listing of a spool directory or bucket (``sorted(INBOX.glob("*.tif"))``,
    ``os.listdir(path)``): its first entry is the next item to handle."""
    for call in calls_in(expr):
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if name in _jobs.LISTINGS:
            return True
    return False


def _local_function(call: cst.Call, table: BindingTable, scope: Scope) -> Optional[cst.FunctionDef]:
    func = call.func
    if isinstance(func, cst.Name):
        return table.function_named(func.value, scope)
    if isinstance(func, cst.Attribute):
        found = [b.node for b in table.resolve(func, scope) if b.kind is BindingKind.FUNCTION]
        if len(found) == 1 and isinstance(found[0], cst.FunctionDef):
            return found[0]
    return None


# -- the rewrite ----------------------------------------------------------------------------------

_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)


def _literal(expr: Optional[cst.BaseExpression]) -> bool:
    if isinstance(expr, _LITERALS):
        return True
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "True", "False")
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        return isinstance(expr.expression, (cst.Integer, cst.Float))
    return False


class TailCallFix:
    """The exact rewrite of a tail-recursive plain function into a ``while True:`` loop
    (the conditions are in the OPS302 fixture spec and the rule's "Fix safety")."""

    def __init__(self, edits: Edits, function: cst.FunctionDef, table: BindingTable, scope: Scope) -> None:
        self.edits = edits
        self.function = function
        self.table = table
        self.scope = scope

    def build(self, tails: Sequence[Tail]) -> Optional[PendingFix]:
        function = self.function
        if not tails or not self._plain() or not isinstance(function.body, cst.IndentedBlock):
            return None
        if any(not self._rewritable(t) for t in tails):
            return None
        if any(t.form == "statement" for t in tails) and not self._returns_none():
            return None
        if any(t.form in ("accumulate", "conditional") for t in tails):
            return None
        body = list(function.body.body)
        first_index = 1 if is_docstring(body[0]) and len(body) > 1 else 0
        replacements: Dict[cst.SimpleStatementLine, Sequence[str]] = {}
        for tail in tails:
            assignment = self._assignment(tail)
            if assignment is None:
                return None
            replacements[tail.statement] = [assignment, "continue"] if assignment else ["continue"]
        last = body[-1]
        ends = last in replacements or (
            isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], (cst.Return, cst.Raise))
        )
        edit = self.edits.wrap_in_block(
            "while True:", body[first_index], last, replacements, () if ends else ("return",)
        )
        if edit is None:
            return None
        return PendingFix.safe(f"Turn the recursion of `{function.name.value}` into a `while True:` loop", edit)

    def _plain(self) -> bool:
        """A plain function: not a method, not decorated, not a generator, bound once, with
        no nested scope that could capture a local and no ``locals()``."""
        function, scope = self.function, self.scope
        if scope.owner is not None or function.decorators or is_generator(function) or scope.parent is None:
            return False
        bound = self.table.lookup(function.name.value, scope.parent)
        if len(bound) != 1 or bound[0].node is not function:
            return False
        params = {p.name.value for p in parameters(function, False)}
        for node in scope_nodes(function.body):
            if node is not function.body and isinstance(
                node, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.GeneratorExp)
            ):
                return False
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("locals", "vars"):
                return False
            if isinstance(node, (cst.Global, cst.Nonlocal)) and any(n.name.value in params for n in node.names):
                return False
        return True

    @staticmethod
    def _rewritable(tail: Tail) -> bool:
        if not isinstance(tail.call.func, cst.Name) or tail.arguments is None:
            return False
        return all(isinstance(outer, cst.If) for outer, _role in tail.enclosing)

    def _returns_none(self) -> bool:
        for node in scope_nodes(self.function.body):
            if isinstance(node, cst.Return) and node.value is not None:
                value = node.value
                if not (isinstance(value, cst.Name) and value.value == "None"):
                    return False
        return True

    def _assignment(self, tail: Tail) -> Optional[str]:
        """``"page, kinds = page + 1, None"``, ``""`` when nothing changes, None when the
        arguments cannot be assigned exactly."""
        assert tail.arguments is not None
        passed = tail.arguments
        targets: List[str] = []
        values: List[str] = []
        for param, value in passed.items():
            if isinstance(value, cst.Name) and value.value == param:
                continue
            text = self.edits.code(value)
            if "\n" in text:
                return None
            targets.append(param)
            values.append(text)
        for omitted in parameters(self.function, False):
            name = omitted.name.value
            if name in passed:
                continue
            if omitted.default is None or not _literal(omitted.default):
                return None
            targets.append(name)
            values.append(self.edits.code(omitted.default))
        if not targets:
            return ""
        return f"{', '.join(targets)} = {', '.join(values)}"


__all__ = [
    "Tail",
    "TailCallFix",
    "calls_self",
    "is_generator",
    "map_arguments",
    "parameters",
    "self_calls",
    "suite_statements",
    "tail_calls",
    "takes_item",
]
