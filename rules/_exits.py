"""The exit facts of a file, shared by OPS102-OPS104 (a declared analysis).

Where a file uses and drains its buffered clients, where the process hard-exits, forks,
sleeps or loops: collected once per file during the single traversal, whichever of the
three rules is enabled, and resolved lazily.  Which client a name holds is the answer
of ``_buffered.BufferedClients`` (on the binding table); SDK knowledge comes from
``_buffers.py``; entry points from ``opslint.analysis.entrypoints``.
Rules declare ``requires = (ExitFacts,)`` and read ``self.ctx.analysis(ExitFacts)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union, cast

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.entrypoints import EntryPoint, find_entry_points, run_callable, subcommand_dispatch
from opslint.analysis.scopes import Scope as TableScope
from opslint.edits import module_bindings
from opslint.rule import Rule
from opslint.rules import _buffers
from opslint.rules._buffered import BufferedClients, Client, ClientKey, FileClients, zero_timeout
from opslint.rules._buffers import BufferedSdk, Drain
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import keyword

Scope = Union[cst.FunctionDef, cst.Lambda]

#: Calls after which the code runs in a forked child (or is the parent of a daemonizing fork).
FORK_CALLS = frozenset({"os.fork", "os.forkpty", "pty.fork", "posix.fork"})
#: Calls that replace the process image: code after them only runs when exec failed, in a child.
EXEC_PREFIXES = ("os.exec", "posix.exec")
HARD_EXITS = frozenset({"os._exit", "posix._exit"})
#: Sleeps (OPS103): the blocking one and the awaitable ones of asyncio, trio and anyio.
SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep", "gevent.sleep"})
ATEXIT_REGISTER = frozenset({"atexit.register"})
#: Calls that run the atexit handlers explicitly: a hard exit after them skips nothing.
ATEXIT_RUN = frozenset({"atexit._run_exitfuncs"})
#: Callables whose ``target=`` runs in a child process.
PROCESS_TARGETS = frozenset({"multiprocessing.Process", "multiprocessing.context.Process", "billiard.Process"})
#: Installs a signal handler (a hard exit in it is asynchronous but runs in the main thread).
SIGNAL_INSTALLERS = frozenset({"signal.signal"})

#: Inits after which ``logger.error()``/``logger.exception()`` queue an event (sentry's default
#: LoggingIntegration, event_level=ERROR): init qualified name -> catalog key.
LOGGING_SDK_INITS = {"sentry_sdk.init": "sentry", "sentry_sdk.client.init": "sentry"}
LOGGED_EVENT_METHODS = frozenset({"error", "exception", "critical", "fatal"})

#: Methods that wait for a future; calls that wait for several.
FUTURE_WAITS = frozenset({"result", "get"})
FUTURE_WAIT_CALLS = frozenset({"concurrent.futures.wait", "concurrent.futures.as_completed"})


# -- records made during the traversal ---------------------------------------------------------


@dataclass
class CallRec:
    seq: int
    node: cst.Call
    qual: Optional[str]
    #: Enclosing functions/lambdas, outermost first.
    chain: Tuple[Scope, ...]
    cls: Optional[cst.ClassDef]
    #: ``client`` for ``client.track()``, ``self.producer`` for ``self.producer.produce()``.
    receiver: Optional[str]
    method: Optional[str]
    #: ``wait`` for ``client.flush_events().wait()``.
    then: Optional[str]
    #: The binding-table scope the call runs in.
    where: TableScope
    #: Ancestors (module ... the call), kept only for calls a rule reports on.
    stack: Tuple[cst.CSTNode, ...] = ()

    @property
    def scope(self) -> Optional[Scope]:
        return self.chain[-1] if self.chain else None


@dataclass
class LoopRec:
    node: Union[cst.While, cst.For]
    start: int
    end: int
    chain: Tuple[Scope, ...]
    cls: Optional[cst.ClassDef]
    where: TableScope


@dataclass
class _Named:
    """An expression that may name a client, where it is read (``with producer:``, ``f(producer)``)."""

    seq: int
    expr: cst.BaseExpression
    where: TableScope
    chain: Tuple[Scope, ...]
    cls: Optional[cst.ClassDef]
    node: cst.CSTNode


@dataclass
class Event:
    seq: int
    #: "use", "drain", "lookalike" (a drain that does not wait) or "pass" (given to a call).
    kind: str
    key: ClientKey
    node: cst.CSTNode
    scope: Optional[Scope]
    cls: Optional[cst.ClassDef]


class ExitFacts(Analysis):
    """What one file does with buffered clients and process exits: collected during the
    single traversal, resolved lazily on the first question (OPS102-OPS104 share it).
    Which client a name holds is :class:`~opslint.rules._buffered.BufferedClients`'s answer."""

    requires = (BufferedClients,)

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        self.imports = ctx.imports
        self.buffered = ctx.analysis(BufferedClients)
        self.table = self.buffered.table
        self.seq = 0
        self.calls: List[CallRec] = []
        #: ``os._exit`` handed to a call as a callback (``threading.Timer(600, os._exit, (1,))``).
        self.exit_refs: List[Tuple[CallRec, cst.BaseExpression]] = []
        self.loops: List[LoopRec] = []
        self._open_loops: Dict[int, LoopRec] = {}
        self.with_exits: List[_Named] = []
        self._open_withs: Dict[int, List[cst.BaseExpression]] = {}
        self.passes: List[_Named] = []
        self.defs: Dict[str, List[cst.FunctionDef]] = {}
        self.method_class: Dict[int, cst.ClassDef] = {}
        self.sigterm_mentioned = "SIGTERM" in ctx.text
        self._resolved = False
        #: Catalog key of an SDK whose init makes error log records into events (sentry).
        self.logging_sdk: Optional[str] = None
        self.files: Optional[FileClients] = None
        self.events: List[Event] = []
        self.clients: Dict[ClientKey, Client] = {}
        self._entries: Optional[List[EntryPoint]] = None
        self._dispatch: Optional[Dict[str, List[str]]] = None
        self._subcommands = "set_defaults" in ctx.text
        self._targets: Optional[Dict[int, List[Tuple[int, cst.FunctionDef]]]] = None
        #: id(function) -> its call sites (``call_sites``): asked per client and per exit.
        self._sites: Dict[int, List[CallRec]] = {}
        self._by_scope: Optional[Dict[int, List[Event]]] = None
        #: Module names bound once to a hard exit (``_terminate = os._exit``).
        self._aliases: Optional[Dict[str, str]] = None
        #: id(call) -> the ``try`` statements around it: (id(try), "body"/"handler"/"else"/"finally").
        self.try_parts: Dict[int, Tuple[Tuple[int, str], ...]] = {}

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _chain(self) -> Tuple[Tuple[Scope, ...], Optional[cst.ClassDef]]:
        chain: List[Scope] = []
        cls: Optional[cst.ClassDef] = None
        for node in self.ctx.stack[:-1]:
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                chain.append(node)
            elif isinstance(node, cst.ClassDef):
                cls = node
        return tuple(chain), cls

    # -- the traversal (dispatched by the engine before the rules) ---------------------

    def _exit_alias(self, func: cst.BaseExpression, where: Optional[TableScope]) -> Optional[str]:
        """``_terminate = os._exit`` bound once in the module (nowhere rebound, not shadowed
        where it is called), then ``_terminate(75)``."""
        if not isinstance(func, cst.Name):
            return None
        if self._aliases is None:
            self._aliases = _module_exit_aliases(self.ctx.module, self.imports)
        qual = self._aliases.get(func.value)
        if qual is None or where is None:
            return qual
        table = self.buffered.table
        found = table.lookup(func.value, where)
        return qual if found and all(b.scope is table.module_scope for b in found) else None

    def visit_Call(self, node: cst.Call) -> None:
        chain, cls = self._chain()
        _, where, qual = self.buffered.calls[-1]
        if qual is None:
            qual = self._exit_alias(node.func, where)
        receiver = method = then = None
        if isinstance(node.func, cst.Attribute):
            receiver = dotted_name(node.func.value)
            method = node.func.attr.value
            stack = self.ctx.stack
            if len(stack) >= 3 and isinstance(stack[-2], cst.Attribute) and isinstance(stack[-3], cst.Call):
                if stack[-2].value is node and stack[-3].func is stack[-2]:
                    then = stack[-2].attr.value
        keep = qual in HARD_EXITS or qual in SLEEPS or _statement_call_to_local(self.ctx.stack, node)
        stack_kept = tuple(self.ctx.stack) if keep else ()
        rec = CallRec(self._next(), node, qual, chain, cls, receiver, method, then, where, stack_kept)
        self.calls.append(rec)
        parts = _try_parts(self.ctx.stack)
        if parts:
            self.try_parts[id(node)] = parts
        for arg in node.args:
            if dotted_name(arg.value) is not None:
                self.passes.append(_Named(rec.seq, arg.value, where, chain, cls, node))
                if qual not in ATEXIT_REGISTER and self.imports.resolve(arg.value) in HARD_EXITS:
                    self.exit_refs.append((rec, arg.value))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.defs.setdefault(node.name.value, []).append(node)
        stack = self.ctx.stack
        if len(stack) >= 3 and isinstance(stack[-2], cst.IndentedBlock) and isinstance(stack[-3], cst.ClassDef):
            self.method_class[id(node)] = stack[-3]

    def visit_With(self, node: cst.With) -> None:
        names: List[cst.BaseExpression] = []
        for item in node.items:
            if isinstance(item.item, cst.Call):
                if item.asname is not None and dotted_name(item.asname.name) is not None:
                    names.append(cast(cst.BaseExpression, item.asname.name))
            elif dotted_name(item.item) is not None:
                names.append(item.item)
        self._open_withs[id(node)] = names

    def leave_With(self, original_node: cst.With) -> None:
        names = self._open_withs.pop(id(original_node), None)
        if names is None:
            return
        chain, cls = self._chain()
        seq = self._next()
        where = self.table.current()
        for name in names:
            self.with_exits.append(_Named(seq, name, where, chain, cls, original_node))

    def _loop(self, node: Union[cst.While, cst.For]) -> None:
        chain, cls = self._chain()
        self._open_loops[id(node)] = LoopRec(node, self._next(), 0, chain, cls, self.table.current())

    def _leave_loop(self, node: Union[cst.While, cst.For]) -> None:
        rec = self._open_loops.pop(id(node), None)
        if rec is not None:
            rec.end = self._next()
            self.loops.append(rec)

    def visit_While(self, node: cst.While) -> None:
        self._loop(node)

    def leave_While(self, original_node: cst.While) -> None:
        self._leave_loop(original_node)

    def visit_For(self, node: cst.For) -> None:
        self._loop(node)

    def leave_For(self, original_node: cst.For) -> None:
        self._leave_loop(original_node)

    # -- resolution ---------------------------------------------------------------------------

    def entries(self) -> List[EntryPoint]:
        if self._entries is None:
            self._entries = find_entry_points(
                self.ctx.module, self.imports, path=self.ctx.path, module_name=self.ctx.module_name
            )
        return self._entries

    def resolve(self, project: Any = None) -> None:
        """Classify the calls (``project``: the project index, when the run has one)."""
        if self._resolved:
            return
        self._resolved = True
        files = self.files = self.buffered.of(_buffers.CATALOG, project)
        if any(r.qual in LOGGING_SDK_INITS for r in self.calls):
            self.logging_sdk = LOGGING_SDK_INITS[next(r.qual for r in self.calls if r.qual in LOGGING_SDK_INITS)]
        for call_rec in self.calls:
            self._classify(files, call_rec)
        self._future_waits()
        holds = files.may_hold()
        for named in self.with_exits if holds else ():
            target = files.client_of(named.expr, named.where)
            if target is not None and target.sdk.context_manager:
                scope = named.chain[-1] if named.chain else None
                self.events.append(Event(named.seq, "drain", target.key, named.node, scope, named.cls))
        for named in self.passes if holds else ():
            target = files.client_of(named.expr, named.where)
            if target is not None:
                scope = named.chain[-1] if named.chain else None
                self.events.append(Event(named.seq, "pass", target.key, named.node, scope, named.cls))
        self.events.sort(key=lambda e: e.seq)
        for event in self.events:
            if event.key in self.clients:
                continue
            if event.key[0] == "module" and event.key not in files.clients:
                sdk = _buffers.by_key(str(event.key[1]))
                label = sdk.module_client or sdk.key
                self.clients[event.key] = Client(event.key, sdk, "module", label, event.node)
            else:
                self.clients[event.key] = files.clients[event.key]

    def _future_waits(self) -> None:
        """Waiting on futures (``f.result()``, ``concurrent.futures.wait``) drains future-returning clients
        (Pub/Sub ``publish``, kafka-python ``send``) used earlier in the same function."""
        future_keys = {e.key for e in self.events if e.kind == "use" and self._sdk_of(e.key).future_uses}
        if not future_keys:
            return
        for rec in self.calls:
            waits = rec.method == "result" or (rec.method == "get" and "fut" in (rec.receiver or "").lower())
            if not (waits and rec.receiver is not None) and rec.qual not in FUTURE_WAIT_CALLS:
                continue
            used = {e.key for e in self.events if e.key in future_keys and e.scope is rec.scope and e.seq < rec.seq}
            for key in used:
                self.events.append(Event(rec.seq, "drain", key, rec.node, rec.scope, rec.cls))

    def _sdk_of(self, key: ClientKey) -> BufferedSdk:
        if key[0] == "module":
            return _buffers.by_key(str(key[1]))
        assert self.files is not None
        return self.files.clients[key].sdk

    def _classify(self, files: FileClients, rec: CallRec) -> None:
        scope = rec.scope
        if rec.qual == _buffers.LOGGING_SHUTDOWN:
            # Flushes and closes every handler attached to logging, named or not.
            for key, held in files.clients.items():
                if held.sdk.global_uses:
                    self.events.append(Event(rec.seq, "drain", key, rec.node, scope, rec.cls))
            return
        if rec.qual is not None:
            found = _buffers.sdk_for_module_call(rec.qual)
            if found is not None:
                sdk, kind = found
                if sdk.key not in files.unbuffered_modules:
                    self.events.append(Event(rec.seq, kind, ("module", sdk.key), rec.node, scope, rec.cls))
                return
        runs = run_callable(rec.node, rec.qual)
        handed = self.imports.resolve(runs) if runs is not None else None
        if handed is not None:
            # ``pool.submit(job_event, ...)``: the handed function's effects happen here.
            self._project_call(files, rec, handed)
        if rec.qual is not None and self._project_call(files, rec):
            return
        if rec.method is None:
            return
        if rec.receiver is None:
            # ``get_producer().produce(...)``: a cached getter's client.
            if not (isinstance(rec.node.func, cst.Attribute) and isinstance(rec.node.func.value, cst.Call)):
                return
        elif self.logging_sdk is not None and rec.method in LOGGED_EVENT_METHODS and _is_logger(rec.receiver):
            # Sentry's default logging integration turns error records into events.
            self.events.append(Event(rec.seq, "use", ("module", self.logging_sdk), rec.node, scope, rec.cls))
            return
        if not files.may_hold():
            return
        receiver = cast(cst.Attribute, rec.node.func).value
        client = files.client_of(receiver, rec.where)
        if client is None and isinstance(receiver, cst.Call):
            client = files.inline_instance(receiver, rec.where)  # ``FlagAuditor(manifest).audit()``
        via_link = False
        if client is None:
            client = files.linked_owner(receiver, rec.where)
            via_link = client is not None
        if client is None:
            # ``tracer.start_as_current_span(...)``: a call that feeds every client of an SDK
            # whatever its receiver (spans reach the global tracer provider).
            for key, held in files.clients.items():
                # Only for SDKs that send in the background (spans): every logger call of the
                # file is not a use of each of its MemoryHandlers.
                if rec.method in held.sdk.global_uses and held.sdk.sends_in_background:
                    self.events.append(Event(rec.seq, "use", key, rec.node, scope, rec.cls))
            return
        method_kind = _method_kind(client.sdk, rec, via_link)
        if method_kind == "use" and client.sdk.future_uses and rec.then in FUTURE_WAITS:
            return  # ``publisher.publish(...).result()``: sent before the call returns
        if method_kind is not None:
            self.events.append(Event(rec.seq, method_kind, client.key, rec.node, scope, rec.cls))

    def _project_call(self, files: FileClients, rec: CallRec, qual: Optional[str] = None) -> bool:
        """A project function of another module that drains or feeds a process-wide client
        (``job_event(...)`` calls ``segment.track(...)`` in ``etl.telemetry``); ``qual``: the
        function the call runs when it is not the callee (``pool.submit(job_event, ...)``)."""
        called = qual or rec.qual
        assert called is not None
        effects = files.knowledge.effects(called)
        if not (effects.dirty or effects.drains):
            return False
        bound = id(rec.node) in files.by_value  # ``listener = configure_logging()``: the factory's client
        for kind, names in (("drain", effects.drains), ("use", effects.dirty)):
            for name in names:
                if bound and name.endswith("()") and name.rsplit(".", 1)[-1] == f"{called.rsplit('.', 1)[-1]}()":
                    continue  # the pipeline it installs is the client the name now holds
                obj = files.knowledge.object(name)
                if obj is not None:
                    client = files.project_client(obj, obj.name, rec.node, in_scope=False)
                    self.events.append(Event(rec.seq, kind, client.key, rec.node, rec.scope, rec.cls))
        return True

    # -- queries ----------------------------------------------------------------------------------

    def _scope_events(self, scope: Optional[Scope]) -> List[Event]:
        if self._by_scope is None:
            self._by_scope = {}
            for event in self.events:
                self._by_scope.setdefault(id(event.scope), []).append(event)
        return self._by_scope.get(id(scope), [])

    def events_in(self, scope: Optional[Scope], lo: int = 0, hi: int = 1 << 60) -> List[Event]:
        return [e for e in self._scope_events(scope) if lo < e.seq < hi]

    def drained(
        self, key: ClientKey, scope: Optional[Scope], after: int, before: int, at: Optional[cst.Call] = None
    ) -> bool:
        """A blocking drain of ``key`` in ``scope`` strictly between two points; with ``at``
        (the call at ``before``), not a drain in the body of a ``try`` whose handler holds
        ``at``: the exception may have come before the drain ran."""
        return any(
            e.key == key and e.kind == "drain" and after < e.seq < before and not self._skipped_by(e.node, at)
            for e in self._scope_events(scope)
        )

    def drained_by_calls(self, key: ClientKey, scope: Optional[Scope], before: int) -> bool:
        """A same-file function called from ``scope`` before ``before`` drains ``key`` itself,
        after the last call into a function that uses it (``Telemetry.track(...)`` ...
        ``Telemetry.flush()`` ... ``os._exit(0)``)."""
        targets = [(seq, f) for seq, f in self._call_targets(scope) if seq < before]
        last_use = max((seq for seq, f in targets if self._uses_in(key, f)), default=0)
        return any(seq > last_use and self.drained(key, f, 0, 1 << 60) for seq, f in targets)

    def raised_past(self, key: ClientKey, scope: Optional[Scope], at: cst.Call) -> bool:
        """The exit ``at`` runs in an ``except`` whose ``try`` body called a function that
        uses ``key`` (``try: run() except: os._exit(1)``): ``run()`` raised part-way, so the
        drain at its end (not in a ``finally``) did not run."""
        handlers = {t for t, part in self.try_parts.get(id(at), ()) if part == "handler"}
        if not handlers:
            return False
        for rec in self.calls:
            if rec.scope is not scope:
                continue
            if not any(t in handlers and part == "body" for t, part in self.try_parts.get(id(rec.node), ())):
                continue
            if any(self._uses_in(key, f) and not self._drains_finally(key, f) for f in self._resolve_callee(rec)):
                return True
        return False

    def _drains_finally(self, key: ClientKey, func: Scope) -> bool:
        return any(
            e.key == key
            and e.kind == "drain"
            and any(part == "finally" for _t, part in self.try_parts.get(id(e.node), ()))
            for e in self._scope_events(func)
        )

    def _uses_in(self, key: ClientKey, func: Scope) -> bool:
        scopes = [func, *self.reachable(func)]
        return any(e.key == key and e.kind == "use" for s in scopes for e in self._scope_events(s))

    def _skipped_by(self, drain: cst.CSTNode, at: Optional[cst.Call]) -> bool:
        if at is None:
            return False
        handlers = {t for t, part in self.try_parts.get(id(at), ()) if part == "handler"}
        return any(t in handlers and part == "body" for t, part in self.try_parts.get(id(drain), ()))

    def pending_in(
        self, scope: Optional[Scope], before: int, lo: int = 0, kinds: Tuple[str, ...] = ("use",)
    ) -> Dict[ClientKey, Event]:
        """Clients used in ``scope`` before ``before`` and not drained between their last use and it."""
        last: Dict[ClientKey, Event] = {}
        for event in self._scope_events(scope):
            if not lo < event.seq < before:
                continue
            if event.kind in kinds:
                last[event.key] = event
            elif event.kind == "drain":
                last.pop(event.key, None)
        return last

    def leftover_after_uses(self, scope: Optional[Scope]) -> Dict[ClientKey, Event]:
        """Clients a function uses and does not drain after its last use."""
        return self.pending_in(scope, 1 << 60)

    def functions(self) -> Dict[str, List[cst.FunctionDef]]:
        """Every function definition by name (module functions, methods, nested)."""
        return self.defs

    def callees(self, scope: Optional[Scope], lo: int = 0, hi: int = 1 << 60) -> List[cst.FunctionDef]:
        """Same-file functions called from ``scope`` between two points (by name)."""
        out: List[cst.FunctionDef] = []
        for seq, cand in self._call_targets(scope):
            if lo < seq < hi and cand not in out:
                out.append(cand)
        return out

    def _call_targets(self, scope: Optional[Scope]) -> List[Tuple[int, cst.FunctionDef]]:
        """(seq, callee) for every same-file call made directly in ``scope`` (computed once)."""
        if self._targets is None:
            self._targets = {}
            for rec in self.calls:
                for cand in self._resolve_callee(rec):
                    self._targets.setdefault(id(rec.scope), []).append((rec.seq, cand))
        return self._targets.get(id(scope), [])

    def call_sites(self, func: cst.FunctionDef) -> List[CallRec]:
        """Same-file calls of ``func`` made as whole statements (their ancestor stack is kept);
        computed once per function (OPS102 asks it for every client at every exit)."""
        found = self._sites.get(id(func))
        if found is None:
            found = self._sites[id(func)] = [
                r
                for r in self.calls
                if r.stack and r.qual is None and func in self._resolve_callee(r) and self._receiver_holds(r, func)
            ]
        return found

    def _receiver_holds(self, rec: CallRec, func: cst.FunctionDef) -> bool:
        """``job.run()`` calls the file's one ``run`` method only when ``job`` holds an
        instance of its class (``job = NightlyJob(dsn)``); ``self.run()``, ``NightlyJob(dsn).run()``
        and an argparse dispatch (``args.func(args)``) need no such proof."""
        called = rec.node.func
        if not isinstance(called, cst.Attribute) or not isinstance(called.value, cst.Name):
            return True
        receiver = called.value
        owner = self.method_class.get(id(func))
        if receiver.value in ("self", "cls") or owner is None or called.attr.value in self.dispatch():
            return True
        bindings = self.table.resolve(receiver, rec.where)
        return bool(bindings) and all(
            isinstance(b.value, cst.Call)
            and isinstance(b.value.func, cst.Name)
            and b.value.func.value == owner.name.value
            for b in bindings
        )

    def _resolve_callee(self, rec: CallRec) -> List[cst.FunctionDef]:
        defs = self.defs
        methods = self.method_class
        func: cst.BaseExpression = rec.node.func
        runs = run_callable(rec.node, rec.qual)
        if runs is not None:
            func = runs  # ``pool.submit(renew, s)`` runs ``renew``
        if isinstance(func, cst.Name):
            return [d for d in defs.get(func.value, []) if id(d) not in methods]
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            base = dotted_name(func.value)
            if base in ("self", "cls") and rec.cls is not None:
                return [d for d in defs.get(name, []) if methods.get(id(d)) is rec.cls]
            if rec.qual is None:
                owners = [d for d in defs.get(name, []) if id(d) in methods]
                if len(owners) == 1:
                    return owners
            if isinstance(func.value, cst.Name) and name in self.dispatch():
                # ``args.func(args)``: the argparse subcommand it runs.
                return [d for n in self.dispatch()[name] for d in defs.get(n, []) if id(d) not in methods]
        return []

    def dispatch(self) -> Dict[str, List[str]]:
        if self._dispatch is None:
            self._dispatch = subcommand_dispatch(self.ctx.module, self.defs) if self._subcommands else {}
        return self._dispatch

    def reachable(self, scope: Optional[Scope], lo: int = 0, hi: int = 1 << 60, depth: int = 3) -> List[Scope]:
        """Functions called (transitively, same file) from ``scope`` between two points."""
        seen: List[Scope] = []
        frontier = self.callees(scope, lo, hi)
        for _ in range(depth):
            nxt: List[cst.FunctionDef] = []
            for func in frontier:
                if func in seen or func is scope:
                    continue
                seen.append(func)
                nxt.extend(self.callees(func))
            frontier = nxt
        return seen


# -- small helpers -------------------------------------------------------------------------------


def _module_exit_aliases(module: cst.Module, imports: Any) -> Dict[str, str]:
    """Names the module's own code binds exactly once (``edits.module_bindings``), at its
    top level, to a hard exit (``_terminate = os._exit``)."""
    bindings = module_bindings(module)
    out: Dict[str, str] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
                continue
            target = small.targets[0].target
            resolved = imports.resolve(small.value)
            if isinstance(target, cst.Name) and resolved in HARD_EXITS and len(bindings.get(target.value, ())) == 1:
                out[target.value] = resolved
    return out


def _statement_call_to_local(stack: Sequence[cst.CSTNode], node: cst.Call) -> bool:
    """``helper()``, ``self.helper()``, ``job.run()`` or ``args.func(args)`` as a whole
    statement or returned (OPS103 follows tail calls into helpers; ``call_sites`` decides
    which of them call a function of the file)."""
    if len(stack) < 3 or not isinstance(stack[-2], (cst.Expr, cst.Return)) or stack[-2].value is not node:
        return False
    func = node.func
    if isinstance(func, cst.Name):
        return True
    if not isinstance(func, cst.Attribute):
        return False
    receiver = func.value
    if isinstance(receiver, cst.Call):
        return isinstance(receiver.func, cst.Name)  # ``ShipmentMirror(brokers).run()``
    # ``self.run()``, ``args.func(args)``, or ``job.run()`` of ``job = NightlyJob(...)``.
    return isinstance(receiver, cst.Name)


def _is_logger(receiver: str) -> bool:
    """``logger``, ``log``, ``self.logger``, ``logging``, ``LOG``."""
    last = receiver.rsplit(".", 1)[-1].lower()
    return "log" in last


def _method_kind(sdk: BufferedSdk, rec: CallRec, via_link: bool) -> Optional[str]:
    method = rec.method
    matched_drain = False
    for drain in sdk.drains:
        if drain.method != method:
            continue
        matched_drain = True
        if drain.blocks and _drain_matches(drain, rec):
            return "drain"
    if matched_drain:
        return "lookalike"
    if via_link:
        return None
    if sdk.uses:
        return "use" if method in sdk.uses else None
    return "use"


def _drain_matches(drain: Drain, rec: CallRec) -> bool:
    if drain.then and rec.then != drain.then:
        return False
    if zero_timeout(rec.node):
        return False  # ``producer.flush(0)``, ``flush(timeout=0)``: returns at once, nothing waits
    for name, value in drain.kwargs:
        arg = keyword(rec.node, name)
        if arg is None:
            return False
        given = arg.value
        if isinstance(given, cst.Name) and given.value != value:
            return False
    return True


def _try_parts(stack: Sequence[cst.CSTNode]) -> Tuple[Tuple[int, str], ...]:
    """The ``try`` statements around the visited node, with the part of each it is in."""
    out: List[Tuple[int, str]] = []
    for index, node in enumerate(stack[:-1]):
        if not isinstance(node, cst.Try):
            continue
        child = stack[index + 1]
        if child is node.body:
            out.append((id(node), "body"))
        elif isinstance(child, cst.ExceptHandler):
            out.append((id(node), "handler"))
        elif child is node.orelse:
            out.append((id(node), "else"))
        elif child is node.finalbody:
            out.append((id(node), "finally"))
    return tuple(out)


def statement_of(stack: Sequence[cst.CSTNode], call: cst.Call) -> Optional[cst.SimpleStatementLine]:
    """The statement line when ``call`` is the whole statement (``os._exit(1)`` on its own line)."""
    if len(stack) < 3:
        return None
    expr, line = stack[-2], stack[-3]
    if not isinstance(expr, cst.Expr) or expr.value is not call:
        return None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    return line


def line_indent(rule: Rule, node: cst.CSTNode) -> str:
    line, column = rule.position(node)
    text = rule.ctx.lines.line_text(line)
    return text[: column - 1]


def module_alias(rule: Rule, module: str) -> Optional[str]:
    """A local name bound to ``module`` itself (``analytics`` for ``import segment.analytics as analytics``)."""
    for local, full in rule.ctx.imports.aliases.items():
        if full == module:
            return local
    return None


def drain_text(
    rule: Rule, client: Client, scope: Optional[Scope], cls: Optional[cst.ClassDef], serverless: bool = False
) -> Optional[str]:
    """Source of the blocking drain call for ``client`` at a place, or None if it cannot be named there."""
    sdk = client.sdk
    if client.kind == "module":
        drain = sdk.fix_module_drain(serverless)
        if drain is None:
            return None
        module, _, func = drain.function.rpartition(".")
        alias = module_alias(rule, module)
        if alias is None:
            return None
        return f"{alias}.{func}()"
    drain = sdk.fix_drain(serverless)
    if drain is None or client.binding is None:
        return None
    receiver = client.label
    if client.linked_label:
        receiver = client.linked_label
    elif sdk.linked_attribute:
        receiver = f"{client.label}.{sdk.linked_attribute}"
    if client.kind == "attr":
        if (cls is None or client.owner is not cls) and not class_level(client):
            return None
    elif client.kind == "local":
        if scope is None or client.owner is not scope:
            return None
    return drain.render(receiver)  # ``await producer.stop()`` for a coroutine drain


def class_level(client: Client) -> bool:
    """A client bound in a class body (``class Telemetry: client = Client(...)``): one per
    process, reached as ``Telemetry.client`` from anywhere, not one per instance."""
    binding = client.binding
    return (
        client.kind == "attr"
        and binding is not None
        and binding.evaluated_in is None
        and isinstance(binding.node, cst.Name)
        and isinstance(client.owner, cst.ClassDef)
        and client.label.startswith(f"{client.owner.name.value}.")
    )


def one_per_buffer(
    clients: Iterable[Client], cls: Optional[cst.ClassDef], every: Iterable[Client] = ()
) -> List[Client]:
    """Clients sorted by label, a wrapper and the attribute it holds counted once: the
    attribute inside the wrapper's own methods, the wrapper elsewhere (``every``: all the
    file's clients, so that a drained wrapper also hides the attribute it holds)."""
    found = list(clients)
    wrapped = {
        c.sdk.key[len("wrapper:") :].rsplit(".", 1)[-1] for c in [*found, *every] if c.sdk.key.startswith("wrapper:")
    }
    out = []
    for client in found:
        owner = client.owner if client.kind == "attr" else None
        name = owner.name.value if isinstance(owner, cst.ClassDef) else None
        if name is not None and name in wrapped and owner is not cls:
            continue
        if client.sdk.key.startswith("wrapper:") and cls is not None:
            if client.sdk.key.rsplit(".", 1)[-1] == cls.name.value:
                continue
        out.append(client)
    return sorted(out, key=lambda c: c.label)


def describe(client: Client) -> str:
    """ "`producer` (confluent-kafka Producer)"."""
    return f"`{client.label}` ({client.sdk.display})"


def loss_text(rule: Rule, client: Client, scope: Optional[Scope], cls: Optional[cst.ClassDef]) -> str:
    """ "`producer` (confluent-kafka Producer) queues messages ..., so its unsent events are lost (drain ...)"."""
    drain = drain_text(rule, client, scope, cls) or client.sdk.drain_names()
    note = f" {client.sdk.buffer_note}," if client.sdk.buffer_note else ""
    return f"{describe(client)}{note} so its unsent events are lost (drain it first with `{drain}`)"


def describe_all(clients: Iterable[Client]) -> str:
    items = [describe(c) for c in clients]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# -- OPS102 -----------------------------------------------------------------------------------------
