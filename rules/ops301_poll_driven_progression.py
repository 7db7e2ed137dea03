"""OPS301 poll-driven-progression: a GET/status handler starts queued work or advances a job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import libcst as cst

from opslint.analysis.entrypoints import CALLABLE_ADAPTERS, run_callable
from opslint.analysis.scopes import BindingKind, BindingTable, Scope, ScopeKind
from opslint.context import FileContext
from opslint.model import Related, Span
from opslint.project import ProjectIndex
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _jobs, _web
from opslint.rules._facts import FactsOf, module_context
from opslint.rules._handlers import NO_ROUTE, REGISTRATION_WORDS, Handler, Handlers, Route, read_statements
from opslint.rules._progress import Progressions, Site, Statement, model_of
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import nested_statements, scope_nodes
from opslint.syntax.walk import iter_nodes

#: How many calls deep a handler is followed into project functions.
_MAX_DEPTH = 4


# -- project facts (stored as JSON by the index) ----------------------------------------------


@dataclass(frozen=True)
class SiteFact:
    what: str
    span: Span
    #: A state write, or a dispatch under a test of a job's state.
    progression: bool


@dataclass(frozen=True)
class FunctionSites:
    #: ``advance``, ``ImportQueue.advance`` (the index's qualname without the module).
    function: str
    sites: Tuple[SiteFact, ...]


@dataclass(frozen=True)
class RouteFact:
    #: The view as the registration names it (``views.import_detail``).
    ref: str
    path: str
    methods: Tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class ModuleFacts:
    functions: Tuple[FunctionSites, ...]
    routes: Tuple[RouteFact, ...]


@dataclass(frozen=True)
class _Reached:
    """A progression reached from a handler: here (``node``) or in another file."""

    what: str
    node: Optional[cst.CSTNode] = None
    path: str = ""
    span: Optional[Span] = None
    #: The project function it happens in, when not in the handler itself.
    via: str = ""
    #: The incident's shape: a state write, or work started under a test of a job's state.
    #: Otherwise work started on every request (a side effect of a read).
    queued: bool = True


class PollDrivenProgression(Rule):
    """A GET or status handler that starts queued work or advances a job's state.

    ## What it does
    Finds read handlers: Flask/Quart routes without `methods` (GET) or with GET,
    `@app.get`/`@router.get` (Flask, FastAPI, Starlette), `add_url_rule`, Starlette
    `Route(...)`, aiohttp `@routes.get`/`router.add_get`/`router.add_view`, Pyramid
    `@view_config`/`config.add_view` (every method unless `request_method` says), Django function views bound by
    `path()`/`re_path()` (in this file or a `urls.py` of the project) and the `get` of
    class-based views, DRF `@api_view(["GET"])` and `@action(methods=["get"])`, and
    functions named like `*status*`/`*progress*`/`poll*` that take a request and return
    a response, and the read RPCs (`GetExportStatus`, `List...`) of a gRPC servicer.  Inside them, and in the project functions they call (across modules),
    it looks for work being started (Celery `.delay`/`.apply_async`/`send_task`,
    `executor.submit`, `Thread(...).start()`, `asyncio.create_task`,
    `BackgroundTasks.add_task`, RQ `enqueue`, dramatiq `.send`, `subprocess.Popen`, boto3
    Lambda `invoke`, ECS `run_task`, Step Functions `start_execution`, SQS `send_message`,
    Cloud Tasks `create_task`) or a job's state being advanced (`job.status =
    Status.RUNNING` then a save or commit, `.filter(...).update(status=...)`, a model method
    that does so, MongoDB `{"$set": {"state": ...}}`).  Blocks under `if request.method == "POST":` or
    Flask-WTF's `if form.validate_on_submit():` are not a GET's (and so is what follows
    `if request.method != "POST": return ...`).
    Reads, metrics, logging, cache fills and request-scoped fan-out that the handler
    waits for (a pool closed by its `with` block, futures whose results it reads) are not
    progression.  Work started under a test of a job's state, or a state write, is the
    incident's queue that only moves while polled; work started on every request is
    reported as a read with a side effect, except in handlers that are GETs by necessity
    (email verification and unsubscribe links, OAuth and payment callbacks).

    ## Why it matters
    Incident 001: report imports waited in a per-account queue, and the next one was
    started by the server when the browser's 10-second status poll saw the previous one
    finish.  When users closed the tab nothing polled, and the queue stalled.

    ## Example
    ```python
    from flask import Flask, jsonify

    from imports.models import ImportStatus, ReportImport, db
    from imports.tasks import run_import

    app = Flask(__name__)

    @app.route("/imports/<int:import_id>/status")
    def import_status(import_id):
        item = ReportImport.query.get_or_404(import_id)
        if item.status is ImportStatus.SUCCESS:
            nxt = ReportImport.query.filter_by(status=ImportStatus.WAITING).first()
            if nxt is not None:
                nxt.status = ImportStatus.CREATING
                db.session.commit()
                run_import.delay(nxt.id)
        return jsonify(status=item.status.value)
    ```

    ## Use instead
    ```python
    from celery import shared_task
    from flask import Flask, jsonify

    from imports.models import ImportStatus, ReportImport, db

    app = Flask(__name__)

    @app.route("/imports/<int:import_id>/status")
    def import_status(import_id):
        item = ReportImport.query.get_or_404(import_id)
        return jsonify(status=item.status.value)

    @shared_task
    def run_import(import_id):
        ...  # import, then start the next waiting one from here
        nxt = ReportImport.query.filter_by(status=ImportStatus.WAITING).first()
        if nxt is not None:
            nxt.status = ImportStatus.CREATING
            db.session.commit()
            run_import.delay(nxt.id)
    ```

    ## Fix safety
    No automatic fix: where the next job starts is a design decision.  The suggestion is
    to start it from the worker's completion path (the end of the task, `on_success`, a
    `link=` callback) or from a scheduler, and to keep GET handlers free of side effects.

    ## Options
    None.

    ## See also
    OPS302 (the worker-side fix done with recursion grows the stack).
    """

    code = "OPS301"
    name = "poll-driven-progression"
    message = "{handler} ({route}) {what}: {why}"
    # Handler vocabulary: route decorators and registrations, views, status/poll handlers.
    tokens = (
        "route",
        "app.get(",
        '.get("/',
        ".get('/",
        "api_view",
        "action(",
        "View",
        "HTTPEndpoint",
        "RequestHandler",
        "add_get",
        "add_url_rule",
        "urlpatterns",
        "view_config",
        "add_view",
        "def poll",
        "status(request",
        "progress(request",
        "Resource",
        "Servicer",
        "SocketIO",
        "socketio",
    )
    fix_availability = "none"
    requires = (BindingTable,)
    needs_project = True
    # Modules whose functions may start work or write a state, or that bind views.
    project_tokens = (
        "delay",
        "apply_async",
        "send_task",
        "submit",
        "add_task",
        "enqueue",
        "Thread",
        "create_task",
        "ensure_future",
        "Popen",
        "invoke",
        "run_task",
        "start_execution",
        "send_message",
        "publish(",
        "status =",
        "state =",
        "phase =",
        "status=",
        "state=",
        "phase=",
        "urlpatterns",
        "add_url_rule",
        "add_get",
        "Route(",
        "view_config",
        "add_view",
    )

    SUGGESTION = (
        "Start the next job from the worker's completion path (the task's end, `on_success`, a `link=` "
        "callback) or a scheduler, and keep GET handlers free of side effects"
    )

    # -- project hooks ------------------------------------------------------------------------

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        ctx, table = module_context(module, info)
        progress = Progressions(ctx, table)
        functions: List[FunctionSites] = []
        for scope in table.scopes():
            function = scope.function
            if function is None:
                continue
            body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
            sites = progress.in_statements(function, list(read_statements(body)))
            if sites:
                functions.append(
                    FunctionSites(
                        _local_qualname(scope),
                        tuple(SiteFact(s.what, _span(ctx, s.node), _progression(s)) for _st, s in sites),
                    )
                )
        routes = tuple(
            RouteFact(route.ref, route.path, route.methods, _span(ctx, route.node))
            for route, _scope, _view in Handlers(ctx, table).registrations()
            if route.ref and route.node is not None
        )
        if not functions and not routes:
            return None
        return ModuleFacts(tuple(functions), routes)

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        """Modules whose views another module's ``urls.py`` binds (Django function views
        need not mention any handler vocabulary)."""
        if not isinstance(project, ProjectIndex):
            return False
        name = project.module_of(path)
        return name is not None and _bound_here(project, cls.code, name)

    # -- per file -----------------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module) -> None:
        table = self.ctx.analysis(BindingTable)
        self._table = table
        project = self.ctx.project if isinstance(self.ctx.project, ProjectIndex) else None
        self._project = project
        self._module = (project.module_of(self.ctx.path) if project is not None else None) or self.ctx.module_name
        self._progress = Progressions(self.ctx, table, project, self._module)
        self._facts = FactsOf(project, self.code, ModuleFacts)
        handlers = Handlers(self.ctx, table).handlers(self._remote_routes())
        for handler in sorted(handlers, key=lambda h: self.position(h.function)):
            self._check(handler)

    def _remote_routes(self) -> Dict[str, List[Route]]:
        """Local qualname -> routes bound in other modules (Django ``urls.py``)."""
        project, module = self._project, self._module
        out: Dict[str, List[Route]] = {}
        if project is None or module is None:
            return out
        prefix = module + "."
        for other, targets in _routes_into(project, self.code, module).items():
            facts = self._facts.get(other)
            if facts is None or len(facts.routes) != len(targets):
                continue
            summary = project.summary(other)
            for fact, target in zip(facts.routes, targets):
                if target is None or not target.startswith(prefix):
                    continue
                local = target[len(prefix) :]
                where = (summary.path if summary is not None else "", fact.span)
                out.setdefault(local, []).append(Route(fact.path, fact.methods, None, fact.ref, where))
        return out

    # -- one handler --------------------------------------------------------------------------

    def _check(self, handler: Handler) -> None:
        function = handler.function
        if not isinstance(function.body, cst.IndentedBlock):
            return
        if _scheduler_target(function):
            return  # ``if request.headers.get("X-Appengine-Cron") != "true": return 403``
        statements = list(read_statements(function.body.body))
        anchor: Optional[Statement] = None
        reached: List[_Reached] = []
        seen: Set[Union[int, str]] = {id(function)}
        scope = self._table.scope_of(function)
        assert scope is not None
        by_statement = self._progress.in_statements(function, statements)
        guards = self._guards(function)
        # A link followed from an email or a provider's redirect is a GET by necessity.
        starts_work = not _jobs.CALLBACK_HANDLERS.search(" ".join([handler.name] + [r.path for r in handler.routes]))
        for dependency in self._dependencies(function):
            # ``def status(job = Depends(load_job))``: FastAPI runs ``load_job`` on every
            # request, before the handler's first statement.
            found_before = self._through(cst.Call(func=dependency), scope, seen, 1, False)
            if found_before and statements and anchor is None:
                anchor = statements[0]
            reached.extend(found_before)
        for stmt in statements:
            found: List[_Reached] = [
                _Reached(site.what, site.node, queued=_progression(site))
                for s, site in by_statement
                if s is stmt
                and (_progression(site) or (starts_work and not _handle_returned(function, stmt, site.node)))
            ]
            for node in Progressions.own_nodes(stmt):
                if isinstance(node, cst.Call):
                    found.extend(self._through(node, scope, seen, 1, guards.get(id(stmt), False)))
            if found and anchor is None:
                anchor = stmt
            reached.extend(found)
        if not starts_work:
            reached = [r for r in reached if r.queued]
        if anchor is None or not reached:
            return
        self._report(handler, anchor, reached)

    def _dependencies(self, function: cst.FunctionDef) -> List[cst.BaseExpression]:
        """The functions a FastAPI handler declares as dependencies: ``Depends(f)`` as a
        parameter's default or inside its ``Annotated[...]`` annotation."""
        out: List[cst.BaseExpression] = []
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            places = [param.default, param.annotation.annotation if param.annotation is not None else None]
            for place in places:
                if place is None:
                    continue
                for node in iter_nodes(place):
                    if (
                        isinstance(node, cst.Call)
                        and node.args
                        and node.args[0].keyword is None
                        and self.ctx.imports.resolve(node.func) in _web.FASTAPI_DEPENDS
                    ):
                        out.append(node.args[0].value)
        return out

    def _guards(self, function: cst.FunctionDef) -> Dict[int, bool]:
        """Statement id -> whether a test around it reads a job's state."""
        assert isinstance(function.body, cst.IndentedBlock)
        scope = self._table.scope_of(function)
        return {id(s): self._progress.guarded(e, scope) for s, e in nested_statements(function.body.body)}

    def _through(
        self, call: cst.Call, scope: Scope, seen: Set[Union[int, str]], depth: int, guarded: bool
    ) -> List[_Reached]:
        """Progressions in the function a call reaches (in this file or the project)."""
        if depth > _MAX_DEPTH:
            return []
        if self._progress.huey_task_call(call, self._table, scope):
            return []  # the task's body runs in huey's consumer, not in this request
        func = self._called(call)
        local = self._local_target(func, scope)
        if local is not None:
            if id(local) in seen:
                return []
            seen.add(id(local))
            return self._local(local, seen, depth, guarded)
        qualname = self._project_target(func, scope)
        if qualname is None or qualname in seen:
            return []
        seen.add(qualname)
        return self._remote(qualname, seen, depth, guarded)

    def _called(self, call: cst.Call) -> cst.BaseExpression:
        """The function a call runs: its callee, the function an adapter wraps
        (``sync_to_async(services.advance)(account_id)``) or the one it hands to a thread
        or executor (``asyncio.to_thread(services.advance, account_id)``)."""
        func = call.func
        imports = self.ctx.imports
        if isinstance(func, cst.Call) and func.args and imports.resolve(func.func) in CALLABLE_ADAPTERS:
            return func.args[0].value
        runs = run_callable(call, imports.resolve(func))
        return runs if runs is not None else func

    def _local(
        self, function: cst.FunctionDef, seen: Set[Union[int, str]], depth: int, guarded: bool
    ) -> List[_Reached]:
        inner = self._table.scope_of(function)
        if inner is None or not isinstance(function.body, cst.IndentedBlock):
            return []
        name = _local_qualname(inner)
        # A helper given the request runs its ``if request.method == "POST":`` block only
        # for a POST (DefectDojo's ``new_eng_for_app``, called by a GET-bound view).
        statements = list(read_statements(function.body.body))
        out = [
            _Reached(site.what, site.node, via=name, queued=guarded or _progression(site))
            for _s, site in self._progress.in_statements(function, statements)
        ]
        guards = self._guards(function)
        for stmt in statements:
            for node in Progressions.own_nodes(stmt):
                if isinstance(node, cst.Call):
                    out.extend(self._through(node, inner, seen, depth + 1, guarded or guards.get(id(stmt), False)))
        return out

    def _remote(self, qualname: str, seen: Set[Union[int, str]], depth: int, guarded: bool) -> List[_Reached]:
        project = self._project
        assert project is not None
        summary = project.function(qualname)
        if summary is None:
            return []
        module = project.summary(summary.module)
        facts = self._facts.get(summary.module)
        local = summary.qualname[len(summary.module) + 1 :]
        short = ".".join(summary.qualname.split(".")[-2:])
        out: List[_Reached] = []
        if facts is not None and module is not None:
            for function in facts.functions:
                if function.function == local:
                    out.extend(
                        _Reached(s.what, None, module.path, s.span, short, queued=guarded or s.progression)
                        for s in function.sites
                    )
        for _site, callee in project.callees(summary.qualname):
            if callee not in seen and depth < _MAX_DEPTH:
                seen.add(callee)
                out.extend(self._remote(callee, seen, depth + 1, guarded))
        return out

    def _local_target(self, func: cst.BaseExpression, scope: Scope) -> Optional[cst.FunctionDef]:
        """The ``def`` of this file a call reaches: ``helper(...)``, ``self.helper(...)``."""
        if isinstance(func, cst.Name):
            return self._table.function_named(func.value, scope)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            bindings = self._table.resolve(func, scope)
            owner = self._table.instance_class(func.value, scope)
            if not bindings and owner is not None:
                bindings = self._table.attribute(owner, func.attr.value)
            defs = [b.node for b in bindings if b.kind is BindingKind.FUNCTION]
            if len(defs) == 1 and isinstance(defs[0], cst.FunctionDef):
                return defs[0]
        return None

    def _project_target(self, func: cst.BaseExpression, scope: Scope) -> Optional[str]:
        project, module = self._project, self._module
        if project is None or module is None:
            return None
        name = dotted_name(func)
        if name is None:
            # ``ImportQueue(job.account_id).advance()``: a method of an instance built in place.
            return self._imported_class_method(func, scope)
        head = name.split(".", 1)[0]
        if head in ("self", "cls"):
            return None
        if any(b.kind is not BindingKind.IMPORT for b in self._table.lookup(head, scope)):
            return self._imported_class_method(func, scope)  # a local value: an instance, maybe
        target = project.resolve(module, name)
        if target is None or project.function(target) is None:
            return None
        return project.function(target).qualname  # type: ignore[union-attr]

    def _imported_class_method(self, func: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """``scheduler.kick_next(...)`` with ``scheduler = Scheduler(store)`` (or
        ``Scheduler(store).kick_next(...)``), ``Scheduler`` a class of another module."""
        project, module = self._project, self._module
        if project is None or module is None or not isinstance(func, cst.Attribute):
            return None
        made = func.value
        if isinstance(made, cst.Name):
            bindings = self._table.lookup(made.value, scope)
            if len(bindings) != 1 or not isinstance(bindings[0].value, cst.Call):
                return None
            made = bindings[0].value
        if not isinstance(made, cst.Call):
            return None
        name = dotted_name(made.func)
        cls = project.resolve(module, name) if name is not None else None
        if cls is None or project.class_summary(cls) is None:
            # ``Import.next_waiting(account)``, ``Import.objects.filter(...).first()``: an
            # instance of the class, when the class defines the method called on it.
            owner = model_of(made) or (name.rsplit(".", 1)[0] if name is not None and "." in name else None)
            cls = project.resolve(module, owner) if owner is not None else None
            if cls is None or project.class_summary(cls) is None:
                return None
        found = project.method(cls, func.attr.value)
        return found.qualname if found is not None else None

    # -- reporting ----------------------------------------------------------------------------

    def _report(self, handler: Handler, anchor: Statement, reached: List[_Reached]) -> None:
        related: List[Any] = []
        route = handler.routes[0] if handler.routes else None
        if route is not None and route.node is not None and route.path == NO_ROUTE:
            related.append(RelatedNode(route.node, f"serves {_methods(route)}; no route found in the project"))
        elif route is not None and route.node is not None:
            related.append(RelatedNode(route.node, f"the route: {_methods(route)} {route.path}"))
        elif route is not None and route.remote is not None:
            path, span = route.remote
            related.append(Related(self.ctx.display_of(path), span, f"the route: {route.path} ({route.ref})"))
        elif handler.owner is not None:
            related.append(RelatedNode(handler.owner.name, "the class-based view (no route found)"))
        else:
            related.append(RelatedNode(handler.function.name, "serves clients: takes a request, returns a response"))
        anchor_line = self.position(anchor)[0]
        for item in reached:
            if item.node is not None:
                if self.position(item.node)[0] != anchor_line:
                    related.append(RelatedNode(item.node, f"{_verb(item)} here: {item.what}"))
            elif item.span is not None:
                span = self._project.current_span(item.path, item.span) if self._project else item.span
                related.append(
                    Related(self.ctx.display_of(item.path), span, f"{_verb(item)} in `{item.via}`: {item.what}")
                )
        node: cst.CSTNode = anchor.body[0] if isinstance(anchor, cst.SimpleStatementLine) else anchor
        self.report(
            node,
            fix=PendingFix.suggestion(self.SUGGESTION),
            related=related,
            handler=_describe_handler(handler),
            route=_route_text(handler, route),
            what=_describe(reached),
            why=_POLLED if any(r.queued for r in reached) else _EVERY_REQUEST,
        )


# -- helpers ----------------------------------------------------------------------------------


def _scheduler_target(function: cst.FunctionDef) -> bool:
    """The handler checks a header that only a scheduler or a task queue sets: it is the
    target of a schedule (what this rule recommends), not a page a client polls."""
    return any(
        isinstance(node, cst.SimpleString)
        and isinstance(node.evaluated_value, str)
        and bool(_jobs.SCHEDULER_HEADERS.match(node.evaluated_value))
        for node in iter_nodes(function.body)
    )


def _describe_handler(handler: Handler) -> str:
    if handler.reason == "named":
        return f"status handler `{handler.name}`"
    if handler.reason == "grpc":
        return f"read RPC `{handler.name}`"
    return f"GET handler `{handler.name}`"


def _route_text(handler: Handler, route: Optional[Route]) -> str:
    if route is not None and route.path != NO_ROUTE:
        return f"route {route.path}"
    if handler.reason == "grpc" and handler.owner is not None:
        return f"gRPC service `{handler.owner.name.value}`"
    return NO_ROUTE


_POLLED = "the work only moves while a client polls"
_EVERY_REQUEST = "a read starts it, on every request and only when a client asks"


def _progression(site: Site) -> bool:
    """A state write, or a dispatch under a test of a job's state (see ``_jobs.STATE_WORDS``)."""
    return site.kind == "state" or site.guarded


def _verb(item: _Reached) -> str:
    return "advances the state" if "->" in item.what else "starts work"


def _methods(route: Route) -> str:
    return "any method" if route.methods == ("*",) else "/".join(route.methods)


def _describe(reached: List[_Reached]) -> str:
    parts: List[str] = []
    for item in reached:
        verb = "sets" if "->" in item.what else "starts"
        text = f"{verb} {item.what}"
        if text not in parts:
            parts.append(text)
    shown = parts[:3] + ([f"{len(parts) - 3} more"] if len(parts) > 3 else [])
    text = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    via = next((r.via for r in reached if r.via), "")
    return f"{text} (through `{via}`)" if via else text


def _local_qualname(scope: Scope) -> str:
    """``Cls.method``, ``outer.<locals>.inner`` (the index's qualname without the module)."""
    chain: List[Scope] = []
    current: Optional[Scope] = scope
    while current is not None and current.kind is not ScopeKind.MODULE:
        chain.append(current)
        current = current.parent
    parts: List[str] = []
    previous: Optional[ScopeKind] = None
    for item in reversed(chain):
        node = item.node
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        if previous is ScopeKind.FUNCTION:
            parts.append("<locals>")
        parts.append(node.name.value)
        previous = item.kind
    return ".".join(parts)


def _handle_returned(function: cst.FunctionDef, stmt: Statement, node: Optional[cst.CSTNode]) -> bool:
    """The work a read starts is handed to the client: its job (or id) is what the handler
    returns (``job = get_schema.delay(id)`` ... ``return {"job": job.id}``), and the client
    asks for the result it requested.  Nothing waits in a queue on the polling."""
    if node is None:
        return False
    if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Return):
        return any(n is node for n in iter_nodes(stmt.body[0]))
    names: Set[str] = set()
    if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        if any(n is node for n in iter_nodes(assign.value)):
            names = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}
    if not names:
        return False
    return any(
        isinstance(n, cst.Return)
        and n.value is not None
        and any(isinstance(m, cst.Name) and m.value in names for m in iter_nodes(n.value))
        for n in scope_nodes(function.body)
    )


def _span(ctx: FileContext, node: Optional[cst.CSTNode]) -> Span:
    assert node is not None
    rng = ctx.positions()[node]
    lines = ctx.lines
    return lines.span(lines.offset(rng.start.line, rng.start.column), lines.offset(rng.end.line, rng.end.column))


def _routes_into(project: ProjectIndex, code: str, module: str) -> Dict[str, Tuple[Optional[str], ...]]:
    """The other modules whose routes bind a view of ``module`` -> what each of their
    routes' views resolves to (parallel to their ``routes``).

    Only the modules that may register a view of ``module`` are read (``_route_sources``):
    a one-file run computes the facts of those, not of every module holding a route."""

    def compute() -> Dict[str, Tuple[Optional[str], ...]]:
        prefix = module + "."
        out: Dict[str, Tuple[Optional[str], ...]] = {}
        for other in _route_sources(project, code).get(module, ()):
            facts = project.fact(other, code)
            if not isinstance(facts, ModuleFacts) or not facts.routes:
                continue
            targets = tuple(project.resolve(other, route.ref) for route in facts.routes)
            if any(t is not None and t.startswith(prefix) for t in targets):
                out[other] = targets
        return out

    # Kept on disk: a one-file run (pre-commit, flake8) would otherwise load the
    # summaries of the modules that may route here each time.
    found = project.memo((code, "routes-into", module), compute, persist=True)
    assert isinstance(found, dict)
    return found


def _route_sources(project: ProjectIndex, code: str) -> Dict[str, Tuple[str, ...]]:
    """module -> the modules that may register a view of it: they name a registration call
    (``path(``, ``add_url_rule(``...) and pass something of that module to a call (a route
    is given its view: ``path("", views.index)``, ``login_required(views.index)``).

    Read from the summaries and the texts, not from the rule's facts (which a one-file run
    must not compute for the whole project)."""

    def compute() -> Dict[str, Tuple[str, ...]]:
        out: Dict[str, Set[str]] = {}
        for other in project.fact_modules(code):
            text = project.source_of(other)
            summary = project.summary(other)
            if text is None or summary is None or not any(word in text for word in REGISTRATION_WORDS):
                continue
            for function in summary.functions.values():
                for site in function.calls:
                    for value in (*site.args, *(v for _, v in site.kwargs)):
                        target = project.module_for(project.canonical(value.split("(", 1)[0]))
                        if target is not None and target != other:
                            out.setdefault(target, set()).add(other)
        return {module: tuple(sorted(sources)) for module, sources in out.items()}

    # Kept on disk: the same for every file of the project.
    found = project.memo((code, "route-sources"), compute, persist=True)
    assert isinstance(found, dict)
    return found


def _bound_here(project: ProjectIndex, code: str, module: str) -> bool:
    """Whether another module's route binds a function or class of ``module``."""
    for targets in _routes_into(project, code, module).values():
        for target in targets:
            owner = project.function(target) if target is not None else None
            if owner is not None and owner.module == module:
                return True
            if owner is None and target is not None and project.class_summary(target) is not None:
                if target.rsplit(".", 1)[0] == module:
                    return True
    return False
