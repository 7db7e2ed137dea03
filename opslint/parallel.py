"""One fork pool for the whole engine (linting files, summarising modules).

Workers are forked, so they inherit the parent's state (loaded rules, the project
index, settings) without pickling it, and start without re-importing LibCST; where
fork is not available or unsafe (other threads running), or the caller is itself a pool
worker (flake8 ``-j``), or
there is too little work to pay for a pool, the work runs in this process.

Memory: what Python frees in big blocks (source texts, token lists, large dicts) stays
with glibc's allocator unless given back.  Workers hand it back every few items, and the
parent before it forks (``release_memory``): an index built in-process went from 102 to
62 MB.  A process's peak is still set by what it holds at once (the index it inherits,
the tree of the largest file it parses).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import sys
import threading
from typing import Any, Callable, Iterable, List, Optional, Sequence, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


#: Items a worker handles between two returns of memory to the system (a return costs
#: about 2 ms on a 300 MB heap).
TRIM_EVERY = 8


def _malloc_trim() -> Optional[Callable[[int], int]]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return trim


_TRIM = _malloc_trim()


def release_memory(collect: bool = False) -> None:
    """Give the system back the memory this process has freed (glibc only; elsewhere
    nothing).  ``collect`` first frees unreachable cycles (a full collection: for
    once-per-run moments such as before forking, not per item)."""
    if collect:
        gc.collect()
    if _TRIM is not None:
        _TRIM(0)


#: The function of the running ``fork_map``, set before forking (workers inherit it).
_FUNC: List[Callable[[Any], Any]] = []
_DONE = [0]


def _work(item: Any) -> Any:
    result = _FUNC[0](item)
    _DONE[0] += 1
    if _DONE[0] % TRIM_EVERY == 0:
        release_memory()
    return result


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
        for done, item in enumerate(items, 1):
            out.append(func(item))
            if on_result is not None:
                on_result(out[-1])
            if done % TRIM_EVERY == 0:
                release_memory()
        return out
    context = multiprocessing.get_context("fork")
    release_memory(collect=True)
    _FUNC[:] = [func]
    try:
        with context.Pool(count) as pool:
            results: Iterable[_R] = (
                pool.imap(_work, items, chunksize=chunksize)
                if ordered
                else pool.imap_unordered(_work, items, chunksize=chunksize)
            )
            for result in results:
                out.append(result)
                if on_result is not None:
                    on_result(result)
            return out
    finally:
        _FUNC.clear()
