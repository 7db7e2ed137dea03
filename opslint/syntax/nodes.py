"""Node shapes every rule asks about: arguments, blocks, exits, loops, calls in a scope.

The one list of calls that end a process or a request (:data:`EXIT_CALLS`) and the one
answer to "does this block always exit" (:func:`always_exits`) live here, so that the
rules agree on them (ruff answers block termination once too, in ``analyze/terminal.rs``).
"""

from __future__ import annotations

import enum
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.walk import children


class ExitKind(enum.Enum):
    """How control leaves a function or the process."""

    #: The function body ends.
    END = "end"
    RETURN = "return"
    #: ``sys.exit()``, ``exit()``, ``quit()``, ``raise SystemExit``: atexit and ``finally`` run.
    SYS_EXIT = "sys.exit"
    #: ``os._exit()``, ``os.abort()``: nothing runs, no ``finally``, no atexit, no buffers drained.
    HARD_EXIT = "os._exit"
    #: Any other explicit ``raise`` (or a call that always raises) not caught in the function.
    RAISE = "raise"


#: Decorators that turn a generator into a context manager (its one ``yield`` is the
#: value of the ``with``).
CONTEXT_MANAGER_DECORATORS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})

#: Calls that never return, by qualified name (after import resolution) and what they do.
#: Bare ``exit``/``quit`` are the ``site`` builtins.  The RAISE entries raise an exception
#: that a web framework or a test runner turns into a response or a failure.
EXIT_CALLS: Dict[str, ExitKind] = {
    "sys.exit": ExitKind.SYS_EXIT,
    "_sys.exit": ExitKind.SYS_EXIT,
    "exit": ExitKind.SYS_EXIT,
    "quit": ExitKind.SYS_EXIT,
    "builtins.exit": ExitKind.SYS_EXIT,
    "builtins.quit": ExitKind.SYS_EXIT,
    "os._exit": ExitKind.HARD_EXIT,
    "posix._exit": ExitKind.HARD_EXIT,
    "os.abort": ExitKind.HARD_EXIT,
    "flask.abort": ExitKind.RAISE,
    "werkzeug.exceptions.abort": ExitKind.RAISE,
    "fastapi.HTTPException": ExitKind.RAISE,
    "pytest.fail": ExitKind.RAISE,
    "pytest.skip": ExitKind.RAISE,
    "pytest.exit": ExitKind.SYS_EXIT,
}
#: Exception classes whose ``raise`` ends the process the way ``sys.exit`` does
#: (click and typer turn their ``Exit``/``Abort`` into ``sys.exit``).
SYSTEM_EXIT_EXCEPTIONS = frozenset(
    {
        "SystemExit",
        "KeyboardInterrupt",
        "typer.Exit",
        "typer.Abort",
        "click.exceptions.Exit",
        "click.exceptions.Abort",
        "click.Abort",
    }
)
#: Method names that end a request or a test when called on ``self`` (tornado's and
#: webapp2's ``self.abort``, unittest's ``self.fail``/``self.skipTest``).
SELF_EXIT_METHODS = frozenset({"abort", "fail", "skipTest"})


def exit_kind_of_call(call: cst.Call, imports: Optional[ImportTable] = None) -> Optional[ExitKind]:
    """What a call that never returns does (``sys.exit()``, ``os._exit()``, ``abort(404)``...)."""
    func = call.func
    qual = imports.resolve(func) if imports is not None else None
    if qual is None:
        qual = dotted_name(func)
    if qual is None:
        return None
    kind = EXIT_CALLS.get(qual)
    if kind is not None:
        if qual in ("exit", "quit") and imports is not None and imports.resolve(func) not in (None, qual):
            return None
        return kind
    if qual.startswith("self.") and qual.count(".") == 1 and qual[5:] in SELF_EXIT_METHODS:
        return ExitKind.RAISE
    return None


def raises_system_exit(node: cst.Raise, imports: Optional[ImportTable] = None) -> bool:
    """``raise SystemExit``, ``raise SystemExit(1)``, ``raise typer.Exit(code=1)``..."""
    exc = node.exc
    if isinstance(exc, cst.Call):
        exc = exc.func
    if exc is None:
        return False
    qual = (imports.resolve(exc) if imports is not None else None) or dotted_name(exc)
    return qual in SYSTEM_EXIT_EXCEPTIONS


def exit_kind_of_statement(small: cst.BaseSmallStatement, imports: Optional[ImportTable] = None) -> Optional[ExitKind]:
    """How a simple statement leaves the function or process, if it does."""
    if isinstance(small, cst.Return):
        return ExitKind.RETURN
    if isinstance(small, cst.Raise):
        return ExitKind.SYS_EXIT if raises_system_exit(small, imports) else ExitKind.RAISE
    if isinstance(small, cst.Expr):
        value = small.value
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call):
            kind = exit_kind_of_call(value, imports)
            # ``flask.abort`` & co. raise: for the path they are a raise.
            return kind
    return None


def always_exits(
    body: Union[cst.BaseSuite, Sequence[cst.BaseStatement]],
    imports: Optional[ImportTable] = None,
    *,
    jumps: bool = True,
) -> bool:
    """Whether control can never fall off the end of ``body``: every path returns, raises,
    exits the process or (with ``jumps``) leaves by ``break``/``continue``."""
    statements = suite_statements(body) if isinstance(body, cst.BaseSuite) else list(body)
    return any(_statement_exits(stmt, imports, jumps) for stmt in statements)


def _statement_exits(stmt: cst.BaseStatement, imports: Optional[ImportTable], jumps: bool) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if exit_kind_of_statement(small, imports) is not None:
                return True
            if jumps and isinstance(small, (cst.Break, cst.Continue)):
                return True
        return False
    if isinstance(stmt, cst.If):
        if not always_exits(stmt.body, imports, jumps=jumps):
            return False
        orelse = stmt.orelse
        if orelse is None:
            return False
        if isinstance(orelse, cst.If):
            return _statement_exits(orelse, imports, jumps)
        return always_exits(orelse.body, imports, jumps=jumps)
    if isinstance(stmt, (cst.With,)):
        return always_exits(stmt.body, imports, jumps=jumps)
    if isinstance(stmt, (cst.Try, cst.TryStar)):
        if stmt.finalbody is not None and always_exits(stmt.finalbody.body, imports, jumps=jumps):
            return True
        main = stmt.orelse.body if stmt.orelse is not None else stmt.body
        if not always_exits(stmt.body, imports, jumps=jumps) and not always_exits(main, imports, jumps=jumps):
            return False
        return all(always_exits(h.body, imports, jumps=jumps) for h in stmt.handlers)
    if isinstance(stmt, cst.While):
        # ``while True:`` without ``break`` never falls through.
        return is_true(stmt.test) and not has_break(stmt)
    if isinstance(stmt, cst.Match):
        return any(irrefutable(case.pattern) and case.guard is None for case in stmt.cases) and all(
            always_exits(case.body, imports, jumps=jumps) for case in stmt.cases
        )
    return False


def irrefutable(pattern: cst.MatchPattern) -> bool:
    """A capture (``case x``) or wildcard (``case _``) pattern, possibly inside an ``|``."""
    if isinstance(pattern, cst.MatchAs):
        return pattern.pattern is None or irrefutable(pattern.pattern)
    if isinstance(pattern, cst.MatchOr):
        return any(irrefutable(p.pattern) for p in pattern.patterns)
    return False


def is_true(expr: cst.BaseExpression) -> bool:
    """``True`` or ``1``: an always-true loop test."""
    return (isinstance(expr, cst.Name) and expr.value == "True") or (
        isinstance(expr, cst.Integer) and expr.value not in ("0", "0x0", "0o0", "0b0")
    )


def has_break(loop: Union[cst.For, cst.While]) -> bool:
    """Whether a ``break`` leaves this loop (not an inner loop, not a nested function)."""
    stack: List[cst.CSTNode] = list(reversed(children(loop.body)))
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Break):
            return True
        if isinstance(node, (cst.For, cst.While)):
            # An inner loop's body breaks the inner loop; its ``else`` belongs to ours.
            if node.orelse is not None:
                stack.append(node.orelse)
            continue
        if isinstance(node, _NESTED_SCOPES):
            continue
        stack.extend(reversed(children(node)))
    return False


def loops_forever(loop: cst.CSTNode) -> bool:
    """``while True:`` (or ``while 1:``) that no ``break`` leaves: a server/consumer loop."""
    return isinstance(loop, cst.While) and is_true(loop.test) and not has_break(loop)


def suite_statements(suite: cst.BaseSuite) -> List[cst.BaseStatement]:
    """The statements of a block (``if x: a; b`` on one line gives one line of two)."""
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=suite.body)]


def is_docstring(stmt: cst.BaseStatement) -> bool:
    """``stmt`` is a string literal on its own (a docstring when it comes first in a body)."""
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def tail_statements(body: Sequence[cst.BaseStatement]) -> List[cst.BaseStatement]:
    """Statements that may be the last to run before the body ends: the last
    statement, and recursively the last statements of its branches (``if``,
    ``try`` body/handlers/finally, ``with``, ``match`` cases).  Loops are tails themselves."""
    out: List[cst.BaseStatement] = []
    if not body:
        return out
    last = body[-1]
    out.append(last)
    if isinstance(last, cst.If):
        out.extend(tail_statements(suite_statements(last.body)))
        orelse = last.orelse
        if isinstance(orelse, cst.If):
            out.extend(tail_statements([orelse]))
        elif isinstance(orelse, cst.Else):
            out.extend(tail_statements(suite_statements(orelse.body)))
    elif isinstance(last, cst.With):
        out.extend(tail_statements(suite_statements(last.body)))
    elif isinstance(last, (cst.Try, cst.TryStar)):
        if last.finalbody is not None:
            out.extend(tail_statements(suite_statements(last.finalbody.body)))
        else:
            src = last.orelse.body if last.orelse is not None else last.body
            out.extend(tail_statements(suite_statements(src)))
            for handler in last.handlers:
                out.extend(tail_statements(suite_statements(handler.body)))
    elif isinstance(last, cst.Match):
        for case in last.cases:
            out.extend(tail_statements(suite_statements(case.body)))
    return out


def child_blocks(stmt: cst.BaseStatement) -> Iterator[List[cst.BaseStatement]]:
    """The statement lists nested directly in a compound statement, in source order
    (``if``/``elif``/``else``, loop bodies and ``else``, ``with``, ``try``/``try*`` with
    handlers, ``else`` and ``finally``, ``match`` cases); none for ``def``/``class``."""
    if isinstance(stmt, cst.If):
        yield suite_statements(stmt.body)
        orelse = stmt.orelse
        if isinstance(orelse, cst.Else):
            yield suite_statements(orelse.body)
        elif isinstance(orelse, cst.If):
            yield from child_blocks(orelse)
    elif isinstance(stmt, (cst.For, cst.While)):
        yield suite_statements(stmt.body)
        if stmt.orelse is not None:
            yield suite_statements(stmt.orelse.body)
    elif isinstance(stmt, cst.With):
        yield suite_statements(stmt.body)
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield suite_statements(stmt.body)
        for handler in stmt.handlers:
            yield suite_statements(handler.body)
        if stmt.orelse is not None:
            yield suite_statements(stmt.orelse.body)
        if stmt.finalbody is not None:
            yield suite_statements(stmt.finalbody.body)
    elif isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield suite_statements(case.body)


#: Where a compound statement holds a nested statement (see :func:`nested_statements`).
Role = str
Enclosing = Tuple[Tuple[cst.BaseStatement, Role], ...]


def nested_statements(
    body: Sequence[cst.BaseStatement], outer: Enclosing = ()
) -> Iterator[Tuple[cst.BaseStatement, Enclosing]]:
    """Every statement of a body in source order, with the compound statements around
    it (outermost first) and the part of each that holds it: ``"body"`` (of ``if``,
    ``for``, ``while``, ``with``, ``try``), ``"else"`` (an ``else`` or an ``elif``,
    which is itself an ``if`` in its parent's ``"else"``), ``"handler"`` (``except``),
    ``"finally"``, ``"case"``.  Nested functions and classes are yielded, not entered."""
    for stmt in body:
        yield stmt, outer
        for block, role in _blocks_with_roles(stmt):
            yield from nested_statements(block, (*outer, (stmt, role)))


def _blocks_with_roles(stmt: cst.BaseStatement) -> Iterator[Tuple[List[cst.BaseStatement], Role]]:
    if isinstance(stmt, cst.If):
        yield suite_statements(stmt.body), "body"
        orelse = stmt.orelse
        if isinstance(orelse, cst.Else):
            yield suite_statements(orelse.body), "else"
        elif isinstance(orelse, cst.If):
            yield [orelse], "else"
    elif isinstance(stmt, (cst.For, cst.While)):
        yield suite_statements(stmt.body), "body"
        if stmt.orelse is not None:
            yield suite_statements(stmt.orelse.body), "else"
    elif isinstance(stmt, cst.With):
        yield suite_statements(stmt.body), "body"
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield suite_statements(stmt.body), "body"
        for handler in stmt.handlers:
            yield suite_statements(handler.body), "handler"
        if stmt.orelse is not None:
            yield suite_statements(stmt.orelse.body), "else"
        if stmt.finalbody is not None:
            yield suite_statements(stmt.finalbody.body), "finally"
    elif isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield suite_statements(case.body), "case"


# -- nodes of one scope ------------------------------------------------------------------

_NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def scope_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and the nodes under it that run in the same scope, in visit order: nested
    functions, lambdas and classes are yielded but not entered (their code runs at another
    time, if ever).  Read-only: no LibCST copy-on-visit."""
    stack: List[cst.CSTNode] = [node]
    root = node
    while stack:
        current = stack.pop()
        yield current
        if current is not root and isinstance(current, _NESTED_SCOPES):
            continue
        stack.extend(reversed(children(current)))


class ScopeVisitor(cst.CSTVisitor):
    """A visitor that stays in one scope: it does not enter nested functions, lambdas
    or classes.  Run it with ``opslint.syntax.walk.walk(node, visitor)`` (no copying),
    on a function's ``body`` to see that function's own code."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def calls_in(node: cst.CSTNode) -> List[cst.Call]:
    """Calls in evaluation order (arguments before the call that takes them), not
    entering nested functions, lambdas or classes."""
    out: List[cst.Call] = []

    def post(current: cst.CSTNode, is_root: bool) -> None:
        if not is_root and isinstance(current, _NESTED_SCOPES):
            return
        for child in children(current):
            post(child, False)
        if isinstance(current, cst.Call):
            out.append(current)

    post(node, True)
    return out


def find_in_scope(node: cst.CSTNode, predicate: Callable[[cst.CSTNode], bool]) -> Optional[cst.CSTNode]:
    """The first node of ``node``'s own scope that satisfies ``predicate``."""
    return next((n for n in scope_nodes(node) if predicate(n)), None)


# -- arguments -----------------------------------------------------------------------------


def keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    """The ``name=...`` argument of a call, if given."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call) -> List[cst.Arg]:
    """The positional arguments of a call (``*args`` excluded)."""
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def unwrap_await(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``await x`` -> ``x``."""
    return expr.expression if isinstance(expr, cst.Await) else expr


def single_expression(stmt: cst.BaseStatement) -> Optional[cst.BaseExpression]:
    """The expression of a statement line that is one expression statement (``f(x)``)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
        return stmt.body[0].value
    return None


def caught_types(handler: Union[cst.ExceptHandler, cst.ExceptStarHandler]) -> List[cst.BaseExpression]:
    """The exception types an ``except`` clause names (``except (A, b.C):`` -> ``A``, ``b.C``);
    empty for a bare ``except:``."""
    caught = handler.type
    if caught is None:
        return []
    return [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
