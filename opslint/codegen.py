"""Text helpers for fixes that wrap or move statements.

Re-indenting rendered code must never touch the continuation lines of a
multi-line string (a docstring, a SQL literal, an f-string spanning lines):
their leading spaces are part of the value.  These helpers work on source text
and find such lines with :mod:`tokenize`.
"""

from __future__ import annotations

import io
import tokenize
from typing import FrozenSet, List, Optional, Sequence

#: Token types whose text may span lines and whose inner lines are data.
_MULTILINE_TYPES = {tokenize.STRING}
for _name in ("FSTRING_MIDDLE", "FSTRING_END", "TSTRING_MIDDLE", "TSTRING_END"):
    if hasattr(tokenize, _name):
        _MULTILINE_TYPES.add(getattr(tokenize, _name))


def string_continuation_lines(text: str) -> FrozenSet[int]:
    """1-based numbers of lines that start inside a multi-line string token.

    On text that does not tokenize, every line after the first is returned
    (callers then refuse to re-indent rather than risk changing a string).
    """
    lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _MULTILINE_TYPES and tok.end[0] > tok.start[0]:
                lines.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return frozenset(range(2, text.count("\n") + 2))
    return frozenset(lines)


def indent_block(text: str, prefix: str, *, first_line: int = 1, skip: FrozenSet[int] = frozenset()) -> str:
    """Add ``prefix`` before every non-empty line of ``text``, except lines whose
    number (``first_line`` for the first line of ``text``) is in ``skip``."""
    out: List[str] = []
    for offset, line in enumerate(text.splitlines(keepends=True)):
        number = first_line + offset
        if number in skip or not line.strip():
            out.append(line)
        else:
            out.append(prefix + line)
    return "".join(out)


def line_indent(line: str) -> str:
    """The leading whitespace of a line."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_unit(text: str, default: str = "    ") -> str:
    """The file's indentation step (the first indented line's leading whitespace)."""
    for line in text.splitlines():
        stripped = line.lstrip(" \t")
        if stripped and stripped != line and not stripped.startswith("#"):
            unit = line[: len(line) - len(stripped)]
            return "\t" if unit.startswith("\t") else unit if len(unit) <= 8 else default
    return default


def wrap_in_try_finally(
    source: str,
    start_line: int,
    end_line: int,
    final_statements: Sequence[str],
    *,
    unit: Optional[str] = None,
) -> Optional[str]:
    """Replacement text for lines ``start_line..end_line`` (1-based, whole lines of
    ``source``) wrapped in ``try:`` / ``finally:`` with ``final_statements``.

    The block keeps its indentation; its lines move one ``unit`` deeper except
    continuation lines of multi-line strings.  Returns None when the lines do
    not start at one indentation level (a fix must then not be offered).
    """
    all_lines = source.splitlines(keepends=True)
    if start_line < 1 or end_line > len(all_lines) or start_line > end_line:
        return None
    block = "".join(all_lines[start_line - 1 : end_line])
    if not block.endswith("\n"):
        block += "\n"
    base = line_indent(all_lines[start_line - 1])
    step = unit or indent_unit(source)
    skip = string_continuation_lines(source)
    body = indent_block(block, step, first_line=start_line, skip=skip)
    finals = "".join(f"{base}{step}{stmt}\n" for stmt in final_statements)
    return f"{base}try:\n{body}{base}finally:\n{finals}"
