"""Parsing source text with LibCST, once per text per process.

A file that a cross-file rule summarises (its project facts) and then lints is the same
text parsed twice; the most recent parses are kept, keyed by the text itself, so the
second asker gets the first one's tree (LibCST trees are immutable: sharing is safe).
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator, Tuple

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
        module = cst.parse_module(text)
    _RECENT[key] = module
    while len(_RECENT) > KEEP:
        _RECENT.popitem(last=False)
    return module
