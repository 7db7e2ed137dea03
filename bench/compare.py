"""Time opslint against peers on a corpus, paired run by run, and print ratios.

Each timed call alternates opslint (A) with a peer (B) on the same corpus, so
both run under the same load; the ratio reported is the median of the per-pair
A/B ratios (CPU = user+sys of the child processes).  Never used as a test
assertion: speed is reported, not asserted.

    python bench/compare.py /path/to/corpus --runs 5
    python bench/compare.py --stdlib --runs 5 -- --select OPS5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from typing import List, Sequence, Tuple


def timed(cmd: Sequence[str]) -> Tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def count_files(corpus: str) -> int:
    """Python files outside ``site-packages`` (which both tools exclude by default)."""
    count = 0
    for _, dirs, names in os.walk(corpus):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "__pycache__")]
        count += sum(1 for name in names if name.endswith(".py"))
    return count


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", help="directory to lint")
    parser.add_argument("--stdlib", action="store_true", help="lint this Python's standard library")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=0, help="opslint -j (0 = one per core)")
    # Everything after "--" goes to opslint check (argparse would eat options there).
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    args = parser.parse_args(own)
    args.extra = extra
    corpus = sysconfig.get_paths()["stdlib"] if args.stdlib else args.corpus
    if not corpus:
        parser.error("give a corpus directory or --stdlib")
    ruff = shutil.which("ruff")
    # --no-cache like ruff's, so both do the whole work every run.
    opslint = [sys.executable, "-m", "opslint", "check", "--isolated", "--no-cache", "--output-format", "concise"]
    opslint.append("--exit-zero")
    if args.jobs:
        opslint += ["-j", str(args.jobs)]
    a_cmd = opslint + list(args.extra) + [corpus]
    peers = {}
    if ruff:
        peers["ruff --select S113"] = [
            ruff,
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "S113",
            "--exit-zero",
            corpus,
        ]
    files = count_files(corpus)
    print(
        f"corpus: {corpus} ({files} .py files outside site-packages); {os.cpu_count()} cores; {args.runs} paired runs"
    )
    print(f"opslint: {' '.join(a_cmd[1:])}")
    a_runs: List[Tuple[float, float]] = []
    results = {}
    for name, b_cmd in peers.items():
        b_runs: List[Tuple[float, float]] = []
        for _ in range(args.runs):
            a_runs.append(timed(a_cmd))
            b_runs.append(timed(b_cmd))
        pairs = list(zip(a_runs[-args.runs :], b_runs))
        results[name] = (
            b_runs,
            statistics.median(a[1] / max(b[1], 1e-9) for a, b in pairs),
            statistics.median(a[0] / max(b[0], 1e-9) for a, b in pairs),
        )
    if not peers:
        a_runs = [timed(a_cmd) for _ in range(args.runs)]
    print()
    print("| tool | median wall s | median CPU s | ratio opslint/peer (CPU / wall) |")
    print("|---|---|---|---|")
    print(
        f"| opslint | {statistics.median(w for w, _ in a_runs):.2f} | {statistics.median(c for _, c in a_runs):.2f} | |"
    )
    for name, (b_runs, cpu_ratio, wall_ratio) in results.items():
        print(
            f"| {name} | {statistics.median(w for w, _ in b_runs):.2f} | "
            f"{statistics.median(c for _, c in b_runs):.2f} | {cpu_ratio:.1f} / {wall_ratio:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
