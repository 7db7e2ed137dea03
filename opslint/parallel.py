"""One fork pool for the whole engine (linting files, summarising modules).

Workers are forked, so they inherit the parent's state (loaded rules, the project
index, settings) without pickling it, and start without re-importing LibCST; where
fork is not available or unsafe (other threads running), or the caller is itself a pool
worker (flake8 ``-j``), or
there is too little work to pay for a pool, the work runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Callable, Iterable, List, Optional, Sequence, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def workers(jobs: int) -> int:
    """The number of workers for ``jobs`` (0: one per core)."""
    return jobs if jobs > 0 else (os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether forking workers is possible and safe here.

    Not from a process running other threads (the language server: pygls and
    ``asyncio.to_thread``): a fork copies the locks those threads hold, and the
    children wait on them forever (the server's index build on Django hung in
    two forked workers); such a process does the work itself.
    """
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
        and threading.active_count() == 1
    )


def fork_map(
    func: Callable[[_T], _R],
    items: Sequence[_T],
    *,
    jobs: int,
    threshold: int,
    chunksize: int = 4,
    ordered: bool = True,
    on_result: Optional[Callable[[_R], None]] = None,
) -> List[_R]:
    """``[func(item) for item in items]``, in forked workers when there are at least
    ``threshold`` items, more than one worker and fork is possible.

    ``ordered=False`` returns results as workers finish them (callers that sort
    afterwards, with the largest items handed out first).  ``func`` must be a
    module-level function: it reaches its context through module state set before
    the call, which the workers inherit.  ``on_result`` is called in this process
    with each result as it arrives (a progress bar).
    """
    count = workers(jobs)
    out: List[_R] = []
    if count <= 1 or len(items) < threshold or not can_fork():
        for item in items:
            out.append(func(item))
            if on_result is not None:
                on_result(out[-1])
        return out
    context = multiprocessing.get_context("fork")
    with context.Pool(count) as pool:
        results: Iterable[_R] = (
            pool.imap(func, items, chunksize=chunksize)
            if ordered
            else pool.imap_unordered(func, items, chunksize=chunksize)
        )
        for result in results:
            out.append(result)
            if on_result is not None:
                on_result(result)
        return out
