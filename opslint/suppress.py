"""``# noqa`` comments, tolerant like ruff's, and file-level ``# opslint: noqa``."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

# Matches the forms: hash-noqa with or without a space, any case, a colon and codes, and a reason after them.
_NOQA = re.compile(r"#\s*noqa(?![A-Za-z0-9_])(?P<rest>.*)", re.IGNORECASE)
_FILE = re.compile(r"^#\s*opslint\s*:\s*noqa(?![A-Za-z0-9_])(?P<rest>.*)$", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+|[A-Z]+")


def _codes(rest: str) -> Optional[Tuple[str, ...]]:
    """Codes after ``noqa``: None for a blanket noqa, () for an invalid list."""
    items = _code_items(rest)
    return None if items is None else tuple(code for code, _, _ in items)


def _code_items(rest: str) -> Optional[List[Tuple[str, int, int]]]:
    """(CODE, start, end) of each code after ``noqa`` (offsets into ``rest``); None for a blanket noqa."""
    stripped = rest.lstrip()
    if not stripped.startswith(":"):
        return None
    base = len(rest) - len(stripped) + 1
    body = stripped[1:]
    items: List[Tuple[str, int, int]] = []
    pos = 0
    while True:
        match = _SEPARATORS.match(body, pos)
        assert match is not None
        pos = match.end()
        code = _CODE.match(body, pos)
        # A code ends at a separator or at the end; "because" is a reason, not a code.
        if code is None or (pos < len(body) and code.end() < len(body) and not re.match(r"[\s,]", body[code.end()])):
            break
        items.append((code.group(0).upper(), base + code.start(), base + code.end()))
        pos = code.end()
    return items


_SEPARATORS = re.compile(r"[\s,]*")


@dataclass(frozen=True)
class Directive:
    """A line's noqa directive, with positions (for OPS005 and ``--add-noqa``)."""

    #: 1-based line, and the 0-based column (code points) where the comment starts.
    line: int
    column: int
    #: The whole comment token, ``#`` to the end of the line.
    comment: str
    #: Offsets into ``comment``: where the noqa directive starts, and where the directive
    #: (codes and reason) ends: before a later ``#`` (another tool's pragma) or at the end.
    start: int
    end: int
    #: (CODE, start, end) offsets into ``comment``; None for a blanket noqa.
    codes: Optional[Tuple[Tuple[str, int, int], ...]]


@dataclass
class Suppressions:
    #: line -> None (blanket) or the codes/prefixes listed.
    lines: Dict[int, Optional[Tuple[str, ...]]] = field(default_factory=dict)
    #: None = nothing at file level; () = the whole file; else codes.
    file_codes: Optional[Tuple[str, ...]] = None
    #: line -> the last line of its logical range, for lines joined by a multi-line
    #: string or a backslash continuation (a noqa there applies to the whole range, as
    #: in flake8 and ruff: it can only be written on the last line).
    joined: Dict[int, int] = field(default_factory=dict)
    #: line -> its noqa directive with positions.
    directives: Dict[int, Directive] = field(default_factory=dict)

    def suppressed(self, code: str, lines: Iterable[int]) -> bool:
        return self.match(code, lines) is not None

    def match(self, code: str, lines: Iterable[int]) -> Optional[Tuple[int, Optional[str]]]:
        """What suppresses ``code`` on ``lines``: (line, listed code or prefix), with line 0
        for the file-level directive and None for a blanket noqa; None when nothing does."""
        if self.file_codes is not None:
            if not self.file_codes:
                return (0, None)
            listed = next((c for c in self.file_codes if code.startswith(c)), None)
            if listed is not None:
                return (0, listed)
        for first in lines:
            for line in (first, self.joined.get(first, first)):
                if line not in self.lines:
                    continue
                codes = self.lines[line]
                if codes is None:
                    return (line, None)
                listed = next((c for c in codes if code.startswith(c)), None)
                if listed is not None:
                    return (line, listed)
        return None


def _comments(text: str) -> List[Tuple[int, int, str, bool]]:
    """(line, column, comment text, own line) for each comment in the source."""
    return _scan(text)[0]


def _scan(text: str) -> Tuple[List[Tuple[int, int, str, bool]], Dict[int, int]]:
    """The comments, and the joined line ranges (see ``Suppressions.joined``)."""
    out: List[Tuple[int, int, str, bool]] = []
    joined: Dict[int, int] = {}
    try:
        first = last = 0
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                own = tok.line[: tok.start[1]].strip() == ""
                out.append((tok.start[0], tok.start[1], tok.string, own))
            if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT, tokenize.INDENT):
                continue
            first = min(first, tok.start[0]) if first else tok.start[0]
            last = max(last, tok.end[0])
            if tok.type in (tokenize.NL, tokenize.NEWLINE):
                for line in range(first, last):
                    joined[line] = last
                first = last = 0
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Fall back to a line scan: still better than ignoring the user's noqa.
        out = []
        for number, physical in enumerate(text.splitlines(), 1):
            idx = physical.find("#")
            if idx != -1:
                out.append((number, idx, physical[idx:], physical[:idx].strip() == ""))
    return out, joined


def logical_ends(text: str) -> Dict[int, int]:
    """line -> the last line of its logical range (see ``Suppressions.joined``); {} when
    the text does not tokenize."""
    return _scan(text)[1]


def parse(text: str) -> Suppressions:
    result = Suppressions()
    lowered = text.lower()
    if "noqa" not in lowered:
        return result
    comments, result.joined = _scan(text)
    for line, column, comment, own in comments:
        if own:
            match = _FILE.match(comment)
            if match is not None:
                codes = _codes(match.group("rest"))
                if codes is None:
                    result.file_codes = ()
                elif codes:
                    previous = result.file_codes or ()
                    if result.file_codes != ():
                        result.file_codes = previous + codes
                continue
        match = _NOQA.search(comment)
        if match is None:
            continue
        rest_at = match.start("rest")
        items = _code_items(match.group("rest"))
        if items == []:
            continue  # A "noqa:" followed by no valid code suppresses nothing (as ruff)
        result.lines[line] = None if items is None else tuple(code for code, _, _ in items)
        end = comment.find("#", rest_at)
        positioned = None if items is None else tuple((c, rest_at + a, rest_at + b) for c, a, b in items)
        result.directives[line] = Directive(
            line, column, comment, match.start(), len(comment) if end == -1 else end, positioned
        )
    return result
