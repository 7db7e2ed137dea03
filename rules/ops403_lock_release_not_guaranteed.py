"""OPS403: a lock's ``release()`` that an exception can skip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingTable, Scope
from opslint.config import DOTTED_NAME, option
from opslint.rule import PendingFix, Rule, keyword
from opslint.rules import _locks
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import always_exits, single_expression, unwrap_await
from opslint.syntax.walk import walk

if TYPE_CHECKING:
    from opslint.context import FileContext

_Scope = Union[cst.Module, cst.FunctionDef, cst.ClassDef]
_Block = Union[cst.Module, cst.IndentedBlock]


@dataclass
class _Site:
    """An ``acquire`` call seen during the traversal, decided in ``leave_Module``."""

    call: cst.Call
    stack: Tuple[cst.CSTNode, ...]
    #: The scope the call sits in (binding table).
    scope: Scope
    #: Method-style acquire: the receiver (``self._lock``); None for acquire functions.
    receiver: Optional[cst.BaseExpression]
    #: For acquire functions: the names of the matching release functions.
    release_names: Tuple[str, ...] = ()


class _Risk(cst.CSTVisitor):
    """Finds anything that can raise or leave the section early."""

    def __init__(self) -> None:
        self.risky = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.risky:
            return False
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
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


class _LockKinds:
    """What a value is, for OPS403: ``lock`` (``lock:<library>`` when known),
    ``throttle``, ``redis`` (a client, not a lock), or ``other``."""

    def __init__(self, rule: LockReleaseNotGuaranteed) -> None:
        self.rule = rule

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        value = unwrap_await(value)
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        attr = func.attr.value if isinstance(func, cst.Attribute) else None
        qualified = self.rule.qualified_name(func)
        kind = _locks.constructor_kind(qualified, attr)
        library = _locks.lock_library(qualified)
        if kind == "lock" and library is not None:
            return f"lock:{library}"
        if kind is not None:
            return kind
        if attr in _locks.REDIS_LOCK_METHODS and value.args:
            return "lock"
        return "other"

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if isinstance(annotation, cst.Subscript):  # Optional[Lock]
            for element in annotation.slice:
                if isinstance(element.slice, cst.Index):
                    return self.of_annotation(element.slice.value, scope)
            return None
        qualified = self.rule.qualified_name(annotation)
        attr = annotation.attr.value if isinstance(annotation, cst.Attribute) else None
        return _locks.constructor_kind(qualified, attr)


class LockReleaseNotGuaranteed(Rule):
    """A lock released outside `finally`: an exception leaves it held.

    ## What it does
    Checks for `acquire()` of a lock (threading, multiprocessing, asyncio,
    redis-py `Lock` / `client.lock(...)`, filelock, fasteners, portalocker, or a
    configured acquire function) followed later in the same block by its
    `release()`, when the code in between can raise and the release is not in a
    `finally` (nor replaced by a `with lock:` block).

    Semaphores, bounded semaphores and rate limiters used as throttles are not
    locks and are not checked; neither is an `acquire()` whose release lives in
    another method (`__enter__`/`__exit__`) or a callback.  Project helpers
    named as a pair (`acquire_api_key_lock()` / `release_api_key_lock()`,
    `_acquireLock()` / `_releaseLock()`) are recognised without configuration.
    Test modules are not checked (a test that fails does not keep a queue
    waiting).

    ## Why it matters
    In incident 002 a shared API key was guarded by a hand-made lock: acquire,
    import, release.  When the work between acquire and release raises, the
    release never runs: a thread lock stays held forever, a redis lock until
    its TTL (or forever without one), and every job queued behind it stalls.

    ## Example
    ```python
    import threading

    lock = threading.Lock()

    def import_reports(account):
        lock.acquire()
        download(account)
        lock.release()
    ```

    ## Use instead
    ```python
    import threading

    lock = threading.Lock()

    def import_reports(account):
        with lock:
            download(account)
    ```

    ## Fix safety
    The fix wraps the statements between the acquire and the release in
    `try:` and moves the release into `finally:`.  It is unsafe: the release
    now also runs when the section raises or returns early, which is the
    point, but it changes control flow (a `return` inside the section now
    releases the lock too).  The fix is offered only for a blocking acquire
    (or one whose result was checked) and a single release in the same block.

    ## Options
    - `acquire-functions`: qualified names of project functions that take a
      lock (`["myapp.locks.acquire_api_key"]`); a name without dots matches
      any callee with that last name.  (Files are only analysed when they
      mention `acquire` or `lock`.)
    - `release-functions`: the matching release functions.

    ## See also
    OPS401 (a path that skips the lock), OPS402 (a lock that is not atomic).
    """

    code = "OPS403"
    name = "lock-release-not-guaranteed"
    message = (
        "The lock taken by `{acquire}` is released outside a `finally`: an exception before the release leaves it held"
    )
    tokens = ("acquire", "lock", "Lock")
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        acquire_functions: Tuple[str, ...] = option(
            (), pattern=DOTTED_NAME, shape="a name or a dotted name like `myapp.locks.acquire`"
        )
        release_functions: Tuple[str, ...] = option(
            (), pattern=DOTTED_NAME, shape="a name or a dotted name like `myapp.locks.acquire`"
        )

    requires = (BindingTable,)

    def __init__(self, ctx: FileContext, options: Any) -> None:
        super().__init__(ctx, options)
        self._sites: List[_Site] = []
        self._table = ctx.analysis(BindingTable)
        self._kinds = _LockKinds(self)
        self._module_prefix = f"{self.ctx.module_name}." if self.ctx.module_name else ""

    # -- collecting ---------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _locks.ACQUIRE_METHODS:
            if dotted_name(func.value) is not None or isinstance(func.value, cst.Subscript):
                self._sites.append(_Site(node, tuple(self.stack), self._table.current(), func.value))
            return
        releases = self._acquire_function(func)
        if releases:
            self._sites.append(_Site(node, tuple(self.stack), self._table.current(), None, releases))

    def _callee_names(self, func: cst.BaseExpression) -> Tuple[Optional[str], Optional[str]]:
        """(qualified name or None, last name) of a callee."""
        last = (
            func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
        )
        qualified = self.qualified_name(func)
        if qualified is None and isinstance(func, cst.Name):
            qualified = self._module_prefix + func.value
        return qualified, last

    def _acquire_function(self, func: cst.BaseExpression) -> Tuple[str, ...]:
        qualified, last = self._callee_names(func)
        if last is None:
            return ()
        configured = self.options.acquire_functions
        if configured and any(name == qualified or ("." not in name and name == last) for name in configured):
            return tuple(self.options.release_functions) or ("release",)
        # A project helper pair: acquire_api_key_lock(...) / release_api_key_lock(...).
        lowered = last.lower().lstrip("_")
        if lowered.startswith("acquire") and _locks.looks_like_lock_name(lowered[len("acquire") :].lstrip("_")):
            rest = last.lstrip("_")[len("acquire") :]
            return (last.replace("acquire" + rest, "release" + rest).replace("Acquire", "Release"),)
        return ()

    # -- deciding -------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.ctx.is_test_file:
            return
        for site in self._sites:
            self._check(site)

    def _receiver_kind(self, site: _Site) -> Optional[str]:
        receiver = site.receiver
        assert receiver is not None
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            answers = self._table.kinds(receiver, site.scope, self._kinds)
            bound = [a for a in answers if a.binding is not None or a.kind is not None]
            if bound:
                kinds = {a.kind or "other" for a in bound}
                name = receiver.value if isinstance(receiver, cst.Name) else receiver.attr.value
                return self._pick(kinds, name)
            if isinstance(receiver, cst.Name):
                return self._by_name(receiver.value)
            qualified = self.qualified_name(receiver)
            if qualified is not None and _locks.constructor_kind(qualified) == "throttle":
                return None
            return self._by_name(receiver.attr.value)
        if isinstance(receiver, cst.Subscript):
            container = dotted_name(receiver.value)
            return self._by_name(container.rsplit(".", 1)[-1]) if container else None
        return None

    @staticmethod
    def _pick(kinds: Set[str], name: str) -> Optional[str]:
        if "throttle" in kinds or "redis" in kinds:
            return None
        locks = sorted(k for k in kinds if k.startswith("lock"))
        if locks:
            return locks[-1]
        return LockReleaseNotGuaranteed._by_name(name)

    @staticmethod
    def _by_name(name: str) -> Optional[str]:
        if _locks.looks_like_throttle_name(name):
            return None
        return "lock" if _locks.looks_like_lock_name(name) else None

    def _is_release(self, expr: Optional[cst.BaseExpression], site: _Site, key: str) -> bool:
        if expr is None:
            return False
        expr = unwrap_await(expr)
        if not isinstance(expr, cst.Call):
            return False
        func = expr.func
        if site.receiver is not None:
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value in _locks.RELEASE_METHODS
                and self._text(func.value) == key
            )
        qualified, last = self._callee_names(func)
        if not any(name == qualified or name.rsplit(".", 1)[-1] == last for name in site.release_names):
            return False
        first = site.call.args[0].value if site.call.args else None
        other = expr.args[0].value if expr.args else None
        return first is None or other is None or self._text(first) == self._text(other)

    def _text(self, node: cst.CSTNode) -> str:
        return "".join(self.edits.code(node).split())

    def _releases_within(self, node: cst.CSTNode, site: _Site, key: str) -> bool:
        found = False

        class _Find(cst.CSTVisitor):
            def on_visit(inner, child: cst.CSTNode) -> bool:  # noqa: N805
                nonlocal found
                if found:
                    return False
                if isinstance(child, cst.Call) and self._is_release(child, site, key):
                    found = True
                    return False
                return True

        walk(node, _Find())
        return found

    def _check(self, site: _Site) -> None:
        if site.receiver is not None:
            kind = self._receiver_kind(site)
            if kind is None:
                return
            raising = kind.partition(":")[2] in _locks.RAISING_ACQUIRE_LIBRARIES
            key = self._text(site.receiver)
            label = f"{self.edits.code(site.receiver)}.acquire()"
        else:
            key = ""
            label = self.edits.code(site.call.func) + "()"
            raising = False
        located = self._statement_of(site)
        if located is None:
            return
        stmt, block, index = located
        section = self._section(site, stmt, block, index)
        if section is None:
            return
        body, start, checked = section
        release_at = None
        for position in range(start, len(body)):
            candidate = body[position]
            if self._is_release(single_expression(candidate), site, key):
                release_at = position
                break
            if isinstance(candidate, cst.Try) and self._protects(candidate, site, key):
                return
        if release_at is None:
            return
        between = body[start:release_at]
        if not any(self._risky(s, site, key) for s in between):
            return
        fix = None
        blocking = site.receiver is None or self._blocking(site.call)
        if (checked or raising or blocking) and not any(self._releases_within(s, site, key) for s in between):
            fix = self._fix(stmt, body, start, release_at)
        self.report(site.call, acquire=label, fix=fix)

    def _statement_of(self, site: _Site) -> Optional[Tuple[cst.BaseStatement, _Block, int]]:
        """The statement holding the acquire, its block and its index there."""
        stack = site.stack
        for depth in range(len(stack) - 2, -1, -1):
            node = stack[depth]
            if isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
                return None
            if isinstance(node, cst.BaseStatement):
                parent = stack[depth - 1] if depth > 0 else None
                if not isinstance(parent, (cst.IndentedBlock, cst.Module)):
                    return None
                if isinstance(node, cst.SimpleStatementLine) and len(node.body) != 1:
                    return None
                for index, child in enumerate(parent.body):
                    if child is node:
                        return self._lift_try(stack[: depth - 1], node, parent, index)
                return None
        return None

    def _lift_try(
        self, outer: Sequence[cst.CSTNode], node: cst.BaseStatement, block: _Block, index: int
    ) -> Optional[Tuple[cst.BaseStatement, _Block, int]]:
        """``try: lock.acquire(timeout=5)`` / ``except Timeout: exit``: the section follows the ``try``."""
        if index != len(block.body) - 1 or len(outer) < 2:
            return node, block, index
        holder, container = outer[-1], outer[-2]
        if (
            isinstance(holder, cst.Try)
            and holder.body is block
            and holder.handlers
            and holder.orelse is None
            and holder.finalbody is None
            and all(always_exits(h.body, self.ctx.imports) for h in holder.handlers)
            and isinstance(container, (cst.IndentedBlock, cst.Module))
            and isinstance(node, cst.SimpleStatementLine)
            and isinstance(node.body[0], cst.Expr)
        ):
            for position, child in enumerate(container.body):
                if child is holder:
                    return holder, container, position
        return node, block, index

    def _section(
        self, site: _Site, stmt: cst.BaseStatement, block: _Block, index: int
    ) -> Optional[Tuple[Sequence[cst.BaseStatement], int, bool]]:
        """The statements that follow a successful acquire: (block body, start index, result checked)."""
        call = site.call
        if isinstance(stmt, cst.If):
            test = unwrap_await(stmt.test)
            if test is call:
                if not isinstance(stmt.body, cst.IndentedBlock):
                    return None
                return stmt.body.body, 0, True
            if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
                if (
                    unwrap_await(test.expression) is call
                    and always_exits(stmt.body, self.ctx.imports)
                    and stmt.orelse is None
                ):
                    return block.body, index + 1, True
            return None
        if isinstance(stmt, (cst.While, cst.Try)):
            return block.body, index + 1, True
        if not isinstance(stmt, cst.SimpleStatementLine):
            return None
        small = stmt.body[0]
        if isinstance(small, cst.Expr) and unwrap_await(small.value) is call:
            return block.body, index + 1, False
        if (
            isinstance(small, (cst.Assign, cst.AnnAssign))
            and small.value is not None
            and unwrap_await(small.value) is call
        ):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            if len(targets) != 1 or not isinstance(targets[0], cst.Name):
                return None
            flag = targets[0].value
            body = block.body
            start = index + 1
            while start < len(body):
                nxt = body[start]
                if not isinstance(nxt, cst.If) or not self._mentions(nxt.test, flag):
                    break
                test = nxt.test
                if isinstance(test, cst.Name) and test.value == flag:
                    if isinstance(nxt.body, cst.IndentedBlock):
                        return nxt.body.body, 0, True
                    return None
                if always_exits(nxt.body, self.ctx.imports) and nxt.orelse is None:
                    start += 1
                    continue
                return None
            return body, start, start > index + 1
        return None

    @staticmethod
    def _mentions(expr: cst.BaseExpression, name: str) -> bool:
        class _Find(cst.CSTVisitor):
            hit = False

            def visit_Name(inner, node: cst.Name) -> None:  # noqa: N805
                if node.value == name:
                    inner.hit = True

        finder = _Find()
        walk(expr, finder)
        return finder.hit

    def _protects(self, node: cst.Try, site: _Site, key: str) -> bool:
        """A ``try`` whose ``finally`` releases the lock."""
        return node.finalbody is not None and self._releases_within(node.finalbody, site, key)

    def _risky(self, stmt: cst.BaseStatement, site: _Site, key: str) -> bool:
        if isinstance(stmt, cst.Try):
            if self._protects(stmt, site, key):
                return False
            broad = any(
                self._broad(h) and (not self._escapes(h) or self._releases_within(h.body, site, key))
                for h in stmt.handlers
            )
            if broad:
                return (stmt.orelse is not None and self._risky_node(stmt.orelse)) or (
                    stmt.finalbody is not None and self._risky_node(stmt.finalbody)
                )
        return self._risky_node(stmt)

    @staticmethod
    def _risky_node(node: cst.CSTNode) -> bool:
        finder = _Risk()
        walk(node, finder)
        return finder.risky

    def _broad(self, handler: cst.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        names = [handler.type]
        if isinstance(handler.type, cst.Tuple):
            names = [e.value for e in handler.type.elements]
        return any(isinstance(n, cst.Name) and n.value in ("Exception", "BaseException") for n in names)

    @staticmethod
    def _escapes(handler: cst.ExceptHandler) -> bool:
        class _Find(cst.CSTVisitor):
            hit = False

            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    return False
                if isinstance(node, (cst.Raise, cst.Return, cst.Break, cst.Continue)):
                    inner.hit = True
                return not inner.hit

        finder = _Find()
        walk(handler.body, finder)
        return finder.hit

    @staticmethod
    def _blocking(call: cst.Call) -> bool:
        """``acquire()`` that waits: no ``blocking=False``, no timeout, no positional flag."""
        if any(arg.keyword is None for arg in call.args):
            return False
        blocking = keyword(call, "blocking")
        if blocking is not None and not (isinstance(blocking.value, cst.Name) and blocking.value.value == "True"):
            return False
        return all(keyword(call, k) is None for k in ("timeout", "blocking_timeout"))

    # -- the fix --------------------------------------------------------------

    def _fix(
        self, stmt: cst.BaseStatement, body: Sequence[cst.BaseStatement], start: int, release_at: int
    ) -> Optional[PendingFix]:
        positions = self.ctx.positions()
        first = body[start]
        release = body[release_at]
        previous_end = positions[stmt].end.line if start == 0 else positions[body[start - 1]].end.line
        if isinstance(stmt, cst.If) and start == 0:
            previous_end = positions[stmt.test].end.line
        for node in body[start : release_at + 1]:
            rng = positions[node]
            if rng.start.line <= previous_end:
                return None  # statements sharing a line: leave it to the author
            previous_end = rng.end.line
        if positions[first].start.column != positions[release].start.column:
            return None
        if not isinstance(release, cst.SimpleStatementLine) or release_at == start:
            return None
        # The statements up to the release go in `try:`, the release (with its comment) in `finally:`.
        edit = self.edits.wrap_in_try_finally(first, body[release_at - 1], [release])
        if edit is None:
            return None
        return PendingFix.unsafe("Release the lock in a `finally`", edit)
