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
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union, cast

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.scopes import Answer, BindingKind, BindingTable, Kinds, Scope, ScopeKind, agreed
from opslint.rules import _net
from opslint.rules._net import CALLS, CLIENT_TYPES, Client, ClientKind, NetCall
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import scope_nodes
from opslint.syntax.walk import find_all


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
            return self.clients.property_client(value, scope) or self.clients.imported_object(value)
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
        #: Names changed after they were built (``opts["timeout"] = 5``, ``opts.update(...)``).
        self._mutated: Set[str] = set()
        self._modules = _ModuleKinds(self)
        #: Clients that project functions return, by qualified name (set by a cross-file rule).
        self.external: Optional[Callable[[str], Optional[Client]]] = None
        #: Clients that modules of the project hold in a global (``clients.session``), by
        #: qualified name (set by a cross-file rule).
        self.external_objects: Optional[Callable[[str], Optional[Client]]] = None
        #: The resolved names in the value of another module's module-level assignment, by
        #: the qualified name of its target (``app.deps.HttpSession``); set by a cross-file rule.
        self.external_aliases: Optional[Callable[[str], Tuple[str, ...]]] = None

    def _resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.ctx.imports.resolve(expr)

    # -- traversal ------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        """``session.mount(prefix, Adapter(...))`` with an adapter that is not plain."""
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _DICT_CHANGES:
            name = dotted_name(func.value)
            if name is not None:
                self._mutated.add(name)
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
            self._note_mutation(attr)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._note_mutation(node.target)
        if isinstance(node.target, cst.Name):
            self._mutated.add(node.target.value)  # ``options |= {...}``

    def _note_mutation(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Subscript):
            name = dotted_name(target.value)
            if name is not None:
                self._mutated.add(name)

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
        methods = {stmt.name.value: stmt for stmt in body if isinstance(stmt, cst.FunctionDef)}
        if set(methods) & (_net.SESSION_HOOK_ATTRS | {"_request", "urlopen"}):
            return None
        init = methods.get("__init__")
        if init is not None and _init_sets_timeout(init):
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
        handed = value.args[0].value if value.args and value.args[0].keyword is None else None
        if handed is not None and (
            qualified in _net.PASS_THROUGH_CALLS
            or (isinstance(value.func, cst.Attribute) and value.func.attr.value in _net.PASS_THROUGH_METHODS)
        ):
            return self.constructed(handed)
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
            # ``make_session()`` imported from another module of the project.
            return self.external(qualified) if self.external is not None and qualified is not None else None
        return Client(kind, _timeout_given(value, qualified), label)

    def imported_object(self, expr: cst.BaseExpression) -> Optional[Client]:
        """The client another module of the project holds in a global that ``expr`` names
        through an import (``from app.clients import session``, ``clients.session``)."""
        if self.external_objects is None:
            return None
        qualified = self._resolve(expr)
        return self.external_objects(qualified) if qualified is not None and "." in qualified else None

    def annotated(self, annotation: cst.BaseExpression, _depth: int = 0) -> Optional[Client]:
        """The client a type annotation names (``Optional[requests.Session]``), also through a
        type alias of this module (``HttpSession = Annotated[requests.Session, Depends(...)]``)."""
        for expr in _net.annotation_names(annotation):
            qualified = self._resolve(expr)
            if qualified is None:
                alias = self._type_alias(expr) if _depth < 3 else None
                found = self.annotated(alias, _depth + 1) if alias is not None else None
                if found is not None:
                    return found
                continue
            kind = CLIENT_TYPES.get(qualified)
            if kind is None and _net.is_grpc_stub_class(qualified):
                kind = _net.GRPC_STUB
            if kind is not None and qualified[qualified.rfind(".") + 1 :][:1].isupper():
                return Client(kind, None, qualified)
            if kind is None and _depth == 0:
                found = self._imported_alias(qualified)
                if found is not None:
                    return found
        return None

    def _imported_alias(self, qualified: str) -> Optional[Client]:
        """``HttpSession`` imported from ``app/deps.py``, where it is
        ``Annotated[requests.Session, Depends(get_http)]`` (or a plain ``requests.Session``
        alias): the one client type its value names."""
        if self.external_aliases is None or "." not in qualified:
            return None
        clients = [name for name in self.external_aliases(qualified) if name in CLIENT_TYPES]
        if len(set(clients)) != 1:
            return None
        return Client(CLIENT_TYPES[clients[0]], None, clients[0])

    def _type_alias(self, expr: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        """What a module-level name bound once to a type expression stands for."""
        module = self.table.module_scope
        if not isinstance(expr, cst.Name) or module is None:
            return None
        bindings = module.own(expr.value)
        if len(bindings) != 1 or bindings[0].kind is not BindingKind.ASSIGN:
            return None
        value = bindings[0].value
        return value if isinstance(value, (cst.Subscript, cst.Name, cst.Attribute)) else None

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

    # -- other ways a call reaches the network ---------------------------------------------------

    def network_module(self, expr: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """``self.http`` where ``http = requests``: the network module a name holds."""
        hook: Kinds[str] = self._modules
        return agreed(self.table.kinds(expr, scope, hook))

    def partial_of(self, func: cst.BaseExpression, scope: Scope) -> Optional[Tuple[str, List[cst.Call]]]:
        """``post_json = functools.partial(requests.post, headers=H)``: the network call it
        binds (qualified) and the ``partial(...)`` calls, when every binding agrees."""
        if not isinstance(func, cst.Name):
            return None
        bindings = self.table.lookup(func.value, scope)
        found: Set[str] = set()
        calls: List[cst.Call] = []
        for binding in bindings:
            value = binding.value
            if binding.kind is not BindingKind.ASSIGN or not isinstance(value, cst.Call) or not value.args:
                return None
            if self._resolve(value.func) not in _PARTIALS or value.args[0].keyword is not None:
                return None
            target = self._resolve(value.args[0].value)
            if target is None or target not in CALLS:
                return None
            found.add(target)
            calls.append(value)
        return (found.pop(), calls) if len(found) == 1 else None

    def kwargs_keys(self, expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> Optional[Set[str]]:
        """The keys a ``**expr`` can hold when it is a dict built in this file and never
        changed (``{"headers": h}``, ``dict(verify=True)``, ``{**BASE, "x": 1}``); None if unknown."""
        if _depth > 4:
            return None
        if isinstance(expr, cst.Dict):
            keys: Set[str] = set()
            for element in expr.elements:
                if isinstance(element, cst.StarredDictElement):
                    inner = self.kwargs_keys(element.value, scope, _depth + 1)
                    if inner is None:
                        return None
                    keys |= inner
                elif (
                    isinstance(element, cst.DictElement)
                    and isinstance(element.key, cst.SimpleString)
                    and isinstance(element.key.evaluated_value, str)
                ):
                    keys.add(element.key.evaluated_value)
                else:
                    return None
            return keys
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
            if any(a.keyword is None for a in expr.args if not a.star) or any(a.star == "*" for a in expr.args):
                return None
            keys = {a.keyword.value for a in expr.args if a.keyword is not None}
            for arg in expr.args:
                if arg.star == "**":
                    inner = self.kwargs_keys(arg.value, scope, _depth + 1)
                    if inner is None:
                        return None
                    keys |= inner
            return keys
        name = dotted_name(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        if name is None or name in self._mutated:
            return None
        bindings = self.table.resolve(expr, scope)
        if not bindings:
            return None
        out: Set[str] = set()
        for binding in bindings:
            if binding.kind is not BindingKind.ASSIGN or binding.value is None:
                return None
            inner = self.kwargs_keys(binding.value, binding.value_scope, _depth + 1)
            if inner is None:
                return None
            out |= inner
        return out

    def kwargs_value(
        self, expr: cst.BaseExpression, key: str, scope: Scope, _depth: int = 0
    ) -> Optional[cst.BaseExpression]:
        """The value a ``**expr`` gives ``key``, when ``kwargs_keys`` can tell the dict and one
        literal element of it (in this file) sets the key; None otherwise."""
        if _depth > 4:
            return None
        if isinstance(expr, cst.Dict):
            found: Optional[cst.BaseExpression] = None
            for element in expr.elements:
                if isinstance(element, cst.StarredDictElement):
                    found = self.kwargs_value(element.value, key, scope, _depth + 1) or found
                elif isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                    if element.key.evaluated_value == key:
                        found = element.value
            return found
        name = dotted_name(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        if name is None or name in self._mutated:
            return None
        bindings = self.table.resolve(expr, scope)
        if len(bindings) != 1 or bindings[0].kind is not BindingKind.ASSIGN or bindings[0].value is None:
            return None
        return self.kwargs_value(bindings[0].value, key, bindings[0].value_scope, _depth + 1)

    # -- the question --------------------------------------------------------------------------

    def client(self, receiver: cst.BaseExpression, scope: Scope) -> Optional[Client]:
        """The client ``receiver`` holds when read in ``scope``, when every binding agrees
        (``x = None`` placeholders aside); None when unknown, mixed or configured."""
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            own = self._self_client(scope)
            if own is not None:
                return own
        hook: Kinds[Kind] = self.hook
        return merge_answers(self.table.kinds(receiver, scope, hook))

    def _self_client(self, scope: Scope) -> Optional[Client]:
        """``self`` in a method of ``class GitLabSession(requests.Session)``: the session
        itself, unless the class overrides how it requests or mounts an adapter (either may
        set a default timeout)."""
        current: Optional[Scope] = scope
        while current is not None and current.kind is not ScopeKind.FUNCTION:
            current = current.parent
        owner = current.parent if current is not None else None
        if owner is None or owner.kind is not ScopeKind.CLASS or not isinstance(owner.node, cst.ClassDef):
            return None
        node = owner.node
        kind = next((k for k in (CLIENT_TYPES.get(self._resolve(b.value) or "") for b in node.bases) if k), None)
        if kind is None:
            return None
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        methods = [stmt for stmt in body if isinstance(stmt, cst.FunctionDef)]
        if {m.name.value for m in methods} & (_net.SESSION_HOOK_ATTRS | {"_request", "urlopen"}):
            return None
        for method in methods:
            for call in find_all(method, cst.Call):
                func = call.func
                if isinstance(func, cst.Attribute) and func.attr.value in ("mount", "register_hook"):
                    return None
            for target in find_all(method, cst.Attribute):
                if dotted_name(target.value) == "self" and target.attr.value in ("hooks", "request", "send"):
                    return None
        return Client(kind, False, node.name.value)


class _ModuleKinds:
    """A network module held in a name (``http = requests``)."""

    def __init__(self, clients: NetClients) -> None:
        self.clients = clients

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if isinstance(value, (cst.Name, cst.Attribute)):
            qualified = self.clients.ctx.imports.resolve(value)
            if qualified in NETWORK_MODULES:
                return qualified
        return None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        return None


#: Modules whose functions make network calls (``requests``, ``urllib.request``...).
NETWORK_MODULES = frozenset(name.rsplit(".", 1)[0] for name in CALLS)
_PARTIALS = frozenset({"functools.partial"})
#: Methods that change a dict in place.
_DICT_CHANGES = frozenset({"update", "setdefault", "__setitem__", "pop", "clear"})


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


# -- facts for the project index (cross-module factories) -------------------------------------


def factory_facts(module: cst.Module, package: Optional[str]) -> Dict[str, Tuple[Any, ...]]:
    """Module-level functions that return a network client: name -> (constructor, timeout set).

    Read from the function's return annotation (``-> requests.Session``) or from its
    returns: a constructor call, or a local bound once to one in the function body.  A
    function that mounts a custom adapter on it (or patches ``request``) returns a
    configured session and is left out.
    """
    imports = ImportTable(package)
    imports.add_top_level(module.body)
    out: Dict[str, Tuple[Any, ...]] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            made = _factory(stmt, imports)
            if made is not None:
                out[stmt.name.value] = made
    out.update(_module_objects(module, imports))
    return out


def _module_objects(module: cst.Module, imports: ImportTable) -> Dict[str, Tuple[str, Optional[bool], str]]:
    """Module globals bound once to a client constructor (``session = requests.Session()``):
    name -> (constructor, timeout set, "object"). A global the module mounts an adapter on
    or patches ``request`` of holds a configured client and is left out."""
    bound: Dict[str, List[Optional[cst.Call]]] = {}
    for stmt in module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        value = small.value if isinstance(small.value, cst.Call) else None
                        bound.setdefault(target.target.value, []).append(value)
    out: Dict[str, Tuple[str, Optional[bool], str]] = {}
    for name, values in bound.items():
        call = values[0] if len(values) == 1 else None
        qualified = imports.resolve(call.func) if call is not None else None
        if call is not None and qualified in CLIENT_TYPES:
            out[name] = (qualified, _timeout_given(call, qualified), "object")
    if not out:
        return out
    for name in configured_receivers(module, imports.resolve):
        out.pop(name, None)
    return out


def configured_receivers(module: cst.Module, resolve: Callable[[cst.BaseExpression], Optional[str]]) -> Set[str]:
    """Names of the sessions a module gives a custom adapter (``session.mount(prefix,
    TimeoutAdapter())``) or a patched request method, anywhere in it, functions included
    (``def _init(): session.mount(...)``): their timeout is theirs, not the call's."""
    out: Set[str] = set()
    for node in find_all(module, (cst.Call, cst.Assign)):
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "mount" and len(node.args) > 1:
                adapter = node.args[1].value
                if not (isinstance(adapter, cst.Call) and resolve(adapter.func) in _net.PLAIN_ADAPTERS):
                    out.add(dotted_name(func.value) or "")
            continue
        for target in cast(cst.Assign, node).targets:
            attr = target.target
            if isinstance(attr, cst.Attribute) and attr.attr.value in _net.SESSION_HOOK_ATTRS:
                out.add(dotted_name(attr.value) or "")
    out.discard("")
    return out


def _factory(function: cst.FunctionDef, imports: ImportTable) -> Optional[Tuple[str, Optional[bool]]]:
    made: Dict[str, Tuple[str, Optional[bool]]] = {}
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    for stmt in body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                qualified = imports.resolve(small.value.func)
                for target in small.targets:
                    if isinstance(target.target, cst.Name) and qualified in CLIENT_TYPES:
                        made[target.target.value] = (qualified, _timeout_given(small.value, qualified))
    for node in scope_nodes(function.body):
        if not isinstance(node, cst.Call):
            continue
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "mount" and len(node.args) > 1:
            adapter = node.args[1].value
            if not (isinstance(adapter, cst.Call) and imports.resolve(adapter.func) in _net.PLAIN_ADAPTERS):
                made.pop(dotted_name(func.value) or "", None)
    answers: List[Tuple[str, Optional[bool]]] = []
    for value in BindingTable.returns(function):
        if isinstance(value, cst.Call) and imports.resolve(value.func) in CLIENT_TYPES:
            qualified = imports.resolve(value.func)
            assert qualified is not None
            answers.append((qualified, _timeout_given(value, qualified)))
        elif isinstance(value, cst.Name) and value.value in made:
            answers.append(made[value.value])
        else:
            answers = []
            break
    if answers and len({CLIENT_TYPES[q].label for q, _ in answers}) == 1:
        return answers[0][0], None if any(t is None for _, t in answers) else any(t for _, t in answers)
    annotation = function.returns.annotation if function.returns is not None else None
    for expr in _net.annotation_names(annotation) if annotation is not None else ():
        qualified = imports.resolve(expr)
        if qualified in CLIENT_TYPES:
            return qualified, None
    return None


def project_object(facts: Mapping[str, object], qualified: str) -> Optional[Client]:
    """The client the global ``module.name`` holds, from the facts of its module."""
    return _from_facts(facts, qualified, 3)


def project_client(facts: Mapping[str, object], qualified: str) -> Optional[Client]:
    """The client ``module.function()`` returns, from the facts of its module."""
    return _from_facts(facts, qualified, 2)


def _from_facts(facts: Mapping[str, object], qualified: str, size: int) -> Optional[Client]:
    """``factory_facts`` entries: (constructor, timeout) for a factory, with a third
    element ``"object"`` for a global."""
    module, _, name = qualified.rpartition(".")
    found = facts.get(module)
    made = found.get(name) if isinstance(found, dict) else None
    if not isinstance(made, tuple) or len(made) != size or made[0] not in CLIENT_TYPES:
        return None
    return Client(CLIENT_TYPES[made[0]], made[1], made[0])


def _init_sets_timeout(init: cst.FunctionDef) -> bool:
    """An ``__init__`` of a client subclass that may give its requests a timeout:
    ``super().__init__(timeout=...)``, a mounted adapter or hook, or a wrapped
    ``self.request``/``self.send`` (an ``__init__`` that only keeps a base URL does not)."""
    for call in find_all(init, cst.Call):
        if any(a.keyword is not None and "timeout" in a.keyword.value for a in call.args) or any(
            a.star == "**" for a in call.args
        ):
            return True
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("mount", "register_hook"):
            return True
    for target in find_all(init, cst.Attribute):
        if dotted_name(target.value) == "self" and target.attr.value in ("hooks", "request", "send", "timeout"):
            return True
    return False
