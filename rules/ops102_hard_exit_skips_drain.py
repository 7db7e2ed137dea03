"""OPS102 hard-exit-skips-drain (its facts: ``_exits.ExitFacts``, shared with OPS103/OPS104)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from opslint.model import Related, Span
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _buffers
from opslint.rules._buffer_project import facts_for
from opslint.rules._buffered import Client, ClientKey
from opslint.rules._exits import (
    ATEXIT_REGISTER,
    ATEXIT_RUN,
    EXEC_PREFIXES,
    FORK_CALLS,
    HARD_EXITS,
    PROCESS_TARGETS,
    SIGNAL_INSTALLERS,
    CallRec,
    ExitFacts,
    Scope,
    class_level,
    drain_text,
    line_indent,
    loss_text,
    one_per_buffer,
    statement_of,
)
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import always_exits, keyword
from opslint.syntax.walk import find_all


@dataclass
class _ExitVerdict:
    clients: List[Client] = field(default_factory=list)
    atexit_nodes: List[cst.CSTNode] = field(default_factory=list)
    #: Handlers registered when a module this file imports is loaded: (path, span).
    imported_atexit: List[Tuple[str, Span]] = field(default_factory=list)


class HardExitSkipsDrain(Rule):
    """`os._exit()` ends the process without draining buffered clients or running atexit.

    ## What it does
    Flags `os._exit()` on a path after a buffering SDK client was used (an
    analytics, A/B-testing, error-tracking, tracing or Kafka producer client
    from the catalog, or a class attribute holding one, `class Telemetry:
    client = Client(...)`, used through classmethods from anywhere), or in a
    program that registers `atexit` handlers.  A drain in a function called
    before the exit (`Telemetry.flush()`) counts.  `os._exit()` skips atexit handlers, `finally` blocks, the SDKs' own exit
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

    requires = (ExitFacts,)

    code = "OPS102"
    name = "hard-exit-skips-drain"
    message = "{call} exits without running atexit handlers, `finally` blocks or flushes: {loss}"
    tokens = ("_exit",)
    #: Wrappers, singletons and getters of other modules (rules/_buffer_project.py).
    needs_project = True
    project_tokens = _buffers.TOKENS

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return facts_for(module, info)

    fix_availability = "sometimes"

    def leave_Module(self, original_node: cst.Module) -> None:
        facts = self.ctx.analysis(ExitFacts)
        exits: List[Tuple[CallRec, Optional[cst.BaseExpression]]] = [
            (r, None) for r in facts.calls if r.qual in HARD_EXITS
        ]
        exits += facts.exit_refs
        if not exits:
            return
        facts.resolve(self.ctx.project)
        child_only = self._child_only_functions(facts)
        registered = self._atexit_handlers(facts)
        atexit_nodes: List[cst.CSTNode] = [r.node for r in facts.calls if r.qual in ATEXIT_REGISTER]
        atexit_nodes += self._atexit_decorators(facts)
        # Test code exits hard on purpose (a child that must not run the parent's handlers).
        imported_atexit = [] if atexit_nodes or self.ctx.is_test_file else self._imported_atexit()
        callbacks = _callback_functions(facts)
        for rec, ref in exits:
            verdict = _ExitVerdict()
            asynchronous = (
                ref is not None
                or any(isinstance(s, cst.Lambda) for s in rec.chain)
                or any(isinstance(s, cst.FunctionDef) and s.name.value in callbacks for s in rec.chain)
            )
            if _parent_branch(rec):
                # ``if os.fork() > 0: os._exit(0)``: the first parent of a daemonizing fork
                # leaves its atexit handlers to the child, but what its own clients hold is lost.
                verdict.clients = self._live_clients(facts, rec, asynchronous)
                if verdict.clients:
                    self._report(facts, rec, verdict, asynchronous, ref)
                continue
            if self._after_fork(facts, rec) or any(s in child_only for s in rec.chain):
                # A forked child ends with ``os._exit`` by design; only a client the child
                # made itself (a Process target's own client) still holds its events.
                own = [c for c in self._live_clients(facts, rec, asynchronous) if _made_in(c, rec)]
                if own and not self._after_fork(facts, rec):
                    verdict.clients = own
                    self._report(facts, rec, verdict, asynchronous, ref)
                continue
            verdict.clients = self._live_clients(facts, rec, asynchronous)
            in_handler = any(isinstance(s, cst.FunctionDef) and s.name.value in registered for s in rec.chain)
            ran_exitfuncs = any(r.qual in ATEXIT_RUN and r.scope is rec.scope and r.seq < rec.seq for r in facts.calls)
            if (atexit_nodes or imported_atexit) and not in_handler and not ran_exitfuncs:
                verdict.atexit_nodes = atexit_nodes
                verdict.imported_atexit = imported_atexit
            if not verdict.clients and not verdict.atexit_nodes and not verdict.imported_atexit:
                continue
            self._report(facts, rec, verdict, asynchronous, ref)

    def _imported_atexit(self) -> List[Tuple[str, Span]]:
        """atexit handlers that the project modules this file imports (or the modules that
        import it, and what those import) register when they are loaded (``svc/db.py``:
        ``atexit.register(_close)`` at module level, or an ``@atexit.register`` function):
        the program has them even though this file does not."""
        project = self.ctx.project
        name = project.module_of(self.ctx.path) if project is not None else None
        summary = project.summary(name) if project is not None and name is not None else None
        if project is None or name is None or summary is None:
            return []
        found: List[Tuple[str, Span]] = []
        seen: Set[str] = {name}
        imported = _imported_modules(project, summary)
        # ``die()`` in ``lifecycle.py``, called by ``service.py``, which also imports
        # ``tracking.py`` (``atexit.register(client.shutdown)``): the program that calls the
        # helper has those handlers, though neither file imports the other.
        for importer in _importers(project, name):
            other_summary = project.summary(importer)
            if other_summary is not None:
                imported += [importer, *_imported_modules(project, other_summary)]
        for module in imported:
            if module in seen:
                continue
            seen.add(module)
            other = project.summary(module)
            if other is None:
                continue
            for function in other.functions.values():
                if function.kind == "module":
                    found.extend((other.path, c.span) for c in function.calls if c.callee in ATEXIT_REGISTER)
                found.extend((other.path, d.span) for d in function.decorators if d.name in ATEXIT_REGISTER)
        return found

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
        return any(self._forks_before(facts, s, rec.seq) for s in scopes) and not _in_parent(facts, rec)

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
            arg = keyword(r.node, "target") if r.qual in PROCESS_TARGETS else None
            # ``os.register_at_fork`` itself or an alias of it (``getattr(os, "register_at_fork")``).
            arg = arg or keyword(r.node, "after_in_child")
            text = dotted_name(arg.value) if arg is not None else None
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
        # ``os._exit(main())``: the calls in the exit's arguments run before it.
        seq = _exit_seq(facts, rec)
        live: List[Client] = []
        earlier = facts.reachable(scope, 0, seq)
        later = facts.reachable(scope, seq)
        for key, client in facts.clients.items():
            uses = [e for e in facts.events if e.key == key and e.kind == "use"]
            # ``loop.call_later(DEADLINE, os._exit, 124)`` then ``client = Amplitude(...)``: a
            # watchdog armed by the function that goes on to use its own client.
            armed_before_use = (
                client.kind == "local"
                and any(s is client.owner for s in rec.chain)
                and any(e.scope is client.owner and e.seq > rec.seq for e in uses)
            )
            if asynchronous and uses and (client.kind != "local" or armed_before_use):
                # A callback exit can fire at any time: any use of a long-lived client counts,
                # unless the callback drains it itself before exiting.
                if not facts.drained(key, scope, 0, seq):
                    live.append(client)
                continue
            here = [e for e in uses if e.scope is scope and e.seq < seq]
            # ``await pump(producer)``: the client handed to a function of the file that uses it.
            here += [
                e
                for e in facts.events
                if e.key == key and e.kind == "pass" and e.scope is scope and e.seq < seq and _hands_to_user(e)
            ]
            if here:
                last = max(e.seq for e in here)
                if not facts.drained(key, scope, last, seq, at=rec.node) and not _drained_by_callee(
                    facts, key, scope, last, seq
                ):
                    live.append(client)
                continue
            if not asynchronous and _used_by_earlier_pass(facts, rec, seq, key, uses):
                live.append(client)  # ``while True: ... os._exit(1) ... producer.produce()``
                continue
            # Not used here: only clients that outlive a function matter.
            if client.kind == "local":
                continue
            if not asynchronous and isinstance(scope, cst.FunctionDef) and _runs_before_any_use(facts, scope, uses):
                continue  # ``daemonize()`` at the start of ``main()``, before the SDK is set up and used
            if client.kind == "attr" and (rec.cls is None or client.owner is not rec.cls) and not class_level(client):
                continue
            if not asynchronous and isinstance(scope, cst.FunctionDef):
                # ``self._abort(...)`` from the middle of ``ship()``, which still holds unsent events.
                if not facts.drained(key, scope, 0, seq) and any(
                    _pending_at_site(facts, key, site) for site in facts.call_sites(scope)
                ):
                    live.append(client)
                    continue
            # Functions this one only calls after the exit have not run yet.
            elsewhere = [e for e in uses if e.scope is not scope and not (e.scope in later and e.scope not in earlier)]
            if (
                elsewhere
                and not asynchronous
                and facts.raised_past(key, scope, rec.node)
                and not facts.drained(key, scope, 0, seq, at=rec.node)
            ):
                live.append(client)  # ``try: run() except: os._exit(1)``: run()'s flush was skipped
                continue
            if not elsewhere or facts.drained(key, scope, 0, seq) or facts.drained_by_calls(key, scope, seq):
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
                if client.kind == "local" and client not in live and not facts.drained(key, scope, 0, seq):
                    live.append(client)
        return one_per_buffer(live, rec.cls, facts.clients.values())

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
        elif verdict.imported_atexit:
            path, span = verdict.imported_atexit[0]
            parts.append(
                f"the atexit handlers that `{self.ctx.display_of(path)}` registers (line {span.line}) never run"
            )
        related: List[Any] = [
            RelatedNode(c.node, f"{c.sdk.display} client created or used here") for c in verdict.clients[:3]
        ]
        for node in verdict.atexit_nodes[:1]:
            related.append(RelatedNode(node, "atexit handler registered here"))
        for path, span in verdict.imported_atexit[:1]:
            related.append(Related(self.ctx.display_of(path), span, "atexit handler registered here"))
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
        # ``os._exit(main())``: a drain inserted before the statement would run before main().
        runs_args = _exit_seq(facts, rec) != rec.seq
        if not verdict.atexit_nodes and not verdict.imported_atexit and not runs_args:
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


def _drained_by_callee(facts: ExitFacts, key: ClientKey, scope: Optional[Scope], lo: int, hi: int) -> bool:
    """A function of the file called between the last use and the exit drains the client
    after its own uses (``os._exit(main())``, where ``main()`` flushes in its ``finally``)."""
    return any(
        key not in facts.leftover_after_uses(func) and facts.drained(key, func, 0, 1 << 60)
        for func in facts.callees(scope, lo, hi)
    )


def _runs_before_any_use(facts: ExitFacts, func: cst.FunctionDef, uses: List[Any], depth: int = 3) -> bool:
    """Every same-file call of ``func`` comes before any use of the client: no use earlier
    in the caller, in what the caller called before, or around the call in a loop, and the
    same for the caller's own callers (``daemonize(pidfile)`` first thing in ``main()``,
    whose parents leave with ``os._exit(0)`` before ``sentry_sdk.init``). False when
    ``func`` has no call site in the file (it may be called from anywhere)."""
    sites = facts.call_sites(func)
    if not sites or depth == 0:
        return False
    for site in sites:
        caller = site.scope
        before = facts.reachable(caller, 0, site.seq)
        if any((e.scope is caller and e.seq < site.seq) or e.scope in before for e in uses):
            return False
        for loop in facts.loops:
            if (loop.chain[-1] if loop.chain else None) is caller and loop.start < site.seq < loop.end:
                return False  # a later pass of the loop runs after this pass's uses
        if isinstance(caller, cst.FunctionDef) and not _runs_before_any_use(facts, caller, uses, depth - 1):
            return False
    return True


def _used_by_earlier_pass(facts: ExitFacts, rec: CallRec, seq: int, key: ClientKey, uses: List[Any]) -> bool:
    """The exit sits in a loop whose body uses the client after it, undrained: from the
    second pass on, the events of the passes before are still buffered when it runs."""
    scope = rec.scope
    loops = [loop for loop in facts.loops if loop.chain[-1:] == rec.chain[-1:] and loop.start < seq < loop.end]
    if not loops:
        return False
    loop = max(loops, key=lambda candidate: candidate.start)
    after = [e.seq for e in uses if e.scope is scope and seq < e.seq < loop.end]
    if not after:
        return False
    return not facts.drained(key, scope, loop.start, seq, at=rec.node) and not facts.drained(
        key, scope, max(after), loop.end
    )


def _imported_modules(project: Any, summary: Any) -> List[str]:
    """The project modules a module imports (its own names, or a module's names)."""
    out: List[str] = []
    for target in summary.aliases.values():
        module = target if target in project.modules else target.rpartition(".")[0]
        if module in project.modules and module not in out:
            out.append(module)
    return out


def _importers(project: Any, name: str) -> List[str]:
    """The project modules that import ``name`` (or a name of it)."""

    def compute() -> Dict[str, List[str]]:
        reverse: Dict[str, List[str]] = {}
        for module, summary in project.modules.items():
            for imported in _imported_modules(project, summary):
                if imported != module:
                    reverse.setdefault(imported, []).append(module)
        return reverse

    found = project.memo(("OPS102", "importers"), compute)
    return list(found.get(name, [])) if isinstance(found, dict) else []


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


def _pending_at_site(facts: ExitFacts, key: ClientKey, site: CallRec) -> bool:
    """The caller used the client before calling (or earlier in the loop around the call)
    and has not drained it since."""
    caller = site.scope
    uses = [e for e in facts.events if e.key == key and e.kind == "use" and e.scope is caller]
    before = [e.seq for e in uses if e.seq < site.seq]
    if before and not facts.drained(key, caller, max(before), site.seq):
        return True
    for loop in facts.loops:
        inside = (loop.chain[-1] if loop.chain else None) is caller and loop.start < site.seq < loop.end
        if inside and any(loop.start < e.seq < loop.end for e in uses):
            if not facts.drained(key, caller, loop.start, loop.end):
                return True
    return False


def _made_in(client: Client, rec: CallRec) -> bool:
    """A client local to a function of the exit's chain."""
    return client.kind == "local" and any(client.owner is s for s in rec.chain)


def _in_parent(facts: ExitFacts, rec: CallRec) -> bool:
    """After ``if pid == 0: ... os._exit(...)`` (a child branch that always ends) the rest
    of the function runs in the parent."""
    scope = rec.scope
    stack = rec.stack
    if not isinstance(scope, cst.FunctionDef) or scope not in stack:
        return False
    index = stack.index(scope)
    if len(stack) < index + 3 or not isinstance(stack[index + 1], cst.IndentedBlock):
        return False
    statement = stack[index + 2]
    body = list(cst.ensure_type(stack[index + 1], cst.IndentedBlock).body)
    position = next((i for i, stmt in enumerate(body) if stmt is statement), None)
    if position is None:
        return False
    for earlier in body[:position]:
        if isinstance(earlier, cst.If) and earlier.orelse is None and _child_test(earlier.test):
            if always_exits(earlier.body, facts.imports, jumps=False):
                return True
    return False


def _hands_to_user(event: Any) -> bool:
    """A ``pass`` event whose call is a function of the program (``pump(producer)``), not a
    builtin or a logging call that only prints the client."""
    call = event.node
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name):
        return False
    return call.func.value not in _NOT_USERS


#: Builtins a client is handed to without being used.
_NOT_USERS = frozenset(
    {"print", "repr", "str", "id", "type", "isinstance", "len", "hash", "getattr", "hasattr", "vars"}
)


def _parent_branch(rec: CallRec) -> bool:
    """The exit is in the body of ``if os.fork() > 0:`` / ``if pid:`` / ``if pid != 0:``
    (the parent's side of a fork tested in the same function)."""
    stack = rec.stack
    for depth in range(len(stack) - 1, 0, -1):
        node = stack[depth]
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.If) and stack[depth + 1] is node.body and _parent_test(node.test):
            return True
    return False


def _parent_test(test: cst.BaseExpression) -> bool:
    """``os.fork() > 0``, ``pid > 0``, ``pid != 0``, ``pid`` (a name or a fork call)."""
    if isinstance(test, cst.Name):
        return "pid" in test.value.lower()
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    comp = test.comparisons[0]
    if not (isinstance(comp.comparator, cst.Integer) and comp.comparator.value == "0"):
        return False
    left = test.left
    forked = isinstance(left, cst.Call) and (dotted_name(left.func) or "").endswith("fork")
    named = isinstance(left, cst.Name) and "pid" in left.value.lower()
    return (forked or named) and isinstance(comp.operator, (cst.GreaterThan, cst.NotEqual))


def _child_test(test: cst.BaseExpression) -> bool:
    """``pid == 0``, ``0 == pid``, ``not pid``."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, cst.Name)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comp = test.comparisons[0]
        sides = (test.left, comp.comparator)
        return isinstance(comp.operator, cst.Equal) and any(
            isinstance(side, cst.Integer) and side.value == "0" for side in sides
        )
    return False


def _exit_seq(facts: ExitFacts, rec: CallRec) -> int:
    """The point of the exit: after the calls of its own arguments (``os._exit(main())``)."""
    inner = {id(node) for arg in rec.node.args for node in find_all(arg.value, cst.Call)}
    return max((r.seq + 1 for r in facts.calls if id(r.node) in inner), default=rec.seq)
