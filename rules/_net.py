"""OPS5xx knowledge: network clients, their timeout parameters, which calls take a URL.

Facts come from ``shared/SDK_FACTS.md`` section 4 (read against requests 2.34,
httpx 0.28, aiohttp 3.14, urllib3 2.8, grpcio 1.85 and the CPython 3.11/3.12
standard library).  Positional indexes count the call's arguments from 0, as
written by the caller (``self`` excluded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.rule import Rule
from opslint.syntax import guard
from opslint.syntax.walk import find_all

#: What a missing or ``None`` timeout means for a call.
#: ``forever``: absent -> blocks forever (requests, urllib, stdlib sockets).
#: ``none-only``: the library has a default; only an explicit ``None`` disables it (httpx).
#: ``pool``: urllib3 pools: absent -> the pool's timeout, which defaults to forever.
FOREVER = "forever"
NONE_ONLY = "none-only"
POOL = "pool"
NEVER = "never"


@dataclass(frozen=True)
class NetCall:
    """A call that opens or uses a network connection."""

    #: How a missing/None timeout is judged (``FOREVER``, ``NONE_ONLY``, ``POOL``, ``NEVER``).
    timeout_mode: str
    #: Positional index of the timeout parameter, or None when it is keyword-only.
    timeout_pos: Optional[int] = None
    #: Positional index of the URL parameter, or None when the call takes no URL.
    url_pos: Optional[int] = None
    url_keyword: str = "url"
    #: Whether a ``params=`` keyword can carry the query (requests, httpx).
    takes_params: bool = False
    #: A client that takes no timeout at all (xmlrpc): the message and fix differ.
    no_timeout_param: bool = False
    #: Why it waits forever, for the message.
    why: str = "a stalled server blocks this call forever"
    #: Connects only when given a host (``ftplib.FTP()`` then ``connect(host, port, timeout)``).
    connects_with_host_only: bool = False
    #: Standard library and gRPC clients: in test modules they mostly talk to fakes and local servers.
    skip_in_tests: bool = False


_REQ_VERB = NetCall(FOREVER, None, 0, takes_params=True)
_REQ_REQUEST = NetCall(FOREVER, None, 1, takes_params=True)
_HTTPX_VERB = NetCall(NONE_ONLY, None, 0, takes_params=True)
_HTTPX_REQUEST = NetCall(NONE_ONLY, None, 1, takes_params=True)
_SOCKET_DEFAULT = "the global socket default timeout is None, so a stalled server blocks forever"

_HTTP_VERBS = ("get", "options", "head", "post", "put", "patch", "delete")

#: Module-level functions and constructors, by qualified name.
CALLS: Dict[str, NetCall] = {}
for _module in ("requests", "requests.api"):
    for _verb in _HTTP_VERBS:
        CALLS[f"{_module}.{_verb}"] = _REQ_VERB
    CALLS[f"{_module}.request"] = _REQ_REQUEST
for _verb in _HTTP_VERBS:
    CALLS[f"httpx.{_verb}"] = _HTTPX_VERB
CALLS["httpx.request"] = _HTTPX_REQUEST
CALLS["httpx.stream"] = _HTTPX_REQUEST
CALLS["httpx.Client"] = NetCall(NONE_ONLY)
CALLS["httpx.AsyncClient"] = NetCall(NONE_ONLY)
CALLS["urllib.request.urlopen"] = NetCall(FOREVER, 2, 0, why=_SOCKET_DEFAULT, skip_in_tests=True)
CALLS["urllib.request.Request"] = NetCall(NEVER, None, 0)
CALLS["urllib3.request"] = NetCall(FOREVER, None, 1, why=_SOCKET_DEFAULT)
CALLS["urllib3.PoolManager"] = NetCall(NONE_ONLY)
CALLS["urllib3.poolmanager.PoolManager"] = NetCall(NONE_ONLY)
CALLS["urllib3.ProxyManager"] = NetCall(NONE_ONLY)
CALLS["urllib3.HTTPConnectionPool"] = NetCall(NONE_ONLY, 2)
CALLS["urllib3.HTTPSConnectionPool"] = NetCall(NONE_ONLY, 2)
# ``aiohttp.request(..., timeout=None)`` hands None to ``ClientSession``, where it means the default.
CALLS["aiohttp.request"] = NetCall(NEVER, None, 1)
CALLS["http.client.HTTPConnection"] = NetCall(FOREVER, 2, why=_SOCKET_DEFAULT, skip_in_tests=True)
# 3.11: (host, port, key_file, cert_file, timeout, ...); 3.12: keyword-only.
CALLS["http.client.HTTPSConnection"] = NetCall(FOREVER, 4, why=_SOCKET_DEFAULT, skip_in_tests=True)
CALLS["smtplib.SMTP"] = NetCall(FOREVER, 3, why=_SOCKET_DEFAULT, skip_in_tests=True)
CALLS["smtplib.SMTP_SSL"] = NetCall(FOREVER, 5, why=_SOCKET_DEFAULT, skip_in_tests=True)
CALLS["ftplib.FTP"] = NetCall(FOREVER, 4, why=_SOCKET_DEFAULT, skip_in_tests=True, connects_with_host_only=True)
CALLS["ftplib.FTP_TLS"] = NetCall(FOREVER, 7, why=_SOCKET_DEFAULT, skip_in_tests=True, connects_with_host_only=True)
CALLS["poplib.POP3"] = NetCall(FOREVER, 2, why=_SOCKET_DEFAULT, skip_in_tests=True)
CALLS["poplib.POP3_SSL"] = NetCall(FOREVER, 4, why=_SOCKET_DEFAULT, skip_in_tests=True)
_IMAP_WHY = "its timeout defaults to None, so a stalled server blocks forever"
CALLS["imaplib.IMAP4"] = NetCall(FOREVER, 2, why=_IMAP_WHY, skip_in_tests=True)
CALLS["imaplib.IMAP4_SSL"] = NetCall(FOREVER, 5, why=_IMAP_WHY, skip_in_tests=True)
CALLS["socket.create_connection"] = NetCall(FOREVER, 1, why=_SOCKET_DEFAULT, skip_in_tests=True)
_XMLRPC = NetCall(
    FOREVER,
    no_timeout_param=True,
    skip_in_tests=True,
    why="it takes no timeout and its default transport waits forever; pass a `transport=` that sets one",
)
CALLS["xmlrpc.client.ServerProxy"] = _XMLRPC
CALLS["xmlrpc.client.Server"] = _XMLRPC

#: ``conn.settimeout(...)``/``conn.timeout = ...`` right after a connection is made bounds it.
SETS_TIMEOUT_LATER_METHODS = frozenset({"settimeout"})
SETS_TIMEOUT_LATER_ATTRS = frozenset({"timeout"})

#: ``socket.setdefaulttimeout(x)`` gives the standard library clients a timeout.
SET_DEFAULT_TIMEOUT = "socket.setdefaulttimeout"
#: The reason shared by clients that fall back to the global socket default.
SOCKET_DEFAULT_WHY = _SOCKET_DEFAULT

#: Keyword (and positional index) by which xmlrpc's ServerProxy receives a transport.
XMLRPC_TRANSPORT = ("transport", 1)

#: Timeout objects whose arguments can disable every bound:
#: qualified name -> (positional index of the main value, keyword of the main value,
#: keywords that bound a stalled read on their own).
TIMEOUT_OBJECTS: Mapping[str, Tuple[int, str, FrozenSet[str]]] = {
    "httpx.Timeout": (0, "timeout", frozenset({"read"})),
    "aiohttp.ClientTimeout": (0, "total", frozenset({"sock_read"})),
    "urllib3.Timeout": (0, "total", frozenset({"read"})),
    "urllib3.util.Timeout": (0, "total", frozenset({"read"})),
    "urllib3.util.timeout.Timeout": (0, "total", frozenset({"read"})),
}
#: Timeout objects whose main value defaults to "no bound" when not given.
TIMEOUT_OBJECT_UNBOUNDED_BY_DEFAULT = frozenset(
    {"aiohttp.ClientTimeout", "urllib3.Timeout", "urllib3.util.Timeout", "urllib3.util.timeout.Timeout"}
)


@dataclass(frozen=True)
class ClientKind:
    """A client object whose methods make network calls."""

    label: str
    methods: Mapping[str, NetCall]
    #: For ``POOL`` clients: method calls are judged only when the constructor set no timeout.
    pool: bool = False


_SESSION_METHODS: Dict[str, NetCall] = {verb: _REQ_VERB for verb in _HTTP_VERBS}
_SESSION_METHODS["request"] = NetCall(FOREVER, 8, 1, takes_params=True)
_SESSION_METHODS["send"] = NetCall(FOREVER)

_HTTPX_METHODS: Dict[str, NetCall] = {verb: _HTTPX_VERB for verb in _HTTP_VERBS}
_HTTPX_METHODS["request"] = _HTTPX_REQUEST
_HTTPX_METHODS["stream"] = _HTTPX_REQUEST

# aiohttp 3.14 (``ClientSession._request``): ``timeout=None`` on a request becomes
# ``ClientTimeout(total=None)``, no bound at all; an omitted timeout is the session's
# (300 s total by default).  ``ClientSession(timeout=None)`` means the default.
_AIOHTTP_METHODS: Dict[str, NetCall] = {verb: NetCall(NONE_ONLY, None, 0) for verb in _HTTP_VERBS}
_AIOHTTP_METHODS["request"] = NetCall(NONE_ONLY, None, 1)
_AIOHTTP_METHODS["ws_connect"] = NetCall(NEVER, None, 0)

_POOL_METHODS: Dict[str, NetCall] = {
    "request": NetCall(POOL, None, 1, why=_SOCKET_DEFAULT),
    "urlopen": NetCall(POOL, None, 1, why=_SOCKET_DEFAULT),
    "request_encode_url": NetCall(POOL, None, 1, why=_SOCKET_DEFAULT),
    "request_encode_body": NetCall(POOL, None, 1, why=_SOCKET_DEFAULT),
}

_OPENER_METHODS: Dict[str, NetCall] = {"open": NetCall(FOREVER, 2, 0, why=_SOCKET_DEFAULT, skip_in_tests=True)}

REQUESTS_SESSION = ClientKind("requests.Session", _SESSION_METHODS)
HTTPX_CLIENT = ClientKind("httpx.Client", _HTTPX_METHODS)
AIOHTTP_SESSION = ClientKind("aiohttp.ClientSession", _AIOHTTP_METHODS)
URLLIB3_POOL = ClientKind("urllib3.PoolManager", _POOL_METHODS, pool=True)
URLLIB_OPENER = ClientKind("urllib.request.OpenerDirector", _OPENER_METHODS)

#: Constructors (and type names, for annotations) -> the client kind they make.
CLIENT_TYPES: Dict[str, ClientKind] = {
    "requests.Session": REQUESTS_SESSION,
    "requests.session": REQUESTS_SESSION,
    "requests.sessions.Session": REQUESTS_SESSION,
    "requests.sessions.session": REQUESTS_SESSION,
    "httpx.Client": HTTPX_CLIENT,
    "httpx.AsyncClient": HTTPX_CLIENT,
    "aiohttp.ClientSession": AIOHTTP_SESSION,
    "aiohttp.client.ClientSession": AIOHTTP_SESSION,
    "urllib3.PoolManager": URLLIB3_POOL,
    "urllib3.poolmanager.PoolManager": URLLIB3_POOL,
    "urllib3.ProxyManager": URLLIB3_POOL,
    "urllib3.HTTPConnectionPool": URLLIB3_POOL,
    "urllib3.HTTPSConnectionPool": URLLIB3_POOL,
    "urllib3.connectionpool.HTTPConnectionPool": URLLIB3_POOL,
    "urllib3.connectionpool.HTTPSConnectionPool": URLLIB3_POOL,
    "urllib.request.build_opener": URLLIB_OPENER,
}

#: Session methods that, when reassigned on an instance, usually inject a default timeout.
SESSION_HOOK_ATTRS = frozenset({"request", "send"})
#: Test helpers that fake HTTP: a test module using one talks to no real server.
HTTP_MOCK_MODULES = (
    "responses",
    "requests_mock",
    "httpretty",
    "respx",
    "pytest_httpx",
    "aioresponses",
    "vcr",
    "betamax",
    "pytest_httpserver",
    "unittest.mock",
    "mock",
)

#: Decorators that make a method an attribute (``self.session``).
PROPERTY_DECORATORS = frozenset({"property", "cached_property", "functools.cached_property"})

#: The adapter class whose ``mount`` does not change timeouts.
PLAIN_ADAPTERS = frozenset({"requests.adapters.HTTPAdapter", "requests.HTTPAdapter"})

#: gRPC: a generated stub class lives in a ``*_pb2_grpc`` module and ends with ``Stub``.
GRPC_MODULE_SUFFIX = "_pb2_grpc"
GRPC_STUB_SUFFIX = "Stub"
#: ``stub.Method(request, timeout=None, metadata=None, ...)``: timeout is the second argument.
GRPC_CALL = NetCall(
    FOREVER, 1, why="gRPC sets no deadline by default, so a stalled server blocks forever", skip_in_tests=True
)
#: Stub methods that are usually long-lived streams (a deadline would end them): not judged.
GRPC_STREAM_WORDS = ("stream", "watch", "subscribe", "listen", "follow", "tail")
#: ``stub.Method.future(...)`` / ``.with_call(...)`` take the same arguments.
GRPC_CALL_VARIANTS = frozenset({"future", "with_call"})

#: Calls that percent-encode a query value or build an encoded query string.
ENCODERS = frozenset(
    {
        "urllib.parse.quote",
        "urllib.parse.quote_plus",
        "urllib.parse.urlencode",
        "urllib.quote",
        "urllib.quote_plus",
        "urllib.urlencode",
        "six.moves.urllib.parse.quote",
        "six.moves.urllib.parse.quote_plus",
        "six.moves.urllib.parse.urlencode",
        "requests.utils.quote",
        "requests.utils.requote_uri",
        "requests.compat.quote",
        "requests.compat.quote_plus",
        "requests.compat.urlencode",
        "django.utils.http.urlencode",
        "django.utils.http.urlquote",
        "django.utils.http.urlquote_plus",
        "werkzeug.urls.url_quote",
        "werkzeug.urls.url_quote_plus",
        "werkzeug.urls.url_encode",
        "yarl.URL",
    }
)
#: Module prefixes whose every call counts as encoding (``yarl.URL.build(query=...)``).
ENCODER_PREFIXES = ("yarl.",)

#: Calls whose result needs no encoding (numbers, booleans).
NUMERIC_CALLS = frozenset({"int", "float", "len", "round", "abs", "bool", "hash", "str"})
#: Annotations of parameters whose values need no encoding.
NUMERIC_ANNOTATIONS = frozenset({"int", "float", "bool", "uuid.UUID", "UUID"})


def render_number(value: float) -> str:
    """``10`` for 10.0, ``2.5`` for 2.5."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def is_grpc_stub_class(qualified: str) -> bool:
    """``pkg.foo_pb2_grpc.FooStub`` (the module part ends with ``_pb2_grpc``)."""
    module, _, cls = qualified.rpartition(".")
    if not cls.endswith(GRPC_STUB_SUFFIX):
        return False
    return any(part.endswith(GRPC_MODULE_SUFFIX) for part in module.split("."))


# ---------------------------------------------------------------------------
# Which client object a receiver names: shared by OPS502 and OPS503.
# ---------------------------------------------------------------------------

GRPC_STUB = ClientKind("gRPC stub", {})


@dataclass(frozen=True)
class Client:
    """A client object a name is bound to."""

    kind: ClientKind
    #: Whether the constructor set a timeout (None: unknown, e.g. a parameter).
    timeout_set: Optional[bool]
    #: The callee or type that made it, for messages (``requests.Session``).
    label: str


Resolver = Callable[[cst.BaseExpression], Optional[str]]
#: A binding key: (id of the scope node, name); for class attributes the scope is the class.
Key = Tuple[int, str]


@dataclass(frozen=True)
class Where:
    """Where an expression sits: its name scopes (module first) and method context."""

    scopes: Tuple[cst.CSTNode, ...]
    #: The class whose method encloses the expression, and that method's ``self`` name.
    cls: Optional[cst.ClassDef] = None
    self_name: Optional[str] = None
    #: The innermost function (None at module level).
    function: Optional[cst.FunctionDef] = None
    #: The class when the node sits directly in a class body.
    body_class: Optional[cst.ClassDef] = None


def where(stack: Sequence[cst.CSTNode]) -> Where:
    """Scopes and method context of the node on top of ``stack`` (the node itself excluded)."""
    scopes: List[cst.CSTNode] = []
    cls: Optional[cst.ClassDef] = None
    self_name: Optional[str] = None
    function: Optional[cst.FunctionDef] = None
    body_class: Optional[cst.ClassDef] = None
    nodes = list(stack[:-1])
    for index, node in enumerate(nodes):
        if isinstance(node, cst.Module):
            scopes.append(node)
        elif isinstance(node, cst.ClassDef):
            body_class = node
        elif isinstance(node, cst.FunctionDef):
            scopes.append(node)
            function = node
            if body_class is not None and index >= 2 and nodes[index - 2] is body_class:
                params = [*node.params.posonly_params, *node.params.params]
                cls, self_name = body_class, (params[0].name.value if params else None)
            body_class = None
    return Where(tuple(scopes), cls, self_name, function, body_class)


def dotted_text(expr: cst.BaseExpression) -> str:
    """``a.b`` for a Name/Attribute chain, else an empty string."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        head = dotted_text(expr.value)
        return f"{head}.{expr.attr.value}" if head else ""
    return ""


def annotation_names(expr: cst.BaseExpression) -> List[cst.BaseExpression]:
    """Names and attributes inside an annotation (``Optional[requests.Session]``)."""
    out: List[cst.BaseExpression] = []
    if isinstance(expr, (cst.Name, cst.Attribute)):
        out.append(expr)
    if isinstance(expr, cst.Subscript):
        for element in expr.slice:
            if isinstance(element.slice, cst.Index):
                out.extend(annotation_names(element.slice.value))
    elif isinstance(expr, cst.BinaryOperation):
        out.extend(annotation_names(expr.left))
        out.extend(annotation_names(expr.right))
    elif isinstance(expr, cst.SimpleString):
        text = expr.evaluated_value
        if isinstance(text, str):
            try:
                parsed = guard.parse_expression(text.strip())
            except Exception:  # noqa: BLE001 - any unparsable string annotation is ignored
                parsed = None
            if parsed is not None:
                out.extend(annotation_names(parsed))
    return out


@dataclass
class ClientTracker:
    """Bindings of names and ``self`` attributes to network clients, for one file.

    Rules feed it from their visits and ask it in ``leave_Module`` (bindings may
    come after a use: ``__init__`` below a method, a module global below a function).
    """

    resolve: Resolver
    #: A binding is a client, None (something else), or the name of a module-level
    #: function whose result was bound (``session = make_session()``), judged at the end.
    bindings: Dict[Key, List[Union[Client, str, None]]] = field(default_factory=dict)
    #: Sessions made safe by a custom adapter ``mount`` or a patched ``request``.
    configured: Set[Key] = field(default_factory=set)
    #: Local classes that derive from a client type without overriding its request methods.
    local_types: Dict[str, ClientKind] = field(default_factory=dict)
    _pending_hooks: List[Tuple[cst.BaseExpression, Where]] = field(default_factory=list)
    _pending_properties: List[Tuple[cst.ClassDef, cst.FunctionDef, Where]] = field(default_factory=list)
    _global_names: Dict[int, FrozenSet[str]] = field(default_factory=dict)
    #: Module-level functions by name, with their inside view (for ``make_session()``).
    functions: Dict[str, List[Tuple[cst.FunctionDef, Where]]] = field(default_factory=dict)
    _factory_memo: Dict[str, Optional[Client]] = field(default_factory=dict)
    #: Names bound to a plain ``HTTPAdapter(...)`` (mounting one adds no timeout).
    plain_adapters: Set[Key] = field(default_factory=set)
    #: Classes of the file by name (``Api.session.get`` reads a class attribute).
    classes: Dict[str, List[cst.ClassDef]] = field(default_factory=dict)

    # -- feeding ---------------------------------------------------------------

    def client_of_value(self, value: cst.BaseExpression) -> Optional[Client]:
        """The client a constructor expression makes, if any."""
        if isinstance(value, cst.Await):
            return None
        if isinstance(value, cst.BooleanOperation):
            return self.client_of_value(value.right) or self.client_of_value(value.left)
        if isinstance(value, cst.IfExp):
            return self.client_of_value(value.body) or self.client_of_value(value.orelse)
        if not isinstance(value, cst.Call):
            return None
        qualified = self.resolve(value.func)
        if qualified is None and dotted_text(value.func).count(".") >= 1:
            # ``from . import users_pb2_grpc`` outside a known package: the name is telling enough.
            text = dotted_text(value.func)
            qualified = text if is_grpc_stub_class(text) else None
        kind: Optional[ClientKind] = None
        label = qualified or ""
        if qualified is not None:
            kind = CLIENT_TYPES.get(qualified)
            if kind is None and is_grpc_stub_class(qualified):
                kind = GRPC_STUB
        elif isinstance(value.func, cst.Name) and value.func.value in self.local_types:
            kind = self.local_types[value.func.value]
            label = value.func.value
        if kind is None:
            return None
        timeout_set: Optional[bool] = False
        if any(arg.star for arg in value.args):
            timeout_set = None
        elif any(arg.keyword is not None and arg.keyword.value == "timeout" for arg in value.args):
            timeout_set = True
        elif qualified is not None and CALLS.get(qualified, NetCall(NEVER)).timeout_pos is not None:
            pos = CALLS[qualified].timeout_pos
            positional = [a for a in value.args if a.keyword is None]
            timeout_set = pos is not None and len(positional) > pos
        return Client(kind, timeout_set, label)

    def client_of_annotation(self, annotation: cst.BaseExpression) -> Optional[Client]:
        for expr in annotation_names(annotation):
            qualified = self.resolve(expr)
            if qualified is None:
                continue
            kind = CLIENT_TYPES.get(qualified)
            if kind is None and is_grpc_stub_class(qualified):
                kind = GRPC_STUB
            if kind is not None and qualified[qualified.rfind(".") + 1 :][:1].isupper():
                return Client(kind, None, qualified)
        return None

    def bind(self, target: cst.BaseExpression, client: Union[Client, str, None], at: Where) -> None:
        key = self._key(target, at, binding=True)
        if (
            key is not None
            and client is not None
            and isinstance(target, cst.Name)
            and at.function is not None
            and at.scopes
        ):
            if target.value in self._globals_of(at.function):
                key = (id(at.scopes[0]), target.value)
        if key is not None:
            self.bindings.setdefault(key, []).append(client)

    def _globals_of(self, function: cst.FunctionDef) -> FrozenSet[str]:
        cached = self._global_names.get(id(function))
        if cached is None:
            names: Set[str] = set()
            for node in find_all(function.body, cst.Global):
                names.update(item.name.value for item in node.names)
            cached = frozenset(names)
            self._global_names[id(function)] = cached
        return cached

    def on_property(self, func: cst.FunctionDef, at: Where) -> None:
        """``@property def session(self): ... return self._session``: ``self.session`` is that client.

        Module-level functions are recorded too: ``make_session()`` may return a client.
        """
        if at.body_class is None and len(at.scopes) == 1:
            self.functions.setdefault(func.name.value, []).append(
                (func, Where((*at.scopes, func), None, None, func, None))
            )
        if at.body_class is None:
            return
        names = {self.resolve(d.decorator) or dotted_text(d.decorator) for d in func.decorators}
        if not names & PROPERTY_DECORATORS:
            return
        params = [*func.params.posonly_params, *func.params.params]
        if not params:
            return
        inside = Where((*at.scopes, func), at.body_class, params[0].name.value, func, None)
        self._pending_properties.append((at.body_class, func, inside))

    def on_assign(self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression, at: Where) -> None:
        if isinstance(value, cst.Name) and value.value == "None":
            return
        if isinstance(value, cst.Call) and self.resolve(value.func) in PLAIN_ADAPTERS and at.scopes:
            # ``adapter = HTTPAdapter(max_retries=retry)``, mounted below: retries, no timeout.
            for target in targets:
                if isinstance(target, cst.Name):
                    self.plain_adapters.add((id(at.scopes[-1]), target.value))
        client: Union[Client, str, None] = self.client_of_value(value)
        if client is None and isinstance(value, (cst.Name, cst.Attribute)):
            # ``self.session = session`` where ``session: requests.Session``.
            client = self.client(value, at)
        if client is None and isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            if self.resolve(value.func) is None and value.func.value not in self.local_types:
                client = value.func.value
        for target in targets:
            if isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    self.bind(element.value, None, at)
            else:
                self.bind(target, client, at)
            if isinstance(target, cst.Attribute) and target.attr.value in SESSION_HOOK_ATTRS:
                self._pending_hooks.append((target.value, at))

    def on_annotated(self, target: cst.BaseExpression, annotation: cst.BaseExpression, at: Where) -> None:
        client = self.client_of_annotation(annotation)
        self.bind(target, client, at)

    def on_params(self, func: cst.FunctionDef, at: Where) -> None:
        """Bind a function's parameters in its own scope (``at`` is inside the function)."""
        params = func.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                every.append(star)
        for param in every:
            client = None
            if param.annotation is not None:
                client = self.client_of_annotation(param.annotation.annotation)
            self.bindings.setdefault((id(func), param.name.value), []).append(client)

    def on_class(self, node: cst.ClassDef) -> None:
        """``class ApiSession(requests.Session)`` makes sessions unless it overrides requests."""
        self.classes.setdefault(node.name.value, []).append(node)
        kinds = [CLIENT_TYPES.get(self.resolve(base.value) or "") for base in node.bases]
        kind = next((k for k in kinds if k is not None), None)
        if kind is None:
            return
        methods = {stmt.name.value for stmt in node.body.body if isinstance(stmt, cst.FunctionDef)}
        if methods & (SESSION_HOOK_ATTRS | {"_request", "__init__", "urlopen"}):
            return
        self.local_types[node.name.value] = kind

    def on_mount(self, call: cst.Call, at: Where) -> None:
        """``session.mount(prefix, Adapter(...))`` with an adapter that is not plain."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "mount" or len(call.args) < 2:
            return
        adapter = call.args[1].value
        if isinstance(adapter, cst.Call) and self.resolve(adapter.func) in PLAIN_ADAPTERS:
            return
        if isinstance(adapter, cst.Name) and any(
            (id(scope), adapter.value) in self.plain_adapters for scope in at.scopes
        ):
            return
        self._pending_hooks.append((func.value, at))

    # -- asking ----------------------------------------------------------------

    def finish(self) -> None:
        for receiver, at in self._pending_hooks:
            key = self._lookup_key(receiver, at)
            if key is not None:
                self.configured.add(key)
        self._pending_hooks.clear()
        for cls, func, inside in self._pending_properties:
            returns = [r.value for r in find_all(func.body, cst.Return)]
            values = [v for v in returns if v is not None and not (isinstance(v, cst.Name) and v.value == "None")]
            clients = [self.client_of_value(v) or self.client(v, inside) for v in values]
            if clients and all(c is not None for c in clients):
                self.bindings.setdefault((id(cls), "self." + func.name.value), []).extend(clients)
        self._pending_properties.clear()

    def client(self, receiver: cst.BaseExpression, at: Where) -> Optional[Client]:
        """The client a receiver expression names, when every binding agrees."""
        if isinstance(receiver, cst.Call):
            made = self.client_of_value(receiver)
            if made is None and isinstance(receiver.func, cst.Name) and self.resolve(receiver.func) is None:
                made = self.factory_client(receiver.func.value)
            return made
        key = self._lookup_key(receiver, at)
        if key is None or key in self.configured:
            return None
        values = [self.factory_client(v) if isinstance(v, str) else v for v in self.bindings[key]]
        clients = [v for v in values if v is not None]
        if len(clients) != len(values) or not clients:
            return None
        kinds = {c.kind.label for c in clients}
        if len(kinds) != 1:
            return None
        timeout_known = [c.timeout_set for c in clients]
        merged: Optional[bool] = False
        if any(t is None for t in timeout_known):
            merged = None
        elif any(timeout_known):
            merged = True
        return Client(clients[0].kind, merged, clients[0].label)

    def factory_client(self, name: str) -> Optional[Client]:
        """The client a module-level function returns on every path (``def make_session()``).

        None when a returned session is configured (a custom adapter, a patched
        ``request``), when any return is something else, or for recursion.
        """
        if name in self._factory_memo:
            return self._factory_memo[name]
        self._factory_memo[name] = None
        defs = self.functions.get(name)
        if not defs or len(defs) != 1:
            return None
        func, inside = defs[0]
        returns = [r.value for r in find_all(func.body, cst.Return)]
        if not returns or any(v is None for v in returns):
            return None
        found: List[Client] = []
        for value in returns:
            assert value is not None
            made = self.client_of_value(value) or self.client(value, inside)
            if made is None:
                return None
            found.append(made)
        if len({c.kind.label for c in found}) != 1:
            return None
        result = Client(
            found[0].kind,
            None if any(c.timeout_set is None for c in found) else any(c.timeout_set for c in found),
            found[0].label,
        )
        self._factory_memo[name] = result
        return result

    # -- keys --------------------------------------------------------------------

    def _key(self, target: cst.BaseExpression, at: Where, *, binding: bool) -> Optional[Key]:
        if isinstance(target, cst.Name) and binding and at.body_class is not None:
            return (id(at.body_class), "self." + target.value)
        if isinstance(target, cst.Name):
            scope = at.scopes[-1] if at.scopes else None
            return (id(scope), target.value) if scope is not None else None
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and at.cls is not None
            and target.value.value == at.self_name
        ):
            return (id(at.cls), "self." + target.attr.value)
        if not binding and isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            named = self.classes.get(target.value.value)
            if named is not None and len(named) == 1:
                return (id(named[0]), "self." + target.attr.value)
        return None

    def _lookup_key(self, receiver: cst.BaseExpression, at: Where) -> Optional[Key]:
        if isinstance(receiver, cst.Name):
            for scope in reversed(at.scopes):
                key = (id(scope), receiver.value)
                if key in self.bindings:
                    return key
            return None
        found = self._key(receiver, at, binding=False)
        if found is not None and found in self.bindings:
            return found
        if found is not None and isinstance(receiver, cst.Attribute) and at.cls is not None:
            # ``self.session`` set in the ``__init__`` of a base class defined in this file.
            return self._inherited_key(at.cls, found[1], depth=0)
        return None

    def _inherited_key(self, cls: cst.ClassDef, attr: str, depth: int) -> Optional[Key]:
        if depth > 5:
            return None
        for base in cls.bases:
            if not isinstance(base.value, cst.Name):
                continue
            named = self.classes.get(base.value.value)
            if named is None or len(named) != 1:
                continue
            key = (id(named[0]), attr)
            if key in self.bindings:
                return key
            deeper = self._inherited_key(named[0], attr, depth + 1)
            if deeper is not None:
                return deeper
        return None


Number = Union[int, float]


class ClientRule(Rule):
    """Base of the rules that follow network clients through bindings (OPS502, OPS503).

    Feeds a ``ClientTracker`` from the one traversal: classes, parameters and
    properties, assignments (annotated or not) and ``with ... as`` targets.
    Subclasses add their own visits and ask ``self.tracker`` in ``leave_Module``.
    """

    def __init__(self, ctx: object, options: object) -> None:
        super().__init__(ctx, options)  # type: ignore[arg-type]
        self.tracker = ClientTracker(self.qualified_name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.tracker.on_class(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        at = where(self.stack)
        self.tracker.on_params(node, at)
        self.tracker.on_property(node, at)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.tracker.on_assign([t.target for t in node.targets], node.value, where(self.stack))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        at = where(self.stack)
        if node.value is not None and self.tracker.client_of_value(node.value) is not None:
            self.tracker.on_assign([node.target], node.value, at)
        else:
            self.tracker.on_annotated(node.target, node.annotation.annotation, at)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self.tracker.bind(node.asname.name, self.tracker.client_of_value(node.item), where(self.stack))
