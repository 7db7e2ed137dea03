"""Baseline files: start from zero on a code base with findings.

``opslint check --write-baseline FILE`` records the current findings, keyed by
rule code, path (relative to the baseline file's folder) and the normalised
source line of the finding (whitespace collapsed), with a count for identical
keys: never by line number, so moving code or adding lines above keeps a
finding baselined.  ``--baseline FILE`` reports only findings beyond those
counts; ``--update-baseline`` rewrites the file with the counts that still
occur, so it only ever shrinks (new findings are never added to it).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from opslint import source
from opslint.model import Finding

VERSION = 1

Key = Tuple[str, str, str]


class BaselineError(Exception):
    """A baseline file that cannot be read (the CLI exits 2)."""


def snippet(line_text: str) -> str:
    return " ".join(line_text.split())


@dataclass
class Filtered:
    #: Findings not in the baseline.
    new: List[Finding] = field(default_factory=list)
    #: How many findings the baseline accounted for.
    baselined: int = 0
    #: The baseline's entries that were met in this run, with the counts met.
    matched: Counter[Key] = field(default_factory=Counter)


class Keyer:
    """Computes baseline keys, reading each file once."""

    def __init__(self, root: str, cwd: Optional[str] = None, sources: Optional[Mapping[str, str]] = None) -> None:
        self.root = os.path.abspath(root)
        self.cwd = cwd or os.getcwd()
        self._lines: Dict[str, Optional[source.LineIndex]] = {}
        for path, text in (sources or {}).items():
            self._lines[path] = source.LineIndex(text)

    def key(self, f: Finding) -> Key:
        absolute = os.path.normpath(os.path.join(self.cwd, f.path))
        rel = os.path.relpath(absolute, self.root).replace(os.sep, "/")
        return (rel, f.code, snippet(self._line(f.path, f.span.line)))

    def _line(self, path: str, line: int) -> str:
        if path not in self._lines:
            try:
                self._lines[path] = source.LineIndex(source.read(os.path.join(self.cwd, path)).text)
            except source.SourceError:
                self._lines[path] = None
        index = self._lines[path]
        return index.line_text(line) if index is not None else ""


def keys(findings: Sequence[Finding], keyer: Keyer) -> Counter[Key]:
    return Counter(keyer.key(f) for f in findings)


def write(path: str, findings: Sequence[Finding], cwd: Optional[str] = None) -> int:
    """Record ``findings``; returns how many were recorded."""
    counts = keys(findings, Keyer(os.path.dirname(os.path.abspath(path)), cwd))
    _dump(path, counts)
    return sum(counts.values())


def load(path: str) -> Counter[Key]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("findings"), list):
        raise BaselineError(f"baseline {path}: not an opslint baseline (version {VERSION})")
    counts: Counter[Key] = Counter()
    for entry in data["findings"]:
        try:
            key = (str(entry["path"]), str(entry["code"]), str(entry["snippet"]))
            counts[key] += int(entry.get("count", 1))
        except (KeyError, TypeError, ValueError):
            raise BaselineError(f"baseline {path}: malformed entry {entry!r}") from None
    return counts


def apply(path: str, findings: Sequence[Finding], cwd: Optional[str] = None) -> Filtered:
    """Split ``findings`` into new ones and those the baseline at ``path`` accounts for."""
    remaining = load(path)
    keyer = Keyer(os.path.dirname(os.path.abspath(path)), cwd)
    out = Filtered()
    for f in sorted(findings, key=Finding.sort_key):
        key = keyer.key(f)
        if remaining[key] > 0:
            remaining[key] -= 1
            out.baselined += 1
            out.matched[key] += 1
        else:
            out.new.append(f)
    return out


def shrink(path: str, matched: Counter[Key]) -> int:
    """Rewrite the baseline with only what was met; returns how many findings were dropped."""
    before = load(path)
    after = Counter({key: min(count, matched[key]) for key, count in before.items() if matched[key] > 0})
    dropped = sum(before.values()) - sum(after.values())
    if dropped:
        _dump(path, after)
    return dropped


def _dump(path: str, counts: Counter[Key]) -> None:
    entries: List[Dict[str, Any]] = [
        {"path": p, "code": c, "snippet": s, "count": n} for (p, c, s), n in sorted(counts.items()) if n > 0
    ]
    data = {"version": VERSION, "tool": "opslint", "findings": entries}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if os.path.exists(path):
        source.write_atomic(path, text.encode("utf-8"))
    else:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
