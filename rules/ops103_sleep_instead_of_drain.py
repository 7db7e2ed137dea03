"""OPS103 sleep-instead-of-drain: a trailing ``time.sleep`` that waits for a background sender."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Set, Union

import libcst as cst

from opslint.analysis.entrypoints import EntryKind, EntryPoint, entry_point_for
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _buffers
from opslint.rules._buffer_project import facts_for
from opslint.rules._buffer_tasks import entry_label, task_entries
from opslint.rules._buffered import Client, ClientKey
from opslint.rules._exits import (
    SLEEPS,
    CallRec,
    ExitFacts,
    Scope,
    describe_all,
    drain_text,
    one_per_buffer,
)
from opslint.syntax.names import dotted_name
from opslint.syntax.walk import iter_nodes

#: Calls that may follow the sleep without making it "not the end": exits and log lines.
_EXIT_CALLS = frozenset({"sys.exit", "os._exit", "exit", "quit"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "echo"})
_CLEANUP_METHODS = frozenset({"close", "disconnect", "dispose", "cleanup", "quit", "logout"})
_OUTPUT_CALLS = frozenset(
    {"print", "click.echo", "click.secho", "typer.echo", "typer.secho", "rich.print"}
    | {"logging.info", "logging.warning", "logging.debug"}
)
#: Output streams and consoles, and what writing to them is called.
_STREAMS = frozenset({"stdout", "stderr", "console", "err_console"})
_STREAM_METHODS = frozenset({"write", "flush", "print", "log", "rule"})


class SleepInsteadOfDrain(Rule):
    """A `time.sleep()` at the end of a program that waits for a buffered SDK to send.

    ## What it does
    Flags `time.sleep(N)` (or `await asyncio.sleep(N)`) among the last
    statements of an entry point (the `__main__` block and the functions it
    calls, a script's module code, a CLI command, a Django management command,
    a serverless handler) when a buffering SDK client (analytics, A/B testing,
    error tracking, tracing, Kafka producers) was used before it, directly or
    in a same-file function it called, and not drained.  Only returns, exits
    and log lines may follow the sleep.  A call of another module's helper
    whose work is to sleep (it logs, then sleeps) counts as the sleep, and a
    countdown loop of sleeps as one sleep.  A sleep in a loop (polling, retry,
    backoff), in the middle of the work, before or after a blocking drain, a
    keep-alive sleep (over 10 minutes), or a program that uses no buffering
    client is not flagged.

    ## Why it matters
    Incident 000: a job sent A/B-testing events through the Hackle SDK, whose
    daemon thread flushes every 10 seconds; once the job became a short-lived
    ECS task it exited before the flush and only one event ever arrived, and the
    stop-gap was a 10-second sleep before exit.  The interval is the SDK's
    business (and a slow or retried send outlives any fixed sleep): call the
    blocking drain instead, `client.close()` for Hackle, `flush()` for
    Segment, PostHog, Kafka producers and Mixpanel's `BufferedConsumer`,
    `shutdown()` for Amplitude, `close()` for LaunchDarkly (its `flush()`
    does not wait), `sentry_sdk.flush()`.

    ## Example
    ```python
    import time
    import posthog

    if __name__ == "__main__":
        posthog.capture(distinct_id="job", event="report_built")
        time.sleep(5)
    ```

    ## Use instead
    ```python
    import posthog

    if __name__ == "__main__":
        posthog.capture(distinct_id="job", event="report_built")
        posthog.flush()
    ```

    ## Fix safety
    Unsafe: the fix replaces the sleep with the client's blocking drain when
    the client is in scope.  A drain can take longer than the sleep (it waits
    for delivery or its own timeout) and some drains end the client
    (`close()`, `shutdown()`).  When the client cannot be named where the
    sleep is (it lives in another function), the fix is a suggestion.

    ## See also
    OPS101 (buffered client never drained), OPS102 (`os._exit` skips the drain).
    """

    requires = (ExitFacts,)

    code = "OPS103"
    name = "sleep-instead-of-drain"
    message = (
        "`{sleep}` at the end of {entry} waits for {clients} to send in the background: {note}; "
        "the interval is the SDK's business and a late or retried send is still lost, {advice}"
    )
    tokens = ("sleep",)
    #: Wrappers, singletons and getters of other modules (rules/_buffer_project.py).
    needs_project = True
    project_tokens = _buffers.TOKENS

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return facts_for(module, info)

    fix_availability = "sometimes"

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        """The file calls another module's sleep helper (``wait_for_event_delivery()``)."""
        name = project.module_of(path) if hasattr(project, "module_of") else None
        summary = project.summary(name) if name is not None else None
        if summary is None:
            return False
        return any(
            _sleep_helper(project, site.callee) for function in summary.functions.values() for site in function.calls
        )

    def leave_Module(self, original_node: cst.Module) -> None:
        facts = self.ctx.analysis(ExitFacts)
        project = self.ctx.project
        #: Calls of another module's function that only sleeps (and logs): the sleep itself.
        helpers = {
            id(r.node) for r in facts.calls if r.qual not in SLEEPS and r.qual and _sleep_helper(project, r.qual)
        }
        sleeps = [r for r in facts.calls if r.qual in SLEEPS or id(r.node) in helpers]
        self._helper_calls: Set[int] = helpers
        if not sleeps:
            return
        facts.resolve(self.ctx.project)
        if not facts.clients:
            return
        # Celery tasks and pool workers end in a forked child that exits with ``os._exit``.
        entries = facts.entries()
        entries = entries + task_entries(facts.buffered, entries, self.ctx.project)
        for rec in sleeps:
            depth = _statement_depth(rec.stack, rec.node)
            if depth is None or not _stop_gap_duration(rec.node):
                continue
            found = _tail_of_entry(self, rec.stack[:-depth], entries)
            if isinstance(found, cst.FunctionDef):
                # A helper whose last statement is the sleep, itself called last by an entry point.
                self._through_helper(facts, rec, found, entries)
                continue
            if found is None or not self._ends_process(facts, found, entries):
                continue
            scope: Optional[Scope] = found.node if isinstance(found.node, cst.FunctionDef) else None
            pending = _pending(facts, rec, scope)
            if pending:
                self._report(rec, found, scope, pending)

    def _ends_process(self, facts: ExitFacts, entry: EntryPoint, entries: Sequence[EntryPoint]) -> bool:
        """A main-block callee ends the process only if the block does nothing more after calling it."""
        if entry.kind is not EntryKind.MAIN_CALLEE or not isinstance(entry.node, cst.FunctionDef):
            return True
        sites = facts.call_sites(entry.node)
        return not sites or any(
            isinstance(_tail_of_entry(self, site.stack[:-2], entries), EntryPoint) for site in sites
        )

    def _through_helper(
        self, facts: ExitFacts, rec: CallRec, helper: cst.FunctionDef, entries: Sequence[EntryPoint]
    ) -> None:
        for site in facts.call_sites(helper):
            entry = _tail_of_entry(self, site.stack[:-2], entries)
            if not isinstance(entry, EntryPoint):
                continue
            scope: Optional[Scope] = entry.node if isinstance(entry.node, cst.FunctionDef) else None
            keys = {c.key: c for c in _pending(facts, site, scope)}
            keys.update({c.key: c for c in _pending(facts, rec, helper)})
            if keys:
                clients = sorted(keys.values(), key=lambda c: c.label)
                self._report(rec, entry, helper, clients, via=helper.name.value)
                return

    def _report(
        self, rec: CallRec, entry: EntryPoint, scope: Optional[Scope], pending: List[Client], via: str = ""
    ) -> None:
        serverless = entry.kind is EntryKind.SERVERLESS
        drains = [drain_text(self, c, scope, rec.cls, serverless=serverless) for c in pending]
        notes = "; ".join(f"{c.sdk.display} {c.sdk.buffer_note}" for c in pending if c.sdk.buffer_note)
        known = drains
        if id(rec.node) in self._helper_calls:
            # The helper may do more than sleep (and other callers may need it): say what to call.
            names = ", ".join(f"`{d}`" for d in known if d is not None) or ", ".join(
                f"`{c.label}.{c.sdk.drain_names()}`" for c in pending
            )
            advice = f"call {names} instead"
            fix = PendingFix.suggestion(f"Replace the call with a blocking drain: {names}")
        elif all(d is not None for d in known):
            listed = ", ".join(f"`{d}`" for d in known if d is not None)
            advice = f"call {listed} instead"
            target: cst.CSTNode = rec.stack[-2] if isinstance(rec.stack[-2], cst.Await) else rec.node
            # A countdown loop of sleeps is the wait: the drain replaces the loop.
            target = _countdown_of(self, rec.stack) or target
            indent = _indent_of(self, target)
            text = f"\n{indent}".join(d for d in known if d is not None)
            fix = PendingFix.unsafe(f"Replace the sleep with {listed}", self.edits.replace(target, text))
        else:
            names = ", ".join(f"`{c.label}.{c.sdk.drain_names()}`" for c in pending)
            advice = f"drain the client where it is in scope ({names})"
            fix = PendingFix.suggestion(f"Replace the sleep with a blocking drain: {names}")
        related = [RelatedNode(c.node, f"{c.sdk.display} client created or used here") for c in pending[:3]]
        self.report(
            rec.node,
            fix=fix,
            related=related,
            sleep=self.edits.code(rec.stack[-2] if isinstance(rec.stack[-2], cst.Await) else rec.node),
            entry=f"{entry_label(entry)} (in `{via}()`)" if via else entry_label(entry),
            clients=describe_all(pending),
            note=notes or "the SDK sends from a background thread",
            advice=advice,
        )


def _sleep_helper(project: Any, qualified: str) -> bool:
    """A function of another module of the project whose work is to sleep: its last call is
    a sleep that no test guards (not a poll loop's), and every call before it logs or prints
    (``def wait_for_event_delivery(): log.info(...); time.sleep(interval + 2)``)."""
    if project is None or not hasattr(project, "function"):
        return False
    function = project.function(project.canonical(qualified))
    if function is None or not function.calls:
        return False
    last = function.calls[-1]
    if last.callee not in SLEEPS or last.pos_guards or last.neg_guards or last.in_finally:
        return False
    return all(_logs(site.callee) for site in function.calls[:-1])


def _logs(callee: str) -> bool:
    receiver, _, method = callee.rpartition(".")
    if callee in _OUTPUT_CALLS or callee == "print":
        return True
    return method in _LOG_METHODS and "log" in receiver.lower()


def _indent_of(rule: SleepInsteadOfDrain, node: cst.CSTNode) -> str:
    line, column = rule.position(node)
    text = rule.ctx.lines.line_text(line)
    prefix = text[: column - 1]
    return prefix if not prefix.strip() else ""


def _pending(facts: ExitFacts, rec: CallRec, scope: Optional[Scope]) -> List[Client]:
    """Clients the entry used before the sleep (itself or through same-file callees), not drained."""
    keys: Dict[ClientKey, None] = {}
    for key, event in facts.pending_in(scope, rec.seq, kinds=("use", "pass")).items():
        # ``drain_all()`` between the last use and the sleep: a same-file helper drains it.
        helpers = facts.reachable(scope, event.seq, rec.seq)
        if not any(facts.drained(key, helper, 0, 1 << 60) for helper in helpers):
            keys[key] = None
    for func in facts.reachable(scope, 0, rec.seq):
        for key in facts.leftover_after_uses(func):
            if not facts.drained(key, scope, 0, rec.seq):
                keys[key] = None
    # A sleep gives nothing time to send unless something sends in the background.
    for key in [k for k in keys if not facts.clients[k].sdk.sends_in_background]:
        del keys[key]
    if scope is not None:
        # ``@metrics.log_metrics``: the decorator drains once the function returns, after the sleep.
        for key in [k for k in keys if _drained_by_decorator(facts.clients[k], scope)]:
            del keys[key]
    return one_per_buffer((facts.clients[k] for k in keys), rec.cls, facts.clients.values())


def _drained_by_decorator(client: Client, scope: Scope) -> bool:
    methods = client.sdk.drain_decorator_methods
    if not methods or not isinstance(scope, cst.FunctionDef):
        return False
    for dec in scope.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if isinstance(target, cst.Attribute) and target.attr.value in methods:
            if dotted_name(target.value) in (client.label, client.alt_receiver):
                return True
    return False


def _statement_depth(stack: Sequence[cst.CSTNode], call: cst.Call) -> Optional[int]:
    """How many nodes below its statement line the sleep call is (``sleep(1)``: 2, ``await sleep(1)``: 3)."""
    depth = 2
    if len(stack) >= 3 and isinstance(stack[-2], cst.Await) and stack[-2].expression is call:
        depth = 3
    if len(stack) <= depth:
        return None
    expr, line = stack[-depth], stack[-depth - 1]
    if not isinstance(expr, cst.Expr) or not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    return depth


#: Sleeps longer than this keep a process alive (a server's main); they do not wait for a flush.
_KEEP_ALIVE_SECONDS = 600.0


def _stop_gap_duration(call: cst.Call) -> bool:
    """False for a sleep that keeps a process alive (``sleep(86400)``, ``sleep(float("inf"))``)."""
    if not call.args:
        return True
    value = _number(call.args[0].value)
    return value is None or value <= _KEEP_ALIVE_SECONDS


def _number(expr: cst.BaseExpression) -> Optional[float]:
    if isinstance(expr, (cst.Integer, cst.Float)):
        return float(expr.evaluated_value)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Multiply, cst.Add)):
        left, right = _number(expr.left), _number(expr.right)
        if left is None or right is None:
            return None
        return left * right if isinstance(expr.operator, cst.Multiply) else left + right
    if isinstance(expr, cst.Call) and dotted_name(expr.func) == "float" and expr.args:
        arg = expr.args[0].value
        if isinstance(arg, cst.SimpleString) and "inf" in arg.value.lower():
            return float("inf")
    return None


def _tail_of_entry(
    rule: SleepInsteadOfDrain, stack: Sequence[cst.CSTNode], entries: Sequence[EntryPoint]
) -> Union[EntryPoint, cst.FunctionDef, None]:
    """The entry point whose last statements include the statement at the top of ``stack``
    (or the function that ends with it, when that function is not an entry point)."""
    # stack: Module ... SimpleStatementLine
    child: cst.CSTNode = stack[-1]
    #: The path has met a ``return`` after the sleep: what follows the enclosing blocks
    #: never runs on it (``except ...: report(); time.sleep(2); return 500``).
    returned = False
    for node in reversed(stack[:-1]):
        if isinstance(node, (cst.IndentedBlock, cst.Module)):
            body = node.body
            index = _index(body, child)
            if not returned and (index is None or not all(_trivial(rule, s) for s in body[index + 1 :])):
                return None
            if index is not None and isinstance(node, cst.IndentedBlock):
                returned = returned or any(_returns(s) for s in body[index + 1 :])
            if isinstance(node, cst.Module):
                # Module code that runs to its end: a script, even without a main guard.
                return entry_point_for(entries, node) or EntryPoint(
                    EntryKind.SCRIPT, "<script>", node, "module code of a script"
                )
        elif isinstance(node, cst.Try):
            if child is not node.finalbody and node.finalbody is not None:
                if not all(_trivial(rule, s) for s in node.finalbody.body.body):
                    return None
        elif isinstance(node, cst.If):
            entry = entry_point_for(entries, node)
            if entry is not None:
                return entry
        elif isinstance(node, cst.FunctionDef):
            return entry_point_for(entries, node) or node
        elif isinstance(node, (cst.For, cst.While)) and not returned and _countdown(rule, node):
            pass  # ``for remaining in range(6, 0, -1): log(...); sleep(1)``: the loop is the wait
        elif isinstance(node, (cst.ClassDef, cst.Lambda)) or (isinstance(node, (cst.For, cst.While)) and not returned):
            return None
        elif not isinstance(
            node, (cst.Else, cst.Finally, cst.ExceptHandler, cst.With, cst.SimpleStatementSuite, cst.If)
        ):
            return None
        child = node
    return None


def _countdown(rule: SleepInsteadOfDrain, loop: Union[cst.For, cst.While]) -> bool:
    """A loop that only waits: over a ``range`` (or while a counter is left), its body the
    sleep, log lines and a counter step (``remaining -= 1``)."""
    if loop.orelse is not None or not isinstance(loop.body, cst.IndentedBlock):
        return False
    if isinstance(loop, cst.For):
        if not (isinstance(loop.iter, cst.Call) and dotted_name(loop.iter.func) == "range"):
            return False
    elif (
        any(isinstance(n, cst.Call) for n in iter_nodes(loop.test))
        or isinstance(loop.test, cst.Name)
        and (loop.test.value == "True")
    ):
        return False
    for stmt in loop.body.body:
        if _trivial(rule, stmt) or _sleeps(rule, stmt):
            continue
        if isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.AugAssign) for s in stmt.body):
            continue
        return False
    return True


def _countdown_of(rule: SleepInsteadOfDrain, stack: Sequence[cst.CSTNode]) -> Optional[cst.CSTNode]:
    """The countdown loop (see ``_countdown``) directly around the sleep's statement, if any."""
    # Call, [Await,] Expr, SimpleStatementLine, IndentedBlock, the loop.
    depth = 6 if len(stack) >= 2 and isinstance(stack[-2], cst.Await) else 5
    if len(stack) < depth:
        return None
    loop = stack[-depth]
    if isinstance(loop, (cst.For, cst.While)) and _countdown(rule, loop):
        return loop
    return None


def _sleeps(rule: SleepInsteadOfDrain, stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return False
    value = stmt.body[0].value
    value = value.expression if isinstance(value, cst.Await) else value
    return isinstance(value, cst.Call) and rule.qualified_name(value.func) in SLEEPS


def _returns(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in stmt.body)


def _index(body: Sequence[cst.CSTNode], child: cst.CSTNode) -> Optional[int]:
    for i, stmt in enumerate(body):
        if stmt is child:
            return i
    return None


def _client_calls(rule: SleepInsteadOfDrain) -> List[cst.CSTNode]:
    """Calls that are uses or drains of a buffered client."""
    return [e.node for e in rule.ctx.analysis(ExitFacts).events]


def _trivial(rule: SleepInsteadOfDrain, stmt: cst.CSTNode) -> bool:
    """Statements that may follow the sleep at the end: returns, exits, log and print lines."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, (cst.Pass, cst.Return)):
            continue
        if isinstance(small, cst.Raise):
            exc = small.exc
            target = exc.func if isinstance(exc, cst.Call) else exc
            if target is not None and dotted_name(target) == "SystemExit":
                continue
            return False
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            if _exit_or_log(rule, small.value):
                continue
        return False
    return True


def _exit_or_log(rule: SleepInsteadOfDrain, call: cst.Call) -> bool:
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _CLEANUP_METHODS:
        # Closing a database connection or a file after the sleep; closing a buffered client is a drain.
        return call not in _client_calls(rule)
    qual = rule.qualified_name(call.func)
    name = dotted_name(call.func)
    if qual in _EXIT_CALLS or qual in _OUTPUT_CALLS or name in ("print", "exit", "quit"):
        return True
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _STREAM_METHODS:
        # ``self.stdout.write("done")`` (a Django command), ``sys.stdout.flush()``, ``console.print``.
        base = dotted_name(call.func.value) or ""
        if base.split(".")[-1].lower() in _STREAMS:
            return True
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _LOG_METHODS:
        base = dotted_name(call.func.value) or ""
        return base.split(".")[-1].lower() in ("log", "logger", "logging", "_log", "_logger", "click", "typer") or (
            "log" in base.lower()
        )
    return False
