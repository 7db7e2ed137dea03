"""OPS5xx knowledge: network clients, their timeout parameters, which calls take a URL.

Facts come from ``shared/SDK_FACTS.md`` section 4 (read against requests 2.34,
httpx 0.28, aiohttp 3.14, urllib3 2.8, grpcio 1.85 and the CPython 3.11/3.12
standard library).  Positional indexes count the call's arguments from 0, as
written by the caller (``self`` excluded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

import libcst as cst

from opslint.syntax import guard

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
    #: For such a call, what to use instead (xmlrpc's own advice, its ``transport=``, is built
    #: by the rule).
    advice: str = ""
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
#: Why a call waits forever when only the socket default bounds it (``socket.setdefaulttimeout``).
SOCKET_DEFAULT_WHY = _SOCKET_DEFAULT

_HTTP_VERBS = ("get", "options", "head", "post", "put", "patch", "delete")
#: Methods of an HTTP client object that send a request.
REQUEST_METHODS = frozenset({*_HTTP_VERBS, "request", "stream", "send"})

#: Module-level functions and constructors, by qualified name.
CALLS: Dict[str, NetCall] = {}
# tornado's request object carries the URL it is built with (its timeouts default to 20 s).
CALLS["tornado.httpclient.HTTPRequest"] = NetCall(NEVER, None, 0)
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
# Request objects sent later (``session.send(req.prepare())``, ``client.send(req)``): they
# carry the URL (and ``params=``) but never wait themselves.
CALLS["requests.Request"] = NetCall(NEVER, None, 1, takes_params=True)
CALLS["requests.models.Request"] = NetCall(NEVER, None, 1, takes_params=True)
CALLS["httpx.Request"] = NetCall(NEVER, None, 1, takes_params=True)
# ``urlretrieve(url, filename)`` takes no timeout: only the global socket default bounds it.
CALLS["urllib.request.urlretrieve"] = NetCall(
    FOREVER,
    None,
    0,
    no_timeout_param=True,
    why=_SOCKET_DEFAULT,
    skip_in_tests=True,
    advice=(
        "Download with `urllib.request.urlopen(url, timeout=...)` and `shutil.copyfileobj`, "
        "or set `socket.setdefaulttimeout(...)` at start-up"
    ),
)
CALLS["urllib3.request"] = NetCall(FOREVER, None, 1, why=_SOCKET_DEFAULT)
CALLS["urllib3.PoolManager"] = NetCall(NONE_ONLY)
CALLS["urllib3.poolmanager.PoolManager"] = NetCall(NONE_ONLY)
CALLS["urllib3.ProxyManager"] = NetCall(NONE_ONLY)
CALLS["urllib3.HTTPConnectionPool"] = NetCall(NONE_ONLY, 2)
CALLS["urllib3.HTTPSConnectionPool"] = NetCall(NONE_ONLY, 2)
# ``connection_from_url(url, **kw)``: an HTTP(S)ConnectionPool for the URL's host.
CALLS["urllib3.connection_from_url"] = NetCall(NONE_ONLY)
CALLS["urllib3.connectionpool.connection_from_url"] = NetCall(NONE_ONLY)
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


def xmlrpc_transport_given(call: cst.Call) -> bool:
    """``ServerProxy(url, transport=...)`` (or the transport passed positionally): a custom
    transport, which may set a timeout."""
    name, pos = XMLRPC_TRANSPORT
    return any(a.keyword is not None and a.keyword.value == name for a in call.args) or (
        len([a for a in call.args if a.keyword is None]) > pos
    )


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
#: Keywords of a timeout object's connect phase, which adds to its read phase.
CONNECT_PHASES = frozenset({"connect", "sock_connect"})
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
# ``client.build_request("GET", url, params=...)`` then ``client.send(request)``: the URL is built here.
_HTTPX_METHODS["build_request"] = NetCall(NEVER, None, 1, takes_params=True)

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

# tornado 6: ``fetch(request, raise_error=True, **kwargs)`` takes a URL (or an
# ``HTTPRequest``); ``connect_timeout``/``request_timeout`` default to 20 s each.
_TORNADO_METHODS: Dict[str, NetCall] = {"fetch": NetCall(NEVER, None, 0, url_keyword="request")}

REQUESTS_SESSION = ClientKind("requests.Session", _SESSION_METHODS)
TORNADO_CLIENT = ClientKind("tornado.httpclient.AsyncHTTPClient", _TORNADO_METHODS)
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
    # requests-oauthlib: ``requests.Session`` subclasses that sign each request
    "requests_oauthlib.OAuth2Session": REQUESTS_SESSION,
    "requests_oauthlib.OAuth1Session": REQUESTS_SESSION,
    "requests_oauthlib.oauth2_session.OAuth2Session": REQUESTS_SESSION,
    # requests-cache: a ``requests.Session`` subclass (its misses go to the network)
    "requests_cache.CachedSession": REQUESTS_SESSION,
    "requests_cache.session.CachedSession": REQUESTS_SESSION,
    # requests-toolbelt: a ``requests.Session`` that joins paths onto ``base_url``
    "requests_toolbelt.sessions.BaseUrlSession": REQUESTS_SESSION,
    "requests_toolbelt.BaseUrlSession": REQUESTS_SESSION,
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
    "urllib3.connection_from_url": URLLIB3_POOL,
    "urllib3.connectionpool.connection_from_url": URLLIB3_POOL,
    "urllib.request.build_opener": URLLIB_OPENER,
    "tornado.httpclient.AsyncHTTPClient": TORNADO_CLIENT,
    "tornado.httpclient.HTTPClient": TORNADO_CLIENT,
}

#: URL objects built from a string that keep its query as written (httpx, yarl).
URL_OBJECTS = frozenset({"httpx.URL", "yarl.URL", "aiohttp.client.URL"})

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

#: Context managers that cancel what runs inside them after a deadline (``async with
#: asyncio.timeout(10):``): a call inside is bounded whatever its own timeout.
DEADLINE_SCOPES = frozenset(
    {
        "asyncio.timeout",
        "asyncio.timeout_at",
        "async_timeout.timeout",
        "anyio.fail_after",
        "anyio.move_on_after",
        "trio.fail_after",
        "trio.move_on_after",
    }
)
#: Calls that bound the awaitable they are handed (``asyncio.wait_for(call, timeout=5)``).
DEADLINE_WRAPPERS = frozenset({"asyncio.wait_for", "asyncio.tasks.wait_for"})

#: Calls whose result needs no encoding (numbers, booleans).
NUMERIC_CALLS = frozenset({"int", "float", "len", "round", "abs", "bool", "hash", "str"})
#: Annotations of parameters whose values need no encoding.
NUMERIC_ANNOTATIONS = frozenset({"int", "float", "bool", "uuid.UUID", "UUID"})
#: Calls whose text is digits, hex, dashes or URL-safe base64 (``2024-05-01``, ``9f86d0``):
#: nothing in it needs percent-encoding. (Not ``datetime.now()``: its text has a space;
#: not ``isoformat()``: a UTC offset has a ``+``.)
SAFE_TEXT_CALLS = frozenset(
    {
        "secrets.token_hex",
        "secrets.token_urlsafe",
        "uuid.uuid1",
        "uuid.uuid4",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "datetime.date.today",
        "os.getpid",
    }
)
#: Methods whose result is such text (``hashlib.sha256(...).hexdigest()``).
SAFE_TEXT_METHODS = frozenset({"hexdigest", "hex"})
#: Characters a value may hold and still need no encoding in a query.
SAFE_QUERY_TEXT = re.compile(r"^[A-Za-z0-9_.~,:/-]*$")
#: ``strftime`` formats whose output is such text: digits, names of months and days.
SAFE_STRFTIME = re.compile(r"^(?:%[YmdHMSjyfbBaAGVuUWwp]|[A-Za-z0-9_.~,:/-])*$")


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
# Client objects (which names hold one: ``_net_clients.py``).
# ---------------------------------------------------------------------------

GRPC_STUB = ClientKind("gRPC stub", {})
#: An xmlrpc ``ServerProxy``: every public method is a remote call with no timeout of its own
#: (only the global socket default, or a ``transport=`` that sets one, bounds it).
XMLRPC_PROXY = ClientKind("xmlrpc ServerProxy", {})
XMLRPC_PROXIES = frozenset({"xmlrpc.client.ServerProxy", "xmlrpc.client.Server"})


@dataclass(frozen=True)
class Client:
    """A client object a name is bound to."""

    kind: ClientKind
    #: Whether the constructor set a timeout (None: unknown, e.g. a parameter).
    timeout_set: Optional[bool]
    #: The callee or type that made it, for messages (``requests.Session``).
    label: str


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


#: A line that marks a lint-rule test case (semgrep's ``# ruleid: <id>`` / ``# ok: <id>``).
_RULE_TEST_MARKER = re.compile(r"^\s*#\s*(?:ruleid|ok|todoruleid|todook|deepruleid|deepok):\s*\S", re.M)


#: A Django migration (``class Migration(migrations.Migration)``) or an Alembic revision.
_MIGRATION_MARKER = re.compile(r"^class Migration\(\s*migrations\.Migration\s*\)|^down_revision\s*[:=]", re.M)


def frozen_history(path: str, text: str) -> bool:
    """A schema migration (Django ``migrations/``, Alembic ``versions/``): a snapshot of the
    models as they were, written once and never configured; the literals it records
    (a field's default, a block's preview value) are reported in the live code, if anywhere."""
    parts = path.replace("\\", "/").split("/")[:-1]
    return ("migrations" in parts or "versions" in parts) and bool(_MIGRATION_MARKER.search(text))


def lint_rule_fixture(path: str, text: str) -> bool:
    """Test data of a lint rule (a semgrep rule's ``.py`` next to its YAML, anything under
    ``.semgrep/``): code that is matched by a linter, never run; test data like ``tests/``."""
    parts = path.replace("\\", "/").split("/")
    return ".semgrep" in parts[:-1] or bool(_RULE_TEST_MARKER.search(text))


# ---------------------------------------------------------------------------
# Time budgets (OPS601): how long a call may wait, in seconds.  Pure data and
# functions over the tables above; the timeout semantics stay the ones above.
# ---------------------------------------------------------------------------

#: The bound a library applies when a call gives no timeout, for the ``NONE_ONLY``
#: libraries (shared/SDK_FACTS.md section 4): httpx ``Timeout(5.0)`` per phase; aiohttp
#: ``ClientTimeout(total=300)``.  ``FOREVER`` libraries have no bound; ``POOL`` clients
#: inherit the pool's, which defaults to none.
DEFAULT_TIMEOUT_SECONDS: Mapping[str, float] = {"httpx": 5.0, "aiohttp": 300.0}
#: Libraries whose client's ``timeout=`` applies to each of its requests (``requests``
#: sessions take none).
CLIENT_WIDE_TIMEOUTS = frozenset({"httpx", "aiohttp"})
#: How that default is named in a message.
DEFAULT_TIMEOUT_LABELS: Mapping[str, str] = {
    "httpx": "httpx default Timeout(5.0)",
    "aiohttp": "aiohttp default ClientTimeout total",
}


def library_of(name: str) -> str:
    """``httpx`` for ``httpx.Client``/``httpx.post``, ``requests`` for ``requests.Session``."""
    return name.split(".", 1)[0]


def makes_request(qualified: str) -> bool:
    """Whether a module-level call in ``CALLS`` sends a request (takes a URL and may
    wait on a server), as opposed to building a client or a request object."""
    if qualified == "aiohttp.request":  # ``NEVER`` above only because None means the default
        return True
    net = CALLS.get(qualified)
    return net is not None and net.url_pos is not None and net.timeout_mode != NEVER


def timeout_argument(call: cst.Call, net: NetCall) -> Optional[cst.Arg]:
    """The argument that sets ``call``'s timeout (its keyword, or the position ``net`` gives)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "timeout":
            return arg
    if net.timeout_pos is not None:
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        if len(positional) > net.timeout_pos:
            return positional[net.timeout_pos]
    return None


#: Calls that hand back the object they are given (``closing(requests.Session())``,
#: ``stack.enter_context(httpx.Client())``): what they return is that object.
PASS_THROUGH_CALLS = frozenset({"contextlib.closing", "contextlib.nullcontext"})
PASS_THROUGH_METHODS = frozenset({"enter_context", "enter_async_context"})
