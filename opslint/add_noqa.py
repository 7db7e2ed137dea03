"""``opslint check --add-noqa[=REASON]``: suppress every current finding in place.

Each finding gets ``# noqa: CODE`` on the line where the engine looks for it:
the last line of the finding's logical range (a multi-line string's closing
line, the last line of a backslash continuation; see ``suppress.joined``), so
the comment never lands inside a string or after a backslash.  An existing
``noqa`` with codes gets the new codes appended (its reason stays after them);
another comment on the line is kept and the directive follows it.  Files are
written atomically with their encoding, BOM and newlines.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from opslint import source, suppress
from opslint.model import Finding

#: Engine codes that a ``noqa`` comment cannot silence (no parse, no read, a failed
#: fix, a crash) or that are about ``noqa`` comments themselves.
UNSUPPRESSIBLE = frozenset({"OPS001", "OPS002", "OPS003", "OPS004", "OPS005"})


@dataclass
class Outcome:
    #: Directives written or extended, one per line.
    added: int = 0
    #: Files changed.
    files: List[str] = field(default_factory=list)
    #: Findings that cannot take a noqa (engine codes, files that do not parse).
    skipped: int = 0


def add_noqa(findings: Sequence[Finding], reason: str = "", cwd: Optional[str] = None) -> Outcome:
    outcome = Outcome()
    by_path: Dict[str, List[Finding]] = defaultdict(list)
    for f in findings:
        if f.code in UNSUPPRESSIBLE:
            outcome.skipped += 1
        else:
            by_path[f.path].append(f)
    for path, items in sorted(by_path.items()):
        full = os.path.join(cwd or os.getcwd(), path)
        try:
            src = source.read(full)
        except source.SourceError:
            outcome.skipped += len(items)
            continue
        text = annotate(src.text, items, reason)
        if text is None:
            outcome.skipped += len(items)
            continue
        new_text, added = text
        if added:
            source.write_atomic(full, src.encode(new_text))
            outcome.added += added
            outcome.files.append(path)
    return outcome


def annotate(text: str, findings: Sequence[Finding], reason: str = "") -> Optional[Tuple[str, int]]:
    """``text`` with noqa directives for ``findings``, and how many lines got one;
    None when the text does not parse (no safe place for a comment is known)."""
    try:
        source.parse_ast(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    ends = suppress.logical_ends(text)
    existing = suppress.parse(text)
    wanted: Dict[int, Set[str]] = defaultdict(set)
    for f in findings:
        line = ends.get(f.span.line, f.span.line)
        if existing.suppressed(f.code, (line,)):
            continue
        wanted[line].add(f.code)
    if not wanted:
        return text, 0
    lines = source.LineIndex(text)
    edits: List[Tuple[int, str]] = []
    for line, codes in wanted.items():
        ordered = sorted(codes)
        directive = existing.directives.get(line)
        if directive is not None and directive.codes:
            base = lines.offset(line, directive.column)
            edits.append((base + directive.codes[-1][2], "".join(f", {code}" for code in ordered)))
            continue
        body = lines.line_text(line)
        # After the code, or after a comment already there (a noqa directive counts anywhere in it).
        end = lines.offset(line, len(body.rstrip()))
        directive_text = "# noqa: " + ", ".join(ordered) + (f" {reason.strip()}" if reason.strip() else "")
        prefix = "" if not body.strip() else "  "
        edits.append((end, prefix + directive_text))
    out = text
    for offset, insert in sorted(edits, reverse=True):
        out = out[:offset] + insert + out[offset:]
    return out, len(edits)
