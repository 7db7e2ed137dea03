"""Parsing source text with LibCST, once per text per process, in pieces when it is long.

A file that a cross-file rule summarises (its project facts) and then lints is the same
text parsed twice; the most recent parses are kept, keyed by the text itself, so the
second asker gets the first one's tree (LibCST trees are immutable: sharing is safe).

LibCST's native parser needs about 580 bytes of memory per byte of source while it
works (its tokens and intermediate tree), ten times what the finished tree keeps: the
296 KB ``test/test_typing.py`` peaks at 172 MB more than it ends with.  In a worker
that inherits the project index, that transient set the run's peak memory.  A long
text is therefore parsed in pieces of about ``PIECE`` characters, cut before top-level
``def``/``class``/decorator lines, and the pieces' statements joined into one module:
the same tree as a whole parse (``deep_equals``, checked over the standard library and
a site-packages), with the transient of one piece.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from opslint.syntax.guard import TooDeep, too_deep

#: How many recent parses are kept (a big module's tree takes tens of megabytes).
KEEP = 2

_RECENT: OrderedDict[Tuple[int, str], cst.Module] = OrderedDict()


def _trusted(self: cst.CSTNode) -> None:
    """``CSTNode.__post_init__`` while the parser builds a tree: no validation."""


@contextmanager
def _parser_nodes() -> Iterator[None]:
    """LibCST validates every node it builds (``CSTNode.__post_init__``). The nodes of a
    parse come from LibCST's own grammar, valid by construction; LibCST's note on
    ``__post_init__`` says as much ("avoid validating the tree when parsing a file").
    The checks are a third of a parse: 11.6 million calls, 30 of 80 s, on the standard
    library. Nodes built outside a parse (the rules' fixes) are still validated, and
    every fixed text is parsed again before it is written."""
    base = cst.CSTNode
    original = base.__dict__["__post_init__"]
    base.__post_init__ = _trusted  # type: ignore[method-assign]
    try:
        yield
    finally:
        base.__post_init__ = original  # type: ignore[method-assign]


def parse_module(text: str) -> cst.Module:
    """``libcst.parse_module(text)``, reusing a recent parse of the same text.

    Behind the nesting guard (``opslint.syntax.guard``): text nested beyond what
    LibCST's native parser takes raises ``TooDeep`` (a ValueError) instead of
    killing the process."""
    key = (len(text), text)
    found = _RECENT.get(key)
    if found is not None:
        _RECENT.move_to_end(key)
        return found
    reason = too_deep(text)
    if reason is not None:
        raise TooDeep(reason)
    with _parser_nodes():
        module = parse_in_pieces(text) if len(text) > 2 * PIECE else None
        if module is None:
            module = cst.parse_module(text)
    _RECENT[key] = module
    while len(_RECENT) > KEEP:
        _RECENT.popitem(last=False)
    return module


#: Characters of source per piece of a long text (a piece's parse peaks near 19 MB).
PIECE = 32 * 1024

#: Where a piece may start: a top-level function, class or decorator line.
_PIECE_START = re.compile(r"^(?:async[ \t]+def\b|def\b|class\b|@)", re.M)


def cut_points(text: str, piece: int = PIECE) -> List[int]:
    """Offsets where ``text`` may be cut into pieces of at least ``piece`` characters.

    A cut sits at the start of a line that begins, in column 0, a ``def``, a
    ``class`` or a decorator not itself preceded by a decorator line (blank and
    comment lines aside).  A cut that lands inside a string or brackets leaves the
    piece before it unterminated, so that piece fails to parse and the caller
    parses the whole text instead (``parse_in_pieces``)."""
    points: List[int] = []
    pos = piece
    while pos < len(text):
        m = _PIECE_START.search(text, pos)
        if m is None:
            break
        at = m.start()
        if _after_decorator(text, at):
            pos = at + 1
            continue
        points.append(at)
        pos = at + piece
    return points


def _after_decorator(text: str, at: int) -> bool:
    """Whether the last code line before offset ``at`` (a line start) is a decorator."""
    end = at
    while end > 0:
        start = text.rfind("\n", 0, end - 1) + 1
        line = text[start:end].strip()
        if line and not line.startswith("#"):
            return text[start] == "@"
        end = start
    return False


def parse_in_pieces(text: str, piece: int = PIECE) -> Optional[cst.Module]:
    """The module of ``text`` parsed piece by piece, or None when a whole parse must decide
    (a piece that does not parse, indentation or line endings that differ between pieces).  Call it
    inside ``_parser_nodes`` (as ``parse_module`` does) to skip LibCST's validation."""
    points = cut_points(text, piece)
    if not points:
        return None
    bounds = [0, *points, len(text)]
    parts: List[cst.Module] = []
    for begin, end in zip(bounds, bounds[1:]):
        try:
            part = cst.parse_module(text[begin:end])
        except (cst.ParserSyntaxError, ValueError):
            return None
        if not part.body:
            return None
        parts.append(part)
    indent = _common_indent(parts)
    head, tail = parts[0], parts[-1]
    # A newline that is its module's default is stored as None; each piece detected its
    # own default (its first line ending), so in a file of mixed line endings they differ.
    if indent is None or any(part.default_newline != head.default_newline for part in parts):
        return None
    body: List[Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]] = []
    between: Sequence[cst.EmptyLine] = ()
    for number, part in enumerate(parts):
        statements = list(part.body)
        if number:
            # Lines between two pieces' statements: the earlier piece's footer and the
            # later one's header, which a whole parse gives the statement after them.
            first = statements[0]
            lines = [*between, *part.header, *first.leading_lines]
            statements[0] = first.with_changes(leading_lines=lines)
        body.extend(statements)
        between = part.footer
    return cst.Module(
        body=body,
        header=head.header,
        footer=tail.footer,
        encoding=head.encoding,
        default_indent=indent,
        default_newline=head.default_newline,
        has_trailing_newline=tail.has_trailing_newline,
    )


def _common_indent(parts: Sequence[cst.Module]) -> Optional[str]:
    """The indentation unit of the whole text, or None when pieces detected different ones.

    A block whose ``indent`` is None uses its module's ``default_indent``, which each
    piece detected from its own first block; joined, they must agree.  A piece without
    a block detected nothing (LibCST's four spaces) and agrees with anything."""
    found: Optional[str] = None
    for part in parts:
        if not any(_has_block(statement) for statement in part.body):
            continue
        if found is None:
            found = part.default_indent
        elif part.default_indent != found:
            return None
    return parts[0].default_indent if found is None else found


def _has_block(node: cst.CSTNode) -> bool:
    """Whether ``node`` holds an indented block (expressions and one-line suites cannot)."""
    if isinstance(node, (cst.IndentedBlock, cst.MatchCase)):
        return True
    if isinstance(node, (cst.BaseExpression, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return False
    return any(_has_block(child) for child in node.children)
