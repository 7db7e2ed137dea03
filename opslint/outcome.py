"""What a run produced, per file: plain data the reporters and the CLI read.

Its own module (no LibCST, no rules) so that a run that parses nothing
(``opslint.screen``) builds the same result as one that lints (``opslint.runner``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional, Protocol

from opslint.model import Finding


@dataclass(frozen=True)
class RunOptions:
    fix: bool = False
    unsafe_fixes: Optional[bool] = None
    diff: bool = False
    jobs: int = 0
    strict: bool = False
    #: Directory of the content-hash cache (None: no cache).  Fixing bypasses it.
    cache_dir: Optional[str] = None


#: ``FileOutcome.status`` values.
CHECKED, SKIPPED, UNREADABLE, CACHED = "checked", "skipped", "unreadable", "cached"


@dataclass
class FileOutcome:
    path: str
    findings: List[Finding]
    fixed: Counter[str] = field(default_factory=Counter)
    diff: str = ""
    changed: bool = False
    #: CHECKED (analysed), SKIPPED (by the prefilter: no enabled rule's tokens),
    #: UNREADABLE (OPS003) or CACHED (findings served from the cache).
    status: str = CHECKED
    #: Why the fixed file could not be written (its findings are then the original ones).
    error: str = ""


class Progress(Protocol):
    """What a run reports while it goes (``opslint.progress.ProgressBar``)."""

    def stage(self, label: str) -> None: ...

    def start(self, total: int) -> None: ...

    def advance(self) -> None: ...


@dataclass
class RunResult:
    files: List[FileOutcome] = field(default_factory=list)
    #: Paths that could not be walked (reported as findings too).
    problems: List[str] = field(default_factory=list)

    @property
    def findings(self) -> List[Finding]:
        out = [f for outcome in self.files for f in outcome.findings]
        return sorted(out, key=Finding.sort_key)

    @property
    def fixed(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for outcome in self.files:
            total.update(outcome.fixed)
        return total

    @property
    def errors(self) -> List[str]:
        """Files that could not be written, one line each (the CLI exits 2)."""
        return [o.error for o in sorted(self.files, key=lambda o: o.path) if o.error]

    @property
    def changed_files(self) -> List[FileOutcome]:
        return [o for o in self.files if o.changed]

    def counts(self) -> Counter[str]:
        """Files by ``FileOutcome.status``."""
        return Counter(o.status for o in self.files)
