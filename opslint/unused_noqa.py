"""OPS005 ``unused-noqa``: opslint codes of ``noqa`` comments that suppressed nothing.

A listed code is evidence only when every rule it names (a code or a prefix)
was enabled for the file and ran on it; other tools' codes, unknown codes,
engine codes, blanket ``noqa`` and file-level directives are never reported.
"""

from __future__ import annotations

import re
from typing import Collection, List, Optional, Set, Tuple

from opslint import builtin
from opslint.model import Applicability, Edit, Finding, Fix, fingerprint
from opslint.source import LineIndex
from opslint.suppress import Directive, Suppressions

PREFIX = "OPS"


def findings(
    noqa: Suppressions,
    used: Set[Tuple[int, Optional[str]]],
    ran: Collection[str],
    known: Collection[str],
    text: str,
    display: str,
) -> List[Finding]:
    """One OPS005 finding per directive with unused codes.

    ``ran``: codes of the rules that ran on the file (not crashed); ``known``:
    codes of every rule that can run (the registry's, engine codes excluded).
    A listed code is judged only when all the known rules it names ran.
    """
    if not noqa.directives:
        return []
    lines = LineIndex(text)
    out = []
    for line, directive in sorted(noqa.directives.items()):
        unused = []
        for code, _, _ in directive.codes or ():
            if not code.startswith(PREFIX) or (line, code) in used or code in unused:
                continue
            named = [c for c in known if c.startswith(code)]
            if named and all(c in ran for c in named):
                unused.append(code)
        if unused:
            out.append(_finding(directive, unused, lines, display))
    return out


def _finding(directive: Directive, unused: List[str], lines: LineIndex, display: str) -> Finding:
    base = lines.offset(directive.line, directive.column)
    comment = directive.comment
    codes = directive.codes or ()
    remaining = [code for code, _, _ in codes if code not in unused]
    if remaining:
        first, last = codes[0][1], codes[-1][2]
        edit = Edit(lines.span(base + first, base + last), ", ".join(remaining))
        title = "Remove unused code" + ("s" if len(unused) > 1 else "")
    else:
        edit = _remove_directive(directive, lines, base)
        title = "Remove unused `noqa` directive"
    span = lines.span(base + directive.start, base + directive.end - _trailing_space(comment[: directive.end]))
    detail = "unused: " + ", ".join(f"`{c}`" for c in unused)
    return Finding(
        code=builtin.UnusedNoqa.code,
        name=builtin.UnusedNoqa.name,
        message=builtin.UnusedNoqa.message.format(detail=detail),
        path=display,
        span=span,
        fix=Fix(Applicability.SAFE, title, (edit,)),
        severity=builtin.UnusedNoqa.severity,
        fingerprint=fingerprint(builtin.UnusedNoqa.code, display, lines.line_text(directive.line)),
    )


def _remove_directive(directive: Directive, lines: LineIndex, base: int) -> Edit:
    """Delete the directive and the blanks before it; a later ``# other`` comment stays."""
    comment = directive.comment
    start, end = base + directive.start, base + directive.end
    text = lines.text
    # The blanks before the directive (between code and comment, or between two comments).
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    rest = comment[directive.end :]
    if rest.strip():
        if directive.start == 0:
            # "# noqa: OPS502  # pragma: x" -> "# pragma: x", keeping the blanks before it.
            return Edit(lines.span(base, end + _leading_space(rest)), "")
        return Edit(lines.span(start, end - _trailing_space(comment[: directive.end])), "")
    line_start = lines.offset(directive.line, 0)
    if not text[line_start:start].strip():
        # The comment is alone on its line: the line goes.
        return Edit(lines.span(line_start, lines.offset(directive.line + 1, 0)), "")
    return Edit(lines.span(start, base + len(comment)), "")


def _leading_space(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def _trailing_space(text: str) -> int:
    return len(text) - len(re.sub(r"[ \t]+$", "", text))
