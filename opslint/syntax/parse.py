"""Parsing source text with LibCST, once per text per process.

A file that a cross-file rule summarises (its project facts) and then lints is the same
text parsed twice; the most recent parses are kept, keyed by the text itself, so the
second asker gets the first one's tree (LibCST trees are immutable: sharing is safe).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Tuple

import libcst as cst

from opslint.syntax.guard import TooDeep, too_deep

#: How many recent parses are kept (a big module's tree takes tens of megabytes).
KEEP = 2

_RECENT: OrderedDict[Tuple[int, str], cst.Module] = OrderedDict()


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
    module = cst.parse_module(text)
    _RECENT[key] = module
    while len(_RECENT) > KEEP:
        _RECENT.popitem(last=False)
    return module
