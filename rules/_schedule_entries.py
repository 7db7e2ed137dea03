"""Scheduled entry points beyond what the engine's ``EntrySpec`` expresses (for OPS401).

The engine matches decorators, registration calls and settings by name
(``_schedules.SCHEDULED``).  Some schedulers need a little more:

* a decorator that schedules only on an instance of a known class
  (Flask-APScheduler ``@scheduler.task("cron", ...)``; Celery's ``@app.task`` schedules nothing);
* a method that schedules its receiver when given a schedule keyword
  (Prefect ``flow.serve(cron=...)``, ``flow.deploy(...)``);
* ``functools.partial(f, ...)`` handed to a scheduler (``add_job(partial(f, x), "interval")``);
* jobs listed in a class attribute (arq ``WorkerSettings.cron_jobs = [cron(f, ...)]``), read
  from the module's syntax as project facts (the index does not summarise class bodies).

Knowledge is in ``_schedules.py``; the facts are plain dataclasses (cached as JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import libcst as cst

from opslint.model import Span
from opslint.project import Entry, FunctionSummary, ProjectIndex
from opslint.rules import _schedules
from opslint.syntax.names import dotted_name


@dataclass(frozen=True)
class ClassSchedule:
    """Jobs listed in a class (or module) attribute: the kind and the callables as written."""

    kind: str
    refs: Tuple[str, ...]


@dataclass(frozen=True)
class ScheduleFacts:
    jobs: Tuple[ClassSchedule, ...] = ()


def schedule_facts(module: cst.Module) -> Optional[ScheduleFacts]:
    """``cron_jobs = [cron(f, hour=3), cron("pkg.mod.g")]`` in a class body or at module level."""
    jobs: List[ClassSchedule] = []
    bodies: List[cst.BaseSuite] = []
    statements: List[cst.BaseStatement] = list(module.body)
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef):
            bodies.append(stmt.body)
    for body in bodies:
        if isinstance(body, cst.IndentedBlock):
            statements.extend(body.body)
    for line in statements:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            target = small.targets[0].target if isinstance(small, cst.Assign) and len(small.targets) == 1 else None
            if isinstance(small, cst.AnnAssign):
                target = small.target
            value = getattr(small, "value", None)
            if not isinstance(target, cst.Name) or target.value not in _schedules.CLASS_SCHEDULES:
                continue
            kind, wrapper = _schedules.CLASS_SCHEDULES[target.value]
            refs = _job_refs(value, wrapper)
            if refs:
                jobs.append(ClassSchedule(kind, refs))
    return ScheduleFacts(tuple(jobs)) if jobs else None


def _job_refs(value: Optional[cst.BaseExpression], wrapper: str) -> Tuple[str, ...]:
    if not isinstance(value, (cst.List, cst.Tuple)):
        return ()
    refs: List[str] = []
    for element in value.elements:
        call = element.value
        if not isinstance(call, cst.Call) or (dotted_name(call.func) or "").rsplit(".", 1)[-1] != wrapper:
            continue
        first = next((a.value for a in call.args if a.keyword is None), None)
        if first is None:
            continue
        if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
            refs.append(repr(first.evaluated_value))
        else:
            name = dotted_name(first)
            if name is not None:
                refs.append(name)
    return tuple(refs)


def extra_entries(project: ProjectIndex, facts: Mapping[str, Any]) -> Dict[str, List[Entry]]:
    """Function qualname -> the entries (of the kinds above) that start it."""
    out: Dict[str, List[Entry]] = {}

    def add(fn: Optional[str], kind: str, path: str, span: Span, detail: str) -> None:
        if fn is not None:
            out.setdefault(fn, []).append(Entry(fn, kind, path, span, detail))

    for module in project.modules.values():
        for fn in module.functions.values():
            for dec in fn.decorators:
                # ``jobs.scheduler.task`` (a module variable), or ``rocketry.Rocketry().task`` when
                # the index already put the variable's type in its place.
                head, _, attr = dec.name.rpartition(".")
                typed = head[:-2] if head.endswith("()") else _type_of(project, head.replace("()", ""))
                kinds = _schedules.TYPED_DECORATORS.get(typed or "", {})
                if attr in kinds:
                    add(fn.qualname, kinds[attr], module.path, dec.span, dec.name)
            for site in fn.calls:
                last = _schedules.last_name(site.callee)
                if last in _schedules.RECEIVER_SCHEDULES and any(
                    k in _schedules.SCHEDULE_KEYWORDS for k, _ in site.kwargs
                ):
                    receiver = site.callee[: -len(last) - 1] if site.callee.endswith("." + last) else ""
                    add(_function(project, receiver), _schedules.RECEIVER_SCHEDULES[last], module.path, site.span, last)
                kind = _schedules.PARTIAL_REGISTRATIONS.get(last)
                partial = _partial_target(project, fn, site.index) if kind is not None else None
                if kind is not None and partial is not None and (last != "do" or "every" in site.callee):
                    add(partial[0], kind, module.path, partial[1], last)
    for name, found in facts.items():
        if not isinstance(found, ScheduleFacts):
            continue
        for job in found.jobs:
            for ref in job.refs:
                if ref[:1] in "'\"":
                    target = project.function_by_path(ref[1:-1].replace(":", "."))
                else:
                    resolved = project.resolve(name, ref)
                    target = _function(project, resolved) if resolved is not None else None
                summary = project.function(target) if target is not None else None
                if summary is not None:
                    add(summary.qualname, job.kind, project.path_of(summary.qualname) or "", summary.span, ref)
    return out


def _function(project: ProjectIndex, qualname: str) -> Optional[str]:
    if not qualname or "()" in qualname:
        return None
    fn = project.function(project.canonical(qualname))
    return fn.qualname if fn is not None else None


def _type_of(project: ProjectIndex, qualname: str) -> Optional[str]:
    """The class a module-level variable was built from (``feeds.scheduler`` -> ``flask_apscheduler.APScheduler``)."""
    if not qualname:
        return None
    if qualname.endswith("()"):
        return qualname[:-2]
    return project.built_by(qualname)


def _partial_target(project: ProjectIndex, fn: FunctionSummary, index: int) -> Optional[Tuple[Optional[str], Span]]:
    """``add_job(partial(f, x), ...)``: the function of the ``partial`` call just before the
    registration, and where that call is."""
    site = fn.calls[index]
    refs = [*site.args[:1], *(v for k, v in site.kwargs if k in ("func", "job_func", "func_or_task_id"))]
    if not any(r.replace("()", "").rsplit(".", 1)[-1] == "partial" for r in refs):
        return None
    for earlier in reversed(fn.calls[:index]):
        if earlier.callee in _schedules.PARTIAL_CALLS or earlier.callee.endswith(".partial"):
            return (_function(project, earlier.args[0]) if earlier.args else None), earlier.span
    return None
