"""The one intraprocedural dataflow walker of the rules, over LibCST statements.

Not a full control-flow graph: a forward analysis over the statement tree, which is
what the rules need ("can this exit be reached after a use without a drain on that
path?" is a *may* question, OPS1xx; "has this object certainly not been flushed
here?" is a *must* question, OPS201).  Facts are hashable items in a frozenset;
paths join by union (may, the default) or by intersection (``must = True``);
``None`` means "unreachable".  Exits, loops and blocks are read with
``opslint.syntax.nodes`` (one list of exit calls, ``match`` and ``try*`` included).

* :class:`PathWalker`: the forward walker.  Subclasses override
  :meth:`PathWalker.on_node` (transfer function for one simple statement or a
  test expression), :meth:`PathWalker.with_drains` (facts a ``with`` item
  removes when the block is left, on every path), :meth:`PathWalker.on_exit`
  and :meth:`PathWalker.on_jump` (a ``break``/``continue`` reached).
  ``try``/``finally`` and ``with`` blocks are applied to every exit that leaves
  them; explicit ``raise`` inside a ``try`` with handlers goes to the handlers;
  ``break``/``continue`` are followed;
  :meth:`PathWalker.inline` walks a callee's body in the caller's context (its
  ``return`` goes back to the caller, its ``sys.exit()`` leaves through the
  caller's ``finally`` blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, FrozenSet, Generic, Hashable, List, Optional, Sequence, TypeVar, Union

import libcst as cst

from opslint.syntax.names import ImportTable
from opslint.syntax.nodes import (
    ExitKind,
    caught_types,
    exit_kind_of_statement,
    irrefutable,
    loops_forever,
    suite_statements,
)

F = TypeVar("F", bound=Hashable)
State = Optional[FrozenSet[F]]


# -- the walker ------------------------------------------------------------------------


def join(*states: State[F]) -> State[F]:
    """Union of reachable states (``None`` = unreachable): a "may" join."""
    out: Optional[FrozenSet[F]] = None
    for state in states:
        if state is None:
            continue
        out = state if out is None else out | state
    return out


def meet(*states: State[F]) -> State[F]:
    """Intersection of reachable states (``None`` = unreachable): a "must" join."""
    out: Optional[FrozenSet[F]] = None
    for state in states:
        if state is None:
            continue
        out = state if out is None else out & state
    return out


@dataclass
class _With(Generic[F]):
    drains: FrozenSet[F]


@dataclass
class _Try(Generic[F]):
    node: Union[cst.Try, cst.TryStar]
    phase: str = "body"
    raised: List[FrozenSet[F]] = field(default_factory=list)
    seen: List[FrozenSet[F]] = field(default_factory=list)


@dataclass
class _Loop(Generic[F]):
    breaks: List[FrozenSet[F]] = field(default_factory=list)
    continues: List[FrozenSet[F]] = field(default_factory=list)


@dataclass
class _Call(Generic[F]):
    returns: List[FrozenSet[F]] = field(default_factory=list)
    on_return: Optional[Callable[[ExitKind, cst.CSTNode, FrozenSet[F]], FrozenSet[F]]] = None


_Frame = Union[_With[F], _Try[F], _Loop[F], _Call[F]]


def _catches(handler: Union[cst.ExceptHandler, cst.ExceptStarHandler], kind: ExitKind) -> bool:
    if kind is ExitKind.RAISE:
        return True
    if kind is ExitKind.SYS_EXIT:
        if handler.type is None:
            return True
        for value in caught_types(handler):
            if isinstance(value, cst.Name) and value.value in ("SystemExit", "BaseException"):
                return True
    return False


class PathWalker(Generic[F]):
    """Forward dataflow over statements; see the module docstring.

    ``must = False`` (the default) is a "may" analysis: paths join by union, a fact
    holds after a join when it holds on some path.  ``must = True`` joins by
    intersection: a fact holds when it holds on every path that reaches the point.
    """

    #: Inlining depth limit for :meth:`inline`.
    max_depth = 4
    #: Join by intersection instead of union.
    must = False

    def _join(self, *states: State[F]) -> State[F]:
        return meet(*states) if self.must else join(*states)

    def __init__(self, imports: Optional[ImportTable] = None) -> None:
        self.imports = imports
        self.frames: List[_Frame[F]] = []
        self.depth = 0
        #: Set by :meth:`inline` when the callee cannot return.
        self.no_return = False

    # -- hooks -------------------------------------------------------------

    def on_node(self, node: cst.CSTNode, state: FrozenSet[F]) -> FrozenSet[F]:
        """Transfer function for one simple statement (or a test/iterator expression)."""
        return state

    def with_drains(self, item: cst.WithItem, state: FrozenSet[F]) -> FrozenSet[F]:
        """Facts removed on every path that leaves this ``with`` item's block."""
        return frozenset()

    def on_exit(self, kind: ExitKind, node: cst.CSTNode, state: FrozenSet[F]) -> None:
        """An exit of the walked body (after ``finally``/``with`` blocks were applied)."""

    def on_jump(self, node: Union[cst.Break, cst.Continue], state: FrozenSet[F]) -> None:
        """A ``break`` or ``continue`` is reached with ``state`` (before the enclosing
        ``with`` blocks drop what they drain).  A walk of a loop's body (``run`` on
        ``loop.body``) sees here the paths that go round again."""

    def on_loop_head(self, loop: Union[cst.For, cst.While], state: FrozenSet[F]) -> FrozenSet[F]:
        """Transfer for a loop's iterator / test (default: :meth:`on_node` on it)."""
        return self.on_node(loop.iter if isinstance(loop, cst.For) else loop.test, state)

    def on_loop_next(self, loop: cst.For, state: FrozenSet[F]) -> FrozenSet[F]:
        """Transfer for a ``for`` loop's next iteration: its target takes the next item (the
        iterator is not evaluated again).  Default: nothing changes."""
        return state

    def is_forever(self, loop: Union[cst.For, cst.While]) -> bool:
        """Whether the loop never ends by itself (override for endless iterators)."""
        return loops_forever(loop)

    def drop(self, state: FrozenSet[F], drains: FrozenSet[F]) -> FrozenSet[F]:
        """``state`` without the facts a ``with`` block drains (override to match loosely)."""
        return state - drains

    # -- driver --------------------------------------------------------------

    def run(self, body: Sequence[cst.BaseStatement], state: FrozenSet[F], end_node: cst.CSTNode) -> None:
        """Walk a body; falling off its end is reported as ``ExitKind.END`` at ``end_node``."""
        out = self.suite(body, state)
        if out is not None:
            self.on_exit(ExitKind.END, end_node, out)

    def inline(
        self,
        body: Sequence[cst.BaseStatement],
        state: FrozenSet[F],
        on_return: Optional[Callable[[ExitKind, cst.CSTNode, FrozenSet[F]], FrozenSet[F]]] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> State[F]:
        """Walk a callee's body from ``state``; return the state when it returns (None: never)."""
        if self.depth >= self.max_depth:
            return state
        frame: _Call[F] = _Call(on_return=on_return)
        self.frames.append(frame)
        self.depth += 1
        try:
            out = self.suite(body, state)
        finally:
            self.depth -= 1
            self.frames.pop()
        if out is not None and on_return is not None and end_node is not None:
            out = on_return(ExitKind.END, end_node, out)
        result = self._join(out, *frame.returns)
        if result is None:
            # The callee never returns (it always exits): the statement that
            # called it ends the path.
            self.no_return = True
        return result

    def suite(self, body: Sequence[cst.BaseStatement], state: State[F]) -> State[F]:
        for stmt in body:
            if state is None:
                return None
            state = self.statement(stmt, state)
        return state

    def _block(self, suite: cst.BaseSuite, state: State[F]) -> State[F]:
        return self.suite(suite_statements(suite), state)

    def _note(self, state: FrozenSet[F]) -> None:
        for frame in reversed(self.frames):
            if isinstance(frame, _Try) and frame.phase == "body":
                frame.seen.append(state)
                return
            if isinstance(frame, _Call):
                continue

    def statement(self, stmt: cst.BaseStatement, state: FrozenSet[F]) -> State[F]:
        if isinstance(stmt, cst.SimpleStatementLine):
            current: State[F] = state
            for small in stmt.body:
                if current is None:
                    return None
                current = self._small(small, current)
            return current
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return state
        if isinstance(stmt, cst.If):
            return self._if(stmt, state)
        if isinstance(stmt, (cst.For, cst.While)):
            return self._loop(stmt, state)
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            return self._try(stmt, state)
        if isinstance(stmt, cst.With):
            return self._with(stmt, state)
        if isinstance(stmt, cst.Match):
            return self._match(stmt, state)
        return state

    def _small(self, small: cst.BaseSmallStatement, state: FrozenSet[F]) -> State[F]:
        if isinstance(small, (cst.Break, cst.Continue)):
            self.on_jump(small, state)
            self._jump(state, brk=isinstance(small, cst.Break))
            return None
        self.no_return = False
        state = self.on_node(small, state)
        self._note(state)
        if self.no_return:
            self.no_return = False
            return None
        kind = exit_kind_of_statement(small, self.imports)
        if kind is None:
            return state
        self.leave(kind, small, state)
        return None

    def _jump(self, state: FrozenSet[F], brk: bool) -> None:
        for frame in reversed(self.frames):
            if isinstance(frame, _With):
                state = self.drop(state, frame.drains)
            elif isinstance(frame, _Loop):
                (frame.breaks if brk else frame.continues).append(state)
                return

    def leave(self, kind: ExitKind, node: cst.CSTNode, state: FrozenSet[F]) -> None:
        """Route an exit through the enclosing frames, then report it."""
        index = len(self.frames) - 1
        current: State[F] = state
        while index >= 0 and current is not None:
            frame = self.frames[index]
            if isinstance(frame, _With):
                if kind is not ExitKind.HARD_EXIT:
                    current = self.drop(current, frame.drains)
            elif isinstance(frame, _Try):
                if (
                    frame.phase == "body"
                    and kind in (ExitKind.RAISE, ExitKind.SYS_EXIT)
                    and any(_catches(h, kind) for h in frame.node.handlers)
                ):
                    frame.raised.append(current)
                    return
                final = frame.node.finalbody
                if final is not None and frame.phase != "finally" and kind is not ExitKind.HARD_EXIT:
                    saved = self.frames
                    self.frames = saved[:index]
                    try:
                        current = self._block(final.body, current)
                    finally:
                        self.frames = saved
            elif isinstance(frame, _Call) and kind is ExitKind.RETURN:
                if frame.on_return is not None:
                    current = frame.on_return(kind, node, current)
                frame.returns.append(current)
                return
            index -= 1
        if current is not None:
            self.on_exit(kind, node, current)

    def _if(self, stmt: cst.If, state: FrozenSet[F]) -> State[F]:
        after = self.on_node(stmt.test, state)
        body = self._block(stmt.body, after)
        orelse = stmt.orelse
        if orelse is None:
            other: State[F] = after
        elif isinstance(orelse, cst.If):
            other = self._if(orelse, after)
        else:
            other = self._block(orelse.body, after)
        return self._join(body, other)

    def _loop(self, stmt: Union[cst.For, cst.While], state: FrozenSet[F]) -> State[F]:
        head = self.on_loop_head(stmt, state)
        frame: _Loop[F] = _Loop()
        self.frames.append(frame)
        try:
            out = self._block(stmt.body, head)
            again = self._join(head, self._back_edge(stmt, out, frame))
            if again is not None and again != head:
                out2 = self._block(stmt.body, again)
                out = self._join(out, out2)
        finally:
            self.frames.pop()
        forever = self.is_forever(stmt)
        ended: State[F] = None if forever else self._join(head, self._back_edge(stmt, out, frame))
        if stmt.orelse is not None and ended is not None:
            ended = self._block(stmt.orelse.body, ended)
        return self._join(ended, *frame.breaks)

    def _back_edge(self, stmt: Union[cst.For, cst.While], out: State[F], frame: _Loop[F]) -> State[F]:
        """The state an iteration hands to the loop head: a ``while`` test runs again
        before the next iteration (and before the loop ends), a ``for`` iterator does not."""
        back = self._join(out, *frame.continues)
        if back is not None and isinstance(stmt, cst.While):
            back = self.on_loop_head(stmt, back)
        elif back is not None and isinstance(stmt, cst.For):
            back = self.on_loop_next(stmt, back)
        return back

    def _match(self, stmt: cst.Match, state: FrozenSet[F]) -> State[F]:
        after = self.on_node(stmt.subject, state)
        outs: List[State[F]] = []
        current: State[F] = after
        for case in stmt.cases:
            if current is None:
                break
            entry = self.on_node(case.guard, current) if case.guard is not None else current
            outs.append(self._block(case.body, entry))
            if case.guard is None and irrefutable(case.pattern):
                current = None  # later cases and the fall-through are unreachable
        outs.append(current)
        return self._join(*outs)

    def _try(self, stmt: Union[cst.Try, cst.TryStar], state: FrozenSet[F]) -> State[F]:
        frame: _Try[F] = _Try(stmt)
        self.frames.append(frame)
        try:
            out = self._block(stmt.body, state)
            if stmt.orelse is not None:
                out = self._block(stmt.orelse.body, out)
            frame.phase = "handlers"
            outs: List[State[F]] = [out]
            if stmt.handlers:
                entry = self._join(state, out, *frame.raised, *frame.seen)
                assert entry is not None
                for handler in stmt.handlers:
                    outs.append(self._block(handler.body, entry))
            normal = self._join(*outs)
        finally:
            frame.phase = "finally"
            self.frames.pop()
        if stmt.finalbody is not None and normal is not None:
            normal = self._block(stmt.finalbody.body, normal)
        return normal

    def _with(self, stmt: cst.With, state: FrozenSet[F]) -> State[F]:
        drains: FrozenSet[F] = frozenset()
        for item in stmt.items:
            state = self.on_node(item.item, state)
            drains = drains | self.with_drains(item, state)
        frame: _With[F] = _With(drains)
        self.frames.append(frame)
        try:
            out = self._block(stmt.body, state)
        finally:
            self.frames.pop()
        return None if out is None else self.drop(out, drains)
