"""Knowledge tables for the OPS1xx family: SDKs that buffer work in memory.

Every entry encodes ``shared/SDK_FACTS.md`` section 1 as data: how a client is
created, which calls put work in its buffer ("use"), which calls drain it and
whether they block, whether the SDK drains by itself at interpreter exit, and
which configuration switches buffering off.  Rules never hard-code an SDK.

Public names (read by OPS101-OPS104; keep them stable):

* :class:`ExitHook`, :class:`Drain`, :class:`BufferedSdk` - the data model;
* :data:`CATALOG` - every built-in SDK, :func:`by_key` - one entry by key;
* :func:`sdk_for_constructor`, :func:`sdk_for_module_call` - lookups by the
  qualified name of a call (as ``Rule.qualified_name`` returns it);
* :func:`linked_sdk` - SDKs whose buffering object a call builds (``BufferedConsumer``);
* :data:`ENDLESS_CONSUMERS` - consumers whose iteration is a server loop;
* :data:`TOKENS` - prefilter tokens (module names);
* :func:`user_sdks` - entries built from ``[tool.opslint.rules.OPS101] clients``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple


class ExitHook(enum.Enum):
    """What the SDK does by itself when the interpreter exits normally."""

    #: Nothing: a clean exit loses the buffer (hackle, LaunchDarkly, confluent...).
    NONE = "none"
    #: A hook that is not a flush (Segment/Rudder ``atexit.register(self.join)``).
    NOT_A_DRAIN = "not-a-drain"
    #: A bounded best effort that loses data under load (posthog 1 s, kafka-python timeout=0/1).
    BEST_EFFORT = "best-effort"
    #: A real drain (sentry AtexitIntegration, OTel providers, amplitude, non-daemon senders...).
    DRAINS = "drains"


@dataclass(frozen=True)
class Drain:
    """A call that sends what is buffered.

    ``method`` is called on the client (``client.close()``), or, for a module
    level API, ``function`` is the qualified name (``posthog.flush``).
    ``then`` names a method that must be chained on the result for the call to
    wait (``flush_events().wait()``); ``kwargs`` are arguments that must be
    present with that source text (``flush(async_=False)``).
    """

    method: str = ""
    function: str = ""
    blocks: bool = True
    then: str = ""
    kwargs: Tuple[Tuple[str, str], ...] = ()
    #: The client stays usable afterwards (safe to call per serverless invocation).
    reusable: bool = True
    #: A coroutine: call it as ``await client.stop()``.
    awaitable: bool = False

    def render(self, receiver: str) -> str:
        """Source text of the drain call on ``receiver`` (a method drain)."""
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs)
        call = f"{receiver}.{self.method}({args})"
        call = f"{call}.{self.then}()" if self.then else call
        return f"await {call}" if self.awaitable else call


@dataclass(frozen=True)
class BufferedSdk:
    """One SDK (or one buffering object of an SDK)."""

    #: Short stable key (``"hackle"``).
    key: str
    #: How messages name it (``"Hackle SDK"``).
    display: str
    #: Top-level modules the SDK is imported from (prefilter and import checks).
    modules: Tuple[str, ...]
    #: Qualified names of constructors/factories that return a buffering client.
    constructors: Tuple[str, ...] = ()
    #: Methods on a client that put work in the buffer ("use").  Empty: any
    #: method that is not a drain or a look-alike.
    uses: Tuple[str, ...] = ()
    #: Blocking (or look-alike, ``blocks=False``) drains on a client object.
    drains: Tuple[Drain, ...] = ()
    #: Qualified module-level functions that use the SDK's default client
    #: (``posthog.capture``, ``analytics.track``).
    module_uses: Tuple[str, ...] = ()
    #: Module-level drains of the default client (``Drain(function=...)``).
    module_drains: Tuple[Drain, ...] = ()
    #: How the module-level default client is named in messages (``posthog``).
    module_client: str = ""
    #: The SDK's own exit behaviour.
    exit_hook: ExitHook = ExitHook.NONE
    #: Why buffered data is lost, for messages ("buffers events for up to 10 s in a daemon thread").
    buffer_note: str = ""
    #: ``with client:`` drains on exit.
    context_manager: bool = False
    #: Constructor keyword values that switch buffering off (``sync_mode=True``).
    unbuffered_kwargs: Tuple[Tuple[str, str], ...] = ()
    #: Constructor keyword values without which the object does not buffer
    #: (DogStatsd buffers only with ``disable_buffering=False``).
    buffered_only_with: Tuple[Tuple[str, str], ...] = ()
    #: Module attribute assignments that switch the default client to
    #: synchronous (``posthog.sync_mode = True``): (qualified attribute, value).
    unbuffered_assignments: Tuple[Tuple[str, str], ...] = ()
    #: Configuration objects that switch event sending off for the file's clients
    #: (``ldclient.set_config(Config(key, send_events=False))``): (qualified callee, keyword, value).
    unbuffered_configs: Tuple[Tuple[str, str, str], ...] = ()
    #: The constructor needs this keyword to hold one of ``linked_constructors``
    #: to buffer (``Mixpanel(token, consumer=BufferedConsumer())``).
    linked_kwarg: str = ""
    linked_constructors: Tuple[str, ...] = ()
    #: Chain from the client to the linked object when it is not named
    #: (``mp._consumer``).
    linked_attribute: str = ""
    #: Methods of the client that also count as a use when called with no
    #: receiver check (OTel ``start_as_current_span`` on any tracer).  Used only
    #: when the file creates the client.
    global_uses: Tuple[str, ...] = ()
    #: A thread or the event loop sends what it holds in the background (a sleep can look
    #: like it lets it finish); False for a buffer that only a flush empties (MemoryHandler).
    sends_in_background: bool = True
    #: Methods on the client used as decorators that drain after the decorated
    #: function (powertools ``@metrics.log_metrics``).
    drain_decorator_methods: Tuple[str, ...] = ()
    #: Qualified decorators that drain the SDK's default client after each call.
    drain_decorators: Tuple[str, ...] = ()
    #: Qualified names that, passed in the init call's arguments, make the SDK
    #: drain at the end of each serverless invocation (sentry AwsLambdaIntegration).
    serverless_integrations: Tuple[str, ...] = ()
    #: The object starts buffering only after this method is called (QueueListener.start).
    activation: str = ""
    #: Calls whose return value must be waited on (pubsub ``publish`` futures):
    #: a use whose result gets ``.result()`` is drained.
    future_uses: bool = False
    #: Methods of the client that return a handle recording into its buffers
    #: (Split's ``factory.client()``): a use of the handle is a use of the client.
    handles: Tuple[str, ...] = ()
    #: Factories that return the SDK's process-wide client (``ldclient.get``):
    #: every name bound to them is the same client.
    singleton_factories: Tuple[str, ...] = ()
    #: Calls that return the process-wide client configured elsewhere in the file
    #: (``trace.get_tracer_provider()``, ``sentry_sdk.get_client()``): any client
    #: of this SDK in the file.
    global_getters: Tuple[str, ...] = ()
    #: The constructor adds a sink to a process-wide pipeline and returns no client
    #: (loguru ``logger.add(path, enqueue=True)``): the pipeline is the client.
    adds_to_global: bool = False

    def singleton_factory(self, qualified: str) -> bool:
        return qualified in self.singleton_factories

    @property
    def drains_at_exit(self) -> bool:
        """Whether a normal interpreter exit drains the buffer (never true in a serverless handler)."""
        return self.exit_hook is ExitHook.DRAINS

    def blocking_drains(self) -> Tuple[Drain, ...]:
        return tuple(d for d in self.drains if d.blocks)

    def lookalikes(self) -> Tuple[Drain, ...]:
        """Drain-looking methods that do not wait (LaunchDarkly ``flush()``)."""
        return tuple(d for d in self.drains if not d.blocks)

    def fix_drain(self, serverless: bool = False) -> Optional[Drain]:
        """The drain a fix inserts: the first blocking one (reusable in a serverless handler)."""
        for drain in self.drains:
            if drain.blocks and (drain.reusable or not serverless):
                return drain
        return None

    def fix_module_drain(self, serverless: bool = False) -> Optional[Drain]:
        for drain in self.module_drains:
            if drain.blocks and (drain.reusable or not serverless):
                return drain
        return None

    def drain_names(self) -> str:
        """``close()`` / ``flush()`` for messages."""
        first = self.fix_drain() or self.fix_module_drain()
        if first is None:
            return "a blocking drain"
        return f"{first.method or first.function.rsplit('.', 1)[-1]}()"


def _d(method: str, **kw: Any) -> Drain:
    return Drain(method=method, **kw)


def _f(function: str, **kw: Any) -> Drain:
    return Drain(function=function, **kw)


#: Flushes and closes every handler attached to ``logging`` (a handler added inline,
#: ``log.addHandler(Handler(...))``, has no other name to drain it by).
LOGGING_SHUTDOWN = "logging.shutdown"
_LOGGING_SHUTDOWN = _f(LOGGING_SHUTDOWN, reusable=False)


def _log_handler(
    key: str, display: str, constructors: Tuple[str, ...], note: str, module: str = "", background: bool = True
) -> BufferedSdk:
    """A logging handler that buffers: records reach it through loggers (any logging call is
    a use), ``flush``/``close`` drain it, and ``logging.shutdown`` (an atexit hook) too."""
    return BufferedSdk(
        key=key,
        display=display,
        modules=(module or key,),
        constructors=constructors,
        uses=("handle", "emit"),
        global_uses=_LOG_RECORD_USES,
        drains=(_d("flush"), _d("close", reusable=False)),
        module_drains=(_LOGGING_SHUTDOWN,),
        exit_hook=ExitHook.DRAINS,
        buffer_note=note,
        sends_in_background=background,
    )


_SEGMENT_USES = ("track", "identify", "group", "alias", "page", "screen")


def _segment_like(key: str, display: str, module: str, client: str, modules: Tuple[str, ...]) -> BufferedSdk:
    return BufferedSdk(
        key=key,
        display=display,
        modules=modules,
        constructors=(f"{module}.Client", f"{module}.client.Client"),
        uses=_SEGMENT_USES,
        drains=(_d("flush"), _d("shutdown", reusable=False), _d("join", blocks=False)),
        module_uses=tuple(f"{module}.{u}" for u in _SEGMENT_USES),
        module_drains=(
            _f(f"{module}.flush"),
            _f(f"{module}.shutdown", reusable=False),
            _f(f"{module}.join", blocks=False),
        ),
        module_client=client,
        exit_hook=ExitHook.NOT_A_DRAIN,
        buffer_note="queues events for a daemon consumer thread (every 0.5 s) and its atexit `join()` is not a flush",
        unbuffered_kwargs=(("sync_mode", "True"), ("send", "False")),
        unbuffered_assignments=((f"{module}.sync_mode", "True"), (f"{module}.send", "False")),
    )


_POSTHOG_USES = (
    "capture",
    "identify",
    "set",
    "set_once",
    "alias",
    "group_identify",
    "capture_exception",
    "page",
    "screen",
)

_OTEL_SPAN_USES = ("start_as_current_span", "start_span")
#: Logger calls: each one is a record that reaches the process's logging handlers.
_LOG_RECORD_USES = ("debug", "info", "warning", "error", "exception", "critical", "log")
_OTEL_HANDLES = (
    "get_meter",
    "get_tracer",
    "create_counter",
    "create_up_down_counter",
    "create_histogram",
    "create_gauge",
)

CATALOG: Tuple[BufferedSdk, ...] = (
    BufferedSdk(
        key="hackle",
        display="Hackle SDK",
        modules=("hackle",),
        constructors=("hackle.hackle.Client", "hackle.Client", "hackle.hackle_client.HackleClient"),
        uses=(
            "track",
            "variation",
            "variation_detail",
            "is_feature_on",
            "feature_flag_detail",
            "remote_config",
        ),
        # close() blocks up to 10 s; the SDK has no flush().  After close() the
        # singleton is dead, so it is not reusable across Lambda invocations.
        drains=(_d("close", reusable=False),),
        exit_hook=ExitHook.NONE,
        buffer_note="buffers events for up to 10 s in a daemon thread and registers no exit hook",
    ),
    _segment_like("segment", "Segment analytics", "segment.analytics", "analytics", ("segment",)),
    _segment_like("analytics-python", "Segment analytics (analytics-python)", "analytics", "analytics", ("analytics",)),
    _segment_like(
        "rudderstack", "RudderStack analytics", "rudderstack.analytics", "rudder_analytics", ("rudderstack",)
    ),
    BufferedSdk(
        key="posthog",
        display="PostHog",
        modules=("posthog",),
        constructors=("posthog.Posthog", "posthog.client.Client", "posthog.Client"),
        uses=_POSTHOG_USES,
        drains=(_d("flush"), _d("shutdown", reusable=False), _d("join", blocks=False)),
        module_uses=tuple(f"posthog.{u}" for u in _POSTHOG_USES),
        module_drains=(_f("posthog.flush"), _f("posthog.shutdown", reusable=False), _f("posthog.join", blocks=False)),
        module_client="posthog",
        exit_hook=ExitHook.BEST_EFFORT,
        buffer_note="batches events every 5 s in a daemon thread and its exit hook gives up after 1 s",
        unbuffered_kwargs=(("sync_mode", "True"), ("disabled", "True"), ("send", "False")),
        unbuffered_assignments=(("posthog.sync_mode", "True"), ("posthog.disabled", "True")),
    ),
    BufferedSdk(
        key="mixpanel",
        display="Mixpanel BufferedConsumer",
        modules=("mixpanel",),
        constructors=("mixpanel.Mixpanel",),
        uses=(
            "track",
            "import_data",
            "alias",
            "merge",
            "people_set",
            "people_set_once",
            "people_increment",
            "people_append",
            "people_union",
            "people_unset",
            "people_remove",
            "people_delete",
            "people_track_charge",
            "group_set",
            "group_set_once",
            "group_union",
            "group_unset",
            "group_remove",
            "group_delete",
        ),
        drains=(_d("flush"),),
        exit_hook=ExitHook.NONE,
        buffer_note="keeps messages in a list (`max_size`, 50 by default) that is only sent when full or on `flush()`",
        linked_kwarg="consumer",
        linked_constructors=("mixpanel.BufferedConsumer",),
        linked_attribute="_consumer",
    ),
    BufferedSdk(
        key="mixpanel-async",
        display="mixpanel-async AsyncBufferedConsumer",
        modules=("mixpanel_async", "mixpanel"),
        constructors=("mixpanel.Mixpanel",),
        uses=("track", "import_data", "alias", "people_set", "people_set_once", "people_increment", "group_set"),
        drains=(_d("flush", kwargs=(("async_", "False"),)), _d("flush", blocks=False)),
        exit_hook=ExitHook.NONE,
        buffer_note="keeps events in memory until `max_size` (20 by default) are queued or a later send finds them stale",
        linked_kwarg="consumer",
        linked_constructors=("mixpanel_async.AsyncBufferedConsumer",),
        linked_attribute="_consumer",
    ),
    BufferedSdk(
        key="amplitude",
        display="Amplitude",
        modules=("amplitude",),
        constructors=("amplitude.Amplitude", "amplitude.client.Amplitude"),
        uses=("track", "identify", "group_identify", "revenue", "set_group"),
        drains=(_d("shutdown", reusable=False), _d("flush", blocks=False)),
        exit_hook=ExitHook.DRAINS,
        buffer_note="batches events every 10 s in a background thread",
        # ``for future in client.flush(): future.result()`` waits.
        future_uses=True,
    ),
    BufferedSdk(
        key="sentry",
        display="Sentry SDK",
        modules=("sentry_sdk",),
        constructors=("sentry_sdk.Client",),
        uses=("capture_event", "capture_exception", "capture_message"),
        drains=(_d("flush"), _d("close", reusable=False)),
        module_uses=(
            "sentry_sdk.capture_exception",
            "sentry_sdk.capture_message",
            "sentry_sdk.capture_event",
            "sentry_sdk.start_transaction",
            "sentry_sdk.api.capture_exception",
            "sentry_sdk.api.capture_message",
        ),
        module_drains=(_f("sentry_sdk.flush"),),
        module_client="sentry_sdk",
        exit_hook=ExitHook.DRAINS,
        buffer_note="sends from a daemon worker thread that only its atexit integration drains",
        drain_decorators=(
            "sentry_sdk.integrations.serverless.serverless_function",
            "sentry_sdk.serverless_function",
        ),
        global_getters=("sentry_sdk.get_client", "sentry_sdk.Hub.current.client"),
        serverless_integrations=(
            "sentry_sdk.integrations.aws_lambda.AwsLambdaIntegration",
            "sentry_sdk.integrations.gcp.GcpIntegration",
        ),
    ),
    BufferedSdk(
        key="launchdarkly",
        display="LaunchDarkly SDK",
        modules=("ldclient",),
        constructors=("ldclient.get", "ldclient.LDClient", "ldclient.client.LDClient"),
        uses=(
            "variation",
            "variation_detail",
            "track",
            "identify",
            "all_flags_state",
            "migration_variation",
            "track_migration_op",
        ),
        drains=(_d("close", reusable=False), _d("flush", blocks=False)),
        exit_hook=ExitHook.NONE,
        buffer_note="sends analytics events every 5 s from a daemon thread and registers no exit hook",
        context_manager=True,
        singleton_factories=("ldclient.get",),
        unbuffered_configs=(
            ("ldclient.config.Config", "send_events", "False"),
            ("ldclient.Config", "send_events", "False"),
        ),
    ),
    BufferedSdk(
        key="statsig",
        display="Statsig SDK",
        modules=("statsig",),
        constructors=(),
        uses=(),
        module_uses=(
            "statsig.statsig.check_gate",
            "statsig.statsig.get_config",
            "statsig.statsig.get_experiment",
            "statsig.statsig.get_layer",
            "statsig.statsig.log_event",
            "statsig.statsig.get_feature_gate",
        ),
        module_drains=(_f("statsig.statsig.flush"), _f("statsig.statsig.shutdown", reusable=False)),
        module_client="statsig",
        exit_hook=ExitHook.NONE,
        buffer_note="batches exposures and events for 60 s in daemon threads and registers no exit hook",
    ),
    BufferedSdk(
        key="statsig-core",
        display="Statsig (statsig-python-core)",
        modules=("statsig_python_core",),
        constructors=("statsig_python_core.Statsig",),
        uses=("check_gate", "get_feature_gate", "get_dynamic_config", "get_experiment", "get_layer", "log_event"),
        drains=(
            _d("flush_events", then="wait"),
            _d("shutdown", then="wait", reusable=False),
            _d("flush_events", blocks=False),
            _d("shutdown", blocks=False),
        ),
        exit_hook=ExitHook.NONE,
        buffer_note="queues events in its Rust core and `flush_events()` returns a future",
    ),
    BufferedSdk(
        key="datadog-threadstats",
        display="Datadog ThreadStats",
        modules=("datadog",),
        constructors=("datadog.ThreadStats", "datadog.threadstats.ThreadStats", "datadog.threadstats.base.ThreadStats"),
        uses=("increment", "decrement", "gauge", "histogram", "distribution", "timing", "event", "set"),
        drains=(_d("flush"),),
        exit_hook=ExitHook.DRAINS,
        buffer_note="aggregates metrics for 10 s before a daemon timer flushes them",
        drain_decorators=(
            "datadog.datadog_lambda_wrapper",
            "datadog.threadstats.aws_lambda.datadog_lambda_wrapper",
            "datadog_lambda.wrapper.datadog_lambda_wrapper",
        ),
    ),
    BufferedSdk(
        key="datadog-dogstatsd",
        display="Datadog DogStatsd (buffering)",
        modules=("datadog",),
        constructors=("datadog.DogStatsd", "datadog.dogstatsd.DogStatsd", "datadog.dogstatsd.base.DogStatsd"),
        uses=("increment", "decrement", "gauge", "histogram", "distribution", "timing", "event", "set"),
        drains=(_d("flush"), _d("wait_for_pending"), _d("stop", reusable=False), _d("close_buffer")),
        exit_hook=ExitHook.NONE,
        buffer_note="buffers metrics for a daemon flush thread when buffering is enabled",
        context_manager=True,
        buffered_only_with=(("disable_buffering", "False"), ("disable_background_sender", "False")),
    ),
    BufferedSdk(
        key="opentelemetry",
        display="OpenTelemetry SDK",
        modules=("opentelemetry",),
        constructors=(
            "opentelemetry.sdk.trace.TracerProvider",
            "opentelemetry.sdk.metrics.MeterProvider",
            "opentelemetry.sdk._logs.LoggerProvider",
        ),
        uses=(),
        drains=(_d("force_flush"), _d("shutdown", reusable=False)),
        exit_hook=ExitHook.DRAINS,
        buffer_note=(
            "exports from daemon threads (a BatchSpanProcessor every 5 s, a PeriodicExportingMetricReader every 60 s)"
        ),
        global_uses=_OTEL_SPAN_USES,
        global_getters=(
            "opentelemetry.trace.get_tracer_provider",
            "opentelemetry.metrics.get_meter_provider",
            "opentelemetry._logs.get_logger_provider",
            "opentelemetry.metrics.get_meter",
            "opentelemetry.trace.get_tracer",
        ),
        # Meters and their instruments record into the provider's readers
        # (``meter.create_counter(...).add(1)`` is a use of the provider).
        handles=_OTEL_HANDLES,
        unbuffered_kwargs=(),
        linked_constructors=(
            "opentelemetry.sdk.trace.export.BatchSpanProcessor",
            "opentelemetry.sdk._logs.export.BatchLogRecordProcessor",
            "opentelemetry.sdk.metrics.export.PeriodicExportingMetricReader",
        ),
    ),
    BufferedSdk(
        key="confluent-kafka",
        display="confluent-kafka Producer",
        modules=("confluent_kafka",),
        constructors=(
            "confluent_kafka.Producer",
            "confluent_kafka.SerializingProducer",
            "confluent_kafka.avro.AvroProducer",
        ),
        uses=("produce", "produce_batch"),
        drains=(_d("flush"), _d("close", reusable=False), _d("poll", blocks=False)),
        exit_hook=ExitHook.NONE,
        buffer_note="queues messages in librdkafka, which drops what is still queued when the process ends",
        context_manager=True,
    ),
    BufferedSdk(
        key="kafka-python",
        display="kafka-python KafkaProducer",
        modules=("kafka",),
        constructors=("kafka.KafkaProducer", "kafka.producer.KafkaProducer"),
        uses=("send",),
        drains=(_d("flush"), _d("close", reusable=False)),
        exit_hook=ExitHook.BEST_EFFORT,
        buffer_note="batches records in a daemon sender thread and its exit hook closes with a 0-1 s timeout",
        future_uses=True,
    ),
    BufferedSdk(
        key="aiokafka",
        display="aiokafka AIOKafkaProducer",
        modules=("aiokafka",),
        constructors=("aiokafka.AIOKafkaProducer", "aiokafka.producer.AIOKafkaProducer"),
        uses=("send",),
        drains=(_d("stop", reusable=False, awaitable=True), _d("flush", awaitable=True)),
        exit_hook=ExitHook.NONE,
        buffer_note="batches records in the event loop until `stop()` flushes them",
        context_manager=True,
        future_uses=True,
    ),
    BufferedSdk(
        key="pubsub",
        display="Google Cloud Pub/Sub PublisherClient",
        modules=("google",),
        constructors=("google.cloud.pubsub_v1.PublisherClient", "google.cloud.pubsub.PublisherClient"),
        uses=("publish",),
        drains=(_d("stop", blocks=False),),
        exit_hook=ExitHook.NONE,
        buffer_note="batches messages in a daemon commit thread",
        future_uses=True,
    ),
    BufferedSdk(
        key="langfuse",
        display="Langfuse",
        modules=("langfuse",),
        constructors=("langfuse.Langfuse", "langfuse.get_client"),
        uses=(
            "trace",
            "span",
            "generation",
            "event",
            "score",
            "create_score",
            "create_event",
            "start_span",
            "start_as_current_span",
            "start_generation",
            "start_as_current_generation",
            "update_current_trace",
            "update_current_span",
            "score_current_trace",
        ),
        drains=(_d("flush"), _d("shutdown", reusable=False)),
        exit_hook=ExitHook.DRAINS,
        buffer_note="exports traces from a batch processor every 5 s",
        singleton_factories=("langfuse.get_client",),
    ),
    BufferedSdk(
        key="newrelic",
        display="New Relic agent",
        modules=("newrelic",),
        module_uses=(
            "newrelic.agent.record_custom_event",
            "newrelic.agent.record_custom_metric",
            "newrelic.agent.record_custom_metrics",
            "newrelic.agent.notice_error",
            "newrelic.agent.record_exception",
        ),
        module_drains=(_f("newrelic.agent.shutdown_agent", reusable=False),),
        module_client="newrelic.agent",
        exit_hook=ExitHook.DRAINS,
        buffer_note="harvests data every 60 s from a daemon thread",
    ),
    BufferedSdk(
        key="honeybadger",
        display="Honeybadger",
        modules=("honeybadger",),
        module_uses=("honeybadger.honeybadger.event",),
        module_drains=(_f("honeybadger.honeybadger.shutdown", reusable=False),),
        module_client="honeybadger",
        exit_hook=ExitHook.DRAINS,
        buffer_note="batches events for 5 s in a daemon worker",
    ),
    BufferedSdk(
        key="bugsnag",
        display="Bugsnag",
        modules=("bugsnag",),
        constructors=("bugsnag.Client", "bugsnag.client.Client"),
        uses=("notify", "notify_exc_info"),
        drains=(_d("flush", kwargs=(("timeout_ms", "2000"),)),),
        module_uses=("bugsnag.notify", "bugsnag.legacy.notify"),
        module_drains=(_f("bugsnag.legacy.default_client.flush"),),
        module_client="bugsnag",
        exit_hook=ExitHook.DRAINS,
        buffer_note="delivers each report from a background thread",
        drain_decorators=("bugsnag.aws_lambda_handler", "bugsnag.legacy.aws_lambda_handler"),
        unbuffered_kwargs=(("asynchronous", "False"),),
        unbuffered_assignments=(),
    ),
    BufferedSdk(
        key="rollbar",
        display="Rollbar",
        modules=("rollbar",),
        module_uses=("rollbar.report_exc_info", "rollbar.report_message"),
        module_drains=(_f("rollbar.wait"),),
        module_client="rollbar",
        exit_hook=ExitHook.DRAINS,
        buffer_note="sends each item from its own thread",
        # ``rollbar.init(token, handler="blocking")`` sends each item before the call returns.
        unbuffered_configs=(("rollbar.init", "handler", '"blocking"'), ("rollbar.init", "handler", "'blocking'")),
        drain_decorators=("rollbar.lambda_function",),
    ),
    BufferedSdk(
        key="snowplow",
        display="Snowplow tracker",
        modules=("snowplow_tracker",),
        constructors=("snowplow_tracker.Tracker", "snowplow_tracker.Snowplow.create_tracker"),
        uses=(
            "track",
            "track_page_view",
            "track_page_ping",
            "track_link_click",
            "track_screen_view",
            "track_struct_event",
            "track_self_describing_event",
            "track_ecommerce_transaction",
            "track_form_change",
            "track_form_submit",
            "track_site_search",
            "track_add_to_cart",
            "track_remove_from_cart",
        ),
        drains=(_d("flush"),),
        exit_hook=ExitHook.NONE,
        buffer_note="keeps events in its emitter until a batch of 10 is full",
    ),
    BufferedSdk(
        key="powertools-metrics",
        display="AWS Lambda Powertools Metrics",
        modules=("aws_lambda_powertools",),
        constructors=(
            "aws_lambda_powertools.Metrics",
            "aws_lambda_powertools.metrics.Metrics",
            "aws_lambda_powertools.metrics.EphemeralMetrics",
        ),
        uses=("add_metric",),
        drains=(_d("flush_metrics"),),
        exit_hook=ExitHook.NONE,
        buffer_note="keeps metrics in memory until `flush_metrics()` or `@log_metrics` prints them",
        drain_decorator_methods=("log_metrics",),
    ),
    BufferedSdk(
        key="optimizely",
        display="Optimizely SDK",
        modules=("optimizely",),
        constructors=("optimizely.optimizely.Optimizely", "optimizely.Optimizely"),
        # ``client.create_user_context(user).decide(flag)``: the decision events go through the client.
        uses=(
            "activate",
            "track",
            "get_variation",
            "is_feature_enabled",
            "decide",
            "get_feature_variable",
            "create_user_context",
        ),
        drains=(_d("close", reusable=False),),
        exit_hook=ExitHook.NONE,
        buffer_note="batches events for 30 s in a daemon thread",
    ),
    BufferedSdk(
        key="unleash",
        display="Unleash client",
        modules=("UnleashClient",),
        constructors=("UnleashClient.UnleashClient",),
        uses=("is_enabled", "get_variant"),
        drains=(_d("destroy", reusable=False),),
        exit_hook=ExitHook.NONE,
        buffer_note="sends usage metrics every 60 s",
    ),
    # SDK_FACTS 1.3: Honeycomb's libhoney 2.4.0.  ``libhoney.init()`` makes the module client
    # and registers ``atexit(close)`` for it only; a ``libhoney.Client`` has no exit hook.
    BufferedSdk(
        key="libhoney",
        display="libhoney (Honeycomb)",
        modules=("libhoney",),
        module_uses=("libhoney.send_now", "libhoney.new_event", "libhoney.add_field", "libhoney.add"),
        module_drains=(_f("libhoney.flush"), _f("libhoney.close", reusable=False)),
        module_client="libhoney",
        exit_hook=ExitHook.DRAINS,
        buffer_note="batches events and sends them from a daemon thread every 0.25 s",
    ),
    BufferedSdk(
        key="libhoney-client",
        display="libhoney Client",
        modules=("libhoney",),
        constructors=("libhoney.Client", "libhoney.client.Client"),
        uses=("send_now", "new_event", "new_builder", "add_field", "add", "send"),
        drains=(_d("flush"), _d("close", reusable=False)),
        exit_hook=ExitHook.NONE,
        buffer_note="batches events in a daemon thread and registers no exit hook for a `Client`",
    ),
    # splitio-client 10.7.0: the factory holds the impressions (every 300 s) and events
    # (every 10 s); ``factory.destroy()`` flushes them; no exit hook.  Its clients
    # (``factory.client()``) record into the factory's buffers.
    BufferedSdk(
        key="splitio",
        display="Split SDK factory",
        modules=("splitio",),
        constructors=("splitio.get_factory", "splitio.factories.get_factory"),
        uses=("get_treatment", "get_treatments", "get_treatment_with_config", "track"),
        handles=("client",),
        drains=(_d("destroy", reusable=False),),
        exit_hook=ExitHook.NONE,
        buffer_note="sends impressions every 300 s and events every 10 s from background threads",
    ),
    # flagsmith 6.3.0 (SDK_FACTS 1.3): with ``enable_analytics=True`` flag evaluations are
    # counted and sent every 10 s (``ANALYTICS_TIMER``) by a daemon timer; an atexit hook
    # stops it.  The evaluations happen on the ``Flags`` object its getters return.
    BufferedSdk(
        key="flagsmith",
        display="Flagsmith analytics",
        modules=("flagsmith",),
        constructors=("flagsmith.Flagsmith", "flagsmith.flagsmith.Flagsmith"),
        uses=("is_feature_enabled", "get_feature_value", "get_flag"),
        handles=("get_environment_flags", "get_identity_flags"),
        drains=(_d("flush"),),
        linked_attribute="_analytics_processor",
        exit_hook=ExitHook.DRAINS,
        buffered_only_with=(("enable_analytics", "True"),),
        buffer_note="counts flag evaluations and sends them every 10 s from a daemon timer",
    ),
    # fluent-logger 0.11.1: ``asyncsender.FluentSender`` queues records for a daemon thread.
    BufferedSdk(
        key="fluent-async",
        display="fluent-logger asyncsender",
        modules=("fluent",),
        constructors=("fluent.asyncsender.FluentSender",),
        uses=("emit", "emit_with_time"),
        drains=(_d("close", reusable=False),),
        exit_hook=ExitHook.NONE,
        buffer_note="queues records for a daemon sender thread and registers no exit hook",
    ),
    # elastic-apm 6.26.2: events are sent every 10 s (or 768 kB); the client closes at exit.
    BufferedSdk(
        key="elastic-apm",
        display="Elastic APM client",
        modules=("elasticapm",),
        constructors=("elasticapm.Client", "elasticapm.base.Client"),
        uses=("capture_exception", "capture_message", "begin_transaction", "end_transaction", "queue"),
        drains=(_d("close", reusable=False),),
        exit_hook=ExitHook.DRAINS,
        buffer_note="sends events every 10 s from a background thread",
    ),
    BufferedSdk(
        key="queue-listener",
        display="logging QueueListener",
        modules=("logging",),
        constructors=("logging.handlers.QueueListener",),
        uses=("start",),
        drains=(_d("stop"),),
        exit_hook=ExitHook.NONE,
        buffer_note="processes log records in a daemon thread and drops what is still queued at exit",
        activation="start",
    ),
    # watchtower 3.4.0 and google-cloud-logging 3.17.0: logging handlers that ship records
    # from a daemon thread; ``logging.shutdown`` (an atexit hook) closes them, which drains.
    _log_handler(
        "watchtower",
        "watchtower CloudWatchLogHandler",
        ("watchtower.CloudWatchLogHandler",),
        "batches log records for a daemon thread per stream that sends every 60 s by default",
    ),
    _log_handler(
        "cloud-logging-handler",
        "google-cloud-logging CloudLoggingHandler",
        (
            "google.cloud.logging.handlers.CloudLoggingHandler",
            "google.cloud.logging_v2.handlers.CloudLoggingHandler",
        ),
        "batches log records for a daemon thread (its background transport)",
        module="google",
    ),
    # loguru 0.7.3: a sink added with ``enqueue=True`` gets a writer thread fed by a queue;
    # ``logger.complete()`` waits for it, ``logger.remove()`` stops it (loguru registers
    # ``atexit.register(logger.remove)``, which a hard exit or a killed process skips).
    BufferedSdk(
        key="loguru",
        display="loguru sink (enqueue=True)",
        modules=("loguru",),
        constructors=("loguru.logger.add",),
        adds_to_global=True,
        buffered_only_with=(("enqueue", "True"),),
        global_uses=_LOG_RECORD_USES + ("success", "trace"),
        module_drains=(_f("loguru.logger.complete"), _f("loguru.logger.remove", reusable=False)),
        exit_hook=ExitHook.DRAINS,
        buffer_note="queues records for a writer thread per `enqueue=True` sink",
    ),
    # The stdlib's MemoryHandler sends nothing in the background: a flush or its capacity
    # does (flushOnClose=False: logging.shutdown no longer flushes it).
    _log_handler(
        "memory-handler",
        "logging MemoryHandler",
        ("logging.handlers.MemoryHandler",),
        "keeps records in memory until its capacity or flush level is reached",
        module="logging",
        background=False,
    ),
)

_BY_KEY: Dict[str, BufferedSdk] = {sdk.key: sdk for sdk in CATALOG}
#: Last names of the calls that add a buffering sink to a process-wide pipeline (loguru's
#: ``add``): a cheap test before the catalog is asked about a call.
SINK_ADDER_NAMES = frozenset(c.rsplit(".", 1)[-1] for sdk in CATALOG if sdk.adds_to_global for c in sdk.constructors)
#: Methods of any SDK's client that return a handle on it (``factory.client()``).
HANDLES = frozenset(h for sdk in CATALOG for h in sdk.handles)
KEYS = frozenset(_BY_KEY)
#: Module attributes whose assignment can switch a default client to synchronous.
SWITCHES = frozenset(attr for sdk in CATALOG for attr, _ in sdk.unbuffered_assignments)
#: Qualified configuration callee -> (SDK key, keyword, value) that turns the SDK's buffer off.
CONFIG_SWITCHES: Dict[str, Tuple[Tuple[str, str, str], ...]] = {}
for _sdk in CATALOG:
    for _callee, _keyword, _value in _sdk.unbuffered_configs:
        CONFIG_SWITCHES[_callee] = (*CONFIG_SWITCHES.get(_callee, ()), (_sdk.key, _keyword, _value))

#: Module names that are common words: the prefilter looks for their imports instead.
_GENERIC_MODULES = ("logging", "google", "kafka", "analytics", "segment", "amplitude")

#: Prefilter tokens: the SDKs' module names (and the stdlib class names).
TOKENS: Tuple[str, ...] = tuple(
    sorted(
        {m for sdk in CATALOG for m in sdk.modules if m not in _GENERIC_MODULES}
        | {f"{verb} {m}" for m in _GENERIC_MODULES if m not in ("logging", "google") for verb in ("import", "from")}
        | {
            "QueueListener",
            "MemoryHandler",
            "CloudLoggingHandler",
            "pubsub",
            "KafkaProducer",
            "analytics.",
            "segment.analytics",
        }
    )
)

#: Keyword values that mean "no buffering for this MemoryHandler at exit": flushOnClose=False.
MEMORY_HANDLER_NO_EXIT_FLUSH = ("flushOnClose", "False")


#: Consumers whose iteration never ends by itself (``for msg in consumer:`` is a
#: server loop): constructor -> keyword that makes the iterator stop.
ENDLESS_CONSUMERS: Dict[str, str] = {
    "kafka.KafkaConsumer": "consumer_timeout_ms",
    "kafka.consumer.KafkaConsumer": "consumer_timeout_ms",
    "aiokafka.AIOKafkaConsumer": "",
    "aiokafka.consumer.AIOKafkaConsumer": "",
}


def by_key(key: str) -> BufferedSdk:
    return _BY_KEY[key]


def sdk_for_constructor(qualified: str, sdks: Iterable[BufferedSdk] = CATALOG) -> List[BufferedSdk]:
    """SDK entries whose constructor or factory has this qualified name (several for ``Mixpanel``)."""
    return [sdk for sdk in sdks if qualified in sdk.constructors]


def sdk_for_module_call(qualified: str, sdks: Iterable[BufferedSdk] = CATALOG) -> Optional[Tuple[BufferedSdk, str]]:
    """(sdk, "use"/"drain"/"lookalike") for a module-level API call such as ``posthog.capture``."""
    for sdk in sdks:
        if qualified in sdk.module_uses:
            return sdk, "use"
        for drain in sdk.module_drains:
            if drain.function == qualified:
                return sdk, "drain" if drain.blocks else "lookalike"
    return None


#: Every SDK's factories of its process-wide client (``ldclient.get``).
SINGLETON_FACTORIES: FrozenSet[str] = frozenset(f for sdk in CATALOG for f in sdk.singleton_factories)


def sdk_for_singleton_call(qualified: str, sdks: Iterable[BufferedSdk] = CATALOG) -> Optional[Tuple[BufferedSdk, str]]:
    """(sdk, "use"/"drain"/"lookalike") for a call on the SDK's process-wide client fetched
    in place: ``ldclient.get().track`` (as the project index spells it), or a module-level
    API call (``posthog.capture``, see ``sdk_for_module_call``)."""
    hit = sdk_for_module_call(qualified, sdks)
    if hit is not None:
        return hit
    factory, _, method = qualified.rpartition("().")
    if not factory or "." in method:
        return None
    for sdk in sdks:
        if factory not in sdk.singleton_factories:
            continue
        if method in sdk.uses:
            return sdk, "use"
        for drain in sdk.drains:
            if drain.method == method:
                return sdk, "drain" if drain.blocks else "lookalike"
    return None


def linked_sdk(qualified: str, sdks: Iterable[BufferedSdk] = CATALOG) -> List[BufferedSdk]:
    """SDKs whose buffering object is built by ``qualified`` (``BufferedConsumer``, ``BatchSpanProcessor``)."""
    return [sdk for sdk in sdks if qualified in sdk.linked_constructors]


# -- user configuration ---------------------------------------------------------


class ClientConfigError(ValueError):
    """An invalid ``clients`` entry (reported as a configuration error)."""


_USER_KEYS = {"create", "drain", "use", "name", "exit-drains", "context-manager", "non-blocking"}


_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALIFIED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _strings(value: Any, where: str, shape: re.Pattern[str] = _METHOD, required: bool = False) -> Tuple[str, ...]:
    """One string or a list of them, each of ``shape`` (a method name by default)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ClientConfigError(f"{where}: expected a string or a list of strings, got `{value!r}`")
    if required and not value:
        raise ClientConfigError(f"{where}: expected at least one name")
    for item in value:
        if not shape.fullmatch(item):
            what = "a qualified name like `myco.telemetry.Client`" if shape is _QUALIFIED else "a method name"
            raise ClientConfigError(f"{where}: `{item}` is not {what}")
    return tuple(value)


def user_sdks(entries: Sequence[Any]) -> Tuple[BufferedSdk, ...]:
    """Catalog entries from ``clients = [{ create = "myco.telemetry.Client", drain = ["flush"] }]``.

    Keys: ``create`` (qualified constructors/factories, required), ``drain``
    (blocking drain methods, required), ``use`` (methods that buffer; default:
    any other method), ``non-blocking`` (look-alike drains), ``name`` (for
    messages), ``exit-drains`` (the client drains itself at a normal exit),
    ``context-manager`` (``with client:`` drains).
    """
    out: List[BufferedSdk] = []
    for index, raw in enumerate(entries):
        where = f"[tool.opslint.rules.OPS101] clients[{index}]"
        if not isinstance(raw, Mapping):
            raise ClientConfigError(f"{where}: expected a table, got `{raw!r}`")
        unknown = sorted(set(raw) - _USER_KEYS)
        if unknown:
            raise ClientConfigError(f"{where}: unknown key `{unknown[0]}` (known: {', '.join(sorted(_USER_KEYS))})")
        if "create" not in raw or "drain" not in raw:
            raise ClientConfigError(f"{where}: `create` and `drain` are required")
        create = _strings(raw["create"], f"{where}.create", _QUALIFIED, required=True)
        drains = tuple(Drain(method=m) for m in _strings(raw["drain"], f"{where}.drain", required=True))
        lookalikes = tuple(
            Drain(method=m, blocks=False) for m in _strings(raw.get("non-blocking", []), f"{where}.non-blocking")
        )
        name = raw.get("name", create[0].rsplit(".", 1)[-1])
        if not isinstance(name, str):
            raise ClientConfigError(f"{where}.name: expected a string")
        for flag in ("exit-drains", "context-manager"):
            if flag in raw and not isinstance(raw[flag], bool):
                raise ClientConfigError(f"{where}.{flag}: expected a boolean")
        modules = tuple(sorted({c.split(".", 1)[0] for c in create}))
        out.append(
            BufferedSdk(
                key=f"user:{create[0]}",
                display=name,
                modules=modules,
                constructors=create,
                uses=_strings(raw.get("use", []), f"{where}.use"),
                drains=drains + lookalikes,
                exit_hook=ExitHook.DRAINS if raw.get("exit-drains", False) else ExitHook.NONE,
                buffer_note="buffers work in memory (configured in [tool.opslint.rules.OPS101])",
                context_manager=bool(raw.get("context-manager", False)),
            )
        )
    return tuple(out)
