"""The exit facts of a file, shared by OPS102-OPS104 (a declared analysis).

Which buffered clients a file creates and uses, where they are drained, where the
process hard-exits, forks, sleeps or loops: collected once per file during the single
traversal, whichever of the three rules is enabled, and resolved lazily.  SDK
knowledge comes from ``_buffers.py``; entry points from ``opslint.analysis.entrypoints``.
Rules declare ``requires = (ExitFacts,)`` and read ``self.ctx.analysis(ExitFacts)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.entrypoints import EntryPoint, find_entry_points
from opslint.rule import Rule
from opslint.rules import _buffers
from opslint.rules._buffers import BufferedSdk, Drain
from opslint.syntax.names import dotted_name

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

#: Catalog keys whose drains are coroutines (``await producer.stop()``).
ASYNC_DRAIN_SDKS = frozenset({"aiokafka"})

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
    #: Ancestors (module ... the call), kept only for calls a rule reports on.
    stack: Tuple[cst.CSTNode, ...] = ()

    @property
    def scope(self) -> Optional[Scope]:
        return self.chain[-1] if self.chain else None


@dataclass
class AssignRec:
    seq: int
    target: str
    call: cst.Call
    qual: str
    chain: Tuple[Scope, ...]
    cls: Optional[cst.ClassDef]
    #: Bound by ``with Ctor() as x`` (the ``with`` drains it on exit when the SDK supports it).
    with_node: Optional[cst.With] = None


@dataclass
class LoopRec:
    node: Union[cst.While, cst.For]
    start: int
    end: int
    chain: Tuple[Scope, ...]
    cls: Optional[cst.ClassDef]


@dataclass
class Binding:
    """A name (or ``self`` attribute) that holds a buffering client."""

    key: str
    label: str
    sdk: BufferedSdk
    node: cst.CSTNode
    unbuffered: bool = False
    #: Key of the named linked object that actually buffers (Mixpanel's ``consumer``).
    linked_label: Optional[str] = None
    with_node: Optional[cst.With] = None


@dataclass
class Event:
    seq: int
    #: "use", "drain", "lookalike" (a drain that does not wait) or "pass" (given to a call).
    kind: str
    key: str
    node: cst.CSTNode
    scope: Optional[Scope]
    cls: Optional[cst.ClassDef]


@dataclass
class Client:
    """A buffering client as the rules talk about it."""

    key: str
    label: str
    sdk: BufferedSdk
    #: Where it is created (a binding) or first used (a module-level client).
    node: cst.CSTNode
    #: "module" (SDK default client), "global", "attr" (on self) or "local".
    kind: str
    binding: Optional[Binding] = None


class ExitFacts(Analysis):
    """What one file does with buffered clients and process exits: collected during the
    single traversal, resolved lazily on the first question (OPS102-OPS104 share it)."""

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        self.imports = ctx.imports
        self.seq = 0
        self._last: Dict[str, int] = {}
        self.calls: List[CallRec] = []
        #: ``os._exit`` handed to a call as a callback (``threading.Timer(600, os._exit, (1,))``).
        self.exit_refs: List[Tuple[CallRec, cst.BaseExpression]] = []
        self.assigns: List[AssignRec] = []
        self.loops: List[LoopRec] = []
        self._open_loops: Dict[int, LoopRec] = {}
        self.with_exits: List[Tuple[int, str, Tuple[Scope, ...], Optional[cst.ClassDef], cst.With]] = []
        self._open_withs: Dict[int, Tuple[List[str], Tuple[Scope, ...], Optional[cst.ClassDef]]] = {}
        self.passes: List[Tuple[int, str, Tuple[Scope, ...], Optional[cst.ClassDef], cst.Call]] = []
        self.globals_declared: Dict[int, Set[str]] = {}
        self.defs: Dict[str, List[cst.FunctionDef]] = {}
        self.method_class: Dict[int, cst.ClassDef] = {}
        self.unbuffered_modules: Set[str] = set()
        self.sigterm_mentioned = "SIGTERM" in ctx.text
        self._resolved = False
        #: Catalog key of an SDK whose init makes error log records into events (sentry).
        self.logging_sdk: Optional[str] = None
        self.bindings: Dict[str, Binding] = {}
        self.linked: Dict[str, str] = {}
        self.events: List[Event] = []
        self.clients: Dict[str, Client] = {}
        self._entries: Optional[List[EntryPoint]] = None
        self._targets: Optional[Dict[int, List[Tuple[int, cst.FunctionDef]]]] = None
        self._by_scope: Optional[Dict[int, List[Event]]] = None

    # -- dedup: every rule forwards the same nodes ------------------------------------------

    def _first(self, kind: str, node: cst.CSTNode) -> bool:
        marker = id(node)
        if self._last.get(kind) == marker:
            return False
        self._last[kind] = marker
        return True

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
        # ``self`` belongs to the class only for methods defined directly in it.
        return tuple(chain), cls

    # -- traversal ------------------------------------------------------------------------------

    def on_call(self, node: cst.Call) -> None:
        if not self._first("call", node):
            return
        chain, cls = self._chain()
        qual = self.imports.resolve(node.func)
        receiver = method = then = None
        if isinstance(node.func, cst.Attribute):
            receiver = dotted_name(node.func.value)
            method = node.func.attr.value
            stack = self.ctx.stack
            if len(stack) >= 3 and isinstance(stack[-2], cst.Attribute) and isinstance(stack[-3], cst.Call):
                if stack[-2].value is node and stack[-3].func is stack[-2]:
                    then = stack[-2].attr.value
        keep = qual in HARD_EXITS or qual in SLEEPS or _statement_call_to_local(self.ctx.stack, node)
        rec = CallRec(
            self._next(), node, qual, chain, cls, receiver, method, then, tuple(self.ctx.stack) if keep else ()
        )
        self.calls.append(rec)
        for arg in node.args:
            text = dotted_name(arg.value)
            if text is not None:
                self.passes.append((rec.seq, text, chain, cls, node))
                if qual not in ATEXIT_REGISTER and self.imports.resolve(arg.value) in HARD_EXITS:
                    self.exit_refs.append((rec, arg.value))

    def on_assign(self, node: Union[cst.Assign, cst.AnnAssign]) -> None:
        if not self._first("assign", node):
            return
        value = node.value
        if isinstance(value, cst.Await):
            value = value.expression
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        if not isinstance(value, cst.Call):
            self._module_switch(targets, value)
            return
        qual = self.imports.resolve(value.func)
        if qual is None:
            return
        chain, cls = self._chain()
        for target in targets:
            text = dotted_name(target)
            if text is not None:
                self.assigns.append(AssignRec(self.seq, text, value, qual, chain, cls))

    def _module_switch(self, targets: Sequence[cst.BaseExpression], value: Optional[cst.BaseExpression]) -> None:
        if value is None:
            return
        code = self.ctx.module.code_for_node(value)
        for target in targets:
            qual = self.imports.resolve(target) if isinstance(target, cst.Attribute) else None
            if qual is None:
                continue
            for sdk in _buffers.CATALOG:
                if (qual, code) in sdk.unbuffered_assignments:
                    self.unbuffered_modules.add(sdk.key)

    def on_def(self, node: cst.FunctionDef) -> None:
        if not self._first("def", node):
            return
        self.defs.setdefault(node.name.value, []).append(node)
        stack = self.ctx.stack
        if len(stack) >= 3 and isinstance(stack[-2], cst.IndentedBlock) and isinstance(stack[-3], cst.ClassDef):
            self.method_class[id(node)] = stack[-3]

    def on_global(self, node: cst.Global) -> None:
        if not self._first("global", node):
            return
        chain, _ = self._chain()
        if chain:
            self.globals_declared.setdefault(id(chain[-1]), set()).update(n.name.value for n in node.names)

    def on_with(self, node: cst.With) -> None:
        if not self._first("with", node):
            return
        chain, cls = self._chain()
        names: List[str] = []
        for item in node.items:
            expr = item.item
            if isinstance(expr, cst.Call):
                qual = self.imports.resolve(expr.func)
                target = item.asname.name if item.asname is not None else None
                text = dotted_name(target) if target is not None else None
                if qual is not None and text is not None:
                    self.assigns.append(AssignRec(self._next(), text, expr, qual, chain, cls, with_node=node))
                    names.append(text)
            else:
                text = dotted_name(expr)
                if text is not None:
                    names.append(text)
        self._open_withs[id(node)] = (names, chain, cls)

    def on_leave_with(self, node: cst.With) -> None:
        opened = self._open_withs.pop(id(node), None)
        if opened is None:
            return
        names, chain, cls = opened
        seq = self._next()
        for name in names:
            self.with_exits.append((seq, name, chain, cls, node))

    def on_loop(self, node: Union[cst.While, cst.For]) -> None:
        if not self._first("loop", node):
            return
        chain, cls = self._chain()
        rec = LoopRec(node, self._next(), 0, chain, cls)
        self._open_loops[id(node)] = rec

    # -- the traversal (dispatched by the engine before the rules) ---------------------

    def visit_Call(self, node: cst.Call) -> None:
        self.on_call(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.on_assign(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.on_assign(node)

    def visit_Global(self, node: cst.Global) -> None:
        self.on_global(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.on_def(node)

    def visit_With(self, node: cst.With) -> None:
        self.on_with(node)

    def leave_With(self, original_node: cst.With) -> None:
        self.on_leave_with(original_node)

    def visit_While(self, node: cst.While) -> None:
        self.on_loop(node)

    def leave_While(self, original_node: cst.While) -> None:
        self.on_leave_loop(original_node)

    def visit_For(self, node: cst.For) -> None:
        self.on_loop(node)

    def leave_For(self, original_node: cst.For) -> None:
        self.on_leave_loop(original_node)

    def on_leave_loop(self, node: Union[cst.While, cst.For]) -> None:
        rec = self._open_loops.pop(id(node), None)
        if rec is None:
            return
        rec.end = self._next()
        self.loops.append(rec)

    # -- resolution ---------------------------------------------------------------------------

    def entries(self) -> List[EntryPoint]:
        if self._entries is None:
            self._entries = find_entry_points(
                self.ctx.module, self.imports, path=self.ctx.path, module_name=self.ctx.module_name
            )
        return self._entries

    def key_for(self, text: str, chain: Sequence[Scope], cls: Optional[cst.ClassDef], binding: bool = False) -> str:
        """The binding key a name has at a place (``binding``: where it is assigned)."""
        head = text.split(".", 1)[0]
        if head in ("self", "cls") and "." in text and cls is not None:
            return f"attr:{id(cls)}:{text.split('.', 1)[1]}"
        if "." in text:
            return f"global:{text}"
        if binding:
            if chain and text not in self.globals_declared.get(id(chain[-1]), set()):
                return f"local:{id(chain[-1])}:{text}"
            return f"global:{text}"
        for scope in reversed(chain):
            key = f"local:{id(scope)}:{text}"
            if key in self.bindings or key in self.linked:
                return key
            if isinstance(scope, cst.FunctionDef) and _is_parameter(scope, text):
                return key
        return f"global:{text}"

    def lookup(
        self, text: str, chain: Sequence[Scope], cls: Optional[cst.ClassDef], known: Dict[str, List[BufferedSdk]]
    ) -> str:
        """Like :meth:`key_for`, for names bound in ``known`` (keys of linked buffering objects)."""
        if "." in text:
            return self.key_for(text, chain, cls)
        for scope in reversed(chain):
            key = f"local:{id(scope)}:{text}"
            if key in known:
                return key
        return f"global:{text}"

    def resolve(self) -> None:
        if self._resolved:
            return
        self._resolved = True
        if any(r.qual in LOGGING_SDK_INITS for r in self.calls):
            self.logging_sdk = LOGGING_SDK_INITS[next(r.qual for r in self.calls if r.qual in LOGGING_SDK_INITS)]
        linked_objects: Dict[str, List[BufferedSdk]] = {}
        for rec in self.assigns:
            key = self.key_for(rec.target, rec.chain, rec.cls, binding=True)
            sdks = _buffers.sdk_for_constructor(rec.qual)
            if sdks:
                binding = self._binding(key, rec, sdks, linked_objects)
                if binding is not None:
                    self.bindings[key] = binding
                    if binding.linked_label is not None:
                        linked_key = self.lookup(binding.linked_label, rec.chain, rec.cls, linked_objects)
                        self.linked[linked_key] = key
                continue
            linked = _buffers.linked_sdk(rec.qual)
            if linked:
                linked_objects[key] = linked
        for call_rec in self.calls:
            self._classify(call_rec)
        self._future_waits()
        for seq, name, chain, cls, with_node in self.with_exits:
            key = self.key_for(name, chain, cls)
            target = self.bindings.get(key)
            if target is not None and target.sdk.context_manager:
                self.events.append(Event(seq, "drain", key, with_node, chain[-1] if chain else None, cls))
        for seq, text, chain, cls, call in self.passes:
            key = self.key_for(text, chain, cls)
            if key in self.bindings:
                self.events.append(Event(seq, "pass", key, call, chain[-1] if chain else None, cls))
        self.events.sort(key=lambda e: e.seq)
        for event in self.events:
            if event.key in self.clients:
                continue
            if event.key.startswith("module:"):
                sdk = _buffers.by_key(event.key[len("module:") :])
                self.clients[event.key] = Client(event.key, sdk.module_client or sdk.key, sdk, event.node, "module")
            else:
                binding = self.bindings[event.key]
                kind = event.key.split(":", 1)[0]
                self.clients[event.key] = Client(event.key, binding.label, binding.sdk, binding.node, kind, binding)

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

    def _sdk_of(self, key: str) -> BufferedSdk:
        if key.startswith("module:"):
            return _buffers.by_key(key[len("module:") :])
        return self.bindings[key].sdk

    def _binding(
        self, key: str, rec: AssignRec, sdks: List[BufferedSdk], linked_objects: Dict[str, List[BufferedSdk]]
    ) -> Optional[Binding]:
        call = rec.call
        label = rec.target
        chosen: Optional[BufferedSdk] = None
        linked_label: Optional[str] = None
        for sdk in sdks:
            if not sdk.linked_kwarg:
                chosen = sdk
                break
            value = _kwarg(call, sdk.linked_kwarg)
            if value is None:
                continue
            if isinstance(value, cst.Call):
                if self.imports.resolve(value.func) in sdk.linked_constructors:
                    chosen = sdk
                    break
                continue
            text = dotted_name(value)
            if text is None:
                continue
            linked_key = self.lookup(text, rec.chain, rec.cls, linked_objects)
            if sdk in linked_objects.get(linked_key, ()):
                chosen, linked_label = sdk, text
                break
        if chosen is None:
            return None
        unbuffered = _unbuffered(chosen, call, self.ctx.module)
        if chosen.linked_constructors and not chosen.linked_kwarg:
            # OTel providers buffer only with a batch processor somewhere in the file.
            unbuffered = unbuffered or not any(
                r.qual in chosen.linked_constructors for r in self.calls if r.qual is not None
            )
        return Binding(key, label, chosen, call, unbuffered, linked_label, rec.with_node)

    def _classify(self, rec: CallRec) -> None:
        scope = rec.scope
        if rec.qual is not None:
            found = _buffers.sdk_for_module_call(rec.qual)
            if found is not None:
                sdk, kind = found
                if sdk.key not in self.unbuffered_modules:
                    self.events.append(Event(rec.seq, kind, f"module:{sdk.key}", rec.node, scope, rec.cls))
                return
        if rec.receiver is None or rec.method is None:
            return
        if self.logging_sdk is not None and rec.method in LOGGED_EVENT_METHODS and _is_logger(rec.receiver):
            # Sentry's default logging integration turns error records into events.
            self.events.append(Event(rec.seq, "use", f"module:{self.logging_sdk}", rec.node, scope, rec.cls))
            return
        key = self.key_for(rec.receiver, rec.chain, rec.cls)
        binding = self.bindings.get(key)
        via_link = False
        if binding is None and key in self.linked:
            binding, via_link = self.bindings.get(self.linked[key]), True
        if binding is None and "." in rec.receiver:
            base, _, attr = rec.receiver.rpartition(".")
            owner = self.bindings.get(self.key_for(base, rec.chain, rec.cls))
            if owner is not None and attr == owner.sdk.linked_attribute:
                binding, via_link = owner, True
        if binding is None or binding.unbuffered:
            return
        method_kind = _method_kind(binding.sdk, rec, via_link)
        if method_kind == "use" and binding.sdk.future_uses and rec.then in FUTURE_WAITS:
            return  # ``publisher.publish(...).result()``: sent before the call returns
        if method_kind is not None:
            self.events.append(Event(rec.seq, method_kind, binding.key, rec.node, scope, rec.cls))

    # -- queries ----------------------------------------------------------------------------------

    def _scope_events(self, scope: Optional[Scope]) -> List[Event]:
        if self._by_scope is None:
            self._by_scope = {}
            for event in self.events:
                self._by_scope.setdefault(id(event.scope), []).append(event)
        return self._by_scope.get(id(scope), [])

    def events_in(self, scope: Optional[Scope], lo: int = 0, hi: int = 1 << 60) -> List[Event]:
        return [e for e in self._scope_events(scope) if lo < e.seq < hi]

    def drained(self, key: str, scope: Optional[Scope], after: int, before: int) -> bool:
        """A blocking drain of ``key`` in ``scope`` strictly between two points."""
        return any(e.key == key and e.kind == "drain" and after < e.seq < before for e in self._scope_events(scope))

    def pending_in(
        self, scope: Optional[Scope], before: int, lo: int = 0, kinds: Tuple[str, ...] = ("use",)
    ) -> Dict[str, Event]:
        """Clients used in ``scope`` before ``before`` and not drained between their last use and it."""
        last: Dict[str, Event] = {}
        for event in self._scope_events(scope):
            if not lo < event.seq < before:
                continue
            if event.kind in kinds:
                last[event.key] = event
            elif event.kind == "drain":
                last.pop(event.key, None)
        return last

    def leftover_after_uses(self, scope: Optional[Scope]) -> Dict[str, Event]:
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
        """Same-file calls of ``func`` made as whole statements (their ancestor stack is kept)."""
        return [r for r in self.calls if r.stack and r.qual is None and func in self._resolve_callee(r)]

    def _resolve_callee(self, rec: CallRec) -> List[cst.FunctionDef]:
        defs = self.defs
        methods = self.method_class
        func = rec.node.func
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
        return []

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


def _statement_call_to_local(stack: Sequence[cst.CSTNode], node: cst.Call) -> bool:
    """``helper()`` / ``self.helper()`` as a whole statement (OPS103 follows tail calls into helpers)."""
    if len(stack) < 3 or not isinstance(stack[-2], cst.Expr) or stack[-2].value is not node:
        return False
    func = node.func
    if isinstance(func, cst.Name):
        return True
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls")


def _is_logger(receiver: str) -> bool:
    """``logger``, ``log``, ``self.logger``, ``logging``, ``LOG``."""
    last = receiver.rsplit(".", 1)[-1].lower()
    return "log" in last


def _kwarg(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _unbuffered(sdk: BufferedSdk, call: cst.Call, module: cst.Module) -> bool:
    for name, value in sdk.unbuffered_kwargs:
        given = _kwarg(call, name)
        if given is not None and module.code_for_node(given) == value:
            return True
    if sdk.buffered_only_with:
        return not any(
            (given := _kwarg(call, name)) is not None and module.code_for_node(given) == value
            for name, value in sdk.buffered_only_with
        )
    return False


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
    for name, value in drain.kwargs:
        given = _kwarg(rec.node, name)
        if given is None:
            return False
        if isinstance(given, cst.Name) and given.value != value:
            return False
    return True


def _is_parameter(func: cst.FunctionDef, name: str) -> bool:
    params = func.params
    every = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    for extra in (params.star_arg, params.star_kwarg):
        if isinstance(extra, cst.Param):
            every.append(extra)
    return any(p.name.value == name for p in every)


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
    binding = client.binding
    drain = sdk.fix_drain(serverless)
    if drain is None or binding is None:
        return None
    receiver = binding.label
    if binding.linked_label is not None:
        receiver = binding.linked_label
    elif sdk.linked_attribute:
        receiver = f"{binding.label}.{sdk.linked_attribute}"
    if client.kind == "attr":
        if cls is None or not client.key.startswith(f"attr:{id(cls)}:"):
            return None
    elif client.kind == "local":
        if scope is None or not client.key.startswith(f"local:{id(scope)}:"):
            return None
    call = drain.render(receiver)
    return f"await {call}" if sdk.key in ASYNC_DRAIN_SDKS else call


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
