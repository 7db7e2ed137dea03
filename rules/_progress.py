"""Family knowledge of OPS3xx in use: where a function starts work or advances a job's state.

:class:`Progressions` answers, for one function of the
file, which statements dispatch work in the background (Celery ``.delay``,
``executor.submit``, ``Thread(...).start()``, boto3 ``lambda.invoke``...; see
``rules/_jobs.py``) or write a job's state (``job.status = Status.RUNNING`` then a save
or commit, ``Model.objects.filter(...).update(status=...)``).  Receivers are judged by
the binding table with two kinds hooks: what a value dispatches on (an executor, a
thread, a boto3 client of a service) and which model a value is a row of.

Request-scoped fan-out is not dispatch: futures, tasks and threads that the same
function waits for (``as_completed``, ``gather``, ``.result()``, ``.join()``, ``await``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.base import FileFacts
from opslint.analysis.scopes import BindingKind, BindingTable, Scope, any_of
from opslint.rules import _jobs
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import Enclosing, child_blocks, keyword, nested_statements, positional, scope_nodes
from opslint.syntax.walk import iter_nodes

Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]


@dataclass(frozen=True)
class Site:
    """One statement's progression: ``node`` is the call or the assignment that does it."""

    node: cst.CSTNode
    #: ``"`run_import` via .delay"``, ``"`ReportImport.status -> CREATING`"``.
    what: str
    #: "dispatch" or "state".
    kind: str
    #: Under a test of a job's state (``if job.is_finished:``, ``if nxt is not None:``).
    guarded: bool = False


# -- kinds ---------------------------------------------------------------------------------


class ReceiverKinds:
    """Kinds hook: what a value dispatches on (``_jobs.Receiver``, or ``boto3:<service>``)."""

    def __init__(self, facts: FileFacts) -> None:
        self.imports = facts.imports

    def _qualified(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.imports.resolve(expr) or dotted_name(expr)

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if not isinstance(value, cst.Call):
            return None
        name = self._qualified(value.func)
        if name is None:
            return None
        kind = _jobs.RECEIVER_CONSTRUCTORS.get(name)
        if kind is not None:
            return kind
        boto = name in _jobs.BOTO3_CLIENT_CALLS or (
            isinstance(value.func, cst.Attribute) and value.func.attr.value in _jobs.BOTO3_CLIENT_METHODS
        )
        if boto:
            service = keyword(value, "service_name")
            args = positional(value)
            literal = (service.value if service is not None else args[0].value) if (service or args) else None
            service_name = literal.evaluated_value if isinstance(literal, cst.SimpleString) else None
            if isinstance(service_name, str):
                return f"boto3:{service_name}"
        return None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if isinstance(annotation, cst.SimpleString):
            return None
        name = self._qualified(annotation)
        if name is None:
            return None
        found = _jobs.RECEIVER_ANNOTATIONS.get(name)
        if found is None and name.rsplit(".", 1)[-1] == "BackgroundTasks":
            return _jobs.Receiver.BACKGROUND_TASKS
        return found


class ModelKinds:
    """Kinds hook: the model class a value is a row of (``ReportImport`` for
    ``ReportImport.query.filter_by(...).first()``, ``get_object_or_404(Invoice, ...)``,
    ``session.scalar(select(CrawlRun)...)``, ``job: TranscodeJob``)."""

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        return model_of(value)

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        name = dotted_name(annotation)
        last = name.rsplit(".", 1)[-1] if name else None
        return last if last and last[:1].isupper() and last not in ("Optional", "List", "Any") else None


_ROW_GETTERS = frozenset({"get", "query", "scalar", "scalars", "execute", "get_or_404", "first_or_404", "select"})
_ROW_FUNCTIONS = frozenset({"get_object_or_404", "get_list_or_404", "select"})


def model_of(expr: cst.BaseExpression) -> Optional[str]:
    """The model class named by a query expression (see :class:`ModelKinds`)."""
    current: cst.BaseExpression = expr
    seen_query = False
    for _ in range(24):
        if isinstance(current, cst.Await):
            current = current.expression
        elif isinstance(current, cst.Call):
            func = current.func
            last = (
                func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            )
            args = positional(current)
            if args and (last in _ROW_GETTERS or last in _ROW_FUNCTIONS):
                first = args[0].value
                if isinstance(first, cst.Name) and first.value[:1].isupper():
                    return first.value
                inner = model_of(first) if isinstance(first, cst.Call) else None
                if inner is not None:
                    return inner
            current = func
        elif isinstance(current, cst.Attribute):
            seen_query = seen_query or current.attr.value in ("objects", "query")
            if isinstance(current.value, cst.Name) and seen_query and current.value.value[:1].isupper():
                return current.value.value
            current = current.value
        elif isinstance(current, cst.Subscript):
            current = current.value
        else:
            return None
    return None


# -- the analysis ------------------------------------------------------------------------------


class Progressions:
    """Dispatch and state-write sites of a file's functions (see the module docstring),
    asked of the file's binding table (the engine's, or one computed by
    ``analyse_alone`` for project facts)."""

    def __init__(
        self, facts: FileFacts, table: BindingTable, project: Any = None, module_name: Optional[str] = None
    ) -> None:
        self.table = table
        self.module = facts.module
        self.receivers = ReceiverKinds(facts)
        #: The project index (a linted file's run), which tells an actor imported from a
        #: module of the project; ``module_name``: this file's name in it.
        self.project = project
        self.module_name = module_name or facts.module_name
        self.models = ModelKinds()
        self._cache: Dict[int, List[Tuple[Statement, Site]]] = {}
        #: id(call) -> whether it calls a huey task (asked by ``_dispatch`` and by OPS301).
        self._huey: Dict[int, bool] = {}
        self._code: Dict[int, str] = {}

    # -- statements in source order ------------------------------------------------------------

    @staticmethod
    def statements(body: Sequence[cst.BaseStatement]) -> Iterator[Statement]:
        """Every statement of a body in source order, nested blocks included (not nested
        functions or classes)."""
        for stmt in body:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or not isinstance(
                stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
            ):
                continue
            yield stmt
            for block in child_blocks(stmt):
                yield from Progressions.statements(block)

    @staticmethod
    def own_nodes(stmt: Statement) -> Iterator[cst.CSTNode]:
        """The nodes a statement runs itself: a simple line whole; of a compound
        statement its header (test, iterator, ``with`` items, subject); lambdas given to
        ``on_commit`` (they run when the transaction commits)."""
        if isinstance(stmt, cst.SimpleStatementLine):
            roots: List[cst.CSTNode] = [stmt]
        elif isinstance(stmt, (cst.If, cst.While)):
            roots = [stmt.test]
        elif isinstance(stmt, cst.For):
            roots = [stmt.target, stmt.iter]
        elif isinstance(stmt, cst.With):
            roots = list(stmt.items)
        elif isinstance(stmt, cst.Match):
            roots = [stmt.subject]
        else:
            roots = []
        for root in roots:
            for node in scope_nodes(root):
                yield node
                if isinstance(node, cst.Call) and _last(node.func) in _jobs.DEFERRED_CALLBACKS:
                    for arg in node.args:
                        if isinstance(arg.value, cst.Lambda):
                            yield from scope_nodes(arg.value.body)

    # -- the question ---------------------------------------------------------------------------

    def of_function(self, function: cst.FunctionDef) -> List[Tuple[Statement, Site]]:
        """(statement, site) for each progression in ``function``'s own body, in order."""
        cached = self._cache.get(id(function))
        if cached is None:
            cached = self._cache[id(function)] = self._find(function)
        return cached

    def in_statements(self, function: cst.FunctionDef, statements: Sequence[Statement]) -> List[Tuple[Statement, Site]]:
        wanted = {id(s) for s in statements}
        return [(s, site) for s, site in self.of_function(function) if id(s) in wanted]

    def _find(self, function: cst.FunctionDef) -> List[Tuple[Statement, Site]]:
        table = self.table
        scope = table.scope_of(function)
        if scope is None or not isinstance(function.body, cst.IndentedBlock):
            return []
        nodes: List[Tuple[Statement, cst.CSTNode, bool]] = []
        for stmt, enclosing in nested_statements(function.body.body):
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or not isinstance(
                stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
            ):
                continue
            guarded = self.guarded(enclosing, scope)
            keeps_alive = _keeps_alive(enclosing)
            nodes.extend(
                (stmt, node, guarded) for node in self.own_nodes(stmt) if not keeps_alive or _not_thread_start(node)
            )
        waited = self._waited([(s, n) for s, n, _g in nodes])
        out: List[Tuple[Statement, Site]] = []
        for index, (stmt, node, guarded) in enumerate(nodes):
            site: Optional[Site] = None
            if isinstance(node, cst.Call):
                site = self._dispatch(node, table, scope, waited) or self._bulk_update(node) or self._setter(node)
            elif isinstance(node, (cst.Assign, cst.AnnAssign)):
                site = self._state_write(node, [n for _s, n, _g in nodes[index + 1 :]], table, scope)
            if site is not None:
                out.append((stmt, replace(site, guarded=guarded)))
        return out

    def guarded(self, enclosing: Enclosing, scope: Optional[Scope] = None) -> bool:
        """Whether a test around a statement reads a job's state (``_jobs.STATE_WORDS``):
        in its own text, or (with ``scope``) in the value of a local it tests (``nxt =
        Job.query.filter_by(status="waiting").first()`` then ``if nxt is not None:``)."""
        for outer, _role in enclosing:
            test = (
                outer.test
                if isinstance(outer, (cst.If, cst.While))
                else outer.iter
                if isinstance(outer, cst.For)
                else None
            )
            if test is None:
                continue
            if _jobs.STATE_WORDS.search(self.code(test)):
                return True
            if scope is not None and self._tests_state_local(test, scope):
                return True
        return False

    def _tests_state_local(self, test: cst.BaseExpression, scope: Scope) -> bool:
        names = {node.value for node in iter_nodes(test) if isinstance(node, cst.Name)}
        for name in names:
            for binding in self.table.lookup(name, scope):
                value = binding.value
                if binding.kind is BindingKind.ASSIGN and value is not None and binding.scope is scope:
                    if _jobs.STATE_WORDS.search(self.code(value)):
                        return True
        return False

    def code(self, node: cst.CSTNode) -> str:
        # The same ``if``/``while`` test is asked about for every statement under it.
        text = self._code.get(id(node))
        if text is None:
            text = self._code[id(node)] = self.module.code_for_node(node)
        return text

    # -- dispatch -----------------------------------------------------------------------------

    def _dispatch(self, call: cst.Call, table: BindingTable, scope: Scope, waited: Set[int]) -> Optional[Site]:
        func = call.func
        qualified = self.receivers._qualified(func)
        dispatch = _jobs.DISPATCH_CALLS.get(qualified or "")
        receiver: Optional[cst.BaseExpression] = None
        if dispatch is None and isinstance(func, cst.Attribute):
            receiver = func.value
            for candidate in _jobs.DISPATCH_METHODS.get(func.attr.value, ()):
                if self._receiver_fits(candidate.receiver, receiver, table, scope):
                    dispatch = candidate
                    break
        if dispatch is None and self.huey_task_call(call, table, scope):
            # ``build_export(export.id)`` of a ``@huey.task()`` function: calling it enqueues.
            name = dotted_name(func) or "task"
            return Site(call, f"`{name}` via a huey task call", "dispatch")
        if dispatch is None or (dispatch.awaitable and id(call) in waited):
            return None
        if dispatch.receiver == _jobs.Receiver.EXECUTOR and _with_bound(receiver, table, scope):
            return None  # ``with ThreadPoolExecutor() as pool:`` waits for its work on exit
        target = self._target(dispatch, call, receiver, table, scope)
        if target and _jobs.NOT_PROGRESS_TARGETS.search(target):
            return None  # an audit event, a metric, a log line
        if dispatch.receiver not in vars(_jobs.Receiver).values():
            return Site(call, f"{dispatch.label} (`{target}`)" if target else dispatch.label, "dispatch")
        return Site(call, f"`{target}` via {dispatch.label}" if target else dispatch.label, "dispatch")

    def _receiver_fits(self, wanted: str, receiver: cst.BaseExpression, table: BindingTable, scope: Scope) -> bool:
        if wanted == _jobs.Receiver.ANY:
            return True
        if wanted == _jobs.Receiver.DRAMATIQ_ACTOR:
            return self._dramatiq_actor(receiver, table, scope)
        kinds = any_of(table.kinds(receiver, scope, self.receivers))
        if not kinds and wanted == _jobs.Receiver.EXECUTOR:
            # ``pool = request.app["pool"]``: an executor from application state, known by name.
            name = dotted_name(receiver) or ""
            return bool(_jobs.EXECUTOR_NAME.search(name.rsplit(".", 1)[-1]))
        if wanted in vars(_jobs.Receiver).values():
            return wanted in kinds
        return f"boto3:{wanted}" in kinds

    def _dramatiq_actor(self, receiver: cst.BaseExpression, table: BindingTable, scope: Scope) -> bool:
        """``resize.send(...)``: ``resize`` is decorated ``@dramatiq.actor`` here, or is a
        function imported from another module of a file that uses dramatiq."""
        if not isinstance(receiver, cst.Name):
            return False
        bindings = table.lookup(receiver.value, scope)
        if not bindings:
            return False
        for binding in bindings:
            node = binding.node
            if binding.kind is BindingKind.FUNCTION and isinstance(node, cst.FunctionDef):
                if not any(self._decorated_actor(d.decorator) for d in node.decorators):
                    return False
            elif binding.kind is BindingKind.IMPORT:
                imports = self.receivers.imports
                if not (imports.imports_module("dramatiq") or imports.imports_module("remoulade")):
                    if not self._project_actor(receiver.value):
                        return False
            else:
                return False
        return True

    def huey_task_call(self, call: cst.Call, table: BindingTable, scope: Scope) -> bool:
        """``build_export(pk)`` where ``build_export`` is decorated ``@huey.task()`` /
        ``@huey.db_task()`` (here, or in a module of the project that uses huey): huey
        queues the call for its consumer instead of running it."""
        known = self._huey.get(id(call))
        if known is None:
            known = self._huey[id(call)] = self._huey_task_call(call, table, scope)
        return known

    def _huey_task_call(self, call: cst.Call, table: BindingTable, scope: Scope) -> bool:
        func = call.func
        if not isinstance(func, cst.Name):
            return False
        bindings = table.lookup(func.value, scope)
        if len(bindings) != 1:
            return False
        node = bindings[0].node
        if bindings[0].kind is BindingKind.FUNCTION and isinstance(node, cst.FunctionDef):
            return self.receivers.imports.imports_module("huey") and any(
                _jobs.huey_task_decorator(
                    dotted_name(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
                )
                for d in node.decorators
            )
        if bindings[0].kind is not BindingKind.IMPORT or self.project is None or self.module_name is None:
            return False
        project = self.project
        qualified = project.resolve(self.module_name, func.value)
        function = project.function(qualified) if qualified is not None else None
        summary = project.summary(function.module) if function is not None else None
        if function is None or summary is None or not any(v.startswith("huey") for v in summary.aliases.values()):
            return False
        return any(_jobs.huey_task_decorator(d.name) for d in function.decorators)

    def _project_actor(self, name: str) -> bool:
        """``from .actors import run_import``: a function of the project decorated as an actor."""
        project = self.project
        if project is None or self.module_name is None:
            return False
        qualified = project.resolve(self.module_name, name)
        function = project.function(qualified) if qualified is not None else None
        return function is not None and any(
            project.canonical(d.name) in _jobs.DRAMATIQ_ACTORS for d in function.decorators
        )

    def _decorated_actor(self, decorator: cst.BaseExpression) -> bool:
        func = decorator.func if isinstance(decorator, cst.Call) else decorator
        return self.receivers._qualified(func) in _jobs.DRAMATIQ_ACTORS

    def _target(
        self,
        dispatch: _jobs.Dispatch,
        call: cst.Call,
        receiver: Optional[cst.BaseExpression],
        table: BindingTable,
        scope: Scope,
    ) -> str:
        if dispatch.target_keyword == "<receiver>":
            return _short(receiver) if receiver is not None else ""
        source = call
        if dispatch.receiver == _jobs.Receiver.THREAD and receiver is not None:
            built = receiver if isinstance(receiver, cst.Call) else _bound_value(receiver, table, scope)
            if not isinstance(built, cst.Call):
                return ""
            source = built
        arg = keyword(source, dispatch.target_keyword) if dispatch.target_keyword else None
        args = positional(source)
        if arg is None and 0 <= dispatch.target_index < len(args):
            arg = args[dispatch.target_index]
        if arg is None:
            return ""
        value = arg.value
        if isinstance(value, cst.Call) and dispatch.label.endswith(("create_task", "ensure_future")):
            value = value.func
        return _short(value)

    @staticmethod
    def _waited(nodes: Sequence[Tuple[Statement, cst.CSTNode]]) -> Set[int]:
        """Calls whose future/task/thread the function waits for before returning: awaited,
        ``.result()``/``.join()`` on it, or bound to a name that is passed to
        ``as_completed``/``wait``/``gather``, awaited, or iterated by a loop that waits."""
        out: Set[int] = set()
        names: Dict[str, List[cst.Call]] = {}
        elements: Dict[str, List[str]] = {}
        used: Set[str] = set()
        for stmt, node in nodes:
            if isinstance(node, cst.Await) and isinstance(node.expression, (cst.Call, cst.Name)):
                out.add(id(node.expression))
                if isinstance(node.expression, cst.Name):
                    used.add(node.expression.value)
            elif isinstance(node, cst.Attribute) and node.attr.value in _jobs.WAITS_FOR:
                if isinstance(node.value, cst.Call):
                    out.add(id(node.value))
                elif isinstance(node.value, cst.Name):
                    used.add(node.value.value)
            elif isinstance(node, cst.Call) and _last(node.func) in _jobs.WAITS_FOR:
                for arg in node.args:
                    used.update(n.value for n in scope_nodes(arg.value) if isinstance(n, cst.Name))
            elif isinstance(node, cst.Assign) and len(node.targets) == 1:
                target = node.targets[0].target
                if isinstance(target, cst.Name):
                    calls = [n for n in scope_nodes(node.value) if isinstance(n, cst.Call)]
                    names.setdefault(target.value, []).extend(calls)
            elif isinstance(node, cst.CompFor) and isinstance(node.target, cst.Name):
                # ``[f.result() for f in futures]``: waiting on each element waits on the list.
                elements[node.target.value] = [n.value for n in scope_nodes(node.iter) if isinstance(n, cst.Name)]
            if isinstance(stmt, cst.For) and node is stmt.iter and _waits_inside(stmt):
                used.update(n.value for n in scope_nodes(stmt.iter) if isinstance(n, cst.Name))
        for element in used & set(elements):
            used.update(elements[element])
        for name in used & set(names):
            out.update(id(call) for call in names[name])
        return out

    # -- state writes -------------------------------------------------------------------------

    def _state_write(
        self,
        node: Union[cst.Assign, cst.AnnAssign],
        later: Sequence[cst.CSTNode],
        table: BindingTable,
        scope: Scope,
    ) -> Optional[Site]:
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        value = node.value
        for target in targets:
            if not (isinstance(target, cst.Attribute) and _jobs.state_attribute(target.attr.value)):
                continue
            owner = dotted_name(target.value)
            if owner is None or _jobs.NOT_JOB_OBJECTS.match(owner) or value is None:
                continue
            if not _persisted(owner, later) or _jobs.TERMINAL_STATES.match(_state_text(value)):
                continue
            model = _agreed_model(table, target.value, scope, self.models) or owner
            return Site(node, f"`{model}.{target.attr.value} -> {_state_text(value)}`", "state")
        return None

    def _setter(self, call: cst.Call) -> Optional[Site]:
        """``_set_job_status(job_id, JobStatus.FINISHED)``: a helper given a state member."""
        name = _last(call.func)
        if not _jobs.STATE_SETTERS.match(name):
            return None
        for arg in call.args:
            value = arg.value
            if isinstance(value, cst.Attribute) and isinstance(value.value, (cst.Name, cst.Attribute)):
                owner = dotted_name(value.value) or ""
                if _jobs.state_enum(owner.rsplit(".", 1)[-1]) and not _jobs.TERMINAL_STATES.match(value.attr.value):
                    return Site(call, f"`{owner.rsplit('.', 1)[-1]} -> {value.attr.value}` via `{name}`", "state")
        return None

    def _mongo_update(self, call: cst.Call) -> Optional[Site]:
        """``jobs.find_one_and_update({...}, {"$set": {"state": "ready"}})``: a MongoDB write
        of a job's state."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in _jobs.MONGO_UPDATES) or len(call.args) < 2:
            return None
        update = call.args[1].value
        for element in update.elements if isinstance(update, cst.Dict) else ():
            if not isinstance(element, cst.DictElement) or not isinstance(element.value, cst.Dict):
                continue
            if not (isinstance(element.key, cst.SimpleString) and element.key.evaluated_value == "$set"):
                continue
            for field in element.value.elements:
                if not isinstance(field, cst.DictElement) or not isinstance(field.key, cst.SimpleString):
                    continue
                name = field.key.evaluated_value
                if isinstance(name, str) and _jobs.state_attribute(name):
                    if _jobs.TERMINAL_STATES.match(_state_text(field.value)):
                        return None
                    collection = _root_name(func.value) or "documents"
                    return Site(call, f"`{collection}.{name} -> {_state_text(field.value)}`", "state")
        return None

    def _bulk_update(self, call: cst.Call) -> Optional[Site]:
        mongo = self._mongo_update(call)
        if mongo is not None:
            return mongo
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in _jobs.BULK_UPDATES):
            return None
        for arg in call.args:
            if arg.keyword is not None and _jobs.state_attribute(arg.keyword.value):
                if not _is_query(func.value, func.attr.value) or _jobs.TERMINAL_STATES.match(_state_text(arg.value)):
                    return None
                model = model_of(func.value) or _root_name(func.value) or "rows"
                return Site(call, f"`{model}.{arg.keyword.value} -> {_state_text(arg.value)}`", "state")
        return None


# -- helpers ------------------------------------------------------------------------------------


def _waits_inside(loop: cst.For) -> bool:
    """The loop body waits for what it iterates (``.result()``, ``.join()``, ``await``)."""
    for node in scope_nodes(loop.body):
        if isinstance(node, cst.Await):
            return True
        if isinstance(node, cst.Call) and _last(node.func) in ("result", "join", "exception"):
            return True
    return False


def _last(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _short(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else ""
    name = dotted_name(expr)
    if name is not None:
        return name
    if isinstance(expr, cst.BinaryOperation):
        return _short(expr.left)
    if isinstance(expr, cst.Call):
        return _short(expr.func)
    return ""


def _keeps_alive(enclosing: Enclosing) -> bool:
    """Under ``if thread is None or not thread.is_alive():``: the code (re)starts a service
    thread that must be running (an event loop, a worker pool's health check), not work."""
    for outer, _role in enclosing:
        test = outer.test if isinstance(outer, (cst.If, cst.While)) else None
        if test is not None and any(
            isinstance(n, cst.Attribute) and n.attr.value in ("is_alive", "isAlive") for n in scope_nodes(test)
        ):
            return True
    return False


def _not_thread_start(node: cst.CSTNode) -> bool:
    return not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "start")


def _with_bound(receiver: Optional[cst.BaseExpression], table: BindingTable, scope: Scope) -> bool:
    """Whether ``receiver`` is a name only ever bound by a ``with ... as name`` block."""
    if not isinstance(receiver, cst.Name):
        return False
    bindings = table.lookup(receiver.value, scope)
    return bool(bindings) and all(b.kind is BindingKind.WITH for b in bindings)


def _bound_value(expr: cst.BaseExpression, table: BindingTable, scope: Scope) -> Optional[cst.BaseExpression]:
    bindings = table.resolve(expr, scope)
    values = [b.value for b in bindings if b.value is not None]
    return values[0] if len(values) == 1 else None


def _agreed_model(table: BindingTable, expr: cst.BaseExpression, scope: Scope, hook: ModelKinds) -> Optional[str]:
    found = any_of(table.kinds(expr, scope, hook))
    return found[0] if len(found) == 1 else None


def _state_text(value: cst.BaseExpression) -> str:
    if isinstance(value, cst.Attribute):
        return value.attr.value
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return text if isinstance(text, str) else "?"
    if isinstance(value, cst.Call):
        return f"{_short(value.func)}(...)"
    return dotted_name(value) or "a new value"


def _persisted(owner: str, later: Sequence[cst.CSTNode]) -> bool:
    """A save/commit follows the assignment (``job.save()``, ``db.session.commit()``,
    ``repo.save(job)``, ``session.add(job)``)."""
    for node in later:
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            continue
        method = node.func.attr.value
        receiver = dotted_name(node.func.value)
        if method in ("commit", "flush"):
            return True
        if method in _jobs.PERSIST_METHODS and receiver == owner:
            return True
        if method in ("save", "add", "merge", "put") and any(dotted_name(a.value) == owner for a in node.args):
            return True
    return False


def _is_query(expr: cst.BaseExpression, method: str) -> bool:
    """``Model.objects.filter(...)``/``qs.filter(...)`` before ``update``; ``update(Model)``
    before ``values``."""
    current: cst.BaseExpression = expr
    for _ in range(16):
        if isinstance(current, cst.Call):
            name = _last(current.func)
            if method == "values" and name == "update":
                return True
            if method == "update" and name in _jobs.QUERY_METHODS:
                return True
            current = current.func
        elif isinstance(current, cst.Attribute):
            if method == "update" and current.attr.value in _jobs.QUERY_METHODS:
                return True
            current = current.value
        else:
            return False
    return False


def _root_name(expr: cst.BaseExpression) -> Optional[str]:
    current: cst.CSTNode = expr
    while isinstance(current, (cst.Call, cst.Attribute, cst.Subscript)):
        current = current.func if isinstance(current, cst.Call) else current.value
    return current.value if isinstance(current, cst.Name) else None


__all__ = ["ModelKinds", "Progressions", "ReceiverKinds", "Site", "Statement", "model_of"]
