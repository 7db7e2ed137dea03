"""Node positions: what LibCST's ``PositionProvider`` gives, computed about three times faster.

``PositionProvider`` generates the module's code once, with a state that records each
node's start and end as it goes.  Most of its cost is bookkeeping around that: a
``CodeRange`` of two ``CodePosition`` objects for every node, a regular expression split
of every token, the token list itself, and the metadata wrapper's resolution machinery.
:func:`positions` runs the same code generation with a state that keeps plain tuples,
counts newlines only in tokens that hold one, keeps no tokens, and makes the
``CodeRange`` of a node when it is asked for (findings, fixes and facts ask for a few).

The rules of the original are kept exactly (a test compares both on real files): a
node's syntactic position recorded inside its own code generation (with positions
hoisted from a first or last child) wins over the whole-node position recorded after it.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

_NEWLINE = re.compile(r"\r\n?|\n")

#: (start line, start column, end line, end column): lines one-based, columns zero-based.
_Range = Tuple[int, int, int, int]


class _RecordingState(CodegenState):
    """A code generation state that records positions and generates no text."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        self.starts: List[Tuple[int, int]] = []
        self.computed: Dict[cst.CSTNode, _Range] = {}

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        if not self.tokens:
            # ``Module`` asks whether anything was generated (an empty module's newline).
            self.tokens.append(value)
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def pop_trailing_newline(self) -> None:
        # The original drops the last token of the text; positions are not moved by it.
        pass

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.starts.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        line, column = self.starts.pop()
        if node not in self.computed:
            self.computed[node] = (line, column, self.line, self.column)

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        start_line, start_column = self.line, self.column
        try:
            yield
        finally:
            end_line, end_column = self.line, self.column
            if start_node is not None:
                start_line, start_column = self.computed[start_node][:2]
            if end_node is not None:
                end_line, end_column = self.computed[end_node][2:]
            self.computed[node] = (start_line, start_column, end_line, end_column)


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """node -> its ``CodeRange`` (as ``PositionProvider`` gives it), made on access."""

    def __init__(self, computed: Dict[cst.CSTNode, _Range]) -> None:
        self._computed = computed

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        sl, sc, el, ec = self._computed[node]
        return CodeRange(CodePosition(sl, sc), CodePosition(el, ec))

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._computed)

    def __len__(self) -> int:
        return len(self._computed)

    def __contains__(self, node: object) -> bool:
        return node in self._computed


def positions(module: cst.Module) -> Positions:
    """The syntactic position of every node of ``module``."""
    state = _RecordingState(module)
    module._codegen(state)
    return Positions(state.computed)


__all__ = ["Positions", "positions"]
