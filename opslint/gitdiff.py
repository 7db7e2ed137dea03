"""``--diff-from REV``: which lines changed since a git revision.

The whole project is analysed as usual (cross-file rules need it); only the
findings are filtered, to those that touch a line added or changed since
``REV`` (``git diff -U0 REV``: committed, staged and unstaged changes), plus
every line of files git does not track yet (not ignored).
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Dict, List, Optional, Sequence, Set, Tuple

from opslint.model import Finding

#: path (absolute) -> changed lines; None means every line (an untracked file).
Changes = Dict[str, Optional[Set[int]]]

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """git is missing, the folder is no repository, or REV is unknown (the CLI exits 2)."""


def _git(args: Sequence[str], cwd: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def changed_lines(rev: str, cwd: Optional[str] = None) -> Changes:
    here = os.path.abspath(cwd or os.getcwd())
    top = os.path.realpath(_git(["rev-parse", "--show-toplevel"], here).strip())
    _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top)
    diff = _git(["diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", rev, "--"], top)
    changes = parse_diff(diff, top)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    for name in untracked.split("\0"):
        if name:
            changes[os.path.normpath(os.path.join(top, name))] = None
    return changes


def parse_diff(text: str, root: str) -> Changes:
    """Added or changed lines (new side) per file of a ``git diff -U0``."""
    out: Changes = {}
    current: Optional[Set[int]] = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            name = _unquote(line[4:].rstrip("\t"))
            if name == "/dev/null":
                current = None
                continue
            if name.startswith("b/"):
                name = name[2:]
            current = set()
            out[os.path.normpath(os.path.join(root, name))] = current
            continue
        match = _HUNK.match(line)
        if match is not None and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or "1")
            current.update(range(start, start + count))
    return out


def _unquote(name: str) -> str:
    """git's C-style quoting of unusual paths (``"a\\tb.py"``)."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    raw = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1", "surrogateescape").decode("utf-8", "surrogateescape")


def filter_findings(
    findings: Sequence[Finding], changes: Changes, cwd: Optional[str] = None
) -> Tuple[List[Finding], int]:
    """The findings on changed lines, and how many were left out."""
    here = cwd or os.getcwd()
    kept: List[Finding] = []
    for f in findings:
        lines = changes.get(os.path.realpath(os.path.join(here, f.path)), set())
        if lines is None or any(n in lines for n in range(f.span.line, f.span.end_line + 1)):
            kept.append(f)
    return kept, len(findings) - len(kept)
