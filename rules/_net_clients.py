"""The network clients of a file, shared by OPS502 and OPS503 (a declared analysis).

Which names, ``self`` attributes and factory calls hold an HTTP session, an httpx
or aiohttp client, a urllib3 pool, an opener or a gRPC stub.  Bindings come from
the one :class:`~opslint.analysis.scopes.BindingTable`; this module supplies the
family's :class:`ClientKinds` hook (what a constructor, an annotation or a property
makes) and the facts the table does not hold: sessions made safe by a custom
adapter ``mount`` or a patched ``request``, and local subclasses of a client type.
Knowledge (which constructors, which methods, which parameters) is ``_net.py``'s.

Rules declare ``requires = (BindingTable, NetClients)``, note ``table.current()``
where a call is visited, and ask :meth:`NetClients.client` in ``leave_Module``.
"""

from __future__ import annotations

import enum
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.scopes import Answer, BindingKind, BindingTable, Kinds, Scope, ScopeKind
from opslint.rules import _net
from opslint.rules._net import CALLS, CLIENT_TYPES, Client, ClientKind, NetCall
from opslint.syntax.names import dotted_name


class Marker(enum.Enum):
    """Answers of the hook that are not a client."""

    #: ``x = None``: a placeholder, replaced by the real value elsewhere.
    NONE = "none"
    #: A session given a custom adapter (``mount``) or a patched ``request``/``send``.
    CONFIGURED = "configured"


Kind = Union[Client, Marker]


class ClientKinds:
    """The family's :class:`~opslint.analysis.scopes.Kinds` hook: what a value is."""

    def __init__(self, clients: NetClients) -> None:
        self.clients = clients

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[Kind]:
        if isinstance(value, cst.Name) and value.value == "None":
            return Marker.NONE
        if isinstance(value, (cst.Name, cst.Attribute)):
            if self.clients.is_configured(value, scope):
                return Marker.CONFIGURED
            return self.clients.property_client(value, scope)
        return self.clients.constructed(value)

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[Kind]:
        return self.clients.annotated(annotation)


class NetClients(Analysis):
    """The network clients of one file (see the module docstring)."""

    requires = (BindingTable,)

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        self.table = ctx.analysis(BindingTable)
        self.hook = ClientKinds(self)
        #: Receivers given a custom adapter or a patched request method, where seen.
        self._hooks: List[Tuple[cst.BaseExpression, Scope]] = []
        #: ``session.mount(prefix, adapter)`` with a named adapter: judged at the end.
        self._named_adapters: List[Tuple[cst.BaseExpression, cst.Name, Scope]] = []
        self._configured: Optional[Set[int]] = None
        self._properties: Dict[int, Optional[Client]] = {}

    def _resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.ctx.imports.resolve(expr)

    # -- traversal ------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        """``session.mount(prefix, Adapter(...))`` with an adapter that is not plain."""
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "mount" or len(node.args) < 2:
            return
        adapter = node.args[1].value
        if isinstance(adapter, cst.Call) and self._resolve(adapter.func) in _net.PLAIN_ADAPTERS:
            return
        if isinstance(adapter, cst.Name):
            self._named_adapters.append((func.value, adapter, self.table.current()))
            return
        self._hooks.append((func.value, self.table.current()))

    def visit_Assign(self, node: cst.Assign) -> None:
        """``session.request = functools.partial(session.request, timeout=10)``."""
        for target in node.targets:
            attr = target.target
            if isinstance(attr, cst.Attribute) and attr.attr.value in _net.SESSION_HOOK_ATTRS:
                self._hooks.append((attr.value, self.table.current()))

    # -- facts ------------------------------------------------------------------------------

    def is_configured(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """Whether a binding ``expr`` reads was given a custom adapter or request hook."""
        if self._configured is None:
            self._configured = set()
            for receiver, at in self._hooks:
                self._configured.update(id(b) for b in self.table.resolve(receiver, at))
            for receiver, adapter, at in self._named_adapters:
                if not self._plain_adapter(adapter, at):
                    self._configured.update(id(b) for b in self.table.resolve(receiver, at))
        if not self._configured:
            return False
        return any(id(b) in self._configured for b in self.table.resolve(expr, scope))

    def _plain_adapter(self, name: cst.Name, scope: Scope) -> bool:
        """``adapter = HTTPAdapter(max_retries=retry)`` mounted below: retries, no timeout."""
        bindings = self.table.lookup(name.value, scope)
        return any(
            isinstance(b.value, cst.Call) and self._resolve(b.value.func) in _net.PLAIN_ADAPTERS for b in bindings
        )

    def local_type(self, name: str) -> Optional[ClientKind]:
        """``class ApiSession(requests.Session)`` makes sessions unless it overrides requests."""
        scope = self.table.class_named(name)
        node = scope.node if scope is not None else None
        if not isinstance(node, cst.ClassDef):
            return None
        kinds = [CLIENT_TYPES.get(self._resolve(base.value) or "") for base in node.bases]
        kind = next((k for k in kinds if k is not None), None)
        if kind is None:
            return None
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        methods = {stmt.name.value for stmt in body if isinstance(stmt, cst.FunctionDef)}
        if methods & (_net.SESSION_HOOK_ATTRS | {"_request", "__init__", "urlopen"}):
            return None
        return kind

    def constructed(self, value: cst.BaseExpression) -> Optional[Client]:
        """The client a constructor expression makes (``requests.Session()``), if any."""
        if isinstance(value, cst.BooleanOperation):
            return self.constructed(value.right) or self.constructed(value.left)
        if isinstance(value, cst.IfExp):
            return self.constructed(value.body) or self.constructed(value.orelse)
        if not isinstance(value, cst.Call):
            return None
        qualified = self._resolve(value.func)
        text = dotted_name(value.func) or ""
        if qualified is None and "." in text and _net.is_grpc_stub_class(text):
            # ``from . import users_pb2_grpc`` outside a known package: the name is telling enough.
            qualified = text
        kind: Optional[ClientKind] = None
        label = qualified or ""
        if qualified is not None:
            kind = CLIENT_TYPES.get(qualified)
            if kind is None and _net.is_grpc_stub_class(qualified):
                kind = _net.GRPC_STUB
        elif isinstance(value.func, cst.Name):
            kind = self.local_type(value.func.value)
            label = value.func.value
        if kind is None:
            return None
        return Client(kind, _timeout_given(value, qualified), label)

    def annotated(self, annotation: cst.BaseExpression) -> Optional[Client]:
        """The client a type annotation names (``Optional[requests.Session]``)."""
        for expr in _net.annotation_names(annotation):
            qualified = self._resolve(expr)
            if qualified is None:
                continue
            kind = CLIENT_TYPES.get(qualified)
            if kind is None and _net.is_grpc_stub_class(qualified):
                kind = _net.GRPC_STUB
            if kind is not None and qualified[qualified.rfind(".") + 1 :][:1].isupper():
                return Client(kind, None, qualified)
        return None

    def property_client(self, expr: cst.BaseExpression, scope: Scope) -> Optional[Client]:
        """``self.session`` where ``@property def session(self): return self._session``."""
        if not isinstance(expr, cst.Attribute):
            return None
        for binding in self.table.resolve(expr, scope):
            func = binding.node
            if binding.kind is not BindingKind.FUNCTION or not isinstance(func, cst.FunctionDef):
                continue
            if binding.scope.kind is not ScopeKind.CLASS:
                continue
            names = {self._resolve(d.decorator) or dotted_name(d.decorator) for d in func.decorators}
            if not names & _net.PROPERTY_DECORATORS:
                continue
            if id(func) not in self._properties:
                self._properties[id(func)] = None  # a property returning itself
                self._properties[id(func)] = self._returned(func)
            return self._properties[id(func)]
        return None

    def _returned(self, func: cst.FunctionDef) -> Optional[Client]:
        inner = self.table.scope_of(func)
        if inner is None:
            return None
        values = [v for v in self.table.returns(func) if v is not None and not _is_none(v)]
        if not values:
            return None
        found: List[Client] = []
        for value in values:
            client = self.client(value, inner)
            if client is None:
                return None
            found.append(client)
        return merge(found)

    # -- the question --------------------------------------------------------------------------

    def client(self, receiver: cst.BaseExpression, scope: Scope) -> Optional[Client]:
        """The client ``receiver`` holds when read in ``scope``, when every binding agrees
        (``x = None`` placeholders aside); None when unknown, mixed or configured."""
        hook: Kinds[Kind] = self.hook
        return merge_answers(self.table.kinds(receiver, scope, hook))


def merge_answers(answers: Sequence[Answer[Kind]]) -> Optional[Client]:
    kinds = [a.kind for a in answers if a.kind is not Marker.NONE]
    clients = [k for k in kinds if isinstance(k, Client)]
    if not clients or len(clients) != len(kinds):
        return None
    return merge(clients)


def merge(clients: Sequence[Client]) -> Optional[Client]:
    """One client from several bindings of the same kind (None when the kinds differ)."""
    if len({c.kind.label for c in clients}) != 1:
        return None
    timeouts = [c.timeout_set for c in clients]
    merged: Optional[bool] = False
    if any(t is None for t in timeouts):
        merged = None
    elif any(timeouts):
        merged = True
    return Client(clients[0].kind, merged, clients[0].label)


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _timeout_given(call: cst.Call, qualified: Optional[str]) -> Optional[bool]:
    """Whether a constructor call sets a timeout (None: unknown, ``**kwargs``)."""
    if any(arg.star for arg in call.args):
        return None
    if any(arg.keyword is not None and arg.keyword.value == "timeout" for arg in call.args):
        return True
    pos = CALLS.get(qualified or "", NetCall(_net.NEVER)).timeout_pos
    if pos is None:
        return False
    return len([a for a in call.args if a.keyword is None]) > pos


def enclosing_function(scope: Scope) -> Optional[cst.FunctionDef]:
    """The innermost ``def`` around a scope (lambdas and comprehensions see through)."""
    current: Optional[Scope] = scope
    while current is not None:
        if current.kind is ScopeKind.FUNCTION:
            return current.function
        if current.kind in (ScopeKind.CLASS, ScopeKind.MODULE):
            return None
        current = current.parent
    return None
