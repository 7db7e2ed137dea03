"""opslint.syntax.walk visits exactly the nodes LibCST's own visit does, in the same order."""

from __future__ import annotations

import glob
import os
import textwrap
from typing import List, Tuple

import libcst as cst
import pytest

from opslint.syntax.walk import TRIVIA, iter_nodes, walk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = sorted(
    glob.glob(os.path.join(ROOT, "fixtures", "**", "*.py"), recursive=True)
    + glob.glob(os.path.join(ROOT, "opslint", "**", "*.py"), recursive=True)
    + glob.glob(os.path.join(ROOT, "rules", "*.py"))
)

EVERY_FORM = textwrap.dedent(
    """\
    from __future__ import annotations
    import a.b as c, d
    from .x import (y as z, w)
    from . import *

    @decorator(arg, *args, key=1, **kw)
    async def f(a, /, b: int = 1, *c, d, e=2, **g) -> "T":
        global q
        async with x as (y, z), w:
            async for i in aiter():
                await g(i)
        yield from h
        return [x async for x in y if x] or {k: v for k, v in z} or {*s} or (t for t in u)

    class C(Base, metaclass=M):
        x: int = 1
        def m(self):
            nonlocal_free = lambda a, *b, c=1, **d: a if b else c
            del self.x[1:2:3], y
            assert x, "msg"
            raise E from err
            try:
                pass
            except (A, B) as e:
                pass
            else:
                pass
            finally:
                pass

    try:
        pass
    except* C:
        pass

    match command.split():
        case [x, *rest] if x:
            pass
        case {"k": v, **kw}:
            pass
        case Point(x=0, y=_) | None:
            pass
        case str() as s:
            pass
    x = f"{a!r:>{width}} {b=}" "concat" r"raw"
    y = (yield)
    if (n := len(a)) > 10 and not b or -c ** 2 // 3 @ m: print(n); x += 1
    while True:
        break
    else:
        continue
    with open(p) as fh: data = fh.read()
    """
)


class _Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: List[Tuple[str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.seen.append(("visit", id(node)))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.seen.append(("leave", id(original_node)))


def _same_order(module: cst.Module) -> None:
    theirs, ours = _Recorder(), _Recorder()
    module.visit(theirs)
    walk(module, ours)
    # The walk leaves out layout (whitespace, comments, punctuation), which holds only
    # more layout: every other node is visited, in LibCST's order.
    kinds = {id(n): type(n) for n in _every_node(module)}
    for node in _every_node(module):
        if type(node) in TRIVIA:
            assert all(type(child) in TRIVIA for child in node.children), type(node)
    theirs.seen = [(event, i) for event, i in theirs.seen if kinds[i] not in TRIVIA]
    assert ours.seen == theirs.seen
    # iter_nodes (the rules' replacement for m.findall) yields the visits' order.
    assert [id(n) for n in iter_nodes(module)] == [i for event, i in theirs.seen if event == "visit"]


def _every_node(node: cst.CSTNode) -> List[cst.CSTNode]:
    out = [node]
    for child in node.children:
        out.extend(_every_node(child))
    return out


def test_every_syntactic_form() -> None:
    _same_order(cst.parse_module(EVERY_FORM))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_real_files(path: str) -> None:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        pytest.skip("not parsable (a syntax-error fixture)")
    _same_order(module)


def test_an_order_that_disagrees_with_children_falls_back_to_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    """A LibCST release whose private visit code no longer matches: the walk checks the
    order it read against the public ``children`` once per type and falls back."""
    from opslint.syntax import walk as walk_module

    module = cst.parse_module("call(first, second)\n")
    call = module.body[0].body[0].value  # type: ignore[attr-defined]
    monkeypatch.setattr(walk_module, "_CHECKED", {})
    monkeypatch.setattr(walk_module, "_ORDER", {type(call): ("args", "func")})  # a wrong order
    assert walk_module.children(call) == [c for c in call.children if type(c) not in TRIVIA]
    assert walk_module._CHECKED[type(call)] is None
