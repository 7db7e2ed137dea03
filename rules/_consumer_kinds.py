"""OPS6xx ``Kinds`` hooks: what the binding table answers a value is.

``ConsumerKinds``: a ``Consumer`` (a construction in this file, a project factory's,
a method of this file's class that returns one, an annotated parameter's), made once per
construction so that a consumer is one object wherever the file uses it.
``HttpKinds``: HTTP clients and sessions, with the timeout their constructor sets.
``agreed``: the one kind every binding a value reaches answers.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Set

import libcst as cst

from opslint.analysis.scopes import Answer, Scope, ScopeKind
from opslint.rules import _kafka, _net
from opslint.rules._consumer_settings import SettingsReader
from opslint.rules._consumers import Consumer, HttpClient, KafkaFile, Where
from opslint.rules._kafka_facts import topic_of
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import calls_in, is_none, unwrap_await


class ConsumerKinds:
    """What a value is for OPS6xx: a ``Consumer`` (a construction in this file, a project
    factory's, or an annotated parameter's), else None."""

    def __init__(self, file: KafkaFile, settings: SettingsReader) -> None:
        self.file = file
        self.settings = settings
        self._active: Set[int] = set()
        self._constructions: Dict[int, Consumer] = {}
        self._factories: Dict[str, Optional[Consumer]] = {}
        self._annotated: Dict[str, Consumer] = {}
        #: id(consumer) -> the class scope of a consumer subclass whose instances it is.
        self.subclasses: Dict[int, Scope] = {}

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[Consumer]:
        value = unwrap_await(value)
        if not isinstance(value, cst.Call) or not isinstance(value.func, (cst.Name, cst.Attribute)):
            return None
        qualified = self.file.resolve(value.func)
        if isinstance(value.func, cst.Name) and qualified in (None, value.func.value):
            subclass = self._subclass(value.func.value)
            if subclass is not None:
                return subclass
        if qualified is None:
            return self._method_factory(value, scope)
        if qualified in _kafka.CLOSING and value.args:
            return self.of_value(value.args[0].value, scope)
        made = default_factory(value, qualified)
        if made is not None:
            # ``consumer: Consumer = field(default_factory=lambda: Consumer({...}))``
            return self.of_value(made, scope)
        library = _kafka.CONSTRUCTORS.get(qualified)
        if library is not None:
            return self.construction(value, library, scope)
        return self.project_factory(qualified)

    def _subclass(self, name: str) -> Optional[Consumer]:
        """``class ClickstreamConsumer(KafkaConsumer)`` of this file whose ``__init__`` calls
        ``super().__init__(topic, group_id=..., enable_auto_commit=False)``: its instances
        are consumers built with those arguments."""
        table = self.file.table
        owner = table.class_named(name)
        node = owner.node if owner is not None else None
        if not isinstance(node, cst.ClassDef):
            return None
        libraries = [_kafka.CONSTRUCTORS.get(self.file.resolve(b.value) or "") for b in node.bases]
        library = next((lib for lib in libraries if lib is not None), None)
        inits = [b.node for b in table.attribute(owner, "__init__")] if owner is not None else []
        init = inits[0] if len(inits) == 1 and isinstance(inits[0], cst.FunctionDef) else None
        inner = table.scope_of(init) if init is not None else None
        if library is None or init is None or inner is None:
            return None
        for call in calls_in(init.body):
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "__init__"
                and isinstance(func.value, cst.Call)
                and dotted_name(func.value.func) == "super"
            ):
                made = self.construction(call, library, inner)
                if owner is not None:
                    self.subclasses[id(made)] = owner
                return made
        return None

    def _method_factory(self, call: cst.Call, scope: Scope) -> Optional[Consumer]:
        """``self._create_consumer()``: a method of this file's class that returns one
        consumer on every path (the binding table follows factories called by name)."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return None
        table = self.file.table
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
        found = agreed(answers)
        return found if isinstance(found, Consumer) else None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[Consumer]:
        for expr in _net.annotation_names(annotation):
            library = _kafka.CONSTRUCTORS.get(self.file.resolve(expr) or "")
            if library is not None:
                return self.annotated(library, annotation)
        return None

    def consumer_of(self, expr: cst.BaseExpression, scope: Scope) -> Optional[Consumer]:
        """The one consumer ``expr`` holds on every binding it reaches."""
        found = agreed(self.file.table.kinds(expr, scope, self))
        return found if isinstance(found, Consumer) else None

    def construction(self, call: cst.Call, library: _kafka.Library, scope: Scope) -> Consumer:
        made = self._constructions.get(id(call))
        if made is None:
            settings, complete = self.settings.call_settings(call, library, scope)
            made = Consumer(library, settings, complete, Where(call), call, topic_of(call))
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
        if self.file.project is None:
            return None
        name = self.file.project.canonical(qualified)
        module, _, function = name.rpartition(".")
        facts = self.file.module_facts.get(module)
        fact = facts.factories.get(function) if facts is not None else None
        summary = self.file.project.summary(module)
        if fact is None or summary is None or module == self.file.module_name:
            return None
        library = next((lib for lib in _kafka.CONSTRUCTORS.values() if lib.name == fact.library), None)
        if library is None:
            return None
        settings, complete = self.settings.fact_settings(fact.settings, module, summary.path, 0)
        made = Consumer(library, settings, complete, Where(path=summary.path, span=fact.span), None, fact.topic)
        self._factories[qualified] = made
        return made


class HttpKinds:
    """HTTP clients and sessions (``_net.CLIENT_TYPES``, google-auth ``AuthorizedSession``)
    and google-auth ``Request`` objects."""

    def __init__(self, file: KafkaFile, settings: SettingsReader) -> None:
        self.file = file
        self.settings = settings

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[HttpClient]:
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            # ``session or requests.Session()``: an injected client, else the fallback (a
            # client of the same kind, as OPS502 reads it).
            return self.of_value(value.right, scope)
        if not isinstance(value, cst.Call) or not isinstance(value.func, (cst.Name, cst.Attribute)):
            return None
        qualified = self.file.resolve(value.func) or ""
        kind = _net.CLIENT_TYPES.get(qualified)
        if kind is None and _net.is_grpc_stub_class(qualified):
            return HttpClient(_net.GRPC_STUB, qualified)  # ``users_pb2_grpc.UsersStub(channel)``
        if qualified in _net.XMLRPC_PROXIES:
            # A custom transport may set a timeout: its bound is unknown (not "forever").
            given = _net.xmlrpc_transport_given(value)
            return HttpClient(_net.XMLRPC_PROXY, qualified, (False, None) if given else None)
        if kind is None and qualified not in _kafka.AUTHORIZED_SESSION | _kafka.GOOGLE_AUTH_REQUEST:
            return None
        timeout = None
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "timeout":
                timeout = self.settings.timeout_seconds(arg.value, scope)
        return HttpClient(kind, qualified, timeout)

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[HttpClient]:
        for expr in _net.annotation_names(annotation):
            qualified = self.file.resolve(expr) or ""
            kind = _net.CLIENT_TYPES.get(qualified)
            if kind is None and _net.is_grpc_stub_class(qualified):
                kind = _net.GRPC_STUB
            if kind is not None or qualified in _kafka.AUTHORIZED_SESSION:
                return HttpClient(kind, qualified)
        return None


def agreed(answers: Sequence[Answer[Any]]) -> Any:
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


#: Field declarations whose keyword builds each instance's default value.
_FIELD_FACTORIES = {
    "dataclasses.field": "default_factory",
    "pydantic.Field": "default_factory",
    "pydantic.fields.Field": "default_factory",
    "attr.ib": "factory",
    "attr.attrib": "factory",
    "attrs.field": "factory",
}


def default_factory(call: cst.Call, qualified: str) -> Optional[cst.BaseExpression]:
    """What ``field(default_factory=lambda: Consumer(...))`` builds per instance: the lambda's
    body (None for any other call)."""
    keyword_name = _FIELD_FACTORIES.get(qualified)
    if keyword_name is None:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword_name and isinstance(arg.value, cst.Lambda):
            if not arg.value.params.params:
                return arg.value.body
    return None
