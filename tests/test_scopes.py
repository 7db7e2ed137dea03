"""The binding table (opslint/analysis/scopes.py): Python's scoping rules and the kinds hook."""

from __future__ import annotations

import textwrap
from typing import List, Optional, Tuple

import libcst as cst
import pytest

from opslint.analysis.scopes import Answer, BindingKind, BindingTable, Scope, ScopeKind, agreed, any_of
from opslint.config import Settings
from opslint.context import FileContext
from opslint.engine import _Dispatcher
from opslint.syntax.walk import find_all, walk


def _table(source: str) -> Tuple[BindingTable, cst.Module]:
    module = cst.parse_module(textwrap.dedent(source))
    ctx = FileContext(path="m.py", display_path="m.py", text=module.code, module=module, settings=Settings())
    table = ctx.analyses.get(BindingTable)
    walk(module, _Dispatcher(ctx, [table], [], lambda rule, exc: None))
    return table, module


def _function(module: cst.Module, name: str) -> cst.FunctionDef:
    return next(f for f in find_all(module, cst.FunctionDef) if f.name.value == name)


def _scope(table: BindingTable, module: cst.Module, name: str) -> Scope:
    scope = table.scope_of(_function(module, name))
    assert scope is not None
    return scope


def _kinds(bindings: List[object]) -> List[str]:
    return [b.kind.value for b in bindings]  # type: ignore[attr-defined]


def test_function_locals_globals_and_nonlocals() -> None:
    table, module = _table(
        """
        import redis as r
        client = r.Redis()

        def uses():
            return client

        def shadows():
            client = None
            return client

        def declares():
            if ready():
                global client
            client = make()

        def outer():
            lock = 1
            def inner():
                nonlocal lock
                lock = 2
            return inner
        """
    )
    assert table.module_scope is not None
    assert _kinds(table.lookup("client", _scope(table, module, "uses"))) == ["assign", "assign"]
    assert _kinds(table.lookup("client", _scope(table, module, "shadows"))) == ["assign"]
    assert len(table.module_scope.own("client")) == 2  # `global client` binds at module level
    outer = _scope(table, module, "outer")
    assert len(outer.own("lock")) == 2  # `nonlocal lock` binds in outer
    (imported,) = table.lookup("r", outer)
    assert imported.kind is BindingKind.IMPORT and imported.imported == "redis"


def test_class_bodies_are_not_visible_from_methods() -> None:
    table, module = _table(
        """
        lock = "module"

        class Job:
            lock = "class"

            def run(self):
                return lock
        """
    )
    (found,) = table.lookup("lock", _scope(table, module, "run"))
    assert found.scope.kind is ScopeKind.MODULE


def test_self_attributes_class_attributes_and_bases() -> None:
    table, module = _table(
        """
        import threading

        class Base:
            def __init__(self):
                self.lock = threading.Lock()

        class Worker(Base):
            limit = 3

            def run(this):
                this.lock.acquire()
                return Worker.limit

            @staticmethod
            def helper(x):
                x.lock = 1
        """
    )
    run = _scope(table, module, "run")
    assert run.self_name == "this"
    (attr,) = table.resolve(cst.parse_expression("this.lock"), run)
    assert attr.kind is BindingKind.ASSIGN and attr.scope.node is table.class_named("Base").node  # type: ignore[union-attr]
    (limit,) = table.resolve(cst.parse_expression("Worker.limit"), run)
    assert limit.value is not None
    assert _scope(table, module, "helper").self_name is None  # a staticmethod has no instance


def test_comprehensions_lambdas_walrus_and_targets() -> None:
    table, module = _table(
        """
        def f(items, *rest, key: int = 0, **kw):
            total = [y for x in items if (y := x)]
            g = lambda z: z
            for a, b in items:
                pass
            with open("p") as fh:
                pass
            try:
                pass
            except ValueError as err:
                pass
            match items:
                case [first, *others]:
                    pass
            return total
        """
    )
    scope = _scope(table, module, "f")
    for name in ("items", "rest", "key", "kw"):
        assert _kinds(scope.own(name)) == ["param"], name
    assert "y" in scope.bindings and "x" not in scope.bindings  # walrus escapes the comprehension
    assert _kinds(scope.own("a")) == ["loop"] and _kinds(scope.own("fh")) == ["with"]
    assert _kinds(scope.own("err")) == ["except"]
    assert _kinds(scope.own("first")) == ["match"] and _kinds(scope.own("others")) == ["match"]
    (key,) = scope.own("key")
    assert key.annotation is not None
    kinds = {s.kind for s in table.scopes()}
    assert {ScopeKind.LAMBDA, ScopeKind.COMPREHENSION} <= kinds


class _Locks:
    """A toy family: ``threading.Lock()`` is a lock, ``int()`` a number."""

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if isinstance(value, cst.Call):
            text = cst.Module([]).code_for_node(value.func)
            return {"threading.Lock": "lock", "int": "number"}.get(text)
        return None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        text = cst.Module([]).code_for_node(annotation)
        return "lock" if text.strip("\"'").endswith("Lock") else None


@pytest.mark.parametrize(
    ("expr", "function", "expected"),
    [
        ("mutex", "direct", ["lock"]),
        ("alias", "direct", ["lock"]),
        ("made", "direct", ["lock"]),
        ("self.guard", "Service.run", ["lock"]),
        ("self.injected", "Service.run", ["lock"]),  # a parameter of the method that set it
        ("param", "annotated", ["lock"]),
        ("mixed", "direct", [None, "number"]),  # a conditional value is not followed
        ("unknown", "direct", [None]),
        ("looped", "direct", [None]),
    ],
)
def test_kinds_follow_names_factories_attributes_and_annotations(
    expr: str, function: str, expected: List[Optional[str]]
) -> None:
    table, module = _table(
        """
        import threading

        def make_lock():
            return threading.Lock()

        def direct(flag):
            mutex = threading.Lock()
            alias = mutex
            made = make_lock()
            mixed = threading.Lock() if flag else int()
            mixed = int()
            for looped in range(3):
                pass
            return unknown

        def annotated(param: "threading.Lock"):
            return param

        class Service:
            def __init__(self, given: threading.Lock):
                self.guard = make_lock()
                self.injected = given

            def run(self):
                return self.guard
        """
    )
    name = function.split(".")[-1]
    scope = _scope(table, module, name)
    answers = table.kinds(cst.parse_expression(expr), scope, _Locks())
    assert [a.kind for a in answers] == expected
    assert any_of(answers) == [k for k in dict.fromkeys(expected) if k is not None]
    if None not in expected and len(set(expected)) == 1:
        assert agreed(answers) == expected[0]


def test_agreed_needs_every_answer() -> None:
    assert agreed([Answer("a", None), Answer("a", None)]) == "a"
    assert agreed([Answer("a", None), Answer(None, None)]) is None
    assert agreed([Answer("a", None), Answer("b", None)]) is None
    assert agreed([]) is None


def test_analyse_alone_builds_the_same_table_outside_the_traversal() -> None:
    from opslint.analysis.base import analyse_alone

    module = cst.parse_module("import redis\nclient = redis.Redis()\n\ndef f():\n    return client\n")
    ctx = FileContext(path="m.py", display_path="m.py", text=module.code, module=module, settings=Settings())
    table = analyse_alone(ctx, BindingTable)
    scope = _scope(table, module, "f")
    found = table.lookup("client", scope)
    assert [b.kind for b in found] == [BindingKind.ASSIGN]
    assert ctx.stack == []
