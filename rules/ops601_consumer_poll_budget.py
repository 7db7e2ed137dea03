"""OPS601 consumer-poll-budget: a poll's records times the per-record worst case exceed
``max.poll.interval.ms``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import libcst as cst

from opslint.analysis.scopes import BindingTable
from opslint.model import Related
from opslint.project import ProjectIndex
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _consumer_model, _kafka, _kafka_facts
from opslint.rules._consumer_model import KafkaModel
from opslint.rules._consumers import (
    XMLRPC_LABEL,
    Consumer,
    ConsumerFacts,
    ConsumeSite,
    Records,
    Setting,
    Term,
    Where,
)

#: Related locations listed per finding for the slow calls (the message names them all).
_MAX_SLOW_CALLS = 6


@dataclass(frozen=True)
class _Interval:
    ms: Optional[int]
    text: str
    setting: Optional[Setting]


class ConsumerPollBudget(Rule):
    """A Kafka consumer whose records per poll times the per-record worst case exceed `max.poll.interval.ms`.

    ## What it does
    Finds the consume loops of kafka-python `KafkaConsumer` (`for msg in consumer`,
    `poll()` batches), aiokafka `AIOKafkaConsumer` (`async for`, `getmany()`,
    `getone()`) and confluent-kafka `Consumer` (`poll()`, `consume(num_messages=N)`),
    reads the consumer's configuration (keywords, a config dict written inline, held in
    a variable, or merged from a module constant `{**BASE, ...}` of any module), and
    adds up the slow calls of the per-record path, following the project functions it
    calls across modules (also the methods of a handler object of a class in the file,
    `fwd.forward(msg)`, and the handlers of a dispatch table, `HANDLERS[msg.topic](msg)`,
    whose slowest counts): each call counts with its timeout, or with its client's
    default (httpx 5 s, aiohttp 300 s total, firebase_admin `messaging.send` 120 s or the
    app's `httpTimeout`, google-auth `Request` 120 s), `time.sleep`/`asyncio.sleep`
    with its seconds, a `subprocess.run` with its `timeout`, a function run in a worker
    thread (`asyncio.to_thread`) with what it calls, and a call in a `for _ in
    range(N)` retry loop N times; a call that can wait forever
    (`requests` without `timeout`, a unary gRPC stub call without a deadline,
    `stub.Score(req)` or `stub.Score.future(req)`, a method of an xmlrpc `ServerProxy`
    without a socket default timeout) makes the worst case unbounded; a
    function submitted to a pool and waited for at once, `pool.submit(fn, x).result()`,
    counts as called (or as its `result(timeout=)`).  It reports when
    records per poll × that worst case, plus the work a batch loop does once per poll
    (a bulk write of the batch), exceeds `max.poll.interval.ms` (defaults applied:
    500 records for kafka-python, 300 s), with the arithmetic.  With aiokafka, a
    synchronous call in the loop also blocks the event loop that sends heartbeats; it is
    reported when one record's synchronous wait exceeds `session_timeout_ms` (10 s).

    Work handed to a thread pool (and not waited for), a queue or a task is not counted,
    nor a streaming gRPC method (`WatchJobs`), nor a pause taken
    only when a poll returned nothing; calls whose timeout comes from configuration the
    analysis cannot read are left out of the sum.  Test modules are not checked.

    ## Why it matters
    In incident 004 a push service polled 500 records at a time and fetched an OAuth
    token for every push; when the token endpoint stalled, a batch took longer than the
    300 s `max.poll.interval.ms`, so every consumer was evicted from its group, the
    partitions rebalanced and notifications were sent twice or not at all.  Raising the
    interval only moved the eviction; fewer records per poll and bounded calls fixed it.

    ## Example
    ```python
    import requests
    from kafka import KafkaConsumer

    def run():
        consumer = KafkaConsumer("orders", group_id="mailer", max_poll_records=200)
        for record in consumer:
            requests.post("http://mail.internal/send", json=record.value)
    ```

    ## Use instead
    ```python
    import requests
    from kafka import KafkaConsumer

    def run():
        consumer = KafkaConsumer("orders", group_id="mailer", max_poll_records=20)
        for record in consumer:
            requests.post("http://mail.internal/send", json=record.value, timeout=10)
    ```

    ## Fix safety
    When every slow call is bounded, the fix lowers the records per poll to what fits,
    floor((interval − work once per poll) / per-record worst case): it replaces
    `max_poll_records=`, the `max_records=` of `poll()`/`getmany()` or the
    `num_messages=` of `consume()`, or adds `max_poll_records=` when kafka-python's
    default of 500 applies.  It is unsafe: fewer
    records per poll means more polls and lower throughput.  When a call is unbounded,
    when one record alone exceeds the interval, or for a blocking call in an aiokafka loop
    (fewer records do not bring heartbeats back), the finding carries a suggestion
    instead: add timeouts (or the firebase app option `httpTimeout`), or move the slow
    work off the poll loop.

    ## See also
    OPS502 (the missing timeout itself), OPS602 (offsets never committed).
    """

    code = "OPS601"
    name = "consumer-poll-budget"
    message = "{arithmetic}: {consequence}"
    tokens = _kafka.TOKENS
    fix_availability = "sometimes"
    requires = (BindingTable, ConsumerFacts)
    needs_project = True
    project_tokens = _kafka.FACT_TOKENS

    CONSEQUENCE = (
        "the consumer is evicted from its group, its partitions rebalance and the records in flight are processed again"
    )

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return _kafka_facts.module_facts(module, info)

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        return isinstance(project, ProjectIndex) and _consumer_model.calls_project_factory(project, cls.code, path)

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self._facts = ctx.analysis(ConsumerFacts)

    def leave_Module(self, original_node: cst.Module) -> None:
        # Tests read topics with throwaway consumers: not production consumer groups.
        if self.ctx.is_test_file or not self._facts.loops and not self._facts.method_calls:
            return
        model = _consumer_model.model_for(self._facts, self.ctx, self.code)
        for site in model.consume_sites():
            self._judge(model, site)

    # -- the budget ---------------------------------------------------------------------

    def _judge(self, model: KafkaModel, site: ConsumeSite) -> None:
        every = model.region_terms(site)
        # A batch consume loop's own work outside the per-record loops runs once per poll.
        every_once = model.poll_terms(site)
        terms = [t for t in every if t.known]
        once = [t for t in every_once if t.known]
        if not terms and not once:
            return
        unbounded = [t for t in terms + once if t.seconds is None]
        per_record = sum(t.seconds for t in terms if t.seconds is not None)
        per_poll = sum(t.seconds for t in once if t.seconds is not None)
        library = site.consumer.library
        interval = self._interval(site.consumer)
        records = site.records
        limit = interval.ms / 1000 if interval.ms is not None else None
        if limit is None:
            over_budget = bool(unbounded)
        elif terms and records.count is not None:
            over_budget = bool(unbounded) or records.count * per_record + per_poll > limit
        else:
            over_budget = bool(unbounded) or per_poll > limit
        sync = [t for t in terms + once if t.sync] if library.event_loop_heartbeat else []
        session = self._session(site.consumer) if sync else None
        waits = [self._wait([t for t in group if t.sync]) for group in (terms, once)]
        sync_wait = None if float("inf") in waits else max(waits)
        starves = (
            bool(sync)
            and session is not None
            and session[0] is not None
            and (sync_wait is None or sync_wait > session[0] / 1000)
        )
        if not over_budget and not starves:
            return
        if over_budget:
            arithmetic = self._arithmetic(records, terms, per_record, once, per_poll, interval)
        else:
            assert session is not None
            per = "per record" if waits[0] >= waits[1] else "per poll"
            arithmetic = (
                f"the synchronous {_labels(sync)} {'block' if len(sync) > 1 else 'blocks'} the event loop for "
                f"{'ever' if sync_wait is None else 'up to ' + _kafka.seconds(sync_wait)} {per} "
                f"> {session[1]}"
            )
        consequence = self.CONSEQUENCE
        if not over_budget:
            consequence = f"heartbeats stop, so {consequence}"
        elif sync:
            assert session is not None
            consequence += (
                f"; the synchronous {_labels(sync)} also {'block' if len(sync) > 1 else 'blocks'} the event loop, "
                f"so heartbeats stop and the member is evicted after {session[1]}"
            )
        fix = self._fix(site, records, per_record, per_poll, interval, every + every_once, sync)
        slow = [t for t in terms + once if t.seconds is None] or terms + once
        self.report(
            site.anchor,
            fix=fix,
            related=self._related(model, site, interval, slow if over_budget else sync),
            arithmetic=arithmetic,
            consequence=consequence,
        )

    @staticmethod
    def _wait(terms: Sequence[Term]) -> float:
        """The summed wait of ``terms`` (infinity when one is unbounded)."""
        if any(t.seconds is None for t in terms):
            return float("inf")
        return sum(t.seconds or 0.0 for t in terms)

    def _interval(self, consumer: Consumer) -> _Interval:
        library = consumer.library
        found = consumer.setting(library.interval_key)
        if found is None:
            if not consumer.complete:
                return _Interval(None, f"{_kafka.INTERVAL_LABEL} (not known here)", None)
            ms = library.interval_default_ms
            return _Interval(ms, f"{_kafka.seconds(ms / 1000)} {_kafka.INTERVAL_LABEL} (default)", None)
        value = _config_number(found.value) if found.known else None
        if value is None:
            return _Interval(None, f"{_kafka.INTERVAL_LABEL} (from configuration)", found)
        ms = int(value)
        return _Interval(ms, f"{_kafka.seconds(ms / 1000)} {_kafka.INTERVAL_LABEL}", found)

    @staticmethod
    def _session(consumer: Consumer) -> Optional[Tuple[Optional[int], str]]:
        library = consumer.library
        found = consumer.setting(library.session_key)
        if found is None:
            if not consumer.complete:
                return None
            ms = library.session_default_ms
            return ms, f"{_kafka.seconds(ms / 1000)} {library.session_key} (default)"
        value = _config_number(found.value) if found.known else None
        if value is None:
            return None
        return int(value), f"{_kafka.seconds(value / 1000)} {library.session_key}"

    @staticmethod
    def _arithmetic(
        records: Records,
        terms: Sequence[Term],
        per_record: float,
        once: Sequence[Term],
        per_poll: float,
        interval: _Interval,
    ) -> str:
        if records.count is not None:
            head = f"{_kafka.records_label(records.count)} ({records.source})"
        else:
            head = f"every record of a poll ({records.source})"
        unbounded = any(t.seconds is None for t in list(terms) + list(once))
        pieces: List[str] = []
        if terms:
            if any(t.seconds is None for t in terms):
                work = f"unbounded ({'; '.join(t.render() for t in terms if t.seconds is None)})"
            elif len(terms) == 1:
                term = terms[0]
                place = f", {term.where}" if term.where else ""
                work = f"{_kafka.seconds(per_record)} ({term.label}{place})"
            else:
                work = f"({' + '.join(t.render() for t in terms)})"
            pieces.append(f"{head} × {work}")
        if once:
            if any(t.seconds is None for t in once):
                work = f"unbounded ({'; '.join(t.render() for t in once if t.seconds is None)})"
            elif len(once) == 1:
                term = once[0]
                place = f", {term.where}" if term.where else ""
                work = f"{_kafka.seconds(per_poll)} ({term.label}{place})"
            else:
                work = f"({' + '.join(t.render() for t in once)})"
            pieces.append(f"{work} once per poll")
        text = " + ".join(pieces)
        if not terms:
            text = f"a poll of {head}: {text}"
        if unbounded or (terms and records.count is None) or (not terms and len(once) == 1):
            return f"{text} > {interval.text}"
        total = (records.count or 0) * per_record if terms else 0.0
        return f"{text} = {_kafka.seconds(total + per_poll)} > {interval.text}"

    # -- fix ----------------------------------------------------------------------------

    def _fix(
        self,
        site: ConsumeSite,
        records: Records,
        per_record: float,
        per_poll: float,
        interval: _Interval,
        terms: Sequence[Term],
        sync: Sequence[Term],
    ) -> PendingFix:
        advice = self._advice(terms, sync)
        # An unbounded call or a bound read from configuration: no records count is safe.
        open_ended = any(t.seconds is None for t in terms)
        count = records.count
        if open_ended or sync or count is None or count <= 1 or interval.ms is None or per_record <= 0:
            return PendingFix.suggestion(advice)
        # What is left of the interval once the per-poll work is done.
        budget_ms = interval.ms - per_poll * 1000
        if budget_ms <= 0:
            return PendingFix.suggestion(advice)
        fitting = _kafka.fitting_records(budget_ms, per_record)
        if fitting >= count or fitting * per_record + per_poll > interval.ms / 1000:
            return PendingFix.suggestion(advice)
        library = site.consumer.library
        calls = [c for c in (site.call, site.consumer.call) if c is not None]
        literal = records.literal
        if literal is not None and any(arg.value is literal for call in calls for arg in call.args):
            edits: Tuple[Any, ...] = (self.edits.replace(literal, str(fitting)),)
        elif records.add_to is not None and library.records_key is not None:
            edits = self.edits.add_keyword(records.add_to, f"{library.records_key}={fitting}")
        else:
            return PendingFix.suggestion(advice)
        worst = _kafka.seconds(fitting * per_record + per_poll)
        once = f" + {_kafka.seconds(per_poll)} once per poll" if per_poll else ""
        return PendingFix.unsafe(
            f"Poll at most {fitting} records ({fitting} × {_kafka.seconds(per_record)}{once} = {worst} "
            f"within {_kafka.seconds(interval.ms / 1000)}). Or {advice[0].lower()}{advice[1:]}",
            *edits,
        )

    @staticmethod
    def _advice(terms: Sequence[Term], sync: Sequence[Term]) -> str:
        if sync:
            return (
                "Await an async client (aiohttp, httpx.AsyncClient) or run the synchronous call in a thread "
                "(`await asyncio.to_thread(...)`), with a timeout well below the poll interval divided by "
                "the records per poll"
            )
        steps: List[str] = []
        xmlrpc = [t for t in terms if t.known and t.seconds is None and XMLRPC_LABEL in t.label]
        unbounded = sorted(
            {t.label.split(" ", 1)[0] for t in terms if t.known and t.seconds is None and t not in xmlrpc}
        )
        if unbounded:
            steps.append(f"give {', '.join(f'`{name}`' for name in unbounded)} a `timeout=`")
        if xmlrpc:
            steps.append(
                "give the xmlrpc `ServerProxy` a `transport=` whose connections have a timeout "
                "(or call `socket.setdefaulttimeout`)"
            )
        if any(t.label.startswith("firebase_admin") for t in terms):
            steps.append("set the firebase app option `httpTimeout`")
        if not steps:
            steps.append("lower the slow calls' timeouts")
        return (
            f"{_capital(' and '.join(steps))} well below the poll interval divided by the records per poll, "
            "or hand the work to a worker pool and `pause()` the partitions while it runs"
        )

    # -- related locations ------------------------------------------------------------------

    def _related(self, model: KafkaModel, site: ConsumeSite, interval: _Interval, terms: Sequence[Term]) -> List[Any]:
        related: List[Any] = []
        consumer = site.consumer
        if consumer.call is not None or consumer.where.path:
            self._add(related, model, consumer.where, f"the {consumer.library.label} is built here")
        if interval.setting is not None:
            self._add(related, model, interval.setting.where, f"{_kafka.INTERVAL_LABEL} is set here")
        records_key = consumer.library.records_key
        found = consumer.setting(records_key) if records_key is not None else None
        if found is not None and site.records.literal is not found.literal:
            self._add(related, model, found.where, f"{records_key} is set here")
        elif found is not None and found.where.node is not None and site.records.count is not None:
            self._add(related, model, found.where, f"{records_key} is set here")
        for term in list(terms)[:_MAX_SLOW_CALLS]:
            self._add(related, model, term.evidence, f"slow call: {term.label}")
        return related

    def _add(self, related: List[Any], model: KafkaModel, where: Where, message: str) -> None:
        if where.node is not None:
            related.append(RelatedNode(where.node, message))
        elif where.path and where.span is not None and model.project is not None:
            span = model.project.current_span(where.path, where.span)
            if os.path.abspath(where.path) == os.path.abspath(self.ctx.path):
                related.append(Related(self.ctx.display_path, span, message))
            else:
                related.append(Related(model.display(where.path), span, message))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _labels(terms: Sequence[Term]) -> str:
    names: List[str] = []
    for term in terms:
        name = term.label.split(" ", 1)[0]
        if name not in names:
            names.append(f"`{name}`" if not name.startswith("`") else name)
    return ", ".join(dict.fromkeys(names))


def _config_number(value: object) -> Optional[float]:
    """A numeric setting: a number, or the digits librdkafka also accepts as a string
    (``{"max.poll.interval.ms": "60000"}``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    return None
