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
    rest = rest.lstrip()
    if not rest.startswith(":"):
        return None
    body = rest[1:]
    codes: List[str] = []
    pos = 0
    while True:
        match = re.compile(r"[\s,]*").match(body, pos)
        assert match is not None
        pos = match.end()
        code = _CODE.match(body, pos)
        # A code ends at a separator or at the end; "because" is a reason, not a code.
        if code is None or (pos < len(body) and code.end() < len(body) and not re.match(r"[\s,]", body[code.end()])):
            break
        codes.append(code.group(0).upper())
        pos = code.end()
    return tuple(codes)


@dataclass
class Suppressions:
    #: line -> None (blanket) or the codes/prefixes listed.
    lines: Dict[int, Optional[Tuple[str, ...]]] = field(default_factory=dict)
    #: None = nothing at file level; () = the whole file; else codes.
    file_codes: Optional[Tuple[str, ...]] = None

    def suppressed(self, code: str, lines: Iterable[int]) -> bool:
        if self.file_codes is not None:
            if not self.file_codes or any(code.startswith(c) for c in self.file_codes):
                return True
        for line in lines:
            if line not in self.lines:
                continue
            codes = self.lines[line]
            if codes is None or any(code.startswith(c) for c in codes):
                return True
        return False


def _comments(text: str) -> List[Tuple[int, str, bool]]:
    """(line, comment text, own line) for each comment in the source."""
    out: List[Tuple[int, str, bool]] = []
    try:
        last_line_with_code = 0
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                own = tok.line[: tok.start[1]].strip() == ""
                out.append((tok.start[0], tok.string, own))
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                last_line_with_code = tok.end[0]
        del last_line_with_code
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Fall back to a line scan: still better than ignoring the user's noqa.
        for number, line in enumerate(text.splitlines(), 1):
            idx = line.find("#")
            if idx != -1:
                out.append((number, line[idx:], line[:idx].strip() == ""))
    return out


def parse(text: str) -> Suppressions:
    result = Suppressions()
    lowered = text.lower()
    if "noqa" not in lowered:
        return result
    for line, comment, own in _comments(text):
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
        codes = _codes(match.group("rest"))
        if codes == ():
            continue  # A "noqa:" followed by no valid code suppresses nothing (as ruff)
        result.lines[line] = codes
    return result
