"""OPS6xx family analysis: Kafka consumers, their configuration, their consume loops, the
time the per-record path may wait, and whether their offsets are ever committed.

Built on the shared semantic layer: the file's ``BindingTable`` answers "what is this
value" through two ``Kinds`` hooks (a consumer of library X with this configuration; an
HTTP client or session), and the project index answers for other modules (their module
summaries' call sites, and the per-module facts ``module_facts`` computes: settings
dicts, consumer factories, firebase options).  Knowledge comes from ``_kafka`` (clients,
settings, defaults) and ``_net`` (HTTP calls and their timeouts).

``ConsumerFacts`` records, during the one traversal, the nodes that matter with the scope
they sit in; ``KafkaModel`` (built once per file, on first use in ``leave_Module``)
answers OPS601's and OPS602's questions.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import (
    AbstractSet,
    Any,
    Dict,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.scopes import Answer, Binding, BindingKind, BindingTable, Scope, ScopeKind
from opslint.model import Span
from opslint.project import CallSite, ProjectIndex
from opslint.rules import _kafka, _net
from opslint.source import LineIndex
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import calls_in, is_none, positional, scope_nodes, unwrap_await
from opslint.syntax.walk import children, find_all

_MAX_DEPTH = 6
_A = TypeVar("_A", bound=Analysis)

# ---------------------------------------------------------------------------
# Project facts: what other modules define (stored as JSON by the index).
# ---------------------------------------------------------------------------


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
            self._positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
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
        firebase: List[ValueFact] = []
        for call in find_all(self.module, cst.Call):
            if self.imports.resolve(call.func) in _kafka.FIREBASE_INIT:
                firebase.append(self.firebase_option(call))
        if not (scalars or mappings or factories or firebase):
            return None
        # Scalars matter only to resolve settings: keep numbers, strings and booleans.
        return KafkaModuleFacts(scalars, mappings, factories, tuple(firebase))

    @staticmethod
    def _looks_like_dict(value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Dict):
            return True
        return isinstance(value, cst.Call) and dotted_name(value.func) == "dict"

    def value(self, expr: cst.BaseExpression) -> ValueFact:
        literal = _literal(expr)
        if literal is not _NOTHING:
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
                key = _literal(element.key)
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
            config = _confluent_config_arg(call)
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
            return FactoryFact(library.name, self.call_settings(value, library, local), self.span(value), _topic(value))
        return None

    def firebase_option(self, call: cst.Call) -> ValueFact:
        options: Optional[cst.BaseExpression] = None
        args = positional(call)
        if len(args) > 1:
            options = args[1].value
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "options":
                options = arg.value
        if options is None:
            return ValueFact("lit", "None")
        if not isinstance(options, cst.Dict):
            return ValueFact("unknown")
        for element in options.elements:
            if isinstance(element, cst.DictElement) and _literal(element.key) == _kafka.FIREBASE_OPTION:
                return self.value(element.value)
        return ValueFact("lit", "None")


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
        elif isinstance(stmt, cst.FunctionDef):
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


_NOTHING: Any = _Nothing()


def _literal(expr: cst.BaseExpression) -> Any:
    """The value of a literal (numbers with ``+ - * //``, strings, True/False/None), else ``_NOTHING``."""
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if isinstance(expr, cst.Float):
        return float(expr.evaluated_value)
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        value = expr.evaluated_value
        return value if isinstance(value, str) else _NOTHING
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _literal(expr.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else _NOTHING
    if isinstance(expr, cst.BinaryOperation):
        left, right = _literal(expr.left), _literal(expr.right)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if not numbers:
            return _NOTHING
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
    return _NOTHING


def _confluent_config_arg(call: cst.Call) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "conf":
            return arg.value
    args = positional(call)
    return args[0].value if args else None


def _topic(call: cst.Call) -> str:
    args = positional(call)
    if args:
        value = _literal(args[0].value)
        if isinstance(value, str):
            return value
    return ""


# ---------------------------------------------------------------------------
# What the model answers with.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Evidence: a node of this file, or a span of another file."""

    node: Optional[cst.CSTNode] = None
    path: str = ""
    span: Optional[Span] = None


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    known: bool
    where: Where
    #: The literal as written in this file's construction, dict or call (a fix may replace it).
    literal: Optional[cst.BaseExpression] = None


@dataclass(eq=False)
class Consumer:
    """One consumer construction (identity: this object)."""

    library: _kafka.Library
    settings: Dict[str, Setting]
    #: Every setting is known: no ``**x`` or dict the analysis could not read.
    complete: bool
    where: Where
    call: Optional[cst.Call] = None
    topic: str = ""

    def setting(self, key: str) -> Optional[Setting]:
        return self.settings.get(key)

    @property
    def group(self) -> str:
        found = self.settings.get("group.id" if self.library.dotted else "group_id")
        return found.value if found is not None and found.known and isinstance(found.value, str) else ""


@dataclass(frozen=True)
class HttpClient:
    """An HTTP client object: its kind (``_net``), constructor, and the timeout the
    constructor set (None: not given or not known from here)."""

    kind: Optional[_net.ClientKind]
    constructor: str
    timeout: Optional[Tuple[bool, Optional[float]]] = None


@dataclass(frozen=True)
class Term:
    """One slow call on the per-record path: at most ``seconds`` (None: unbounded)."""

    seconds: Optional[float]
    #: Whether the bound is known (a timeout read from configuration is not).
    known: bool
    label: str
    #: ``in send_mail`` / ``in pushsvc/oauth.py`` ("" in the loop itself).
    where: str
    #: Blocks the thread (and an event loop) while it waits.
    sync: bool
    evidence: Where

    def render(self) -> str:
        place = f", {self.where}" if self.where else ""
        if self.seconds is None:
            return f"{self.label}{place}"
        return f"{_kafka.seconds(self.seconds)} {self.label}{place}"


@dataclass
class Records:
    """Records per poll: a count (None: no cap or unknown), how the message names its
    source, and the node a fix replaces (or the call a keyword is added to)."""

    count: Optional[int]
    source: str
    literal: Optional[cst.BaseExpression] = None
    add_to: Optional[cst.Call] = None
    known: bool = True


@dataclass
class ConsumeSite:
    """A consume loop: where records come from and the statements run per record."""

    anchor: cst.CSTNode
    consumer: Consumer
    records: Records
    region: List[cst.CSTNode]
    scope: Scope
    #: The consume call itself (not part of the per-record work), if any.
    call: Optional[cst.Call]
    function: str
    #: The body of the loop around a batch consume call (``poll()``/``getmany()``/
    #: ``consume()``): its work outside ``region`` runs once per poll.
    poll_body: Optional[cst.CSTNode] = None
    #: The name the batch is assigned to (``batch = consumer.poll(...)``).
    holder: Optional[str] = None


# ---------------------------------------------------------------------------
# The per-file analysis: what the traversal records.
# ---------------------------------------------------------------------------


@dataclass
class _Seen:
    node: cst.CSTNode
    scope: Scope
    stack: Tuple[cst.CSTNode, ...] = ()


@dataclass
class _Escape:
    expr: cst.BaseExpression
    scope: Scope
    #: "arg" (``call``, ``index``/``keyword``), "return" (``function``), "store".
    context: str
    call: Optional[cst.Call] = None
    index: int = -1
    keyword: str = ""
    function: Optional[cst.FunctionDef] = None


_WATCHED_METHODS = (
    _kafka.CONSUME_METHODS | _kafka.COMMIT_METHODS | _kafka.SEEK_METHODS | {"update", "setdefault", "subscribe"}
)


class _HasAnalyses(Protocol):
    def analysis(self, kind: Type[_A]) -> _A: ...


class ConsumerFacts(Analysis):
    """Consumer constructions, consume calls and loops, commits, dict mutations and the
    places a value can leave through, each with its scope (see the module docstring)."""

    requires = (BindingTable,)

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        # ``FileContext.analysis``: ``FileFacts`` does not declare it, although an analysis
        # may require another (analysis/base.py); the engine made the table first.
        self.table: BindingTable = cast(_HasAnalyses, ctx).analysis(BindingTable)
        self.constructions: List[_Seen] = []
        self.method_calls: List[_Seen] = []
        #: ``consumer.commit`` read without being called (passed as a callback, aliased).
        self.commit_refs: List[_Seen] = []
        self.loops: List[_Seen] = []
        self.mutations: List[_Seen] = []
        self.escapes: List[_Escape] = []
        self.firebase_inits: List[_Seen] = []
        self.model: Optional[KafkaModel] = None

    def _resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.ctx.imports.resolve(expr)

    def visit_Call(self, node: cst.Call) -> None:
        scope = self.table.current()
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _WATCHED_METHODS:
            self.method_calls.append(_Seen(node, scope, tuple(self.ctx.stack)))
        qualified = self._resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if qualified in _kafka.CONSTRUCTORS:
            self.constructions.append(_Seen(node, scope, tuple(self.ctx.stack)))
        elif qualified in _kafka.FIREBASE_INIT:
            self.firebase_inits.append(_Seen(node, scope))
        position = 0
        for arg in node.args:
            if isinstance(arg.value, (cst.Name, cst.Attribute, cst.Call)):
                keyword = arg.keyword.value if arg.keyword is not None else ""
                self.escapes.append(_Escape(arg.value, scope, "arg", node, position if not keyword else -1, keyword))
            if arg.keyword is None and not arg.star:
                position += 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in _kafka.COMMIT_METHODS:
            stack = self.ctx.stack
            parent = stack[-2] if len(stack) >= 2 else None
            if not (isinstance(parent, cst.Call) and parent.func is node):
                self.commit_refs.append(_Seen(node, self.table.current(), tuple(stack)))

    def visit_For(self, node: cst.For) -> None:
        self.loops.append(_Seen(node, self.table.current(), tuple(self.ctx.stack)))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            function = next((n for n in reversed(self.ctx.stack) if isinstance(n, cst.FunctionDef)), None)
            self.escapes.append(_Escape(node.value, self.table.current(), "return", function=function))

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self.escapes.append(_Escape(node.value, self.table.current(), "store"))

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self.table.current()
        for target in node.targets:
            if isinstance(target.target, cst.Subscript):
                self.mutations.append(_Seen(node, scope, tuple(self.ctx.stack)))
            if not _plain_target(target.target):
                self.escapes.append(_Escape(node.value, scope, "store"))

    def _displays(self, node: Union[cst.List, cst.Tuple, cst.Set]) -> None:
        for element in node.elements:
            self.escapes.append(_Escape(element.value, self.table.current(), "store"))

    visit_List = visit_Tuple = visit_Set = _displays

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self.escapes.append(_Escape(node.value, self.table.current(), "store"))


def _plain_target(target: cst.BaseExpression) -> bool:
    """A name or ``self.x`` (followed by the binding table), as opposed to a store into
    another object or a container."""
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
        return target.value.value in ("self", "cls")
    return isinstance(target, (cst.Tuple, cst.List))


# ---------------------------------------------------------------------------
# Kinds hooks.
# ---------------------------------------------------------------------------


class ConsumerKinds:
    """What a value is for OPS6xx: a ``Consumer`` (a construction in this file, a project
    factory's, or an annotated parameter's), else None."""

    def __init__(self, model: KafkaModel) -> None:
        self.model = model
        self._active: Set[int] = set()

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[Consumer]:
        value = unwrap_await(value)
        if not isinstance(value, cst.Call) or not isinstance(value.func, (cst.Name, cst.Attribute)):
            return None
        qualified = self.model.resolve(value.func)
        if qualified is None:
            return self._method_factory(value, scope)
        library = _kafka.CONSTRUCTORS.get(qualified)
        if library is not None:
            return self.model.construction(value, library, scope)
        return self.model.project_factory(qualified)

    def _method_factory(self, call: cst.Call, scope: Scope) -> Optional[Consumer]:
        """``self._create_consumer()``: a method of this file's class that returns one
        consumer on every path (the binding table follows factories called by name)."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return None
        table = self.model.table
        if scope.kind is ScopeKind.CLASS and func.value.value in ("self", "cls"):
            # ``self.consumer = self._create_consumer()``: the table evaluates a ``self.x``
            # binding's value in the class scope, where ``self`` is not bound.
            bindings = table.attribute(scope, func.attr.value)
        else:
            bindings = table.resolve(func, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].node, cst.FunctionDef):
            return None
        function = bindings[0].node
        inner = table.scope_of(function)
        values = table.returns(function)
        if inner is None or not values or any(v is None for v in values) or id(function) in self._active:
            return None
        self._active.add(id(function))
        try:
            answers = [a for v in values if v is not None for a in table.kinds(v, inner, self)]
        finally:
            self._active.discard(id(function))
        found = _agreed(answers)
        return found if isinstance(found, Consumer) else None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[Consumer]:
        for expr in _net.annotation_names(annotation):
            library = _kafka.CONSTRUCTORS.get(self.model.resolve(expr) or "")
            if library is not None:
                return self.model.annotated(library, annotation)
        return None


class HttpKinds:
    """HTTP clients and sessions (``_net.CLIENT_TYPES``, google-auth ``AuthorizedSession``)
    and google-auth ``Request`` objects."""

    def __init__(self, model: KafkaModel) -> None:
        self.model = model

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[HttpClient]:
        if not isinstance(value, cst.Call) or not isinstance(value.func, (cst.Name, cst.Attribute)):
            return None
        qualified = self.model.resolve(value.func) or ""
        kind = _net.CLIENT_TYPES.get(qualified)
        if kind is None and qualified not in _kafka.AUTHORIZED_SESSION | _kafka.GOOGLE_AUTH_REQUEST:
            return None
        timeout = None
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "timeout":
                timeout = self.model.timeout_seconds(arg.value, scope)
        return HttpClient(kind, qualified, timeout)

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[HttpClient]:
        for expr in _net.annotation_names(annotation):
            qualified = self.model.resolve(expr) or ""
            kind = _net.CLIENT_TYPES.get(qualified)
            if kind is not None or qualified in _kafka.AUTHORIZED_SESSION:
                return HttpClient(kind, qualified)
        return None


def _agreed(answers: Sequence[Answer[Any]]) -> Any:
    """The one kind every answer has (by identity), else None.

    A ``None`` placeholder (``self.consumer = None`` in ``__init__``) does not vote: the
    attribute holds what its other bindings give wherever it is used as one.
    """
    answers = [a for a in answers if not _placeholder(a)] or answers
    if not answers or any(a.kind is None for a in answers):
        return None
    first = answers[0].kind
    return first if all(a.kind is first or a.kind == first for a in answers) else None


def _placeholder(answer: Answer[Any]) -> bool:
    binding = answer.binding
    # Annotated (``self.consumer: Optional[KafkaConsumer] = None``), it answers a consumer
    # of unknown settings: the construction bound elsewhere says more.
    return binding is not None and binding.value is not None and is_none(binding.value)


# ---------------------------------------------------------------------------
# The model.
# ---------------------------------------------------------------------------


class KafkaModel:
    """OPS6xx's answers for one file (see the module docstring)."""

    def __init__(
        self,
        facts: ConsumerFacts,
        ctx: Any,
        project: Optional[ProjectIndex],
        module_facts: Mapping[str, KafkaModuleFacts],
    ) -> None:
        self.facts = facts
        self.table = facts.table
        self.ctx = ctx
        self.project = project
        self.module_facts = module_facts
        self.module_name = (project.module_of(ctx.path) if project is not None else None) or ctx.module_name or ""
        self.consumer_kinds = ConsumerKinds(self)
        self.http_kinds = HttpKinds(self)
        self._constructions: Dict[int, Consumer] = {}
        self._factories: Dict[str, Optional[Consumer]] = {}
        self._annotated: Dict[str, Consumer] = {}
        self._function_terms: Dict[Any, List[Term]] = {}
        self._active: Set[Any] = set()
        self._firebase: Optional[Tuple[bool, Optional[float], str]] = None

    # -- names -----------------------------------------------------------------------

    def resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        """The qualified name an expression names through imports."""
        resolved: Optional[str] = self.ctx.imports.resolve(expr)
        if resolved is not None and self.project is not None and resolved.startswith("."):
            return None
        return resolved

    def display(self, path: str) -> str:
        """``path`` shown like this file's display path (relative to the same base)."""
        own_abs = os.path.abspath(self.ctx.path)
        own_display = self.ctx.display_path
        if os.path.isabs(own_display):
            return os.path.abspath(path).replace(os.sep, "/")
        base = own_abs
        for _ in range(own_display.count("/") + 1):
            base = os.path.dirname(base)
        rel = os.path.relpath(os.path.abspath(path), base)
        return (os.path.abspath(path) if rel.startswith("..") else rel).replace(os.sep, "/")

    def _project_path(self, path: str) -> str:
        root = self.project.root if self.project is not None else os.path.dirname(self.ctx.path)
        rel = os.path.relpath(os.path.abspath(path), root)
        return (path if rel.startswith("..") else rel).replace(os.sep, "/")

    # -- consumers ---------------------------------------------------------------------

    def consumer_of(self, expr: cst.BaseExpression, scope: Scope) -> Optional[Consumer]:
        """The one consumer ``expr`` holds on every binding it reaches."""
        found = _agreed(self.table.kinds(expr, scope, self.consumer_kinds))
        return found if isinstance(found, Consumer) else None

    def construction(self, call: cst.Call, library: _kafka.Library, scope: Scope) -> Consumer:
        made = self._constructions.get(id(call))
        if made is None:
            settings, complete = self._call_settings(call, library, scope)
            made = Consumer(library, settings, complete, Where(call), call, _topic(call))
            self._constructions[id(call)] = made
        return made

    def annotated(self, library: _kafka.Library, annotation: cst.BaseExpression) -> Consumer:
        made = self._annotated.get(library.name)
        if made is None:
            made = self._annotated[library.name] = Consumer(library, {}, False, Where(annotation))
        return made

    def project_factory(self, qualified: str) -> Optional[Consumer]:
        if qualified in self._factories:
            return self._factories[qualified]
        self._factories[qualified] = None
        if self.project is None:
            return None
        name = self.project.canonical(qualified)
        module, _, function = name.rpartition(".")
        facts = self.module_facts.get(module)
        fact = facts.factories.get(function) if facts is not None else None
        summary = self.project.summary(module)
        if fact is None or summary is None or module == self.module_name:
            return None
        library = next((lib for lib in _kafka.CONSTRUCTORS.values() if lib.name == fact.library), None)
        if library is None:
            return None
        settings, complete = self._fact_settings(fact.settings, module, summary.path, 0)
        made = Consumer(library, settings, complete, Where(path=summary.path, span=fact.span), None, fact.topic)
        self._factories[qualified] = made
        return made

    def _call_settings(self, call: cst.Call, library: _kafka.Library, scope: Scope) -> Tuple[Dict[str, Setting], bool]:
        if library.dotted:
            config = _confluent_config_arg(call)
            if config is None:
                return {}, False
            return self.dict_settings(config, scope, 0)
        settings: Dict[str, Setting] = {}
        complete = True
        for arg in call.args:
            if arg.keyword is not None:
                key = arg.keyword.value
                known, value, where = self.scalar(arg.value, scope, 0)
                literal = arg.value if _literal(arg.value) is not _NOTHING else None
                settings[key] = Setting(key, value, known, where if where.node is not None else Where(arg), literal)
            elif arg.star == "**":
                nested, nested_complete = self.dict_settings(arg.value, scope, 0)
                settings.update(nested)
                complete = complete and nested_complete
        return settings, complete

    # -- values ------------------------------------------------------------------------

    def scalar(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> Tuple[bool, Any, Where]:
        """(known, value, where it is written) of a setting or timeout expression."""
        literal = _literal(expr)
        if literal is not _NOTHING:
            return True, literal, Where(expr)
        if depth >= _MAX_DEPTH:
            return False, None, Where(expr)
        if isinstance(expr, cst.Name):
            bindings = [b for b in self.table.lookup(expr.value, scope) if b.kind is not BindingKind.DELETE]
            if len(bindings) == 1 and bindings[0].value is not None and bindings[0].kind is BindingKind.ASSIGN:
                return self.scalar(bindings[0].value, bindings[0].scope, depth + 1)
            if len(bindings) == 1 and bindings[0].kind is BindingKind.IMPORT:
                return self._fact_scalar_ref(self.resolve(expr), depth + 1)
            return False, None, Where(expr)
        if isinstance(expr, cst.Attribute):
            return self._fact_scalar_ref(self.resolve(expr), depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            # ``1 / REQUESTS_PER_SECOND``, ``5 * MINUTE``: arithmetic over named constants.
            left_known, left, _w = self.scalar(expr.left, scope, depth + 1)
            right_known, right, _w = self.scalar(expr.right, scope, depth + 1)
            if left_known and right_known:
                folded = _literal(
                    expr.with_changes(left=cst.parse_expression(repr(left)), right=cst.parse_expression(repr(right)))
                )
                if folded is not _NOTHING:
                    return True, folded, Where(expr)
        return False, None, Where(expr)

    def _fact_scalar_ref(self, qualified: Optional[str], depth: int) -> Tuple[bool, Any, Where]:
        if qualified is None or self.project is None or depth >= _MAX_DEPTH:
            return False, None, Where()
        name = self.project.canonical(qualified)
        module, _, attr = name.rpartition(".")
        facts = self.module_facts.get(module)
        summary = self.project.summary(module)
        if facts is None or summary is None or attr not in facts.scalars:
            return False, None, Where()
        return self._fact_value(facts.scalars[attr], summary.path, depth + 1)

    def _fact_value(self, fact: ValueFact, path: str, depth: int) -> Tuple[bool, Any, Where]:
        where = Where(path=path, span=fact.span)
        if fact.kind == "lit":
            try:
                return True, ast.literal_eval(fact.text), where
            except (ValueError, SyntaxError):
                return False, None, where
        if fact.kind == "ref":
            known, value, inner = self._fact_scalar_ref(fact.text, depth + 1)
            return known, value, where if inner.span is None else inner
        return False, None, where

    def dict_settings(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> Tuple[Dict[str, Setting], bool]:
        """The settings a dict expression holds (literal, variable, ``{**BASE, ...}``,
        ``dict(...)``, a module constant of another module), and whether all are known."""
        if depth >= _MAX_DEPTH:
            return {}, False
        if isinstance(expr, cst.Dict):
            settings: Dict[str, Setting] = {}
            complete = True
            for element in expr.elements:
                if not isinstance(element, cst.DictElement):
                    nested, nested_complete = self.dict_settings(element.value, scope, depth + 1)
                    settings.update(nested)
                    complete = complete and nested_complete
                    continue
                key = _literal(element.key)
                if not isinstance(key, str):
                    complete = False
                    continue
                known, value, _where = self.scalar(element.value, scope, depth + 1)
                literal = element.value if _literal(element.value) is not _NOTHING else None
                settings[key] = Setting(key, value, known, Where(element), literal)
            return settings, complete
        if isinstance(expr, cst.Call):
            func = dotted_name(expr.func) or ""
            if func == "dict":
                settings = {}
                complete = True
                for arg in expr.args:
                    if arg.keyword is not None:
                        known, value, _where = self.scalar(arg.value, scope, depth + 1)
                        settings[arg.keyword.value] = Setting(arg.keyword.value, value, known, Where(arg))
                    else:
                        nested, nested_complete = self.dict_settings(arg.value, scope, depth + 1)
                        settings.update(nested)
                        complete = complete and nested_complete
                return settings, complete
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "copy" and not expr.args:
                return self.dict_settings(expr.func.value, scope, depth + 1)
            if self.resolve(expr.func) in ("copy.copy", "copy.deepcopy") and expr.args:
                return self.dict_settings(expr.args[0].value, scope, depth + 1)
            if isinstance(expr.func, cst.Name):
                # ``config = load_settings()``: a function of this file that returns one dict.
                function = self.table.function_named(expr.func.value, scope)
                inner = self.table.scope_of(function) if function is not None else None
                values = self.table.returns(function) if function is not None else []
                if inner is not None and len(values) == 1 and values[0] is not None:
                    return self.dict_settings(values[0], inner, depth + 1)
            return {}, False
        if isinstance(expr, (cst.Name, cst.Attribute)):
            bindings = [b for b in self.table.resolve(expr, scope) if b.kind is not BindingKind.DELETE]
            if len(bindings) == 1 and bindings[0].kind is BindingKind.ASSIGN and bindings[0].value is not None:
                settings, complete = self.dict_settings(bindings[0].value, bindings[0].scope, depth + 1)
                return self._mutated(bindings[0], settings, complete)
            if (len(bindings) == 1 and bindings[0].kind is BindingKind.IMPORT) or (
                not bindings and isinstance(expr, cst.Attribute)
            ):
                return self._fact_dict_ref(self.resolve(expr), depth + 1)
        return {}, False

    def _mutated(
        self, binding: Binding, settings: Dict[str, Setting], complete: bool
    ) -> Tuple[Dict[str, Setting], bool]:
        """Apply ``conf.update({...})``, ``conf.setdefault(k, v)`` and ``conf[k] = v`` made on
        the dict a binding holds.  A change made unconditionally in the binding's own scope
        sets the key; one under ``if``/a loop/``try`` makes it unknown; a change this
        analysis cannot read makes the settings incomplete."""
        out = dict(settings)

        def touch(key: Any, value: Optional[cst.BaseExpression], seen: _Seen, only_if_absent: bool = False) -> None:
            nonlocal complete
            if not isinstance(key, str):
                complete = False
                return
            before = out.get(key)
            if only_if_absent and before is not None:
                return
            if value is None:
                if before is None:
                    complete = False
                return
            known, new, _where = self.scalar(value, seen.scope, 1)
            if before is not None and known and before.known and new == before.value:
                return
            certain = known and seen.scope is binding.scope and _unconditional(seen.stack, binding.scope.node)
            out[key] = Setting(key, new if known else None, certain, Where(value), value if certain else None)

        for seen in self.facts.method_calls:
            call = seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            if call.func.attr.value not in ("update", "setdefault"):
                continue
            if binding not in self.table.resolve(call.func.value, seen.scope):
                continue
            if call.func.attr.value == "setdefault":
                args = positional(call)
                if args:
                    touch(_literal(args[0].value), args[1].value if len(args) > 1 else None, seen, True)
                continue
            for arg in call.args:
                if isinstance(arg.value, cst.Dict) and arg.keyword is None:
                    for element in arg.value.elements:
                        if isinstance(element, cst.DictElement):
                            touch(_literal(element.key), element.value, seen)
                        else:
                            complete = False
                elif arg.keyword is not None:
                    touch(arg.keyword.value, arg.value, seen)
                else:
                    complete = False
        for seen in self.facts.mutations:
            assign = seen.node
            assert isinstance(assign, cst.Assign)
            for target in assign.targets:
                sub = target.target
                if not isinstance(sub, cst.Subscript) or binding not in self.table.resolve(sub.value, seen.scope):
                    continue
                index = sub.slice[0].slice if len(sub.slice) == 1 else None
                key = _literal(index.value) if isinstance(index, cst.Index) else None
                touch(key, assign.value, seen)
        return out, complete

    def _fact_dict_ref(self, qualified: Optional[str], depth: int) -> Tuple[Dict[str, Setting], bool]:
        if qualified is None or self.project is None or depth >= _MAX_DEPTH:
            return {}, False
        name = self.project.canonical(qualified)
        module, _, attr = name.rpartition(".")
        facts = self.module_facts.get(module)
        summary = self.project.summary(module)
        if facts is None or summary is None or attr not in facts.mappings:
            return {}, False
        return self._fact_settings(facts.mappings[attr], module, summary.path, depth + 1)

    def _fact_settings(self, fact: DictFact, module: str, path: str, depth: int) -> Tuple[Dict[str, Setting], bool]:
        settings: Dict[str, Setting] = {}
        complete = fact.complete
        for spread in fact.spreads:
            if spread.kind != "ref":
                complete = False
                continue
            nested, nested_complete = self._fact_dict_ref(spread.text, depth + 1)
            settings.update(nested)
            complete = complete and nested_complete
        for entry in fact.entries:
            known, value, _where = self._fact_value(entry.value, path, depth + 1)
            settings[entry.key] = Setting(entry.key, value, known, Where(path=path, span=entry.span))
        return settings, complete

    # -- timeouts ----------------------------------------------------------------------

    def timeout_seconds(self, expr: cst.BaseExpression, scope: Scope) -> Tuple[bool, Optional[float]]:
        """(known, seconds) of a timeout argument; seconds None = no bound."""
        if is_none(expr):
            return True, None
        if isinstance(expr, cst.Tuple):
            total = 0.0
            for element in expr.elements:
                known, value = self.timeout_seconds(element.value, scope)
                if not known:
                    return False, None
                if value is None:
                    return True, None
                total += value
            return True, total
        if isinstance(expr, cst.Call):
            qualified = self.resolve(expr.func) or ""
            spec = _net.TIMEOUT_OBJECTS.get(qualified)
            if spec is None:
                return False, None
            position, main, reads = spec
            args = positional(expr)
            given: Optional[cst.BaseExpression] = args[position].value if len(args) > position else None
            for arg in expr.args:
                if arg.keyword is not None and arg.keyword.value == main:
                    given = arg.value
            if given is not None:
                return self.timeout_seconds(given, scope)
            for arg in expr.args:
                if arg.keyword is not None and arg.keyword.value in reads:
                    return self.timeout_seconds(arg.value, scope)
            return (True, None) if qualified in _net.TIMEOUT_OBJECT_UNBOUNDED_BY_DEFAULT else (False, None)
        known, number, _where = self.scalar(expr, scope, 0)
        if not known:
            return False, None
        if number is None:
            return True, None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return True, float(number)
        return False, None

    def firebase_timeout(self) -> Tuple[bool, Optional[float], str]:
        """The ``httpTimeout`` firebase apps use (known, seconds, how to name it); the
        largest when several apps set different ones."""
        if self._firebase is not None:
            return self._firebase
        values: List[Tuple[bool, Optional[float]]] = []
        for seen in self.facts.firebase_inits:
            call = seen.node
            assert isinstance(call, cst.Call)
            values.append(self._firebase_option(call, seen.scope))
        # An app initialised in this file is the one its calls use; else any of the project's.
        for module, facts in ({} if values else self.module_facts).items():
            if module == self.module_name:
                continue
            for fact in facts.firebase_timeouts:
                if fact.kind == "lit" and fact.text == "None" and fact.span is None:
                    values.append((True, _kafka.FIREBASE_DEFAULT_SECONDS))
                    continue
                known, value, _where = self._fact_value(fact, "", 0)
                values.append(_as_timeout(known, value))
        result: Tuple[bool, Optional[float], str]
        if not values:
            result = (True, _kafka.FIREBASE_DEFAULT_SECONDS, "default")
        elif any(not known for known, _ in values):
            result = (False, None, "httpTimeout from configuration")
        elif any(value is None for _, value in values):
            result = (True, None, "httpTimeout=None")
        else:
            worst = max(v for _, v in values if v is not None)
            label = "default" if worst == _kafka.FIREBASE_DEFAULT_SECONDS else f"httpTimeout={_fmt(worst)}"
            result = (True, worst, label)
        self._firebase = result
        return result

    def _firebase_option(self, call: cst.Call, scope: Scope) -> Tuple[bool, Optional[float]]:
        options: Optional[cst.BaseExpression] = None
        args = positional(call)
        if len(args) > 1:
            options = args[1].value
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "options":
                options = arg.value
        if options is None:
            return True, _kafka.FIREBASE_DEFAULT_SECONDS
        settings, complete = self.dict_settings(options, scope, 0)
        found = settings.get(_kafka.FIREBASE_OPTION)
        if found is None:
            return (True, _kafka.FIREBASE_DEFAULT_SECONDS) if complete else (False, None)
        return _as_timeout(found.known, found.value)

    # -- consume sites -----------------------------------------------------------------

    def consume_sites(self) -> List[ConsumeSite]:
        sites: List[ConsumeSite] = []
        for seen in self.facts.loops:
            site = self._loop_site(seen)
            if site is not None:
                sites.append(site)
        for seen in self.facts.method_calls:
            call = seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            if call.func.attr.value not in _kafka.CONSUME_METHODS:
                continue
            consumer = self.consumer_of(call.func.value, seen.scope)
            if consumer is None:
                continue
            spec = _kafka.CONSUME_CALLS[consumer.library.name].get(call.func.attr.value)
            if spec is not None:
                site = self._call_site(seen, call, consumer, spec)
                if site is not None:
                    sites.append(site)
        return sites

    def _loop_site(self, seen: _Seen) -> Optional[ConsumeSite]:
        loop = seen.node
        assert isinstance(loop, cst.For)
        source = loop.iter
        if isinstance(source, cst.Call) and dotted_name(source.func) == "enumerate" and source.args:
            source = source.args[0].value
        if not isinstance(source, (cst.Name, cst.Attribute)):
            return None
        consumer = self.consumer_of(source, seen.scope)
        if consumer is None or not consumer.library.iterable:
            return None
        if consumer.library.event_loop_heartbeat:
            if loop.asynchronous is None:
                return None
            records = Records(1, "async for: getone per record")
        else:
            if loop.asynchronous is not None:
                return None
            records = self._records_setting(consumer)
        return ConsumeSite(loop.iter, consumer, records, [loop.body], seen.scope, None, _function_name(seen.stack))

    def _records_setting(self, consumer: Consumer, prefix: str = "") -> Records:
        library = consumer.library
        key = library.records_key
        found = consumer.setting(key) if key is not None else None
        if found is not None:
            if not found.known or not isinstance(found.value, int) or isinstance(found.value, bool):
                return Records(None, f"{prefix}{key} from configuration", known=False)
            return Records(found.value, f"{prefix}{key}={found.value}", found.literal)
        if not consumer.complete:
            return Records(None, f"{prefix}{key} unknown", known=False)
        if library.records_default is None:
            return Records(None, f"{prefix}no {key} cap", known=True)
        add_to = consumer.call if consumer.where.node is consumer.call else None
        return Records(library.records_default, f"{prefix}default {key}", None, add_to)

    def _call_site(
        self, seen: _Seen, call: cst.Call, consumer: Consumer, spec: _kafka.ConsumeCall
    ) -> Optional[ConsumeSite]:
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
        records = self._call_records(call, consumer, spec, method)
        function = _function_name(seen.stack)
        if spec.shape == _kafka.SINGLE:
            loop = _enclosing_loop(seen.stack)
            if loop is None:
                return None
            return ConsumeSite(call, consumer, records, [loop.body], seen.scope, call, function)
        holder = _result_name(seen.stack, call)
        body = _function_body(seen.stack)
        region: List[cst.CSTNode] = []
        if spec.shape == _kafka.LIST:
            for loop in _loops_in(body):
                if loop.iter is call or (holder is not None and _is_name(loop.iter, holder)):
                    region.append(loop.body)
            enclosing = _enclosing_loop(seen.stack)
            if not region and holder is not None and enclosing is not None and _takes_items(enclosing.body, holder):
                # ``msgs = consumer.consume()`` then ``msg = msgs.pop()`` (koku's sources
                # listener): the records are taken one by one without a ``for``; the loop
                # around the consume call is the per-record work.
                region.append(enclosing.body)
        else:
            record_lists: Set[str] = set()
            for loop in _loops_in(body):
                iterated = _batch_part(loop.iter, call, holder)
                if iterated == "items" and isinstance(loop.target, cst.Tuple) and len(loop.target.elements) == 2:
                    second = loop.target.elements[1].value
                    if isinstance(second, cst.Name):
                        record_lists.add(second.value)
                elif iterated == "values" and isinstance(loop.target, cst.Name):
                    record_lists.add(loop.target.value)
                elif iterated == "records":
                    region.append(loop.body)
            for loop in _loops_in(body):
                if isinstance(loop.iter, cst.Name) and loop.iter.value in record_lists:
                    region.append(loop.body)
        if not region:
            return None
        loop = _enclosing_loop(seen.stack)
        poll_body = loop.body if loop is not None else None
        return ConsumeSite(call, consumer, records, region, seen.scope, call, function, poll_body, holder)

    def _call_records(self, call: cst.Call, consumer: Consumer, spec: _kafka.ConsumeCall, method: str) -> Records:
        argument: Optional[cst.BaseExpression] = None
        label = f"{method} {spec.records_keyword}" if spec.records_keyword else method
        if spec.records_keyword is not None:
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == spec.records_keyword:
                    argument = arg.value
            args = positional(call)
            if argument is None and spec.records_position is not None and len(args) > spec.records_position:
                argument = args[spec.records_position].value
        if argument is not None:
            literal = _literal(argument)
            if isinstance(literal, int) and not isinstance(literal, bool):
                return Records(literal, f"{label}={literal}", argument)
            if is_none(argument):
                return self._records_setting(consumer)
            return Records(None, f"{label} from a variable", known=False)
        if spec.records_default is not None:
            if spec.records_keyword is not None:
                return Records(spec.records_default, f"{method} default {spec.records_keyword}={spec.records_default}")
            return Records(spec.records_default, f"{_short_library(consumer)}.{method}")
        return self._records_setting(consumer)

    # -- per-record work -------------------------------------------------------------------

    def region_terms(self, site: ConsumeSite) -> List[Term]:
        terms: List[Term] = []
        for node in site.region:
            terms.extend(self._node_terms(node, site.scope, "", site.call, 0))
        return terms

    def poll_terms(self, site: ConsumeSite) -> List[Term]:
        """The slow calls a batch consume loop makes once per poll: the loop's work outside
        the per-record loops (a bulk write of the batch, a pause), except in a branch taken
        only when the poll returned nothing (``if not batch: time.sleep(5)``)."""
        if site.poll_body is None:
            return []
        skip = {id(call) for node in site.region for call in calls_in(node)}
        if site.call is not None:
            skip.add(id(site.call))
        for branch in _idle_branches(site.poll_body, site.holder):
            skip.update(id(call) for call in calls_in(branch))
        return self._node_terms(site.poll_body, site.scope, "", site.call, 0, skip)

    def _node_terms(
        self,
        node: cst.CSTNode,
        scope: Scope,
        where: str,
        skip: Optional[cst.Call],
        depth: int,
        skip_ids: AbstractSet[int] = frozenset(),
    ) -> List[Term]:
        terms: List[Term] = []
        handed = _handed_off(node)
        for call in calls_in(node):
            if call is skip or id(call) in handed or id(call) in skip_ids:
                continue
            term = self._classify(call, scope, where)
            if term is not None:
                terms.append(term)
                continue
            if depth >= _MAX_DEPTH:
                continue
            terms.extend(self._follow(call, scope, depth + 1))
        return terms

    def _follow(self, call: cst.Call, scope: Scope, depth: int) -> List[Term]:
        """The terms of a project function the call runs (in this file, else through the index)."""
        func = call.func
        target: Optional[cst.FunctionDef] = None
        if isinstance(func, cst.Name):
            target = self.table.function_named(func.value, scope)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            bindings = self.table.resolve(func, scope)
            if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
                target = bindings[0].node
        if target is not None:
            inner = self.table.scope_of(target)
            if inner is None:
                return []
            key = id(target)
            if key in self._function_terms:
                return self._function_terms[key]
            if key in self._active:
                return []
            self._active.add(key)
            try:
                found = self._node_terms(target.body, inner, f"in {target.name.value}", None, depth)
            finally:
                self._active.discard(key)
            self._function_terms[key] = found
            return found
        qualified = self.resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if qualified is None or self.project is None:
            return []
        function = self.project.function(qualified)
        if function is None:
            return []
        return self._summary_terms(function.qualname, depth)

    def _summary_terms(self, qualname: str, depth: int) -> List[Term]:
        assert self.project is not None
        if qualname in self._function_terms:
            return self._function_terms[qualname]
        if qualname in self._active or depth > _MAX_DEPTH:
            return []
        function = self.project.function(qualname)
        summary = self.project.summary(function.module) if function is not None else None
        if function is None or summary is None:
            return []
        self._active.add(qualname)
        terms: List[Term] = []
        where = f"in {self._project_path(summary.path)}"
        try:
            for site in function.calls:
                term = self._classify_site(site, summary.path, where)
                if term is not None:
                    terms.append(term)
                    continue
                target = self.project.target_of(site)
                if target is not None:
                    terms.extend(self._summary_terms(target, depth + 1))
        finally:
            self._active.discard(qualname)
        self._function_terms[qualname] = terms
        return terms

    def _classify(self, call: cst.Call, scope: Scope, where: str) -> Optional[Term]:
        """A slow call in this file: its bound (see ``_kafka`` and ``_net``)."""
        func = call.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        evidence = Where(call)
        qualified = self.resolve(func)
        if qualified is not None and qualified in _kafka.SLEEPS and call.args:
            known, value = self.timeout_seconds(call.args[0].value, scope)
            if not known or value is None:
                return None
            label = f"{qualified}({self.code(call.args[0].value)})"
            return Term(value, True, label, where, _kafka.SLEEPS[qualified], evidence)
        if qualified is not None:
            slow = _kafka.FIREBASE_SENDS.get(qualified)
            if slow is not None:
                return self._firebase_term(slow, where, evidence)
            if _net.makes_request(qualified):
                net = _net.CALLS[qualified]
                label = qualified
                library = _net.library_of(qualified)
                arg = _net.timeout_argument(call, net)
                is_async = library == "aiohttp"
                if arg is not None:
                    known, value = self.timeout_seconds(arg.value, scope)
                    return self._timeout_term(known, value, label, self.code(arg), where, not is_async, evidence)
                return self._default_term(library, net, label, where, not is_async, evidence, None)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method in _kafka.GOOGLE_AUTH_REFRESH_METHODS and call.args:
            request = call.args[0].value
            made = _agreed(self.table.kinds(request, scope, self.http_kinds))
            if isinstance(made, HttpClient) and made.constructor in _kafka.GOOGLE_AUTH_REQUEST:
                label = f"{_kafka.GOOGLE_AUTH_REQUEST_LABEL}, {self.code(func)}"
                return Term(_kafka.GOOGLE_AUTH_REQUEST_SECONDS, True, label, where, True, evidence)
        client = _agreed(self.table.kinds(func.value, scope, self.http_kinds))
        if not isinstance(client, HttpClient):
            return None
        return self._client_term(client, method, call, scope, where, evidence)

    def _client_term(
        self, client: HttpClient, method: str, call: cst.Call, scope: Scope, where: str, evidence: Where
    ) -> Optional[Term]:
        short = client.constructor.rsplit(".", 1)[-1]
        label = f"{short}.{method}"
        if client.constructor in _kafka.AUTHORIZED_SESSION:
            if method not in _kafka.AUTHORIZED_SESSION_METHODS:
                return None
            net = _net.NetCall(_net.NONE_ONLY, 8 if method == "request" else None)
            arg = _net.timeout_argument(call, net)
            if arg is not None:
                known, value = self.timeout_seconds(arg.value, scope)
                return self._timeout_term(known, value, label, self.code(arg), where, True, evidence)
            seconds = _kafka.AUTHORIZED_SESSION_SECONDS
            return Term(seconds, True, f"{label} default timeout", where, True, evidence)
        kind = client.kind
        if kind is None:
            return None
        method_call = kind.methods.get(method)
        if method_call is None or method_call.timeout_mode == _net.NEVER:
            return None
        net = method_call
        library = _net.library_of(client.constructor)
        is_async = library == "aiohttp" or client.constructor == "httpx.AsyncClient"
        arg = _net.timeout_argument(call, net)
        if arg is not None:
            known, value = self.timeout_seconds(arg.value, scope)
            return self._timeout_term(known, value, label, self.code(arg), where, not is_async, evidence)
        return self._default_term(library, net, label, where, not is_async, evidence, client.timeout)

    def _default_term(
        self,
        library: str,
        net: _net.NetCall,
        label: str,
        where: str,
        sync: bool,
        evidence: Where,
        client_timeout: Optional[Tuple[bool, Optional[float]]],
    ) -> Optional[Term]:
        if client_timeout is not None:
            known, value = client_timeout
            if not known:
                return Term(None, False, label, where, sync, evidence)
            if value is None:
                return Term(None, True, f"{label} (client timeout=None)", where, sync, evidence)
            return Term(value, True, f"{label} (client timeout={_fmt(value)})", where, sync, evidence)
        if net.timeout_mode in (_net.FOREVER, _net.POOL):
            return Term(None, True, f"{label} without timeout", where, sync, evidence)
        seconds = _net.DEFAULT_TIMEOUT_SECONDS.get(library)
        if seconds is None:
            return None
        return Term(seconds, True, _net.DEFAULT_TIMEOUT_LABELS[library], where, sync, evidence)

    @staticmethod
    def _timeout_term(
        known: bool, value: Optional[float], label: str, text: str, where: str, sync: bool, evidence: Where
    ) -> Term:
        written = " ".join(text.replace(",", "").split())
        if not known:
            return Term(None, False, f"{label} {written}", where, sync, evidence)
        if value is None:
            return Term(None, True, f"{label} {written}", where, sync, evidence)
        return Term(value, True, f"{label} {written}", where, sync, evidence)

    def _firebase_term(self, slow: _kafka.SlowCall, where: str, evidence: Where) -> Term:
        known, value, how = self.firebase_timeout()
        label = slow.default_label if how == "default" else f"{slow.label} ({how})"
        return Term(value, known, label, where, not slow.is_async, evidence)

    def _classify_site(self, site: CallSite, path: str, where: str) -> Optional[Term]:
        """A slow call in another module, from its summary (callee and argument text)."""
        assert self.project is not None
        evidence = Where(path=path, span=self.project.current_span(path, site.span))
        callee = site.callee
        kwargs = dict(site.kwargs)
        slow = _kafka.FIREBASE_SENDS.get(callee)
        if slow is not None:
            return self._firebase_term(slow, where, evidence)
        if callee in _kafka.SLEEPS and site.args:
            number = _kafka.summary_number(site.args[0])
            if number is None:
                return None
            return Term(number, True, f"{callee}({site.args[0]})", where, _kafka.SLEEPS[callee], evidence)
        if _net.makes_request(callee):
            net = _net.CALLS[callee]
            library = _net.library_of(callee)
            text = kwargs.get("timeout")
            if text is None and net.timeout_pos is not None and len(site.args) > net.timeout_pos:
                text = site.args[net.timeout_pos]
            return self._site_term(text, library, net, callee, where, library != "aiohttp", evidence)
        owner, _, method = callee.rpartition("().")
        if not owner:
            if method or "." not in callee:
                return None
            owner, method = callee.rsplit(".", 1)
            owner = ""
        if method in _kafka.GOOGLE_AUTH_REFRESH_METHODS and any(
            arg.startswith(tuple(f"{q}(" for q in _kafka.GOOGLE_AUTH_REQUEST)) for arg in site.args
        ):
            label = f"{_kafka.GOOGLE_AUTH_REQUEST_LABEL}, {site.raw or callee}"
            return Term(_kafka.GOOGLE_AUTH_REQUEST_SECONDS, True, label, where, True, evidence)
        if owner in _kafka.AUTHORIZED_SESSION and method in _kafka.AUTHORIZED_SESSION_METHODS:
            label = f"AuthorizedSession.{method}"
            text = kwargs.get("timeout")
            if text is None:
                return Term(_kafka.AUTHORIZED_SESSION_SECONDS, True, f"{label} default timeout", where, True, evidence)
            return self._site_term(text, "google", _net.NetCall(_net.NONE_ONLY), label, where, True, evidence)
        kind = _net.CLIENT_TYPES.get(owner)
        method_call = kind.methods.get(method) if kind is not None else None
        if method_call is None or method_call.timeout_mode == _net.NEVER:
            return None
        net = method_call
        library = _net.library_of(owner)
        label = f"{owner.rsplit('.', 1)[-1]}.{method}"
        text = kwargs.get("timeout")
        if text is None and net.timeout_pos is not None and len(site.args) > net.timeout_pos:
            text = site.args[net.timeout_pos]
        sync = library != "aiohttp" and owner != "httpx.AsyncClient"
        return self._site_term(text, library, net, label, where, sync, evidence)

    def _site_term(
        self, text: Optional[str], library: str, net: _net.NetCall, label: str, where: str, sync: bool, evidence: Where
    ) -> Optional[Term]:
        if text is None:
            return self._default_term(library, net, label, where, sync, evidence, None)
        if text.strip() == "None":
            return Term(None, True, f"{label} timeout=None", where, sync, evidence)
        number = _kafka.summary_number(text)
        if number is None:
            return Term(None, False, f"{label} timeout={text}", where, sync, evidence)
        return Term(number, True, f"{label} timeout={_fmt(number)}", where, sync, evidence)

    def code(self, node: cst.CSTNode) -> str:
        text: str = self.ctx.module.code_for_node(node)
        return text.strip()

    # -- commits (OPS602) -------------------------------------------------------------------

    def manual_consumers(self) -> List[Tuple[Consumer, Setting, _Seen]]:
        """Constructions of this file that turn auto commit off."""
        out = []
        for seen in self.facts.constructions:
            call = seen.node
            assert isinstance(call, cst.Call)
            consumer = self.consumer_kinds.of_value(call, seen.scope)
            if consumer is None:
                continue
            setting = consumer.setting(consumer.library.auto_commit_key)
            if setting is not None and setting.known and _kafka.is_off(setting.value):
                out.append((consumer, setting, seen))
        return out

    def reaches_commit(self, consumer: Consumer, seen: _Seen) -> bool:
        """Whether the consumer may be committed: a commit on it in this file (through
        names, ``self.x``, factories and the parameters of this file's functions it is
        passed to), or it leaves the file in a way that another module could commit it."""
        holders: Set[int] = set()
        if self._leaves_at_construction(seen):
            return True

        def holds(answers: Sequence[Answer[Any]]) -> bool:
            return any(a.kind is consumer or (a.binding is not None and id(a.binding) in holders) for a in answers)

        changed = True
        escaped = False
        while changed and not escaped:
            changed = False
            for escape in self.facts.escapes:
                if not isinstance(escape.expr, (cst.Name, cst.Attribute, cst.Call)):
                    continue
                if isinstance(escape.expr, cst.Call) and escape.expr is not consumer.call:
                    if not holds(self.table.kinds(escape.expr, escape.scope, self.consumer_kinds)):
                        continue
                elif not holds(self.table.kinds(escape.expr, escape.scope, self.consumer_kinds)):
                    continue
                verdict = self._escape_verdict(escape)
                if verdict is None:
                    continue
                if isinstance(verdict, Binding):
                    if id(verdict) not in holders:
                        holders.add(id(verdict))
                        changed = True
                    continue
                escaped = True
                break
        if escaped or self._no_group(consumer):
            return True
        methods = consumer.library.commit_methods
        for call_seen in self.facts.method_calls:
            call = call_seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            method = call.func.attr.value
            if method not in methods and method not in _kafka.SEEK_METHODS and method != "subscribe":
                continue
            if not holds(self.table.kinds(call.func.value, call_seen.scope, self.consumer_kinds)):
                continue
            # A consumer the application positions (seek, or an assignment callback that
            # sets the offsets it stored elsewhere) does not restart from committed offsets.
            if method != "subscribe" or self._positions_on_assign(consumer, call, call_seen.scope):
                return True
        for ref in self.facts.commit_refs:
            attribute = ref.node
            assert isinstance(attribute, cst.Attribute)
            if attribute.attr.value in methods and holds(
                self.table.kinds(attribute.value, ref.scope, self.consumer_kinds)
            ):
                return True
        return self._committed_elsewhere(consumer, seen)

    @staticmethod
    def _no_group(consumer: Consumer) -> bool:
        """kafka-python/aiokafka without ``group_id`` (the default None): no group, so
        nothing to commit to; the consumer reads from where it is told."""
        if consumer.library.dotted:
            return False
        found = consumer.settings.get("group_id")
        if found is None:
            return consumer.complete
        return found.known and found.value is None

    def _positions_on_assign(self, consumer: Consumer, call: cst.Call, scope: Scope) -> bool:
        """``subscribe(..., on_assign=cb)`` / ``listener=Listener()`` whose callback (a
        function or class of this file) seeks or sets the partitions' offsets."""
        keyword, position = _kafka.ASSIGN_CALLBACKS[consumer.library.name]
        argument: Optional[cst.BaseExpression] = None
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                argument = arg.value
        args = positional(call)
        if argument is None and len(args) > position:
            argument = args[position].value
        if isinstance(argument, cst.Call):
            argument = argument.func
        if not isinstance(argument, cst.Name):
            return False
        bindings = self.table.resolve(argument, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].node, (cst.FunctionDef, cst.ClassDef)):
            return False
        for node in _all_nodes(bindings[0].node):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if node.func.attr.value in _kafka.SEEK_METHODS:
                    return True
            elif isinstance(node, (cst.Assign, cst.AugAssign)):
                targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                if any(isinstance(t, cst.Attribute) and t.attr.value == "offset" for t in targets):
                    return True
        return False

    def _leaves_at_construction(self, seen: _Seen) -> bool:
        """The construction is handed on at once (``closing(KafkaConsumer(...))``, a list,
        another object's attribute) instead of being bound to a name or returned."""
        stack = seen.stack
        if len(stack) < 2:
            return True
        parent = stack[-2]
        if isinstance(parent, cst.Await) and len(stack) >= 3:
            parent = stack[-3]
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            return not all(isinstance(t, cst.Name) or _plain_target(t) for t in targets)
        return not isinstance(parent, (cst.WithItem, cst.Return, cst.For))

    def _escape_verdict(self, escape: _Escape) -> Union[None, bool, Binding]:
        """What passing the consumer here means: None (nothing: a log call, its own
        method), a parameter ``Binding`` of this file's function that now holds it, or
        True (it leaves: another module or object may commit it)."""
        if escape.context == "store":
            return True
        if escape.context == "return":
            return self._return_leaves(escape.function)
        call = escape.call
        assert call is not None
        func = call.func
        name = dotted_name(func) or ""
        last = name.rsplit(".", 1)[-1]
        if name in _kafka.HARMLESS_RECEIVERS or last in _kafka.LOG_METHODS:
            return None
        if isinstance(func, cst.Attribute) and func.value is escape.expr:
            return None
        target: Optional[cst.FunctionDef] = None
        bound = False
        if isinstance(func, cst.Name):
            target = self.table.function_named(func.value, escape.scope)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            bindings = self.table.resolve(func, escape.scope)
            if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
                target, bound = bindings[0].node, True
        if target is None:
            return True
        inner = self.table.scope_of(target)
        if inner is None:
            return True
        params = [*target.params.posonly_params, *target.params.params]
        if bound and inner.owner is not None:
            params = params[1:]
        param: Optional[cst.Param] = None
        if escape.keyword:
            param = next((p for p in [*params, *target.params.kwonly_params] if p.name.value == escape.keyword), None)
        elif 0 <= escape.index < len(params):
            param = params[escape.index]
        if param is None:
            return True
        binding = next((b for b in inner.own(param.name.value) if b.kind is BindingKind.PARAM), None)
        return binding if binding is not None else True

    def _return_leaves(self, function: Optional[cst.FunctionDef]) -> Optional[bool]:
        """A function that returns the consumer: its callers in this file are followed by
        the binding table; callers in other modules may commit it."""
        if function is None:
            return True
        scope = self.table.scope_of(function)
        parent = scope.parent if scope is not None else None
        if parent is None or parent.kind not in (ScopeKind.MODULE, ScopeKind.CLASS):
            return True
        if parent.kind is ScopeKind.CLASS:
            owner = parent.node
            if (
                not isinstance(owner, cst.ClassDef)
                or parent.parent is None
                or parent.parent.kind is not ScopeKind.MODULE
            ):
                return True
            qualname = f"{self.module_name}.{owner.name.value}.{function.name.value}"
        else:
            qualname = f"{self.module_name}.{function.name.value}"
        if self.project is None:
            return None
        followed = {function.name.value, f"self.{function.name.value}", f"cls.{function.name.value}"}
        for caller, site in self.project.callers(qualname):
            # Another module, or a call the binding table cannot follow (``obj.make()``).
            if caller.module != self.module_name or site.raw not in followed:
                return True
        return None

    def _committed_elsewhere(self, consumer: Consumer, seen: _Seen) -> bool:
        """A module-level consumer or a ``self.x`` one used from another module."""
        if self.project is None:
            return False
        stack = seen.stack
        parent = stack[-2] if len(stack) >= 2 else None
        if isinstance(parent, cst.Await) and len(stack) >= 3:
            parent = stack[-3]
        if not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return False
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        patterns: List[str] = []
        prefixes: List[str] = []
        for target in targets:
            if isinstance(target, cst.Name) and seen.scope.kind is ScopeKind.MODULE:
                prefixes.append(f"{self.module_name}.{target.value}")
            elif isinstance(target, cst.Attribute):
                patterns.append(f".{target.attr.value}.")
        if not patterns and not prefixes:
            return False
        for function in self.project.functions():
            if function.module == self.module_name:
                continue
            for site in function.calls:
                method = site.callee.rsplit(".", 1)[-1]
                texts = (site.callee, site.raw, *site.args)
                if any(t.startswith(p) for t in texts for p in prefixes):
                    return True
                if method in _kafka.COMMIT_METHODS and any(p in f".{site.raw}" for p in patterns):
                    return True
        return False


# ---------------------------------------------------------------------------
# Small syntax helpers.
# ---------------------------------------------------------------------------


def _as_timeout(known: bool, value: Any) -> Tuple[bool, Optional[float]]:
    if not known:
        return False, None
    if value is None:
        return True, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True, float(value)
    return False, None


def _fmt(value: float) -> str:
    return _net.render_number(value)


def _short_library(consumer: Consumer) -> str:
    return consumer.library.label.rsplit(" ", 1)[-1]


def _function_name(stack: Sequence[cst.CSTNode]) -> str:
    function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
    return function.name.value if function is not None else "<module>"


def _function_body(stack: Sequence[cst.CSTNode]) -> cst.CSTNode:
    function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
    return function.body if function is not None else stack[0]


_CONDITIONAL = (cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.Match, cst.IfExp, cst.BooleanOperation)


def _unconditional(stack: Sequence[cst.CSTNode], scope_node: cst.CSTNode) -> bool:
    """Whether the node on top of ``stack`` runs whenever its scope's body runs (no
    ``if``, loop, ``try`` or ``match`` between them)."""
    inside = False
    for node in stack[:-1]:
        if node is scope_node:
            inside = True
            continue
        if inside and isinstance(node, _CONDITIONAL + (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
    return inside


def _enclosing_loop(stack: Sequence[cst.CSTNode]) -> Optional[Union[cst.For, cst.While]]:
    for node in reversed(stack[:-1]):
        if isinstance(node, (cst.For, cst.While)):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
    return None


def _loops_in(body: cst.CSTNode) -> List[cst.For]:
    return [node for node in scope_nodes(body) if isinstance(node, cst.For)]


def _takes_items(body: cst.CSTNode, holder: str) -> bool:
    """``holder.pop()`` or ``holder[i]`` in ``body``: a batch's records taken one by one."""
    for node in scope_nodes(body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "pop":
            if _is_name(node.func.value, holder):
                return True
        elif isinstance(node, cst.Subscript) and _is_name(node.value, holder):
            return True
    return False


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def _result_name(stack: Sequence[cst.CSTNode], call: cst.Call) -> Optional[str]:
    """``batch = consumer.poll(...)`` / ``batch = await consumer.getmany(...)`` -> ``batch``."""
    for node in reversed(stack[:-1]):
        if isinstance(node, cst.Await):
            continue
        if isinstance(node, cst.Assign) and unwrap_await(node.value) is call and len(node.targets) == 1:
            target = node.targets[0].target
            return target.value if isinstance(target, cst.Name) else None
        if isinstance(node, cst.AnnAssign) and node.value is not None and unwrap_await(node.value) is call:
            return node.target.value if isinstance(node.target, cst.Name) else None
        return None
    return None


def _batch_part(iterable: cst.BaseExpression, call: cst.Call, holder: Optional[str]) -> str:
    """How a loop iterates a ``{partition: [records]}`` batch: ``items``, ``values``, or
    ``records`` (``batch[tp]``, ``batch.get(tp)``, ``chain.from_iterable(batch.values())``)."""

    def is_batch(expr: cst.BaseExpression) -> bool:
        expr = unwrap_await(expr)
        return expr is call or (holder is not None and _is_name(expr, holder))

    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute):
        method = iterable.func.attr.value
        if method in ("items", "values") and is_batch(iterable.func.value):
            return method
        if method == "get" and is_batch(iterable.func.value):
            return "records"
        if method == "from_iterable" and iterable.args:
            inner = iterable.args[0].value
            if _batch_part(inner, call, holder) == "values":
                return "records"
    if isinstance(iterable, cst.Subscript) and is_batch(iterable.value):
        return "records"
    return ""


def _idle_branches(body: cst.CSTNode, holder: Optional[str]) -> List[cst.CSTNode]:
    """The ``if`` bodies of ``body`` taken only when the poll returned nothing:
    ``if not batch:``, ``if batch is None:``, ``if len(batch) == 0:``."""
    if holder is None:
        return []
    branches: List[cst.CSTNode] = []
    for node in scope_nodes(body):
        if isinstance(node, cst.If) and _tests_empty(node.test, holder):
            branches.append(node.body)
    return branches


def _tests_empty(test: cst.BaseExpression, holder: str) -> bool:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = test.expression
        if isinstance(inner, cst.Call) and _is_name(inner.func, "len") and inner.args:
            inner = inner.args[0].value
        return _is_name(inner, holder)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, target = test.left, test.comparisons[0]
        if isinstance(left, cst.Call) and _is_name(left.func, "len") and left.args:
            literal = _literal(target.comparator)
            return (
                _is_name(left.args[0].value, holder)
                and isinstance(target.operator, cst.Equal)
                and literal == 0
                and not isinstance(literal, bool)
            )
        return _is_name(left, holder) and isinstance(target.operator, cst.Is) and is_none(target.comparator)
    return False


def _all_nodes(node: cst.CSTNode) -> List[cst.CSTNode]:
    """``node`` and everything under it, nested functions included (a listener class's
    methods)."""
    out: List[cst.CSTNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children(current))
    return out


def _handed_off(node: cst.CSTNode) -> Set[int]:
    """Calls passed as arguments to ``Thread(target=...)`` are not made here; neither are
    the callables given to ``submit``/``create_task`` (not calls): nothing to skip but
    ``asyncio.create_task(coro(...))`` and ``loop.run_in_executor(...)`` arguments."""
    handed: Set[int] = set()
    for call in calls_in(node):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("create_task", "ensure_future", "run_in_executor"):
            for arg in call.args:
                for inner in calls_in(arg.value):
                    handed.add(id(inner))
        elif isinstance(func, cst.Name) and func.value in ("create_task", "ensure_future"):
            for arg in call.args:
                for inner in calls_in(arg.value):
                    handed.add(id(inner))
    return handed


# ---------------------------------------------------------------------------
# Entry points for the rules.
# ---------------------------------------------------------------------------


def model_for(facts: ConsumerFacts, ctx: Any, code: str) -> KafkaModel:
    """The file's model, built once (OPS601 and OPS602 share it; both rules compute the
    same project facts, so either rule's are read)."""
    if facts.model is None:
        project = ctx.project if isinstance(ctx.project, ProjectIndex) else None
        module_facts: Dict[str, KafkaModuleFacts] = {}
        if project is not None:
            module_facts = {k: v for k, v in project.facts(code).items() if isinstance(v, KafkaModuleFacts)}
        facts.model = KafkaModel(facts, ctx, project, module_facts)
    return facts.model


def calls_project_factory(project: ProjectIndex, code: str, path: str) -> bool:
    """Whether a module calls a project function that returns a consumer (its text may
    name no Kafka client: ``consumer = build_consumer()``)."""

    def compute() -> frozenset:  # type: ignore[type-arg]
        return frozenset(
            f"{module}.{name}"
            for module, facts in project.facts(code).items()
            if isinstance(facts, KafkaModuleFacts)
            for name in facts.factories
        )

    factories = project.memo(("OPS6xx consumer factories", code), compute)
    if not factories:
        return False
    module = project.module_of(path)
    summary = project.summary(module) if module is not None else None
    if summary is None:
        return False
    for function in summary.functions.values():
        for site in function.calls:
            callee = site.callee.split("()", 1)[0]
            if callee in factories or project.canonical(callee) in factories:
                return True
    return False
