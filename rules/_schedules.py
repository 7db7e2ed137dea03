"""OPS401 knowledge: scheduled/batch entry points, lock decorators, acquire/release names.

Data only (plus tiny classifiers).  Lock constructors, redis and SQL lock
markers come from ``_locks.py`` (shared with OPS402/OPS403) and are read-only
here.  Sources: APScheduler 3 (``scheduled_job``, ``add_job``), Celery 5
(``beat_schedule``, ``add_periodic_task``, the old ``periodic_task``), huey,
schedule, rq-scheduler, arq, django-q, Chalice, Airflow 2, Django management
commands, django-crontab's ``CRONJOBS``, uWSGI's decorators, taskiq's schedule labels.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Tuple

from opslint.project import EntrySpec

#: What starts a function on a schedule (or as a batch run) without a caller in the project.
SCHEDULED = EntrySpec(
    decorators={
        "scheduled_job": "APScheduler job",
        # Flask-APScheduler: ``scheduler = APScheduler()`` then ``@scheduler.task("cron", ...)``
        "APScheduler.task": "Flask-APScheduler job",
        "periodic_task": "periodic task",
        "db_periodic_task": "huey periodic task",
        "Chalice.schedule": "Chalice schedule",
        "app.schedule": "Chalice schedule",
        "aiocron.crontab": "aiocron job",
        # Azure Functions (Python v2 model): ``@app.timer_trigger(schedule="0 0 5 * * *", ...)``
        "timer_trigger": "Azure Functions timer",
        "crontab.crontab": "aiocron job",
        # CLI commands run by cron or by hand (Flask ``app.cli.command``, click, typer)
        "cli.command": "CLI command",
        "click.command": "CLI command",
        "Typer.command": "CLI command",
        "Group.command": "CLI command",
        # fastapi-utils / fastapi-restful: a coroutine re-run every N seconds from startup
        "repeat_every": "repeated task",
        # Procrastinate ``@app.periodic(cron="*/10 * * * *")`` over ``@app.task``
        "periodic": "Procrastinate periodic task",
        # Faust ``@app.crontab("0 3 * * *")``
        "crontab": "cron job",
    },
    decorator_keywords={
        "periodic": "periodiq job",
        # taskiq: ``@broker.task(schedule=[{"cron": "15 2 * * *"}])`` (LabelScheduleSource)
        "schedule": "scheduled task",
    },
    qualified_decorators={
        "airflow.decorators.task": "Airflow task",
        "airflow.sdk.task": "Airflow task",
        "airflow.operators.python.task": "Airflow task",
        "celery.decorators.periodic_task": "Celery periodic task",
        "celery.task.periodic_task": "Celery periodic task",
        # Dagster ops and assets run as batch jobs (launched by schedules, sensors or by hand)
        "dagster.op": "Dagster op",
        "dagster.asset": "Dagster asset",
        "dagster.job": "Dagster job",
        # uWSGI's own scheduler (``@cron(0, 3, -1, -1, -1)``, ``@timer(300)``), run in the
        # master or a mule of every uWSGI instance
        "uwsgidecorators.cron": "uWSGI cron job",
        "uwsgidecorators.timer": "uWSGI timer",
        "uwsgidecorators.rbtimer": "uWSGI timer",
    },
    register_calls={
        # APScheduler: add_job(func, trigger=None, args=None, ...)
        "add_job": ("APScheduler job", 0, "func"),
        # APScheduler 4: add_schedule(func_or_task_id, trigger, ...)
        "add_schedule": ("APScheduler schedule", 0, "func_or_task_id"),
        # Celery: sender.add_periodic_task(schedule, sig, ...)
        "add_periodic_task": ("Celery beat", 1, "sig"),
        # schedule: schedule.every(10).minutes.do(job, *args)
        "do": ("`schedule` job", 0, "job_func"),
        # rq-scheduler: cron(cron_string, func=...), schedule(scheduled_time, func=...)
        # arq: cron(coroutine, hour=...); django-q: schedule("pkg.mod.func", ...)
        "cron": ("cron job", 0, "func"),
        "schedule": ("scheduled job", 0, "func"),
    },
    register_requires={"do": "every"},
    callable_keywords={
        "PythonOperator": ("Airflow task", "python_callable"),
        "BranchPythonOperator": ("Airflow task", "python_callable"),
        "ShortCircuitOperator": ("Airflow task", "python_callable"),
        "PythonVirtualenvOperator": ("Airflow task", "python_callable"),
        "ExternalPythonOperator": ("Airflow task", "python_callable"),
        "PythonSensor": ("Airflow task", "python_callable"),
    },
    schedule_assignments={
        "beat_schedule": ("Celery beat", "task"),
        "CELERY_BEAT_SCHEDULE": ("Celery beat", "task"),
        "CELERYBEAT_SCHEDULE": ("Celery beat", "task"),
        "CRONJOBS": ("django-crontab job", ""),
        # Flask-APScheduler: app.config["JOBS"] = [{"id": ..., "func": "pkg.mod:f", "trigger": "cron"}]
        "JOBS": ("Flask-APScheduler job", "func"),
        "SCHEDULER_JOBS": ("Flask-APScheduler job", "func"),
    },
    command_bases=frozenset(
        {
            "django.core.management.base.BaseCommand",
            "django.core.management.BaseCommand",
            "django.core.management.base.LabelCommand",
            "django.core.management.base.AppCommand",
        }
    ),
    main_kind="`__main__` script",
    class_entries={
        # django-cron: CRON_CLASSES lists CronJobBase subclasses; runcrons calls their do()
        "CronJobBase": ("do", "django-cron job"),
        # Luigi: a pipeline's tasks run (``luigi.build``/``luigi.run``, cron) through ``run()``
        "luigi.Task": ("run", "Luigi task"),
        "luigi.task.Task": ("run", "Luigi task"),
    },
    console_script_kind="console script",
)

#: Decorators that schedule the function only on an instance of a known class (``@scheduler.task``
#: is Flask-APScheduler's, ``@app.task`` is Celery's and schedules nothing): class -> method -> kind.
TYPED_DECORATORS: Dict[str, Dict[str, str]] = {
    "flask_apscheduler.APScheduler": {"task": "Flask-APScheduler job"},
    "flask_apscheduler.scheduler.APScheduler": {"task": "Flask-APScheduler job"},
    # Rocketry: ``app = Rocketry()`` then ``@app.task(daily.at("05:00"))``
    "rocketry.Rocketry": {"task": "Rocketry task"},
    "rocketry.application.Rocketry": {"task": "Rocketry task"},
}

#: Methods that schedule their receiver when given a schedule keyword
#: (Prefect ``flow.serve(cron=...)``, ``flow.deploy(...)``, ``flow.to_deployment(...)``).
RECEIVER_SCHEDULES: Dict[str, str] = {
    "serve": "Prefect deployment",
    "deploy": "Prefect deployment",
    "to_deployment": "Prefect deployment",
}
SCHEDULE_KEYWORDS: FrozenSet[str] = frozenset({"cron", "interval", "rrule", "schedule", "schedules"})

#: ``functools.partial(f, ...)`` handed to a scheduler schedules ``f``.
PARTIAL_CALLS: FrozenSet[str] = frozenset({"functools.partial", "partial"})
#: Registration calls whose callable may be a ``partial`` (the same as SCHEDULED.register_calls).
PARTIAL_REGISTRATIONS: Dict[str, str] = {
    "add_job": "APScheduler job",
    "add_schedule": "APScheduler schedule",
    "do": "`schedule` job",
    "cron": "cron job",
    "schedule": "scheduled job",
}

#: Class attributes that list scheduled jobs (arq ``WorkerSettings.cron_jobs = [cron(f, ...)]``):
#: attribute -> (kind, the call wrapping each job).
CLASS_SCHEDULES: Dict[str, Tuple[str, str]] = {"cron_jobs": ("arq cron job", "cron")}

#: Decorators (last name) that run the decorated function under a lock.
LOCK_DECORATORS: FrozenSet[str] = frozenset(
    {
        "synchronized",
        "locked",
        "with_lock",
        "lock_task",  # huey
        "single_instance",
        "only_one",
        "run_exclusively",
        "exclusive",
        "distributed_lock",
        "redis_lock",
        "file_lock",
        "advisory_lock",
        "with_advisory_lock",
        "locked_task",
        "task_lock",
        "singleton_task",
        "single_task",
        "mutex",
    }
)

#: Celery task bases that hold a lock while the task runs (celery-once).
LOCKING_TASK_BASES: FrozenSet[str] = frozenset({"QueueOnce", "celery_once.QueueOnce", "Singleton"})

#: Context managers (last name) that hold a lock besides ``_locks`` constructors.
LOCK_CONTEXT_MANAGERS: FrozenSet[str] = frozenset(
    {"advisory_lock", "lock", "Lock", "RLock", "FileLock", "SoftFileLock", "InterProcessLock"}
)

#: Methods that acquire a lock object, and release it.
ACQUIRE_METHODS: FrozenSet[str] = frozenset({"acquire", "acquire_lock", "try_acquire"})
RELEASE_METHODS: FrozenSet[str] = frozenset({"release", "release_lock", "unlock"})

#: OS-level file locks: ``fcntl.flock(fd, LOCK_EX)`` takes, ``LOCK_UN`` gives back.
FILE_LOCK_CALLS: FrozenSet[str] = frozenset({"fcntl.flock", "fcntl.lockf", "portalocker.lock", "portalocker.unlock"})

#: redis-py claims: ``set(k, v, nx=True)``, ``setnx``; Django cache ``add``.
REDIS_CLAIM_METHODS: FrozenSet[str] = frozenset({"setnx"})
#: Receivers of ``.acquire()`` that are pools or throttles, not locks.
NOT_LOCK_RECEIVERS = re.compile(r"pool|conn|session|sem|limit|throttl|bucket|slot|permit|queue", re.IGNORECASE)

#: Project functions named like taking or giving back a lock (or an "in use" flag).
ACQUIRE_NAME = re.compile(
    r"^_*(?:try_|maybe_)?(?:acquire|lock|claim|reserve)(?:_\w+)?$"
    r"|^_*(?:mark|set|flag)_\w*(?:in_use|busy|locked|running|occupied)$",
    re.IGNORECASE,
)
RELEASE_NAME = re.compile(
    r"^_*(?:release|unlock|free|give_back|return)(?:_\w+)?$"
    r"|^_*(?:mark|set|flag)_\w*(?:free|idle|available|unlocked|done|released|not_in_use|not_busy)$",
    re.IGNORECASE,
)
#: ``set_key_in_use(key, False)``: a flag setter called with a falsy value releases.
FLAG_SETTER_NAME = re.compile(r"^_*(?:mark|set|flag)_\w*(?:in_use|busy|locked|running|occupied)$", re.IGNORECASE)
FALSY_ARGS: FrozenSet[str] = frozenset({"False", "0", "None", "''", '""'})


#: Words of a ``with`` item or decorator name that say it holds a lock.
LOCK_WORDS: FrozenSet[str] = frozenset({"lock", "locked", "locking", "rlock", "mutex", "flock", "filelock"})
_WORD_SPLIT = re.compile(r"_+|(?<=[a-z0-9])(?=[A-Z])")


def has_lock_word(name: str) -> bool:
    """``with_account_locked``, ``AccountLock``, ``locking``, ``mutex_for`` (not ``clock``/``unlock``/``block``)."""
    return any(word.lower() in LOCK_WORDS for word in _WORD_SPLIT.split(name) if word)


def last_name(qualified: str) -> str:
    """``pkg.mod.Cls().method`` -> ``method``; ``x.lock()`` -> ``lock``."""
    base = qualified[:-2] if qualified.endswith("()") else qualified
    return base.rsplit(".", 1)[-1].replace("()", "")


def receiver(qualified: str) -> str:
    """``self._lock.acquire`` -> ``self._lock``; ``threading.Lock().acquire`` -> ``threading.Lock()``."""
    base = qualified[:-2] if qualified.endswith("()") else qualified
    return base.rpartition(".")[0]
