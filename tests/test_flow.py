"""Path queries (opslint/analysis/flow.py): a toy analysis where ``use()`` dirties, ``drain()`` cleans."""

from __future__ import annotations

import textwrap
from typing import FrozenSet, List, Tuple

import libcst as cst
import pytest

from opslint.analysis.flow import PathWalker, join
from opslint.syntax.names import ImportTable
from opslint.syntax.nodes import (
    ExitKind,
    calls_in,
    exit_kind_of_statement,
    loops_forever,
    suite_statements,
    tail_statements,
)


class Toy(PathWalker[str]):
    """``use()`` adds "x"; ``drain()`` removes it; ``with drained():`` drains on exit;
    calls to functions of the module are inlined."""

    def __init__(self, module: cst.Module) -> None:
        imports = ImportTable("")
        imports.add_top_level(module.body)
        super().__init__(imports)
        self.functions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
        self.exits: List[Tuple[ExitKind, int, FrozenSet[str]]] = []
        self.module = module

    def on_node(self, node: cst.CSTNode, state: FrozenSet[str]) -> FrozenSet[str]:
        for call in calls_in(node):
            if isinstance(call.func, cst.Name):
                name = call.func.value
                if name == "use":
                    state = state | {"x"}
                elif name == "drain":
                    state = state - {"x"}
                elif name in self.functions:
                    out = self.inline(suite_statements(self.functions[name].body), state)
                    state = state if out is None else out
        return state

    def with_drains(self, item: cst.WithItem, state: FrozenSet[str]) -> FrozenSet[str]:
        expr = item.item
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "drained":
            return frozenset({"x"})
        return frozenset()

    def on_exit(self, kind: ExitKind, node: cst.CSTNode, state: FrozenSet[str]) -> None:
        self.exits.append((kind, _line(self.module, node), state))


def _line(module: cst.Module, node: cst.CSTNode) -> int:
    from libcst.metadata import MetadataWrapper, PositionProvider

    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return positions[node].start.line


def _dirty_exits(src: str) -> List[Tuple[str, int]]:
    module = cst.parse_module(textwrap.dedent(src).lstrip("\n"))
    main = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "main")
    toy = Toy(module)
    toy.run(suite_statements(main.body), frozenset(), main)
    return [(kind.value, line) for kind, line, state in toy.exits if "x" in state]


def test_straight_line_drain_and_early_return() -> None:
    assert _dirty_exits(
        """
        def main():
            use()
            if bad:
                return 1
            drain()
        """
    ) == [("return", 4)]


def test_finally_applies_to_every_exit() -> None:
    assert (
        _dirty_exits(
            """
            import sys
            def main():
                try:
                    use()
                    if bad:
                        sys.exit(2)
                    raise ValueError
                finally:
                    drain()
            """
        )
        == []
    )


def test_drain_only_in_except_leaves_the_normal_path_dirty() -> None:
    assert _dirty_exits(
        """
        def main():
            try:
                use()
            except OSError:
                drain()
                raise
        """
    ) == [("end", 1)]


def test_raise_inside_try_goes_to_handler_and_sys_exit_is_not_caught_by_exception() -> None:
    assert _dirty_exits(
        """
        import sys
        def main():
            use()
            try:
                raise KeyError
            except Exception:
                drain()
            use()
            try:
                sys.exit(1)
            except Exception:
                drain()
        """
    ) == [("sys.exit", 10)]


def test_with_block_drains_and_break_leaves_loops() -> None:
    assert (
        _dirty_exits(
            """
            def main():
                with drained():
                    use()
                    for item in items:
                        use()
                        if item:
                            return
            """
        )
        == []
    )
    assert _dirty_exits(
        """
        def main():
            for item in items:
                use()
                if item:
                    break
                drain()
        """
    ) == [("end", 1)]


def test_forever_loop_has_no_end() -> None:
    assert (
        _dirty_exits(
            """
        def main():
            while True:
                use()
        """
        )
        == []
    )
    module = cst.parse_module("while True:\n    if x:\n        break\n")
    assert not loops_forever(module.body[0])
    module = cst.parse_module("while True:\n    for y in z:\n        break\n")
    assert loops_forever(module.body[0])


def test_inlined_helper_drains_and_its_return_goes_back() -> None:
    assert (
        _dirty_exits(
            """
            def close_all():
                if fast:
                    drain()
                    return
                drain()

            def main():
                use()
                close_all()
            """
        )
        == []
    )
    assert _dirty_exits(
        """
        import sys
        def fail():
            sys.exit(3)

        def main():
            use()
            fail()
        """
    ) == [("sys.exit", 3)]


def test_loop_carried_use_after_drain() -> None:
    assert _dirty_exits(
        """
        def main():
            for item in items:
                drain()
                use()
        """
    ) == [("end", 1)]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("return 1", ExitKind.RETURN),
        ("raise SystemExit(2)", ExitKind.SYS_EXIT),
        ("raise ValueError('x')", ExitKind.RAISE),
        ("sys.exit()", ExitKind.SYS_EXIT),
        ("exit(1)", ExitKind.SYS_EXIT),
        ("os._exit(0)", ExitKind.HARD_EXIT),
        ("print()", None),
    ],
)
def test_exit_kinds(code: str, kind: object) -> None:
    module = cst.parse_module(f"import os, sys\n{code}\n")
    imports = ImportTable("")
    imports.add_top_level(module.body)
    stmt = module.body[1]
    assert isinstance(stmt, cst.SimpleStatementLine)
    assert exit_kind_of_statement(stmt.body[0], imports) == kind


def test_tail_statements() -> None:
    module = cst.parse_module(
        textwrap.dedent(
            """
            a()
            if x:
                b()
            else:
                try:
                    c()
                finally:
                    d()
            """
        )
    )
    tails = [module.code_for_node(s).strip().splitlines()[0] for s in tail_statements(list(module.body))]
    assert tails == ["if x:", "b()", "try:", "d()"]


def test_calls_in_evaluation_order() -> None:
    expr = cst.parse_expression("sys.exit(main(helper()))")
    assert [cst.Module(body=[]).code_for_node(c.func) for c in calls_in(expr)] == ["helper", "main", "sys.exit"]


def test_join() -> None:
    assert join(None, None) is None
    assert join(frozenset({1}), None, frozenset({2})) == frozenset({1, 2})


class MustToy(Toy):
    """The same transfer, joined by intersection: "x" holds only where every path used it."""

    must = True


def _exit_states(src: str, walker: type = Toy) -> List[Tuple[str, int, List[str]]]:
    module = cst.parse_module(textwrap.dedent(src).lstrip("\n"))
    main = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "main")
    toy = walker(module)
    toy.run(suite_statements(main.body), frozenset(), main)
    return [(kind.value, line, sorted(state)) for kind, line, state in toy.exits]


def test_must_join_keeps_only_facts_of_every_path() -> None:
    src = """
    def main():
        if cond:
            use()
        return 1
    """
    assert _exit_states(src) == [("return", 4, ["x"])]
    assert _exit_states(src, MustToy) == [("return", 4, [])]
    both = """
    def main():
        if cond:
            use()
        else:
            use()
        return 1
    """
    assert _exit_states(both, MustToy) == [("return", 6, ["x"])]


def test_match_cases_and_an_irrefutable_case_end_the_fall_through() -> None:
    partial = """
    def main():
        match command:
            case "run":
                use()
            case "stop":
                return 0
        return 1
    """
    assert _exit_states(partial, MustToy) == [("return", 6, []), ("return", 7, [])]
    assert _exit_states(partial) == [("return", 6, []), ("return", 7, ["x"])]
    total = """
    def main():
        match command:
            case "run":
                use()
            case _:
                use()
        return 1
    """
    assert _exit_states(total, MustToy) == [("return", 7, ["x"])]


def test_try_star_handlers_and_finally_are_walked() -> None:
    src = """
    def main():
        try:
            use()
            raise ExceptionGroup("x", [ValueError()])
        except* ValueError:
            return 2
        finally:
            drain()
    """
    assert _dirty_exits(src) == []
    assert ("return", 6) in [(k, line) for k, line, _ in _exit_states(src)]


def test_a_while_test_runs_again_on_the_back_edge() -> None:
    """``while`` re-evaluates its test before each iteration and before the loop ends:
    a drain (or a use) in the test applies to what the body hands back."""
    assert (
        _dirty_exits(
            """
            def main():
                while not drain():
                    use()
            """
        )
        == []
    )
    seen: List[FrozenSet[str]] = []

    class Heads(MustToy):
        def on_loop_head(self, loop: cst.For | cst.While, state: FrozenSet[str]) -> FrozenSet[str]:
            seen.append(state)
            return super().on_loop_head(loop, state)

    module = cst.parse_module("def main():\n    use()\n    while check():\n        drain()\n")
    main = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    Heads(module).run(suite_statements(main.body), frozenset(), main)
    # Entered with "x"; the test is then evaluated again on the drained back edge.
    assert seen[0] == {"x"} and frozenset() in seen[1:]


class Jumps(Toy):
    """Notes the state at each ``break``/``continue`` (``on_jump``)."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(module)
        self.jumps: List[Tuple[str, int, FrozenSet[str]]] = []

    def on_jump(self, node: object, state: FrozenSet[str]) -> None:
        assert isinstance(node, (cst.Break, cst.Continue))
        self.jumps.append((type(node).__name__, _line(self.module, node), state))


def test_on_jump_sees_the_state_of_each_break_and_continue() -> None:
    module = cst.parse_module(
        textwrap.dedent(
            """\
            def main():
                while True:
                    use()
                    if a:
                        continue
                    drain()
                    if b:
                        break
                    with drained():
                        use()
                        continue
            """
        )
    )
    main = module.body[0]
    assert isinstance(main, cst.FunctionDef)
    loop = suite_statements(main.body)[0]
    assert isinstance(loop, cst.While)
    walker = Jumps(module)
    # A walk of the loop body alone: its jumps have no loop frame, on_jump still sees them.
    walker.run(suite_statements(loop.body), frozenset(), loop)
    assert walker.jumps == [
        ("Continue", 5, frozenset({"x"})),
        ("Break", 8, frozenset()),
        ("Continue", 11, frozenset({"x"})),
    ]


def test_nested_statements_give_the_enclosing_parts() -> None:
    from opslint.syntax.nodes import nested_statements

    module = cst.parse_module(
        textwrap.dedent(
            """\
            def main():
                for x in y:
                    try:
                        a()
                    except E:
                        b()
                if c:
                    d()
                elif e:
                    f()
            """
        )
    )
    main = module.body[0]
    assert isinstance(main, cst.FunctionDef)
    found = {
        module.code_for_node(stmt).strip(): [(type(outer).__name__, role) for outer, role in enclosing]
        for stmt, enclosing in nested_statements(suite_statements(main.body))
        if isinstance(stmt, cst.SimpleStatementLine)
    }
    assert found == {
        "a()": [("For", "body"), ("Try", "body")],
        "b()": [("For", "body"), ("Try", "handler")],
        "d()": [("If", "body")],
        "f()": [("If", "else"), ("If", "body")],
    }
