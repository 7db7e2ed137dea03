"""OPS6xx project facts: what a module defines that the consumers of other modules may
use, read once per module (``Rule.project_facts``) and stored as JSON by the project
index.

Module-level constants (numbers, strings, booleans; settings dicts with their
``**spreads``), module-level functions that return a new consumer (with the settings
of the construction they return), and the ``httpTimeout`` each
``firebase_admin.initialize_app`` call gives.  The literal helpers at the end
(``literal_value``, ``confluent_config_arg``, ``topic_of``) read the same syntax for the
per-file analysis too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.model import Span
from opslint.rules import _kafka
from opslint.source import LineIndex
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import positional, scope_nodes, unwrap_await
from opslint.syntax.positions import positions as node_positions
from opslint.syntax.walk import find_all


@dataclass(frozen=True)
class ValueFact:
    """A value as written in another module: ``lit`` (``text`` is its repr), ``ref`` (a
    qualified name of a module constant), or ``unknown``."""

    kind: str
    text: str = ""
    span: Optional[Span] = None


@dataclass(frozen=True)
class EntryFact:
    key: str
    value: ValueFact
    span: Optional[Span] = None


@dataclass(frozen=True)
class DictFact:
    """A settings dict (or a constructor's keywords): its entries in order, and the
    ``**spreads`` merged under them (``ref`` or ``unknown``)."""

    entries: Tuple[EntryFact, ...] = ()
    spreads: Tuple[ValueFact, ...] = ()
    complete: bool = True


@dataclass(frozen=True)
class FactoryFact:
    """A module-level function that returns a new consumer."""

    library: str
    settings: DictFact
    span: Optional[Span] = None
    topic: str = ""


@dataclass(frozen=True)
class KafkaModuleFacts:
    #: Module-level constants: a scalar (``value``) or a dict (``mapping``).
    scalars: Mapping[str, ValueFact] = field(default_factory=dict)
    mappings: Mapping[str, DictFact] = field(default_factory=dict)
    factories: Mapping[str, FactoryFact] = field(default_factory=dict)
    #: ``httpTimeout`` given to ``firebase_admin.initialize_app`` (``lit`` "None" when the
    #: options leave it out: the default applies).
    firebase_timeouts: Tuple[ValueFact, ...] = ()


def dataclass_fields(cls: cst.ClassDef) -> List[cst.AnnAssign]:
    """The annotated fields of a class body (``group_id: str = "indexer"``)."""
    out: List[cst.AnnAssign] = []
    for stmt in cls.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            out.extend(s for s in stmt.body if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name))
    return out


def module_facts(module: cst.Module, info: Any) -> Optional[KafkaModuleFacts]:
    """Facts of one module for OPS6xx (``Rule.project_facts``)."""
    return _FactReader(module, info.name, info.package, getattr(info, "text", "")).read()


class _FactReader:
    def __init__(self, module: cst.Module, name: str, package: str, text: str = "") -> None:
        self.module = module
        #: The module's source when the index gives it (else printed from the tree).
        self.text = text
        self.name = name
        self.imports = ImportTable(package)
        self.imports.add_top_level(module.body)
        self._positions: Optional[Mapping[cst.CSTNode, Any]] = None
        self._lines: Optional[LineIndex] = None
        self.top: Set[str] = set()

    def span(self, node: cst.CSTNode) -> Span:
        if self._positions is None or self._lines is None:
            self._positions = node_positions(self.module)
            self._lines = LineIndex(self.text or self.module.code)
        rng = self._positions[node]
        lines = self._lines
        return lines.span(lines.offset(rng.start.line, rng.start.column), lines.offset(rng.end.line, rng.end.column))

    def read(self) -> Optional[KafkaModuleFacts]:
        scalars: Dict[str, ValueFact] = {}
        mappings: Dict[str, DictFact] = {}
        factories: Dict[str, FactoryFact] = {}
        statements = list(_top_statements(self.module.body))
        for stmt in statements:
            for target, _value in _simple_assignments(stmt):
                self.top.add(target)
        for stmt in statements:
            for target, value in _simple_assignments(stmt):
                if isinstance(value, (cst.Dict, cst.Call)) and self._looks_like_dict(value):
                    mappings[target] = self.dict_fact(value)
                else:
                    fact = self.value(value)
                    if fact.kind == "lit":
                        scalars[target] = fact
            if isinstance(stmt, cst.FunctionDef):
                factory = self.factory(stmt)
                if factory is not None:
                    factories[stmt.name.value] = factory
                    continue
                # ``def consumer_options(): return {...}``: its dict, as ``"consumer_options()"``.
                returned = self._returned_dict(stmt)
                if returned is not None:
                    mappings[f"{stmt.name.value}()"] = self.dict_fact(returned)
            elif isinstance(stmt, cst.ClassDef) and self._dataclass(stmt):
                # ``asdict(ConsumerSettings())`` in another module: the fields' defaults.
                mappings[f"{stmt.name.value}()"] = self.dataclass_fact(stmt)
        self._instance_fields(statements, scalars)
        firebase: List[ValueFact] = []
        for call in find_all(self.module, cst.Call):
            if self.imports.resolve(call.func) in _kafka.FIREBASE_INIT:
                firebase.append(self.firebase_option(call))
        if not (scalars or mappings or factories or firebase):
            return None
        # Scalars matter only to resolve settings: keep numbers, strings and booleans.
        return KafkaModuleFacts(scalars, mappings, factories, tuple(firebase))

    def _instance_fields(self, statements: Sequence[cst.CSTNode], scalars: Dict[str, ValueFact]) -> None:
        """``settings = Settings()`` of a settings class of this module (a dataclass, a
        pydantic ``BaseSettings``): ``"settings.max_poll_records"`` is the field's default,
        or the keyword the instance is built with."""
        classes = {s.name.value: s for s in statements if isinstance(s, cst.ClassDef)}
        if not classes:
            return
        for stmt in statements:
            for target, value in _simple_assignments(stmt):
                if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)):
                    continue
                cls = classes.get(value.func.value)
                if cls is None or any(a.keyword is None for a in value.args):
                    continue
                given = {a.keyword.value: a.value for a in value.args if a.keyword is not None}
                for field_node in dataclass_fields(cls):
                    assert isinstance(field_node.target, cst.Name)
                    name = field_node.target.value
                    written = given.get(name, field_node.value)
                    fact = self.value(written) if written is not None else None
                    if fact is not None and fact.kind == "lit":
                        scalars[f"{target}.{name}"] = fact

    def _dataclass(self, cls: cst.ClassDef) -> bool:
        for decorator in cls.decorators:
            expr = decorator.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            if self.imports.resolve(func) in ("dataclasses.dataclass", "pydantic.dataclasses.dataclass"):
                return True
        return False

    def dataclass_fact(self, cls: cst.ClassDef) -> DictFact:
        entries: List[EntryFact] = []
        complete = True
        for small in dataclass_fields(cls):
            if small.value is None:
                complete = False
                continue
            assert isinstance(small.target, cst.Name)
            entries.append(EntryFact(small.target.value, self.value(small.value), self.span(small.target)))
        return DictFact(tuple(entries), (), complete)

    def _returned_dict(self, function: cst.FunctionDef) -> Optional[cst.BaseExpression]:
        """The dict a function returns, when it has one ``return`` and that is a dict."""
        values = [node.value for node in scope_nodes(function.body) if isinstance(node, cst.Return)]
        if len(values) != 1 or values[0] is None or not self._looks_like_dict(values[0]):
            return None
        return values[0]

    @staticmethod
    def _looks_like_dict(value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Dict):
            return True
        return isinstance(value, cst.Call) and dotted_name(value.func) == "dict"

    def value(self, expr: cst.BaseExpression) -> ValueFact:
        literal = literal_value(expr)
        if literal is not NOTHING:
            return ValueFact("lit", repr(literal), self.span(expr))
        if isinstance(expr, cst.Name) and expr.value in self.top:
            return ValueFact("ref", f"{self.name}.{expr.value}", self.span(expr))
        resolved = self.imports.resolve(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        if resolved is not None:
            return ValueFact("ref", resolved, self.span(expr))
        return ValueFact("unknown", "", self.span(expr))

    def dict_fact(self, expr: cst.BaseExpression) -> DictFact:
        entries: List[EntryFact] = []
        spreads: List[ValueFact] = []
        complete = True
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if not isinstance(element, cst.DictElement):
                    spreads.append(self.value(element.value))
                    continue
                key = literal_value(element.key)
                if not isinstance(key, str):
                    complete = False
                    continue
                entries.append(EntryFact(key, self.value(element.value), self.span(element.key)))
        elif isinstance(expr, cst.Call) and dotted_name(expr.func) == "dict":
            for arg in expr.args:
                if arg.keyword is not None:
                    entries.append(EntryFact(arg.keyword.value, self.value(arg.value), self.span(arg.keyword)))
                else:
                    spreads.append(self.value(arg.value))
        elif isinstance(expr, (cst.Name, cst.Attribute)):
            spreads.append(self.value(expr))
        else:
            complete = False
        return DictFact(tuple(entries), tuple(spreads), complete)

    def call_settings(
        self, call: cst.Call, library: _kafka.Library, local: Mapping[str, cst.BaseExpression]
    ) -> DictFact:
        if library.dotted:
            config = confluent_config_arg(call)
            if config is None:
                return DictFact(complete=False)
            if isinstance(config, cst.Name) and config.value in local:
                config = local[config.value]
            return self.dict_fact(config)
        entries: List[EntryFact] = []
        spreads: List[ValueFact] = []
        for arg in call.args:
            if arg.keyword is not None:
                entries.append(EntryFact(arg.keyword.value, self.value(arg.value), self.span(arg.keyword)))
            elif arg.star == "**":
                value = arg.value
                if isinstance(value, cst.Name) and value.value in local:
                    nested = self.dict_fact(local[value.value])
                    entries.extend(nested.entries)
                    spreads.extend(nested.spreads)
                    continue
                spreads.append(self.value(value))
        return DictFact(tuple(entries), tuple(spreads), True)

    def factory(self, function: cst.FunctionDef) -> Optional[FactoryFact]:
        local: Dict[str, cst.BaseExpression] = {}
        for node in scope_nodes(function.body):
            if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                local[node.targets[0].target.value] = node.value
        for node in scope_nodes(function.body):
            if not isinstance(node, cst.Return) or node.value is None:
                continue
            value = unwrap_await(node.value)
            if isinstance(value, cst.Name) and value.value in local:
                value = unwrap_await(local[value.value])
            if not isinstance(value, cst.Call):
                continue
            library = _kafka.CONSTRUCTORS.get(self.imports.resolve(value.func) or "")
            if library is None:
                continue
            return FactoryFact(
                library.name, self.call_settings(value, library, local), self.span(value), topic_of(value)
            )
        return None

    def firebase_option(self, call: cst.Call) -> ValueFact:
        options = firebase_options_arg(call)
        if options is None:
            return ValueFact("lit", "None")
        if not isinstance(options, cst.Dict):
            return ValueFact("unknown")
        for element in options.elements:
            if isinstance(element, cst.DictElement) and literal_value(element.key) == _kafka.FIREBASE_OPTION:
                return self.value(element.value)
        return ValueFact("lit", "None")


def firebase_options_arg(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The ``options`` of ``firebase_admin.initialize_app(cred, options)`` (positional or
    keyword), or None."""
    options: Optional[cst.BaseExpression] = None
    args = positional(call)
    if len(args) > 1:
        options = args[1].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "options":
            options = arg.value
    return options


def _top_statements(body: Sequence[cst.BaseStatement]) -> List[cst.CSTNode]:
    """Module-level statements, including those under ``if``/``try`` at module level."""
    out: List[cst.CSTNode] = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            out.extend(stmt.body)
        elif isinstance(stmt, (cst.If, cst.Try)):
            inner = stmt.body
            if isinstance(inner, cst.IndentedBlock):
                out.extend(_top_statements(inner.body))
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            out.append(stmt)
    return out


def _simple_assignments(stmt: cst.CSTNode) -> List[Tuple[str, cst.BaseExpression]]:
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
        return [(stmt.targets[0].target.value, stmt.value)]
    if isinstance(stmt, cst.AnnAssign) and stmt.value is not None and isinstance(stmt.target, cst.Name):
        return [(stmt.target.value, stmt.value)]
    return []


class _Nothing:
    def __repr__(self) -> str:
        return "<nothing>"


NOTHING: Any = _Nothing()


def literal_value(expr: cst.BaseExpression) -> Any:
    """The value of a literal (numbers with ``+ - * //``, strings, True/False/None), else ``NOTHING``."""
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if isinstance(expr, cst.Float):
        return float(expr.evaluated_value)
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        value = expr.evaluated_value
        return value if isinstance(value, str) else NOTHING
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = literal_value(expr.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else NOTHING
    if isinstance(expr, cst.BinaryOperation):
        left, right = literal_value(expr.left), literal_value(expr.right)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if not numbers:
            return NOTHING
        if isinstance(expr.operator, cst.Multiply):
            return left * right
        if isinstance(expr.operator, cst.Add):
            return left + right
        if isinstance(expr.operator, cst.Subtract):
            return left - right
        if isinstance(expr.operator, cst.FloorDivide) and right:
            return left // right
        if isinstance(expr.operator, cst.Divide) and right:
            return left / right
    return NOTHING


def confluent_config_arg(call: cst.Call) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "conf":
            return arg.value
    args = positional(call)
    return args[0].value if args else None


def topic_of(call: cst.Call) -> str:
    args = positional(call)
    if args:
        value = literal_value(args[0].value)
        if isinstance(value, str):
            return value
    return ""
