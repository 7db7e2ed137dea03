"""OPS101: a process entry point ends without draining a buffering SDK client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.entrypoints import (
    FUNCTION_RUNNERS,
    EntryKind,
    EntryPoint,
    EntryPointConfig,
    class_methods,
    decorator_target,
    find_entry_points,
    is_main_guard,
    module_classes,
    module_functions,
)
from opslint.analysis.flow import PathWalker
from opslint.config import DOTTED_NAME, IDENTIFIER, ConfigError, option
from opslint.rule import PendingFix, RelatedNode, Rule, keyword
from opslint.rules import _buffers as B
from opslint.syntax.nodes import ExitKind, ScopeVisitor, calls_in, has_break, suite_statements
from opslint.syntax.walk import walk

#: A client's identity: ("m", sdk key) module-level default client, ("g", name)
#: module global, ("l", function id, name) local, ("a", class, attr) attribute.
ClientKey = Tuple[Any, ...]
#: A path fact: the client may hold unsent data; the tag remembers how a
#: delegated ``main()`` returned ("" when not through one).
Fact = Tuple[ClientKey, str]

_FUTURE_WAITS = {"concurrent.futures.wait", "concurrent.futures.as_completed", "asyncio.gather", "asyncio.wait"}
_RUNNERS = {"sys.exit", "asyncio.run", "anyio.run", "trio.run", "uvloop.run", "exit", "quit", "SystemExit"}
_CLOSE_CALLBACKS = {"call_on_close", "callback", "push"}
_CLOSING = {"contextlib.closing", "contextlib.aclosing"}


@dataclass
class _Binding:
    key: ClientKey
    sdk: B.BufferedSdk
    #: Source text that names it in its scope ("hackle_client", "self.analytics", "posthog").
    receiver: str
    node: cst.CSTNode
    #: The function that creates it (local clients), the class (attributes).
    func: Optional[cst.FunctionDef] = None
    cls: Optional[str] = None
    #: The statement of ``func``'s (or the module's) body that creates it.
    stmt: Optional[cst.CSTNode] = None
    linked_name: str = ""
    exit_drains: bool = False
    #: For a process-wide client named by a local variable: how other scopes name it.
    alt_receiver: str = ""


@dataclass
class _Env:
    func: Optional[cst.FunctionDef]
    cls: Optional[str]
    #: Parameter name -> client key or ("inst", class name).
    params: Dict[str, ClientKey] = field(default_factory=dict)
    delegate: str = ""


def _kw_is(call: cst.Call, name: str, value: str) -> bool:
    arg = keyword(call, name)
    return (
        arg is not None
        and isinstance(arg.value, (cst.Name, cst.SimpleString, cst.Integer))
        and (_text(arg.value) == value)
    )


def _text(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


class _Walker(PathWalker[Fact]):
    def __init__(self, rule: UnflushedBufferedClient, root: EntryPoint, env: _Env) -> None:
        super().__init__(rule.ctx.imports)
        self.rule = rule
        self.root = root
        self.envs: List[_Env] = [env]
        self.leaks: List[Tuple[ExitKind, cst.CSTNode, FrozenSet[Fact], str]] = []
        self.active: List[int] = []
        self.collect_exits = True
        #: Functions whose return ends the process (``main`` in ``sys.exit(main())``).
        self.delegates: Set[str] = set()

    @property
    def env(self) -> _Env:
        return self.envs[-1]

    def on_node(self, node: cst.CSTNode, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        rule = self.rule
        waited = rule.awaited_calls(node)
        for call in calls_in(node):
            state = rule.transfer(self, call, state, waited)
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            rule.note_alias(node.targets[0].target, node.value, self.env)
        return state

    def with_drains(self, item: cst.WithItem, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        keys = self.rule.with_drained_by_exit(item, self.env)
        key = self.rule.with_drained(item, self.env)
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
                    return frozenset(f for f in state if not self.rule.bindings[f[0]].sdk.future_uses)
        return state

    def is_forever(self, loop: Union[cst.For, cst.While]) -> bool:
        if isinstance(loop, cst.For) and isinstance(loop.iter, cst.Name) and not has_break(loop):
            scope_id = id(self.env.func) if self.env.func is not None else 0
            name = loop.iter.value
            if (scope_id, name) in self.rule.endless or (0, name) in self.rule.endless:
                return True
        return super().is_forever(loop)

    def drop(self, state: FrozenSet[Fact], drains: FrozenSet[Fact]) -> FrozenSet[Fact]:
        keys = {f[0] for f in drains}
        return frozenset(f for f in state if f[0] not in keys)

    def on_exit(self, kind: ExitKind, node: cst.CSTNode, state: FrozenSet[Fact]) -> None:
        if self.collect_exits and state:
            self.leaks.append((kind, node, state, self.env.delegate))


def _remove(state: FrozenSet[Fact], key: ClientKey) -> FrozenSet[Fact]:
    return frozenset(f for f in state if f[0] != key)


class UnflushedBufferedClient(Rule):
    """A process entry point can end without draining an SDK client that buffers events.

    ## What it does
    Finds the entry points of a process (an `if __name__ == "__main__":` block
    and the functions it calls, console scripts from `[project.scripts]`,
    click/typer commands, Django management commands, Lambda / Cloud
    Functions handlers, run-once scripts) and follows each path from a use of a
    buffering SDK client (analytics, A/B testing, error tracking, tracing,
    Kafka/PubSub producers; the catalog is `rules/_buffers.py`) to the end of
    the entry point, a `return`, `sys.exit()` or a `raise`.  A path that does
    not drain the client (`close()`, `flush()`, `shutdown()`... the blocking
    call that SDK provides) is reported.  A drain in `finally`, `with client:`,
    `contextlib.closing(client)`, `atexit.register(client.close)`, a draining
    decorator such as `@metrics.log_metrics`, or inside a function called on
    the path counts.  SDKs whose own exit hook really drains (sentry, OTel
    providers, amplitude...) are fine on a normal exit, but never in a
    serverless handler: the runtime freezes the process and atexit does not run.
    Non-blocking look-alikes (LaunchDarkly `flush()`, amplitude `flush()`,
    Segment's `join()`, pubsub `stop()`) do not count.

    ## Why it matters
    Incident 000: a job sent A/B-testing events through the Hackle SDK, which
    queues them and flushes every 10 s from a daemon thread; moved to a
    short-lived ECS task, the container exited before the first flush and only
    one event ever arrived, with no error logged.  Hackle has no `flush()`:
    call `hackle_client.close()` (it blocks until the batch is sent) before the
    process ends.

    ## Example
    ```python
    from hackle import hackle

    hackle_client = hackle.Client(sdk_key="server-key")


    def main():
        for user in ("a", "b"):
            hackle_client.track("signup", user)


    if __name__ == "__main__":
        main()
    ```

    ## Use instead
    ```python
    from hackle import hackle

    hackle_client = hackle.Client(sdk_key="server-key")


    def main():
        try:
            for user in ("a", "b"):
                hackle_client.track("signup", user)
        finally:
            hackle_client.close()


    if __name__ == "__main__":
        main()
    ```

    The drain to use: Hackle `close()`; Segment/RudderStack/PostHog `flush()`
    (or `shutdown()`); Mixpanel `BufferedConsumer.flush()`; LaunchDarkly,
    Optimizely `close()`; Statsig `statsig.shutdown()`; amplitude
    `shutdown()`; sentry `sentry_sdk.flush()`; OTel `provider.force_flush()`;
    confluent-kafka and kafka-python `flush()`; pubsub: wait on the
    `publish()` futures; powertools `@metrics.log_metrics`; QueueListener
    `stop()`; Rollbar `rollbar.wait()`.

    ## Fix safety
    Unsafe: the fix wraps the entry point's body in `try`/`finally` and calls
    the SDK's blocking drain, which can wait (Hackle up to 10 s, confluent
    `flush()` without limit) and, for `close()`/`shutdown()`, makes the client
    unusable afterwards.  No fix is offered in a serverless handler when the
    only drain closes a client that later invocations reuse.

    ## Options
    - `clients`: your own buffering clients,
      `[{ create = "myco.telemetry.Client", drain = ["flush"] }]` (keys: `create`,
      `drain`, `use`, `non-blocking`, `name`, `exit-drains`, `context-manager`).
    - `handler-names`: function names that are serverless handlers (default `["lambda_handler"]`).
    - `entry-points`: extra entry points as `"package.module:function"`.

    ## See also
    OPS102 (`os._exit` skips drains), OPS103 (sleep instead of drain), OPS104 (SIGTERM).
    """

    code = "OPS101"
    related_is_path = True
    name = "unflushed-buffered-client"
    message = "`{client}` ({sdk}) {why}; {path}"
    tokens = B.TOKENS
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        clients: Tuple[Any, ...] = ()
        handler_names: Tuple[str, ...] = option(("lambda_handler",), pattern=IDENTIFIER, shape="a function name")
        entry_points: Tuple[str, ...] = option(
            (), pattern=rf"{DOTTED_NAME}:{DOTTED_NAME}", shape="`package.module:function`"
        )

        def __post_init__(self) -> None:
            try:
                B.user_sdks(self.clients)
            except B.ClientConfigError as exc:
                raise ConfigError(str(exc)) from None

    _token_cache: Dict[int, Tuple[str, ...]] = {}

    @classmethod
    def option_tokens(cls, options: Any) -> Tuple[str, ...]:
        """The top-level modules of user-configured clients."""
        if not options.clients:
            return ()
        cached = cls._token_cache.get(id(options))
        if cached is None:
            cached = tuple(m for sdk in B.user_sdks(options.clients) for m in sdk.modules)
            cls._token_cache[id(options)] = cached
        return cached

    # -- setup ----------------------------------------------------------------

    def leave_Module(self, node: cst.Module) -> None:
        self.sdks: Tuple[B.BufferedSdk, ...] = B.CATALOG + B.user_sdks(self.options.clients)
        imports = self.ctx.imports
        active = [s for s in self.sdks if any(imports.imports_module(m) for m in s.modules)]
        if not active:
            return
        self.sdks = tuple(active)
        config = EntryPointConfig(handler_names=tuple(self.options.handler_names), extra=self.options.entry_points)
        entries = find_entry_points(node, imports, path=self.ctx.path, module_name=self.ctx.module_name, config=config)
        if not entries:
            return
        self.module = node
        self.functions = module_functions(node)
        self.classes = module_classes(node)
        self.methods = {name: class_methods(cls) for name, cls in self.classes.items()}
        self._scan()
        if not self.bindings:
            return
        self.all_facts: FrozenSet[Fact] = frozenset((k, "") for k in self.bindings)
        self._analyse(entries)

    def _scan(self) -> None:
        """Find clients (bindings), module facts and atexit drains."""
        self.bindings: Dict[ClientKey, _Binding] = {}
        self.locals: Dict[int, Dict[str, ClientKey]] = {}
        self.instances: Dict[Tuple[int, str], str] = {}
        self.linked: Dict[Tuple[int, str], Tuple[B.BufferedSdk, ...]] = {}
        self.lookalike_seen: Set[ClientKey] = set()
        self.attr_aliases: Dict[Tuple[str, str], ClientKey] = {}
        #: (scope id, name) of consumers whose iteration never ends.
        self.endless: Set[Tuple[int, str]] = set()
        self.called: Set[str] = set()
        self.unbuffered_modules: Set[str] = set()
        for call in _all_calls(self.module):
            qual = self.qualified_name(call.func)
            if qual:
                self.called.add(qual)
        self._scan_module_assignments()
        for sdk in self.sdks:
            if sdk.module_client and not any(a in self.unbuffered_modules for a, _ in sdk.unbuffered_assignments):
                if sdk.module_uses and any(u in self.called for u in sdk.module_uses):
                    self.bindings[("m", sdk.key)] = _Binding(
                        ("m", sdk.key), sdk, self._module_receiver(sdk), self.module, exit_drains=sdk.drains_at_exit
                    )
        self.factory_calls = self._factory_calls()
        # Module-level names (also inside `if`/`try` blocks and the main block).
        self._scan_scope(self.module.body, None, None)
        for func in self.functions.values():
            self._scan_scope(suite_statements(func.body), func, None)
        for cls_name, methods in self.methods.items():
            for meth in methods.values():
                self._scan_scope(suite_statements(meth.body), meth, cls_name)
        self._alias_returned_clients()
        for sdk in self.sdks:
            for factory in sdk.singleton_factories:
                alias = self._module_alias(factory)
                if factory in self.called and alias is not None:
                    self.bindings.setdefault(("m", sdk.key), _Binding(("m", sdk.key), sdk, f"{alias}()", self.module))
        self.atexit_drained = self._atexit_drains()
        self.tag_nodes: Dict[str, cst.CSTNode] = {}

    def _scan_module_assignments(self) -> None:
        for stmt in self.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = self.qualified_name(small.targets[0].target)
                    if target is None:
                        continue
                    for sdk in self.sdks:
                        for attr, value in sdk.unbuffered_assignments:
                            if target == attr and _text(small.value) == value:
                                self.unbuffered_modules.add(attr)

    def _module_receiver(self, sdk: B.BufferedSdk) -> str:
        """The local name of the SDK's module (``posthog``, ``analytics``...)."""
        wanted = [d.function.rsplit(".", 1)[0] for d in sdk.module_drains] + [
            u.rsplit(".", 1)[0] for u in sdk.module_uses
        ]
        for local, full in self.ctx.imports.aliases.items():
            if full in wanted:
                return local
        return sdk.module_client

    def _scan_scope(
        self, body: Sequence[cst.BaseStatement], func: Optional[cst.FunctionDef], cls: Optional[str]
    ) -> None:
        scope_id = id(func) if func is not None else 0
        names = self.locals.setdefault(scope_id, {})
        declared_global: Set[str] = set()
        if func is not None:
            for top in body:
                if isinstance(top, cst.SimpleStatementLine):
                    for small in top.body:
                        if isinstance(small, cst.Global):
                            declared_global.update(n.name.value for n in small.names)
        for top in body:
            for _stmt, value, targets in _assignments(top):
                if not isinstance(value, cst.Call):
                    continue
                if isinstance(value.func, cst.Name) and value.func.value in self.factory_calls:
                    value = self.factory_calls[value.func.value]
                qual = self.qualified_name(value.func)
                if qual is not None and qual in B.ENDLESS_CONSUMERS:
                    stop = B.ENDLESS_CONSUMERS[qual]
                    if not stop or keyword(value, stop) is None:
                        for target in targets:
                            if isinstance(target, cst.Name):
                                self.endless.add((scope_id, target.value))
                    continue
                if qual is None:
                    if isinstance(value.func, cst.Name) and value.func.value in self.classes:
                        for target in targets:
                            if isinstance(target, cst.Name):
                                self.instances[(scope_id, target.value)] = value.func.value
                    continue
                linked = B.linked_sdk(qual, self.sdks)
                if linked:
                    for target in targets:
                        if isinstance(target, cst.Name):
                            self.linked[(scope_id, target.value)] = tuple(linked)
                    continue
                sdk, linked_name = self._client_sdk(value, qual, scope_id)
                if sdk is None:
                    continue
                for target in targets:
                    key: ClientKey
                    is_global = func is None or (isinstance(target, cst.Name) and target.value in declared_global)
                    if isinstance(target, cst.Name):
                        key = ("g", target.value) if is_global else ("l", scope_id, target.value)
                        receiver = target.value
                    elif (
                        isinstance(target, cst.Attribute)
                        and cls is not None
                        and isinstance(target.value, cst.Name)
                        and target.value.value == "self"
                    ):
                        key = ("a", cls, target.attr.value)
                        receiver = f"self.{target.attr.value}"
                    else:
                        continue
                    alt = ""
                    if sdk.singleton_factory(qual):
                        key = ("m", sdk.key)
                        alias = self._module_alias(qual)
                        alt = f"{alias}()" if alias else ""
                    if isinstance(target, cst.Name):
                        names[target.value] = key
                        if is_global:
                            self.locals.setdefault(0, {})[target.value] = key
                    exit_drains = sdk.drains_at_exit
                    if sdk.key == "memory-handler" and _kw_is(value, *B.MEMORY_HANDLER_NO_EXIT_FLUSH):
                        exit_drains = False
                    self.bindings.setdefault(
                        key,
                        _Binding(
                            key,
                            sdk,
                            receiver,
                            value,
                            func=func if key[0] == "l" or (key[0] == "m" and not is_global) else None,
                            alt_receiver=alt,
                            cls=cls if key[0] == "a" else None,
                            stmt=top,
                            linked_name=linked_name,
                            exit_drains=exit_drains,
                        ),
                    )

    def _returns(self, func: cst.FunctionDef) -> List[cst.BaseExpression]:
        out: List[cst.BaseExpression] = []

        class _V(ScopeVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                if node.value is not None:
                    out.append(node.value)

        walk(func.body, _V())
        return out

    def _factory_calls(self) -> Dict[str, cst.Call]:
        """Module functions that ``return Producer(...)``: calls to them create a client."""
        out: Dict[str, cst.Call] = {}
        for name, func in self.functions.items():
            for value in self._returns(func):
                if isinstance(value, cst.Call):
                    qual = self.qualified_name(value.func)
                    if qual is not None and B.sdk_for_constructor(qual, self.sdks):
                        out[name] = value
        return out

    def _alias_returned_clients(self) -> None:
        """``listener = setup_logging()`` where ``setup_logging`` returns its local client:
        the caller's name is the same client."""
        returned: Dict[str, ClientKey] = {}
        for name, func in self.functions.items():
            for value in self._returns(func):
                if isinstance(value, cst.Name):
                    key = self.locals.get(id(func), {}).get(value.value)
                    if key is not None:
                        returned[name] = key
        if not returned:
            return
        scopes: List[Tuple[int, Sequence[cst.BaseStatement]]] = [(0, self.module.body)]
        scopes += [(id(f), suite_statements(f.body)) for f in self.functions.values()]
        scopes += [(id(m), suite_statements(m.body)) for ms in self.methods.values() for m in ms.values()]
        for scope_id, body in scopes:
            names = self.locals.setdefault(scope_id, {})
            for top in body:
                for _stmt, value, targets in _assignments(top):
                    if (
                        isinstance(value, cst.Call)
                        and isinstance(value.func, cst.Name)
                        and value.func.value in returned
                    ):
                        for target in targets:
                            if isinstance(target, cst.Name) and target.value not in names:
                                names[target.value] = returned[value.func.value]

    def _client_sdk(self, call: cst.Call, qual: str, scope_id: int) -> Tuple[Optional[B.BufferedSdk], str]:
        for sdk in B.sdk_for_constructor(qual, self.sdks):
            if any(_kw_is(call, k, v) for k, v in sdk.unbuffered_kwargs):
                return None, ""
            if sdk.buffered_only_with and not any(_kw_is(call, k, v) for k, v in sdk.buffered_only_with):
                continue
            if sdk.linked_kwarg:
                arg = keyword(call, sdk.linked_kwarg)
                if arg is None and len(call.args) > 1 and call.args[1].keyword is None:
                    arg = call.args[1]
                if arg is None:
                    continue
                value = arg.value
                if isinstance(value, cst.Call):
                    if self.qualified_name(value.func) in sdk.linked_constructors:
                        return sdk, ""
                    continue
                if isinstance(value, cst.Name):
                    for scope in (scope_id, 0):
                        linked = self.linked.get((scope, value.value), ())
                        if sdk in linked:
                            return sdk, value.value
                continue
            if sdk.linked_constructors and not any(c in self.called for c in sdk.linked_constructors):
                continue
            return sdk, ""
        return None, ""

    def _atexit_drains(self) -> Set[ClientKey]:
        out: Set[ClientKey] = set()
        self.callback_drained: Set[ClientKey] = set()
        scopes: List[Tuple[Optional[cst.FunctionDef], Optional[str], cst.CSTNode]] = [(None, None, self.module)]
        for function in self.functions.values():
            scopes.append((function, None, function))
            for dec in function.decorators:
                target = decorator_target(dec)
                if self.qualified_name(target) == "atexit.register":
                    out |= self._drained_in_body(function)
                elif isinstance(target, cst.Attribute) and target.attr.value == "result_callback":
                    # click runs it after every command of the group.
                    self.callback_drained |= self._drained_in_body(function)
        for cls_name, methods in self.methods.items():
            for meth in methods.values():
                scopes.append((meth, cls_name, meth))
        for scope_func, cls, node in scopes:
            env = _Env(scope_func, cls)
            for call in _all_calls(node, enter_functions=scope_func is not None):
                if not call.args:
                    continue
                if self.qualified_name(call.func) != "atexit.register":
                    # click ``ctx.call_on_close(client.flush)``, ``ExitStack.callback(client.close)``:
                    # they run when the command / the stack ends, on every path.
                    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _CLOSE_CALLBACKS:
                        key = self._drain_target(call.args[0].value, env, call)
                        if key is not None:
                            self.callback_drained.add(key)
                    continue
                target = call.args[0].value
                if isinstance(target, cst.Name) and target.value in self.functions:
                    out |= self._drained_in_body(self.functions[target.value])
                    continue
                key = self._drain_target(target, env, call)
                if key is not None:
                    out.add(key)
        return out

    def _drain_target(self, target: cst.BaseExpression, env: _Env, call: cst.Call) -> Optional[ClientKey]:
        """``client.close`` / ``posthog.flush`` passed as a callable: the client it drains."""
        qual = self.qualified_name(target)
        if qual is not None:
            hit = B.sdk_for_module_call(qual, self.sdks)
            if hit is not None and hit[1] == "drain":
                return ("m", hit[0].key)
        if isinstance(target, cst.Attribute):
            key = self.resolve(target.value, env)
            if key is not None and key in self.bindings:
                sdk = self.bindings[key].sdk
                if any(d.method == target.attr.value and d.blocks and not d.then for d in sdk.drains):
                    return key
        return None

    def _drained_in_body(self, func: cst.FunctionDef, cls: Optional[str] = None) -> Set[ClientKey]:
        out: Set[ClientKey] = set()
        env = _Env(func, cls)
        for call in _all_calls(func.body):
            key = self._drain_of_call(call, env)
            if key is not None:
                out.add(key)
        return out

    # -- name resolution -------------------------------------------------------

    def note_alias(self, target: cst.BaseExpression, value: cst.BaseExpression, env: _Env) -> None:
        """``client = self.client`` / ``self.producer = producer``: follow the client."""
        if isinstance(value, cst.Call):
            return
        key = self.resolve(value, env)
        if key is None or key[0] == "inst":
            return
        if isinstance(target, cst.Name):
            env.params[target.value] = key
        elif (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
            and env.cls is not None
        ):
            self.attr_aliases[(env.cls, target.attr.value)] = key

    def resolve(self, expr: cst.BaseExpression, env: _Env) -> Optional[ClientKey]:
        """The client an expression names in ``env`` (or ("inst", class) for project objects)."""
        if isinstance(expr, cst.Name):
            name = expr.value
            if name in env.params:
                return env.params[name]
            scope_id = id(env.func) if env.func is not None else 0
            local = self.locals.get(scope_id, {}).get(name)
            if local is not None:
                return local
            inst = self.instances.get((scope_id, name))
            if inst is not None:
                return ("inst", inst)
            glob = self.locals.get(0, {}).get(name)
            if glob is not None:
                return glob
            inst = self.instances.get((0, name))
            return ("inst", inst) if inst is not None else None
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            if env.cls is not None and ("a", env.cls, expr.attr.value) in self.bindings:
                return ("a", env.cls, expr.attr.value)
            if env.cls is not None:
                return self.attr_aliases.get((env.cls, expr.attr.value))
            return None
        if isinstance(expr, cst.Call):
            qual = self.qualified_name(expr.func)
            if qual is not None:
                for key, binding in self.bindings.items():
                    if qual in binding.sdk.global_getters:
                        return key
                for sdk in B.sdk_for_constructor(qual, self.sdks):
                    if sdk.singleton_factory(qual) and ("m", sdk.key) in self.bindings:
                        return ("m", sdk.key)
            if isinstance(expr.func, cst.Name) and expr.func.value in self.classes:
                return ("inst", expr.func.value)
        return None

    def _linked_owner(self, expr: cst.BaseExpression, env: _Env) -> Optional[ClientKey]:
        """``consumer`` (named in ``Mixpanel(consumer=consumer)``) or ``mp._consumer``: the client."""
        if isinstance(expr, cst.Name):
            for key, binding in self.bindings.items():
                if binding.linked_name == expr.value and (
                    binding.func is None or binding.func is env.func or key[0] == "g"
                ):
                    return key
        if isinstance(expr, cst.Attribute):
            owner = self.resolve(expr.value, env)
            if owner is not None and owner in self.bindings:
                if self.bindings[owner].sdk.linked_attribute == expr.attr.value:
                    return owner
        return None

    # -- transfer ----------------------------------------------------------------

    def awaited_calls(self, node: cst.CSTNode) -> Set[int]:
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

    def _drain_of_call(self, call: cst.Call, env: _Env) -> Optional[ClientKey]:
        """The client a call drains (blocking), if any."""
        qual = self.qualified_name(call.func)
        if qual is not None:
            hit = B.sdk_for_module_call(qual, self.sdks)
            if hit is not None and hit[1] == "drain":
                return ("m", hit[0].key)
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        # ``client.flush_events().wait()``
        if isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Attribute):
            inner = func.value.func
            key = self.resolve(inner.value, env)
            if key is not None and key in self.bindings:
                for drain in self.bindings[key].sdk.drains:
                    if drain.blocks and drain.then == method and drain.method == inner.attr.value:
                        return key
        key = self.resolve(func.value, env)
        if key is None or key not in self.bindings:
            key = self._linked_owner(func.value, env)
            if key is None:
                return None
        for drain in self.bindings[key].sdk.drains:
            if drain.method == method and drain.blocks and not drain.then:
                if all(_kw_is(call, k, v) for k, v in drain.kwargs):
                    return key
        return None

    def transfer(self, walker: _Walker, call: cst.Call, state: FrozenSet[Fact], waited: Set[int]) -> FrozenSet[Fact]:
        env = walker.env
        drained = self._drain_of_call(call, env)
        if drained is not None:
            return _remove(state, drained)
        qual = self.qualified_name(call.func)
        if qual is not None:
            if qual in FUNCTION_RUNNERS and call.args:
                first = call.args[0].value
                if isinstance(first, cst.Name) and first.value in self.functions:
                    runner_call = cst.Call(func=first, args=[])
                    return self._inline(walker, self.functions[first.value], runner_call, None, state)
            if qual in _FUTURE_WAITS:
                return frozenset(f for f in state if not self.bindings[f[0]].sdk.future_uses)
            hit = B.sdk_for_module_call(qual, self.sdks)
            if hit is not None:
                key = ("m", hit[0].key)
                if hit[1] == "use" and key in self.bindings:
                    return state | {(key, "")}
                return state
            if qual.startswith("logging.") and isinstance(call.func, cst.Attribute):
                return self._global_use(call.func.attr.value, state)
        func = call.func
        if isinstance(func, cst.Name):
            target = self.functions.get(func.value)
            if target is not None:
                return self._inline(walker, target, call, None, state)
            if func.value in self.classes:
                init = self.methods[func.value].get("__init__")
                if init is not None:
                    return self._inline(walker, init, call, func.value, state)
            return state
        if not isinstance(func, cst.Attribute):
            return state
        method = func.attr.value
        if method == "result" and not isinstance(func.value, cst.Call):
            # Waiting on a future (pubsub ``publish()`` results).
            return frozenset(f for f in state if not self.bindings[f[0]].sdk.future_uses)
        if (
            isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and env.cls is not None
            and method in self.methods.get(env.cls, {})
        ):
            return self._inline(walker, self.methods[env.cls][method], call, env.cls, state, bound=True)
        target_key = self.resolve(func.value, env)
        if target_key is None:
            linked = self._linked_owner(func.value, env)
            if linked is not None and method in ("send", "send_buffered"):
                return state | {(linked, "")}
            return self._global_use(method, state)
        if target_key[0] == "inst":
            target = self.methods.get(target_key[1], {}).get(method)
            if target is not None:
                return self._inline(walker, target, call, target_key[1], state, bound=True)
            return state
        if target_key not in self.bindings:
            return state
        sdk = self.bindings[target_key].sdk
        if any(d.method == method and not d.blocks for d in sdk.drains):
            self.lookalike_seen.add(target_key)
            return state
        if any(d.method == method for d in sdk.drains):
            return state
        if sdk.future_uses and id(call) in waited:
            return state
        if (sdk.uses and method in sdk.uses) or not sdk.uses:
            return state | {(target_key, "")}
        return state

    def _global_use(self, method: str, state: FrozenSet[Fact]) -> FrozenSet[Fact]:
        """A call that feeds every client of some SDKs whatever its receiver (spans, log records)."""
        extra = {(k, "") for k, b in self.bindings.items() if method in b.sdk.global_uses}
        return state | extra if extra else state

    def _inline(
        self,
        walker: _Walker,
        func: cst.FunctionDef,
        call: cst.Call,
        cls: Optional[str],
        state: FrozenSet[Fact],
        bound: bool = False,
    ) -> FrozenSet[Fact]:
        if id(func) in walker.active:
            return state
        params: Dict[str, ClientKey] = {}
        names = [p.name.value for p in func.params.posonly_params] + [p.name.value for p in func.params.params]
        if cls is not None and names and names[0] in ("self", "cls"):
            names = names[1:]
        for index, arg in enumerate(call.args):
            if arg.star:
                break
            name = arg.keyword.value if arg.keyword is not None else (names[index] if index < len(names) else None)
            if name is None:
                continue
            key = self.resolve(arg.value, walker.env)
            if key is not None:
                params[name] = key
        delegate = walker.env.delegate
        tagger = None
        if (
            walker.root.kind in (EntryKind.MAIN_BLOCK, EntryKind.SCRIPT)
            and len(walker.envs) == 1
            and cls is None
            and func.name.value in walker.delegates
        ):
            delegate = func.name.value
            fname = func.name.value
            entry_state = state

            def tagger(kind: ExitKind, node: cst.CSTNode, st: FrozenSet[Fact]) -> FrozenSet[Fact]:
                line = self.position(node)[0] if kind is ExitKind.RETURN else self._last_line(func)
                verb = "can return" if kind is ExitKind.RETURN else "can end"
                tag = f"{fname}|`{fname}()` {verb} at line {line}"
                self.tag_nodes[tag] = node
                # Tag what this function left dirty; a local client of an earlier
                # function stays the block's business.
                return frozenset((k, t or tag) if (k, t) not in entry_state or k[0] != "l" else (k, t) for k, t in st)

        walker.envs.append(_Env(func, cls, params, delegate))
        walker.active.append(id(func))
        try:
            out = walker.inline(suite_statements(func.body), state, on_return=tagger, end_node=func)
        finally:
            walker.active.pop()
            walker.envs.pop()
        return state if out is None else out

    def with_drained(self, item: cst.WithItem, env: _Env) -> Optional[ClientKey]:
        expr = item.item
        if isinstance(expr, cst.Call):
            qual = self.qualified_name(expr.func)
            if qual in _CLOSING and expr.args:
                key = self.resolve(expr.args[0].value, env)
                if key is not None and key in self.bindings:
                    if any(d.method == "close" and d.blocks for d in self.bindings[key].sdk.drains):
                        return key
                return None
            if qual == "sentry_sdk.init" and ("m", "sentry") in self.bindings:
                return ("m", "sentry")
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                key = self.resolve(item.asname.name, env)
                if key is not None and key in self.bindings and self.bindings[key].sdk.context_manager:
                    return key
            return None
        key = self.resolve(expr, env)
        if key is not None and key in self.bindings and self.bindings[key].sdk.context_manager:
            return key
        return None

    def with_drained_by_exit(self, item: cst.WithItem, env: _Env) -> Set[ClientKey]:
        """``with Job() as job:`` where ``Job.__exit__`` drains its clients."""
        key = self.resolve(item.item, env)
        if key is None or key[0] != "inst":
            return set()
        methods = self.methods.get(key[1], {})
        exit_method = methods.get("__exit__") or methods.get("__aexit__")
        if exit_method is None:
            return set()
        return self._drained_in_body(exit_method, key[1])

    # -- analysis -----------------------------------------------------------------

    def _last_line(self, node: cst.CSTNode) -> int:
        return self.ctx.positions()[node].end.line

    def _module_prelude(self) -> FrozenSet[Fact]:
        """Clients used by module-level code before the main block."""
        body = [s for s in self.module.body if not is_main_guard(s)]
        root = EntryPoint(EntryKind.SCRIPT, "<module>", self.module, "module")
        walker = _Walker(self, root, _Env(None, None))
        walker.collect_exits = False
        out = walker.suite(body, frozenset())
        return out or frozenset()

    def _analyse(self, entries: Sequence[EntryPoint]) -> None:
        prelude: Optional[FrozenSet[Fact]] = None
        reported: Set[Tuple[ClientKey, int]] = set()
        for entry in entries:
            if entry.kind is EntryKind.MAIN_CALLEE:
                continue  # walked from its main block
            if entry.kind in (EntryKind.MAIN_BLOCK, EntryKind.SCRIPT):
                if prelude is None:
                    prelude = self._module_prelude()
                start = prelude if entry.kind is EntryKind.MAIN_BLOCK else frozenset()
                body: Sequence[cst.BaseStatement] = (
                    suite_statements(entry.node.body) if isinstance(entry.node, cst.If) else entry.body
                )
                walker = _Walker(self, entry, _Env(None, None))
                walker.delegates = self._delegates(body)
                end_node: cst.CSTNode = entry.node if isinstance(entry.node, cst.If) else body[-1]
                walker.run(body, start, end_node)
            else:
                assert isinstance(entry.node, cst.FunctionDef)
                cls = entry.class_name
                walker = _Walker(self, entry, _Env(entry.node, cls, {}, entry.node.name.value))
                walker.active.append(id(entry.node))
                walker.run(suite_statements(entry.node.body), frozenset(), entry.node)
            self._report(entry, walker, reported)

    def _delegates(self, body: Sequence[cst.BaseStatement]) -> Set[str]:
        """Module functions called by the last statement of a main block or script as
        ``f()``, ``sys.exit(f())``, ``asyncio.run(f())``, ``raise SystemExit(f())``."""
        if not body or not isinstance(body[-1], cst.SimpleStatementLine):
            return set()
        out: Set[str] = set()
        for small in body[-1].body:
            expr: Optional[cst.BaseExpression] = None
            if isinstance(small, cst.Expr):
                expr = small.value
            elif isinstance(small, cst.Raise):
                expr = small.exc
            while isinstance(expr, cst.Call):
                if isinstance(expr.func, cst.Name) and expr.func.value in self.functions:
                    out.add(expr.func.value)
                    break
                first = expr.args[0].value if expr.args else None
                if (
                    self.qualified_name(expr.func) in FUNCTION_RUNNERS
                    and isinstance(first, cst.Name)
                    and first.value in self.functions
                ):
                    out.add(first.value)
                    break
                runner = self.qualified_name(expr.func) or (expr.func.value if isinstance(expr.func, cst.Name) else "")
                if runner not in _RUNNERS:
                    break
                expr = expr.args[0].value if expr.args else None
                if isinstance(expr, cst.Await):
                    expr = expr.expression
        return out

    def _exit_clean(self, entry: EntryPoint, key: ClientKey, kind: ExitKind) -> bool:
        binding = self.bindings[key]
        if kind is ExitKind.HARD_EXIT:
            return True  # OPS102's business
        if isinstance(entry.node, cst.FunctionDef) and self._decorator_drains(entry.node, key):
            return True
        if key in self.callback_drained:
            return True
        if entry.serverless:
            sdk = binding.sdk
            if sdk.serverless_integrations and any(i in self.called for i in sdk.serverless_integrations):
                return True
            return False
        if not entry.atexit_runs:
            return False
        if binding.exit_drains or key in self.atexit_drained:
            return True
        return False

    def _decorator_drains(self, func: cst.FunctionDef, key: ClientKey) -> bool:
        binding = self.bindings[key]
        env = _Env(func, None)
        for dec in func.decorators:
            target = decorator_target(dec)
            qual = self.qualified_name(target)
            if qual is not None and qual in binding.sdk.drain_decorators:
                return True
            if isinstance(target, cst.Attribute) and target.attr.value in binding.sdk.drain_decorator_methods:
                if self.resolve(target.value, env) == key:
                    return True
        return False

    def _report(self, entry: EntryPoint, walker: _Walker, reported: Set[Tuple[ClientKey, int]]) -> None:
        by_client: Dict[ClientKey, Tuple[ExitKind, cst.CSTNode, str, str]] = {}
        for kind, node, state, delegate in walker.leaks:
            for key, tag in sorted(state, key=lambda f: (str(f[0]), f[1])):
                if key in by_client or key not in self.bindings:
                    continue
                if self._exit_clean(entry, key, kind):
                    continue
                by_client[key] = (kind, node, tag, delegate)
        found: List[Tuple[_Binding, cst.CSTNode, Optional[cst.CSTNode], Tuple[str, str, str], cst.CSTNode]] = []
        plans: Dict[int, List[Tuple[_Binding, int, str]]] = {}
        scopes: Dict[int, Union[cst.FunctionDef, cst.If]] = {}
        for key, (kind, node, tag, delegate) in by_client.items():
            binding = self.bindings[key]
            scope = self._fix_scope(entry, tag, delegate)
            anchor: cst.CSTNode
            if isinstance(scope, cst.FunctionDef):
                anchor = scope.name
            elif isinstance(scope, cst.If):
                anchor = scope.test
            elif binding.func is None and binding.node is not self.module:
                anchor = binding.node
            else:
                anchor = node
            mark = (key, id(anchor))
            if mark in reported:
                continue
            reported.add(mark)
            exit_text = self._describe_exit(entry, kind, node, tag, scope)
            drain = self._drain_text(binding, entry, scope)
            why = binding.sdk.buffer_note
            if key in self.lookalike_seen:
                look = binding.sdk.lookalikes()
                if look:
                    why += f" (`{look[0].method}()` does not wait)"
            path = f"{exit_text} without {self._drain_phrase(binding, entry, scope, drain)}"
            if entry.serverless:
                path += ", and the runtime then freezes the process (atexit never runs)"
            elif entry.kind is EntryKind.PROCESS_TARGET:
                path += ", and the forked child then ends with `os._exit()` (atexit never runs)"
            start = self._fix_start(binding, entry, scope, drain)
            if start is not None and scope is not None:
                plans.setdefault(id(scope), []).append((binding, start, drain))
                scopes[id(scope)] = scope
            client = self._receiver_in(binding, scope) or binding.receiver
            end = self._end_statement(self.tag_nodes.get(tag, node))
            found.append((binding, anchor, scope, (client, why, path), end))
        # The fixes come once every client of the entry point is known: one `finally` drains them all.
        fixes = {scope_id: self._fixes(scopes[scope_id], plan) for scope_id, plan in plans.items()}
        for binding, anchor, where, (client, why, path), end in found:
            self.report(
                anchor,
                client=client,
                sdk=binding.sdk.display,
                why=why,
                path=path,
                fix=fixes.get(id(where), {}).get(binding.key) if where is not None else None,
                related=self._path_steps(binding, anchor, end),
            )

    def _path_steps(self, binding: _Binding, anchor: cst.CSTNode, end: cst.CSTNode) -> Tuple[RelatedNode, ...]:
        """The steps after the entry point: where the client is made (when that is elsewhere), the exit."""
        steps = []
        if binding.node is not self.module and binding.node is not anchor:
            steps.append(RelatedNode(binding.node, f"`{binding.receiver}` ({binding.sdk.display}) is created here"))
        steps.append(RelatedNode(end, "the path ends here"))
        return tuple(steps)

    @staticmethod
    def _end_statement(node: cst.CSTNode) -> cst.CSTNode:
        """For "falls off the end" exits, the last statement rather than the whole block."""
        while isinstance(node, (cst.FunctionDef, cst.If)) and isinstance(node.body, cst.IndentedBlock):
            last = node.body.body[-1]
            if isinstance(last, cst.SimpleStatementLine):
                return last.body[-1]
            node = last
        return node

    def _drain_phrase(
        self, binding: _Binding, entry: EntryPoint, scope: Union[cst.FunctionDef, cst.If, None], drain: str
    ) -> str:
        if drain:
            return f"`{drain}`"
        sdk = binding.sdk
        if sdk.future_uses:
            return "waiting on the futures its sends return"
        closing = sdk.fix_drain() or sdk.fix_module_drain()
        if entry.serverless and closing is not None:
            name = closing.method or closing.function.rsplit(".", 1)[-1]
            return f"draining it (its only drain, `{name}()`, also closes it for later invocations)"
        return "draining it"

    def _fix_scope(self, entry: EntryPoint, tag: str, delegate: str) -> Union[cst.FunctionDef, cst.If, None]:
        if isinstance(entry.node, cst.FunctionDef):
            return entry.node
        name = tag.split("|", 1)[0] if tag else delegate
        if name and name in self.functions:
            return self.functions[name]
        if isinstance(entry.node, cst.If):
            return entry.node
        return None

    def _describe_exit(
        self,
        entry: EntryPoint,
        kind: ExitKind,
        node: cst.CSTNode,
        tag: str,
        scope: Union[cst.FunctionDef, cst.If, None],
    ) -> str:
        if tag:
            text = tag.split("|", 1)[1]
        elif kind is ExitKind.SYS_EXIT:
            text = f"the process can exit at line {self.position(node)[0]}"
        elif kind is ExitKind.RAISE:
            text = f"an exception raised at line {self.position(node)[0]} can end the process"
        elif kind is ExitKind.RETURN:
            text = f"{entry.label} can return at line {self.position(node)[0]}"
        elif isinstance(entry.node, cst.If):
            text = f"the `__main__` block ends at line {self._last_line(entry.node)}"
        elif isinstance(entry.node, cst.FunctionDef):
            text = f"{entry.label} can end at line {self._last_line(entry.node)}"
        else:
            text = f"the script ends at line {self._last_line(node)}"
        return text

    def _receiver_in(self, binding: _Binding, scope: Union[cst.FunctionDef, cst.If, None]) -> Optional[str]:
        key = binding.key
        if key[0] in ("m", "g"):
            if binding.func is not None and scope is not binding.func:
                return binding.alt_receiver or None
            return binding.receiver
        if key[0] == "l":
            return binding.receiver if scope is binding.func else None
        if key[0] == "a" and isinstance(scope, cst.FunctionDef):
            for meth in self.methods.get(binding.cls or "", {}).values():
                if meth is scope:
                    return binding.receiver
        return None

    def _drain_text(self, binding: _Binding, entry: EntryPoint, scope: Union[cst.FunctionDef, cst.If, None]) -> str:
        serverless = entry.serverless and binding.key[0] != "l"
        sdk = binding.sdk
        receiver = self._receiver_in(binding, scope) or binding.receiver
        if binding.key[0] == "m" and sdk.module_drains:
            drain = sdk.fix_module_drain(serverless)
            if drain is None:
                return ""
            alias = self._module_alias(drain.function)
            return f"{alias}()" if alias else f"{drain.function}()"
        drain = sdk.fix_drain(serverless)
        used = self._drain_used_in(binding, scope)
        if used is not None and (used.reusable or not serverless):
            drain = used
        if drain is None:
            return ""
        if sdk.linked_attribute:
            receiver = binding.linked_name or f"{receiver}.{sdk.linked_attribute}"
        return drain.render(receiver)

    def _drain_used_in(self, binding: _Binding, scope: Union[cst.FunctionDef, cst.If, None]) -> Optional[B.Drain]:
        """The blocking drain the scope already calls on some path (the fix then moves
        the same call into ``finally``)."""
        if not isinstance(scope, cst.FunctionDef) or binding.key[0] == "m":
            return None
        cls = binding.cls if binding.key[0] == "a" else None
        env = _Env(scope, cls)
        for call in _all_calls(scope.body):
            if self._drain_of_call(call, env) == binding.key and isinstance(call.func, cst.Attribute):
                method = call.func.attr.value
                for drain in binding.sdk.drains:
                    if drain.method == method and drain.blocks and not drain.then:
                        return drain
        return None

    def _module_alias(self, function: str) -> Optional[str]:
        module, _, name = function.rpartition(".")
        for local, full in self.ctx.imports.aliases.items():
            if full == module:
                return f"{local}.{name}"
            if full == function:
                return local
        return None

    # -- fix --------------------------------------------------------------------

    def _fix_start(
        self, binding: _Binding, entry: EntryPoint, scope: Union[cst.FunctionDef, cst.If, None], drain: str
    ) -> Optional[int]:
        """Where in ``scope``'s body the statements to run under ``try:`` start (the
        fix then drains the client in ``finally:``), or None when no fix is offered."""
        if scope is None or not drain:
            return None
        sdk = binding.sdk
        serverless = entry.serverless and binding.key[0] != "l"
        if binding.key[0] == "m" and sdk.module_drains:
            chosen = sdk.fix_module_drain(serverless)
            if chosen is None or self._module_alias(chosen.function) is None:
                return None
        elif sdk.fix_drain(serverless) is None:
            return None
        if self._receiver_in(binding, scope) is None:
            return None
        if binding.linked_name and binding.key[0] == "l" and binding.func is not scope:
            return None
        if not isinstance(scope.body, cst.IndentedBlock):
            return None
        stmts = list(scope.body.body)
        start = 0
        if stmts and _is_docstring(stmts[0]):
            start = 1
        for index, stmt in enumerate(stmts):
            if stmt is binding.stmt:
                start = index + 1
                break
        else:
            if binding.key[0] == "l" or (binding.func is not None and binding.func is scope):
                return None
        if drain.startswith("await ") and not (isinstance(scope, cst.FunctionDef) and scope.asynchronous):
            return None
        return start if start < len(stmts) else None

    def _fixes(
        self, scope: Union[cst.FunctionDef, cst.If], plans: List[Tuple[_Binding, int, str]]
    ) -> Dict[ClientKey, PendingFix]:
        """The fixes of the clients of one scope.

        ONE ``try``/``finally`` drains them all when nothing but their own creation
        runs between the first and the last of them.  Otherwise each gets its own; once
        the first is applied (the engine re-lints after each pass) a later client is
        created inside that ``try``, where no fix is offered: a ``finally`` there could
        see it unbound.  When the statements to protect already are one ``try`` with a
        ``finally`` (a fix applied earlier, or the author's), the drains join it."""
        stmts = list(cst.ensure_type(scope.body, cst.IndentedBlock).body)
        first, last = min(p[1] for p in plans), max(p[1] for p in plans)
        created = {id(binding.stmt) for binding, _, _ in plans}
        out: Dict[ClientKey, PendingFix] = {}
        if all(id(stmt) in created for stmt in stmts[first:last]):
            drains = list(dict.fromkeys(drain for _, _, drain in plans))
            fix = self._drain_fix(stmts[last:], drains)
            if fix is not None:
                for binding, _, _ in plans:
                    out[binding.key] = fix
            return out
        for binding, start, drain in plans:
            single = self._drain_fix(stmts[start:], [drain])
            if single is not None:
                out[binding.key] = single
        return out

    def _drain_fix(self, body: Sequence[cst.BaseStatement], drains: List[str]) -> Optional[PendingFix]:
        listed = " and ".join(f"`{d}`" for d in drains)
        title = f"Call {listed} in a `finally` block"
        edit = None
        if len(body) == 1 and isinstance(body[0], cst.Try) and body[0].finalbody is not None:
            edit = self.edits.add_to_finally(body[0], drains)
        if edit is None:
            edit = self.edits.wrap_in_try_finally(body[0], body[-1], drains)
        return None if edit is None else PendingFix.unsafe(title, edit)


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _all_calls(node: cst.CSTNode, enter_functions: bool = True) -> List[cst.Call]:
    out: List[cst.Call] = []

    class _V(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.top = True

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            if n is node:
                return True
            return enter_functions

        def visit_Call(self, n: cst.Call) -> None:
            out.append(n)

    walk(node, _V())
    return out


def _assignments(stmt: cst.CSTNode) -> List[Tuple[cst.CSTNode, cst.BaseExpression, List[cst.BaseExpression]]]:
    """(statement, value, targets) of assignments and ``with ... as`` in ``stmt``,
    including inside compound statements, never inside nested functions/classes."""
    out: List[Tuple[cst.CSTNode, cst.BaseExpression, List[cst.BaseExpression]]] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if isinstance(small, cst.Assign):
                    out.append((small, small.value, [t.target for t in small.targets]))
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    out.append((small, small.value, [small.target]))
            return
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return
        if isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None and isinstance(item.asname.name, (cst.Name, cst.Attribute)):
                    out.append((node, item.item, [item.asname.name]))
        for child in node.children:
            if isinstance(child, (cst.BaseSuite, cst.BaseStatement, cst.Else, cst.ExceptHandler, cst.Finally)):
                visit(child)
            elif isinstance(child, cst.BaseCompoundStatement):
                visit(child)

    visit(stmt)
    return out
