"""Read handlers of a file: functions an HTTP GET reaches, and the routes that bind them.

:class:`Handlers` reads the file's binding table after the traversal and finds:

* decorated routes: ``@app.route`` (default GET), ``@bp.get``, ``@router.get``,
  ``@routes.get``, FastAPI ``api_route``; DRF ``@api_view`` and ``@action``; Django's
  ``require_GET``/``require_http_methods``;
* registrations anywhere in the file: ``add_url_rule``, ``add_get``, ``add_api_route``,
  ``add_route``, Starlette ``Route``, aiohttp ``web.get``, Django ``path``/``re_path``
  (a view bound in another module's ``urls.py`` comes from the project facts);
* class-based views (a base named like ``View``, ``APIView``, ``MethodView``,
  ``HTTPEndpoint``...) and their ``get`` (DRF viewsets: ``list``/``retrieve``);
* functions named like a status/progress endpoint or a poll that take a request and
  return a response.

Knowledge is in ``rules/_web.py``.  A route with an explicit non-read method is never a
read handler, whatever its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import libcst as cst

from opslint.analysis.base import FileFacts
from opslint.analysis.scopes import BindingKind, BindingTable, Scope, ScopeKind
from opslint.model import Span
from opslint.rules import _web
from opslint.rules._progress import Statement
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import always_exits, child_blocks, keyword, positional, scope_nodes, suite_statements

NO_ROUTE = "no route found"


@dataclass
class Route:
    """Where a view is bound: the path as written, the methods, the registering node."""

    path: str
    methods: Tuple[str, ...]
    node: Optional[cst.CSTNode]
    #: The view as the registration names it (``views.import_detail``,
    #: ``RunAPI`` for ``RunAPI.as_view(...)``).
    ref: str = ""
    #: A registration in another file (the project's ``urls.py``): its path and span.
    remote: Optional[Tuple[str, Span]] = None


@dataclass
class Handler:
    function: cst.FunctionDef
    #: ``import_status``, ``InvoiceDetailView.get``.
    name: str
    #: The class of a method (None for a function).
    owner: Optional[cst.ClassDef]
    routes: List[Route] = field(default_factory=list)
    #: Methods allowed by decorators (``require_POST``), if they say.
    allowed: Optional[Tuple[str, ...]] = None
    #: Why it serves reads: "route", "view", "named".
    reason: str = "route"


def literal_text(expr: cst.BaseExpression) -> Optional[str]:
    """The text of a string literal (f-strings and names as written)."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.ConcatenatedString):
        left, right = literal_text(expr.left), literal_text(expr.right)
        return left + right if left is not None and right is not None else None
    if isinstance(expr, (cst.FormattedString, cst.Name, cst.Attribute)):
        return dotted_name(expr) if not isinstance(expr, cst.FormattedString) else None
    return None


def literal_strings(expr: Optional[cst.BaseExpression]) -> Optional[Tuple[str, ...]]:
    """``["GET", "POST"]`` -> ``("GET", "POST")`` (None when not a literal collection)."""
    if expr is None:
        return None
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        out = []
        for element in expr.elements:
            if not isinstance(element.value, cst.SimpleString):
                return None
            value = element.value.evaluated_value
            if isinstance(value, str):
                out.append(value)
        return tuple(out)
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return (value,) if isinstance(value, str) else None
    return None


#: The last names of the registration calls (``route``, ``add_get``, ``path``...): a file
#: that names none of them registers nothing (checked on its text before any walk).
#: A file none of these occur in registers no route.
REGISTRATION_WORDS = frozenset(name.rsplit(".", 1)[-1] + "(" for name in _web.REGISTRATIONS)


class Handlers:
    """The read handlers and route registrations of one file (see the module docstring)."""

    def __init__(self, facts: FileFacts, table: BindingTable) -> None:
        self.facts = facts
        self.table = table
        self._registrations: Optional[List[Tuple[Route, Scope, cst.BaseExpression]]] = None

    def _qualified(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.facts.imports.resolve(expr) or dotted_name(expr)

    # -- registrations ------------------------------------------------------------------------

    def registrations(self) -> List[Tuple[Route, Scope, cst.BaseExpression]]:
        """(route, scope of the call, view expression) of every registration call."""
        if self._registrations is None:
            out: List[Tuple[Route, Scope, cst.BaseExpression]] = []
            if not any(word in self.facts.text for word in REGISTRATION_WORDS):
                self._registrations = out  # no registration call is named in the file
                return out
            for scope in self.table.scopes():
                if scope.kind is ScopeKind.COMPREHENSION:
                    continue
                for node in scope_nodes(scope.node):
                    if isinstance(node, cst.Call):
                        found = self._registration(node)
                        if found is not None:
                            out.append((found[0], scope, found[1]))
            self._registrations = out
        return self._registrations

    def _registration(self, call: cst.Call) -> Optional[Tuple[Route, cst.BaseExpression]]:
        func = call.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        qualified = self._qualified(func) or ""
        spec = _web.REGISTRATIONS.get(qualified) or _web.REGISTRATIONS.get(last)
        if spec is None:
            return None
        if spec.qualified and qualified not in spec.qualified and not (last == "Route" and last in spec.qualified):
            return None
        args = positional(call)
        if last == "add_view" and not (
            args and isinstance(args[0].value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))
        ):
            spec = _web.PYRAMID_ADD_VIEW
        path_index, view_index = spec.path_index, spec.view_index
        methods: Optional[Tuple[str, ...]] = None
        if last == "add_route" and args and literal_text(args[0].value) in _web.HTTP_METHODS:
            # aiohttp ``add_route(method, path, handler)``.
            methods = (str(literal_text(args[0].value)),)
            path_index, view_index = 1, 2
        path_arg = keyword(call, spec.path_keyword)
        path_value = path_arg.value if path_arg else (args[path_index].value if len(args) > path_index else None)
        view_arg = keyword(call, spec.view_keyword)
        view = view_arg.value if view_arg else (args[view_index].value if len(args) > view_index else None)
        if view is None or path_value is None:
            return None
        path = literal_text(path_value)
        if path is None:
            return None
        if methods is None:
            methods_arg = keyword(call, spec.methods_keyword) if spec.methods_keyword else None
            given = literal_strings(methods_arg.value) if methods_arg is not None else None
            methods = _web.methods_in(given) if given is not None else spec.default_methods
        ref = self._view_ref(view)
        return Route(path, methods, call, ref), view

    @staticmethod
    def _view_ref(view: cst.BaseExpression) -> str:
        """``views.f`` -> ``views.f``; ``RunAPI.as_view("run")`` -> ``RunAPI``."""
        if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute) and view.func.attr.value == "as_view":
            return dotted_name(view.func.value) or ""
        return dotted_name(view) or ""

    def _bound(self, view: cst.BaseExpression, scope: Scope) -> Optional[cst.CSTNode]:
        """The ``def`` or ``class`` of this file a registration's view names."""
        if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute) and view.func.attr.value == "as_view":
            view = view.func.value
        elif isinstance(view, cst.Call) and isinstance(view.func, cst.Name) and not view.args:
            view = view.func  # Falcon ``app.add_route("/imports/{id}", ImportResource())``
        if not isinstance(view, cst.Name):
            return None
        found = self.table.lookup(view.value, scope)
        nodes = [b.node for b in found if b.kind in (BindingKind.FUNCTION, BindingKind.CLASS)]
        return nodes[0] if len(nodes) == 1 and len(found) == 1 else None

    # -- handlers ------------------------------------------------------------------------------

    def handlers(self, remote: Optional[Dict[str, List[Route]]] = None) -> List[Handler]:
        """The read handlers; ``remote`` gives routes bound in other files by the
        qualname of the function or class here (``import_detail``, ``PayoutBatchView``)."""
        bound: Dict[int, List[Route]] = {}
        for route, scope, view in self.registrations():
            target = self._bound(view, scope)
            if target is not None:
                bound.setdefault(id(target), []).append(route)
        module = self.table.module_scope
        for name, routes in (remote or {}).items():
            if module is None or "." in name:
                continue
            for binding in module.own(name):
                if binding.kind in (BindingKind.FUNCTION, BindingKind.CLASS):
                    bound.setdefault(id(binding.node), []).extend(routes)
        out: List[Handler] = []
        for scope in self.table.scopes():
            function = scope.function
            if function is None:
                continue
            owner = scope.parent.node if scope.parent is not None and scope.parent.kind is ScopeKind.CLASS else None
            assert owner is None or isinstance(owner, cst.ClassDef)
            handler = self._handler(function, owner, bound)
            if handler is not None:
                out.append(handler)
        return out

    def _handler(
        self, function: cst.FunctionDef, owner: Optional[cst.ClassDef], bound: Dict[int, List[Route]]
    ) -> Optional[Handler]:
        name = function.name.value
        handler = Handler(function, f"{owner.name.value}.{name}" if owner is not None else name, owner)
        for decorator in function.decorators:
            if not self._decorator(decorator, handler):
                return None
        handler.routes.extend(bound.get(id(function), ()))
        if handler.routes:
            return handler if self._reads(handler) else None
        if owner is not None and self._view_method(owner, name):
            handler.reason = "view"
            handler.routes.extend(bound.get(id(owner), ()))
            return handler if self._reads(handler) else None
        if handler.allowed is not None:
            handler.reason = "view"
            return handler if _web.reads(handler.allowed) else None
        if self._named(function):
            handler.reason = "named"
            return handler
        if owner is not None and _web.NAMED_HANDLER.search(name) and self._socket_consumer(owner):
            handler.reason = "named"
            return handler
        if owner is not None and _falcon_read(function):
            handler.reason = "view"
            handler.routes.extend(bound.get(id(owner), ()))
            return handler
        if owner is not None and _grpc_read(function, owner):
            handler.reason = "grpc"
            return handler
        if owner is None and self._socket_poll(function):
            handler.reason = "named"
            return handler
        return None

    def _socket_poll(self, function: cst.FunctionDef) -> bool:
        """``@socketio.on("poll_status")``: a Socket.IO event a client emits to poll, named
        like a status/progress/poll handler (the event or the function)."""
        module = self.table.module_scope
        for decorator in function.decorators:
            call = decorator.decorator
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
                continue
            if call.func.attr.value not in ("on", "event") or module is None:
                continue
            servers = [
                b.value
                for b in self.table.resolve(call.func.value, module)
                if isinstance(b.value, cst.Call) and self._qualified(b.value.func) in _web.SOCKET_SERVERS
            ]
            if not servers:
                continue
            event = literal_text(call.args[0].value) if call.args else None
            return bool(_web.NAMED_HANDLER.search(event or "") or _web.NAMED_HANDLER.search(function.name.value))
        return False

    def _reads(self, handler: Handler) -> bool:
        """Whether a GET can reach the handler: a route allows a read method (Django's
        ``path`` allows every method) and its method decorators do not forbid it."""
        if handler.allowed is not None and not _web.reads(handler.allowed):
            return False
        methods = tuple(m for route in handler.routes for m in route.methods)
        return not handler.routes or _web.ALL_METHODS[0] in methods or _web.reads(methods)

    def _decorator(self, decorator: cst.Decorator, handler: Handler) -> bool:
        """Read one decorator into ``handler``; False when it makes the function no
        handler at all (a task, a command)."""
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        func = call.func if call is not None else expr
        qualified = self._qualified(func) or ""
        last = qualified.rsplit(".", 1)[-1]
        if last in _web.NOT_HANDLER_DECORATORS and last not in ("get",):
            return False
        if isinstance(func, cst.Attribute) and call is not None:
            spec = _web.route_decorator(func.attr.value)
            if spec is not None and self._route_decorator(call, spec, decorator, handler):
                return True
        if isinstance(func, cst.Name) and call is not None and qualified.split(".", 1)[0] in _web.BARE_ROUTE_PACKAGES:
            spec = _web.route_decorator(last)
            if spec is not None and self._route_decorator(call, spec, decorator, handler):
                return True
        if qualified in _web.PYRAMID_VIEW_CONFIG and call is not None:
            route = keyword(call, "route_name")
            path = (literal_text(route.value) if route is not None else None) or handler.function.name.value
            given_arg = keyword(call, "request_method")
            given = literal_strings(given_arg.value) if given_arg is not None else None
            methods = _web.methods_in(given) if given is not None else _web.ALL_METHODS
            handler.routes.append(Route(path, methods, decorator))
            return True
        drf = _web.DRF_DECORATORS.get(last)
        if drf is not None and isinstance(func, cst.Attribute) and not qualified.startswith(_web.DRF_PACKAGE):
            drf = None  # Slack Bolt's ``@app.action(...)``: a button click, not DRF's ``@action``
        if drf is not None:
            keyword_name, default = drf
            given = None
            if call is not None:
                arg = keyword(call, keyword_name)
                args = positional(call)
                given = literal_strings(arg.value if arg else args[0].value if args else None)
            methods = _web.methods_in(given) if given is not None else default
            path = handler.function.name.value
            if call is not None and keyword(call, "url_path") is not None:
                path = literal_text(keyword(call, "url_path").value) or path  # type: ignore[union-attr]
            handler.routes.append(Route(path if last != "api_view" else NO_ROUTE, methods, decorator))
            handler.reason = "drf"
            return True
        allowed = _web.DJANGO_METHOD_DECORATORS.get(last)
        if allowed is not None:
            handler.allowed = allowed
        elif last == _web.DJANGO_METHODS_DECORATOR and call is not None and positional(call):
            given = literal_strings(positional(call)[0].value)
            handler.allowed = _web.methods_in(given) if given is not None else None
        elif call is not None and call.args:
            # A project's own method decorator (healthchecks ``@cors("POST")``, an
            # ``@allow("PUT", "DELETE")``): every argument a literal HTTP method name.
            given_methods: List[str] = []
            for arg in call.args:
                strings = literal_strings(arg.value) if arg.keyword is None else None
                if not strings or any(m.upper() not in _web.HTTP_METHODS for m in strings):
                    return True
                given_methods.extend(m.upper() for m in strings)
            handler.allowed = _web.methods_in(tuple(given_methods))
        return True

    def _route_decorator(
        self, call: cst.Call, spec: _web.RouteDecorator, decorator: cst.Decorator, handler: Handler
    ) -> bool:
        args = positional(call)
        arg = keyword(call, spec.path_keyword) or keyword(call, "path")
        methods: Optional[Tuple[str, ...]] = None
        index = spec.path_index
        if args and literal_text(args[0].value) in _web.HTTP_METHODS and len(args) > 1:
            methods = (str(literal_text(args[0].value)),)  # aiohttp ``routes.route("GET", path)``
            index = 1
        value = arg.value if arg is not None else (args[index].value if len(args) > index else None)
        if value is None:
            return False
        path = literal_text(value)
        if path is None:
            return False
        if methods is None:
            given_arg = keyword(call, spec.methods_keyword) if spec.methods_keyword else None
            given = literal_strings(given_arg.value) if given_arg is not None else None
            methods = _web.methods_in(given) if given is not None else spec.default_methods
        handler.routes.append(Route(path, methods, decorator))
        return True

    def _view_method(self, owner: cst.ClassDef, name: str) -> Optional[str]:
        """Whether ``name`` serves reads in a class-based view ``owner``."""
        bases = self._base_names(owner, 0)
        if not any(_web.VIEW_BASE.search(b) for b in bases):
            return None
        if name in _web.VIEW_READ_METHODS:
            return name
        if name in _web.VIEWSET_READ_METHODS and any(_web.VIEWSET_BASE.search(b) for b in bases):
            return name
        if name == "dispatch_request" and "MethodView" not in bases and _flask_view_reads(owner):
            return name  # Flask ``View``: one method serves every request the class allows
        return None

    def _socket_consumer(self, owner: cst.ClassDef) -> bool:
        """A Django Channels websocket consumer class (by its bases' names)."""
        return any(_web.SOCKET_CONSUMER_BASE.search(b) for b in self._base_names(owner, 0))

    def _base_names(self, owner: cst.ClassDef, depth: int) -> List[str]:
        out: List[str] = []
        for base in owner.bases:
            if base.keyword is not None:
                continue
            name = dotted_name(base.value)
            if name is None:
                continue
            out.append(name.rsplit(".", 1)[-1])
            local = self.table.class_named(name)
            if local is not None and depth < 6 and isinstance(local.node, cst.ClassDef) and local.node is not owner:
                out.extend(self._base_names(local.node, depth + 1))
        return out

    def _named(self, function: cst.FunctionDef) -> bool:
        """A status/progress/poll function that takes a request and returns a response."""
        if not _web.NAMED_HANDLER.search(function.name.value):
            return False
        params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        if not any(p in _web.REQUEST_PARAMS for p in params[:2]):
            return False
        for node in scope_nodes(function.body):
            if isinstance(node, cst.Return) and isinstance(node.value, cst.Call):
                func = node.value.func
                last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
                if isinstance(last, str) and _web.RESPONSE_CALLS.search(last):
                    return True
        return False


def _flask_view_reads(owner: cst.ClassDef) -> bool:
    """A Flask ``View`` subclass whose ``methods`` (default: GET) include a read method."""
    if not isinstance(owner.body, cst.IndentedBlock):
        return False
    for stmt in owner.body.body:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == "methods" for t in small.targets
        ):
            given = literal_strings(small.value)
            return given is not None and _web.reads(_web.methods_in(given))
    return True


def _falcon_read(function: cst.FunctionDef) -> bool:
    """``def on_get(self, req, resp, import_id)``: a Falcon resource's GET responder."""
    if function.name.value not in _web.FALCON_READ_RESPONDERS:
        return False
    names = [p.name.value for p in function.params.params[1:3]]
    requests, responses = _web.FALCON_PARAMS
    return len(names) == 2 and names[0] in requests and names[1] in responses


def _grpc_read(function: cst.FunctionDef, owner: cst.ClassDef) -> bool:
    """``def GetExportStatus(self, request, context)`` of a generated gRPC servicer's subclass."""
    if not _web.GRPC_READ_RPC.search(function.name.value):
        return False
    params = [p.name.value for p in function.params.params]
    if params[1:] != ["request", "context"]:
        return False
    return any((dotted_name(base.value) or "").endswith(_web.GRPC_SERVICER_SUFFIX) for base in owner.bases)


# -- method guards inside a handler ----------------------------------------------------------


def method_test(test: cst.BaseExpression) -> Optional[bool]:
    """For an ``if`` test on the request method: True when it holds for every read (GET,
    HEAD), False when it holds for non-read methods only, None otherwise.

    ``request.method == "POST"`` -> False; ``request.method == "GET"`` -> True;
    ``request.method != "GET"`` -> False; ``request.method != "POST"`` -> True (the guard
    ``if request.method != "POST": return 405``); ``... and request.method == "POST"`` ->
    False, ``... and request.method == "GET"`` -> None (not every read).
    ``form.validate_on_submit()`` (Flask-WTF) -> False: it holds for submissions only.
    """
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        for side in (test.left, test.right):
            if method_test(side) is False:
                return False
        return None
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and not test.args:
        return False if test.func.attr.value in _web.SUBMIT_TESTS else None
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    left = test.left
    if not (isinstance(left, cst.Attribute) and left.attr.value == "method"):
        return None
    owner = dotted_name(left.value) or ""
    if owner.rsplit(".", 1)[-1] not in _web.REQUEST_PARAMS:
        return None
    target = test.comparisons[0]
    values = literal_strings(target.comparator)
    if values is None:
        return None
    methods = {v.upper() for v in values}
    reads = bool(methods & _web.READ_METHODS)
    only_reads = methods <= _web.READ_METHODS
    operator = target.operator
    if isinstance(operator, (cst.Equal, cst.In)):
        return True if only_reads else (None if reads else False)
    if isinstance(operator, (cst.NotEqual, cst.NotIn)):
        return False if only_reads else (None if reads else True)
    return None


def read_statements(body: Sequence[cst.BaseStatement]) -> Iterator[Statement]:
    """The statements of a handler body that a GET can run, in source order: blocks
    under a non-read method test (``if request.method == "POST":``) are left out, and so
    is what follows a read-only block that always returns."""
    for stmt in body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or not isinstance(
            stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            continue
        yield stmt
        if isinstance(stmt, cst.If):
            reads = method_test(stmt.test)
            if reads is not False:
                yield from read_statements(suite_statements(stmt.body))
            orelse = stmt.orelse
            if reads is not True and orelse is not None:
                yield from read_statements([orelse] if isinstance(orelse, cst.If) else suite_statements(orelse.body))
            if reads is True and always_exits(stmt.body):
                return  # the rest of the block runs for other methods only
            continue
        for block in child_blocks(stmt):
            yield from read_statements(block)


__all__: Sequence[str] = (
    "Handler",
    "Handlers",
    "NO_ROUTE",
    "Route",
    "literal_strings",
    "literal_text",
    "method_test",
    "read_statements",
)
