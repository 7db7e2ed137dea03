"""OPS104 sigterm-drops-buffer: a long-running worker loop with a buffered client and no SIGTERM handler."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Set, Union, cast

import libcst as cst

from opslint.analysis.entrypoints import EntryKind, decorator_target
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _buffers
from opslint.rules._buffer_project import facts_for, relevant
from opslint.rules._buffered import Client, ClientKey
from opslint.rules._exits import (
    CallRec,
    ExitFacts,
    LoopRec,
    describe_all,
    drain_text,
    one_per_buffer,
)
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import ScopeVisitor, unwrap_await
from opslint.syntax.walk import find_all, is_name, iter_nodes, walk

#: Consumers whose iteration never ends on its own (``for record in consumer:``).
_ENDLESS_ITERABLES = frozenset(
    {
        "kafka.KafkaConsumer",
        "kafka.consumer.KafkaConsumer",
        "aiokafka.AIOKafkaConsumer",
        "aiokafka.consumer.AIOKafkaConsumer",
        # file watchers yield changes until the process is stopped
        "watchfiles.watch",
        "watchfiles.awatch",
        "watchgod.watch",
        "watchgod.awatch",
    }
)
#: Azure Service Bus receivers: without ``max_wait_time`` their iteration never ends.
_ENDLESS_RECEIVERS = frozenset({"get_queue_receiver", "get_subscription_receiver"})
#: Methods whose result is an endless stream (redis ``pubsub.listen()``, psycopg 3's
#: ``conn.notifies()`` without ``timeout``/``stop_after``).
_ENDLESS_METHODS = frozenset({"listen", "notifies"})
#: aio-pika's ``queue.iterator()`` waits for messages until the connection closes (a
#: Django ``QuerySet.iterator()`` ends: only in a file that imports aio_pika).
_AIO_PIKA_ITERATOR = "iterator"
#: Calls that serve until the process is stopped (socketserver, asyncio, pika).
_SERVE_FOREVER = frozenset(
    {"serve_forever", "run_forever", "start_consuming", "wait_for_termination", "loop_forever"}  # paho-mqtt
)
_THREADS = frozenset({"threading.Thread"})
#: tornado's loop getters: ``IOLoop.current().start()`` runs until stopped.
_IOLOOPS = frozenset({"tornado.ioloop.IOLoop.current", "tornado.ioloop.IOLoop.instance"})
#: Base classes whose ``run()`` consumes until ``should_stop`` is set (kombu).
_CONSUMER_MIXINS = frozenset({"kombu.mixins.ConsumerMixin", "kombu.mixins.ConsumerProducerMixin"})
#: Awaitables built in place that nothing can complete: ``await asyncio.Future()`` (the
#: websockets/aiohttp idiom for "serve until the process is stopped").
_NEVER_DONE = frozenset({"asyncio.Future", "asyncio.futures.Future"})
_NEVER_SET = frozenset({"asyncio.Event", "asyncio.locks.Event"})
#: Calls of a loop that run the jobs registered elsewhere (``schedule.every(5).minutes.do(job)``).
_RUNS_REGISTERED_JOBS = frozenset({"run_pending", "run_all"})
#: Keywords of a call that waits for work (a project helper's ``block_seconds=10``).
_BLOCKING_KEYWORDS = frozenset({"block", "block_seconds", "blocking", "wait_seconds", "wait_time_seconds"})
_BLOCKING_SCHEDULERS = frozenset(
    {
        "apscheduler.schedulers.blocking.BlockingScheduler",
        "apscheduler.schedulers.BlockingScheduler",
        # Slack Bolt's Socket Mode: ``start()`` connects, then waits on an Event nobody sets
        "slack_bolt.adapter.socket_mode.SocketModeHandler",
        "slack_bolt.adapter.socket_mode.builtin.SocketModeHandler",
        "slack_bolt.adapter.socket_mode.websocket_client.SocketModeHandler",
        "slack_bolt.adapter.socket_mode.websockets.SocketModeHandler",
    }
)
#: Functions that serve until the process is stopped, installing no SIGTERM handler
#: (waitress serves until KeyboardInterrupt; SIGTERM keeps the default action).
_SERVE_FUNCTIONS = frozenset({"waitress.serve"})
#: Calls that make a ``while`` loop a consume/poll/schedule loop.
_WAIT_METHODS = frozenset(
    {
        "poll",
        "consume",
        "receive",
        "receive_message",
        "receive_messages",
        "get_message",
        "listen",
        "blpop",
        "brpop",
        "brpoplpush",
        "blmove",
        "bzpopmin",
        "bzpopmax",
        "xread",
        "xreadgroup",
        "getmany",
        "getone",
        "pull",
        "recv",
        # pyzmq's typed receives
        "recv_json",
        "recv_string",
        "recv_pyobj",
        "recv_multipart",
        "recv_serialized",
        "recvfrom",
        "accept",
        "basic_get",
        "reserve",  # beanstalkd (greenstalk, beanstalkc)
        "fetch",  # NATS JetStream pull subscriptions
        "process_data_events",
        "run_pending",
        "wait",
        # a device or stream read (pyserial ``readline``/``read_until``) in a loop that never leaves
        "read",
        "readline",
        "read_until",
    }
)
#: Calls that consume with callbacks until the process is stopped: Azure Event Hubs'
#: ``consumer.receive(on_event=...)`` / ``receive_batch(on_event_batch=...)``.
_CALLBACK_CONSUMERS = {"receive": "on_event", "receive_batch": "on_event_batch"}
_SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "gevent.sleep", "trio.sleep", "anyio.sleep"})
#: Servers whose runner installs its own SIGTERM handling (graceful stop, then a normal exit).
_SIGTERM_RUNNERS = frozenset(
    {
        "uvicorn.run",
        "uvicorn.Server.serve",
        "aiohttp.web.run_app",
        "hypercorn.asyncio.serve",
        "hypercorn.trio.serve",
        "gunicorn.app.wsgiapp.run",
    }
)
#: Decorators of functions whose process is managed by a framework that handles SIGTERM.
_MANAGED_DECORATORS = frozenset({"task", "shared_task", "periodic_task", "actor", "job"})
_PROGRAM_KINDS = frozenset(
    {
        EntryKind.MAIN_BLOCK,
        EntryKind.SCRIPT,
        EntryKind.CONSOLE_SCRIPT,
        EntryKind.CLI_COMMAND,
        EntryKind.DJANGO_COMMAND,
    }
)


class SigtermDropsBuffer(Rule):
    """A long-running worker loop holds a buffered client, and SIGTERM would kill it undrained.

    ## What it does
    Flags an endless consume/poll/schedule loop (`while True:` or a stop-flag
    loop that polls, sleeps or waits, ZeroMQ `recv_json()` and beanstalkd
    `reserve()` included; `for record in KafkaConsumer(...)`;
    `async for msg in AIOKafkaConsumer(...)`; psycopg's `conn.notifies()`) or a
    call that blocks until the process is stopped (`serve_forever()`,
    `loop.run_forever()`, gRPC's `server.wait_for_termination()`, paho-mqtt's
    `loop_forever()`, tornado's `IOLoop.current().start()`, kombu's
    `ConsumerMixin.run()`, `await asyncio.Future()`,
    `BlockingScheduler().start()`, a Pub/Sub streaming pull's `result()`) in
    a program (a `__main__` block, a console script, a CLI or Django command)
    when the loop (or a request handler, or a job a `schedule.run_pending()` loop
    runs) uses a buffering SDK client without
    draining it each time, and nothing in the file handles SIGTERM (no
    `signal.SIGTERM` handler other than `SIG_DFL`/`SIG_IGN`, no server runner
    that handles it such as uvicorn or aiohttp's `run_app`, no project
    signal-setup helper).  Loops
    that can end (`break`/`return`), the loop of a daemon thread (a watchdog),
    Celery/RQ/Dramatiq tasks and serverless handlers are not flagged.  Off by default.

    ## Why it matters
    Incident 000: A/B-testing events sent through the Hackle SDK sit in memory
    until a daemon thread flushes them every 10 seconds, and a process that
    ends before the flush loses them silently (only one event ever arrived
    from the ECS task).  Containers are stopped with SIGTERM (`docker stop`,
    ECS, Kubernetes) and Python's default SIGTERM ends the process without
    running atexit handlers, `finally` blocks or the SDK's own exit hook
    (as PID 1 it ignores SIGTERM and is SIGKILLed 30 s later): install a
    handler that raises `SystemExit` or sets a stop flag, so that the drain
    runs (`client.close()` for Hackle, `flush()` for Segment, PostHog, Kafka
    producers, `sentry_sdk.flush()`, `shutdown()` for Amplitude).

    ## Example
    ```python
    import posthog
    from kafka import KafkaConsumer

    if __name__ == "__main__":
        for record in KafkaConsumer("signups", group_id="sink"):
            posthog.capture(distinct_id=record.key, event="signed_up")
    ```

    ## Use instead
    ```python
    import signal
    import sys

    import posthog
    from kafka import KafkaConsumer

    if __name__ == "__main__":
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            for record in KafkaConsumer("signups", group_id="sink"):
                posthog.capture(distinct_id=record.key, event="signed_up")
        finally:
            posthog.flush()
    ```

    ## Fix safety
    No automatic fix: the finding carries a suggestion (install a SIGTERM
    handler that raises `SystemExit` or sets the loop's stop flag).  Where
    the handler belongs (main thread, before the loop, alongside the framework's
    own handlers) is a decision for the author.

    ## See also
    OPS101 (buffered client never drained), OPS102 (`os._exit` skips the drain).
    """

    requires = (ExitFacts,)

    code = "OPS104"
    name = "sigterm-drops-buffer"
    message = (
        "this long-running loop buffers events in {clients} and no SIGTERM handler is installed: "
        "on SIGTERM (`docker stop`, Kubernetes) the process ends without atexit or `finally`, so "
        "what is buffered is lost; make SIGTERM raise `SystemExit` (or set a stop flag) so that {drain} runs"
    )
    tokens = _buffers.TOKENS
    #: Wrappers, singletons and getters of other modules (rules/_buffer_project.py).
    needs_project = True
    project_tokens = _buffers.TOKENS

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return facts_for(module, info)

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        return relevant(project, path)

    default_enabled = False
    fix_availability = "none"

    def leave_Module(self, original_node: cst.Module) -> None:
        facts = self.ctx.analysis(ExitFacts)
        forever = [rec for rec in facts.calls if _runs_forever(facts, rec)]
        if not (facts.loops or forever) or _references_sigterm(self.ctx.module, facts):
            return
        if _handles_signals_elsewhere(facts, self.ctx.project, self.ctx.module):
            return
        entries = facts.entries()
        if not any(e.kind in _PROGRAM_KINDS for e in entries):
            return
        serverless = {id(e.node) for e in entries if e.kind is EntryKind.SERVERLESS}
        facts.resolve(self.ctx.project)
        if not facts.clients:
            return
        reported: List[LoopRec] = []
        background = _daemon_thread_targets(facts)
        for loop in sorted(facts.loops, key=lambda r: r.start):
            if any(r.start < loop.start and loop.end < r.end for r in reported):
                continue
            if any(isinstance(s, cst.FunctionDef) and s.name.value in background for s in loop.chain):
                continue  # a daemon thread's loop (a watchdog, a heartbeat) ends with the program
            if any(id(s) in serverless or _managed(s) for s in loop.chain):
                continue
            if not self._endless(facts, loop):
                continue
            clients = _held(facts, loop)
            if not clients and _runs_registered_jobs(facts, loop):
                clients = _held_by_handlers(facts)  # the jobs ``schedule.run_pending()`` runs
            if not clients:
                continue
            reported.append(loop)
            self._report(loop.node, loop.chain, loop.cls, clients)
        if reported:
            return
        for rec in forever:
            if any(id(s) in serverless or _managed(s) for s in rec.chain):
                continue
            clients = _held_by_handlers(facts)
            if clients:
                self._report(rec.node, rec.chain, rec.cls, clients)
                return

    def _report(
        self,
        node: cst.CSTNode,
        chain: Sequence[Union[cst.FunctionDef, cst.Lambda]],
        cls: Optional[cst.ClassDef],
        clients: List[Client],
    ) -> None:
        scope = chain[-1] if chain else None
        drains = [drain_text(self, c, scope, cls) or f"{c.label}.{c.sdk.drain_names()}" for c in clients]
        related = [RelatedNode(c.node, f"{c.sdk.display} client created or used here") for c in clients[:3]]
        fix = PendingFix.suggestion(
            "Install a SIGTERM handler that raises SystemExit, e.g. "
            "`signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))`, or sets the loop's stop flag"
        )
        self.report(
            node,
            fix=fix,
            related=related,
            clients=describe_all(clients),
            drain=", ".join(f"`{d}`" for d in drains),
        )

    # -- loop shapes ---------------------------------------------------------------------

    def _endless(self, facts: ExitFacts, loop: LoopRec) -> bool:
        node = loop.node
        if isinstance(node, cst.For):
            # ``for tick in itertools.count():`` is ``while True:`` with a counter.
            if not self._counts_forever(node.iter):
                return self._endless_iterable(facts, loop, node.iter)
        elif not _forever_test(node.test) or _drains_test(node):
            return False
        if _leaves(node.body):
            return False
        scope = loop.chain[-1] if loop.chain else None
        for rec in facts.calls:
            if rec.scope is not scope or not loop.start < rec.seq < loop.end:
                continue
            if rec.qual in _SLEEPS:
                return True
            if rec.method in _WAIT_METHODS and rec.receiver is not None:
                return True
            if rec.method == "get" and rec.receiver is not None and _queue_get(rec.node, rec.receiver):
                return True
            if any(a.keyword is not None and a.keyword.value in _BLOCKING_KEYWORDS for a in rec.node.args):
                return True  # ``next_outbox_row(block_seconds=10)``: a project helper that blocks
        return False

    def _counts_forever(self, expr: cst.BaseExpression) -> bool:
        """``itertools.count()``, ``itertools.repeat(x)`` without a count, ``iter(int, 1)``."""
        if not isinstance(expr, cst.Call):
            return False
        qualified = self.qualified_name(expr.func)
        positional = [a for a in expr.args if a.keyword is None and a.star == ""]
        if qualified == "itertools.count":
            return True
        if qualified == "itertools.repeat":
            return len(positional) == 1 and len(expr.args) == 1
        # ``iter(callable, sentinel)`` with a callable that never returns the sentinel.
        return (
            isinstance(expr.func, cst.Name)
            and expr.func.value == "iter"
            and len(positional) == 2
            and dotted_name(positional[0].value) in ("int", "object")
        )

    def _endless_iterable(self, facts: ExitFacts, loop: LoopRec, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Call):
            return self._endless_call(facts, expr)
        if not isinstance(expr, (cst.Name, cst.Attribute)):
            return False
        for binding in facts.table.resolve(expr, loop.where):
            value = unwrap_await(binding.value) if binding.value is not None else None
            if isinstance(value, cst.Call) and (self._endless_call(facts, value) or _waiting_receiver(value)):
                return True
        return False

    def _endless_call(self, facts: ExitFacts, call: cst.Call) -> bool:
        """A consumer whose iteration never ends: ``KafkaConsumer(...)``, ``conn.notifies()``,
        aio-pika's ``queue.iterator()`` (``async with queue.iterator() as messages``)."""
        if self.qualified_name(call.func) in _ENDLESS_ITERABLES:
            return True
        if not isinstance(call.func, cst.Attribute) or call.args:
            return False
        method = call.func.attr.value
        if method in _ENDLESS_METHODS:
            return True
        return method == _AIO_PIKA_ITERATOR and facts.imports.imports_module("aio_pika")


def _references_sigterm(module: cst.Module, facts: ExitFacts) -> bool:
    """``signal.SIGTERM`` / ``SIGTERM`` in code (a docstring or comment that mentions it does not count)."""
    if not facts.sigterm_mentioned:
        return False
    # ``signal.signal(SIGTERM, SIG_DFL)`` restores the default, ``SIG_IGN`` gets the process
    # SIGKILLed after the grace period: neither drains.
    defaults: Set[int] = set()
    for rec in facts.calls:
        args = rec.node.args
        if rec.qual == "signal.signal" and len(args) >= 2:
            if facts.imports.resolve(args[1].value) in ("signal.SIG_DFL", "signal.SIG_IGN"):
                defaults.update(id(n) for n in iter_nodes(args[0].value))
    return any(
        (is_name(node, "SIGTERM") or (isinstance(node, cst.SimpleString) and _names_sigterm(node.value)))
        and id(node) not in defaults
        for node in iter_nodes(module)
    )


def _runs_forever(facts: ExitFacts, rec: CallRec) -> bool:
    """A call that blocks until the process is stopped: ``server.serve_forever()``,
    ``loop.run_forever()``, ``BlockingScheduler().start()``, a Pub/Sub streaming pull's
    ``future.result()`` (without a timeout)."""
    func = rec.node.func
    if isinstance(func, cst.Attribute) and func.attr.value in _SERVE_FOREVER:
        return True  # also on a server built in place: ``HTTPServer(addr, Handler).serve_forever()``
    if rec.qual in _NEVER_DONE and not rec.node.args:
        return True  # ``await asyncio.Future()``: a future nobody completes
    if rec.qual in _SERVE_FUNCTIONS:
        return True  # ``waitress.serve(app, port=8080)``
    if (
        rec.method == "wait"
        and isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Call)
        and facts.imports.resolve(func.value.func) in _NEVER_SET
    ):
        return True  # ``await asyncio.Event().wait()``: an event nobody can set
    if rec.method == "start" and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
        if facts.imports.resolve(func.value.func) in _IOLOOPS:
            return True  # tornado's ``IOLoop.current().start()``
        if facts.imports.resolve(func.value.func) in _BLOCKING_SCHEDULERS:
            return True  # ``SocketModeHandler(app, token).start()``
    if rec.method == "run" and not rec.node.args and isinstance(func, cst.Attribute):
        if _consumer_mixin(facts, func.value, rec):
            return True  # ``AuditConsumer(conn).run()``: kombu consumes until should_stop
    if rec.receiver is None or rec.method is None:
        return False
    callback = _CALLBACK_CONSUMERS.get(rec.method)
    if callback is not None and any(a.keyword is not None and a.keyword.value == callback for a in rec.node.args):
        return True  # Event Hubs ``consumer.receive(on_event=handle)`` blocks for ever
    if rec.method not in ("start", "result") or rec.node.args:
        return False
    if rec.method == "result" and any(
        other.method == "cancel" and other.receiver == rec.receiver and other.where is rec.where and other.seq < rec.seq
        for other in facts.calls
    ):
        return False  # ``future.cancel(); future.result()``: waits for the shutdown, which ends
    receiver = cast(cst.Attribute, rec.node.func).value
    for binding in facts.table.resolve(receiver, rec.where):
        value = unwrap_await(binding.value) if binding.value is not None else None
        if not isinstance(value, cst.Call):
            continue
        if rec.method == "start" and facts.imports.resolve(value.func) in _BLOCKING_SCHEDULERS:
            return True
        if rec.method == "result" and isinstance(value.func, cst.Attribute) and value.func.attr.value == "subscribe":
            return facts.imports.imports_module("google.cloud.pubsub_v1") or facts.imports.imports_module(
                "google.cloud.pubsub"
            )
    return False


def _daemon_thread_targets(facts: ExitFacts) -> Set[str]:
    """Names of this file's functions run as ``threading.Thread(target=f, daemon=True)``."""
    out: Set[str] = set()
    for rec in facts.calls:
        if rec.qual not in _THREADS:
            continue
        target = next((a.value for a in rec.node.args if a.keyword is not None and a.keyword.value == "target"), None)
        daemon = next((a.value for a in rec.node.args if a.keyword is not None and a.keyword.value == "daemon"), None)
        if isinstance(target, cst.Name) and isinstance(daemon, cst.Name) and daemon.value == "True":
            out.add(target.value)
    return out


def _waiting_receiver(call: cst.Call) -> bool:
    """Azure Service Bus ``client.get_queue_receiver(..., max_wait_time=None)`` (the default):
    iterating the receiver waits for messages for ever."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in _ENDLESS_RECEIVERS):
        return False
    wait = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "max_wait_time"), None)
    return wait is None or is_name(wait, "None")


def _consumer_mixin(facts: ExitFacts, receiver: cst.BaseExpression, rec: CallRec) -> bool:
    """``receiver`` is an instance of a class of this file built on kombu's ConsumerMixin."""
    made = receiver
    if isinstance(receiver, (cst.Name, cst.Attribute)):
        values = [b.value for b in facts.table.resolve(receiver, rec.where)]
        made = values[0] if len(values) == 1 and values[0] is not None else receiver
    if not isinstance(made, cst.Call) or not isinstance(made.func, cst.Name):
        return False
    for binding in facts.table.resolve(made.func, rec.where):
        node = binding.node
        if isinstance(node, cst.ClassDef) and any(
            facts.imports.resolve(base.value) in _CONSUMER_MIXINS for base in node.bases
        ):
            return True
    return False


def _names_sigterm(value: str) -> bool:
    return value.strip("'\"") == "SIGTERM"


def _handles_signals_elsewhere(facts: ExitFacts, project: Any, module: cst.Module) -> bool:
    """A server runner that handles SIGTERM, or a helper that installs signal handlers: a
    project function (called, or a decorator of a function here) whose body or wrapper
    calls ``signal.signal(SIGTERM, ...)``; a helper not in the project, by its name."""
    decorators = [decorator_target(dec) for node in find_all(module, cst.FunctionDef) for dec in node.decorators]
    for target in decorators:
        qual = facts.imports.resolve(target)
        if qual is not None and _project_installs_sigterm(project, qual) is True:
            return True
    for rec in facts.calls:
        if rec.qual in _SIGTERM_RUNNERS:
            return True
        installs = _project_installs_sigterm(project, rec.qual) if rec.qual else None
        if installs is not None:
            if installs:
                return True
            continue
        name = dotted_name(rec.node.func)
        if name is not None and not (rec.qual or "").startswith("signal."):
            last = name.rsplit(".", 1)[-1].lower()
            if last == "add_signal_handler" and rec.node.args:
                # ``loop.add_signal_handler(signal.SIGINT, loop.stop)``: only the signal it names.
                signame = dotted_name(rec.node.args[0].value) or ""
                if signame.rsplit(".", 1)[-1] in ("SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT"):
                    continue
            if "signal" in last or "graceful" in last:
                return True
    return False


def _project_installs_sigterm(project: Any, qual: str, depth: int = 0) -> Optional[bool]:
    """Whether the project function ``qual`` (its nested functions included: a decorator's
    wrapper) installs a SIGTERM handler, directly or through the project functions it
    calls; None when ``qual`` is not a project function."""
    function = project.function(qual) if project is not None else None
    if function is None:
        return None
    summary = project.summary(function.module)
    prefix = f"{function.qualname}.<locals>."
    bodies = (
        [function, *(f for name, f in summary.functions.items() if name.startswith(prefix))] if summary else [function]
    )
    for body in bodies:
        for site in body.calls:
            if site.callee == "signal.signal" and site.args and "SIGTERM" in site.args[0]:
                return True
            target = project.target_of(site) if depth < 3 else None
            if (
                target is not None
                and target != function.qualname
                and _project_installs_sigterm(project, target, depth + 1)
            ):
                return True
    return False


def _queue_get(call: cst.Call, receiver: str) -> bool:
    """``q.get()``, ``jobs.get(timeout=1)``: a blocking queue read (``dict.get`` needs a key)."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return not positional or "queue" in receiver.lower()


def _forever_test(test: cst.BaseExpression) -> bool:
    """``True``, ``1``, a flag (``running``, ``self.running``), ``not stop``, ``not stop.is_set()``."""
    if isinstance(test, cst.Name) and test.value == "True":
        return True
    if isinstance(test, cst.Integer) and test.value == "1":
        return True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value == "is_set":
        return True
    return isinstance(test, (cst.Name, cst.Attribute)) and dotted_name(test) is not None


#: Methods that empty a collection: ``while children: ... children.pop(pid)`` ends.
_EMPTYING = frozenset({"pop", "popitem", "popleft", "remove", "clear", "discard"})


def _drains_test(loop: cst.While) -> bool:
    """A ``while <collection>:`` whose body takes from that collection (it ends when empty)."""
    name = dotted_name(loop.test)
    if name is None:
        return False
    for node in iter_nodes(loop.body):
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in _EMPTYING
            and dotted_name(node.func.value) == name
        ):
            return True
    return False


def _leaves(body: cst.BaseSuite) -> bool:
    """A ``return`` or a ``break`` of this loop (outside ``except KeyboardInterrupt``): a bounded loop."""
    found = False

    class _Exits(ScopeVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.loops = 0
            self.interrupt = 0

        def visit_For(self, node: cst.For) -> None:
            self.loops += 1

        def leave_For(self, original_node: cst.For) -> None:
            self.loops -= 1

        def visit_While(self, node: cst.While) -> None:
            self.loops += 1

        def leave_While(self, original_node: cst.While) -> None:
            self.loops -= 1

        def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
            if node.type is not None and "KeyboardInterrupt" in (dotted_name(node.type) or ""):
                self.interrupt += 1

        def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
            if original_node.type is not None and "KeyboardInterrupt" in (dotted_name(original_node.type) or ""):
                self.interrupt -= 1

        def visit_Return(self, node: cst.Return) -> None:
            nonlocal found
            found = True

        def visit_Break(self, node: cst.Break) -> None:
            nonlocal found
            if self.loops == 0 and self.interrupt == 0:
                found = True

    walk(body, _Exits())
    return found


def _managed(scope: Union[cst.FunctionDef, cst.Lambda]) -> bool:
    if not isinstance(scope, cst.FunctionDef):
        return False
    for dec in scope.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        name = dotted_name(target)
        if name is not None and name.rsplit(".", 1)[-1] in _MANAGED_DECORATORS:
            return True
    return False


def _runs_registered_jobs(facts: ExitFacts, loop: LoopRec) -> bool:
    scope = loop.chain[-1] if loop.chain else None
    return any(
        rec.method in _RUNS_REGISTERED_JOBS and rec.scope is scope and loop.start < rec.seq < loop.end
        for rec in facts.calls
    )


def _held_by_handlers(facts: ExitFacts) -> List[Client]:
    """Long-lived clients (module level, on a class) that some function uses and leaves undrained."""
    out: List[Client] = []
    for key, client in facts.clients.items():
        if client.kind == "local":
            continue
        scopes = {id(e.scope): e.scope for e in facts.events if e.key == key and e.kind == "use"}
        if any(key in facts.leftover_after_uses(scope) for scope in scopes.values()):
            out.append(client)
    return one_per_buffer(out, None, facts.clients.values())


def _held(facts: ExitFacts, loop: LoopRec) -> List[Client]:
    """Clients used in the loop (or in same-file functions it calls) and not drained each iteration."""
    scope = loop.chain[-1] if loop.chain else None
    keys: Dict[ClientKey, None] = {}
    drained: Set[ClientKey] = set()
    for event in facts.events_in(scope, loop.start, loop.end):
        if event.kind in ("use", "pass"):
            keys[event.key] = None
        elif event.kind == "drain":
            drained.add(event.key)
    for func in facts.reachable(scope, loop.start, loop.end):
        leftover = facts.leftover_after_uses(func)
        for event in facts.events_in(func):
            if event.kind == "use" and event.key in leftover:
                keys[event.key] = None
    out: List[Client] = []
    for key in keys:
        if key in drained:
            continue
        client: Optional[Client] = facts.clients.get(key)
        if client is not None:
            out.append(client)
    return one_per_buffer(out, loop.cls, facts.clients.values())
