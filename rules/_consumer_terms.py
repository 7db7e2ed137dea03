"""OPS6xx slow calls (OPS601's budget): the calls a consume site makes per record (and once
per poll) that may wait, each a ``Term`` with its bound in seconds (None: unbounded).

Sleeps, child processes, HTTP requests (module functions, clients and sessions, google-auth's
``AuthorizedSession`` and token refreshes), firebase sends, and what a call handed to a
worker thread and awaited (``asyncio.to_thread``) makes; calls of this file's
functions are followed in the file, calls of other modules through their summaries'
call sites.  The bounds come from ``_kafka`` and ``_net``; timeout values from
``_consumer_settings``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import AbstractSet, Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.analysis.scopes import BindingKind, Scope
from opslint.project import CallSite
from opslint.rules import _kafka, _net
from opslint.rules._consumer_kinds import HttpKinds, agreed
from opslint.rules._consumer_settings import SettingsReader
from opslint.rules._consumer_sites import idle_branches
from opslint.rules._consumers import MAX_DEPTH, XMLRPC_LABEL, ConsumeSite, HttpClient, KafkaFile, Term, Where
from opslint.rules._net_clients import configured_receivers
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import calls_in, scope_nodes, unwrap_await


class RecordTerms:
    """The slow calls a consume site makes (one per ``KafkaModel``; a function's terms are
    computed once): in the per-record region, and once per poll."""

    def __init__(self, file: KafkaFile, settings: SettingsReader, http_kinds: HttpKinds) -> None:
        self.file = file
        self.settings = settings
        self.http_kinds = http_kinds
        self._function_terms: Dict[Any, List[Term]] = {}
        self._active: Set[Any] = set()
        self._socket_default: Optional[Tuple[bool, Optional[float]]] = None
        self._configured: Optional[Set[str]] = None
        #: function name -> (call, the scope it runs in) for every call of a bare name in the file.
        self._calls_by_name: Optional[Dict[str, List[Tuple[cst.Call, Scope]]]] = None

    def region_terms(self, site: ConsumeSite) -> List[Term]:
        terms: List[Term] = []
        for node in site.region:
            terms.extend(self._node_terms(node, site.scope, "", site.call, 0))
        return terms

    def poll_terms(self, site: ConsumeSite) -> List[Term]:
        """The slow calls a batch consume loop makes once per poll: the loop's work outside
        the per-record loops (a bulk write of the batch, a pause), except in a branch taken
        only when the poll returned nothing (``if not batch: time.sleep(5)``)."""
        if site.poll_body is None:
            return []
        skip = {id(call) for node in site.region for call in calls_in(node)}
        if site.call is not None:
            skip.add(id(site.call))
        for branch in idle_branches(site.poll_body, site.holder):
            skip.update(id(call) for call in calls_in(branch))
        return self._node_terms(site.poll_body, site.scope, "", site.call, 0, skip)

    def _node_terms(
        self,
        node: cst.CSTNode,
        scope: Scope,
        where: str,
        skip: Optional[cst.Call],
        depth: int,
        skip_ids: AbstractSet[int] = frozenset(),
    ) -> List[Term]:
        terms: List[Term] = []
        handed = _handed_off(node)
        calls = calls_in(node)
        # ``await asyncio.wait_for(http.post(...), timeout=3)``: what it awaits takes at most
        # the deadline, whatever the calls inside could take on their own.
        bounds: Dict[int, Term] = {}
        bounded: Set[int] = set()
        for call in calls:
            bound = self._wait_for_bound(call, scope, where)
            if bound is not None:
                bounds[id(call)] = bound
                bounded.update(id(inner) for inner in calls_in(call.args[0].value))
        repeats = _repeats(node, lambda expr: self._integer(expr, scope))
        for call in calls:
            if call is skip or id(call) in handed or id(call) in skip_ids or id(call) in bounded:
                continue
            before = len(terms)
            self._add_call_terms(call, scope, where, depth, bounds, terms)
            times = repeats.get(id(call), 1)
            if times > 1:
                terms[before:] = [_repeated(term, times) for term in terms[before:]]
        return terms

    def _add_call_terms(
        self, call: cst.Call, scope: Scope, where: str, depth: int, bounds: Dict[int, Term], terms: List[Term]
    ) -> None:
        """The terms one call adds (see ``_node_terms``)."""
        if id(call) in bounds:
            terms.append(bounds[id(call)])
            return
        waited = _waited_submission(call)
        if waited is not None:
            terms.extend(self._waited_terms(call, waited, scope, where, depth))
            return
        offloaded = self._offloaded(call)
        if offloaded is not None:
            # The worker thread's call: its bound, but the event loop is not blocked.
            inner = self._call_terms(offloaded, scope, where, depth)
            for term in inner:
                evidence = Where(call) if term.evidence.node is offloaded else term.evidence
                terms.append(replace(term, sync=False, evidence=evidence))
            return
        terms.extend(self._call_terms(call, scope, where, depth))

    def _integer(self, expr: cst.BaseExpression, scope: Scope) -> Optional[int]:
        """An integer literal, or a name bound once to one (``MAX_ATTEMPTS = 5``)."""
        if isinstance(expr, cst.Name):
            bindings = self.file.table.resolve(expr, scope)
            value = bindings[0].value if len(bindings) == 1 else None
            expr = value if value is not None else expr
        if not isinstance(expr, cst.Integer):
            return None
        try:
            return int(expr.value, 0)
        except ValueError:
            return None

    def _call_terms(self, call: cst.Call, scope: Scope, where: str, depth: int) -> List[Term]:
        """A slow call's term, else the terms of the project function it calls."""
        term = self._classify(call, scope, where)
        if term is not None:
            return [term]
        if depth >= MAX_DEPTH:
            return []
        return self._follow(call.func, scope, depth + 1)

    def _wait_for_bound(self, call: cst.Call, scope: Scope, where: str) -> Optional[Term]:
        """``asyncio.wait_for(aw, timeout)`` with a known, finite deadline: its term."""
        func = call.func
        if not call.args or not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        if self.file.resolve(func) not in _net.DEADLINE_WRAPPERS:
            return None
        arg = next((a for a in call.args[1:] if a.keyword is None or a.keyword.value == "timeout"), None)
        if arg is None:
            return None
        known, value = self.settings.timeout_seconds(arg.value, scope)
        if not known or value is None:
            return None
        return self._timeout_term(True, value, "asyncio.wait_for", self.file.code(arg), where, False, Where(call))

    def _waited_terms(
        self, result: cst.Call, function: cst.BaseExpression, scope: Scope, where: str, depth: int
    ) -> List[Term]:
        """``pool.submit(deliver, event).result()``: the submitted function runs while this
        thread waits, bounded by ``result(timeout=...)`` when one is given."""
        arg = result.args[0] if result.args else None
        if arg is not None and (arg.keyword is None or arg.keyword.value == "timeout"):
            known, value = self.settings.timeout_seconds(arg.value, scope)
            return [self._timeout_term(known, value, self.file.code(result.func), "", where, True, Where(result))]
        if depth >= MAX_DEPTH:
            return []
        return self._follow(function, scope, depth + 1)

    def _follow(self, func: cst.BaseExpression, scope: Scope, depth: int) -> List[Term]:
        """The terms of the project function ``func`` names, as a call of it runs them (in this
        file, else through the index): a call's callee, a dispatch table's handler, a function
        submitted to a pool and waited for."""
        target: Optional[cst.FunctionDef] = None
        table = self.file.table
        if isinstance(func, cst.Name):
            target = table.function_named(func.value, scope)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            bindings = table.resolve(func, scope)
            if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
                target = bindings[0].node
            else:
                target = self._instance_method(func, scope)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute):
            target = self._instance_method(func, scope)  # ``self.bridge.open_ticket(alert)``
        elif isinstance(func, cst.Subscript):
            return self._dispatched(func, scope, depth)
        if target is not None:
            inner = self.file.table.scope_of(target)
            if inner is None:
                return []
            key = id(target)
            if key in self._function_terms:
                return self._function_terms[key]
            if key in self._active:
                return []
            self._active.add(key)
            try:
                found = self._node_terms(target.body, inner, f"in {target.name.value}", None, depth)
            finally:
                self._active.discard(key)
            attempts = max((self._decorator_attempts(d) for d in target.decorators), default=1)
            if attempts > 1:
                found = [_repeated(term, attempts) for term in found]
            self._function_terms[key] = found
            return found
        qualified = self.file.resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if qualified is None and isinstance(func, cst.Attribute):
            qualified = self._imported_instance_method(func, scope)
        if qualified is None or self.file.project is None:
            return []
        function = self.file.project.function(qualified)
        if function is None:
            return []
        return self._summary_terms(function.qualname, depth)

    def _decorator_attempts(self, decorator: cst.Decorator) -> int:
        """``@retry(stop=stop_after_attempt(5))`` on a function of this file: 5."""
        expr = decorator.decorator
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, (cst.Name, cst.Attribute)):
            return 1
        kwargs = tuple((a.keyword.value, self.file.code(a.value)) for a in expr.args if a.keyword is not None)
        return _retry_attempts(self.file.resolve(expr.func) or "", kwargs)

    def _imported_instance_method(self, func: cst.Attribute, scope: Scope) -> Optional[str]:
        """``geocoder.normalise`` where ``geocoder = Geocoder()`` (or ``geocoder: Geocoder``)
        and ``Geocoder`` is a class of another module: the qualified name of its method."""
        project = self.file.project
        if project is None or not isinstance(func.value, cst.Name):
            return None
        bindings = self.file.table.resolve(func.value, scope)
        if len(bindings) != 1:
            return None
        binding = bindings[0]
        made: Optional[cst.BaseExpression] = None
        value = unwrap_await(binding.value) if binding.value is not None else None
        if binding.kind is BindingKind.ASSIGN and isinstance(value, cst.Call):
            made = value.func
        elif binding.kind is BindingKind.PARAM and isinstance(binding.node, cst.Param):
            annotation = binding.node.annotation
            made = annotation.annotation if annotation is not None else None
        qualified = self.file.resolve(made) if isinstance(made, (cst.Name, cst.Attribute)) else None
        cls = project.class_summary(qualified) if qualified is not None else None
        method = project.method(cls.qualname, func.attr.value) if cls is not None else None
        return method.qualname if method is not None else None

    def _instance_method(self, func: cst.Attribute, scope: Scope) -> Optional[cst.FunctionDef]:
        """``fwd.forward`` where ``fwd = Forwarder(...)`` (or ``fwd: Forwarder``), a class of
        this file, or ``self.fwd.forward`` where the instance holds one: its ``forward`` method."""
        table = self.file.table
        owner = table.instance_class(func.value, scope)
        if owner is None:
            return None
        found = table.attribute(owner, func.attr.value)
        return found[0].node if len(found) == 1 and isinstance(found[0].node, cst.FunctionDef) else None

    def _dispatched(self, func: cst.Subscript, scope: Scope, depth: int) -> List[Term]:
        """``HANDLERS[msg.topic](msg)``: one of the functions of this file that the dict
        (bound once, to a literal of names) holds runs per record; the terms of the
        slowest (an unbounded one first) count."""
        if not isinstance(func.value, cst.Name):
            return []
        bindings = self.file.table.lookup(func.value.value, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].value, cst.Dict):
            return []
        slowest: List[Term] = []
        for element in bindings[0].value.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Name):
                terms = self._follow(element.value, scope, depth)
                if _cost(terms) > _cost(slowest):
                    slowest = terms
        return slowest

    def _summary_terms(self, qualname: str, depth: int) -> List[Term]:
        assert self.file.project is not None
        if qualname in self._function_terms:
            return self._function_terms[qualname]
        if qualname in self._active or depth > MAX_DEPTH:
            return []
        function = self.file.project.function(qualname)
        summary = self.file.project.summary(function.module) if function is not None else None
        if function is None or summary is None:
            return []
        self._active.add(qualname)
        terms: List[Term] = []
        where = f"in {self.file.project_path(summary.path)}"
        try:
            for site in function.calls:
                term = self._classify_site(site, summary.path, where, summary.name, function.class_qualname)
                if term is not None:
                    terms.append(term)
                    continue
                target = self.file.project.target_of(site)
                if target is not None:
                    terms.extend(self._summary_terms(target, depth + 1))
        finally:
            self._active.discard(qualname)
        attempts = max((_retry_attempts(d.name, d.kwargs) for d in function.decorators), default=1)
        if attempts > 1:
            terms = [_repeated(term, attempts) for term in terms]
        self._function_terms[qualname] = terms
        return terms

    def _pause_seconds(self, expr: cst.BaseExpression, scope: Scope) -> Tuple[bool, Optional[float]]:
        """The longest a sleep's argument can be: a number, or the upper bound of a random
        pause (``random.uniform(MIN_PAUSE, MAX_PAUSE)``)."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, (cst.Name, cst.Attribute)):
            pause = _kafka.RANDOM_PAUSES.get(self.file.resolve(expr.func) or "")
            if pause is not None:
                bounds = [self.settings.timeout_seconds(a.value, scope) for a in expr.args if a.keyword is None]
                if any(not known or value is None for known, value in bounds) or (not bounds and not pause):
                    return False, None
                return True, max([pause, *(value for _known, value in bounds if value is not None)])
        return self.settings.timeout_seconds(expr, scope)

    def _classify(self, call: cst.Call, scope: Scope, where: str) -> Optional[Term]:
        """A slow call in this file: its bound (see ``_kafka`` and ``_net``)."""
        func = call.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        evidence = Where(call)
        qualified = self.file.resolve(func)
        if qualified is not None and qualified in _kafka.SLEEPS and call.args:
            known, value = self._pause_seconds(call.args[0].value, scope)
            if not known or value is None:
                return None
            label = f"{qualified}({self.file.code(call.args[0].value)})"
            return Term(value, True, label, where, _kafka.SLEEPS[qualified], evidence)
        if qualified in _kafka.CHILD_WAITS:
            arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "timeout"), None)
            if arg is None:
                return Term(None, True, f"{qualified} without timeout", where, True, evidence)
            known, value = self.settings.timeout_seconds(arg.value, scope)
            return self._timeout_term(known, value, qualified, self.file.code(arg), where, True, evidence)
        if qualified is not None:
            slow = _kafka.FIREBASE_SENDS.get(qualified)
            if slow is not None:
                return self._firebase_term(slow, where, evidence)
            if _net.makes_request(qualified):
                net = _net.CALLS[qualified]
                label = qualified
                library = _net.library_of(qualified)
                arg = _net.timeout_argument(call, net)
                is_async = library == "aiohttp"
                if arg is not None:
                    known, value = self.settings.timeout_seconds(arg.value, scope)
                    return self._timeout_term(known, value, label, self.file.code(arg), where, not is_async, evidence)
                return self._default_term(library, net, label, where, not is_async, evidence, None)
            connector = _net.CALLS.get(qualified)
            if connector is not None and connector.timeout_mode == _net.FOREVER and connector.url_pos is None:
                # A socket-level client that connects when built (``smtplib.SMTP(host)``,
                # ``socket.create_connection(addr)``) and blocks without a timeout.
                if connector.connects_with_host_only and not call.args:
                    return None
                arg = _net.timeout_argument(call, connector)
                if arg is not None:
                    known, value = self.settings.timeout_seconds(arg.value, scope)
                    return self._timeout_term(known, value, qualified, self.file.code(arg), where, True, evidence)
                library = _net.library_of(qualified)
                return self._default_term(library, connector, qualified, where, True, evidence, None)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method in _kafka.GOOGLE_AUTH_REFRESH_METHODS and call.args:
            request = call.args[0].value
            made = agreed(self.file.table.kinds(request, scope, self.http_kinds))
            if isinstance(made, HttpClient) and made.constructor in _kafka.GOOGLE_AUTH_REQUEST:
                label = f"{_kafka.GOOGLE_AUTH_REQUEST_LABEL}, {self.file.code(func)}"
                return Term(_kafka.GOOGLE_AUTH_REQUEST_SECONDS, True, label, where, True, evidence)
        client = agreed(self.file.table.kinds(func.value, scope, self.http_kinds))
        if isinstance(client, HttpClient) and client.timeout is None and isinstance(func.value, cst.Name):
            client = self._passed_client(func.value.value, scope) or client
        if not isinstance(client, HttpClient) and isinstance(func.value, cst.Attribute):
            # ``proxy.ticket.create(...)``: a method in an xmlrpc namespace is a remote call too.
            outer = agreed(self.file.table.kinds(func.value.value, scope, self.http_kinds))
            if isinstance(outer, HttpClient) and outer.kind is _net.XMLRPC_PROXY:
                client = None if func.value.attr.value.startswith("_") else outer
        if not isinstance(client, HttpClient) and method in _net.GRPC_CALL_VARIANTS:
            # ``stub.GetUser.future(request)``: the stub is one attribute further out.
            if isinstance(func.value, cst.Attribute):
                stub = agreed(self.file.table.kinds(func.value.value, scope, self.http_kinds))
                if isinstance(stub, HttpClient) and stub.kind is _net.GRPC_STUB:
                    return self._grpc_term(func.value.attr.value, call, scope, where, evidence)
            return None
        if not isinstance(client, HttpClient):
            return None
        if client.kind is _net.GRPC_STUB:
            return self._grpc_term(method, call, scope, where, evidence)
        if client.kind is _net.XMLRPC_PROXY:
            if method.startswith("_"):
                return None
            # No timeout parameter: only the socket default (or a custom transport) bounds it.
            label = f"{self.file.code(func)} {XMLRPC_LABEL}"
            xmlrpc = _net.NetCall(_net.FOREVER, why=_net.SOCKET_DEFAULT_WHY)
            return self._default_term("xmlrpc", xmlrpc, label, where, True, evidence, client.timeout)
        if (dotted_name(func.value) or "") in self._configured_receivers():
            # A session given a custom adapter (which may set a timeout): its bound is unknown.
            return Term(None, False, f"{self.file.code(func)} (custom adapter)", where, True, evidence)
        return self._client_term(client, method, call, scope, where, evidence)

    def _passed_client(self, name: str, scope: Scope) -> Optional[HttpClient]:
        """``async def send_sms(client: httpx.AsyncClient, ...)``: the client the file's calls
        of the function hand in, when every call hands in one built the same way (its
        timeout is then known, not the library's default)."""
        table = self.file.table
        bindings = table.lookup(name, scope)
        function = scope.node
        if len(bindings) != 1 or bindings[0].kind is not BindingKind.PARAM or not isinstance(function, cst.FunctionDef):
            return None
        params = [*function.params.posonly_params, *function.params.params]
        index = next((i for i, p in enumerate(params) if p.name.value == name), None)
        if index is None:
            return None
        handed: List[HttpClient] = []
        for call, caller in self._calls_of(function.name.value):
            args = [a for a in call.args if a.keyword is None and not a.star]
            arg = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)
            if arg is None and index < len(args):
                arg = args[index].value
            made = agreed(table.kinds(arg, caller, self.http_kinds)) if arg is not None else None
            if not isinstance(made, HttpClient):
                return None
            handed.append(made)
        if not handed or any(h.timeout != handed[0].timeout for h in handed):
            return None
        return handed[0]

    def _calls_of(self, name: str) -> List[Tuple[cst.Call, Scope]]:
        """The file's calls of the bare name ``name``, with the scope each runs in."""
        if self._calls_by_name is None:
            self._calls_by_name = {}
            for inner in self.file.table.scopes():
                node = inner.node
                body = (
                    node.body if isinstance(node, cst.FunctionDef) else node if isinstance(node, cst.Module) else None
                )
                for call in calls_in(body) if body is not None else ():
                    if isinstance(call.func, cst.Name):
                        self._calls_by_name.setdefault(call.func.value, []).append((call, inner))
        return self._calls_by_name.get(name, [])

    def _offloaded(self, call: cst.Call) -> Optional[cst.Call]:
        """``asyncio.to_thread(requests.post, url, timeout=30)`` -> ``requests.post(url,
        timeout=30)``: the call the worker thread makes, which this one waits for."""
        func = call.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        position = _kafka.THREAD_OFFLOADS.get(self.file.resolve(func) or "")
        executor = isinstance(func, cst.Attribute) and func.attr.value == _kafka.RUN_IN_EXECUTOR
        if executor:
            position = 1
        if position is None or len(call.args) <= position:
            return None
        if any(arg.keyword is not None or arg.star for arg in call.args[: position + 1]):
            return None
        rest = call.args[position + 1 :]
        if executor and any(arg.keyword is not None for arg in rest):
            return None  # run_in_executor passes no keywords: not the executor's method
        return cst.Call(func=call.args[position].value, args=rest)

    def _grpc_term(self, rpc: str, call: cst.Call, scope: Scope, where: str, evidence: Where) -> Optional[Term]:
        """A unary call of a gRPC stub: its ``timeout=`` (a deadline), else it waits forever.
        Streaming methods (``WatchJobs``) are long-lived by design and not counted."""
        if any(word in rpc.lower() for word in _net.GRPC_STREAM_WORDS):
            return None
        label = self.file.code(call.func)  # ``risk.Score``: what the reader gives a ``timeout=``
        arg = _net.timeout_argument(call, _net.GRPC_CALL)
        if arg is not None:
            known, value = self.settings.timeout_seconds(arg.value, scope)
            return self._timeout_term(known, value, label, self.file.code(arg), where, True, evidence)
        return Term(None, True, f"{label} without timeout", where, True, evidence)

    def _configured_receivers(self) -> Set[str]:
        """Sessions this file configures (OPS502 leaves them alone too)."""
        if self._configured is None:
            self._configured = configured_receivers(self.file.ctx.module, self.file.resolve)
        return self._configured

    def _client_term(
        self, client: HttpClient, method: str, call: cst.Call, scope: Scope, where: str, evidence: Where
    ) -> Optional[Term]:
        short = client.constructor.rsplit(".", 1)[-1]
        label = f"{short}.{method}"
        if client.constructor in _kafka.AUTHORIZED_SESSION:
            if method not in _kafka.AUTHORIZED_SESSION_METHODS:
                return None
            net = _net.NetCall(_net.NONE_ONLY, 8 if method == "request" else None)
            arg = _net.timeout_argument(call, net)
            if arg is not None:
                known, value = self.settings.timeout_seconds(arg.value, scope)
                return self._timeout_term(known, value, label, self.file.code(arg), where, True, evidence)
            seconds = _kafka.AUTHORIZED_SESSION_SECONDS
            return Term(seconds, True, f"{label} default timeout", where, True, evidence)
        kind = client.kind
        if kind is None:
            return None
        method_call = kind.methods.get(method)
        if method_call is None or method_call.timeout_mode == _net.NEVER:
            return None
        net = method_call
        library = _net.library_of(client.constructor)
        is_async = library == "aiohttp" or client.constructor == "httpx.AsyncClient"
        arg = _net.timeout_argument(call, net)
        if arg is not None:
            known, value = self.settings.timeout_seconds(arg.value, scope)
            return self._timeout_term(known, value, label, self.file.code(arg), where, not is_async, evidence)
        return self._default_term(library, net, label, where, not is_async, evidence, client.timeout)

    def _default_term(
        self,
        library: str,
        net: _net.NetCall,
        label: str,
        where: str,
        sync: bool,
        evidence: Where,
        client_timeout: Optional[Tuple[bool, Optional[float]]],
    ) -> Optional[Term]:
        if client_timeout is not None:
            known, value = client_timeout
            if not known:
                return Term(None, False, label, where, sync, evidence)
            if value is None:
                return Term(None, True, f"{label} (client timeout=None)", where, sync, evidence)
            return Term(value, True, f"{label} (client timeout={_net.render_number(value)})", where, sync, evidence)
        if net.timeout_mode == _net.FOREVER and net.why == _net.SOCKET_DEFAULT_WHY:
            known, value = self._socket_default_timeout()
            if known and value is not None:
                label = f"{label} (socket.setdefaulttimeout({_net.render_number(value)}))"
                return Term(value, True, label, where, sync, evidence)
        if net.timeout_mode in (_net.FOREVER, _net.POOL):
            return Term(None, True, f"{label} without timeout", where, sync, evidence)
        seconds = _net.DEFAULT_TIMEOUT_SECONDS.get(library)
        if seconds is None:
            return None
        return Term(seconds, True, _net.DEFAULT_TIMEOUT_LABELS[library], where, sync, evidence)

    def _socket_default_timeout(self) -> Tuple[bool, Optional[float]]:
        """The seconds of this file's ``socket.setdefaulttimeout(N)``, called at module level
        or first thing in a top-level function (``main()`` before it builds the consumer):
        what every socket-based call without its own timeout waits at most (the largest,
        when several are set)."""
        if self._socket_default is None:
            self._socket_default = (False, None)
            module = self.file.ctx.module
            scope = self.file.table.module_scope
            if scope is None:
                return self._socket_default
            bodies: List[Sequence[cst.BaseStatement]] = [module.body]
            for stmt in module.body:
                if isinstance(stmt, (cst.FunctionDef, cst.If)) and isinstance(stmt.body, cst.IndentedBlock):
                    bodies.append(stmt.body.body)
            found: List[Tuple[bool, Optional[float]]] = []
            for body in bodies:
                for stmt in body:
                    for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                        value = small.value if isinstance(small, cst.Expr) else None
                        if (
                            isinstance(value, cst.Call)
                            and value.args
                            and self.file.resolve(value.func) == _net.SET_DEFAULT_TIMEOUT
                        ):
                            found.append(self.settings.timeout_seconds(value.args[0].value, scope))
            if found and all(known and seconds is not None for known, seconds in found):
                self._socket_default = (True, max(seconds for _, seconds in found if seconds is not None))
            elif found:
                self._socket_default = next((f for f in found if not f[0] or f[1] is None), found[0])
        return self._socket_default

    @staticmethod
    def _timeout_term(
        known: bool, value: Optional[float], label: str, text: str, where: str, sync: bool, evidence: Where
    ) -> Term:
        written = " ".join(text.replace(",", "").split())
        if not known:
            return Term(None, False, f"{label} {written}", where, sync, evidence)
        if value is None:
            return Term(None, True, f"{label} {written}", where, sync, evidence)
        return Term(value, True, f"{label} {written}", where, sync, evidence)

    def _firebase_term(self, slow: _kafka.SlowCall, where: str, evidence: Where) -> Term:
        known, value, how = self.settings.firebase_timeout()
        label = slow.default_label if how == "default" else f"{slow.label} ({how})"
        return Term(value, known, label, where, not slow.is_async, evidence)

    def _classify_site(
        self, site: CallSite, path: str, where: str, module: str = "", cls: Optional[str] = None
    ) -> Optional[Term]:
        """A slow call in another module, from its summary (callee and argument text);
        ``cls``: the class of the method it is in."""
        assert self.file.project is not None
        evidence = Where(path=path, span=self.file.project.current_span(path, site.span))
        callee = site.callee
        kwargs = dict(site.kwargs)
        slow = _kafka.FIREBASE_SENDS.get(callee)
        if slow is not None:
            return self._firebase_term(slow, where, evidence)
        if callee in _kafka.SLEEPS and site.args:
            number = _kafka.summary_number(site.args[0])
            if number is None:
                return None
            return Term(number, True, f"{callee}({site.args[0]})", where, _kafka.SLEEPS[callee], evidence)
        if callee in _kafka.CHILD_WAITS:
            text = kwargs.get("timeout")
            if text is None:
                return Term(None, True, f"{callee} without timeout", where, True, evidence)
            return self._site_term(
                text, "subprocess", _net.NetCall(_net.NONE_ONLY), callee, where, True, evidence, module
            )
        connector = _net.CALLS.get(callee)
        if connector is not None and connector.timeout_mode == _net.FOREVER and connector.url_pos is None:
            # ``http.client.HTTPSConnection(host, timeout=10)``, ``smtplib.SMTP(...)``: the
            # client's socket waits at most its timeout (as ``_classify`` reads one here).
            if connector.connects_with_host_only and not site.args:
                return None
            text = kwargs.get("timeout")
            if text is None and connector.timeout_pos is not None and len(site.args) > connector.timeout_pos:
                text = site.args[connector.timeout_pos]
            library = _net.library_of(callee)
            return self._site_term(text, library, connector, callee, where, True, evidence, module)
        if _net.makes_request(callee):
            net = _net.CALLS[callee]
            library = _net.library_of(callee)
            text = kwargs.get("timeout")
            if text is None and net.timeout_pos is not None and len(site.args) > net.timeout_pos:
                text = site.args[net.timeout_pos]
            return self._site_term(text, library, net, callee, where, library != "aiohttp", evidence, module)
        owner, _, method = callee.rpartition("().")
        if not owner:
            if method or "." not in callee:
                return None
            owner, method = callee.rsplit(".", 1)
            owner = ""
        if method in _kafka.GOOGLE_AUTH_REFRESH_METHODS and any(
            arg.startswith(tuple(f"{q}(" for q in _kafka.GOOGLE_AUTH_REQUEST)) for arg in site.args
        ):
            label = f"{_kafka.GOOGLE_AUTH_REQUEST_LABEL}, {site.raw or callee}"
            return Term(_kafka.GOOGLE_AUTH_REQUEST_SECONDS, True, label, where, True, evidence)
        if owner in _kafka.AUTHORIZED_SESSION and method in _kafka.AUTHORIZED_SESSION_METHODS:
            label = f"AuthorizedSession.{method}"
            text = kwargs.get("timeout")
            if text is None:
                return Term(_kafka.AUTHORIZED_SESSION_SECONDS, True, f"{label} default timeout", where, True, evidence)
            return self._site_term(text, "google", _net.NetCall(_net.NONE_ONLY), label, where, True, evidence, module)
        if _net.is_grpc_stub_class(owner):
            return self._grpc_site_term(site, owner, method, where, evidence)
        kind = _net.CLIENT_TYPES.get(owner)
        method_call = kind.methods.get(method) if kind is not None else None
        if method_call is None or method_call.timeout_mode == _net.NEVER:
            return None
        net = method_call
        library = _net.library_of(owner)
        label = f"{owner.rsplit('.', 1)[-1]}.{method}"
        text = kwargs.get("timeout")
        if text is None and net.timeout_pos is not None and len(site.args) > net.timeout_pos:
            text = site.args[net.timeout_pos]
        sync = library != "aiohttp" and owner != "httpx.AsyncClient"
        word = "timeout"
        if text is None and cls is not None and library in _net.CLIENT_WIDE_TIMEOUTS:
            # ``self._client.get(...)`` on ``httpx.Client(timeout=...)`` built in the class.
            text = self._constructed_timeout(cls, owner)
            word = "client timeout"
        return self._site_term(text, library, net, label, where, sync, evidence, module, word)

    def _constructed_timeout(self, cls: str, constructor: str) -> Optional[str]:
        """The ``timeout=`` text of the one ``constructor(...)`` call in the methods of a
        project class (the client its methods use), if there is exactly one."""
        assert self.file.project is not None
        summary = self.file.project.class_summary(cls)
        if summary is None:
            return None
        texts = []
        for name in summary.methods:
            method = self.file.project.method(cls, name)
            for site in method.calls if method is not None else ():
                if site.callee == constructor:
                    texts.append(dict(site.kwargs).get("timeout"))
        return texts[0] if len(texts) == 1 else None

    def _grpc_site_term(self, site: CallSite, stub: str, method: str, where: str, evidence: Where) -> Optional[Term]:
        """A unary gRPC call in another module (``_stub.Reserve(req)``, ``.future(req)``), as
        ``_grpc_term`` reads one in this file."""
        rpc, _, variant = method.partition(".")
        if variant and variant not in _net.GRPC_CALL_VARIANTS:
            return None
        if any(word in rpc.lower() for word in _net.GRPC_STREAM_WORDS):
            return None
        label = site.raw.rsplit(".", 1)[0] if variant and site.raw else site.raw or f"{stub.rsplit('.', 1)[-1]}.{rpc}"
        text = dict(site.kwargs).get("timeout")
        if text is None:
            return Term(None, True, f"{label} without timeout", where, True, evidence)
        return self._site_term(text, "grpc", _net.GRPC_CALL, label, where, True, evidence)

    def _site_term(
        self,
        text: Optional[str],
        library: str,
        net: _net.NetCall,
        label: str,
        where: str,
        sync: bool,
        evidence: Where,
        module: str = "",
        word: str = "timeout",
    ) -> Optional[Term]:
        """The term of a call whose timeout is written ``text`` (``word``: what gave it)."""
        if text is None:
            return self._default_term(library, net, label, where, sync, evidence, None)
        if text.strip() == "None":
            return Term(None, True, f"{label} {word}=None", where, sync, evidence)
        number = _kafka.summary_number(text)
        dotted = all(part.isidentifier() for part in text.split("."))
        if number is None and dotted and (module or "." in text):
            # ``timeout=DELIVERY_TIMEOUT_S``: a constant of a module (the index qualifies the
            # names it can resolve: ``webhooks.DELIVERY_TIMEOUT_S``).
            qualified = text if "." in text else f"{module}.{text}"
            known, value, _where = self.settings.module_constant(qualified)
            if known and isinstance(value, (int, float)) and not isinstance(value, bool):
                number = float(value)
        if number is None and not dotted:
            # ``(3.05, 27)``, ``httpx.Timeout(10.0, connect=3.0)``: read as a timeout here is.
            known, seconds = self._text_timeout(text)
            if known:
                if seconds is None:
                    return Term(None, True, f"{label} {word}={text}", where, sync, evidence)
                number = seconds
        if number is None:
            return Term(None, False, f"{label} {word}={text}", where, sync, evidence)
        return Term(number, True, f"{label} {word}={_net.render_number(number)}", where, sync, evidence)

    def _text_timeout(self, text: str) -> Tuple[bool, Optional[float]]:
        scope = self.file.table.module_scope
        if scope is None or len(text) > 120:
            return False, None
        try:
            expr = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return False, None
        return self.settings.timeout_seconds(expr, scope)


def _repeats(node: cst.CSTNode, integer: Callable[[cst.BaseExpression], Optional[int]]) -> Dict[int, int]:
    """id(call) -> how many times a ``for _ in range(N)`` loop around it (inside ``node``)
    may run it: a retry loop's worst case is every attempt."""
    out: Dict[int, int] = {}
    for loop in scope_nodes(node):
        if loop is node or not isinstance(loop, cst.For):
            continue
        times = _range_length(loop.iter, integer)
        if times is None or times <= 1:
            continue
        for call in calls_in(loop.body):
            out[id(call)] = out.get(id(call), 1) * times
    return out


def _range_length(expr: cst.BaseExpression, integer: Callable[[cst.BaseExpression], Optional[int]]) -> Optional[int]:
    """``range(5)`` -> 5, ``range(1, 4)`` -> 3, ``range(MAX_ATTEMPTS)`` with the constant
    bound once to a literal (``integer`` reads the bounds)."""
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "range"):
        return None
    if not 1 <= len(expr.args) <= 2 or any(a.keyword is not None or a.star for a in expr.args):
        return None
    numbers = [integer(a.value) for a in expr.args]
    if any(n is None for n in numbers):
        return None
    known = [n for n in numbers if n is not None]
    return known[0] if len(known) == 1 else known[1] - known[0]


#: ``stop=stop_after_attempt(5)`` of a tenacity ``@retry``: the function may run 5 times.
_STOP_AFTER = re.compile(r"^(?:tenacity\.)?stop_after_attempt\(\s*(\d+)\s*\)")


def _retry_attempts(decorator: str, kwargs: Sequence[Tuple[str, str]]) -> int:
    """How many times a retry decorator may run the function (1 when not known)."""
    if decorator != "tenacity.retry":
        return 1
    stop = next((text for key, text in kwargs if key == "stop"), "")
    # ``stop_after_attempt(5) | stop_after_delay(60)``: the first part bounds the attempts.
    found = _STOP_AFTER.match(stop.strip())
    return int(found.group(1)) if found else 1


def _repeated(term: Term, times: int) -> Term:
    if term.seconds is None:
        return term
    return replace(term, seconds=term.seconds * times, label=f"{term.label} × {times} attempts")


def _waited_submission(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The function of ``executor.submit(fn, ...).result()`` (waited for at once), else None."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "result":
        return None
    submitted = func.value
    if not isinstance(submitted, cst.Call) or not isinstance(submitted.func, cst.Attribute):
        return None
    if submitted.func.attr.value != "submit" or not submitted.args or submitted.args[0].keyword is not None:
        return None
    function = submitted.args[0].value
    return function if isinstance(function, (cst.Name, cst.Attribute)) else None


def _handed_off(node: cst.CSTNode) -> Set[int]:
    """Calls passed as arguments to ``Thread(target=...)`` are not made here; neither are
    the callables given to ``submit``/``create_task`` (not calls): nothing to skip but
    ``asyncio.create_task(coro(...))`` and ``loop.run_in_executor(...)`` arguments."""
    handed: Set[int] = set()
    for call in calls_in(node):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("create_task", "ensure_future", "run_in_executor"):
            for arg in call.args:
                for inner in calls_in(arg.value):
                    handed.add(id(inner))
        elif isinstance(func, cst.Name) and func.value in ("create_task", "ensure_future"):
            for arg in call.args:
                for inner in calls_in(arg.value):
                    handed.add(id(inner))
    return handed


def _cost(terms: List[Term]) -> float:
    """What ``terms`` can take together, for choosing the slowest of alternatives."""
    return sum(float("inf") if t.seconds is None else t.seconds for t in terms)
