"""Parsing user text safely: CPython's verdict, and a guard before LibCST's native parser.

LibCST's parser is native code that recurses once per level of nesting and
has no depth check of its own: a 6 KB file of 3,000 nested parentheses, or a
50,000-term ``a and a and ...`` chain, overflows the C stack and kills the
process (SIGSEGV), which no ``try`` can catch.  Its running time also grows
faster than linearly with the length of such chains (a 3,000-term subscript
chain takes 47 s).  So every LibCST parse of user text goes through
``parse_module`` / ``parse_expression`` here (``opslint.syntax.parse`` calls
the guard too), which first measure the text with ``nesting`` (a regex scan,
about 4 % of the parse's CPU) and refuse it
when it exceeds what the parser takes (limits below, found by experiment).

Measured with LibCST 1.9 on Linux (x86-64): stack used per level is about
7 KB for a bracket, 2.4 KB for ``lambda``, 1-1.5 KB for an operator, ``not``,
``if``/``else``, ``and``/``or``, a trailer (``.x``, ``[i]``, ``(args)``) or
an ``elif``; a statement block about 20 KB (CPython and LibCST both stop at
100 indentation levels).  The limits keep the worst case within about 4 MB,
half the usual 8 MB main-thread stack: nesting units (a bracket counts 4,
``lambda`` 2, any other operator 1) up to ``MAX_UNITS``; brackets up to
``MAX_BRACKETS`` (CPython's own limit: "too many nested parentheses"); an
``if``/``elif`` chain up to ``MAX_ELIFS``.  Real code stays far below: the
deepest expression in the standard library, this corpus and a full
site-packages measures under 300 units and 25 brackets.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import TYPE_CHECKING, List, Optional, Tuple

if TYPE_CHECKING:  # imported by the two parse functions: compile_error alone needs no LibCST
    import libcst as cst

#: Nesting units along one path of an expression (see the module docstring).
MAX_UNITS = 1000
#: Nested brackets: CPython's tokenizer limit (``MAXLEVEL``), so only code that
#: does not compile anyway goes beyond it.
MAX_BRACKETS = 200
#: ``elif`` clauses of one ``if`` statement (LibCST nests each in the previous one).
MAX_ELIFS = 500

_BRACKET_UNITS = 4
_LAMBDA_UNITS = 2


class TooDeep(ValueError):
    """Text nested beyond what LibCST's parser can take without crashing the process."""

    def __init__(self, detail: str, *, compiles: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Filled in by callers that know CPython's verdict.
        self.compiles = compiles


# Every branch starts with a literal character, so the regex engine jumps to
# the next candidate with a character-set search instead of trying each branch
# at every position (3x faster than a branch starting with a class).
_TOKEN = re.compile(
    r"'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*(?:'''|\Z)"
    r'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:"""|\Z)'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*(?:'|$)"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*(?:"|$)'
    r"|#[^\n]*|\\\r?\n|\r?\n|\r"
    r"|\(|\[|\{|\)|\]|\}|,|;|==|=|!=|<=|>=|:="
    r"|\*|/|<|>|-|\+|%|@|&|\||\^|~|\."
    r"|and\b|await\b|async\b|or\b|not\b|if\b|elif\b|else\b|for\b|lambda\b",
    re.M | re.S,
)
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")
_STRING = frozenset("'\"")
_SKIP = frozenset("#\\")
_NEWLINE = frozenset("\r\n")
_RESET = frozenset((",", ";", "="))
_PREFIX = frozenset("rRbBuUfF")
_FSTRING_STOP = re.compile(r"[{\\\r\n'\"]")
_ELIF_LINE = re.compile(r"^([ \t]*)(elif|if)\b", re.M)


def nesting(text: str) -> Tuple[int, int]:
    """(deepest bracket nesting, most nesting units on one expression path) of ``text``."""
    depth, units, _ = _scan(text, 0, len(text), False)
    return depth, units


def _scan(text: str, start: int, stop: int, field: bool) -> Tuple[int, int, int]:
    """Scan ``text[start:stop]`` as code: (max bracket depth, max units, end index).

    In an f-string replacement ``field`` scanning ends at the ``}`` closing the
    field (the returned end index).
    """
    depth = max_depth = 0
    chain = max_chain = 0
    base = 0
    stack: List[Tuple[int, int]] = []
    pos = start
    while True:
        restart = None
        for m in _TOKEN.finditer(text, pos, stop):
            begin = m.start()
            c = text[begin]
            if c in _STRING:
                if not _is_fstring(text, begin):
                    continue
                end, f_depth, f_units = _fstring(text, begin, stop)
                if depth + f_depth > max_depth:
                    max_depth = depth + f_depth
                if chain + f_units > max_chain:
                    max_chain = chain + f_units
                if end != m.end():
                    restart = end
                    break
                continue
            if c in _SKIP:
                continue
            if c in _OPEN:
                stack.append((base, chain))
                depth += 1
                if depth > max_depth:
                    max_depth = depth
                chain += _BRACKET_UNITS
                base = chain
            elif c in _CLOSE:
                if not stack:
                    if c == "}" and field:
                        return max_depth, max_chain, begin  # the end of an f-string field
                    continue
                base, chain = stack.pop()
                depth -= 1
                chain += 1  # a trailer: ``a[0][0]...`` nests too
            elif c in _NEWLINE:
                if not depth:
                    chain = base
                continue
            elif m.group() in _RESET:
                chain = base
                continue
            else:
                if c.isalpha():
                    if begin and (text[begin - 1].isalnum() or text[begin - 1] == "_"):
                        continue  # ``band``, ``x_or``: not a keyword
                    chain += _LAMBDA_UNITS if c == "l" else 1
                else:
                    chain += 1
            if chain > max_chain:
                max_chain = chain
        if restart is None:
            return max_depth, max_chain, stop
        pos = restart


def _is_fstring(text: str, quote: int) -> bool:
    i = quote
    while i > 0 and quote - i < 2 and text[i - 1] in _PREFIX:
        i -= 1
    if i == quote or (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
        return False
    return "f" in text[i:quote].lower()


def _fstring(text: str, begin: int, stop: int) -> Tuple[int, int, int]:
    """End index, bracket depth and units of the f-string whose quote is at ``begin``.

    Replacement fields are code (PEP 701: they may hold any quote, and
    f-strings of their own), scanned recursively.
    """
    quote = text[begin : begin + 3] if text.startswith(text[begin] * 3, begin) else text[begin]
    i = begin + len(quote)
    max_depth = max_units = 0
    while True:
        m = _FSTRING_STOP.search(text, i, stop)
        if m is None:
            return stop, max_depth, max_units
        i = m.start()
        c = text[i]
        if c in _STRING:
            if text.startswith(quote, i):
                return i + len(quote), max_depth, max_units
            i += 1
        elif c == "\\":
            i += 1 if text.startswith("{", i + 1) else 2
        elif c in _NEWLINE:
            if len(quote) == 1:
                return i, max_depth, max_units  # unterminated: CPython reports it
            i += 1
        elif text.startswith("{{", i):
            i += 2
        else:
            depth, units, end = _scan(text, i + 1, stop, True)
            max_depth = max(max_depth, depth + 1)
            max_units = max(max_units, units + _BRACKET_UNITS)
            i = end + 1


def _elif_chain(text: str) -> int:
    """The longest run of ``elif`` clauses after one ``if`` (by indentation)."""
    if text.count("elif") <= MAX_ELIFS:
        return 0  # cheap bound: the common case
    runs: dict[int, int] = {}
    longest = 0
    for m in _ELIF_LINE.finditer(text):
        column = len(m.group(1).expandtabs())
        if m.group(2) == "if":
            runs[column] = 0
        else:
            runs[column] = runs.get(column, 0) + 1
            longest = max(longest, runs[column])
    return longest


def too_deep(text: str) -> Optional[str]:
    """Why LibCST must not parse ``text`` (None when it may)."""
    try:
        depth, units = nesting(text)
    except RecursionError:
        return "f-strings nested too deeply to analyse"
    if depth > MAX_BRACKETS:
        return f"too many nested parentheses ({depth} levels; Python allows {MAX_BRACKETS})"
    if units > MAX_UNITS:
        return f"expression nested too deeply to analyse ({units} levels; opslint's parser takes up to {MAX_UNITS})"
    elifs = _elif_chain(text)
    if elifs > MAX_ELIFS:
        return f"if statement with too many elif clauses to analyse ({elifs}; opslint's parser takes up to {MAX_ELIFS})"
    return None


def parse_module(text: str) -> cst.Module:
    """``libcst.parse_module`` after the nesting guard (raises ``TooDeep``, a ValueError)."""
    reason = too_deep(text)
    if reason is not None:
        raise TooDeep(reason)
    import libcst as cst

    return cst.parse_module(text)


def parse_expression(text: str) -> cst.BaseExpression:
    """``libcst.parse_expression`` after the nesting guard (raises ``TooDeep``, a ValueError)."""
    reason = too_deep(text)
    if reason is not None:
        raise TooDeep(reason)
    import libcst as cst

    return cst.parse_expression(text)


#: Errors ``compile`` raises on source it rejects (ValueError: NUL bytes before
#: 3.12; UnicodeEncodeError: lone surrogates; RecursionError/MemoryError: "too
#: complex"; OverflowError: absurd literals).
COMPILE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def compile_error(text: str, filename: str = "<unknown>") -> Optional[BaseException]:
    """CPython's error compiling ``text`` (None when it compiles).

    The full ``compile`` is cheaper than ``ast.parse`` (no Python objects are
    built) and also rejects what only the compiler checks.  Its warnings
    (``invalid escape sequence`` ...) belong to the user's other tools.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", dont_inherit=True)
    except COMPILE_ERRORS as exc:
        return exc
    return None


def parser_error(text: str, filename: str = "<unknown>") -> Optional[BaseException]:
    """CPython's parser error for ``text`` (None when it parses): ``ast.parse``
    without warnings.  Unlike ``compile_error`` it ignores what only the
    compiler rejects (``return`` outside a function)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except COMPILE_ERRORS as exc:
        return exc
    return None
