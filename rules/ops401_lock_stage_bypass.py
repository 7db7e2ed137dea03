"""OPS401 lock-stage-bypass: a scheduled path calls a lock-guarded function without the lock."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from opslint.config import DOTTED_NAME, option
from opslint.model import Related, Span
from opslint.project import CallSite, Entry, FunctionSummary, ProjectIndex
from opslint.rule import PendingFix, Rule
from opslint.rules import _schedules
from opslint.rules._lock_sites import Evidence, LockSites, short
from opslint.rules._schedule_entries import extra_entries, schedule_facts

_MAX_HOPS = 6


@dataclass(frozen=True)
class _Bypass:
    #: Where to report: the call site, or the registration of a job that is itself guarded.
    path: str
    span: Span
    caller: str
    callee: str
    entry: Entry
    #: (path, call site, caller, callee) from the entry down to the caller.
    hops: Tuple[Tuple[str, CallSite, str, str], ...]
    locked_caller: str
    locked_path: str
    locked_site: CallSite
    lock: Evidence
    #: Calling the locked caller instead is a fit advice (a plain function, not a view or mutation).
    routable: bool = False


@dataclass
class _Analysis:
    by_path: Dict[str, List[_Bypass]] = field(default_factory=dict)


class LockStageBypass(Rule):
    """A scheduled path calls a function that the rest of the project only calls under a lock.

    ## What it does
    Infers, across the project, which functions are called only while a lock
    is held: inside `with <lock>:` (threading, multiprocessing and asyncio
    locks, redis `lock()`, `FileLock`, advisory locks, project context managers
    that acquire, also methods of a module-level manager object, lease classes
    whose `__enter__` claims and `__exit__` gives back), after an acquire call in
    the same function (`lock.acquire()`, `redis.set(key, v, nx=True)`, Django or
    memcached `cache.add` given back later, `pg_advisory_lock`,
    `select_for_update()`, project functions such as `acquire_api_key()` paired
    with a release), under a locking decorator (also a decorator factory whose
    wrapper locks), or in a stage function that is itself only called under the
    lock.  It then follows the call graph from scheduled and batch entry points
    (APScheduler `scheduled_job`/`add_job` (also of a `functools.partial` or a
    `lambda`), Flask-APScheduler `@scheduler.task`, Celery beat and
    `periodic_task`, `schedule.every().do`, rq-scheduler, huey, arq `cron_jobs`,
    Prefect `flow.serve(cron=...)`, Chalice `@app.schedule`, fastapi-utils
    `@repeat_every`, Dagster ops and assets, Airflow `python_callable`,
    django-cron `CronJobBase.do`, Django management commands, click/typer
    commands, `[project.scripts]` console scripts, `__main__` scripts) and reports
    each call of such a function reached without the lock.

    A lock counts only where its scope encloses the call: a `select_for_update()`
    holds until the `with transaction.atomic():` block around it ends; a lock
    whose block works on state of the caller's own (`with _memo_lock:` around a
    memo dict) does not guard a callee that never touches that state; a
    function that takes a lock itself (directly or through a helper such as
    `stock_qs_select_for_update()`) is not guarded by its callers' locks; a
    claim that is never given back (`cache.add` as a throttle) is not a lock.

    ## Why it matters
    Incident 002: manual imports went through stage 1, which checked whether
    the shared API key was in use and queued the job if so, then stage 2.  The
    05:00 automatic update created its jobs directly in the IMPORTING state and
    called stage 2, so the lock never ran: five jobs used the key at once and
    one job's "delete all reports" call wiped another's reports.

    ## Example
    ```python
    # services/imports.py
    def start_import(job):
        if not acquire_api_key(job.account_id):
            job.queue()
            return
        try:
            run_import(job)
        finally:
            release_api_key(job.account_id)

    # jobs/nightly.py
    @scheduler.scheduled_job("cron", hour=5)
    def auto_update():
        for job in create_jobs(status="IMPORTING"):
            run_import(job)  # no API-key lock
    ```

    ## Use instead
    ```python
    # jobs/nightly.py
    @scheduler.scheduled_job("cron", hour=5)
    def auto_update():
        for job in create_jobs(status="CREATED"):
            start_import(job)  # goes through the stage that takes the lock
    ```

    ## Fix safety
    Suggestion only: which lock to take and where depends on the design.  Take
    the same lock on the scheduled path, or move the acquire into the guarded
    function so no caller can skip it; when the stage that takes the lock is a
    plain function, calling it instead is suggested.

    ## Options
    - `acquire-functions`: functions that take the lock (qualified or bare names).
    - `release-functions`: functions that give it back.
    - `lock-decorators`: decorators that run the function under a lock.
    - `lock-context-managers`: context managers that hold a lock.
    - `main-scripts`: treat `if __name__ == "__main__":` blocks as batch entry points (default true).

    ## See also
    OPS402 (the lock itself is check-then-set), OPS403 (release not guaranteed).
    """

    code = "OPS401"
    name = "lock-stage-bypass"
    message = "`{callee}` runs under {lock} when `{stage}` calls it, but {bypass} without that lock"
    tokens = ("lock", "acquire", "schedule", "cron", "periodic", "BaseCommand", "__main__", "Rocketry")
    fix_availability = "sometimes"
    needs_project = True
    #: Findings come from the project analysis: only files it names are visited.
    project_only = True
    doc_examples_need_project = True

    @dataclass(frozen=True)
    class Options:
        acquire_functions: Tuple[str, ...] = option(
            (), pattern=DOTTED_NAME, shape="a name or a dotted name like `myapp.locks.acquire`"
        )
        release_functions: Tuple[str, ...] = option(
            (), pattern=DOTTED_NAME, shape="a name or a dotted name like `myapp.locks.acquire`"
        )
        lock_decorators: Tuple[str, ...] = option(
            (), pattern=DOTTED_NAME, shape="a name or a dotted name like `myapp.locks.acquire`"
        )
        lock_context_managers: Tuple[str, ...] = option(
            (), pattern=DOTTED_NAME, shape="a name or a dotted name like `myapp.locks.acquire`"
        )
        main_scripts: bool = True

    # -- project hooks --------------------------------------------------------------

    #: Jobs listed in class attributes (arq ``cron_jobs``) are read from the module's syntax.
    project_tokens = tuple(_schedules.CLASS_SCHEDULES)

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return schedule_facts(module)

    @classmethod
    def prepare_project(cls, project: Any, options: Any) -> None:
        if isinstance(project, ProjectIndex):
            analyse(project, options)

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        if not isinstance(project, ProjectIndex):
            return False
        return bool(analyse(project, options).by_path.get(os.path.abspath(path)))

    # -- per file -------------------------------------------------------------------

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self._todo: Dict[Tuple[int, int], _Bypass] = {}
        project = ctx.project
        if isinstance(project, ProjectIndex):
            for bypass in analyse(project, options).by_path.get(os.path.abspath(ctx.path), ()):
                span = project.current_span(bypass.path, bypass.span)
                self._todo.setdefault((span.line, span.column), bypass)

    def _check(self, node: cst.CSTNode) -> None:
        if not self._todo:
            return
        bypass = self._todo.pop(self.position(node), None)
        if bypass is not None:
            self._report(node, bypass)

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if not isinstance(node.decorator, cst.Call):
            self._check(node.decorator)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check(node)

    def _report(self, node: cst.CSTNode, bypass: _Bypass) -> None:
        project = self.ctx.project
        assert isinstance(project, ProjectIndex)
        entry = bypass.entry
        entry_text = f"{entry.kind} `{short(entry.function)}`"

        def where(path: str, span: Span, message: str) -> Related:
            return Related(self._display(path), project.current_span(path, span), message)

        related: List[Related] = [
            where(bypass.lock.path, bypass.lock.span, f"the lock is taken here: {bypass.lock.description}"),
            where(
                bypass.locked_path,
                bypass.locked_site.span,
                f"`{short(bypass.locked_caller)}` calls `{short(bypass.callee)}` while holding the lock",
            ),
            where(entry.path, entry.span, f"scheduled entry point: {entry_text}"),
        ]
        for path, site, caller, callee in bypass.hops[:_MAX_HOPS]:
            related.append(where(path, site.span, f"`{short(caller)}` calls `{short(callee)}` without the lock"))
        stage = short(bypass.locked_caller)
        lock = bypass.lock.description
        if bypass.lock.holder and bypass.lock.holder != bypass.locked_caller:
            lock = f"{lock} taken in `{short(bypass.lock.holder)}`"
        advice = f"Take the same lock on this path, or move it into `{short(bypass.callee)}` so no caller can skip it"
        if bypass.routable:
            advice = f"Call `{stage}` here (it takes the lock), or move the lock into `{short(bypass.callee)}`"
        self.report(
            node,
            fix=PendingFix.suggestion(advice),
            related=related,
            callee=short(bypass.callee),
            lock=lock,
            stage=stage,
            bypass=(
                f"this {entry_text} path calls it"
                if bypass.hops or bypass.caller != bypass.callee
                else f"it is scheduled here as {_article(entry.kind)} {entry.kind}"
            ),
        )

    def _display(self, path: str) -> str:
        """``path`` shown like this file's display path (relative to the same base)."""
        own_abs = os.path.abspath(self.ctx.path)
        own_display = self.ctx.display_path
        if os.path.isabs(own_display):
            return os.path.abspath(path).replace(os.sep, "/")
        depth = own_display.count("/")
        base = own_abs
        for _ in range(depth + 1):
            base = os.path.dirname(base)
        rel = os.path.relpath(os.path.abspath(path), base)
        if rel.startswith(".."):
            return os.path.abspath(path).replace(os.sep, "/")
        return rel.replace(os.sep, "/")


# ------------------------------------------------------------------------------
# The analysis (once per project index and options)
# ------------------------------------------------------------------------------


def analyse(project: ProjectIndex, options: Any) -> _Analysis:
    result = project.memo(("OPS401", options), lambda: _Analyser(project, options).run(), persist=True)
    assert isinstance(result, _Analysis)
    return result


class _Analyser(LockSites):
    def run(self) -> _Analysis:
        project = self.project
        entries = dict(project.entry_points(_schedules.SCHEDULED))
        for qualname, extra in extra_entries(project, project.facts(LockStageBypass.code)).items():
            entries[qualname] = [*entries.get(qualname, ()), *extra]
        imported = self._imported_modules() if self.options.main_scripts else set()
        entries = {
            k: [e for e in v if e.detail != "__main__" or (self.options.main_scripts and _module(k) not in imported)]
            for k, v in entries.items()
        }
        entries = {k: v for k, v in entries.items() if v}
        analysis = _Analysis()
        if not entries:
            return analysis
        # Call edges (callee -> [(caller, site)]), tests left out.
        callers: Dict[str, List[Tuple[str, CallSite]]] = {}
        for qualname, fn in self.functions.items():
            if qualname in self.tests:
                continue
            for site in fn.calls:
                target = project.target_of(site)
                if target is not None and target in self.functions and target not in self.tests:
                    callers.setdefault(target, []).append((qualname, site))
        held = self._held(callers, entries)

        def locked(caller: str, site: CallSite, target: str) -> Optional[Evidence]:
            evidence = self.direct(caller, site, target)
            if evidence is None and caller in held:
                return held[caller]
            return evidence

        # Functions reached from an entry point without a lock, with the path taken.
        reached: Dict[str, Tuple[Entry, Tuple[Tuple[str, CallSite, str, str], ...]]] = {}
        queue: List[str] = []
        for qualname, found in sorted(entries.items()):
            start = self.functions.get(qualname)
            if start is None or qualname in self.tests or self._lock_aware(start):
                continue
            reached[qualname] = (found[0], ())
            queue.append(qualname)
        while queue:
            current = queue.pop(0)
            entry, hops = reached[current]
            fn = self.functions[current]
            states = self.site_locks(fn)
            for site in fn.calls:
                target = project.target_of(site)
                if target is None or target in reached or target not in self.functions or target in self.tests:
                    continue
                if states[site.index] is not None or self._is_acquire_function(target):
                    continue
                if self._lock_aware(self.functions[target]):
                    continue
                reached[target] = (entry, (*hops, (self.paths[current], site, current, target)))
                queue.append(target)

        for target, sites in sorted(callers.items()):
            fn = self.functions[target]
            if self._is_acquire_function(target) or fn.kind in ("module", "main"):
                continue
            if self.locks_itself(fn):
                continue  # it takes its own lock (on its own resource): a caller's lock is not its guard
            if _schedules.RELEASE_NAME.match(fn.name) or _schedules.ACQUIRE_NAME.match(fn.name):
                continue
            if any(_schedules.last_name(d.name) in ("contextmanager", "asynccontextmanager") for d in fn.decorators):
                continue  # a resource helper (``with store.connect():``), not a stage
            if fn.name.startswith("__") and fn.name.endswith("__"):
                continue  # constructors and protocol methods run under whatever lock their caller holds
            locked_sites = []
            bypass_sites = []
            consistent = True
            for caller, site in sites:
                if caller == target:
                    continue  # recursion
                if _hands_lambda(self.functions[caller], target):
                    continue  # ``add_job(lambda: target(...))``: the call runs as the registered job
                evidence = locked(caller, site, target)
                if evidence is not None:
                    locked_sites.append((caller, site, evidence))
                elif caller in reached:
                    bypass_sites.append((caller, site))
                else:
                    consistent = False
                    break
            registrations = [
                e for e in entries.get(target, ()) if e.detail not in ("__main__",) and e.kind != "management command"
            ]
            if not consistent or not locked_sites or not (bypass_sites or registrations):
                continue
            # The lock guards the function's own subsystem: a lock of another
            # package that happens to wrap a helper call is not its guard.  A top-level
            # module (``app.py`` beside ``chalicelib/``) is the application's own front
            # and guards the packages it calls.
            family = _family(target, project)
            locked_sites = [item for item in locked_sites if _family(item[0], project) in (family, "")]
            if not locked_sites:
                continue
            locked_caller, locked_site, evidence = locked_sites[0]
            for entry in registrations:
                analysis.by_path.setdefault(entry.path, []).append(
                    _Bypass(
                        path=entry.path,
                        span=entry.span,
                        caller=target,
                        callee=target,
                        entry=entry,
                        hops=(),
                        locked_caller=locked_caller,
                        locked_path=self.paths[locked_caller],
                        locked_site=locked_site,
                        lock=evidence,
                        routable=self._routable(locked_caller, evidence),
                    )
                )
            for caller, site in bypass_sites:
                entry, hops = reached[caller]
                bypass = _Bypass(
                    path=self.paths[caller],
                    span=site.span,
                    caller=caller,
                    callee=target,
                    entry=entry,
                    hops=hops,
                    locked_caller=locked_caller,
                    locked_path=self.paths[locked_caller],
                    locked_site=locked_site,
                    lock=evidence,
                    routable=self._routable(locked_caller, evidence),
                )
                analysis.by_path.setdefault(self.paths[caller], []).append(bypass)
        return analysis

    def direct(self, caller: str, site: CallSite, target: str) -> Optional[Evidence]:
        """The lock ``caller`` holds at ``site`` when it guards the call (not only state of the caller's own)."""
        evidence = self.site_locks(self.functions[caller])[site.index]
        if evidence is not None and self.guards_other_state(evidence, site, self.functions[target]):
            return None
        return evidence

    def _lock_aware(self, fn: FunctionSummary) -> bool:
        """A function that takes a lock itself (for any of its calls) knows about locking:
        a scheduled path through it did not skip the stage (double-checked locking,
        ``if not ready(): with lock: ...``), so it is not followed."""
        return self._acquires_inside(fn)

    def _routable(self, stage: str, evidence: Evidence) -> bool:
        """A module-level function that takes the lock itself, with no framework decorator:
        a scheduled path can call it instead (a view, a GraphQL mutation or a method cannot)."""
        fn = self.functions.get(stage)
        return (
            fn is not None
            and fn.kind == "function"
            and fn.class_qualname is None
            and "<locals>" not in fn.qualname
            and evidence.holder == stage
            and not fn.decorators
        )

    def _imported_modules(self) -> Set[str]:
        """Modules some other module imports: their ``__main__`` block is a demo, not a batch script."""
        out: Set[str] = set()
        for module in self.project.modules.values():
            for target in module.aliases.values():
                found = self.project.summary(target)
                if found is None:
                    found = self.project.summary(target.rpartition(".")[0]) if "." in target else None
                if found is not None and found.name != module.name:
                    out.add(found.name)
        return out

    def _held(
        self, callers: Dict[str, List[Tuple[str, CallSite]]], entries: Dict[str, List[Entry]]
    ) -> Dict[str, Evidence]:
        """Functions every caller of which holds a lock (greatest fixpoint), with evidence."""
        held: Dict[str, Optional[Evidence]] = {}
        for qualname, fn in self.functions.items():
            decorated = self.lock_decorated(fn)
            if decorated is not None:
                held[qualname] = decorated
            elif callers.get(qualname) and qualname not in entries:
                held[qualname] = None  # candidate
        changed = True
        while changed:
            changed = False
            for qualname in list(held):
                if qualname not in held:
                    continue
                fn = self.functions[qualname]
                if self.lock_decorated(fn) is not None:
                    continue
                evidence: Optional[Evidence] = None
                ok = True
                for caller, site in callers.get(qualname, ()):
                    direct = self.direct(caller, site, qualname)
                    if direct is not None:
                        evidence = evidence or direct
                    elif caller in held and caller != qualname:
                        evidence = evidence or held[caller]
                    elif caller == qualname:
                        continue
                    else:
                        ok = False
                        break
                if not ok:
                    del held[qualname]
                    changed = True
                elif evidence is not None and held[qualname] is None:
                    held[qualname] = evidence
                    changed = True
        return {k: v for k, v in held.items() if v is not None}


def _hands_lambda(fn: FunctionSummary, target: str) -> bool:
    """Whether ``fn`` passes ``lambda ...: target(...)`` to a call (a scheduler's registration)."""
    wanted = f"lambda: {target}"
    return any(wanted in site.args or any(v == wanted for _, v in site.kwargs) for site in fn.calls)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _module(qualname: str) -> str:
    """``pkg.mod.<main>`` -> ``pkg.mod``."""
    return qualname.rpartition(".")[0]


def _family(qualname: str, project: ProjectIndex) -> str:
    """The top-level package a function belongs to; "" for the top-level modules of a flat
    layout (``api.py``, ``jobs.py``, ``inventory.py`` side by side are one application)."""
    head = qualname.split(".", 1)[0]
    summary = project.modules.get(head)
    return "" if summary is not None and not summary.is_package else head
