"""Applying fixes: back to front, overlaps deferred, re-lint until stable."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

from opslint import source
from opslint.model import Applicability, Finding, Fix

#: Passes before giving up on convergence (each pass re-lints the new text).
MAX_PASSES = 10


def allowed(fix: Fix, unsafe: bool) -> bool:
    if not fix.is_applicable:
        return False
    return fix.applicability is Applicability.SAFE or (unsafe and fix.applicability is Applicability.UNSAFE)


def apply_fixes(text: str, fixes: Sequence[Fix]) -> Tuple[str, List[Fix]]:
    """Apply non-overlapping fixes; return the new text and the fixes applied.

    A fix whose edits overlap an earlier accepted fix is left for the next pass,
    when it will be recomputed against the new text.
    """
    accepted: List[Fix] = []
    taken: List[Tuple[int, int]] = []
    for fix in sorted(fixes, key=lambda f: min(e.span.start for e in f.edits)):
        ranges = [(e.span.start, e.span.end) for e in fix.edits]
        if any(_overlaps(r, t) for r in ranges for t in taken):
            continue
        if any(_overlaps(a, b) for i, a in enumerate(ranges) for b in ranges[i + 1 :]):
            continue
        accepted.append(fix)
        taken.extend(ranges)
    edits = sorted((e for f in accepted for e in f.edits), key=lambda e: (e.span.start, e.span.end), reverse=True)
    out = text
    for edit in edits:
        out = out[: edit.span.start] + edit.content + out[edit.span.end :]
    return out, accepted


def _overlaps(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    # Two insertions at the same point conflict (their order would be arbitrary);
    # an insertion at the boundary of a replacement does not.
    if a[0] == a[1] and b[0] == b[1]:
        return a[0] == b[0]
    return a[0] < b[1] and b[0] < a[1]


def parses(text: str) -> bool:
    try:
        source.parse_ast(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@dataclass
class FixOutcome:
    text: str
    #: Findings left after fixing (from the last lint of the final text).
    remaining: List[Finding]
    fixed: Counter[str] = field(default_factory=Counter)
    #: Set when a pass produced invalid code; the text is the last good one.
    failure: str = ""
    #: Findings of the original text (what stands when the fixed text cannot be written).
    original: List[Finding] = field(default_factory=list)


def fix_text(
    text: str, lint: Callable[[str], List[Finding]], unsafe: bool, *, original_parses: bool = True
) -> FixOutcome:
    """Lint, apply allowed fixes, and repeat until nothing applies (capped)."""
    fixed: Counter[str] = Counter()
    findings = original = lint(text)
    for _ in range(MAX_PASSES):
        fixes = [f.fix for f in findings if f.fix is not None and allowed(f.fix, unsafe)]
        if not fixes:
            break
        new_text, applied = apply_fixes(text, fixes)
        if new_text == text:
            break
        if original_parses and not parses(new_text):
            codes = sorted({f.code for f in findings if f.fix in applied})
            return FixOutcome(text, findings, fixed, f"fixes for {', '.join(codes)} produced invalid code", original)
        for f in findings:
            if f.fix is not None and f.fix in applied:
                fixed[f.code] += 1
        text = new_text
        findings = lint(text)
    return FixOutcome(text, findings, fixed, original=original)
