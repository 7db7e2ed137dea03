"""OPS403: a lock's ``release()`` that an exception can skip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingKind, BindingTable, Scope
from opslint.config import DOTTED_NAME, option
from opslint.rule import PendingFix, Rule, keyword
from opslint.rules import _locks
from opslint.rules._held_sections import LockKinds, broad, escapes, mentions, risky, sql_text, waits
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import always_exits, calls_in, caught_types, single_expression, unwrap_await
from opslint.syntax.walk import iter_nodes, walk

if TYPE_CHECKING:
    from opslint.context import FileContext

_Scope = Union[cst.Module, cst.FunctionDef, cst.ClassDef]
_Block = Union[cst.Module, cst.IndentedBlock]
#: Calls that wait for the awaitable given first (an acquire with a deadline).
_WAITS_FOR = frozenset({"asyncio.wait_for", "asyncio.shield"})
#: Reads of a SQL statement's result (``.scalar()``) chained on the ``execute`` that takes a lock.
_RESULT_READS = frozenset({"scalar", "scalar_one", "scalar_one_or_none", "fetchone", "first", "one"})


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
    #: For claims (``cache.add``, ``SET NX``, ``flock``, advisory locks): how the release is
    #: spelled and what it must name: (callee form, receiver text, first-argument text).
    claim: Optional[Tuple[str, str, str]] = None
    #: How the acquire is shown in the message.
    label: str = ""


class LockReleaseNotGuaranteed(Rule):
    """A lock released outside `finally`: an exception leaves it held.

    ## What it does
    Checks for `acquire()` of a lock (threading, multiprocessing, asyncio,
    redis-py `Lock` / `client.lock(...)`, filelock, fasteners, portalocker, or a
    configured acquire function) or a claim (redis `set(k, v, nx=True)` /
    `setnx` given back by `delete`, Django `cache.add` / `cache.delete`,
    `fcntl.flock(fd, LOCK_EX)` / `LOCK_UN`, `portalocker.lock` / `unlock`,
    `pg_advisory_lock` / MySQL `GET_LOCK` through a cursor or SQLAlchemy `text(...)`,
    also held in a constant, Redlock/aioredlock `lock = dlm.lock(...)` /
    `dlm.unlock(lock)`) followed later in the same block by its release (or by
    `if lock.owned(): lock.release()`), when the code in between can raise and
    the release is not in a `finally` (nor replaced by a `with lock:` block).  An
    acquire awaited through `asyncio.wait_for`, tested with `and`, or taken in a
    `try` whose handlers leave counts; a client or lock returned by a factory of the
    file is followed.  A release in a `finally` is not enough when code that can
    raise runs between the acquire (and its result check) and the `try`, nor is a
    release in the `try`'s `else` (it runs only when nothing raised), nor, for an
    awaited lock, a release in `except Exception:` (a cancelled task raises
    `CancelledError`, which it does not catch).  Logging,
    a store into a dict, in-memory bookkeeping (`append`, `pop(key, None)`, `len`),
    a block under `contextlib.suppress(Exception)` and `notify()` on the held lock
    cannot raise in practice.

    Semaphores (and trio/anyio capacity limiters) are checked too: a permit not
    given back shrinks the pool for good, and once every permit has leaked each
    caller waits for ever.  Rate limiters, which refill by themselves, are not
    checked; neither is an `acquire()` whose release lives in
    another method (`__enter__`/`__exit__`) or a callback, nor a `flock` on a
    file opened by `with open(...)` (closing it releases the lock), nor a
    transaction-level `pg_advisory_xact_lock`.  Project helpers
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
    message = "The lock taken by `{acquire}` {problem}"
    _OUTSIDE = "is released outside a `finally`: an exception before the release leaves it held"
    _IN_BODY = (
        "is released inside a `try` body whose handlers do not release it: when the body raises "
        "before the release, the lock stays held"
    )
    _IN_ELSE = (
        "is released only in the `else` of a `try`: when the `try` body raises, the handlers run "
        "and the release does not, leaving it held"
    )
    tokens = ("acquire", "lock", "Lock", "LOCK", "nx=True", "setnx", ".add(")
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
        self._kinds = LockKinds(self)
        self._module_prefix = f"{self.ctx.module_name}." if self.ctx.module_name else ""
        #: Where names are looked up once the traversal is over (the site being decided).
        self._scope: Optional[Scope] = None

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
            return
        claim = self._claim(node)
        if claim is not None:
            label, form = claim
            receiver = self._text(func.value) if isinstance(func, cst.Attribute) else ""
            first = self._text(node.args[0].value) if node.args else ""
            if form == "unlock":
                first = self._assigned_to(node)
                if not first:
                    return
            self._sites.append(
                _Site(node, tuple(self.stack), self._table.current(), None, claim=(form, receiver, first), label=label)
            )

    def _claim(self, node: cst.Call) -> Optional[Tuple[str, str]]:
        """(label, release form) of a claim that a later call must give back."""
        func = node.func
        qualified = self.qualified_name(func)
        if qualified in _locks.FILE_LOCK_CALLS:
            flags = self._text(node.args[1].value) if len(node.args) > 1 else ""
            if ("LOCK_EX" in flags or "LOCK_SH" in flags) and not self._closed_by_with(node):
                return f"{self.edits.code(func)}(...)", qualified.rsplit(".", 1)[0]
            return None
        if qualified in _locks.FILE_LOCK_FUNCTIONS and not self._closed_by_with(node):
            return f"{self.edits.code(func)}(...)", _locks.FILE_LOCK_FUNCTIONS[qualified]
        if not isinstance(func, cst.Attribute) or not node.args:
            return None
        method = func.attr.value
        if method == "execute" or method in ("fetchval", "fetchrow", "fetch", "fetchone"):
            text = sql_text(node.args[0].value, self._constant)
            marker = next((m for m in _locks.SESSION_LOCK_SQL if m in text), None)
            return (f"{marker.rstrip('(')}(...)", "sql") if marker is not None else None
        if method == "lock" and self._store(func.value) == "redlock":
            return f"{self.edits.code(func)}(...)", "unlock"
        if method == "add" and (
            self.qualified_name(func.value) in _locks.DJANGO_CACHES or self._store(func.value) == "cache"
        ):
            return f"{self.edits.code(func)}(...)", "delete"
        if method in ("set", "setnx") and self._store(func.value) == "redis":
            nx = keyword(node, "nx")
            if method == "setnx" or (nx is not None and isinstance(nx.value, cst.Name) and nx.value.value == "True"):
                return (
                    f"{self.edits.code(func)}(..., nx=True)" if method == "set" else f"{self.edits.code(func)}(...)",
                    "delete",
                )
        return None

    def _assigned_to(self, call: cst.Call) -> str:
        """``lock = dlm.lock(...)`` (or ``= await ...``) -> ``lock``; "" otherwise."""
        for parent in reversed(self.stack[:-1]):
            if isinstance(parent, cst.Await):
                continue
            if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
                target = parent.targets[0].target
                if isinstance(target, cst.Name) and unwrap_await(parent.value) is call:
                    return target.value
            return ""
        return ""

    def _constant(self, name: str) -> Optional[cst.BaseExpression]:
        """The value of a name bound once, by a plain assignment (``GET_LOCK_SQL = "..."``)."""
        bindings = self._table.lookup(name, self._scope if self._scope is not None else self._table.current())
        if len(bindings) == 1 and bindings[0].kind is BindingKind.ASSIGN:
            return bindings[0].value
        return None

    def _store(self, receiver: cst.BaseExpression) -> Optional[str]:
        """``redis`` for a redis client, ``cache`` for a Django cache (``caches["x"]``)."""
        if isinstance(receiver, cst.Subscript):
            return "cache" if self.qualified_name(receiver.value) == "django.core.cache.caches" else None
        if isinstance(receiver, cst.Name):
            # ``lock_cache = caches["locks"]`` then ``lock_cache.add(...)``.
            value = self._constant(receiver.value)
            if isinstance(value, cst.Subscript):
                return self._store(value)
        if not isinstance(receiver, (cst.Name, cst.Attribute)):
            return None
        kinds = {a.kind for a in self._table.kinds(receiver, self._table.current(), self._kinds) if a.kind}
        if "redis" in kinds or "redlock" in kinds:
            return "redlock" if "redlock" in kinds else "redis"
        name = receiver.value if isinstance(receiver, cst.Name) else receiver.attr.value
        return "redis" if not kinds - {"other"} and _locks.looks_like_redis_name(name) else None

    def _closed_by_with(self, node: cst.Call) -> bool:
        """``flock(f, LOCK_EX)`` on a file opened by ``with open(...) as f``: closing releases it."""
        target = self._text(node.args[0].value) if node.args else ""
        for ancestor in self.stack:
            if isinstance(ancestor, cst.With):
                for item in ancestor.items:
                    if item.asname is not None and self._text(item.asname.name) == target:
                        return True
        return False

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
        if _locks.looks_like_semaphore_name(name):
            return "lock"  # ``sem = semaphore_for(key)``: a permit to give back
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
        if site.claim is not None:
            return self._releases_claim(expr, site.claim)
        if site.receiver is not None:
            if isinstance(func, cst.Attribute) and func.attr.value in _locks.RELEASE_METHODS:
                return self._text(func.value) == key
            return self._released_by_helper(expr, site, key)
        qualified, last = self._callee_names(func)
        if not any(name == qualified or name.rsplit(".", 1)[-1] == last for name in site.release_names):
            return False
        first = site.call.args[0].value if site.call.args else None
        other = expr.args[0].value if expr.args else None
        return first is None or other is None or self._text(first) == self._text(other)

    def _released_by_helper(self, call: cst.Call, site: _Site, key: str) -> bool:
        """``self._finish(lock, ...)``: the lock handed to a function of this file that
        releases its parameter (``lock.release()``)."""
        positions = [i for i, arg in enumerate(call.args) if arg.keyword is None and self._text(arg.value) == key]
        if not positions or not isinstance(call.func, (cst.Name, cst.Attribute)):
            return False
        bindings = self._table.resolve(call.func, site.scope)
        helper = bindings[0].node if len(bindings) == 1 else None
        if not isinstance(helper, cst.FunctionDef):
            return False
        params = [p.name.value for p in (*helper.params.posonly_params, *helper.params.params)]
        if isinstance(call.func, cst.Attribute) and params and params[0] in ("self", "cls"):
            params = params[1:]
        names = {params[i] for i in positions if i < len(params)}
        return any(
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in _locks.RELEASE_METHODS
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value in names
            for node in iter_nodes(helper.body)
        )

    def _releases_claim(self, call: cst.Call, claim: Tuple[str, str, str]) -> bool:
        form, receiver, first = claim
        func = call.func
        other = self._text(call.args[0].value) if call.args else ""
        if form == "sql":
            return bool(call.args) and any(
                m in sql_text(call.args[0].value, self._constant) for m in _locks.SESSION_UNLOCK_SQL
            )
        if form == "unlock":
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value == "unlock"
                and self._text(func.value) == receiver
                and other == first
            )
        if form == "delete":
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value in ("delete", "unlink", "delete_many")
                and self._text(func.value) == receiver
                and other == first
            )
        qualified = self.qualified_name(func) or ""
        if qualified in _locks.FILE_LOCK_CALLS and qualified.rsplit(".", 1)[0] == form:
            flags = self._text(call.args[1].value) if len(call.args) > 1 else ""
            return "LOCK_UN" in flags and other == first
        return qualified == form and other == first

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
        self._scope = site.scope
        if site.receiver is not None:
            kind = self._receiver_kind(site)
            if kind is None:
                return
            raising = kind.partition(":")[2] in _locks.RAISING_ACQUIRE_LIBRARIES
            key = self._text(site.receiver)
            label = f"{self.edits.code(site.receiver)}.acquire()"
        else:
            key = ""
            label = site.label or self.edits.code(site.call.func) + "()"
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
            if self._releases_here(candidate, site, key):
                release_at = position
                break
            if isinstance(candidate, cst.Try) and self._protects(candidate, site, key):
                self._late_try(site, label, body[start:position], candidate, key)
                return
            misplaced = self._misplaced_release(candidate, site, key)
            if misplaced is not None:
                problem, place = misplaced
                advice = PendingFix.suggestion(f"Release the lock in a `finally` instead of {place}")
                self.report(site.call, acquire=label, problem=problem, fix=advice)
                return
        if release_at is None:
            return
        between = body[start:release_at]
        if not any(self._risky(s, site, key) for s in between):
            return
        fix = None
        blocking = site.receiver is None or waits(site.call)
        if (checked or raising or blocking) and not any(self._releases_within(s, site, key) for s in between):
            fix = self._fix(stmt, body, start, release_at)
        self.report(site.call, acquire=label, problem=self._OUTSIDE, fix=fix)

    def _late_try(
        self, site: _Site, label: str, before: Sequence[cst.BaseStatement], holder: cst.Try, key: str
    ) -> None:
        """The release is in a ``finally``, but code that can raise runs before its ``try``."""
        raising = [stmt for stmt in before if self._risky(stmt, site, key)]
        if not raising:
            return
        shown = []
        for stmt in raising[:2]:
            call = next(iter(calls_in(stmt)), None)
            text = f"{self.edits.code(call.func)}(...)" if call is not None else self.edits.code(stmt).strip()
            shown.append(f"`{text if len(text) <= 50 else text[:47] + '...'}`")
        lines = self.position(holder)[0] - self.position(site.call)[0]
        self.report(
            site.call,
            acquire=label,
            problem=(
                f"is released in a `finally` {lines} lines later: {' and '.join(shown)} "
                f"{'run' if len(shown) > 1 else 'runs'} before the `try` and can raise, leaving it held"
            ),
            fix=PendingFix.suggestion("Start the `try` right after the acquire (and its result check)"),
        )

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
                        lifted = self._lift_loop(stack[: depth - 1], node, parent, site)
                        if lifted is not None:
                            return lifted
                        return self._lift_try(stack[: depth - 1], node, parent, index)
                return None
        return None

    def _lift_loop(
        self, outer: Sequence[cst.CSTNode], node: cst.BaseStatement, block: _Block, site: _Site
    ) -> Optional[Tuple[cst.BaseStatement, _Block, int]]:
        """``for lock in locks: lock.acquire()``: the loop takes every lock, and the section
        follows the loop (released by ``for lock in locks: lock.release()``)."""
        if len(outer) < 2 or len(block.body) != 1 or not isinstance(site.receiver, cst.Name):
            return None
        loop, container = outer[-1], outer[-2]
        if not (
            isinstance(loop, cst.For) and loop.body is block and isinstance(container, (cst.IndentedBlock, cst.Module))
        ):
            return None
        if not (isinstance(loop.target, cst.Name) and loop.target.value == site.receiver.value):
            return None
        for position, child in enumerate(container.body):
            if child is loop:
                return loop, container, position
        return None

    def _lift_try(
        self, outer: Sequence[cst.CSTNode], node: cst.BaseStatement, block: _Block, index: int
    ) -> Optional[Tuple[cst.BaseStatement, _Block, int]]:
        """``try: lock.acquire(timeout=5)`` / ``except Timeout: exit``: the section follows the
        ``try`` (statements after the acquire in its body may only log)."""
        if len(outer) < 2 or any(risky(s) for s in block.body[index + 1 :]):
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
            and isinstance(node.body[0], (cst.Expr, cst.Assign))
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
            test = self._unwrap(stmt.test)
            if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
                test = self._unwrap(test.left)  # ``if lock.acquire(timeout=2) and not closing:``
            if test is call:
                if not isinstance(stmt.body, cst.IndentedBlock):
                    return None
                return stmt.body.body, 0, True
            if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
                if (
                    self._unwrap(test.expression) is call
                    and always_exits(stmt.body, self.ctx.imports)
                    and stmt.orelse is None
                ):
                    return block.body, index + 1, True
            return None
        if isinstance(stmt, (cst.While, cst.Try)):
            return block.body, index + 1, True
        if isinstance(stmt, cst.For):
            return block.body, index + 1, False  # every lock of the loop taken (see ``_lift_loop``)
        if not isinstance(stmt, cst.SimpleStatementLine):
            return None
        small = stmt.body[0]
        if isinstance(small, cst.Expr) and self._unwrap(small.value) is call:
            return block.body, index + 1, False
        if (
            isinstance(small, (cst.Assign, cst.AnnAssign))
            and small.value is not None
            and self._unwrap(small.value) is call
        ):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            if len(targets) != 1 or not isinstance(targets[0], cst.Name):
                return None
            flag = targets[0].value
            body = block.body
            start = index + 1
            while start < len(body):
                nxt = body[start]
                if not isinstance(nxt, cst.If) or not mentions(nxt.test, flag):
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

    def _unwrap(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """``await x``, ``await asyncio.wait_for(x, timeout=10)`` -> ``x``."""
        expr = unwrap_await(expr)
        if isinstance(expr, cst.Call) and expr.args and self.qualified_name(expr.func) in _WAITS_FOR:
            return unwrap_await(expr.args[0].value)
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in _RESULT_READS
            and isinstance(expr.func.value, cst.Call)
        ):
            # ``conn.execute(text("SELECT GET_LOCK(...)")).scalar()``: the statement's result, read.
            return unwrap_await(expr.func.value)
        return expr

    def _releases_here(self, stmt: cst.BaseStatement, site: _Site, key: str) -> bool:
        """``lock.release()``, or ``if lock.owned(): lock.release()`` (redis-py, filelock)."""
        if self._is_release(single_expression(stmt), site, key):
            return True
        if isinstance(stmt, cst.For) and isinstance(stmt.body, cst.IndentedBlock) and len(stmt.body.body) == 1:
            # ``for lock in reversed(locks): lock.release()``
            return self._is_release(single_expression(stmt.body.body[0]), site, key)
        if not isinstance(stmt, cst.If) or stmt.orelse is not None or not isinstance(stmt.body, cst.IndentedBlock):
            return False
        body = stmt.body.body
        return (
            len(body) == 1
            and self._is_release(single_expression(body[0]), site, key)
            and bool(key)
            and key in self._text(stmt.test)
        )

    def _misplaced_release(self, node: cst.CSTNode, site: _Site, key: str) -> Optional[Tuple[str, str]]:
        """(problem, where the release is) for a ``try`` that releases where an exception
        skips it: at the end of its body (a handler swallows the error) or in its ``else``."""
        if not isinstance(node, cst.Try):
            return None
        if self._body_only(node, site, key):
            return self._IN_BODY, "the `try` body"
        if self._else_only(node, site, key):
            return self._IN_ELSE, "the `else`"
        return None

    def _body_only(self, node: cst.Try, site: _Site, key: str) -> bool:
        """``try: work(); lock.release() except E: log()``: the release is skipped when the
        work raises and a handler swallows it without releasing (no ``finally`` releases)."""
        if not node.handlers or not self._releases_within(node.body, site, key):
            return False
        if node.finalbody is not None and self._releases_within(node.finalbody, site, key):
            return False
        return not all(self._releases_within(h.body, site, key) for h in node.handlers)

    def _else_only(self, node: cst.Try, site: _Site, key: str) -> bool:
        """``try: work() except E: log() else: lock.release()``: the release runs only when
        nothing raised (not every handler releases too, no ``finally`` does)."""
        if node.orelse is None or not self._releases_within(node.orelse, site, key):
            return False
        if node.finalbody is not None and self._releases_within(node.finalbody, site, key):
            return False
        return not node.handlers or not all(self._releases_within(h.body, site, key) for h in node.handlers)

    def _protects(self, node: cst.Try, site: _Site, key: str) -> bool:
        """A ``try`` whose ``finally`` releases the lock."""
        return node.finalbody is not None and self._releases_within(node.finalbody, site, key)

    def _risky(self, stmt: cst.BaseStatement, site: _Site, key: str) -> bool:
        if isinstance(stmt, cst.Try):
            if self._protects(stmt, site, key):
                return False
            swallowed = any(
                self._covers(h, site) and (not escapes(h) or self._releases_within(h.body, site, key))
                for h in stmt.handlers
            )
            if swallowed:
                return (stmt.orelse is not None and risky(stmt.orelse, key)) or (
                    stmt.finalbody is not None and risky(stmt.finalbody, key)
                )
        return risky(stmt, key)

    @staticmethod
    def _covers(handler: cst.ExceptHandler, site: _Site) -> bool:
        """A handler that runs for whatever the section raises.  Under an awaited acquire,
        ``except Exception`` is not one: a task's cancellation raises ``CancelledError``, a
        ``BaseException``, which it lets through (and the release in it never runs)."""
        if not broad(handler):
            return False
        awaited = len(site.stack) >= 2 and isinstance(site.stack[-2], cst.Await)
        if not awaited or handler.type is None:
            return True
        named = {dotted_name(t) or "" for t in caught_types(handler)}
        return bool(named & {"BaseException", "CancelledError", "asyncio.CancelledError"})

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
        # A release that reads a name the moved statements bind (``self._finish(lock, total)``)
        # could meet it unbound in the `finally`: no fix.
        bound = {
            target.value
            for node in body[start:release_at]
            for target in iter_nodes(node)
            if isinstance(target, cst.Name) and _is_store(node, target)
        }
        if any(isinstance(n, cst.Name) and n.value in bound for n in iter_nodes(release)):
            return None
        # The statements up to the release go in `try:`, the release (with its comment) in `finally:`.
        edit = self.edits.wrap_in_try_finally(first, body[release_at - 1], [release])
        if edit is None:
            return None
        return PendingFix.unsafe("Release the lock in a `finally`", edit)


def _is_store(stmt: cst.CSTNode, name: cst.Name) -> bool:
    """Whether ``name`` is a target that ``stmt`` binds (assignment, loop, ``with ... as``)."""
    for node in iter_nodes(stmt):
        targets: List[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        elif isinstance(node, cst.For):
            targets = [node.target]
        elif isinstance(node, cst.AsName):
            targets = [node.name]
        elif isinstance(node, cst.NamedExpr):
            targets = [node.target]
        if any(n is name for t in targets for n in _target_names(t)):
            return True
    return False


def _target_names(target: cst.BaseExpression) -> List[cst.Name]:
    """The names a target binds (``a``, ``a, (b, c)``; not those ``self.x`` or ``d[k]`` read)."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []
