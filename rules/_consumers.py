"""OPS6xx family analysis: Kafka consumers, their configuration, their consume loops, the
time the per-record path may wait, and whether their offsets are ever committed.

Built on the shared semantic layer: the file's ``BindingTable`` answers "what is this
value" through two ``Kinds`` hooks (a consumer of library X with this configuration; an
HTTP client or session), and the project index answers for other modules (their module
summaries' call sites, and the per-module facts ``_kafka_facts.module_facts`` computes:
settings dicts, consumer factories, firebase options).  Knowledge comes from ``_kafka``
(clients, settings, defaults) and ``_net`` (HTTP calls and their timeouts).

This module holds what the family's parts share: the records the analysis answers with
(``Consumer``, ``Setting``, ``Term``, ``ConsumeSite``, ...); ``ConsumerFacts``, which
records during the one traversal the nodes that matter with the scope they sit in; and
``KafkaFile``, the file as the parts see it.  Below it, ``_kafka_facts``: what other
modules define (the project facts).  Above it the parts, each importing only those listed
before it:

- ``_consumer_settings``: settings and timeouts as the configuration gives them;
- ``_consumer_kinds``: the ``Kinds`` hooks (which consumer, which HTTP client);
- ``_consumer_sites``: consume loops and the records each poll returns;
- ``_consumer_terms``: the slow calls on the per-record and per-poll paths (OPS601);
- ``_consumer_commits``: whether a manual-commit consumer may be committed (OPS602);
- ``_consumer_model``: ``KafkaModel`` (built once per file, on first use in
  ``leave_Module``), which puts the parts together and answers OPS601's and OPS602's
  questions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Protocol, Tuple, Type, TypeVar, Union, cast

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.scopes import BindingTable, Scope
from opslint.model import Span
from opslint.project import ProjectIndex
from opslint.rules import _kafka, _net
from opslint.rules._kafka_facts import KafkaModuleFacts
from opslint.syntax.nodes import CONTEXT_MANAGER_DECORATORS

MAX_DEPTH = 6
_A = TypeVar("_A", bound=Analysis)


# ---------------------------------------------------------------------------
# What the model answers with.
# ---------------------------------------------------------------------------


#: How an xmlrpc proxy's call is labelled in a ``Term`` (OPS601's advice looks for it: such a
#: call has no ``timeout=`` to give).
XMLRPC_LABEL = "(xmlrpc)"


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
class Seen:
    node: cst.CSTNode
    scope: Scope
    stack: Tuple[cst.CSTNode, ...] = ()


@dataclass
class Escape:
    expr: cst.BaseExpression
    scope: Scope
    #: "arg" (``call``, ``index``/``keyword``), "return" (``function``), "store".
    context: str
    call: Optional[cst.Call] = None
    index: int = -1
    keyword: str = ""
    function: Optional[cst.FunctionDef] = None


_WATCHED_METHODS = (
    _kafka.CONSUME_METHODS
    | _kafka.COMMIT_METHODS
    | _kafka.SEEK_METHODS
    | _kafka.TRANSACTION_OFFSET_METHODS
    | {"update", "setdefault", "subscribe"}
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
        self.constructions: List[Seen] = []
        self.method_calls: List[Seen] = []
        #: ``consumer.commit`` read without being called (passed as a callback, aliased).
        self.commit_refs: List[Seen] = []
        self.loops: List[Seen] = []
        self.mutations: List[Seen] = []
        self.escapes: List[Escape] = []
        self.firebase_inits: List[Seen] = []
        #: The file's ``KafkaModel`` (``_consumer_model.model_for``), built on first use;
        #: ``object`` here because that module imports this one.
        self.model: Optional[object] = None

    def _resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.ctx.imports.resolve(expr)

    def visit_Call(self, node: cst.Call) -> None:
        scope = self.table.current()
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _WATCHED_METHODS:
            self.method_calls.append(Seen(node, scope, tuple(self.ctx.stack)))
        qualified = self._resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if qualified in _kafka.CONSTRUCTORS:
            self.constructions.append(Seen(node, scope, tuple(self.ctx.stack)))
        elif isinstance(func, cst.Name) and qualified in (None, func.value) and func.value[:1].isupper():
            # ``ClickstreamConsumer(brokers)``: maybe a subclass of a consumer (``ConsumerKinds``).
            self.constructions.append(Seen(node, scope, tuple(self.ctx.stack)))
        elif qualified in _kafka.FIREBASE_INIT:
            self.firebase_inits.append(Seen(node, scope))
        position = 0
        for arg in node.args:
            if isinstance(arg.value, (cst.Name, cst.Attribute, cst.Call)):
                keyword = arg.keyword.value if arg.keyword is not None else ""
                self.escapes.append(Escape(arg.value, scope, "arg", node, position if not keyword else -1, keyword))
            if arg.keyword is None and not arg.star:
                position += 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in _kafka.COMMIT_METHODS:
            stack = self.ctx.stack
            parent = stack[-2] if len(stack) >= 2 else None
            if not (isinstance(parent, cst.Call) and parent.func is node):
                self.commit_refs.append(Seen(node, self.table.current(), tuple(stack)))

    def visit_For(self, node: cst.For) -> None:
        self.loops.append(Seen(node, self.table.current(), tuple(self.ctx.stack)))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            function = next((n for n in reversed(self.ctx.stack) if isinstance(n, cst.FunctionDef)), None)
            self.escapes.append(Escape(node.value, self.table.current(), "return", function=function))

    def visit_Yield(self, node: cst.Yield) -> None:
        if not isinstance(node.value, cst.BaseExpression):
            return
        # The one ``yield`` of a ``@contextmanager`` hands the value to the ``with`` of its
        # callers, as a return hands it to theirs; any other generator's value is stored.
        function = next((n for n in reversed(self.ctx.stack) if isinstance(n, cst.FunctionDef)), None)
        if function is not None and _is_context_manager(function, self.ctx.imports):
            self.escapes.append(Escape(node.value, self.table.current(), "return", function=function))
            return
        self.escapes.append(Escape(node.value, self.table.current(), "store"))

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self.table.current()
        for target in node.targets:
            if isinstance(target.target, cst.Subscript):
                self.mutations.append(Seen(node, scope, tuple(self.ctx.stack)))
            if not plain_target(target.target):
                self.escapes.append(Escape(node.value, scope, "store"))

    def _displays(self, node: Union[cst.List, cst.Tuple, cst.Set]) -> None:
        for element in node.elements:
            self.escapes.append(Escape(element.value, self.table.current(), "store"))

    visit_List = visit_Tuple = visit_Set = _displays

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self.escapes.append(Escape(node.value, self.table.current(), "store"))


def plain_target(target: cst.BaseExpression) -> bool:
    """A name or ``self.x`` (followed by the binding table), as opposed to a store into
    another object or a container."""
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
        return target.value.value in ("self", "cls")
    return isinstance(target, (cst.Tuple, cst.List))


# ---------------------------------------------------------------------------
# The file as the parts see it.
# ---------------------------------------------------------------------------


class KafkaFile:
    """The file being linted as the family's parts see it: its ``ConsumerFacts`` and
    binding table, the project (None for a lone file) with the other modules' facts, and
    how names and paths read from here."""

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

    def project_path(self, path: str) -> str:
        """``path`` relative to the project root (else to this file's folder)."""
        root = self.project.root if self.project is not None else os.path.dirname(self.ctx.path)
        rel = os.path.relpath(os.path.abspath(path), root)
        return (path if rel.startswith("..") else rel).replace(os.sep, "/")

    def code(self, node: cst.CSTNode) -> str:
        """The source of a node of this file, stripped."""
        text: str = self.ctx.module.code_for_node(node)
        return text.strip()


def _is_context_manager(function: cst.FunctionDef, imports: Any) -> bool:
    return any(imports.resolve(d.decorator) in CONTEXT_MANAGER_DECORATORS for d in function.decorators)
