"""Plain, frozen data shared by the engine, the reporters and the integrations.

Nothing here imports LibCST: findings and fixes cross process boundaries, are
cached and serialised, so they hold text positions, never tree nodes.
"""

from __future__ import annotations

import enum
import hashlib
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

#: ``@dataclass(**SLOTS)`` for data held by the thousand (spans, project summaries):
#: slots cost a third of an instance ``__dict__``.  Python 3.9 has no ``slots=``.
SLOTS: Dict[str, Any] = {"slots": True} if sys.version_info >= (3, 10) else {}


class Applicability(str, enum.Enum):
    """How confident a fix is, as in ruff: only SAFE is applied by ``--fix``."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    SUGGESTION = "suggestion"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, **SLOTS)
class Span:
    """A region of one file.

    ``line``/``end_line`` are 1-based, ``column``/``end_column`` are 1-based
    and count code points (the end is exclusive, i.e. one past the last
    character, as in ruff and SARIF).  ``start``/``end`` are offsets into the
    decoded source text, used to apply edits.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int


@dataclass(frozen=True)
class Edit:
    """Replace ``span`` with ``content``; an empty span inserts, empty content deletes."""

    span: Span
    content: str


@dataclass(frozen=True)
class Fix:
    """A titled set of edits with an applicability.  A suggestion may have no edits."""

    applicability: Applicability
    message: str
    edits: Tuple[Edit, ...] = ()

    @property
    def is_applicable(self) -> bool:
        return bool(self.edits) and self.applicability is not Applicability.SUGGESTION


@dataclass(frozen=True)
class Related:
    """Evidence in another place (possibly another file) that explains a finding."""

    path: str
    span: Span
    message: str


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    path: str
    span: Span
    fix: Optional[Fix] = None
    related: Tuple[Related, ...] = ()
    severity: Severity = Severity.WARNING
    #: Stable across unrelated edits: code, path and the normalised source line.
    fingerprint: str = ""
    #: Extra lines on which a noqa comment also applies (e.g. the closing line of a
    #: multi-line string).
    noqa_lines: Tuple[int, ...] = field(default=(), compare=False)

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.code)


@dataclass(frozen=True)
class RuleDoc:
    """What reporters show of a rule (SARIF rule descriptors, help pages): plain data,
    so that reporters never import a rule."""

    code: str
    name: str
    summary: str
    #: The "What it does" section (or the summary).
    what: str
    #: The whole page, as ``opslint rule CODE`` prints it.
    markdown: str
    url: str
    default_enabled: bool
    severity: Severity
    fix_availability: str
    #: Findings' related locations are the steps of a path (``Rule.related_is_path``).
    related_is_path: bool = False


def fingerprint(code: str, path: str, line_text: str, occurrence: int = 0) -> str:
    """A stable hash that does not contain the line number, so moving code keeps it."""
    normalised = " ".join(line_text.split())
    raw = f"{code}\0{path}\0{normalised}\0{occurrence}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
