"""OPS102 hard-exit-skips-drain, and the per-file exit facts shared by OPS102-OPS104.

The facts (which buffered clients a file creates and uses, where they are
drained, where the process hard-exits, forks, sleeps or loops) are collected
once per file during the single traversal, whichever of the three rules is
enabled, and resolved lazily in ``leave_Module``.  SDK knowledge comes from
``_buffers.py``; entry points from ``opslint.analysis.entrypoints``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.entrypoints import EntryPoint, find_entry_points
from opslint.rule import PendingFix, RelatedNode, Rule
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

SHARED_KEY = "ops1xx.exit-facts"


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


class ExitFacts:
    """What one file does with buffered clients and process exits."""

    def __init__(self, rule: Rule) -> None:
        self.ctx = rule.ctx
        self.imports = rule.ctx.imports
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
        self.sigterm_mentioned = "SIGTERM" in rule.ctx.text
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


def facts_for(rule: Rule) -> ExitFacts:
    facts = rule.ctx.shared.get(SHARED_KEY)
    if not isinstance(facts, ExitFacts):
        facts = ExitFacts(rule)
        rule.ctx.shared[SHARED_KEY] = facts
    return facts


class ExitFactsRule(Rule):
    """Base for OPS102-OPS104: forwards the nodes the shared facts need."""

    def visit_Call(self, node: cst.Call) -> None:
        facts_for(self).on_call(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        facts_for(self).on_assign(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        facts_for(self).on_assign(node)

    def visit_Global(self, node: cst.Global) -> None:
        facts_for(self).on_global(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts_for(self).on_def(node)

    def visit_With(self, node: cst.With) -> None:
        facts_for(self).on_with(node)

    def leave_With(self, original_node: cst.With) -> None:
        facts_for(self).on_leave_with(original_node)

    def visit_While(self, node: cst.While) -> None:
        facts_for(self).on_loop(node)

    def leave_While(self, original_node: cst.While) -> None:
        facts_for(self).on_leave_loop(original_node)

    def visit_For(self, node: cst.For) -> None:
        facts_for(self).on_loop(node)

    def leave_For(self, original_node: cst.For) -> None:
        facts_for(self).on_leave_loop(original_node)


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


@dataclass
class _ExitVerdict:
    clients: List[Client] = field(default_factory=list)
    atexit_nodes: List[cst.CSTNode] = field(default_factory=list)


class HardExitSkipsDrain(ExitFactsRule):
    """`os._exit()` ends the process without draining buffered clients or running atexit.

    ## What it does
    Flags `os._exit()` on a path after a buffering SDK client was used (an
    analytics, A/B-testing, error-tracking, tracing or Kafka producer client
    from the catalog), or in a program that registers `atexit` handlers.
    `os._exit()` skips atexit handlers, `finally` blocks, the SDKs' own exit
    hooks and any flush: whatever the client still holds in memory is lost.

    A fork child is exempt (after `os.fork()` a child must leave with
    `os._exit()`), as are the first parents of a daemonizing double fork, code
    after a failed `exec*`, a function that only runs in a forked child, a hard
    exit inside an atexit handler, and a hard exit after every used client was
    drained.

    ## Why it matters
    Incident 000: a job sent A/B-testing events through the Hackle SDK, which
    queues them and flushes every 10 seconds from a daemon thread; once the job
    ran as a short-lived ECS task the process ended before the flush and only
    one event ever arrived, with no error.  A hard exit loses the buffer the
    same way even for SDKs that drain at exit: drain first (`client.close()`
    for Hackle, `flush()` for Segment, PostHog, Kafka producers and Mixpanel's
    `BufferedConsumer`, `sentry_sdk.flush()`, `force_flush()` for
    OpenTelemetry).

    ## Example
    ```python
    import os
    from confluent_kafka import Producer

    def main():
        producer = Producer({"bootstrap.servers": "kafka:9092"})
        producer.produce("events", b"done")
        os._exit(0)
    ```

    ## Use instead
    ```python
    import os
    from confluent_kafka import Producer

    def main():
        producer = Producer({"bootstrap.servers": "kafka:9092"})
        producer.produce("events", b"done")
        producer.flush()
        os._exit(0)
    ```

    ## Fix safety
    Unsafe.  When the used clients are in scope, the fix inserts their
    blocking drain before `os._exit()`; a drain can block (Hackle's `close()`
    up to 10 s, confluent-kafka's `flush()` until delivery).  When the program
    registers atexit handlers, the fix replaces `os._exit(code)` with
    `sys.exit(code)`, which raises `SystemExit`: `except BaseException`
    blocks and `finally` clauses now run, and in a non-main thread it only ends
    the thread.  A hard exit inside a lambda or a callback gets no automatic fix.

    ## See also
    OPS101 (a buffered client never drained), OPS104 (SIGTERM kills the
    process without running atexit).
    """

    code = "OPS102"
    name = "hard-exit-skips-drain"
    message = "{call} exits without running atexit handlers, `finally` blocks or flushes: {loss}"
    tokens = ("_exit",)
    fix_availability = "sometimes"

    def leave_Module(self, original_node: cst.Module) -> None:
        facts = facts_for(self)
        exits: List[Tuple[CallRec, Optional[cst.BaseExpression]]] = [
            (r, None) for r in facts.calls if r.qual in HARD_EXITS
        ]
        exits += facts.exit_refs
        if not exits:
            return
        facts.resolve()
        child_only = self._child_only_functions(facts)
        registered = self._atexit_handlers(facts)
        atexit_nodes: List[cst.CSTNode] = [r.node for r in facts.calls if r.qual in ATEXIT_REGISTER]
        atexit_nodes += self._atexit_decorators(facts)
        callbacks = _callback_functions(facts)
        for rec, ref in exits:
            if self._after_fork(facts, rec) or any(s in child_only for s in rec.chain):
                continue
            verdict = _ExitVerdict()
            asynchronous = (
                ref is not None
                or any(isinstance(s, cst.Lambda) for s in rec.chain)
                or any(isinstance(s, cst.FunctionDef) and s.name.value in callbacks for s in rec.chain)
            )
            verdict.clients = self._live_clients(facts, rec, asynchronous)
            in_handler = any(isinstance(s, cst.FunctionDef) and s.name.value in registered for s in rec.chain)
            ran_exitfuncs = any(r.qual in ATEXIT_RUN and r.scope is rec.scope and r.seq < rec.seq for r in facts.calls)
            if atexit_nodes and not in_handler and not ran_exitfuncs:
                verdict.atexit_nodes = atexit_nodes
            if not verdict.clients and not verdict.atexit_nodes:
                continue
            self._report(facts, rec, verdict, asynchronous, ref)

    # -- exemptions ------------------------------------------------------------------------------

    @staticmethod
    def _forks_before(facts: ExitFacts, scope: Optional[Scope], seq: int) -> bool:
        for r in facts.calls:
            if r.scope is not scope or r.seq >= seq or r.qual is None:
                continue
            if r.qual in FORK_CALLS or r.qual.startswith(EXEC_PREFIXES):
                return True
        return False

    def _after_fork(self, facts: ExitFacts, rec: CallRec) -> bool:
        scopes: List[Optional[Scope]] = list(rec.chain) or [None]
        # A lambda or nested function is in the child when its definer forked first.
        return any(self._forks_before(facts, s, rec.seq) for s in scopes)

    def _child_only_functions(self, facts: ExitFacts) -> Set[cst.FunctionDef]:
        """Functions whose every same-file call site runs in a forked child (or a Process target)."""
        defs = facts.functions()
        sites: Dict[str, List[bool]] = {}
        for r in facts.calls:
            func = r.node.func
            name = func.value if isinstance(func, cst.Name) else None
            if isinstance(func, cst.Attribute) and dotted_name(func.value) in ("self", "cls"):
                name = func.attr.value
            if name is None or name not in defs:
                continue
            sites.setdefault(name, []).append(self._after_fork(facts, r))
        targets: Set[str] = set()
        for r in facts.calls:
            if r.qual in PROCESS_TARGETS:
                value = _kwarg(r.node, "target")
            elif _kwarg(r.node, "after_in_child") is not None:
                # ``os.register_at_fork`` itself or an alias of it (``getattr(os, "register_at_fork")``).
                value = _kwarg(r.node, "after_in_child")
            else:
                continue
            text = dotted_name(value) if value is not None else None
            if text is not None:
                targets.add(text.rsplit(".", 1)[-1])
        out: Set[cst.FunctionDef] = set()
        for name, flags in sites.items():
            if flags and all(flags):
                out.update(defs[name])
        for name in targets:
            out.update(defs.get(name, []))
        # ``run()`` of a ``multiprocessing.Process`` subclass runs in the child process.
        for run in defs.get("run", []):
            owner = facts.method_class.get(id(run))
            if owner is not None and any(facts.imports.resolve(b.value) in PROCESS_TARGETS for b in owner.bases):
                out.add(run)
        return out

    @staticmethod
    def _atexit_handlers(facts: ExitFacts) -> Set[str]:
        names: Set[str] = set()
        for r in facts.calls:
            if r.qual in ATEXIT_REGISTER and r.node.args:
                text = dotted_name(r.node.args[0].value)
                if text is not None:
                    names.add(text.rsplit(".", 1)[-1])
        for func in facts.functions().values():
            for d in func:
                if any(facts.imports.resolve(dec.decorator) in ATEXIT_REGISTER for dec in d.decorators):
                    names.add(d.name.value)
        return names

    @staticmethod
    def _atexit_decorators(facts: ExitFacts) -> List[cst.CSTNode]:
        """``@atexit.register`` decorators."""
        return [
            dec
            for defs in facts.functions().values()
            for d in defs
            for dec in d.decorators
            if facts.imports.resolve(dec.decorator) in ATEXIT_REGISTER
        ]

    # -- live clients ----------------------------------------------------------------------------

    @staticmethod
    def _live_clients(facts: ExitFacts, rec: CallRec, asynchronous: bool) -> List[Client]:
        scope = rec.scope
        live: List[Client] = []
        earlier = facts.reachable(scope, 0, rec.seq)
        later = facts.reachable(scope, rec.seq)
        for key, client in facts.clients.items():
            uses = [e for e in facts.events if e.key == key and e.kind == "use"]
            if asynchronous and uses and client.kind != "local":
                # A callback exit can fire at any time: any use of a long-lived client counts,
                # unless the callback drains it itself before exiting.
                if not facts.drained(key, scope, 0, rec.seq):
                    live.append(client)
                continue
            here = [e for e in uses if e.scope is scope and e.seq < rec.seq]
            if here:
                if not facts.drained(key, scope, max(e.seq for e in here), rec.seq):
                    live.append(client)
                continue
            # Not used here: only clients that outlive a function matter.
            if client.kind == "local":
                continue
            if client.kind == "attr" and (rec.cls is None or not key.startswith(f"attr:{id(rec.cls)}:")):
                continue
            # Functions this one only calls after the exit have not run yet.
            elsewhere = [e for e in uses if e.scope is not scope and not (e.scope in later and e.scope not in earlier)]
            if not elsewhere or facts.drained(key, scope, 0, rec.seq):
                continue
            # A synchronous exit runs after the other functions returned: their own drains count.
            if not asynchronous and all(key not in facts.leftover_after_uses(e.scope) for e in elsewhere):
                continue
            live.append(client)
        # Clients local to functions this one called before the exit and left undrained:
        # their SDK exit hooks (or nothing) were the only drain left.
        for func in earlier:
            for key in facts.leftover_after_uses(func):
                client = facts.clients[key]
                if client.kind == "local" and client not in live and not facts.drained(key, scope, 0, rec.seq):
                    live.append(client)
        return sorted(live, key=lambda c: c.label)

    # -- reporting -------------------------------------------------------------------------------

    def _report(
        self,
        facts: ExitFacts,
        rec: CallRec,
        verdict: _ExitVerdict,
        asynchronous: bool,
        ref: Optional[cst.BaseExpression] = None,
    ) -> None:
        if ref is not None:
            call = f"`{self.edits.code(ref)}` (called back by `{self.edits.code(rec.node.func)}`)"
        else:
            call = f"`{self.edits.code(rec.node.func)}()`"
        parts = [loss_text(self, c, rec.scope, rec.cls) for c in verdict.clients]
        if verdict.atexit_nodes:
            lines = sorted({self.position(n)[0] for n in verdict.atexit_nodes})
            where = ", ".join(str(n) for n in lines[:3])
            parts.append(f"the atexit handlers registered on line {where} never run")
        related = [RelatedNode(c.node, f"{c.sdk.display} client created or used here") for c in verdict.clients[:3]]
        for node in verdict.atexit_nodes[:1]:
            related.append(RelatedNode(node, "atexit handler registered here"))
        fix: Optional[PendingFix]
        if ref is not None:
            fix = PendingFix.suggestion("Drain the buffered clients before the hard exit, or exit with `sys.exit()`")
        else:
            fix = self._fix(facts, rec, verdict, asynchronous)
        self.report(ref or rec.node, fix=fix, related=related, call=call, loss="; ".join(parts))

    def _fix(self, facts: ExitFacts, rec: CallRec, verdict: _ExitVerdict, asynchronous: bool) -> Optional[PendingFix]:
        stmt = statement_of(rec.stack, rec.node)
        if stmt is None or any(isinstance(s, cst.Lambda) for s in rec.chain):
            return PendingFix.suggestion("Drain the buffered clients before the hard exit, or exit with `sys.exit()`")
        if not verdict.atexit_nodes:
            drains = [drain_text(self, c, rec.scope, rec.cls) for c in verdict.clients]
            if all(d is not None for d in drains):
                indent = line_indent(self, stmt)
                text = "".join(f"{d}\n{indent}" for d in drains if d is not None)
                title = "Drain before the hard exit: " + ", ".join(f"`{d}`" for d in drains if d is not None)
                return PendingFix.unsafe(title, self.edits.insert_before(stmt, text))
        if asynchronous and not self._signal_handler(facts, rec):
            return PendingFix.suggestion("Drain the buffered clients before the hard exit")
        return self._sys_exit_fix(rec)

    @staticmethod
    def _signal_handler(facts: ExitFacts, rec: CallRec) -> bool:
        names = {s.name.value for s in rec.chain if isinstance(s, cst.FunctionDef)}
        for r in facts.calls:
            if r.qual in SIGNAL_INSTALLERS and len(r.node.args) >= 2:
                text = dotted_name(r.node.args[1].value)
                if text is not None and text.rsplit(".", 1)[-1] in names:
                    return True
        return False

    def _sys_exit_fix(self, rec: CallRec) -> PendingFix:
        args = ", ".join(self.edits.code(a.value) for a in rec.node.args)
        sys_module = self.edits.ensure_import("sys")
        if sys_module is None:  # `sys` names something else here
            return PendingFix.suggestion(f"Exit with `sys.exit({args})` so atexit handlers run")
        name = sys_module.name
        return PendingFix.unsafe(
            f"Exit with `{name}.exit({args})` so atexit handlers and drains run",
            self.edits.replace(rec.node, f"{name}.exit({args})"),
            *sys_module.edits,
        )


def _callback_functions(facts: ExitFacts) -> Set[str]:
    """Names of same-file functions passed as arguments (signal handlers, timer callbacks, ...)."""
    defs = facts.functions()
    out: Set[str] = set()
    for r in facts.calls:
        if r.qual in ATEXIT_REGISTER:
            continue
        for arg in r.node.args:
            text = dotted_name(arg.value)
            if text is None:
                continue
            name = text.rsplit(".", 1)[-1]
            if name in defs and (text == name or text.startswith(("self.", "cls."))):
                out.add(name)
    return out


__all__ = [
    "Client",
    "ExitFacts",
    "ExitFactsRule",
    "HardExitSkipsDrain",
    "describe",
    "describe_all",
    "drain_text",
    "facts_for",
    "line_indent",
    "statement_of",
]
