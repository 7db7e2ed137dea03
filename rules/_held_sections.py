"""What OPS403 knows about held sections: what a value is (a lock, a throttle, a redis
client), what may raise or leave a section early, which handlers swallow everything, which
``acquire()`` waits, and the SQL text of lock statements."""

from __future__ import annotations

import re
from typing import Callable, Optional, Protocol, Tuple, Type

import libcst as cst

from opslint.analysis.scopes import Scope
from opslint.rules import _locks
from opslint.syntax.nodes import caught_types, keyword, unwrap_await
from opslint.syntax.walk import walk


class _Names(Protocol):
    def qualified_name(self, expr: cst.BaseExpression) -> Optional[str]: ...


class Risk(cst.CSTVisitor):
    """Finds anything that can raise or leave the section early.

    Storing into a subscript (``self.responses[seq] = resq``), logging, and
    ``notify()`` on the lock itself cannot raise in practice: they are not risks."""

    def __init__(self, key: str = "") -> None:
        self.risky = False
        self.key = key

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.risky:
            return False
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
        if isinstance(node, cst.Assign) and all(isinstance(t.target, cst.Subscript) for t in node.targets):
            for target in node.targets:
                subscript = cst.ensure_type(target.target, cst.Subscript)
                walk(subscript.value, self)
                for element in subscript.slice:
                    walk(element, self)
            walk(node.value, self)
            return False
        if isinstance(node, cst.Call) and self._harmless(node):
            for arg in node.args:
                walk(arg.value, self)
            return False
        if isinstance(node, cst.With) and _suppresses_everything(node):
            # ``with contextlib.suppress(Exception):`` cannot raise out of its block (it
            # can still leave the section early through a return or a break).
            self.risky = self.risky or _leaves(node.body)
            return False
        if isinstance(
            node,
            (
                cst.Call,
                cst.Await,
                cst.Raise,
                cst.Yield,
                cst.Assert,
                cst.Subscript,
                cst.Return,
                cst.Break,
                cst.Continue,
                cst.For,
                cst.With,
                cst.Del,
            ),
        ):
            self.risky = True
            return False
        return True

    def _harmless(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            return func.value in HARMLESS_BUILTINS
        if not isinstance(func, cst.Attribute):
            return False
        receiver = "".join(cst.Module(body=[]).code_for_node(func.value).split())
        method = func.attr.value
        if method in NOTIFY_METHODS and receiver == self.key:
            return True
        defaulted = len(call.args) == 2 and all(a.keyword is None for a in call.args)
        if method in CONTAINER_METHODS or (method in ("pop", "get") and defaulted):
            # ``self._order.append(x)``, ``self._active.pop(job_id, None)``: in-memory
            # bookkeeping that does not raise (``pop`` with a default, ``get``; not a
            # client's ``get(url, timeout=10)``).
            return isinstance(func.value, (cst.Name, cst.Attribute))
        if method == "get" and len(call.args) == 1 and call.args[0].keyword is None:
            # ``self._data.get(sid)``: a lookup in a private in-memory mapping (not a client's
            # ``get``, which names the client: ``self._redis.get(key)``).
            last = receiver.rsplit(".", 1)[-1]
            return (
                receiver.startswith("self._")
                and isinstance(func.value, cst.Attribute)
                and not _CLIENT_WORDS.search(last)
            )
        return method in LOG_METHODS and "log" in receiver.rsplit(".", 1)[-1].lower()


#: Attribute names of clients whose ``get`` goes over the network (or to a database).
_CLIENT_WORDS = re.compile(r"session|client|redis|conn|http|api|pool|db|cache|store|bucket|queue|rpc|grpc", re.I)
#: Builtins that do not raise on the values a held section handles.
HARMLESS_BUILTINS = frozenset({"print", "len", "isinstance", "id", "bool"})
#: Methods of lists, sets, dicts and deques that do not raise.
CONTAINER_METHODS = frozenset({"append", "appendleft", "extend", "add", "discard", "setdefault", "clear", "copy"})
#: ``contextlib.suppress`` of these swallows every error of its block.
_EVERYTHING = frozenset({"Exception", "BaseException"})


def _suppresses_everything(node: cst.With) -> bool:
    for item in node.items:
        call = item.item
        if not isinstance(call, cst.Call) or not call.args:
            continue
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if name == "suppress" and any(
            isinstance(a.value, cst.Name) and a.value.value in _EVERYTHING for a in call.args
        ):
            return len(node.items) == 1
    return False


def _leaves(body: cst.BaseSuite) -> bool:
    """A ``return``/``break``/``continue`` in ``body`` (not in a nested function)."""
    return _holds(body, (cst.Return, cst.Break, cst.Continue))


def _holds(node: cst.CSTNode, kinds: Tuple[Type[cst.CSTNode], ...]) -> bool:
    """Whether ``node`` holds a statement of one of ``kinds`` outside nested functions and classes."""

    class _Find(cst.CSTVisitor):
        hit = False

        def on_visit(inner, child: cst.CSTNode) -> bool:  # noqa: N805
            if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return False
            if isinstance(child, kinds):
                inner.hit = True
            return not inner.hit

    finder = _Find()
    walk(node, finder)
    return finder.hit


#: Methods of a held condition that wake waiters (they do not raise while it is held).
NOTIFY_METHODS = frozenset({"notify", "notify_all", "notifyAll"})
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


class LockKinds:
    """What a value is, for OPS403: ``lock`` (``lock:<library>`` when known),
    ``throttle``, ``redis`` (a client, not a lock), or ``other``."""

    def __init__(self, rule: _Names) -> None:
        self.rule = rule

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        value = unwrap_await(value)
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        attr = func.attr.value if isinstance(func, cst.Attribute) else None
        qualified = self.rule.qualified_name(func)
        if qualified in _locks.SEMAPHORE_CONSTRUCTORS:
            return "lock:semaphore"
        kind = _locks.constructor_kind(qualified, attr)
        library = _locks.lock_library(qualified)
        if kind == "lock" and library is not None:
            return f"lock:{library}"
        if kind is not None:
            return kind
        if attr in _locks.REDIS_LOCK_METHODS and value.args:
            return "lock"
        if isinstance(func, cst.Name) and qualified in (None, func.value):
            # A factory of this file (``client = get_client()``): the binding table
            # follows it to what it returns.
            return None
        return "other"

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if isinstance(annotation, cst.Subscript):  # Optional[Lock]
            for element in annotation.slice:
                if isinstance(element.slice, cst.Index):
                    return self.of_annotation(element.slice.value, scope)
            return None
        qualified = self.rule.qualified_name(annotation)
        if qualified in _locks.SEMAPHORE_CONSTRUCTORS:
            return "lock:semaphore"
        attr = annotation.attr.value if isinstance(annotation, cst.Attribute) else None
        return _locks.constructor_kind(qualified, attr)


def risky(node: cst.CSTNode, key: str = "") -> bool:
    finder = Risk(key)
    walk(node, finder)
    return finder.risky


def broad(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    return any(isinstance(n, cst.Name) and n.value in _EVERYTHING for n in caught_types(handler))


def escapes(handler: cst.ExceptHandler) -> bool:
    """A handler that raises, returns, breaks or continues (it does not fall through)."""
    return _holds(handler.body, (cst.Raise, cst.Return, cst.Break, cst.Continue))


def waits(call: cst.Call) -> bool:
    """``acquire()`` that waits: no ``blocking=False``, no timeout, no positional flag."""
    if any(arg.keyword is None for arg in call.args):
        return False
    blocking = keyword(call, "blocking")
    if blocking is not None and not (isinstance(blocking.value, cst.Name) and blocking.value.value == "True"):
        return False
    return all(keyword(call, k) is None for k in ("timeout", "blocking_timeout"))


def mentions(expr: cst.BaseExpression, name: str) -> bool:
    class _Find(cst.CSTVisitor):
        hit = False

        def visit_Name(inner, node: cst.Name) -> None:  # noqa: N805
            if node.value == name:
                inner.hit = True

    finder = _Find()
    walk(expr, finder)
    return finder.hit


def sql_text(expr: cst.BaseExpression, constant: Optional[Callable[[str], Optional[cst.BaseExpression]]] = None) -> str:
    """The lower-cased text of SQL: a literal, SQLAlchemy's ``text("...")``, or a
    constant (``GET_LOCK_SQL``) whose one value ``constant`` gives."""
    if isinstance(expr, cst.Call) and expr.args:
        func = expr.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        return sql_text(expr.args[0].value, constant) if name == "text" else ""
    if isinstance(expr, cst.Name) and constant is not None:
        bound = constant(expr.value)
        return sql_text(bound) if bound is not None else ""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value.lower() if isinstance(value, str) else ""
    if isinstance(expr, cst.ConcatenatedString):
        return " ".join(sql_text(part) for part in (expr.left, expr.right))
    return ""
