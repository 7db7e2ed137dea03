"""OPS302 recursive-queue-drain: a function that takes one item and calls itself for the next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.analysis.entrypoints import class_methods
from opslint.analysis.scopes import BindingKind, BindingTable, Scope
from opslint.model import Related
from opslint.project import CallSite, ProjectIndex
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _jobs
from opslint.rules._facts import module_context
from opslint.rules._recursion import (
    QUEUE_GET_KEYWORDS,
    Tail,
    TailCallFix,
    calls_self,
    is_generator,
    self_calls,
    tail_calls,
    taken_names,
    takes_item,
)
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import calls_in, is_docstring, scope_nodes, suite_statements, tail_statements
from opslint.syntax.walk import iter_nodes


@dataclass(frozen=True)
class TailFact:
    #: The callee as written (``worker.handle_next``).  No position: computing node
    #: positions costs two parses per module on a cold index; the one finding that
    #: shows this call finds it in the module's summary (``_back_site``).
    callee: str


@dataclass(frozen=True)
class FunctionTails:
    #: ``handle_next``, ``Worker.handle_next`` (the index's qualname without the module).
    function: str
    takes: bool
    tails: Tuple[TailFact, ...]


@dataclass(frozen=True)
class ModuleTails:
    functions: Tuple[FunctionTails, ...]


#: Words of the calls that take one item, in a module's text (its prefilter and project facts).
_TAKES = (
    "pop",
    # Redis ``lmove``/``blmove``: the next item, moved to a processing list
    "lmove(",
    "first(",
    "fetch",
    "receive",
    "get_nowait",
    # ZeroMQ: ``recv_json()``, ``recv(zmq.NOBLOCK)``
    ".recv_",
    "NOBLOCK",
    "DONTWAIT",
    "Limit=1",
    "MaxKeys=1",
    "limit(1)",
    ".get()",
    "dequeue",
    "claim",
    "basic_get",
    "find_one_and_update",
    "find_one_and_delete",
    "reserve(",
    ".pull(",
    "heappop(",
    "fetchrow(",
    "fetchval(",
    "xread",
    "xautoclaim",
    ".fetch(1",
    "fetch(batch=1",
    # the first entry of a spool directory's listing
    "glob(",
    "listdir(",
    "iterdir(",
    "scandir(",
)


class RecursiveQueueDrain(Rule):
    """A function that handles one queued item and then calls itself for the next one.

    ## What it does
    Finds self-recursion used as a loop: a function that takes one item or one page (a
    `pop`/`lpop`, `.first()`, `fetchone()`, `receive_message`, a cursor or page number)
    or polls external state, and ends by calling itself (`process_next(account_id)`,
    `return sync(cursor=body["next"])`, `await drain(queue)`, `return self.drain()`), or
    two functions of the project (or two methods of a class) that hand the next item
    to each other (`worker.handle_next` -> `handlers.dispatch` -> `worker.handle_next`,
    `self.next_job()` -> `self.handle(raw)` -> `self.next_job()`), or a generator that
    takes an item, yields it and ends with `yield from` itself.  Recursion
    over a tree (calls in a loop over children), divide and conquer (halves, slices,
    several recursive calls), depth bounded by a decreasing counter (`budget - 1`), a
    single guarded retry (`_relogged=True`) and re-queueing a task (`task.delay(...)`)
    are not reported.

    ## Why it matters
    Incident 001: the fix for a queue that only moved while a browser polled made the
    worker start the next import by calling itself when one finished.  Each item adds a
    stack frame that keeps the previous item's objects alive, and a queue longer than
    the recursion limit (1000 frames) ends in `RecursionError` half-way through.

    ## Example
    ```python
    def process_next(account_id):
        item = claim_next(account_id)
        if item is None:
            return
        import_reports(item)
        process_next(account_id)
    ```

    ## Use instead
    ```python
    def process_next(account_id):
        while True:
            item = claim_next(account_id)
            if item is None:
                return
            import_reports(item)
    ```

    ## Fix safety
    Where the recursion is a plain tail call of a plain function (`return f(...)` or a
    last statement `f(...)`, not inside `try`/`with`/a loop, a function that is not a
    method, not decorated, not a generator, not rebound, with no nested function that
    could capture a local) the fix is safe: the body becomes a `while True:` loop, the
    call becomes an assignment of the changed parameters and `continue`.  Only a local
    read before it is assigned in an iteration behaves differently (it sees the
    previous iteration's value instead of raising `UnboundLocalError`).  Elsewhere the
    finding carries a suggestion.

    ## Options
    None.

    ## See also
    OPS301 (the poll-driven queue this recursion replaced), OPS303 (recursive retries).
    """

    code = "OPS302"
    name = "recursive-queue-drain"
    message = (
        "{who} {next} (the depth grows with {growth}): past the recursion limit "
        "(1000 frames) it raises RecursionError, and each frame keeps its locals alive"
    )
    # What a drain takes the next item with, or pages with (see ``_jobs.TAKE_METHODS``).
    tokens = (
        *_TAKES,
        ".get(timeout",
        ".get(block",
        "page",
        "cursor",
        "offset",
        "next",
        "sleep",
        "_pk",
        "has_more",
        ".poll(",
        "[:1]",
    )
    fix_availability = "sometimes"
    requires = (BindingTable,)
    needs_project = True
    # Modules whose functions may take an item (another module's half of a cycle).
    project_tokens = _TAKES

    SUGGESTION = "Drain in a loop: `while True:` take the next item, handle it, and leave when the queue is empty"

    # -- project hooks ------------------------------------------------------------------------

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        _ctx, table = module_context(module, info)
        out: List[FunctionTails] = []
        for scope in table.scopes():
            function = scope.function
            if function is None:
                continue
            # The tail calls first: a function that ends in no call (most do) needs no scan
            # of its body for a take.
            tails = tuple(
                TailFact(name)
                for tail in tail_calls(function)
                if (name := dotted_name(tail.call.func)) is not None and not tail.in_loop and not tail.in_handler
            )
            if tails and takes_item(function, table, scope):
                out.append(FunctionTails(_qualname(scope), True, tails))
        return ModuleTails(tuple(out)) if out else None

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        """The other end of a cycle through a function that takes items (it need not
        mention any queue word itself)."""
        if not isinstance(project, ProjectIndex):
            return False
        name = project.module_of(path)
        return name is not None and _called_back(project, name, cls.code)

    # -- per file -----------------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.ctx.is_test_file:
            return  # tests recurse on purpose (RecursionError tests, fixtures)
        table = self.ctx.analysis(BindingTable)
        project = self.ctx.project if isinstance(self.ctx.project, ProjectIndex) else None
        module = project.module_of(self.ctx.path) if project is not None else None
        if project is not None and module is not None and not _called_back(project, module, self.code):
            module = None  # no function this module reaches takes items and tail-calls into it
        for scope in list(table.scopes()):
            function = scope.function
            if function is None:
                continue
            if is_generator(function):
                self._generator_recursion(function, scope, table)
                continue
            calls = self_calls(function, table, scope) or self._through_own_module(function, scope, module)
            if calls:
                self._self_recursion(function, scope, table, calls)
                continue
            self._method_cycle(function, scope, table)
            if project is not None and module is not None:
                self._cycle(function, scope, table, project, module)

    def _through_own_module(self, function: cst.FunctionDef, scope: Scope, module: Optional[str]) -> List[cst.Call]:
        """``publisher.relay_next()`` in ``relay_next`` of ``relay/publisher.py``, which imports
        itself (``import relay.publisher as publisher``): the function calls itself."""
        parent = scope.parent
        if parent is None or parent.parent is not None:
            return []  # a method or a nested function
        names = {f"{m}.{function.name.value}" for m in (self.ctx.module_name, module) if m}
        return [
            call
            for call in calls_in(function.body)
            if isinstance(call.func, cst.Attribute)
            and call.func.attr.value == function.name.value
            and self.ctx.imports.resolve(call.func) in names
        ]

    def _self_recursion(
        self, function: cst.FunctionDef, scope: Scope, table: BindingTable, calls: List[cst.Call]
    ) -> None:
        tails = {id(t.call): t for t in tail_calls(function, method=scope.owner is not None)}
        found = [tails.get(id(c)) for c in calls]
        if any(t is None or t.in_loop for t in found):
            return  # recursion that is not a tail call: a tree walk, divide and conquer, a sum
        drains = [t for t in found if t is not None and not t.in_handler]
        if not drains:
            return  # calls again from an ``except``: a retry (OPS303's business)
        takes = takes_item(function, table, scope) or self._takes_elsewhere(function)
        reasons = [_drains(t, function, table, scope, takes) for t in drains]
        if not all(reasons):
            return
        unit = reasons[0]
        name = _display_name(function, scope)
        fix = TailCallFix(self.edits, function, table, scope).build([t for t in found if t is not None])
        for tail in drains:
            self.report(
                tail.call,
                fix=fix or PendingFix.suggestion(self.SUGGESTION),
                who=f"`{name}` calls itself",
                next=_NEXT[unit][0],
                growth=_NEXT[unit][1],
            )

    def _takes_elsewhere(self, function: cst.FunctionDef) -> bool:
        """The function calls a function of another module of the project that takes an item
        (``key = next_incoming_key(bucket, prefix)``, whose ``list_objects_v2(..., MaxKeys=1)``
        returns the next file), read from that module's summary."""
        project = self.ctx.project
        if not isinstance(project, ProjectIndex):
            return False
        for call in calls_in(function.body):
            if not isinstance(call.func, (cst.Name, cst.Attribute)):
                continue
            qualified = self.qualified_name(call.func)
            target = project.function(project.canonical(qualified)) if qualified else None
            if target is not None and any(_site_takes(site) for site in target.calls):
                return True
        return False

    def _generator_recursion(self, function: cst.FunctionDef, scope: Scope, table: BindingTable) -> None:
        """A generator that takes an item, yields it and ends with ``yield from`` itself
        (``yield item`` then ``yield from drain(q)``): every item adds a frame too."""
        if not isinstance(function.body, cst.IndentedBlock) or not takes_item(function, table, scope):
            return
        for stmt in tail_statements(list(function.body.body)):
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                continue
            small = stmt.body[0]
            value = small.value if isinstance(small, cst.Expr) else None
            if not isinstance(value, cst.Yield) or not isinstance(value.value, cst.From):
                continue
            call = value.value.item
            if isinstance(call, cst.Call) and calls_self(call, function, table, scope):
                self.report(
                    call,
                    fix=PendingFix.suggestion(self.SUGGESTION),
                    who=f"`{_display_name(function, scope)}` (a generator) delegates to itself with `yield from`",
                    next=_NEXT["item"][0],
                    growth=_NEXT["item"][1],
                )

    def _method_cycle(self, function: cst.FunctionDef, scope: Scope, table: BindingTable) -> None:
        """A method that takes an item tail-calls ``self.g(...)``, a method of its class that
        tail-calls it back (``next_job`` -> ``self.handle(raw)`` -> ``self.next_job()``)."""
        owner = scope.owner
        taken = taken_names(function)
        if owner is None or not isinstance(owner.node, cst.ClassDef) or taken is None:
            return
        methods = class_methods(owner.node)
        for tail in tail_calls(function, method=True):
            other = methods.get(_self_method(tail))
            if tail.in_loop or tail.in_handler or other is None or other is function or is_generator(other):
                continue
            # The evidence that the pair is a drain: the item taken here is handed on
            # (``self.handle(raw)``), or the other method only bounces back (a trampoline).
            handed = any(
                n.value in taken for a in tail.call.args for n in iter_nodes(a.value) if isinstance(n, cst.Name)
            )
            if not handed and len(_statements(other)) > 3:
                continue
            back = next(
                (
                    t
                    for t in tail_calls(other, method=True)
                    if _self_method(t) == function.name.value and not t.in_loop and not t.in_handler
                ),
                None,
            )
            inner = table.scope_of(other)
            if back is None or inner is None:
                continue
            if taken_names(other) is not None and other.name.value < function.name.value:
                continue  # both take items: the cycle is reported once, from the first name
            cls = owner.node.name.value
            own, callee = f"{cls}.{function.name.value}", f"{cls}.{other.name.value}"
            self.report(
                tail.call,
                fix=PendingFix.suggestion(self.SUGGESTION),
                related=[RelatedNode(back.call, f"`{callee}` calls `{own}` again here")],
                who=f"`{own}` calls `{callee}`, which calls `{own}` again,",
                next=_NEXT["item"][0],
                growth=_NEXT["item"][1],
            )

    def _cycle(
        self, function: cst.FunctionDef, scope: Scope, table: BindingTable, project: ProjectIndex, module: str
    ) -> None:
        """``f`` tail-calls a project function ``g`` that takes an item and tail-calls ``f``."""
        own = f"{module}.{_qualname(scope)}"
        mine_takes = takes_item(function, table, scope)
        for tail in tail_calls(function):
            if tail.in_loop or tail.in_handler:
                continue
            name = dotted_name(tail.call.func)
            if name is None or name.split(".", 1)[0] in ("self", "cls"):
                continue
            target = project.resolve(module, name)
            summary = project.function(target) if target is not None else None
            if summary is None or summary.qualname == own:
                continue
            other = project.fact(summary.module, self.code)
            back = (
                _back_call(project, other, summary.module, summary.qualname, own)
                if isinstance(other, ModuleTails)
                else None
            )
            if back is None or (mine_takes and own < summary.qualname):
                continue
            path = project.summary(summary.module)
            site = _back_site(project, summary.qualname, back.callee)
            related: List[Any] = []
            if path is not None and site is not None:
                span = project.current_span(path.path, site.span)
                related.append(
                    Related(
                        self.ctx.display_of(path.path),
                        span,
                        f"`{_short(summary.qualname)}` calls `{_short(own)}` again here",
                    )
                )
            self.report(
                tail.call,
                fix=PendingFix.suggestion(self.SUGGESTION),
                related=related,
                who=f"`{_short(own)}` calls `{_short(summary.qualname)}`, which calls `{_short(own)}` again,",
                next=_NEXT["item"][0],
                growth=_NEXT["item"][1],
            )


#: What the recursion goes on to -> (the message's words, what the depth grows with).
_NEXT = {
    "item": ("for the next item", "the queue"),
    "page": ("for the next page", "the number of pages"),
    "poll": ("to poll again", "every poll"),
}


# -- deciding -----------------------------------------------------------------------------------


def _site_takes(site: Any) -> bool:
    """``_recursion.takes_item``'s take shapes, on a call site of the project index (the
    callee and its argument texts): ``r.lpop(...)``, ``q.get()``, ``next(it)``,
    ``list_objects_v2(..., MaxKeys=1)``, ``sub.fetch(1)``."""
    raw = site.raw or site.callee
    receiver, _, method = raw.rpartition(".")
    kwargs = dict(site.kwargs)
    if not receiver:
        return method == "next" or (method in _jobs.TAKE_METHODS and method not in ("pop", "first"))
    if method == "poll":
        return True
    if method == "fetch":
        return (site.args[:1] == ("1",) and not kwargs) or kwargs.get("batch") == "1"
    if method in ("query", "scan", "list_objects_v2", "list_objects"):
        return kwargs.get("Limit") == "1" or kwargs.get("MaxKeys") == "1"
    if method == "get":
        return not site.args and all(key in QUEUE_GET_KEYWORDS for key in kwargs)
    return method in _jobs.TAKE_METHODS


def _drains(tail: Tail, function: cst.FunctionDef, table: BindingTable, scope: Scope, takes: bool) -> str:
    """Whether a tail self-call goes on to the next item rather than a bounded step, a
    half, a one-shot retry or a walk along a linked structure: it advances a
    page/cursor/offset parameter (``page + 1``, ``cursor=body["next"]``), or the function
    takes an item (``lpop``, ``.first()``...) or polls (sleeps) before calling again.
    Returns "item", "page" or "poll" (what the recursion goes on to), or "" for none."""
    mapping = tail.arguments
    if mapping is None:
        return ""
    params = set(tail.parameters)
    compared = _compared_names(function)
    advance = False
    for param, value in mapping.items():
        if isinstance(value, cst.Name) and value.value == param:
            continue
        if isinstance(value, cst.Name) and value.value in ("True", "False"):
            return ""  # a guarded single retry (``_relogged=True``)
        if _halves(value, table, scope):
            return ""
        if isinstance(value, cst.BinaryOperation) and isinstance(value.left, cst.Name) and value.left.value in params:
            if isinstance(value.operator, cst.Subtract) or value.left.value in compared:
                return ""  # a decreasing budget, or a counter checked against a bound
            advance = advance or _jobs.PAGE_WORDS.search(param) is not None
        elif _fetched(value, table, scope, params) and (
            _jobs.PAGE_WORDS.search(param) is not None
            or _jobs.PAGE_WORDS.search(_accessed(value, table, scope)) is not None
        ):
            advance = True
    if takes:
        return "item"
    if advance:
        return "page"
    return "poll" if _polls(function) else ""


def _compared_names(function: cst.FunctionDef) -> Set[str]:
    out: Set[str] = set()
    for node in _own_nodes(function):
        if isinstance(node, cst.Comparison):
            for part in (node.left, *(c.comparator for c in node.comparisons)):
                out.update(n.value for n in _names(part))
    return out


def _halves(value: cst.BaseExpression, table: BindingTable, scope: Scope) -> bool:
    """A slice passed on (``items[1:]``, ``xs[:mid]``) or a floor division (directly, or
    through a local such as ``mid``)."""
    for node in _subtree(value):
        if isinstance(node, (cst.Slice, cst.FloorDivide)):
            return True
        if isinstance(node, cst.Name):
            for binding in table.lookup(node.value, scope):
                if binding.scope is scope and binding.value is not None:
                    if any(isinstance(n, cst.FloorDivide) for n in _subtree(binding.value)):
                        return True
    return False


def _fetched(value: cst.BaseExpression, table: BindingTable, scope: Scope, params: Set[str]) -> bool:
    """A value read from what this call fetched: ``body["meta"]["after_cursor"]`` after
    ``body = resp.json()``, ``products[-1].pk`` after ``products = list(query)``, or such
    a local itself (not a parameter's attribute: that walks a linked structure)."""
    root: cst.BaseExpression = value
    while isinstance(root, (cst.Subscript, cst.Attribute, cst.Call)):
        root = root.func if isinstance(root, cst.Call) else root.value
    if not isinstance(root, cst.Name) or root.value in params:
        return False
    bindings = [b for b in table.lookup(root.value, scope) if b.scope is scope]
    return bool(bindings) and all(
        b.kind is BindingKind.ASSIGN and b.value is not None and isinstance(_unwrap(b.value), cst.Call)
        for b in bindings
    )


def _accessed(value: cst.BaseExpression, table: BindingTable, scope: Scope) -> str:
    """The keys and attributes a value reads (``meta after_cursor``), through a local it
    names (``nxt = resp.links.get("next", {}).get("url")``)."""
    out: List[str] = []
    if isinstance(value, cst.Name):
        for binding in table.lookup(value.value, scope):
            found = binding.value
            # One step only: ``a = b; b = a`` must not loop.
            if binding.scope is scope and binding.kind is BindingKind.ASSIGN and isinstance(found, cst.Call):
                out.append(_accessed(found, table, scope))
    for node in _subtree(value):
        if isinstance(node, cst.SimpleString):
            text = node.evaluated_value
            out.append(text if isinstance(text, str) else "")
        elif isinstance(node, cst.Attribute):
            out.append(node.attr.value)
    return " ".join(out)


def _polls(function: cst.FunctionDef) -> bool:
    """The function waits before calling itself again (a poll of a remote job)."""
    for call in calls_in(function.body):
        name = dotted_name(call.func) or ""
        if name.rsplit(".", 1)[-1] == "sleep":
            return True
    return False


def _unwrap(value: cst.BaseExpression) -> cst.BaseExpression:
    return value.expression if isinstance(value, cst.Await) else value


def _back_call(
    project: ProjectIndex, facts: ModuleTails, module: str, qualname: str, target: str
) -> Optional[TailFact]:
    local = qualname[len(module) + 1 :]
    for function in facts.functions:
        if function.function != local or not function.takes:
            continue
        for tail in function.tails:
            resolved = project.resolve(module, tail.callee)
            found = project.function(resolved) if resolved is not None else None
            if found is not None and found.qualname == target:
                return tail
    return None


def _back_site(project: ProjectIndex, qualname: str, callee: str) -> Optional[CallSite]:
    """The call of ``callee`` (as written) in a project function: its last one, the tail."""
    function = project.function(qualname)
    found = [site for site in function.calls if site.raw == callee] if function is not None else []
    return found[-1] if found else None


def _called_back(project: ProjectIndex, module: str, code: str) -> bool:
    """Whether a function that ``module`` calls takes items and tail-calls back into
    ``module``: the other end of a cycle.

    Asked of the modules this one's calls reach (read from its summary), not of the whole
    project: a one-file run computes the facts of those few modules only."""

    def compute() -> bool:
        for other in sorted(_callee_modules(project, module)):
            facts = project.fact(other, code)
            if not isinstance(facts, ModuleTails):
                continue
            for function in facts.functions:
                for tail in function.tails:
                    resolved = project.resolve(other, tail.callee)
                    found = project.function(resolved) if resolved is not None else None
                    if found is not None and found.module == module:
                        return True
        return False

    found = project.memo((code, "called-back", module), compute)
    assert isinstance(found, bool)
    return found


def _callee_modules(project: ProjectIndex, module: str) -> Set[str]:
    """The modules of the project functions ``module``'s calls reach (as the summary
    resolved them, or as ``resolve`` does: star imports)."""
    summary = project.summary(module)
    out: Set[str] = set()
    for function in summary.functions.values() if summary is not None else ():
        for site in function.calls:
            found = project.function(site.callee)
            if found is None and site.raw:
                resolved = project.resolve(module, site.raw)
                found = project.function(resolved) if resolved is not None else None
            if found is not None:
                out.add(found.module)
    return out


# -- small helpers ------------------------------------------------------------------------------


def _own_nodes(function: cst.FunctionDef) -> List[cst.CSTNode]:
    return list(scope_nodes(function.body))


def _subtree(node: cst.CSTNode) -> List[cst.CSTNode]:
    return list(iter_nodes(node))


def _names(node: cst.CSTNode) -> List[cst.Name]:
    return [n for n in _subtree(node) if isinstance(n, cst.Name)]


def _qualname(scope: Scope) -> str:
    parts: List[str] = []
    current: Optional[Scope] = scope
    while current is not None and current.parent is not None:
        node = current.node
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            parts.append(node.name.value)
        current = current.parent
    return ".".join(reversed(parts))


def _statements(function: cst.FunctionDef) -> List[cst.BaseStatement]:
    """The function's statements, a docstring left out."""
    body = suite_statements(function.body)
    return body[1:] if body and is_docstring(body[0]) else body


def _self_method(tail: Tail) -> str:
    """``g`` of a tail call ``self.g(...)`` (else "")."""
    func = tail.call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return func.attr.value
    return ""


def _display_name(function: cst.FunctionDef, scope: Scope) -> str:
    owner = scope.owner
    if owner is not None and isinstance(owner.node, cst.ClassDef):
        return f"{owner.node.name.value}.{function.name.value}"
    return function.name.value


def _short(qualname: str) -> str:
    return ".".join(qualname.split(".")[-2:])


__all__: Sequence[str] = ("RecursiveQueueDrain",)
