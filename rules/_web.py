"""Knowledge of web request handlers: which decorators and registrations bind a function
to an HTTP route, with which methods, in Flask, Quart, FastAPI, Starlette, Django, DRF,
aiohttp, Sanic, Falcon and tornado.  Data and pure functions on names only;
``rules/_handlers.py`` reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Mapping, Optional, Tuple

#: FastAPI's dependency marker: ``Depends(f)`` runs ``f`` on every request of the handler.
FASTAPI_DEPENDS: FrozenSet[str] = frozenset(
    {"fastapi.Depends", "fastapi.params.Depends", "fastapi.param_functions.Depends", "fastapi.Security"}
)

#: Every HTTP method a route may declare (upper case).
HTTP_METHODS: FrozenSet[str] = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Methods that only read (RFC 9110 "safe" methods): a handler reached by one of these
#: is a read handler.
READ_METHODS: FrozenSet[str] = frozenset({"GET", "HEAD"})
ALL_METHODS: Tuple[str, ...] = ("*",)
#: Form methods true only for a submitted (non-read) request: Flask-WTF's
#: ``form.validate_on_submit()`` and ``form.is_submitted()`` check the method is
#: POST, PUT, PATCH or DELETE first.
SUBMIT_TESTS: FrozenSet[str] = frozenset({"validate_on_submit", "is_submitted"})


@dataclass(frozen=True)
class RouteDecorator:
    """``@<receiver>.<method>(...)`` binding the decorated function to a route."""

    #: Methods when the decorator says none (``@app.route`` -> GET).
    default_methods: Tuple[str, ...]
    #: Where the path is: positional index and keyword.
    path_index: int = 0
    path_keyword: str = "path"
    #: Keyword holding the methods ("" when the decorator name is the method).
    methods_keyword: str = "methods"


#: Decorator method names on any receiver (``app``, ``bp``, ``router``, ``routes``).
ROUTE_DECORATORS: Mapping[str, RouteDecorator] = {
    # Flask/Quart/Sanic ``route`` (default GET), FastAPI ``api_route`` (default GET).
    "route": RouteDecorator(("GET",), path_keyword="rule"),
    "api_route": RouteDecorator(("GET",)),
    "get": RouteDecorator(("GET",), methods_keyword=""),
    "head": RouteDecorator(("HEAD",), methods_keyword=""),
    "post": RouteDecorator(("POST",), methods_keyword=""),
    "put": RouteDecorator(("PUT",), methods_keyword=""),
    "patch": RouteDecorator(("PATCH",), methods_keyword=""),
    "delete": RouteDecorator(("DELETE",), methods_keyword=""),
    "options": RouteDecorator(("OPTIONS",), methods_keyword=""),
}

#: Packages whose route decorators are module functions imported by name
#: (``from litestar import get`` then ``@get("/jobs/{id:int}")``).
BARE_ROUTE_PACKAGES: Tuple[str, ...] = ("litestar", "starlite", "blacksheep")

#: DRF decorators (qualified or by last name) -> (methods keyword or positional, default methods).
#: ``@api_view()`` defaults to GET; ``@action`` defaults to ``["get"]``.
DRF_DECORATORS: Mapping[str, Tuple[str, Tuple[str, ...]]] = {
    "api_view": ("http_method_names", ("GET",)),
    "action": ("methods", ("GET",)),
    "detail_route": ("methods", ("GET",)),
    "list_route": ("methods", ("GET",)),
}
#: Where DRF's decorators live: ``@decorators.action`` is DRF's, ``@app.action`` is not.
DRF_PACKAGE = "rest_framework."
#: Django's method decorators (``django.views.decorators.http``) -> methods allowed.
DJANGO_METHOD_DECORATORS: Mapping[str, Tuple[str, ...]] = {
    "require_GET": ("GET",),
    "require_safe": ("GET", "HEAD"),
    "require_POST": ("POST",),
}
#: ``require_http_methods([...])``: the allowed methods are its first argument.
DJANGO_METHODS_DECORATOR = "require_http_methods"


@dataclass(frozen=True)
class Registration:
    """A call that binds a view to a route: where its path, view and methods are."""

    path_index: int
    path_keyword: str
    view_index: int
    view_keyword: str
    methods_keyword: str
    default_methods: Tuple[str, ...]
    #: The call's name must resolve to one of these (empty: any receiver's method).
    qualified: FrozenSet[str] = frozenset()


REGISTRATIONS: Mapping[str, Registration] = {
    # Flask/Quart ``app.add_url_rule(rule, endpoint=None, view_func=None, methods=...)``.
    "add_url_rule": Registration(0, "rule", 2, "view_func", "methods", ("GET",)),
    # flask-restful / flask-restx ``api.add_resource(Resource, *urls, endpoint=None)``: the
    # class's methods serve the verbs they are named after.
    "add_resource": Registration(1, "urls", 0, "resource", "", ALL_METHODS),
    # aiohttp ``app.router.add_get(path, handler)`` & co.
    "add_get": Registration(0, "path", 1, "handler", "", ("GET",)),
    "add_head": Registration(0, "path", 1, "handler", "", ("HEAD",)),
    "add_post": Registration(0, "path", 1, "handler", "", ("POST",)),
    "add_put": Registration(0, "path", 1, "handler", "", ("PUT",)),
    "add_patch": Registration(0, "path", 1, "handler", "", ("PATCH",)),
    "add_delete": Registration(0, "path", 1, "handler", "", ("DELETE",)),
    # aiohttp ``app.router.add_view(path, View)``: the class's methods serve their verbs.
    "add_view": Registration(0, "path", 1, "handler", "", ALL_METHODS),
    # FastAPI/Starlette ``add_api_route(path, endpoint, methods=...)``, ``add_route(path, endpoint, methods=...)``
    # (aiohttp's ``add_route(method, path, handler)`` is told apart by its first argument).
    "add_api_route": Registration(0, "path", 1, "endpoint", "methods", ("GET",)),
    "add_route": Registration(0, "path", 1, "endpoint", "methods", ("GET",)),
    # Starlette ``Route(path, endpoint, methods=None)``: a function endpoint serves GET/HEAD.
    "Route": Registration(
        0, "path", 1, "endpoint", "methods", ("GET",), frozenset({"starlette.routing.Route", "Route"})
    ),
    # aiohttp ``web.get(path, handler)`` in ``app.add_routes([...])``.
    "aiohttp.web.get": Registration(0, "path", 1, "handler", "", ("GET",), frozenset({"aiohttp.web.get"})),
    "aiohttp.web.post": Registration(0, "path", 1, "handler", "", ("POST",), frozenset({"aiohttp.web.post"})),
    # Django ``path(route, view)``, ``re_path``, the old ``url``: every method reaches the view.
    "path": Registration(0, "route", 1, "view", "", ALL_METHODS, frozenset({"django.urls.path"})),
    "re_path": Registration(0, "route", 1, "view", "", ALL_METHODS, frozenset({"django.urls.re_path"})),
    "url": Registration(
        0, "regex", 1, "view", "", ALL_METHODS, frozenset({"django.conf.urls.url", "django.urls.re_path"})
    ),
}
#: Pyramid ``config.add_view(view, route_name=..., request_method=...)`` (told apart from
#: aiohttp's ``add_view(path, View)`` by a first argument that is no string): without
#: ``request_method`` every method reaches the view.
PYRAMID_ADD_VIEW = Registration(99, "route_name", 0, "view", "request_method", ALL_METHODS)
#: Pyramid's ``@view_config(route_name=..., request_method=...)`` (the same defaults).
PYRAMID_VIEW_CONFIG: FrozenSet[str] = frozenset({"pyramid.view.view_config"})

#: Registrations whose name must resolve to a qualified name (not any ``.path``).
QUALIFIED_ONLY: FrozenSet[str] = frozenset({"Route", "path", "re_path", "url", "aiohttp.web.get", "aiohttp.web.post"})

#: Class-based views by the last name of a base class (Django, DRF, Flask ``MethodView``,
#: Starlette ``HTTPEndpoint``, aiohttp ``web.View``, tornado, Flask-RESTful, Sanic).
VIEW_BASE = re.compile(
    r"(?:^|[a-z0-9_])(?:View|ViewSet|APIView|MethodView|HTTPEndpoint|RequestHandler|Resource|HTTPMethodView)$"
)
#: Methods of a class-based view that serve a read: ``get``, DRF viewset ``list``/``retrieve``
#: (on ``*ViewSet`` bases only), Falcon ``on_get``.
VIEW_READ_METHODS: FrozenSet[str] = frozenset({"get", "head", "on_get"})
VIEWSET_READ_METHODS: FrozenSet[str] = frozenset({"list", "retrieve"})
VIEWSET_BASE = re.compile(r"ViewSet(?:Mixin)?$")

#: Falcon responders: ``on_get(self, req, resp, ...)`` of any resource class (Falcon
#: resources need no base class); the request and response parameter names.
FALCON_READ_RESPONDERS: FrozenSet[str] = frozenset({"on_get", "on_head"})
FALCON_PARAMS: Tuple[FrozenSet[str], FrozenSet[str]] = (
    frozenset({"req", "request"}),
    frozenset({"resp", "response", "res"}),
)

#: Django Channels consumers (``AsyncJsonWebsocketConsumer``...): a method named like a
#: status/progress/poll handler answers what the client sends over the socket.
SOCKET_CONSUMER_BASE = re.compile(r"(?:Websocket|WebSocket)Consumer$")

#: A handler named like a status/progress endpoint or a poll (``import_status``, ``poll_job``).
NAMED_HANDLER = re.compile(r"(?:^|_)(?:status|progress)(?:_|$)|^_*poll")
#: gRPC: a servicer class (``export_pb2_grpc.ExportServiceServicer``, generated by
#: grpcio-tools) serves its RPCs as ``Method(self, request, context)``; the read RPCs
#: (``GetExportStatus``, ``ListJobs``, ``PollExport``) are what a client polls.
GRPC_SERVICER_SUFFIX = "Servicer"
GRPC_READ_RPC = re.compile(r"^(?:Get|List|Poll|Check|Describe|Fetch)[A-Z0-9_]|Status|Progress")
#: Socket.IO servers: their ``@server.on("event")`` handlers answer what clients emit.
SOCKET_SERVERS: FrozenSet[str] = frozenset({"flask_socketio.SocketIO", "socketio.Server", "socketio.AsyncServer"})
#: Parameter names of a request object.
REQUEST_PARAMS: FrozenSet[str] = frozenset({"request", "req"})
#: What a handler returns to serve a client (last name of the call).
RESPONSE_CALLS = re.compile(
    r"Response$|^jsonify$|^render(?:_template)?$|^redirect$|^json_response$|^make_response$|^render_to_response$"
)
#: Messages shown to the user of a request (Django's message framework, Flask's
#: ``flash``): telling them what happened, not work done.
USER_NOTIFICATIONS: FrozenSet[str] = frozenset(
    {
        *(f"django.contrib.messages.{level}" for level in ("debug", "info", "success", "warning", "error")),
        "django.contrib.messages.add_message",
        "flask.flash",
    }
)
#: Decorators that make a function something else than a request handler (tasks,
#: commands, scheduled jobs), by last name.
NOT_HANDLER_DECORATORS: FrozenSet[str] = frozenset(
    {"task", "shared_task", "actor", "job", "periodic_task", "command", "group", "scheduled_job", "cron"}
)


def methods_in(values: Tuple[str, ...]) -> Tuple[str, ...]:
    """Upper-cased HTTP methods of a literal list (``["get"]`` -> ``("GET",)``)."""
    return tuple(v.upper() for v in values if v.upper() in HTTP_METHODS)


def reads(methods: Tuple[str, ...]) -> bool:
    """Whether a route with these methods serves reads (``*``: every method)."""
    return methods == ALL_METHODS or any(m in READ_METHODS for m in methods)


def route_decorator(name: str) -> Optional[RouteDecorator]:
    return ROUTE_DECORATORS.get(name)
