"""OPS101's path analysis: the paths on which an entry point ends while a buffered client
may still hold unsent data.

The clients and what names hold them come from :mod:`opslint.rules._buffered`; the
walk is :class:`opslint.analysis.flow.PathWalker` (a "may" analysis).  A fact is a
client that may hold data, tagged with how a delegated ``main()`` returned.  Calls of
same-file functions and methods are walked inline, with their parameters mapped to
what the caller passed; drains are the SDK's blocking calls, ``with`` blocks,
``contextlib.closing``, ``atexit``/click/``ExitStack`` callbacks, draining decorators,
and ``__exit__`` of a same-file context manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.entrypoints import (
    FUNCTION_RUNNERS,
    EntryKind,
    EntryPoint,
    decorator_target,
    run_callable,
    subcommand_dispatch,
)
from opslint.analysis.flow import PathWalker
from opslint.analysis.scopes import BindingKind, Scope
from opslint.rules import _buffers as B
from opslint.rules._buffer_project import Effects
from opslint.rules._buffer_tasks import process_pool
from opslint.rules._buffered import BufferedClients, Client, ClientKey, FileClients, Instance, Kind, kw_is, zero_timeout
from opslint.rules._wrappers import CHILD_EXIT_SIGNALS, TASK_END_SIGNALS
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import ExitKind, calls_in, has_break, keyword, suite_statements
from opslint.syntax.walk import find_all

#: A path fact: the client may hold unsent data; the tag remembers how a delegated
#: ``main()`` returned ("" when not through one).
Fact = Tuple[ClientKey, str]

_FUTURE_WAITS = {"concurrent.futures.wait", "concurrent.futures.as_completed", "asyncio.gather", "asyncio.wait"}
_CLOSE_CALLBACKS = {"call_on_close", "callback", "push"}
_CLOSING = {"contextlib.closing", "contextlib.aclosing"}


@dataclass
class Env:
    """The function being walked (None: module code), its class and binding scope, and
    what its names hold on this path (parameters of an inlined call, aliases)."""

    func: Optional[cst.FunctionDef]
    cls: Optional[str]
    scope: Scope
    params: Dict[str, Kind] = field(default_factory=dict)
    delegate: str = ""


@dataclass(frozen=True)
class Leak:
    kind: ExitKind
    node: cst.CSTNode
    state: FrozenSet[Fact]
    delegate: str


class Walker(PathWalker[Fact]):
    def __init__(self, paths: BufferPaths, root: EntryPoint, env: Env) -> None:
        super().__init__(paths.ctx.imports)
        self.paths = paths
        self.root = root
        self.envs: List[Env] = [env]
        self.leaks: List[Leak] = []
        self.active: List[int] = []
        self.collect_exits = True
        #: Functions whose return ends the process (``main`` in ``sys.exit(main())``).
        self.delegates: Set[str] = set()
        #: Makes the ``on_return`` hook of a delegated function (see ``BufferPaths.inline``).
        self.tagger: Optional[Callable[[cst.FunctionDef, FrozenSet[Fact]], Callable[..., FrozenSet[Fact]]]] = None

    @property
    def env(self) -> Env:
        return self.envs[-1]

    def on_node(self, node: cst.CSTNode, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        paths = self.paths
        waited = _awaited_calls(node)
        for call in calls_in(node):
            state = paths.transfer(self, call, state, waited)
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            paths.note_alias(node.targets[0].target, node.value, self.env)
        return state

    def with_drains(self, item: cst.WithItem, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        keys = self.paths.with_drained_by_exit(item, self.env)
        key = self.paths.with_drained(item, self.env)
        if key is not None:
            keys.add(key)
        return frozenset((k, "") for k in keys)

    def on_loop_head(self, loop: Union[cst.For, cst.While], state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        state = super().on_loop_head(loop, state)
        # ``for future in futures: future.result()`` waits for every send.
        if isinstance(loop, cst.For) and isinstance(loop.target, cst.Name):
            target = loop.target.value
            for call in calls_in(loop.body):
                func = call.func
                if (
                    isinstance(func, cst.Attribute)
                    and func.attr.value == "result"
                    and isinstance(func.value, cst.Name)
                    and func.value.value == target
                ):
                    return self.paths.waited(state)
        return state

    def is_forever(self, loop: Union[cst.For, cst.While]) -> bool:
        if isinstance(loop, cst.For) and isinstance(loop.iter, cst.Name) and not has_break(loop):
            if self.paths.endless(loop.iter, self.env.scope):
                return True
        return super().is_forever(loop)

    def statement(self, stmt: cst.BaseStatement, state: FrozenSet[Fact]) -> Optional[FrozenSet[Fact]]:
        out = super().statement(stmt, state)
        if out and isinstance(stmt, cst.If):
            # ``if analytics.ph is not None: analytics.ph.flush()``: a client that is None holds nothing.
            key = self.paths.guarded_drain(stmt, self.env)
            if key is not None:
                out = _remove(out, key)
        return out

    def drop(self, state: FrozenSet[Fact], drains: FrozenSet[Fact]) -> FrozenSet[Fact]:
        keys = {f[0] for f in drains}
        return frozenset(f for f in state if f[0] not in keys)

    def on_exit(self, kind: ExitKind, node: cst.CSTNode, state: FrozenSet[Fact]) -> None:
        if self.collect_exits and state:
            self.leaks.append(Leak(kind, node, state, self.env.delegate))


def _remove(state: FrozenSet[Fact], key: ClientKey) -> FrozenSet[Fact]:
    return frozenset(f for f in state if f[0] != key)


def _awaited_calls(node: cst.CSTNode) -> Set[int]:
    """Calls whose result is waited on at once (``publish(...).result()``)."""
    out: Set[int] = set()
    for call in calls_in(node):
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("result", "get")
            and isinstance(func.value, cst.Call)
        ):
            out.add(id(func.value))
    return out


class BufferPaths:
    """The drains of one file's clients, and the transfer functions of the walk."""

    def __init__(
        self,
        buffered: BufferedClients,
        files: FileClients,
        functions: Dict[str, cst.FunctionDef],
        methods: Dict[str, Dict[str, cst.FunctionDef]],
    ) -> None:
        self.ctx = buffered.ctx
        self.buffered = buffered
        self.table = buffered.table
        self.files = files
        self.clients: Dict[ClientKey, Client] = files.clients
        self.functions = functions
        self.methods = methods
        self.lookalike_seen: Set[ClientKey] = set()
        self.attr_aliases: Dict[Tuple[str, str], Kind] = {}
        self.callback_drained: Set[ClientKey] = set()
        #: Drained by a Celery ``worker_process_shutdown`` handler (before the child's ``os._exit``).
        self.child_drained: Set[ClientKey] = set()
        self.atexit_drained = self._atexit_drains()
        self._dispatch: Optional[Dict[str, List[str]]] = None
        self._call_decorators: Optional[Dict[str, List[cst.BaseExpression]]] = None

    def qualified_name(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.ctx.imports.resolve(expr)

    def env_for(self, func: Optional[cst.FunctionDef], cls: Optional[str] = None, **extra: object) -> Env:
        scope = self.table.scope_of(func) if func is not None else self.table.module_scope
        assert scope is not None
        return Env(func, cls, scope, **extra)  # type: ignore[arg-type]

    def waited(self, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        """Waiting on futures drains the clients whose sends return them."""
        return frozenset(f for f in state if not self.clients[f[0]].sdk.future_uses)

    def endless(self, name: cst.Name, scope: Scope) -> bool:
        """``for message in consumer`` over a consumer whose iteration never ends."""
        for binding in self.table.lookup(name.value, scope):
            value = binding.value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                function = self.table.function_named(value.func.value, binding.scope)
                returned = self.table.returns(function) if function is not None else []
                if len(returned) == 1 and isinstance(returned[0], cst.Call):
                    value = returned[0]
            if isinstance(value, cst.Call):
                stop = B.ENDLESS_CONSUMERS.get(self.qualified_name(value.func) or "")
                if stop is not None and (not stop or keyword(value, stop) is None):
                    return True
        return False

    # -- drains outside the paths ---------------------------------------------------------

    def _atexit_drains(self) -> Set[ClientKey]:
        out: Set[ClientKey] = set()
        for func in self.functions.values():
            for dec in func.decorators:
                target = decorator_target(dec)
                if self.qualified_name(target) == "atexit.register":
                    out |= self.drained_in_body(func)
                elif isinstance(target, cst.Attribute) and target.attr.value == "result_callback":
                    # click runs it after every command of the group.
                    self.callback_drained |= self.drained_in_body(func)
                elif (self.qualified_name(target) or "").rsplit(".", 1)[0] in CHILD_EXIT_SIGNALS | TASK_END_SIGNALS:
                    self.child_drained |= self.drained_in_body(func)
        for call, scope, _ in self.buffered.calls:
            if not call.args:
                continue
            env = Env(scope.function, None, scope)
            if self.qualified_name(call.func) != "atexit.register":
                # click ``ctx.call_on_close(client.flush)``, ``ExitStack.callback(client.close)``:
                # they run when the command / the stack ends, on every path.
                if isinstance(call.func, cst.Attribute) and call.func.attr.value in _CLOSE_CALLBACKS:
                    self.callback_drained |= self._callable_drains(call.args[0].value, env)
                continue
            target = call.args[0].value
            if isinstance(target, cst.Name) and target.value in self.functions:
                out |= self.drained_in_body(self.functions[target.value])
                continue
            out |= self._callable_drains(target, env)
        return out

    def _callable_drains(self, target: cst.BaseExpression, env: Env) -> Set[ClientKey]:
        """The clients a callable handed to a hook drains: ``client.close``, or a lambda
        that calls a drain (``atexit.register(lambda: producer.flush(10))``)."""
        if isinstance(target, cst.Lambda):
            return {key for inner in find_all(target.body, cst.Call) if (key := self.drain_of_call(inner, env))}
        key = self._drain_target(target, env)
        return {key} if key is not None else set()

    def _drain_target(self, target: cst.BaseExpression, env: Env) -> Optional[ClientKey]:
        """``client.close`` / ``posthog.flush`` passed as a callable: the client it drains."""
        qual = self.qualified_name(target)
        if qual is not None:
            hit = B.sdk_for_module_call(qual, self.files.sdks)
            if hit is not None and hit[1] == "drain":
                return ("module", hit[0].key)
        if isinstance(target, cst.Attribute):
            # ``atexit.register(consumer.flush)`` drains the client the consumer was given to.
            client = self.client_of(target.value, env) or self.files.linked_owner(target.value, env.scope)
            if client is not None and any(
                d.method == target.attr.value and d.blocks and not d.then for d in client.sdk.drains
            ):
                return client.key
        return None

    def drained_in_body(self, func: cst.FunctionDef, cls: Optional[str] = None) -> Set[ClientKey]:
        out: Set[ClientKey] = set()
        env = self.env_for(func, cls)
        for call in find_all(func.body, cst.Call):
            key = self.drain_of_call(call, env)
            if key is not None:
                out.add(key)
        return out

    def decorator_drains(self, func: cst.FunctionDef, key: ClientKey) -> bool:
        client = self.clients[key]
        env = self.env_for(func)
        targets = [decorator_target(dec) for dec in func.decorators]
        targets.extend(self._applied_by_call().get(func.name.value, ()))
        for target in targets:
            qual = self.qualified_name(target)
            if qual is not None and qual in client.sdk.drain_decorators:
                return True
            if isinstance(target, cst.Attribute) and target.attr.value in client.sdk.drain_decorator_methods:
                if self.client_of(target.value, env) is client:
                    return True
            # A project decorator whose wrapper drains (``try: return func() finally: posthog.flush()``).
            decorator = self.functions.get(target.value) if isinstance(target, cst.Name) else None
            if decorator is not None and decorator is not func and key in self.drained_in_body(decorator):
                return True
            # ... or one imported from another module.
            if (
                qual is not None
                and decorator is None
                and self._drains_key(self.files.knowledge.wrapper_drains(qual), key)
            ):
                return True
        return False

    def _applied_by_call(self) -> Dict[str, List[cst.BaseExpression]]:
        """Decorators applied with a call at module level (``lambda_handler =
        metrics.log_metrics(_handle)``): function name -> the callees."""
        if self._call_decorators is None:
            found: Dict[str, List[cst.BaseExpression]] = {}
            for stmt in self.files.facts.ctx.module.body:
                for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                    value = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
                    if isinstance(value, cst.Call) and value.args and value.args[0].keyword is None:
                        first = value.args[0].value
                        if isinstance(first, cst.Name) and first.value in self.functions:
                            found.setdefault(first.value, []).append(value.func)
            self._call_decorators = found
        return self._call_decorators

    def _drains_key(self, drained: Tuple[str, ...], key: ClientKey) -> bool:
        """Whether draining these project objects drains the client ``key``."""
        for name in drained:
            if key == ("global", name):
                return True
            obj = self.files.knowledge.object(name)
            if obj is not None and obj.module_client and key == ("module", obj.sdk.key):
                return True
        return False

    # -- names --------------------------------------------------------------------------------

    def resolve(self, expr: cst.BaseExpression, env: Env) -> Optional[Kind]:
        """The client (or same-file class instance) an expression names in ``env``."""
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
            and env.cls is not None
        ):
            found = self.files.kind_of(expr, env.scope, env.params)
            return found if found is not None else self.attr_aliases.get((env.cls, expr.attr.value))
        return self.files.kind_of(expr, env.scope, env.params)

    def client_of(self, expr: cst.BaseExpression, env: Env) -> Optional[Client]:
        kind = self.resolve(expr, env)
        return kind if isinstance(kind, Client) else None

    def note_alias(self, target: cst.BaseExpression, value: cst.BaseExpression, env: Env) -> None:
        """``client = self.client`` / ``self.producer = producer``: follow the client."""
        if isinstance(value, cst.Call):
            return
        kind = self.resolve(value, env)
        if not isinstance(kind, Client):
            return
        if isinstance(target, cst.Name):
            env.params[target.value] = kind
        elif (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
            and env.cls is not None
        ):
            self.attr_aliases[(env.cls, target.attr.value)] = kind

    # -- transfer -----------------------------------------------------------------------------

    def drain_of_call(self, call: cst.Call, env: Env) -> Optional[ClientKey]:
        """The client a call drains (blocking), if any."""
        qual = self.qualified_name(call.func)
        if qual is not None:
            hit = B.sdk_for_module_call(qual, self.files.sdks)
            if hit is not None and hit[1] == "drain":
                return ("module", hit[0].key)
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        # ``client.flush_events().wait()``
        if isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Attribute):
            inner = func.value.func
            client = self.client_of(inner.value, env)
            if client is not None:
                for drain in client.sdk.drains:
                    if drain.blocks and drain.then == method and drain.method == inner.attr.value:
                        return client.key
        client = self.client_of(func.value, env) or self.files.linked_owner(func.value, env.scope)
        if client is None:
            return None
        for drain in client.sdk.drains:
            if drain.method == method and drain.blocks and not drain.then:
                if all(kw_is(call, k, v) for k, v in drain.kwargs) and not zero_timeout(call):
                    return client.key
        return None

    def guarded_drain(self, stmt: cst.If, env: Env) -> Optional[ClientKey]:
        """The client ``if <held> is not None: <held>.flush()`` (or ``if <held>:``) drains."""
        test = stmt.test
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            comp = test.comparisons[0]
            if not isinstance(comp.operator, cst.IsNot) or not (
                isinstance(comp.comparator, cst.Name) and comp.comparator.value == "None"
            ):
                return None
            test = test.left
        held = dotted_name(test)
        if held is None or stmt.orelse is not None:
            return None
        for call in calls_in(stmt.body):
            if isinstance(call.func, cst.Attribute) and dotted_name(call.func.value) == held:
                key = self.drain_of_call(call, env)
                if key is not None:
                    return key
        return None

    def transfer(self, walker: Walker, call: cst.Call, state: FrozenSet[Fact], waited: Set[int]) -> FrozenSet[Fact]:
        env = walker.env
        drained = self.drain_of_call(call, env)
        qual = self.qualified_name(call.func)
        if qual == B.LOGGING_SHUTDOWN:
            # Closes every handler attached to logging, named or not.
            return frozenset(f for f in state if not ((c := self.clients.get(f[0])) and c.sdk.global_uses))
        if drained is not None:
            return _remove(state, drained)
        runs = run_callable(call, qual)
        if runs is not None and not self._in_child_process(call, env):
            state = self._runs(walker, runs, state)
        if qual is not None:
            if qual in FUNCTION_RUNNERS and call.args:
                first = call.args[0].value
                if isinstance(first, cst.Name) and first.value in self.functions:
                    runner_call = cst.Call(func=first, args=[])
                    return self.inline(walker, self.functions[first.value], runner_call, None, state)
            if qual in _FUTURE_WAITS:
                return self.waited(state)
            hit = B.sdk_for_module_call(qual, self.files.sdks)
            if hit is not None:
                module: ClientKey = ("module", hit[0].key)
                if hit[1] == "use" and module in self.clients:
                    return state | {(module, "")}
                return state
            if qual.startswith("logging.") and isinstance(call.func, cst.Attribute):
                return self._global_use(call.func.attr.value, state)
            effects = self.files.knowledge.effects(qual)
            if effects.dirty or effects.drains:
                return self._project_effects(effects, call, state)
        func = call.func
        if isinstance(func, cst.Name):
            target = self.functions.get(func.value)
            if target is not None:
                return self._returned_as(call, target, self.inline(walker, target, call, None, state))
            init = self.methods.get(func.value, {}).get("__init__")
            if init is not None and func.value not in self.files.knowledge.local.classes:
                return self.inline(walker, init, call, func.value, state)
            return state
        if not isinstance(func, cst.Attribute):
            return state
        method = func.attr.value
        if method == "result" and not isinstance(func.value, cst.Call):
            return self.waited(state)  # waiting on a future (pubsub ``publish()`` results)
        handlers = self.dispatch().get(method) if isinstance(func.value, cst.Name) else None
        if handlers:
            # ``args.func(args)`` after ``parser.set_defaults(func=cmd_publish)``: one of the
            # subcommands runs; a client any of them leaves holding data is held.
            out = state
            for name in handlers:
                out = out | self.inline(walker, self.functions[name], call, None, state)
            return out
        owner = self._method_owner(func.value, env)
        if owner is not None and method in self.methods.get(owner, {}):
            return self.inline(walker, self.methods[owner][method], call, owner, state)
        target_kind = self.resolve(func.value, env)
        if target_kind is None:
            linked = self.files.linked_owner(func.value, env.scope)
            if linked is not None and method in ("send", "send_buffered"):
                return state | {(linked.key, "")}
            return self._global_use(method, state)
        if isinstance(target_kind, Instance):
            target = self.methods.get(target_kind.cls, {}).get(method)
            if target is not None:
                return self.inline(walker, target, call, target_kind.cls, state)
            return state
        sdk = target_kind.sdk
        key = target_kind.key
        if any(d.method == method and not d.blocks for d in sdk.drains):
            self.lookalike_seen.add(key)
            return state
        if any(d.method == method for d in sdk.drains):
            return state
        if sdk.future_uses and id(call) in waited:
            return state
        if (sdk.uses and method in sdk.uses) or not sdk.uses:
            return state | {(key, "")}
        return state

    def _in_child_process(self, call: cst.Call, env: Env) -> bool:
        """``pool.submit(render, key)`` on a process pool: ``render`` runs in a worker
        process, whose clients are its own (the caller's stay untouched)."""
        func = call.func
        return isinstance(func, cst.Attribute) and process_pool(self.table, self.qualified_name, func.value, env.scope)

    def _runs(self, walker: Walker, target: cst.BaseExpression, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        """A function handed to an executor or scheduler (``pool.submit(renew, s)``): its
        work is the caller's, as if called there."""
        env = walker.env
        called = cst.Call(func=target, args=[])
        if isinstance(target, cst.Name) and target.value in self.functions:
            return self.inline(walker, self.functions[target.value], called, None, state)
        owner = self._method_owner(target.value, env) if isinstance(target, cst.Attribute) else None
        if isinstance(target, cst.Attribute) and owner is not None:
            method = self.methods.get(owner, {}).get(target.attr.value)
            return self.inline(walker, method, called, owner, state) if method is not None else state
        qual = self.qualified_name(target)
        effects = self.files.knowledge.effects(qual) if qual is not None else None
        if effects is not None and (effects.dirty or effects.drains):
            return self._project_effects(effects, called, state)
        return state

    def _project_effects(self, effects: Effects, call: cst.Call, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        """A project function of another module: what it drains, then what it leaves holding data."""
        for drained in effects.drains:
            state = _remove(state, ("global", drained))
            obj = self.files.knowledge.object(drained)
            if obj is not None and obj.module_client:
                state = _remove(state, ("module", obj.sdk.key))
        for dirty in effects.dirty:
            obj = self.files.knowledge.object(dirty)
            if obj is not None:
                client = self.files.project_client(obj, obj.name, call, in_scope=False)
                state = state | {(client.key, "")}
        return state

    def dispatch(self) -> Dict[str, List[str]]:
        """argparse subcommands: keyword -> this file's functions given to
        ``set_defaults(keyword=function)`` (``args.func(args)`` calls one of them)."""
        if self._dispatch is None:
            found: Dict[str, List[str]] = (
                subcommand_dispatch(self.ctx.module, self.functions) if "set_defaults" in self.ctx.text else {}
            )
            self._dispatch = found
        return self._dispatch

    def _method_owner(self, receiver: cst.BaseExpression, env: Env) -> Optional[str]:
        """The same-file class whose method ``receiver.m()`` calls: ``self``/``cls`` in a
        method, or the class itself (``UsageReporter.report_all()``)."""
        if not isinstance(receiver, cst.Name):
            return None
        if env.cls is not None and receiver.value in ("self", "cls", env.scope.self_name):
            return env.cls
        found = self.table.lookup(receiver.value, env.scope)
        if len(found) == 1 and found[0].kind is BindingKind.CLASS and receiver.value in self.methods:
            return receiver.value
        return None

    def _global_use(self, method: str, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        """A call that feeds every client of some SDKs whatever its receiver (spans, log records)."""
        extra = {(k, "") for k, c in self.clients.items() if method in c.sdk.global_uses}
        return state | extra if extra else state

    def inline(
        self, walker: Walker, func: cst.FunctionDef, call: cst.Call, cls: Optional[str], state: FrozenSet[Fact]
    ) -> FrozenSet[Fact]:
        if id(func) in walker.active:
            return state
        params: Dict[str, Kind] = {}
        names = [p.name.value for p in func.params.posonly_params] + [p.name.value for p in func.params.params]
        if cls is not None and names and names[0] in ("self", "cls"):
            names = names[1:]
        for index, arg in enumerate(call.args):
            if arg.star:
                break
            name = arg.keyword.value if arg.keyword is not None else (names[index] if index < len(names) else None)
            if name is None:
                continue
            kind = self.resolve(arg.value, walker.env)
            if kind is not None:
                params[name] = kind
        delegate = walker.env.delegate
        tagger = None
        if (
            walker.root.kind in (EntryKind.MAIN_BLOCK, EntryKind.SCRIPT)
            and len(walker.envs) == 1
            and cls is None
            and func.name.value in walker.delegates
            and walker.tagger is not None
        ):
            delegate = func.name.value
            tagger = walker.tagger(func, state)
        walker.envs.append(self.env_for(func, cls, params=params, delegate=delegate))
        walker.active.append(id(func))
        try:
            out = walker.inline(suite_statements(func.body), state, on_return=tagger, end_node=func)
        finally:
            walker.active.pop()
            walker.envs.pop()
        if out is None:
            return state
        # A decorator whose wrapper drains (``@metrics.log_metrics``, a project one) runs on return.
        return frozenset(f for f in out if not (func.decorators and self.decorator_drains(func, f[0])))

    def _returned_as(self, call: cst.Call, function: cst.FunctionDef, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        """A factory of the file that uses its client before returning it (``p.produce(...)``
        then ``return p``): what it left in the client is held by the caller's client, the
        one ``p = make_producer()`` makes, and draining that drains it."""
        outer = self.files.by_value.get(id(call))
        returned = self.table.returns(function)
        if not isinstance(outer, Client) or not returned or any(r is None for r in returned):
            return state
        env = self.env_for(function)
        inner = {c.key for r in returned if r is not None and (c := self.client_of(r, env)) is not None}
        if len(inner) != 1 or outer.key in inner:
            return state
        (key,) = inner
        return frozenset((outer.key, *rest) if fact[0] == key else fact for fact in state for rest in (fact[1:],))

    def with_drained(self, item: cst.WithItem, env: Env) -> Optional[ClientKey]:
        expr = item.item
        if isinstance(expr, cst.Call):
            qual = self.qualified_name(expr.func)
            if qual in _CLOSING and expr.args:
                client = self.client_of(expr.args[0].value, env)
                if client is not None and any(d.method == "close" and d.blocks for d in client.sdk.drains):
                    return client.key
                return None
            if qual == "sentry_sdk.init" and ("module", "sentry") in self.clients:
                return ("module", "sentry")
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                client = self.client_of(item.asname.name, env)
                if client is not None and client.sdk.context_manager:
                    return client.key
            return None
        client = self.client_of(expr, env)
        if client is not None and client.sdk.context_manager:
            return client.key
        return None

    def with_drained_by_exit(self, item: cst.WithItem, env: Env) -> Set[ClientKey]:
        """``with Job() as job:`` where ``Job.__exit__`` drains its clients."""
        kind = self.resolve(item.item, env)
        if not isinstance(kind, Instance):
            return set()
        methods = self.methods.get(kind.cls, {})
        exit_method = methods.get("__exit__") or methods.get("__aexit__")
        if exit_method is None:
            return set()
        return self.drained_in_body(exit_method, kind.cls)

    def drain_used_in(self, client: Client, scope: Union[cst.FunctionDef, cst.If, None]) -> Optional[B.Drain]:
        """The blocking drain the scope already calls on some path (a fix then moves the
        same call into ``finally``)."""
        if not isinstance(scope, cst.FunctionDef) or client.kind == "module":
            return None
        cls = self.class_of(scope) if client.kind == "attr" else None
        env = self.env_for(scope, cls)
        for call in find_all(scope.body, cst.Call):
            if self.drain_of_call(call, env) == client.key and isinstance(call.func, cst.Attribute):
                method = call.func.attr.value
                for drain in client.sdk.drains:
                    if drain.method == method and drain.blocks and not drain.then:
                        return drain
        return None

    def class_of(self, func: cst.FunctionDef) -> Optional[str]:
        """The same-file class a method belongs to."""
        for name, methods in self.methods.items():
            if any(m is func for m in methods.values()):
                return name
        return None

    def prelude(self, module: cst.Module, body: Sequence[cst.BaseStatement]) -> FrozenSet[Fact]:
        """Clients used by module-level code before the main block."""
        root = EntryPoint(EntryKind.SCRIPT, "<module>", module, "module")
        walker = Walker(self, root, self.env_for(None))
        walker.collect_exits = False
        return walker.suite(body, frozenset()) or frozenset()


__all__ = ["BufferPaths", "Env", "Fact", "Leak", "Walker"]
