"""The fork pool: workers only where forking is safe."""

from __future__ import annotations

import os
import threading
from typing import List

from opslint import parallel


def _pid(_: int) -> int:
    return os.getpid()


def test_forks_from_a_single_threaded_process() -> None:
    pids = parallel.fork_map(_pid, list(range(8)), jobs=2, threshold=1, chunksize=1)
    assert os.getpid() not in pids


def test_no_fork_while_other_threads_run() -> None:
    """A fork copies the locks other threads hold; the language server's workers hung on
    them. With a thread running, the work is done in this process."""
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert not parallel.can_fork()
        pids: List[int] = parallel.fork_map(_pid, list(range(8)), jobs=2, threshold=1, chunksize=1)
        assert set(pids) == {os.getpid()}
    finally:
        release.set()
        worker.join()
