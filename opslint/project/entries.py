"""Entry points of a project: data given by a rule's table module, matched against summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import (
    Any,
    FrozenSet,
    Mapping,
    Optional,
    Tuple,
)

from opslint.model import Span


@dataclass(frozen=True)
class EntrySpec:
    """Which project constructs start functions without a caller in the project.

    Names are matched against resolved qualified names by their last dotted
    parts (``scheduled_job`` matches ``apscheduler...BackgroundScheduler.scheduled_job()``
    and ``scheduler.scheduled_job``).
    """

    #: decorator method/function name -> kind (``scheduled_job`` -> "APScheduler job").
    decorators: Mapping[str, str] = field(default_factory=dict)
    #: Decorators that need a qualified prefix (``airflow.decorators.task``) -> kind.
    qualified_decorators: Mapping[str, str] = field(default_factory=dict)
    #: Decorator keyword arguments that make any decorated function scheduled
    #: (``@dramatiq.actor(periodic=cron(...))``) -> kind.
    decorator_keywords: Mapping[str, str] = field(default_factory=dict)
    #: Registration call (method) name -> (kind, positional index of the callable, keyword of the callable).
    register_calls: Mapping[str, Tuple[str, int, str]] = field(default_factory=dict)
    #: Registration names that only count when the callee contains this text
    #: (``do`` only in ``schedule.every(...).do``).
    register_requires: Mapping[str, str] = field(default_factory=dict)
    #: Calls whose keyword argument holds the callable (``PythonOperator(python_callable=f)``) -> kind.
    callable_keywords: Mapping[str, Tuple[str, str]] = field(default_factory=dict)
    #: Assignment targets (last part) whose strings name tasks by dotted path -> (kind, dict key or "").
    schedule_assignments: Mapping[str, Tuple[str, str]] = field(default_factory=dict)
    #: Base classes of Django-style management commands (their ``handle`` is an entry).
    command_bases: FrozenSet[str] = frozenset()
    #: Kind of ``if __name__ == "__main__":`` blocks ("" to ignore them).
    main_kind: str = ""


@dataclass(frozen=True)
class Entry:
    function: str
    kind: str
    path: str
    span: Span
    detail: str = ""


def _suffix_match(name: str, table: Mapping[str, Any]) -> Optional[str]:
    base = name.replace("()", "") if "()" in name else name
    dot = base.rfind(".")
    if dot >= 0:
        two = base[base.rfind(".", 0, dot) + 1 :]
        if two in table:
            return two
    last = base[dot + 1 :]
    return last if last in table else None
