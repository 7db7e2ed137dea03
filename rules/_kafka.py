"""OPS6xx knowledge: Kafka consumers, their settings and defaults, how they are polled and
committed, and the slow calls (besides ``_net``'s HTTP clients) a per-record path waits in.

Every default comes from ``shared/SDK_FACTS.md``: section 3 (kafka-python 3.0.12,
confluent-kafka 2.16.1 / librdkafka 2.16.0, aiokafka 0.14.0) and section 4 (HTTP clients,
firebase-admin 7.7.0, google-auth 2.62.2).  No analysis here: data and pure functions.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from typing import FrozenSet, Mapping, Optional, Tuple, Union

from opslint.source import parse_ast_expression

KAFKA_PYTHON = "kafka-python"
AIOKAFKA = "aiokafka"
CONFLUENT = "confluent-kafka"

#: A configuration value as written: a number, a string, a boolean or None.
Scalar = Union[int, float, str, bool, None]


@dataclass(frozen=True)
class Library:
    """What matters of one consumer client for OPS601/OPS602."""

    name: str
    #: How messages name the client (``kafka-python KafkaConsumer``).
    label: str
    #: Settings come as one dict with librdkafka's dotted keys (confluent-kafka), not keywords.
    dotted: bool
    #: The setting that caps records per poll, and its default (None: no cap).
    records_key: Optional[str]
    records_default: Optional[int]
    interval_key: str
    interval_default_ms: int
    session_key: str
    session_default_ms: int
    auto_commit_key: str
    #: ``for msg in consumer`` works (kafka-python: sync; aiokafka: ``async for``).
    iterable: bool
    #: Heartbeats run on the consumer's event loop (aiokafka), not a background thread.
    event_loop_heartbeat: bool
    commit_methods: FrozenSet[str]


# SDK_FACTS §3.1: max_poll_records 500, max_poll_interval_ms 300000, session_timeout_ms
# 45000 (10000 in 2.0.2; not used in messages), enable_auto_commit True.
KAFKA_PYTHON_LIB = Library(
    KAFKA_PYTHON,
    "kafka-python KafkaConsumer",
    dotted=False,
    records_key="max_poll_records",
    records_default=500,
    interval_key="max_poll_interval_ms",
    interval_default_ms=300_000,
    session_key="session_timeout_ms",
    session_default_ms=45_000,
    auto_commit_key="enable_auto_commit",
    iterable=True,
    event_loop_heartbeat=False,
    commit_methods=frozenset({"commit", "commit_async"}),
)
# SDK_FACTS §3.3: max_poll_records None (no cap per getmany()), max_poll_interval_ms 300000,
# session_timeout_ms 10000, heartbeats on the event loop.
AIOKAFKA_LIB = Library(
    AIOKAFKA,
    "aiokafka AIOKafkaConsumer",
    dotted=False,
    records_key="max_poll_records",
    records_default=None,
    interval_key="max_poll_interval_ms",
    interval_default_ms=300_000,
    session_key="session_timeout_ms",
    session_default_ms=10_000,
    auto_commit_key="enable_auto_commit",
    iterable=True,
    event_loop_heartbeat=True,
    commit_methods=frozenset({"commit"}),
)
# SDK_FACTS §3.2: no batch cap for classic consumers (``max.poll.records`` applies to share
# consumers only), max.poll.interval.ms 300000, session.timeout.ms 45000, auto commit true.
CONFLUENT_LIB = Library(
    CONFLUENT,
    "confluent-kafka Consumer",
    dotted=True,
    records_key=None,
    records_default=None,
    interval_key="max.poll.interval.ms",
    interval_default_ms=300_000,
    session_key="session.timeout.ms",
    session_default_ms=45_000,
    auto_commit_key="enable.auto.commit",
    iterable=False,
    event_loop_heartbeat=False,
    commit_methods=frozenset({"commit"}),
)

#: Consumer constructors (and type names, for annotations) -> library.
CONSTRUCTORS: Mapping[str, Library] = {
    "kafka.KafkaConsumer": KAFKA_PYTHON_LIB,
    "kafka.consumer.KafkaConsumer": KAFKA_PYTHON_LIB,
    "kafka.consumer.group.KafkaConsumer": KAFKA_PYTHON_LIB,
    "aiokafka.AIOKafkaConsumer": AIOKAFKA_LIB,
    "aiokafka.consumer.AIOKafkaConsumer": AIOKAFKA_LIB,
    "aiokafka.consumer.consumer.AIOKafkaConsumer": AIOKAFKA_LIB,
    "confluent_kafka.Consumer": CONFLUENT_LIB,
    "confluent_kafka.DeserializingConsumer": CONFLUENT_LIB,
    # The legacy Avro consumer (deprecated since 1.x, still common): a Consumer subclass.
    "confluent_kafka.avro.AvroConsumer": CONFLUENT_LIB,
    "confluent_kafka.cimpl.Consumer": CONFLUENT_LIB,
}

#: The consumer setting the message names for the poll interval, whatever the client
#: spells it (incident 004 and the Kafka documentation use the property name).
INTERVAL_LABEL = "max.poll.interval.ms"

#: What a consume call returns.
BATCH = "batch"  # {TopicPartition: [records]}: kafka-python poll(), aiokafka getmany()
LIST = "list"  # [records]: confluent consume()
SINGLE = "single"  # one record (or None): confluent poll(), aiokafka getone()


@dataclass(frozen=True)
class ConsumeCall:
    shape: str
    #: The argument that caps the records it returns (keyword, position), if any.
    records_keyword: Optional[str] = None
    records_position: Optional[int] = None
    #: Records returned when that argument is absent: a number, or None for "the
    #: consumer's ``records_key`` setting".
    records_default: Optional[int] = None


#: library name -> method -> what the call returns.  kafka-python ``poll(timeout_ms=0,
#: max_records=None, update_offsets=True)``; aiokafka ``getmany(*partitions, timeout_ms=0,
#: max_records=None)``, ``getone(*partitions)``; confluent ``poll(timeout=None)`` (one
#: message), ``consume(num_messages=1, timeout=-1)`` (SDK_FACTS §3.2).
CONSUME_CALLS: Mapping[str, Mapping[str, ConsumeCall]] = {
    KAFKA_PYTHON: {"poll": ConsumeCall(BATCH, "max_records", 1)},
    AIOKAFKA: {
        "getmany": ConsumeCall(BATCH, "max_records"),
        "getone": ConsumeCall(SINGLE, records_default=1),
    },
    CONFLUENT: {
        "poll": ConsumeCall(SINGLE, records_default=1),
        "consume": ConsumeCall(LIST, "num_messages", 0, records_default=1),
    },
}

CONSUME_METHODS: FrozenSet[str] = frozenset(m for calls in CONSUME_CALLS.values() for m in calls)
COMMIT_METHODS: FrozenSet[str] = frozenset({"commit", "commit_async"})
#: A transactional producer's call that commits a consumer's offsets with its transaction
#: (exactly-once: ``producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata())``).
TRANSACTION_OFFSET_METHODS: FrozenSet[str] = frozenset({"send_offsets_to_transaction"})

#: Calls that set a consumer's position themselves: a consumer positioned by the
#: application does not restart from its committed offsets (all three clients).
SEEK_METHODS: FrozenSet[str] = frozenset({"seek", "seek_to_beginning", "seek_to_end"})

#: ``subscribe()`` arguments naming the assignment callback (confluent ``on_assign``,
#: kafka-python/aiokafka ``listener``), by keyword and position after the topics.
ASSIGN_CALLBACKS: Mapping[str, Tuple[str, int]] = {
    CONFLUENT: ("on_assign", 1),
    KAFKA_PYTHON: ("listener", 2),
    AIOKAFKA: ("listener", 2),
}


def is_off(value: Scalar) -> bool:
    """Whether an auto-commit setting turns it off: ``False``, or librdkafka's ``"false"``."""
    if isinstance(value, bool):
        return value is False
    return isinstance(value, str) and value.strip().lower() == "false"


def records_label(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


def seconds(value: float) -> str:
    """``300 s``, ``0.5 s``."""
    if float(value).is_integer():
        return f"{int(value)} s"
    return f"{value:g} s"


def fitting_records(interval_ms: float, per_record_s: float) -> int:
    """The most records per poll whose worst case stays within the interval (at least 1)."""
    if per_record_s <= 0:
        return 0
    return max(1, math.floor(interval_ms / 1000 / per_record_s + 1e-9))


# ---------------------------------------------------------------------------
# Slow calls besides ``_net``'s HTTP clients (SDK_FACTS §4 and §4.1).
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SlowCall:
    """A call that waits on a remote service, with the bound its SDK applies by default."""

    label: str
    default_seconds: Optional[float]
    default_label: str
    timeout_keyword: Optional[str] = None
    #: Awaited (it does not block an event loop).
    is_async: bool = False


#: firebase-admin 7.7.0: 120 s per HTTP request unless the app option ``httpTimeout`` says
#: otherwise (``_http_client.DEFAULT_TIMEOUT_SECONDS``, SDK_FACTS §4 and §4.1).  The OAuth
#: token is cached by the credentials: its refresh is not paid per message.
FIREBASE_DEFAULT_SECONDS = 120.0
FIREBASE_OPTION = "httpTimeout"
FIREBASE_INIT = frozenset({"firebase_admin.initialize_app"})
FIREBASE_SENDS: Mapping[str, SlowCall] = {
    f"firebase_admin.messaging.{name}": SlowCall(
        f"firebase_admin messaging.{name}",
        FIREBASE_DEFAULT_SECONDS,
        f"firebase_admin messaging.{name} default",
        is_async=name.endswith("_async"),
    )
    for name in (
        "send",
        "send_all",
        "send_each",
        "send_multicast",
        "send_each_for_multicast",
        "send_each_async",
        "send_each_for_multicast_async",
    )
}

#: google-auth 2.62.2 ``transport.requests.Request.__call__(timeout=120)``: a
#: ``credentials.refresh(Request())`` waits up to 120 s for the token endpoint per attempt.
GOOGLE_AUTH_REQUEST = frozenset({"google.auth.transport.requests.Request"})
GOOGLE_AUTH_REQUEST_SECONDS = 120.0
GOOGLE_AUTH_REFRESH_METHODS = frozenset({"refresh", "before_request"})
GOOGLE_AUTH_REQUEST_LABEL = "google-auth Request default"
#: ``AuthorizedSession.request(timeout=120)`` and its verbs (SDK_FACTS §4).
AUTHORIZED_SESSION = frozenset({"google.auth.transport.requests.AuthorizedSession"})
AUTHORIZED_SESSION_SECONDS = 120.0
AUTHORIZED_SESSION_METHODS = frozenset({"request", "get", "post", "put", "patch", "delete", "head", "options"})

#: Sleeps: a known wait (a throttle or a retry pause per record).  ``time.sleep`` blocks
#: the thread (and an event loop); ``asyncio.sleep`` is awaited.  Seconds: first argument.
SLEEPS: Mapping[str, bool] = {"time.sleep": True, "asyncio.sleep": False}
#: Random pauses (``time.sleep(random.uniform(0.2, 0.8))``): the worst case is the upper
#: bound, the largest of the arguments; ``random.random()`` is below 1.
RANDOM_PAUSES: Mapping[str, float] = {"random.uniform": 0.0, "random.randint": 0.0, "random.random": 1.0}

#: Calls that wait for a child process: ``timeout=`` bounds the wait (the child is killed
#: and ``TimeoutExpired`` raised); without it a hung child blocks the loop for ever.
CHILD_WAITS = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output"})

#: Calls that run a function in a worker thread and are awaited: ``asyncio.to_thread(fn,
#: *args, **kwargs)`` costs what ``fn(*args, **kwargs)`` costs, without blocking the event
#: loop.  The value is the position of the function among the arguments
#: (``loop.run_in_executor(executor, fn, *args)`` is matched by its method name).
THREAD_OFFLOADS: Mapping[str, int] = {"asyncio.to_thread": 0, "asyncio.threads.to_thread": 0}
RUN_IN_EXECUTOR = "run_in_executor"

#: Calls that receive a consumer without keeping it or committing through it.
HARMLESS_RECEIVERS = frozenset(
    {"print", "repr", "str", "id", "type", "isinstance", "len", "iter", "enumerate", "next", "hasattr", "getattr"}
    # ``with closing(consumer):`` only calls ``close()``, which commits nothing.
    | {"closing", "contextlib.closing"}
)
#: ``closing(x)`` is ``x`` for what a ``with ... as`` binds.
CLOSING = frozenset({"contextlib.closing"})
#: Logger methods: ``log.info("... %s", consumer)``.
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def summary_number(text: str) -> Optional[float]:
    """A number from the project index's argument text (``'10'``, ``'2.5'``, ``'5 * 60'``)."""
    if not text or len(text) > 60:
        return None
    try:
        tree = parse_ast_expression(text.strip())
    except (SyntaxError, ValueError):
        return None
    return _number(tree.body)


def _number(node: ast.expr) -> Optional[float]:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _number(node.left), _number(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return float(_OPERATORS[type(node.op)](left, right))
    return None


#: Tokens of modules whose project facts matter (consumer factories, settings dicts,
#: firebase options).
FACT_TOKENS: Tuple[str, ...] = (
    "KafkaConsumer",
    "confluent_kafka",
    "max_poll",
    "max.poll",
    "auto_commit",
    "auto.commit",
    "session_timeout",
    "session.timeout",
    "httpTimeout",
    # a settings module's consumer configuration (``KAFKA = {"bootstrap.servers": ...}``)
    "bootstrap.servers",
    "bootstrap_servers",
    "group.id",
)

#: Rule prefilter: a file that names a consumer client.
TOKENS: Tuple[str, ...] = ("KafkaConsumer", "confluent_kafka", "aiokafka")
