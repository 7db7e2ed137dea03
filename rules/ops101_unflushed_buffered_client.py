"""OPS101: a process entry point ends without draining a buffering SDK client.

Clients and names: ``_buffered.BufferedClients`` (on the binding table); the paths:
``_buffer_paths`` (a ``PathWalker``); here: entry points, messages and fixes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.entrypoints import (
    FUNCTION_RUNNERS,
    EntryKind,
    EntryPoint,
    EntryPointConfig,
    class_methods,
    find_entry_points,
    is_main_guard,
    module_classes,
    module_functions,
)
from opslint.config import DOTTED_NAME, IDENTIFIER, ConfigError, option
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _buffers as B
from opslint.rules._buffer_paths import BufferPaths, Fact, Walker
from opslint.rules._buffer_project import facts_for, relevant
from opslint.rules._buffer_tasks import AIRFLOW_REASON, TASK_REASON, entry_label, task_entries
from opslint.rules._buffered import BufferedClients, Client, ClientKey
from opslint.rules._wrappers import wrapper_drain
from opslint.syntax.nodes import ExitKind, is_docstring, suite_statements

_RUNNERS = {"sys.exit", "asyncio.run", "anyio.run", "trio.run", "uvloop.run", "exit", "quit", "SystemExit"}
_Where = Union[cst.FunctionDef, cst.If, None]


class UnflushedBufferedClient(Rule):
    """A process entry point can end without draining an SDK client that buffers events.

    ## What it does
    Finds the entry points of a process (an `if __name__ == "__main__":` block
    and the functions it calls, console scripts from `[project.scripts]`,
    click/typer commands, the methods of a class given to `fire.Fire`, Django
    management commands, Lambda / Cloud Functions handlers, run-once scripts,
    Celery tasks, Airflow TaskFlow tasks and process pool workers, whose forked
    children end with `os._exit`) and follows each path
    from a use of a buffering SDK client (analytics, A/B testing, error
    tracking, tracing, Kafka/PubSub producers; the catalog is
    `rules/_buffers.py`), also through project code that holds one (a wrapper
    class keeping the client in an attribute, a module singleton, an
    `lru_cache` getter, a factory, a module-level instance whose methods use the
    SDK; in a project run, of other modules too) to the end of
    the entry point, a `return`, `sys.exit()` or a `raise`.  A path that does
    not drain the client (`close()`, `flush()`, `shutdown()`... the blocking
    call that SDK provides) is reported.  A drain in `finally`, `with client:`,
    `contextlib.closing(client)`, `atexit.register(client.close)`, a draining
    decorator such as `@metrics.log_metrics`, or inside a function called on
    the path counts (an argparse subcommand run as `args.func(args)` after
    `set_defaults(func=...)` is each of the functions given); a drain given a zero timeout (`producer.flush(0)`) returns
    at once and does not.  A client configured to send nothing (LaunchDarkly
    `Config(..., send_events=False)`) is not buffering.  SDKs whose own exit hook really drains (sentry, OTel
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

    requires = (BufferedClients,)
    needs_project = True
    project_tokens = B.TOKENS

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

    # -- analysis ---------------------------------------------------------------------

    # -- project hooks ----------------------------------------------------------------

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return facts_for(module, info)

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        return relevant(project, path)

    # -- analysis ---------------------------------------------------------------------

    def leave_Module(self, node: cst.Module) -> None:
        sdks: Tuple[B.BufferedSdk, ...] = B.CATALOG + B.user_sdks(self.options.clients)
        imports = self.ctx.imports
        project = self.ctx.project
        active = tuple(s for s in sdks if any(imports.imports_module(m) for m in s.modules))
        if not active and project is None:
            return
        config = EntryPointConfig(handler_names=tuple(self.options.handler_names), extra=self.options.entry_points)
        entries = find_entry_points(node, imports, path=self.ctx.path, module_name=self.ctx.module_name, config=config)
        buffered = self.ctx.analysis(BufferedClients)
        entries += task_entries(buffered, entries, self.ctx.project)
        if not entries:
            return
        files = buffered.of(active, project)
        if not files.clients and files.knowledge.local.empty and files.knowledge.project is None:
            return
        self.module = node
        self.functions = module_functions(node)
        self.methods = {name: class_methods(cls) for name, cls in module_classes(node).items()}
        self.paths = BufferPaths(buffered, files, self.functions, self.methods)
        self.clients: Dict[ClientKey, Client] = files.clients
        self.tag_nodes: Dict[str, cst.CSTNode] = {}
        self._analyse(entries)

    def _tagger(self, func: cst.FunctionDef, entry_state: FrozenSet[Fact]) -> Callable[..., FrozenSet[Fact]]:
        """The ``on_return`` hook of a function a main block delegates to: tags what it left dirty."""
        fname = func.name.value

        def tagger(kind: ExitKind, node: cst.CSTNode, st: FrozenSet[Fact]) -> FrozenSet[Fact]:
            line = self.position(node)[0] if kind is ExitKind.RETURN else self._last_line(func)
            verb = "can return" if kind is ExitKind.RETURN else "can end"
            tag = f"{fname}|`{fname}()` {verb} at line {line}"
            self.tag_nodes[tag] = node
            # A local client of an earlier function stays the block's business.
            return frozenset((k, t or tag) if (k, t) not in entry_state or k[0] != "local" else (k, t) for k, t in st)

        return tagger

    def _last_line(self, node: cst.CSTNode) -> int:
        return self.ctx.positions()[node].end.line

    def _walker(self, entry: EntryPoint, func: Optional[cst.FunctionDef], cls: Optional[str], delegate: str) -> Walker:
        walker = Walker(self.paths, entry, self.paths.env_for(func, cls, delegate=delegate))
        walker.tagger = self._tagger
        return walker

    def _analyse(self, entries: Sequence[EntryPoint]) -> None:
        prelude: Optional[FrozenSet[Fact]] = None
        reported: Set[Tuple[ClientKey, int]] = set()
        for entry in entries:
            if entry.kind is EntryKind.MAIN_CALLEE:
                continue  # walked from its main block
            if entry.kind in (EntryKind.MAIN_BLOCK, EntryKind.SCRIPT):
                if prelude is None:
                    body = [s for s in self.module.body if not is_main_guard(s)]
                    prelude = self.paths.prelude(self.module, body)
                start = prelude if entry.kind is EntryKind.MAIN_BLOCK else frozenset()
                stmts: Sequence[cst.BaseStatement] = (
                    suite_statements(entry.node.body) if isinstance(entry.node, cst.If) else entry.body
                )
                walker = self._walker(entry, None, None, "")
                walker.delegates = self._delegates(stmts)
                end_node: cst.CSTNode = entry.node if isinstance(entry.node, cst.If) else stmts[-1]
                walker.run(stmts, start, end_node)
            else:
                assert isinstance(entry.node, cst.FunctionDef)
                walker = self._walker(entry, entry.node, entry.class_name, entry.node.name.value)
                walker.active.append(id(entry.node))
                walker.run(suite_statements(entry.node.body), frozenset(), entry.node)
            self._report(entry, walker, reported)

    def _delegates(self, body: Sequence[cst.BaseStatement]) -> Set[str]:
        """Module functions called by the last statement of a main block or script as
        ``f()``, ``sys.exit(f())``, ``asyncio.run(f())``, ``raise SystemExit(f())``."""
        if not body or not isinstance(body[-1], cst.SimpleStatementLine):
            return set()
        out: Set[str] = set()
        # ``status = main()`` then ``sys.exit(status)``: the exit ends what ``main()`` left.
        results: Dict[str, str] = {}
        for stmt in body[:-1]:
            if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign):
                assign = stmt.body[0]
                value = assign.value
                target = assign.targets[0].target if len(assign.targets) == 1 else None
                if isinstance(target, cst.Name) and isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                    if value.func.value in self.functions:
                        results[target.value] = value.func.value
        for small in body[-1].body:
            expr: Optional[cst.BaseExpression] = None
            if isinstance(small, cst.Expr):
                expr = small.value
            elif isinstance(small, cst.Raise):
                expr = small.exc
            if isinstance(expr, cst.Call) and expr.args and isinstance(expr.args[0].value, cst.Name):
                if expr.args[0].value.value in results and self.qualified_name(expr.func) in _RUNNERS:
                    out.add(results[expr.args[0].value.value])
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

    def _exit_clean(self, entry: EntryPoint, key: ClientKey, kind: ExitKind, through: str = "") -> bool:
        client = self.clients[key]
        if kind is ExitKind.HARD_EXIT:
            return True  # OPS102's business
        if isinstance(entry.node, cst.FunctionDef) and self.paths.decorator_drains(entry.node, key):
            return True
        delegate = self.functions.get(through)
        if delegate is not None and self.paths.decorator_drains(delegate, key):
            return True  # the path leaves through a delegated ``main()`` whose decorator drains
        if key in self.paths.callback_drained:
            return True
        if entry.reason == TASK_REASON:
            # Sentry's Celery integration flushes in the child; a shutdown handler drains it.
            project = client.project
            return client.sdk.key == "sentry" or key in self.paths.child_drained or bool(project and project.child_exit)
        if entry.serverless:
            integrations = client.sdk.serverless_integrations
            return bool(integrations) and any(i in self.paths.buffered.called for i in integrations)
        if not entry.atexit_runs:
            return False
        return client.exit_drains or key in self.paths.atexit_drained

    # -- report ------------------------------------------------------------------------

    def _report(self, entry: EntryPoint, walker: Walker, reported: Set[Tuple[ClientKey, int]]) -> None:
        by_client: Dict[ClientKey, Tuple[ExitKind, cst.CSTNode, str, str]] = {}
        for leak in walker.leaks:
            for key, tag in sorted(leak.state, key=lambda f: (str(f[0]), f[1])):
                if key in by_client or key not in self.clients:
                    continue
                if self._exit_clean(entry, key, leak.kind, tag.split("|", 1)[0] if tag else leak.delegate):
                    continue
                by_client[key] = (leak.kind, leak.node, tag, leak.delegate)
        found: List[Tuple[Client, cst.CSTNode, Optional[cst.CSTNode], Tuple[str, str, str], cst.CSTNode]] = []
        plans: Dict[int, List[Tuple[Client, int, str]]] = {}
        scopes: Dict[int, Union[cst.FunctionDef, cst.If]] = {}
        for key, (kind, node, tag, delegate) in by_client.items():
            binding = self.clients[key]
            scope = self._fix_scope(entry, tag, delegate)
            anchor: cst.CSTNode
            if isinstance(scope, cst.FunctionDef):
                anchor = scope.name
            elif isinstance(scope, cst.If):
                anchor = scope.test
            elif _func(binding) is None and binding.node is not self.module:
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
            if key in self.paths.lookalike_seen:
                look = binding.sdk.lookalikes()
                if look:
                    why += f" (`{look[0].method}()` does not wait)"
            statement, advice = wrapper_drain(binding.sdk, drain)
            path = f"{exit_text} without {self._drain_phrase(binding, entry, scope, drain)}{advice}"
            if entry.serverless:
                path += ", and the runtime then freezes the process (atexit never runs)"
            elif entry.reason == TASK_REASON:
                path += ", and the prefork worker child ends with `os._exit()` (atexit never runs)"
            elif entry.reason == AIRFLOW_REASON:
                path += ", and Airflow's task runner child ends with `os._exit()` (atexit never runs)"
            elif entry.kind is EntryKind.PROCESS_TARGET:
                path += ", and the forked child then ends with `os._exit()` (atexit never runs)"
            start = self._fix_start(binding, entry, scope, drain)
            if start is not None and scope is not None:
                plans.setdefault(id(scope), []).append((binding, start, statement))
                scopes[id(scope)] = scope
            client = self._receiver_in(binding, scope) or binding.label
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

    def _path_steps(self, binding: Client, anchor: cst.CSTNode, end: cst.CSTNode) -> Tuple[RelatedNode, ...]:
        """The steps after the entry point: where the client is made (when that is elsewhere), the exit."""
        steps = []
        if binding.node is not self.module and binding.node is not anchor:
            steps.append(RelatedNode(binding.node, f"`{binding.label}` ({binding.sdk.display}) is created here"))
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

    def _drain_phrase(self, binding: Client, entry: EntryPoint, scope: _Where, drain: str) -> str:
        if drain and binding.project is not None and not binding.in_scope:
            if binding.project.module_client:
                return f"`{drain}` (the module client `{binding.project.module}` feeds)"
            return f"`{drain}` (`{binding.project.name}` of `{binding.project.module}`)"
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

    def _fix_scope(self, entry: EntryPoint, tag: str, delegate: str) -> _Where:
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
        scope: _Where,
    ) -> str:
        if tag:
            text = tag.split("|", 1)[1]
        elif kind is ExitKind.SYS_EXIT:
            text = f"the process can exit at line {self.position(node)[0]}"
        elif kind is ExitKind.RAISE:
            text = f"an exception raised at line {self.position(node)[0]} can end the process"
        elif kind is ExitKind.RETURN:
            text = f"{entry_label(entry)} can return at line {self.position(node)[0]}"
        elif isinstance(entry.node, cst.If):
            text = f"the `__main__` block ends at line {self._last_line(entry.node)}"
        elif isinstance(entry.node, cst.FunctionDef):
            text = f"{entry_label(entry)} can end at line {self._last_line(entry.node)}"
        else:
            text = f"the script ends at line {self._last_line(node)}"
        return text

    def _receiver_in(self, binding: Client, scope: _Where) -> Optional[str]:
        if not binding.in_scope:
            return None
        if binding.kind == "attr" and binding.alt_receiver:
            return binding.alt_receiver
        if binding.kind in ("module", "global"):
            if _func(binding) is not None and scope is not _func(binding):
                return binding.alt_receiver or None
            return binding.label
        if binding.kind == "local":
            return binding.label if scope is _func(binding) else None
        if binding.kind == "attr" and isinstance(scope, cst.FunctionDef):
            method = self.paths.table.scope_of(scope)
            if method is not None and method.owner is not None and method.owner.node is binding.owner:
                return binding.label
        return None

    def _drain_text(self, binding: Client, entry: EntryPoint, scope: _Where) -> str:
        serverless = entry.serverless and binding.kind != "local"
        sdk = binding.sdk
        receiver = self._receiver_in(binding, scope) or binding.label
        if binding.kind == "module" and sdk.module_drains:
            drain = sdk.fix_module_drain(serverless)
            if drain is None:
                return ""
            alias = self.paths.files.module_alias(drain.function)
            return f"{alias}()" if alias else f"{drain.function}()"
        drain = sdk.fix_drain(serverless)
        used = self.paths.drain_used_in(binding, scope)
        if used is not None and (used.reusable or not serverless):
            drain = used
        if drain is None:
            return ""
        if sdk.linked_attribute:
            receiver = binding.linked_label or f"{receiver}.{sdk.linked_attribute}"
        return drain.render(receiver)

    # -- fix --------------------------------------------------------------------

    def _fix_start(self, binding: Client, entry: EntryPoint, scope: _Where, drain: str) -> Optional[int]:
        """Where in ``scope``'s body the statements to run under ``try:`` start (the
        fix then drains the client in ``finally:``), or None when no fix is offered."""
        if scope is None or not drain:
            return None
        sdk = binding.sdk
        serverless = entry.serverless and binding.kind != "local"
        if binding.kind == "module" and sdk.module_drains:
            chosen = sdk.fix_module_drain(serverless)
            if chosen is None or self.paths.files.module_alias(chosen.function) is None:
                return None
        elif sdk.fix_drain(serverless) is None:
            return None
        if self._receiver_in(binding, scope) is None:
            return None
        if binding.linked_label and binding.kind == "local" and _func(binding) is not scope:
            return None
        if not isinstance(scope.body, cst.IndentedBlock):
            return None
        stmts = list(scope.body.body)
        start = 0
        if stmts and is_docstring(stmts[0]):
            start = 1
        for index, stmt in enumerate(stmts):
            if stmt is binding.stmt or _assigns(stmt, binding.node):
                start = index + 1
                break
        else:
            if binding.kind == "local" or (_func(binding) is not None and _func(binding) is scope):
                return None
        if drain.startswith("await ") and not (isinstance(scope, cst.FunctionDef) and scope.asynchronous):
            return None
        return start if start < len(stmts) else None

    def _fixes(
        self, scope: Union[cst.FunctionDef, cst.If], plans: List[Tuple[Client, int, str]]
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


def _assigns(stmt: cst.BaseStatement, value: cst.CSTNode) -> bool:
    """``stmt`` is ``name = <value>`` (a client created in a ``__main__`` block)."""
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is value for small in stmt.body
    )


def _func(client: Client) -> Optional[cst.CSTNode]:
    """The function that creates a local client (or binds a process-wide one to a local name)."""
    return client.owner if client.kind in ("local", "module") else None
