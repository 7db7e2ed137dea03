"""Run opslint over the standard library plus a whole site-packages (issue 7's proof).

    python bench/corpus.py [--stdlib DIR] [--site-packages DIR] [--jobs N] [--no-fix]

Reports, for default rules + OPS401: the OPS002 count (rule crashes: must be 0),
OPS001/OPS003 counts, wall time and the peak RSS of every process of the run
(/proc polled every 0.1 s, plus ``getrusage(RUSAGE_CHILDREN)``); then runs
``--fix --unsafe-fixes`` on a copy and checks that every file that compiled
still compiles and that a second run has nothing left to fix.  Exit 1 when a
check fails (OPS002 > 0, a process above ``--max-rss-mb``, a broken or
unconverged fix).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from collections import Counter
from typing import Dict, List, Tuple

DEFAULT_STDLIB = "/work/corpus/stdlib" if os.path.isdir("/work/corpus/stdlib") else sysconfig.get_paths()["stdlib"]
#: Replace the default excludes (they name site-packages and venv folders).
BASE = ["-m", "opslint", "check", "--isolated", "--no-cache", "--exclude", "__none__", "--no-respect-gitignore"]
RULES = ["--extend-select", "OPS401"]


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> List[int]:
    out: List[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                out.extend(int(p) for p in handle.read().split())
    except OSError:
        pass
    return out


def run(args: List[str]) -> Tuple[subprocess.CompletedProcess[str], float, Dict[int, int]]:
    """Run ``python args``; (result, wall seconds, peak RSS in kB per pid of the tree)."""
    peaks: Dict[int, int] = {}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            todo, seen = [proc.pid], set()
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                peaks[pid] = max(peaks.get(pid, 0), _rss_kb(pid))
                todo.extend(_children(pid))
            time.sleep(0.1)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    done.set()
    watcher.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), time.monotonic() - start, peaks


def compiles(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, path, "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - any failure means "does not compile"
        return False
    return True


def python_files(root: str) -> List[str]:
    return sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names if f.endswith((".py", ".pyi")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stdlib", default=DEFAULT_STDLIB)
    parser.add_argument("--site-packages", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--max-rss-mb", type=int, default=500)
    parser.add_argument("--no-fix", action="store_true", help="skip the --fix phase")
    options = parser.parse_args()
    roots = [options.stdlib, options.site_packages]
    jobs = ["-j", str(options.jobs)] if options.jobs else []
    files = sum(len(python_files(r)) for r in roots)
    print(f"corpus: {files} files in {', '.join(roots)}")

    result, wall, peaks = run([*BASE, *RULES, *jobs, "--output-format", "json", "--exit-zero", *roots])
    ok = True
    if result.returncode != 0:
        print(f"opslint exited {result.returncode}: {result.stderr[-2000:]}")
        return 1
    findings = json.loads(result.stdout)
    codes = Counter(f["code"] for f in findings)
    biggest = max(peaks.values(), default=0) / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"lint: {wall:.1f} s wall, {len(findings)} findings, OPS002={codes['OPS002']} OPS001={codes['OPS001']} OPS003={codes['OPS003']}"
    )
    print(
        f"peak RSS: largest process {biggest:.0f} MB over {len(peaks)} processes (getrusage children: {child:.0f} MB)"
    )
    for finding in [f for f in findings if f["code"] == "OPS002"][:10]:
        print(f"  OPS002 {finding['path']}: {finding['message'][:200]}")
    if codes["OPS002"] or biggest > options.max_rss_mb:
        ok = False
    if options.no_fix:
        return 0 if ok else 1

    with tempfile.TemporaryDirectory(prefix="opslint-corpus-") as tmp:
        copies = []
        for index, root in enumerate(roots):
            target = os.path.join(tmp, f"{index}-{os.path.basename(root.rstrip('/'))}")
            shutil.copytree(root, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            copies.append(target)
        before = {p for c in copies for p in python_files(c) if compiles(p)}
        fixed, wall, _ = run(
            [*BASE, *RULES, *jobs, "--fix", "--unsafe-fixes", "--output-format", "concise", "--exit-zero", *copies]
        )
        summary = [line for line in fixed.stdout.splitlines() if line.startswith(("Found", "All checks"))]
        print(f"fix: {wall:.1f} s wall, exit {fixed.returncode}; {summary[-1] if summary else ''}")
        if fixed.returncode != 0:
            print(fixed.stderr[-2000:])
            ok = False
        broken = sorted(p for p in before if not compiles(p))
        print(f"after --fix: {len(before) - len(broken)}/{len(before)} files that compiled still compile")
        for path in broken[:10]:
            print(f"  broken: {path}")
        again, wall, _ = run([*BASE, *RULES, *jobs, "--diff", "--unsafe-fixes", *copies])
        left = again.stdout.count("\n+++ ")
        print(
            f"second --fix: {'nothing left to fix' if again.returncode == 0 else f'{left} files would still change'} ({wall:.1f} s)"
        )
        if broken or again.returncode != 0:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
