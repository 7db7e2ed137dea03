"""OPS602 manual-commit-never-committed: auto commit off, and nothing commits the offsets."""

from __future__ import annotations

from typing import Any, List

import libcst as cst

from opslint.analysis.scopes import BindingTable
from opslint.model import Related
from opslint.project import ProjectIndex
from opslint.rule import PendingFix, RelatedNode, Rule
from opslint.rules import _consumer_model, _kafka, _kafka_facts
from opslint.rules._consumers import Consumer, ConsumerFacts, Setting

_ADVICE = {
    _kafka.KAFKA_PYTHON: "call `consumer.commit()` once a batch is processed (or `commit_async(callback=...)`)",
    _kafka.AIOKAFKA: "`await consumer.commit()` once a batch is processed",
    _kafka.CONFLUENT: "call `consumer.commit(message=msg, asynchronous=False)` once a message is processed",
}


class ManualCommitNeverCommitted(Rule):
    """A Kafka consumer with auto commit off whose offsets the project never commits.

    ## What it does
    Finds kafka-python, aiokafka and confluent-kafka consumers built with auto commit
    turned off (`enable_auto_commit=False`, or `"enable.auto.commit": False`/`"false"`
    in a config dict, also when the dict is held in a variable or merged from a settings
    module) and follows the consumer through names, `self` attributes, factory functions
    and the parameters of project functions it is passed to.  It reports the
    construction when nothing it reaches calls `commit()`/`commit_async()` on it.
    `close()`, `stop()` and `store_offsets()` do not commit offsets when auto commit is
    off; a database `session.commit()` is not a Kafka commit.

    Handing `consumer.commit` on as a callback counts as committing.  A consumer that
    leaves the analysis' sight (handed to a library, stored in another object, returned
    to callers in other modules that pass it on) is not reported; neither is one without
    a group (kafka-python/aiokafka `group_id` unset: nothing to commit to), one the
    application positions itself (`seek()`, or an assignment callback that sets the
    offsets it stores elsewhere, such as next to its results in a database), nor test
    modules (their consumers read a topic once and are thrown away).

    ## Why it matters
    In incident 004 the push consumers committed offsets by hand, so every rebalance
    redelivered whatever had not been committed yet and users got the same notification
    twice.  A consumer that turns auto commit off and never commits is that failure made
    permanent: each restart and rebalance replays from the last committed offset, and the
    group's lag never shrinks.

    ## Example
    ```python
    from kafka import KafkaConsumer

    def run():
        consumer = KafkaConsumer("ledger", group_id="projector", enable_auto_commit=False)
        for record in consumer:
            apply_event(record.value)
    ```

    ## Use instead
    ```python
    from kafka import KafkaConsumer

    def run():
        consumer = KafkaConsumer("ledger", group_id="projector", enable_auto_commit=False)
        while True:
            batch = consumer.poll(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    apply_event(record.value)
            if batch:
                consumer.commit()
    ```

    ## Fix safety
    Suggestion only: where to commit (after each message, after each batch, or
    asynchronously with a callback) depends on how much replay the consumer tolerates;
    turning auto commit back on is the other choice.
    """

    code = "OPS602"
    name = "manual-commit-never-committed"
    message = (
        "{client} {subject}disables auto commit but the project never commits its offsets: "
        "every restart and rebalance replays messages"
    )
    tokens = _kafka.TOKENS
    fix_availability = "none"
    requires = (BindingTable, ConsumerFacts)
    needs_project = True
    project_tokens = _kafka.FACT_TOKENS

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return _kafka_facts.module_facts(module, info)

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self._facts = ctx.analysis(ConsumerFacts)

    def leave_Module(self, original_node: cst.Module) -> None:
        # Tests read topics with throwaway consumers: not production consumer groups.
        if self.ctx.is_test_file or not self._facts.constructions:
            return
        model = _consumer_model.model_for(self._facts, self.ctx, self.code)
        for consumer, setting, seen in model.manual_consumers():
            if model.reaches_commit(consumer, seen):
                continue
            assert consumer.call is not None
            self._report(model, consumer, setting)

    def _report(self, model: _consumer_model.KafkaModel, consumer: Consumer, setting: Setting) -> None:
        call = consumer.call
        assert call is not None
        related: List[Any] = []
        node = setting.where.node
        if node is not None and not any(arg.value is node or arg is node for arg in call.args):
            related.append(RelatedNode(node, f"auto commit is turned off here ({setting.key})"))
        elif node is None and setting.where.path and setting.where.span is not None:
            project = model.project
            assert isinstance(project, ProjectIndex)
            span = project.current_span(setting.where.path, setting.where.span)
            related.append(
                Related(model.display(setting.where.path), span, f"auto commit is turned off here ({setting.key})")
            )
        library = consumer.library
        if consumer.group:
            subject = f"for group `{consumer.group}` "
        elif consumer.topic:
            subject = f"for topic `{consumer.topic}` "
        else:
            subject = ""
        advice = _ADVICE[library.name]
        self.report(
            call,
            fix=PendingFix.suggestion(f"Commit the offsets: {advice}; or turn auto commit back on"),
            related=related,
            client=library.label,
            subject=subject,
        )
