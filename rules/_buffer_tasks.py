"""OPS101's entry points that run in forked children: process pool workers, Celery tasks
and RQ jobs.

A forked child ends with ``os._exit``: ``atexit`` callbacks never run, so a buffered
client used in the worker function must be drained before it returns (SDK_FACTS 1.0,
2.6).  :func:`task_entries` adds such module functions to the entry points the path
analysis of ``_buffer_paths.py`` walks; the rule tells them apart by their reason.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from opslint.analysis.entrypoints import EntryKind, EntryPoint, decorator_target
from opslint.analysis.scopes import BindingTable, Scope
from opslint.project import EntrySpec
from opslint.rules._buffered import BufferedClients
from opslint.syntax.nodes import keyword, positional

#: Pools whose workers are forked children (they end with ``os._exit``: atexit never runs).
PROCESS_POOLS = frozenset(
    {
        "multiprocessing.Pool",
        "multiprocessing.pool.Pool",
        "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor",
    }
)
_POOL_METHODS = frozenset(
    {"map", "imap", "imap_unordered", "starmap", "apply", "apply_async", "map_async", "starmap_async", "submit"}
)
_CELERY_TASKS = frozenset({"celery.shared_task", "celery.task", "celery.app.shared_task"})
#: Base classes of class-based Celery tasks: the worker calls the instance's ``run()``.
_CELERY_TASK_CLASSES = frozenset({"celery.Task", "celery.app.task.Task", "celery.task.Task"})
#: Airflow's TaskFlow decorator: the task runner runs each task in a forked child that
#: ends with ``os._exit`` (Airflow's ``StandardTaskRunner``).
_AIRFLOW_TASKS = frozenset({"airflow.decorators.task", "airflow.sdk.task"})
POOL_REASON = "a process pool worker (a forked child ends with os._exit)"
AIRFLOW_REASON = "an Airflow task (the task runner's forked child ends with os._exit)"
TASK_REASON = "a Celery task (a prefork worker child ends with os._exit)"
#: RQ: the default ``Worker`` forks a work horse per job, which ends with ``os._exit(0)``.
RQ_REASON = "an RQ job (the worker's forked work horse ends with os._exit)"
_RQ_JOB_DECORATORS = frozenset({"rq.decorators.job", "rq.job"})
#: ``queue.enqueue(f, ...)`` and its kin: the method and where the function is.
_RQ_ENQUEUE: Dict[str, Tuple[int, str]] = {
    "enqueue": (0, "f"),
    "enqueue_call": (0, "func"),
    "enqueue_in": (1, "f"),
    "enqueue_at": (1, "f"),
}
#: The same, for jobs enqueued in another module of the project.
RQ_JOBS = EntrySpec(register_calls={m: ("RQ job", i, k) for m, (i, k) in _RQ_ENQUEUE.items()})
#: Classic Airflow operators that run a callable in the task runner's forked child.
AIRFLOW_CALLABLES = EntrySpec(
    callable_keywords={
        name: ("Airflow task", "python_callable")
        for name in (
            "PythonOperator",
            "BranchPythonOperator",
            "ShortCircuitOperator",
            "PythonVirtualenvOperator",
            "ExternalPythonOperator",
            "PythonSensor",
        )
    }
)


def process_pool(
    table: BindingTable,
    resolve: Callable[[cst.BaseExpression], Optional[str]],
    receiver: cst.BaseExpression,
    scope: Scope,
) -> bool:
    """``receiver`` holds a process pool (``pool = ProcessPoolExecutor()``, ``with Pool() as
    pool``): what it runs, it runs in a worker process."""
    return any(
        isinstance(b.value, cst.Call) and resolve(b.value.func) in PROCESS_POOLS for b in table.resolve(receiver, scope)
    )


def task_entries(buffered: BufferedClients, known: Sequence[EntryPoint], project: Any = None) -> List[EntryPoint]:
    """Module functions that run in forked children: process pool workers
    (``pool.map(work, items)``) and Celery task bodies (SDK_FACTS 1.0, 2.6); ``project``
    (the index) tells a Celery app defined in another module."""
    table = buffered.table
    imports = buffered.ctx.imports
    module = table.module_scope
    if module is None:
        return []
    functions = {
        name: b[0].node for name, b in module.bindings.items() if len(b) == 1 and isinstance(b[0].node, cst.FunctionDef)
    }
    seen = {id(e.node) for e in known}
    out: List[EntryPoint] = []

    def add(name: str, reason: str, node: Optional[cst.FunctionDef] = None) -> None:
        func = node or functions.get(name)
        if func is not None and id(func) not in seen:
            seen.add(id(func))
            out.append(EntryPoint(EntryKind.PROCESS_TARGET, name, func, reason))

    for call, scope, _ in buffered.calls:
        method = call.func
        if not isinstance(method, cst.Attribute) or method.attr.value not in _POOL_METHODS or not call.args:
            continue
        worker = call.args[0].value
        if isinstance(worker, cst.Name) and process_pool(table, imports.resolve, method.value, scope):
            add(worker.value, POOL_REASON)
    for call, _scope, _ in buffered.calls:
        method = call.func
        spec = _RQ_ENQUEUE.get(method.attr.value) if isinstance(method, cst.Attribute) else None
        if spec is None:
            continue
        given = keyword(call, spec[1])
        args = positional(call)
        job = given.value if given is not None else args[spec[0]].value if len(args) > spec[0] else None
        if isinstance(job, cst.Name):
            add(job.value, RQ_REASON)
    module_name = project.module_of(buffered.ctx.path) if project is not None else None
    if module_name is not None:
        enqueued = project.entry_points(RQ_JOBS)
        operated = project.entry_points(AIRFLOW_CALLABLES)
        for name in functions:
            if f"{module_name}.{name}" in enqueued:
                add(name, RQ_REASON)
            elif f"{module_name}.{name}" in operated:
                add(name, AIRFLOW_REASON)  # ``PythonOperator(python_callable=expire_coupons)``
    celery = imports.imports_module("celery")
    for name, function in functions.items():
        for dec in function.decorators:
            target = decorator_target(dec)
            if imports.resolve(target) in _RQ_JOB_DECORATORS:
                add(name, RQ_REASON)
                break
            if imports.resolve(target) in _CELERY_TASKS or (
                isinstance(target, cst.Attribute)
                and target.attr.value == "task"
                and (celery or _project_celery_app(project, imports.resolve(target.value)))
            ):
                add(name, TASK_REASON)
    for scope in table.scopes():
        # ``class SyncTrials(Task): def run(self, ...)``, registered with ``app.register_task``.
        owner = scope.node
        if isinstance(owner, cst.ClassDef) and any(
            imports.resolve(base.value) in _CELERY_TASK_CLASSES for base in owner.bases
        ):
            run = next((b.node for b in scope.bindings.get("run", []) if isinstance(b.node, cst.FunctionDef)), None)
            if run is not None:
                add(f"{owner.name.value}.run", TASK_REASON, run)
    if imports.imports_module("airflow"):
        # TaskFlow tasks are often defined inside the ``@dag`` function.
        for scope in table.scopes():
            task = scope.function
            if task is not None and any(
                _airflow_task(imports.resolve(decorator_target(dec))) for dec in task.decorators
            ):
                add(task.name.value, AIRFLOW_REASON, task)
    return out


def _airflow_task(qualified: Optional[str]) -> bool:
    """``@task``, ``@task()``, ``@task.python``, ``@task.virtualenv`` of Airflow's TaskFlow API."""
    return qualified is not None and any(
        qualified == name or qualified.startswith(name + ".") for name in _AIRFLOW_TASKS
    )


def _project_celery_app(project: Any, qualified: Optional[str]) -> bool:
    """``from reports.celery_app import app`` then ``@app.task``: ``app = Celery(...)`` in
    another module of the project (its summary records what the name was built by)."""
    if qualified is None or project is None or "." not in qualified:
        return False
    built = project.built_by(qualified) or ""
    return built.startswith("celery.") and built.rsplit(".", 1)[-1] == "Celery"


def entry_label(entry: EntryPoint) -> str:
    """How messages name an entry point, tasks and pool workers included."""
    if entry.reason in (TASK_REASON, AIRFLOW_REASON):
        return f"task `{entry.name}()`"
    if entry.reason == RQ_REASON:
        return f"RQ job `{entry.name}()`"
    if entry.reason == POOL_REASON:
        return f"pool worker `{entry.name}()`"
    return entry.label
