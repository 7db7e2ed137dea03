"""Knowledge of job and queue orchestration (OPS3xx): what starts work, what advances a
job's state, what takes the next item of a queue, what signals a rate limit, and what
waits.  Data and pure functions on names and strings only; the rules and
``rules/_progress.py`` read it.

Shared with other families: ``DISPATCH_METHODS``/``DISPATCH_CALLS`` (work started in
the background) and ``SLEEPS`` (a wait that blocks the caller) describe calls, not rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Mapping, Optional, Tuple

from opslint.rules._exits import SLEEPS as _EXIT_SLEEPS

# -- work started in the background -------------------------------------------------------


class Receiver:
    """What a dispatch method must be called on (the kinds ``rules/_progress.py`` gives)."""

    ANY = "any"
    EXECUTOR = "executor"
    THREAD = "thread"
    BACKGROUND_TASKS = "background-tasks"
    RQ_QUEUE = "rq-queue"
    ASYNC_LOOP = "event-loop"
    #: A function decorated ``@dramatiq.actor`` (here), or imported by a module that uses dramatiq.
    DRAMATIQ_ACTOR = "dramatiq-actor"
    #: A Google Cloud Pub/Sub ``PublisherClient`` (its subscribers run the work).
    PUBSUB_PUBLISHER = "pubsub-publisher"
    #: A Google Cloud Tasks ``CloudTasksClient`` (the queue calls the task's handler).
    CLOUD_TASKS = "cloud-tasks"


@dataclass(frozen=True)
class Dispatch:
    #: How the message names the mechanism (``.delay``, ``BackgroundTasks.add_task``).
    label: str
    #: ``Receiver.*`` or a boto3 service name (``"ecs"``: the receiver is ``boto3.client("ecs")``).
    receiver: str
    #: Where the started work is named: a keyword, else a positional index (-1: none);
    #: ``"<receiver>"``: the receiver itself (a Celery task ``run_import.delay``).
    target_keyword: str = ""
    target_index: int = 0
    #: The result can be waited for in the same request (futures, tasks, threads):
    #: then it is request-scoped fan-out, not work started for later.
    awaitable: bool = False


#: Method name -> dispatch.  Celery/RQ ``delay`` and ``apply_async`` are recognised on any
#: receiver (the idiom is specific enough); the others need a receiver of the right kind.
DISPATCH_METHODS: Mapping[str, Tuple[Dispatch, ...]] = {
    "delay": (Dispatch(".delay", Receiver.ANY, "<receiver>"),),
    "apply_async": (Dispatch(".apply_async", Receiver.ANY, "<receiver>"),),
    "send_task": (Dispatch("send_task", Receiver.ANY, "name", 0),),
    "submit": (Dispatch("executor.submit", Receiver.EXECUTOR, "fn", 0, awaitable=True),),
    "add_task": (Dispatch("BackgroundTasks.add_task", Receiver.BACKGROUND_TASKS, "func", 0),),
    "enqueue": (Dispatch("RQ enqueue", Receiver.RQ_QUEUE, "f", 0),),
    "enqueue_call": (Dispatch("RQ enqueue_call", Receiver.RQ_QUEUE, "func", 0),),
    "send": (Dispatch("dramatiq .send", Receiver.DRAMATIQ_ACTOR, "<receiver>"),),
    "send_with_options": (Dispatch("dramatiq .send_with_options", Receiver.DRAMATIQ_ACTOR, "<receiver>"),),
    "start": (Dispatch("Thread.start", Receiver.THREAD, "target", -1, awaitable=True),),
    "create_task": (
        Dispatch("create_task", Receiver.ASYNC_LOOP, "coro", 0, awaitable=True),
        Dispatch("Cloud Tasks create_task", Receiver.CLOUD_TASKS, "task", 1),
    ),
    "ensure_future": (Dispatch("ensure_future", Receiver.ASYNC_LOOP, "coro_or_future", 0, awaitable=True),),
    # boto3 (botocore service models: Lambda Invoke, ECS RunTask, SFN StartExecution, SQS
    # SendMessage, Batch SubmitJob, Glue StartJobRun, CodeBuild StartBuild).
    "invoke": (Dispatch("Lambda invoke", "lambda", "FunctionName", -1),),
    "invoke_async": (Dispatch("Lambda invoke_async", "lambda", "FunctionName", -1),),
    "run_task": (Dispatch("ECS run_task", "ecs", "taskDefinition", -1),),
    "start_execution": (Dispatch("Step Functions start_execution", "stepfunctions", "stateMachineArn", -1),),
    "send_message": (Dispatch("SQS send_message", "sqs", "QueueUrl", -1),),
    "publish": (Dispatch("Pub/Sub publish", Receiver.PUBSUB_PUBLISHER, "topic", 0),),
    "send_message_batch": (Dispatch("SQS send_message_batch", "sqs", "QueueUrl", -1),),
    "submit_job": (Dispatch("Batch submit_job", "batch", "jobDefinition", -1),),
    "start_job_run": (Dispatch("Glue start_job_run", "glue", "JobName", -1),),
    "start_build": (Dispatch("CodeBuild start_build", "codebuild", "projectName", -1),),
}

#: Calls (qualified) that start work by themselves -> (label, target keyword, index, awaitable).
DISPATCH_CALLS: Mapping[str, Dispatch] = {
    "subprocess.Popen": Dispatch("subprocess.Popen", Receiver.ANY, "args", 0),
    "django_rq.enqueue": Dispatch("django_rq.enqueue", Receiver.ANY, "func", 0),
    # django-q: ``async_task("app.jobs.run_sync", pk)`` or ``async_task(run_sync, pk)``
    "django_q.tasks.async_task": Dispatch("django-q async_task", Receiver.ANY, "func", 0),
    "django_q.tasks.async_chain": Dispatch("django-q async_chain", Receiver.ANY, "chain", 0),
    "asyncio.create_task": Dispatch("asyncio.create_task", Receiver.ANY, "coro", 0, awaitable=True),
    "asyncio.ensure_future": Dispatch("asyncio.ensure_future", Receiver.ANY, "coro_or_future", 0, awaitable=True),
    "os.spawnl": Dispatch("os.spawnl", Receiver.ANY, "", 1),
}

#: huey's task decorators (``@huey.task()``, ``@huey.db_task()``, djhuey's ``@db_task()``):
#: calling the decorated function enqueues it.
HUEY_TASK_DECORATORS: FrozenSet[str] = frozenset({"task", "db_task"})


def huey_task_decorator(name: Optional[str]) -> bool:
    """``huey.task``, ``app.huey.db_task``, ``huey.contrib.djhuey.db_task`` (by the last part)."""
    return name is not None and name.rsplit(".", 1)[-1] in HUEY_TASK_DECORATORS


#: Names of an executor whose construction is out of sight (``self.request.app["pool"]``).
EXECUTOR_NAME = re.compile(r"(?:^|_)(?:pool|executor)$", re.IGNORECASE)
#: Decorators that make a function a dramatiq actor (qualified).
DRAMATIQ_ACTORS: FrozenSet[str] = frozenset({"dramatiq.actor", "dramatiq.Actor", "remoulade.actor"})

#: Constructors -> receiver kind (qualified names, after import resolution).
RECEIVER_CONSTRUCTORS: Mapping[str, str] = {
    "concurrent.futures.ThreadPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.ProcessPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.thread.ThreadPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.process.ProcessPoolExecutor": Receiver.EXECUTOR,
    "threading.Thread": Receiver.THREAD,
    "threading.Timer": Receiver.THREAD,
    "multiprocessing.Process": Receiver.THREAD,
    "rq.Queue": Receiver.RQ_QUEUE,
    "rq.queue.Queue": Receiver.RQ_QUEUE,
    "django_rq.get_queue": Receiver.RQ_QUEUE,
    "asyncio.get_event_loop": Receiver.ASYNC_LOOP,
    "asyncio.get_running_loop": Receiver.ASYNC_LOOP,
    "asyncio.new_event_loop": Receiver.ASYNC_LOOP,
    "fastapi.BackgroundTasks": Receiver.BACKGROUND_TASKS,
    "starlette.background.BackgroundTasks": Receiver.BACKGROUND_TASKS,
    "google.cloud.pubsub_v1.PublisherClient": Receiver.PUBSUB_PUBLISHER,
    "google.cloud.pubsub.PublisherClient": Receiver.PUBSUB_PUBLISHER,
    "google.cloud.pubsub_v1.publisher.Client": Receiver.PUBSUB_PUBLISHER,
    "google.cloud.tasks_v2.CloudTasksClient": Receiver.CLOUD_TASKS,
    "google.cloud.tasks.CloudTasksClient": Receiver.CLOUD_TASKS,
    "google.cloud.tasks_v2.CloudTasksAsyncClient": Receiver.CLOUD_TASKS,
}
#: Annotations naming a receiver kind (qualified; bare names of from-imports resolve).
RECEIVER_ANNOTATIONS: Mapping[str, str] = {
    **RECEIVER_CONSTRUCTORS,
    "concurrent.futures.Executor": Receiver.EXECUTOR,
    "asyncio.AbstractEventLoop": Receiver.ASYNC_LOOP,
}
#: ``boto3.client("ecs")``, ``session.client("ecs")``: the service name is the first argument.
BOTO3_CLIENT_CALLS: FrozenSet[str] = frozenset({"boto3.client", "boto3.session.Session.client"})
#: Methods whose first argument names a boto3 service on any session object.
BOTO3_CLIENT_METHODS: FrozenSet[str] = frozenset({"client"})

#: Calls that wait for request-scoped fan-out (their argument's futures/tasks are awaited).
WAITS_FOR: FrozenSet[str] = frozenset(
    {"as_completed", "wait", "gather", "wait_for", "result", "join", "shield", "run_until_complete"}
)
#: ``transaction.on_commit(lambda: task.delay(...))``: the lambda runs at commit.
DEFERRED_CALLBACKS: FrozenSet[str] = frozenset({"on_commit"})

#: Work started for bookkeeping, not for the queue: audit events, analytics, metrics,
#: logs (redash's ``record_event_task.delay`` on every API call).  By the target's name.
NOT_PROGRESS_TARGETS = re.compile(
    r"record_event|audit|analytics|telemetry|track(?:ing)?_|metric|statsd|_log$|^log_|logging|heartbeat|last_seen",
    re.I,
)
#: Handlers (name or route path) that are GETs by necessity: links followed from an email,
#: a provider's OAuth/OpenID redirect, a payment's return page.  Work they start unguarded
#: is the click's purpose; only the incident's shape (a state write, a guarded start) counts.
#: Request headers only a scheduler or a task queue sets (App Engine cron and task queues,
#: Cloud Scheduler, Cloud Tasks): a handler that checks one is that scheduler's target,
#: not a page a client polls.
SCHEDULER_HEADERS = re.compile(
    r"^(?:HTTP_)?X[-_](?:APPENGINE[-_](?:CRON|QUEUENAME|TASKNAME)|CLOUDSCHEDULER|CLOUDTASKS[-_](?:TASKNAME|QUEUENAME))$",
    re.I,
)
CALLBACK_HANDLERS = re.compile(
    r"callback|webhook|hook|verif|confirm|activat|unsubscrib|oauth|authori[sz]|login|logout|sign_?up"
    r"|sso|redirect|return_url|/return|complete_|invite|accept|magic",
    re.I,
)
#: Words of a job's state in a test that guards a dispatch (``if job.is_finished``,
#: ``if not busy``, ``if row["done"] >= row["next_offset"]``, ``if nxt is not None``): the
#: dispatch starts the next piece of queued work.  A dispatch without such a guard and
#: without a state write starts the request's own work (redash: a schema job on a cache
#: miss, returned for the client to poll): still a read with a side effect, reported with
#: that reason, but not a queue that stalls when polling stops.
STATE_WORDS = re.compile(
    r"status|state|phase|done|finish|success|complete|pending|queued|waiting|running|busy|in_flight"
    r"|next|idle|ready|submitted|approved|following|upcoming",
    re.I,
)
#: Final states: writing one records how a job ended (a poll that sees the background run
#: finished and notes it: snuba's manual-jobs runner), it starts or advances nothing, and
#: every later reader can reconcile again.  The queue stalls only where the write moves a
#: job to a state some work waits for (WAITING -> CREATING, READY, SENDING).
TERMINAL_STATES = re.compile(
    r"^(?:finished|finish|done|success|succeeded|successful|complete|completed|failed|failure|error|errored"
    r"|cancell?ed|aborted|expired|timed_?out|killed|stopped|rejected"
    # A reader's own marks (a notification or message seen): nothing waits for them.
    r"|read|unread|seen|unseen|viewed|opened|acknowledged|dismissed)$",
    re.I,
)
#: A helper that writes a state it is given: ``_set_job_status(job_id, JobStatus.FINISHED)``.
STATE_SETTERS = re.compile(r"^_*(?:set|update|mark|change|transition|move|advance)_?\w*(?:status|state|phase)", re.I)

# -- job state ---------------------------------------------------------------------------

#: An attribute (or ``update()`` keyword) that holds a job's state: ``status``,
#: ``pdf_state``, ``export_state``, ``phase``.  Not ``status_code`` (a response).
STATE_ATTRIBUTE = re.compile(r"^(?:\w+_)?(?:status|state|phase)$")
#: A class whose members are job states (``ImportStatus.CREATING``).
STATE_ENUM = re.compile(r"(?:Status|State|Phase)(?:es|s)?$")
#: Receivers whose ``status``/``state`` is an HTTP response's or a form's, not a job's.
NOT_JOB_OBJECTS = re.compile(r"^(?:self\.)?(?:resp|response|res|r|reply|request|req|form|ctx|context|result)$")
#: Calls that persist an object after its state attribute was assigned.
PERSIST_METHODS: FrozenSet[str] = frozenset({"save", "commit", "flush", "put", "update_one", "save_model"})
#: ORM bulk updates: ``Model.objects.filter(...).update(status=...)``; SQLAlchemy
#: ``update(Model).where(...).values(status=...)``.
BULK_UPDATES: FrozenSet[str] = frozenset({"update", "values"})
#: MongoDB writes whose second argument is the update document (``{"$set": {...}}``).
MONGO_UPDATES: FrozenSet[str] = frozenset({"update_one", "update_many", "find_one_and_update", "find_and_modify"})
#: Methods of a chain that makes it a query (for ``update``: not ``dict.update``).
QUERY_METHODS: FrozenSet[str] = frozenset(
    {"filter", "filter_by", "where", "exclude", "objects", "query", "select_for_update", "all", "get_queryset"}
)

# -- taking the next item --------------------------------------------------------------------

#: Methods that take one item (or one batch) off a queue, a table or a cursor.
TAKE_METHODS: FrozenSet[str] = frozenset(
    {
        "pop",
        "popleft",
        "lpop",
        "rpop",
        "blpop",
        "brpop",
        "rpoplpush",
        "brpoplpush",
        "lmove",
        "blmove",
        "lmpop",
        "blmpop",
        "bzpopmin",
        "bzpopmax",
        "zpopmin",
        "zpopmax",
        "get_nowait",
        # trio/anyio memory channels: the next item, or WouldBlock when there is none
        "receive_nowait",
        "receive_message",
        "receive_messages",
        # RabbitMQ (pika) takes one message; MongoDB claims one queued document.
        "basic_get",
        "find_one_and_update",
        # MongoDB removes and returns one queued document (an outbox, a job collection)
        "find_one_and_delete",
        # beanstalkd (greenstalk, beanstalkc) reserves one job; Pub/Sub's synchronous pull.
        "reserve",
        "pull",
        "fetchone",
        "fetchmany",
        "first",
        "dequeue",
        "claim",
        "claim_next",
        # a priority queue kept in a list (``heapq.heappop(pending)``)
        "heappop",
        # asyncpg's one-row reads (``await conn.fetchrow("... FOR UPDATE SKIP LOCKED")``)
        "fetchrow",
        "fetchval",
        # Redis Streams: a consumer group's read (``count=1``) or claim of pending entries.
        "xreadgroup",
        "xread",
        "xautoclaim",
    }
)
#: ZeroMQ socket receives: the next message (``recv`` itself only with a non-blocking flag).
ZMQ_RECEIVES: FrozenSet[str] = frozenset(
    {"recv", "recv_json", "recv_pyobj", "recv_string", "recv_multipart", "recv_serialized"}
)
ZMQ_NONBLOCKING: Tuple[str, ...] = ("NOBLOCK", "DONTWAIT")
#: Calls that list a spool directory or a bucket: the first entry is the next item.
LISTINGS: FrozenSet[str] = frozenset(
    {"glob", "rglob", "iglob", "iterdir", "listdir", "scandir", "list_objects", "list_objects_v2", "list_blobs"}
)
#: Parameter or key names of a pagination position.
PAGE_WORDS = re.compile(r"page|cursor|offset|marker|token|after|next|start|since|continuation|skip", re.I)

# -- rate limits and transient failures ------------------------------------------------------

#: HTTP statuses that mean "try again later" (RFC 6585 429; RFC 9110 502/503/504).
RETRY_STATUSES: FrozenSet[int] = frozenset({429, 502, 503, 504})
#: Attributes of a response holding its status.
STATUS_ATTRIBUTES: FrozenSet[str] = frozenset({"status_code", "status", "code", "status_int", "http_status"})
#: Named constants of those statuses (``HTTPStatus.TOO_MANY_REQUESTS``,
#: ``status.HTTP_429_TOO_MANY_REQUESTS``, ``codes.too_many_requests``).
RETRY_STATUS_NAMES = re.compile(
    r"TOO_MANY_REQUESTS|SERVICE_UNAVAILABLE|BAD_GATEWAY|GATEWAY_TIMEOUT|too_many_requests|service_unavailable"
    r"|HTTP_429|HTTP_50[234]"
)
#: Exception classes raised on rate limiting (openai, anthropic, stripe ``RateLimitError``,
#: botocore ``ThrottlingException``, slack ``SlackApiError``... by their last name).
RATE_LIMIT_EXCEPTIONS = re.compile(
    r"RateLimit|Ratelimit|Throttl|TooManyRequests|ServiceUnavailable|SlowDown|QuotaExceeded|HTTP429"
    r"|ProvisionedThroughputExceeded|RequestLimitExceeded|ResourceExhausted"
    # python-telegram-bot / aiogram flood control (``telegram.error.RetryAfter``), ``FloodWait``
    r"|^RetryAfter$|FloodWait|TelegramRetryAfter"
)
#: Error codes that providers return on rate limiting, compared as strings
#: (``e.response["Error"]["Code"] == "ThrottlingException"`` with botocore).
RATE_LIMIT_CODES = re.compile(
    r"^(?:Throttling|ThrottlingException|ThrottledException|TooManyRequestsException|RequestLimitExceeded"
    r"|ProvisionedThroughputExceededException|SlowDown|RequestThrottled|RequestThrottledException"
    r"|rate_limited|ratelimited|RESOURCE_EXHAUSTED)$"
)
#: Reading this header (or attribute) is a rate-limit signal.
RETRY_AFTER = re.compile(r"retry[-_]?after", re.I)

#: Calls that wait: the stdlib and async sleeps (``rules/_exits.py``) and friends.
SLEEPS: FrozenSet[str] = frozenset(_EXIT_SLEEPS | {"eventlet.sleep", "tornado.gen.sleep", "gevent.sleep"})
#: Sleeps that are coroutines: they wait only when awaited.
COROUTINE_SLEEPS: FrozenSet[str] = frozenset(
    {"asyncio.sleep", "asyncio.tasks.sleep", "trio.sleep", "anyio.sleep", "tornado.gen.sleep"}
)
#: A wait object's method that waits (``threading.Event().wait(5)``).
WAIT_METHODS: FrozenSet[str] = frozenset({"wait"})
#: Decorators that retry the function with backoff (tenacity, backoff, retrying, retry).
#: Enum members and constants that name a rate limit (``APIErrorCode.RateLimited``,
#: ``ErrorCode.TOO_MANY_REQUESTS``), by their last name.
RATE_LIMIT_MEMBERS = re.compile(
    r"^(?:rate_?limit(?:ed)?|rate_?limit_?exceeded|too_?many_?requests|throttl(?:ed|ing)|request_?throttled)$",
    re.IGNORECASE,
)
#: Names of predicates that test for a rate limit or a transient failure
#: (``is_rate_limited(resp)``, ``throttled(resp)``, ``should_retry(resp)``), read when
#: the predicate's own body is not in the file.
RATE_LIMIT_PREDICATES = re.compile(
    r"^_*(?:is_|was_|got_)?(?:rate_?limited|throttled|too_many_requests|being_throttled|over_quota)$", re.IGNORECASE
)
RETRY_DECORATORS = re.compile(
    r"^(?:tenacity\.|backoff\.|retrying\.|retry\.|stamina\.)?(?:retry|on_exception|on_predicate|retry_context)$"
)
#: Deadline clocks: a comparison with one of these bounds a loop in time.
CLOCKS: FrozenSet[str] = frozenset(
    {"time.monotonic", "time.time", "time.perf_counter", "datetime.datetime.now", "datetime.datetime.utcnow"}
)
#: Names of attempt counters, to tell a bound from any comparison (``attempt``, ``tries_left``).
COUNTER_WORDS = re.compile(r"attempt|retr|tries|try_|count|n_|^n$|^i$|budget|left|remaining", re.I)


def status_constant(name: str) -> bool:
    """``HTTPStatus.TOO_MANY_REQUESTS``-like names."""
    return RETRY_STATUS_NAMES.search(name) is not None


def rate_limit_exception(name: Optional[str]) -> bool:
    """``openai.RateLimitError``, ``stripe.error.RateLimitError``, ``ThrottlingException``..."""
    return name is not None and RATE_LIMIT_EXCEPTIONS.search(name.rsplit(".", 1)[-1]) is not None


def state_attribute(name: str) -> bool:
    return STATE_ATTRIBUTE.match(name) is not None


def state_enum(name: str) -> bool:
    return STATE_ENUM.search(name) is not None
