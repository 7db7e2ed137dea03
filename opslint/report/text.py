"""Human output: ``full`` (ruff-style, with a source snippet) and ``concise``."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from opslint.model import Applicability, Finding


def _marker(f: Finding) -> str:
    return " [*]" if f.fix is not None and f.fix.applicability is Applicability.SAFE and f.fix.edits else ""


def render_concise(findings: Sequence[Finding], **_: Any) -> str:
    return "".join(f"{f.path}:{f.span.line}:{f.span.column}: {f.code}{_marker(f)} {f.message}\n" for f in findings)


def render_full(findings: Sequence[Finding], *, sources: Dict[str, str], **_: Any) -> str:
    out: List[str] = []
    for f in findings:
        out.append(f"{f.code}{_marker(f)} {f.message}\n")
        out.append(f" --> {f.path}:{f.span.line}:{f.span.column}\n")
        text = sources.get(f.path)
        if text is not None:
            out.append(_snippet(text, f))
        for related in f.related:
            out.append(f"note: {related.message}\n --> {related.path}:{related.span.line}:{related.span.column}\n")
        if f.fix is not None:
            label = {
                Applicability.SAFE: "help",
                Applicability.UNSAFE: "help",
                Applicability.SUGGESTION: "help",
            }[f.fix.applicability]
            out.append(f"{label}: {f.fix.message}\n")
            if f.fix.applicability is Applicability.UNSAFE and f.fix.edits:
                out.append("note: This is an unsafe fix and may change runtime behavior\n")
        out.append("\n")
    return "".join(out)


def _snippet(text: str, f: Finding) -> str:
    lines = text.splitlines()
    first = max(f.span.line - 1, 1)
    last = min(f.span.end_line, len(lines), f.span.line + 4)
    width = len(str(last))
    pad = " " * width
    out = [f"{pad} |\n"]
    for number in range(first, last + 1):
        if number - 1 >= len(lines):
            break
        line = lines[number - 1].expandtabs(4) if "\t" not in lines[number - 1] else lines[number - 1]
        out.append(f"{number:>{width}} | {line}\n")
        if f.span.line <= number <= f.span.end_line:
            start = f.span.column - 1 if number == f.span.line else len(line) - len(line.lstrip())
            end = f.span.end_column - 1 if number == f.span.end_line else len(line)
            end = max(end, start + 1)
            out.append(f"{pad} | {' ' * start}{'^' * (end - start)}\n")
    out.append(f"{pad} |\n")
    return "".join(out)
