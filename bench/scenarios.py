"""The six speed scenarios of issue 9, each timed against a peer in the same run.

    python bench/scenarios.py                 # all scenarios, 5 runs each
    python bench/scenarios.py --runs 3 --only edit,cold-file
    python bench/scenarios.py --django /path/to/Django-5.1.4

Prints one table of medians and ratios (CPU = user+sys of the child processes, and
wall).  Each timed opslint run is paired with the peer run right after it, so both
meet the same machine load; the ratio is the median of the per-pair ratios.  Never
used by tests: speed is reported, not asserted.

Scenarios (Django 5.1.4's source is downloaded into ``bench/.cache`` when absent):
  edit        one file in Django edited (a comment line added), warm cache, as
              pre-commit runs it   vs  flake8 (default plugins) on that file
  edit-quiet  the same for a file that holds no rule's trigger word   vs  flake8
  cold-file   one file in Django, no cache at all                     vs  flake8
  lsp         the language server on Django: diagnostics after a didChange to a
              1,000-line file, the project loaded (milliseconds, no peer)
  stdlib      the standard library, default rules, no cache           vs  ruff --select S113
  stdlib-warm the same with a warm cache, nothing changed             vs  ruff --select S113
  memory      peak RSS of the largest process: stdlib and site-packages, every rule on
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
EDIT_FILE = "django/db/models/query.py"
LSP_FILE = "django/db/models/sql/compiler.py"  # about 2,100 lines; trimmed to 1,000 below


def timed(cmd: Sequence[str], cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> Tuple[float, float]:
    """(wall s, CPU s of the child and its descendants) for one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peak_rss_mb(cmd: Sequence[str], cwd: Optional[str] = None) -> float:
    """Peak RSS of the largest process of ``cmd``'s tree (a fresh helper process measures it)."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, capture_output=True, text=True, check=False)
    return int(out.stdout.strip() or 0) / 1024


# -- corpora and tools ----------------------------------------------------------------------


def django_source(given: Optional[str]) -> Path:
    if given:
        return Path(given)
    target = CACHE / "Django-5.1.4"
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    download = CACHE / "download"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "django==5.1.4",
            "-d",
            str(download),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (archive,) = download.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE)  # noqa: S202 - a package we just downloaded from PyPI
    return target


def peer_tools() -> Dict[str, str]:
    """flake8 and ruff in a venv of their own (flake8 must run without the opslint plugin)."""
    venv = CACHE / "peers"
    bindir = venv / "bin"
    if not (bindir / "flake8").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(bindir / "pip"), "install", "-q", "flake8", "ruff"], check=True)
    return {"flake8": str(bindir / "flake8"), "ruff": str(bindir / "ruff")}


def opslint_cmd(*args: str) -> List[str]:
    return [sys.executable, "-m", "opslint", "check", *args]


def scratch_copy(src: Path, name: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix=f"opslint-bench-{name}-"))
    shutil.copytree(src, target / "src", symlinks=True)
    return target / "src"


# -- pairing -----------------------------------------------------------------------------------

Row = Tuple[str, float, float, str, float, float, float, float]


def paired(
    name: str,
    runs: int,
    ours: Callable[[int], Tuple[float, float]],
    peer_name: str,
    theirs: Callable[[], Tuple[float, float]],
) -> Row:
    a: List[Tuple[float, float]] = []
    b: List[Tuple[float, float]] = []
    for i in range(runs):
        a.append(ours(i))
        b.append(theirs())
    cpu_ratio = statistics.median(x[1] / max(y[1], 1e-9) for x, y in zip(a, b))
    wall_ratio = statistics.median(x[0] / max(y[0], 1e-9) for x, y in zip(a, b))
    return (
        name,
        statistics.median(w for w, _ in a),
        statistics.median(c for _, c in a),
        peer_name,
        statistics.median(w for w, _ in b),
        statistics.median(c for _, c in b),
        cpu_ratio,
        wall_ratio,
    )


def quiet_file(root: Path) -> str:
    """A Django module (over 300 lines) that holds no enabled rule's trigger token."""
    from opslint.config import Settings
    from opslint.engine import Linter

    linter = Linter()
    settings = Settings(root=str(root))
    rules = linter.registry.enabled_rules(settings)
    for path in sorted((root / "django").rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.count("\n") > 300 and not linter.prefilter(rules, text, settings):
            return str(path.relative_to(root))
    raise SystemExit("no quiet file found")


# -- scenarios ---------------------------------------------------------------------------------


def scenario_edit(django: Path, tools: Dict[str, str], runs: int, target: str, label: str) -> Row:
    root = scratch_copy(django, "edit")
    path = root / target
    original = path.read_text(encoding="utf-8")
    subprocess.run(opslint_cmd(target), cwd=root, stdout=subprocess.DEVNULL, check=False)  # fill the cache

    def ours(i: int) -> Tuple[float, float]:
        path.write_text(original + f"# edited {i} {time.time()}\n", encoding="utf-8")
        return timed(opslint_cmd(target), cwd=str(root))

    row = paired(label, runs, ours, "flake8", lambda: timed([tools["flake8"], "--isolated", target], cwd=str(root)))
    shutil.rmtree(root.parent, ignore_errors=True)
    return row


def scenario_cold_file(django: Path, tools: Dict[str, str], runs: int) -> Row:
    root = scratch_copy(django, "cold")

    def ours(i: int) -> Tuple[float, float]:
        shutil.rmtree(root / ".opslint_cache", ignore_errors=True)
        return timed(opslint_cmd("--no-cache", EDIT_FILE), cwd=str(root))

    row = paired(
        "cold-file", runs, ours, "flake8", lambda: timed([tools["flake8"], "--isolated", EDIT_FILE], cwd=str(root))
    )
    shutil.rmtree(root.parent, ignore_errors=True)
    return row


def scenario_stdlib(tools: Dict[str, str], runs: int, warm: bool) -> Row:
    stdlib = sysconfig.get_paths()["stdlib"]
    cache = tempfile.mkdtemp(prefix="opslint-bench-cache-")
    args = ["--isolated", "--exit-zero", "--output-format", "concise"]
    args += ["--cache-dir", cache] if warm else ["--no-cache"]
    if warm:
        subprocess.run(opslint_cmd(*args, stdlib), stdout=subprocess.DEVNULL, check=False)
    ruff = [tools["ruff"], "check", "--isolated", "--no-cache", "--select", "S113", "--exit-zero", stdlib]
    row = paired(
        "stdlib-warm" if warm else "stdlib",
        runs,
        lambda i: timed(opslint_cmd(*args, stdlib)),
        "ruff S113",
        lambda: timed(ruff),
    )
    shutil.rmtree(cache, ignore_errors=True)
    return row


def scenario_lsp(django: Path, runs: int) -> Optional[float]:
    """Median milliseconds from a didChange to its diagnostics, after the project is loaded."""
    root = scratch_copy(django, "lsp")
    path = root / LSP_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[:1000]
    text = "".join(lines)
    path.write_text(text, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opslint", "server"], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    seq = [0]

    def send(method: str, params: object, request: bool = False) -> None:
        message: Dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            seq[0] += 1
            message["id"] = seq[0]
        body = json.dumps(message).encode()
        proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    def receive() -> Dict[str, object]:
        length = 0
        while True:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line.strip():
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        data: Dict[str, object] = json.loads(proc.stdout.read(length))  # type: ignore[union-attr]
        return data

    def wait_diagnostics() -> None:
        while True:
            message = receive()
            if message.get("method") == "textDocument/publishDiagnostics":
                return

    uri = path.as_uri()
    send("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {}}, request=True)
    while "id" not in receive():
        pass
    send("initialized", {})
    send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    wait_diagnostics()  # the project index is loaded now
    times: List[float] = []
    for i in range(runs + 1):
        edited = text + f"# edit {i}\n"
        start = time.perf_counter()
        send(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [{"text": edited}]},
        )
        wait_diagnostics()
        if i:  # the first change warms caches of the server
            times.append((time.perf_counter() - start) * 1000)
    send("shutdown", None, request=True)
    send("exit", None)
    proc.wait(timeout=30)
    shutil.rmtree(root.parent, ignore_errors=True)
    return statistics.median(times) if times else None


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--django", help="an unpacked Django 5.1.4 source tree (default: downloaded into bench/.cache)")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args(argv)
    # Installed tools run from their bytecode caches; an environment that forbids writing
    # them would charge every run (of opslint and of its peers) a compile of every module.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    only = {s for s in args.only.split(",") if s}
    want = lambda name: not only or name in only  # noqa: E731
    tools = peer_tools()
    django = django_source(args.django)
    rows: List[Row] = []
    notes: List[str] = []
    if want("edit"):
        rows.append(scenario_edit(django, tools, args.runs, EDIT_FILE, "edit"))
    if want("edit-quiet"):
        quiet = quiet_file(django)
        notes.append(f"edit-quiet file: {quiet}")
        rows.append(scenario_edit(django, tools, args.runs, quiet, "edit-quiet"))
    if want("cold-file"):
        rows.append(scenario_cold_file(django, tools, args.runs))
    if want("stdlib"):
        rows.append(scenario_stdlib(tools, max(1, args.runs // 2), warm=False))
    if want("stdlib-warm"):
        rows.append(scenario_stdlib(tools, args.runs, warm=True))
    lsp = scenario_lsp(django, args.runs) if want("lsp") else None
    print(
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; medians of paired runs"
    )
    print()
    print("| scenario | opslint wall s | opslint CPU s | peer | peer wall s | peer CPU s | ratio CPU / wall |")
    print("|---|---|---|---|---|---|---|")
    for name, wall, cpu, peer, pwall, pcpu, rcpu, rwall in rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {peer} | {pwall:.2f} | {pcpu:.2f} | {rcpu:.1f} / {rwall:.1f} |")
    if lsp is not None:
        print(f"| lsp didChange -> diagnostics (1,000 lines) | {lsp / 1000:.3f} | | | | | |")
    if want("memory"):
        stdlib = sysconfig.get_paths()["stdlib"]
        site = sysconfig.get_paths()["purelib"]
        every = ["--isolated", "--no-cache", "--exit-zero", "--select", "ALL", "--extend-select", "OPS104"]
        for label, corpus in (("stdlib", stdlib), ("site-packages", site)):
            mb = peak_rss_mb(opslint_cmd(*every, "--output-format", "concise", corpus))
            print(f"| memory: {label}, every rule | peak RSS {mb:.0f} MB | | | | | |")
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
