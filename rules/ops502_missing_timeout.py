"""OPS502 missing-timeout: a network call that can wait forever."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.analysis.scopes import BindingKind, BindingTable, Scope
from opslint.config import option
from opslint.rule import PendingFix, Rule, keyword
from opslint.rules import _net
from opslint.rules._net import CALLS, NetCall
from opslint.rules._net_clients import NetClients, enclosing_function, factory_facts, project_client, project_object
from opslint.syntax.walk import find_all, iter_nodes

if TYPE_CHECKING:
    from opslint.context import FileContext

#: Top-level packages whose calls OPS502 knows (``requests``, ``urllib``, ``http``...).
_NETWORK_ROOTS = frozenset(name.split(".")[0] for name in CALLS)
_SETS_TIMEOUT_TEXT = re.compile(r"\.(?:settimeout\s*\(|timeout\s*=[^=])")

#: Timeout states of one call.
MISSING = "missing"
NONE = "none"
NONE_NAME = "none-name"
OK = "ok"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class _TimeoutState:
    state: str
    #: The ``None`` (or name bound to None) to replace, when the state is NONE/NONE_NAME.
    node: Optional[cst.BaseExpression] = None
    #: The argument reported for NONE states (ruff reports ``timeout=None`` at the keyword).
    arg: Optional[cst.Arg] = None
    #: ``**{...}`` literals that lack ``timeout``: no keyword can be added safely.
    via_literal_kwargs: bool = False
    #: The name holds requests' ``(connect, None)``: only the read is unbounded.
    read_only: bool = False


@dataclass
class _Guard:
    """What may show that a call omits its timeout on purpose (judged lazily)."""

    function: Optional[cst.FunctionDef]
    #: Tests of the ``if``s around the call.
    tests: Tuple[cst.BaseExpression, ...]
    #: ``conn.timeout = ...`` / ``sock.settimeout(...)`` follows the call.
    later: bool = False


def _mentions_timeout(test: cst.BaseExpression) -> bool:
    for node in find_all(test, (cst.Name, cst.Attribute)):
        name = node.value if isinstance(node, cst.Name) else node.attr.value if isinstance(node, cst.Attribute) else ""
        if isinstance(name, str) and "timeout" in name.lower():
            return True
    return False


def _net_is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


class MissingTimeout(Rule):
    """A network call that can wait forever.

    ## What it does
    Checks for network calls that have no timeout, or whose timeout is
    disabled: `requests` functions and `requests.Session` methods (also
    requests-cache's `CachedSession`; sessions stored in locals, module globals,
    `self` attributes, `with` blocks or annotated parameters) and
    `urllib.request.urlopen` without `timeout`; `urllib.request.urlretrieve`,
    which takes none; `timeout=None` on httpx calls and clients (a client whose
    every request passes its own `timeout=` is fine) and on aiohttp requests,
    `httpx.Timeout(None)`,
    `aiohttp.ClientTimeout` without a total or read bound, urllib3 pools and
    requests without a timeout; `http.client`, `smtplib`, `ftplib`, `poplib`,
    `imaplib` and `socket.create_connection` without timeout;
    `xmlrpc.client.ServerProxy` without a transport; and calls on gRPC stubs
    (`*_pb2_grpc.*Stub(channel)`) without a deadline.

    The client is followed through imports from other modules of the project
    (a module re-exported under another name, a session returned by a project
    factory), `functools.partial(requests.post, ...)`, a module kept on a
    class (`http = requests`), and `**kwargs` dicts built in the same file
    and never changed. A request function handed to an executor is called
    without a timeout too: `ex.map(requests.get, urls)`, the builtin
    `map(requests.get, urls)`, and
    `pool.submit(requests.post, url)` or `asyncio.to_thread(requests.get, url)`
    unless they forward a `timeout=`. A call that passes any other `**kwargs` is not
    reported (the dict may carry the timeout), nor is a timeout read from
    configuration, a call in a branch
    that tests a timeout (`if timeout is None: ...`), a connection whose
    `settimeout()`/`.timeout` is set right after, or a standard library client
    in a program that calls `socket.setdefaulttimeout()`. In test modules the
    standard library and gRPC clients (fakes and local servers) and modules
    that fake HTTP (`responses`, `requests_mock`, `unittest.mock`...) are not
    reported. gRPC server streams (`for reply in stub.Watch(...)`) are meant to
    stay open and are not reported. Lint-rule test data (`.semgrep/`, files
    marked `# ruleid:`) is never run and not reported. For aiohttp, `timeout=None` on a request
    disables every bound (aiohttp 3.14 read), while `ClientSession(timeout=None)`
    means the default (300 s) and is not reported.

    ## Why it matters
    `requests` and the standard library have no default timeout: the socket
    waits forever on a server that accepts the connection and never answers.
    In incident 004 an OAuth token fetch without a usable timeout stalled a
    Kafka consumer until it was evicted from its group; in incident 003 blocked
    provider calls hung instead of failing fast.

    ## Example
    ```python
    import requests

    def fetch_rates(base_url):
        return requests.get(f"{base_url}/rates").json()
    ```

    ## Use instead
    ```python
    import requests

    def fetch_rates(base_url):
        return requests.get(f"{base_url}/rates", timeout=10).json()
    ```

    ## Fix safety
    The fix adds `timeout=<default-timeout>` (or replaces `None` with it). It
    is unsafe: a slow but legitimate call (a large upload, a long poll) can now
    fail with a timeout error, so choose the value per call. No fix is offered
    where a keyword cannot be added (`xmlrpc.client.ServerProxy`, which needs a
    `Transport` that sets one, or a `**{...}` dict): a suggestion explains what
    to do instead.

    ## Options
    - `default-timeout` (float, default `10`): the timeout in seconds the fix inserts
      (more than 0, at most 86400).

    ## See also
    ruff `S113` (request-without-timeout) checks only the module-level
    `requests.*` functions (absent or literal `None` timeout) and `httpx.*` calls
    with a literal `timeout=None`; it does not follow sessions, `urllib`,
    `urllib3`, `aiohttp`, the standard library clients or gRPC, it reports
    `requests.get(url, **kw)` even when `kw` carries a timeout, and offers no
    fix. Every S113 finding (except that `**kw` case, and test modules that fake
    HTTP) is also an OPS502 finding, so enabling both only duplicates those
    lines. pylint `W3101` (missing-timeout) checks, by inference, the calls
    named in its `timeout-methods` option (by default the `requests.api`
    functions, which `requests.get` is): not session methods, urllib, the
    standard library clients, httpx, aiohttp or gRPC, and it has no fix.
    """

    code = "OPS502"
    name = "missing-timeout"
    message = "{callee} {problem}: {why}"
    tokens = (
        "requests",
        "urllib",
        "httpx",
        "aiohttp",
        "http.client",
        "HTTPConnection",
        "HTTPSConnection",
        "smtplib",
        "ftplib",
        "poplib",
        "imaplib",
        "create_connection",
        "xmlrpc",
        "_pb2_grpc",
    )
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        #: Seconds, more than 0 and at most a day (the fix writes it into the code).
        default_timeout: float = option(10.0, gt=0, le=86400)

    requires = (BindingTable, NetClients)
    #: The project index follows a network module re-exported by another module of the
    #: project, and the sessions that project factories return.
    needs_project = True
    project_tokens = ("requests", "httpx", "aiohttp", "urllib3", "_pb2_grpc")

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return factory_facts(module, info.package)

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        """Files that reach the network only through another module of the project: a
        re-exported module (``from mytool.netcompat import http_client``) or a factory."""
        name = project.module_of(path)
        summary = project.summary(name) if name is not None else None
        if summary is None:
            return False
        facts = _factories(project)
        for target in summary.aliases.values():
            canonical = project.canonical(target)
            if canonical.split(".")[0] in _NETWORK_ROOTS and canonical.split(".")[0] != target.split(".")[0]:
                return True
            if project_client(facts, canonical) is not None or project_object(facts, canonical) is not None:
                return True
            if any(n.split(".")[0] in _NETWORK_ROOTS for n in _alias_names(project, canonical)):
                return True  # ``from app.deps import HttpSession`` (an alias of a client type)
            imported = project.summary(canonical)
            if imported is not None and any(
                project.canonical(t).split(".")[0] in _NETWORK_ROOTS for t in imported.aliases.values()
            ):
                return True
        return False

    def __init__(self, ctx: FileContext, options: Any) -> None:
        super().__init__(ctx, options)
        self.table = self.ctx.analysis(BindingTable)
        self.clients = self.ctx.analysis(NetClients)
        project = ctx.project
        if project is not None and self.clients.external is None:
            self.clients.external = lambda qualified: project_client(_factories(project), project.canonical(qualified))
            self.clients.external_objects = lambda qualified: project_object(
                _factories(project), project.canonical(qualified)
            )
            self.clients.external_aliases = lambda qualified: _alias_names(project, project.canonical(qualified))
        #: Test data of a lint rule (semgrep): matched by a linter, never run.
        self._skip_file = _net.lint_rule_fixture(ctx.display_path, ctx.text)
        self.pending: List[Tuple[cst.Call, Scope, _Guard]] = []
        self.pending_calls: List[Tuple[cst.Call, NetCall, str, Scope, _Guard]] = []
        #: Executor calls handed a function: (call, where the function is, scope, guard).
        self.pending_passed: List[Tuple[cst.Call, Tuple[int, bool], Scope, _Guard]] = []
        self._guard_cache: Dict[int, bool] = {}
        #: Calls whose result a ``for`` iterates (gRPC server streams).
        self.iterated: Set[int] = set()
        #: ``socket.setdefaulttimeout(n)`` somewhere in the file.
        self.global_default_set = False

    def visit_For(self, node: cst.For) -> None:
        self.iterated.add(id(node.iter))

    # -- calls -----------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if self._skip_file:
            return
        at = self.table.current()
        callee = self._callee(node.func, at)
        tests = tuple(n.test for n in self.stack[:-1] if isinstance(n, (cst.If, cst.IfExp)))
        guarded = _Guard(enclosing_function(at), tests)
        if self._under_deadline(node):
            return
        if callee is not None:
            spec = CALLS.get(callee)
            if spec is not None:
                guarded.later = spec.skip_in_tests and self._timeout_set_afterwards(node, at)
                self.pending_calls.append((node, spec, f"`{callee}`", at, guarded))
                return
            if callee in _net.TIMEOUT_OBJECTS:
                self._judge_timeout_object(node, callee)
                return
            if callee == _net.SET_DEFAULT_TIMEOUT and node.args and not _net_is_none(node.args[0].value):
                self.global_default_set = True
        if isinstance(node.func, (cst.Attribute, cst.Name)):
            self.pending.append((node, at, guarded))
        # A builtin is a name nothing in the file binds (``map``, not a ``def map`` of its own).
        builtin = isinstance(node.func, cst.Name) and not self.table.lookup(node.func.value, at)
        passed = _passed_callable(node, callee, builtin)
        if passed is not None:
            self.pending_passed.append((node, passed, at, guarded))

    def _under_deadline(self, node: cst.Call) -> bool:
        """Awaited under a deadline in the same function: ``await asyncio.wait_for(call,
        timeout=5)``, or inside ``async with asyncio.timeout(10):`` (anyio, trio, async_timeout)."""
        inner: cst.CSTNode = node
        for depth in range(len(self.stack) - 2, -1, -1):
            ancestor = self.stack[depth]
            if isinstance(ancestor, cst.FunctionDef):
                return self._awaited_under_deadline(ancestor, self.stack[:depth])
            if isinstance(ancestor, (cst.Lambda, cst.ClassDef)):
                return False
            if isinstance(ancestor, cst.Call) and ancestor.args and ancestor.args[0].value is inner:
                if self.qualified_name(ancestor.func) in _net.DEADLINE_WRAPPERS:
                    limit = keyword(ancestor, "timeout") or (ancestor.args[1] if len(ancestor.args) > 1 else None)
                    return limit is not None and not _net_is_none(limit.value)
            if isinstance(ancestor, cst.With):
                for item in ancestor.items:
                    scope = item.item
                    if (
                        isinstance(scope, cst.Call)
                        and self.qualified_name(scope.func) in _net.DEADLINE_SCOPES
                        and scope.args
                        and not _net_is_none(scope.args[0].value)
                    ):
                        return True
            if not isinstance(ancestor, (cst.Await, cst.Arg)):
                inner = ancestor if isinstance(ancestor, cst.Call) else inner
        return False

    def _awaited_under_deadline(self, function: cst.FunctionDef, outer: Sequence[cst.CSTNode]) -> bool:
        """A nested ``async def`` that its enclosing function only runs under a deadline
        (``async def _get(): ...`` then ``await asyncio.wait_for(_get(), timeout=120)``)."""
        enclosing = next((n for n in reversed(outer) if isinstance(n, cst.FunctionDef)), None)
        if function.asynchronous is None or enclosing is None:
            return False
        name = function.name.value
        calls = [
            n
            for n in iter_nodes(enclosing.body)
            if isinstance(n, cst.Call) and isinstance(n.func, cst.Name) and n.func.value == name
        ]
        if not calls:
            return False
        for call in calls:
            wrapper = next(
                (
                    n
                    for n in iter_nodes(enclosing.body)
                    if isinstance(n, cst.Call)
                    and n.args
                    and n.args[0].value is call
                    and self.qualified_name(n.func) in _net.DEADLINE_WRAPPERS
                ),
                None,
            )
            if wrapper is None:
                return False
            limit = keyword(wrapper, "timeout") or (wrapper.args[1] if len(wrapper.args) > 1 else None)
            if limit is None or _net_is_none(limit.value):
                return False
        return True

    def _callee(self, func: cst.BaseExpression, at: Scope) -> Optional[str]:
        """The qualified name of a callee, through the project's re-exports (``from
        mytool.netcompat import http_client`` where ``import requests as http_client``)
        and for this module's own functions (``urlopen`` inside ``urllib.request``)."""
        callee = self.qualified_name(func)
        project = self.ctx.project
        if callee is not None and callee not in CALLS and project is not None:
            callee = project.canonical(callee)
        if callee is None and isinstance(func, cst.Name) and self.ctx.module_name:
            bindings = self.table.lookup(func.value, at)
            if len(bindings) == 1 and bindings[0].kind is BindingKind.FUNCTION and bindings[0].scope.parent is None:
                callee = f"{self.ctx.module_name}.{func.value}"
        return callee

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.iterated.add(id(node.iter))

    def _timeout_set_afterwards(self, call: cst.Call, at: Scope) -> bool:
        """``conn = HTTPConnection(host)`` then ``conn.timeout = 5`` / ``sock.settimeout(5)``."""
        parent = self.parent()
        target: Optional[cst.BaseExpression] = None
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
        elif isinstance(parent, cst.WithItem) and parent.asname is not None:
            target = parent.asname.name
        if not isinstance(target, (cst.Name, cst.Attribute)) or not _SETS_TIMEOUT_TEXT.search(self.ctx.text):
            return False
        function = enclosing_function(at)
        scope: cst.CSTNode = function if function is not None else self.ctx.module
        text = self.edits.code(target)
        for found in find_all(scope, (cst.Call, cst.AssignTarget)):
            if isinstance(found, cst.Call) and isinstance(found.func, cst.Attribute):
                owner = found.func.value
                if isinstance(owner, cst.Attribute) and owner.attr.value == "sock":
                    owner = owner.value
                if found.func.attr.value in _net.SETS_TIMEOUT_LATER_METHODS and self.edits.code(owner) == text:
                    return True
            elif isinstance(found, cst.AssignTarget) and isinstance(found.target, cst.Attribute):
                attr = found.target
                if attr.attr.value in _net.SETS_TIMEOUT_LATER_ATTRS and self.edits.code(attr.value) == text:
                    return True
        return False

    def _http_mocked(self) -> bool:
        """A test module that fakes HTTP (``responses``, ``requests_mock``, ``mock.patch``...)."""
        imports = self.ctx.imports
        return any(imports.imports_module(name) for name in _net.HTTP_MOCK_MODULES) or (
            "requests_mock" in self.ctx.text or "httpserver" in self.ctx.text or "monkeypatch" in self.ctx.text
        )

    def _guarded(self, guard: _Guard) -> bool:
        """A timeout test (``if timeout is not None:``) around the call or in its function.

        Such code passes no timeout on purpose when its caller gave none.
        """
        if guard.later:
            return True
        if any(_mentions_timeout(t) for t in guard.tests):
            return True
        function = guard.function
        if function is None:
            return False
        cached = self._guard_cache.get(id(function))
        if cached is None:
            cached = "timeout" in self.edits.code(function).lower() and any(
                _mentions_timeout(node.test) for node in iter_nodes(function) if isinstance(node, (cst.If, cst.IfExp))
            )
            self._guard_cache[id(function)] = cached
        return cached

    def leave_Module(self, original_node: cst.Module) -> None:
        if self._skip_file:
            return
        for call, spec, shown, at, guarded in self.pending_calls:
            if not self._skipped(spec, guarded):
                self._judge(call, spec, shown, at, pool_timeout=None)
        for call, at, guarded in self.pending:
            self._judge_method(call, at, guarded)
        for call, passed, at, guarded in self.pending_passed:
            self._judge_passed(call, passed, at, guarded)

    def _judge_passed(self, call: cst.Call, passed: Tuple[int, bool], at: Scope, guarded: _Guard) -> None:
        """``ex.map(requests.get, urls)``, ``pool.submit(requests.post, url, data=d)``: a
        request function handed to an executor, which calls it with the arguments it
        forwards (``submit``, ``to_thread``: all; ``map``: the items alone)."""
        index, forwards_keywords = passed
        func = call.args[index].value
        callee = self._callee(func, at) if isinstance(func, (cst.Name, cst.Attribute)) else None
        spec = CALLS.get(callee) if callee is not None else None
        if spec is None and isinstance(func, cst.Attribute):
            # ``pool.map(session.get, urls)``: a bound method of a client without a timeout
            client = self.clients.client(func.value, at)
            if client is not None and client.kind is not _net.GRPC_STUB and not client.timeout_set:
                spec = client.kind.methods.get(func.attr.value)
                callee = self.edits.code(func)
        if spec is None or spec.timeout_mode != _net.FOREVER or spec.no_timeout_param:
            return
        if self._skipped(spec, guarded):
            return
        rest = call.args[index + 1 :]
        if any(a.star for a in rest) or (forwards_keywords and keyword(call, "timeout") is not None):
            return
        positional = [a for a in rest if a.keyword is None]
        if forwards_keywords and spec.timeout_pos is not None and len(positional) > spec.timeout_pos:
            return  # the timeout passed positionally
        method = self.edits.code(call.func)
        value = self._default()
        if forwards_keywords:
            fix = PendingFix.unsafe(f"Add `timeout={value}`", *self.edits.add_keyword(call, f"timeout={value}"))
        else:
            fix = PendingFix.suggestion(f"Pass `functools.partial({callee}, timeout={value})`")
        shown = f"`{callee}` (passed to `{method}`)"
        self.report(func, fix=fix, callee=shown, problem="has no timeout", why=spec.why)

    def _skipped(self, spec: NetCall, guarded: _Guard) -> bool:
        if spec.timeout_mode == _net.NEVER:
            return True
        if self.ctx.is_test_file and (spec.skip_in_tests or self._http_mocked()):
            return True
        if self._guarded(guarded):
            return True
        return self.global_default_set and (spec.why == _net.SOCKET_DEFAULT_WHY or spec.no_timeout_param)

    def _judge_method(self, call: cst.Call, at: Scope, guarded: _Guard) -> None:
        func = call.func
        if isinstance(func, cst.Name):
            self._judge_partial(call, func, at, guarded)
            return
        assert isinstance(func, cst.Attribute)
        method = func.attr.value
        client = self.clients.client(func.value, at)
        if client is not None and client.kind is not _net.GRPC_STUB:
            spec = client.kind.methods.get(method)
            if spec is None or self._skipped(spec, guarded):
                return
            # A pool by its own class (``urllib3.HTTPSConnectionPool``), other clients by their kind.
            shown = client.label if client.kind.pool and "." in client.label else client.kind.label
            label = f"`{self.edits.code(func)}` (`{shown}`)"
            self._judge(call, spec, label, at, pool_timeout=client.timeout_set)
            return
        module = self.clients.network_module(func.value, at) if client is None else None
        module_spec = CALLS.get(f"{module}.{method}") if module is not None else None
        if module_spec is not None:
            # ``http = requests`` on a class, then ``self.http.get(...)``.
            if not self._skipped(module_spec, guarded):
                label = f"`{self.edits.code(func)}` (`{module}.{method}`)"
                self._judge(call, module_spec, label, at, pool_timeout=None)
            return
        # gRPC: ``stub.Method(req)`` or ``stub.Method.future(req)``.
        stub_expr: Optional[cst.BaseExpression] = func.value
        if client is None and method in _net.GRPC_CALL_VARIANTS and isinstance(func.value, cst.Attribute):
            stub_expr = func.value.value
        elif client is None:
            stub_expr = None
        if stub_expr is None or method.startswith("_"):
            return
        stub = client if client is not None else self.clients.client(stub_expr, at)
        if stub is None or stub.kind is not _net.GRPC_STUB:
            return
        if self._skipped(_net.GRPC_CALL, guarded) or id(call) in self.iterated:
            return
        rpc = (
            func.value.attr.value
            if method in _net.GRPC_CALL_VARIANTS and isinstance(func.value, cst.Attribute)
            else method
        )
        if any(word in rpc.lower() for word in _net.GRPC_STREAM_WORDS):
            return
        label = f"`{self.edits.code(func)}` (gRPC stub `{stub.label.rsplit('.', 1)[-1]}`)"
        self._judge(call, _net.GRPC_CALL, label, at, pool_timeout=None)

    # -- judging ---------------------------------------------------------------

    def _judge_partial(self, call: cst.Call, func: cst.Name, at: Scope, guarded: _Guard) -> None:
        """``post_json = functools.partial(requests.post, headers=H)`` then ``post_json(url)``."""
        bound = self.clients.partial_of(func, at)
        if bound is None:
            return
        target, partials = bound
        spec = CALLS[target]
        if self._skipped(spec, guarded):
            return
        if any(keyword(p, "timeout") is not None or any(a.star for a in p.args[1:]) for p in partials):
            return
        offset = min(len([a for a in p.args[1:] if a.keyword is None]) for p in partials)
        label = f"`{func.value}` (`functools.partial({target})`)"
        self._judge(call, spec, label, at, pool_timeout=None, offset=offset)

    def _state(self, call: cst.Call, spec: NetCall, at: Scope, offset: int = 0) -> _TimeoutState:
        arg = keyword(call, "timeout")
        if arg is not None:
            return self._value_state(arg.value, arg, at)
        positional: List[cst.Arg] = []
        for item in call.args:
            if item.keyword is not None or item.star == "**":
                continue
            if item.star == "*":
                if spec.timeout_pos is not None and len(positional) <= spec.timeout_pos:
                    return _TimeoutState(UNKNOWN)
                break
            positional.append(item)
        pos = spec.timeout_pos - offset if spec.timeout_pos is not None else None
        if pos is not None and pos < 0:
            return _TimeoutState(OK)  # bound by the partial, positionally
        if pos is not None and len(positional) > pos:
            item = positional[pos]
            return self._value_state(item.value, item, at)
        star_kwargs = [a for a in call.args if a.star == "**"]
        if star_kwargs:
            # ``**REQUEST_KW`` where ``REQUEST_KW = {"headers": ...}`` is built in this file and never changed.
            keys = [self.clients.kwargs_keys(a.value, at) for a in star_kwargs]
            if all(k is not None and "timeout" not in k for k in keys):
                return _TimeoutState(MISSING, via_literal_kwargs=True)
            for star in star_kwargs:
                # ``CLIENT_KW = {"timeout": None}`` then ``httpx.Client(**CLIENT_KW)``.
                value = self.clients.kwargs_value(star.value, "timeout", at)
                if value is not None and _net_is_none(value):
                    return _TimeoutState(NONE, value, star)
            return _TimeoutState(UNKNOWN)
        return _TimeoutState(MISSING)

    def _value_state(self, value: cst.BaseExpression, arg: cst.Arg, at: Scope) -> _TimeoutState:
        if _net_is_none(value):
            return _TimeoutState(NONE, value, arg)
        if isinstance(value, cst.Tuple) and _read_unbounded(value):
            # requests: ``timeout=(connect, None)`` leaves the read unbounded.
            return _TimeoutState(NONE, value.elements[1].value, arg)
        if isinstance(value, cst.Name) and self._only_none(value, at):
            tuples = [b.value for b in self.table.lookup(value.value, at) if b.value is not None]
            return _TimeoutState(NONE_NAME, value, arg, read_only=any(_read_unbounded(t) for t in tuples))
        if isinstance(value, (cst.Name, cst.Attribute)) and self._project_none(value):
            return _TimeoutState(NONE_NAME, value, arg)
        return _TimeoutState(OK)

    def _project_none(self, value: cst.BaseExpression) -> bool:
        """``settings.EXPORT_TIMEOUT`` where another module of the project binds it to None."""
        project = self.ctx.project
        qualified = self.qualified_name(value)
        if project is None or qualified is None or "." not in qualified:
            return False
        module, _, attr = project.canonical(qualified).rpartition(".")
        summary = project.summary(module)
        return summary is not None and summary.constants.get(attr) == "None"

    def _only_none(self, name: cst.Name, at: Scope) -> bool:
        """``t = None`` is the only binding of ``t`` in the function (not a parameter), or
        a module constant bound only to None (``EXPORT_TIMEOUT = None``)."""
        function = enclosing_function(at)
        bindings = self.table.lookup(name.value, at)
        if not bindings:
            return False
        module = self.table.module_scope
        return all(
            (b.scope.node is function or b.scope is module)
            and b.kind is BindingKind.ASSIGN
            and b.value is not None
            and (_net_is_none(b.value) or _read_unbounded(b.value))
            for b in bindings
        )

    def _judge(
        self,
        call: cst.Call,
        spec: NetCall,
        shown: str,
        at: Scope,
        *,
        pool_timeout: Optional[bool],
        offset: int = 0,
    ) -> None:
        if spec.timeout_mode == _net.NEVER:
            return
        if spec.no_timeout_param and spec.advice:
            fix = PendingFix.suggestion(spec.advice)
            self.report(call.func, fix=fix, callee=shown, problem="takes no timeout", why=spec.why)
            return
        if spec.no_timeout_param:
            self._judge_xmlrpc(call, spec, shown)
            return
        if spec.connects_with_host_only and not any(a.keyword is None or a.keyword.value == "host" for a in call.args):
            return
        state = self._state(call, spec, at, offset)
        if state.state in (OK, UNKNOWN):
            return
        if state.state == MISSING:
            if spec.timeout_mode == _net.NONE_ONLY:
                return
            if spec.timeout_mode == _net.POOL and pool_timeout is not False:
                return
            fix = self._add_timeout_fix(call, state)
            problem = "has no timeout"
            if state.via_literal_kwargs:
                spread = ", ".join(
                    "`**{...}`" if isinstance(a.value, cst.Dict) else f"`**{self.edits.code(a.value)}`"
                    for a in call.args
                    if a.star == "**"
                )
                problem = f"has no timeout (nor has {spread})"
            self.report(call.func, fix=fix, callee=shown, problem=problem, why=spec.why)
            return
        assert state.node is not None and state.arg is not None
        if state.state == NONE and self._every_request_bounded(call):
            return  # ``Client(timeout=None)`` whose every request passes its own ``timeout=``
        why = "`None` disables the timeout, so a stalled server blocks this call forever"
        if state.state == NONE:
            value = self._default()
            fix = PendingFix.unsafe(f"Replace `None` with `{value}`", self.edits.replace(state.node, value))
            if state.arg.star == "**":
                problem = f'is called with `**{self.edits.code(state.arg.value)}`, which holds `"timeout": None`'
            else:
                problem = f"is called with `timeout={self.edits.code(state.arg.value)}`"
        else:
            name = self.edits.code(state.node)
            fix = PendingFix.suggestion(f"Give `{name}` a finite number of seconds")
            problem = f"is called with `timeout={name}`, which is `None` here"
            if state.read_only:
                why = "its `(connect, None)` bounds the connect only, so a server that stalls mid-response blocks this call forever"
                problem = f"is called with `timeout={name}`"
                fix = PendingFix.suggestion(f"Give `{name}` a finite read timeout: `(connect, read)` in seconds")
        self.report(state.arg, fix=fix, callee=shown, problem=problem, why=why)

    def _every_request_bounded(self, call: cst.Call) -> bool:
        """A client built by ``call`` and bound by a plain assignment, whose every method call
        in this file passes a ``timeout=`` that is not ``None`` (there is at least one)."""
        target = None
        for node in iter_nodes(self.ctx.module):
            if isinstance(node, cst.Assign) and node.value is call and len(node.targets) == 1:
                target = self.edits.code(node.targets[0].target)
        if target is None:
            return False
        requests = [
            n
            for n in iter_nodes(self.ctx.module)
            if isinstance(n, cst.Call)
            and isinstance(n.func, cst.Attribute)
            and n.func.attr.value in _net.REQUEST_METHODS
            and self.edits.code(n.func.value) == target
        ]
        if not requests:
            return False
        for request in requests:
            bound = next((a for a in request.args if a.keyword is not None and a.keyword.value == "timeout"), None)
            if bound is None or _net_is_none(bound.value):
                return False
        return True

    def _judge_xmlrpc(self, call: cst.Call, spec: NetCall, shown: str) -> None:
        if _net.xmlrpc_transport_given(call) or any(a.star for a in call.args):
            return
        fix = PendingFix.suggestion(
            "Pass `transport=` a `xmlrpc.client.Transport` subclass whose `make_connection` sets a timeout"
        )
        self.report(call.func, fix=fix, callee=shown, problem="has no timeout", why=spec.why)

    def _judge_timeout_object(self, call: cst.Call, callee: str) -> None:
        pos, main_kw, read_kws = _net.TIMEOUT_OBJECTS[callee]
        if any(a.star for a in call.args):
            return
        positional = [a for a in call.args if a.keyword is None]
        main: Optional[cst.Arg] = keyword(call, main_kw)
        if main is None and len(positional) > pos:
            main = positional[pos]
        for kw in read_kws:
            read = keyword(call, kw)
            if read is not None and not _net_is_none(read.value):
                return
            if read is not None and callee == "httpx.Timeout":
                # httpx has no total: an explicit ``read=None`` leaves reads unbounded.
                value = self._default()
                fix = PendingFix.unsafe(f"Replace `None` with `{value}`", self.edits.replace(read.value, value))
                self.report(
                    call,
                    fix=fix,
                    callee=f"`{callee}`",
                    problem="is given `read=None`",
                    why="httpx has no total timeout, so a stalled server blocks reads forever",
                )
                return
        if callee != "httpx.Timeout" and len(positional) > 2 and not _net_is_none(positional[2].value):
            return  # aiohttp/urllib3: the third positional is the read bound
        value = self._default()
        if main is None:
            if callee not in _net.TIMEOUT_OBJECT_UNBOUNDED_BY_DEFAULT:
                return
            fix = PendingFix.unsafe(f"Add `{main_kw}={value}`", *self.edits.add_keyword(call, f"{main_kw}={value}"))
            self.report(
                call,
                fix=fix,
                callee=f"`{callee}`",
                problem="sets no total or read bound",
                why="a stalled server blocks the request forever",
            )
            return
        if not _net_is_none(main.value):
            return
        fix = PendingFix.unsafe(f"Replace `None` with `{value}`", self.edits.replace(main.value, value))
        self.report(
            call,
            fix=fix,
            callee=f"`{callee}`",
            problem="is given `None`",
            why="`None` disables the timeout, so a stalled server blocks the request forever",
        )

    # -- fixes -----------------------------------------------------------------

    def _default(self) -> str:
        return _net.render_number(self.options.default_timeout)

    def _add_timeout_fix(self, call: cst.Call, state: _TimeoutState) -> PendingFix:
        value = self._default()
        if state.via_literal_kwargs:
            return PendingFix.suggestion(f'Add `"timeout": {value}` to the dict passed as `**kwargs`')
        return PendingFix.unsafe(f"Add `timeout={value}`", *self.edits.add_keyword(call, f"timeout={value}"))


def _alias_names(project: Any, qualified: str) -> Tuple[str, ...]:
    """The resolved names in the value of the module-level assignment ``qualified`` names
    (``app.deps.HttpSession = Annotated[requests.Session, Depends(get_http)]``)."""
    module, _, target = qualified.rpartition(".")
    summary = project.summary(module) if module else None
    if summary is None or summary.defs.get(target) != "variable":
        return ()
    found = [a for a in summary.assignments if a.target in (target, qualified)]
    return tuple(found[0].names) if len(found) == 1 else ()


def _factories(project: Any) -> Mapping[str, Any]:
    """The project's client factories by module (``factory_facts``), each module's read
    when a name of it is asked about."""
    facts: Mapping[str, Any] = project.module_facts(MissingTimeout.code)
    return facts


#: Executor calls that run a function they are given: method -> (index of the function,
#: whether keyword arguments reach it).  ``Executor.map``'s ``timeout=`` is its own.
_PASSING_METHODS: Dict[str, Tuple[int, bool]] = {
    "map": (0, False),
    "imap": (0, False),
    "imap_unordered": (0, False),
    "submit": (0, True),
    "run_in_executor": (1, False),
}
_PASSING_FUNCTIONS: Dict[str, Tuple[int, bool]] = {"asyncio.to_thread": (0, True)}
#: Builtins that call the function they are given: ``list(map(requests.get, urls))``.
_PASSING_BUILTINS: Dict[str, Tuple[int, bool]] = {"map": (0, False)}


def _read_unbounded(value: cst.BaseExpression) -> bool:
    """requests' ``(connect, None)``: a connect timeout, and none for the read."""
    return isinstance(value, cst.Tuple) and len(value.elements) == 2 and _net_is_none(value.elements[1].value)


def _passed_callable(call: cst.Call, callee: Optional[str], builtin: bool = False) -> Optional[Tuple[int, bool]]:
    """Where ``call`` hands a function to an executor or a builtin that calls it (see
    ``_PASSING_METHODS``); ``builtin``: the call's name is a builtin's (bound nowhere here)."""
    found = _PASSING_FUNCTIONS.get(callee or "")
    if found is None and builtin and isinstance(call.func, cst.Name):
        found = _PASSING_BUILTINS.get(call.func.value)
    if found is None and isinstance(call.func, cst.Attribute):
        found = _PASSING_METHODS.get(call.func.attr.value)
    if found is None or len(call.args) <= found[0]:
        return None
    arg = call.args[found[0]]
    if arg.keyword is not None or arg.star or not isinstance(arg.value, (cst.Name, cst.Attribute)):
        return None
    return found
