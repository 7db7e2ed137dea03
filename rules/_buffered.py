"""The buffered clients of a file (a family analysis of OPS101-OPS104).

Which names hold a client of a buffering SDK, and which client an expression names:
built on the one binding table (``opslint.analysis.scopes``) with a :class:`Kinds`
hook that says "this value is a client of that SDK".  SDK knowledge comes from
``_buffers.py``.

* A *client* is created by a binding whose value calls a catalog constructor
  (``producer = Producer(conf)``, ``self.ph = Posthog(...)``, ``with Producer() as p``)
  or a same-file factory that returns one (``def make(): return Producer(conf)``);
  every binding of the same name in the same scope (or attribute of the same class)
  is the same client.  A binding whose value returns an existing client
  (``listener = setup_logging()`` where ``setup_logging`` returns its local
  listener) is that client.  The SDK's default client (``posthog.capture()``) is
  the *module* client of that SDK; so is a singleton factory (``ldclient.get()``).
* :meth:`FileClients.client_of` follows names, ``self.x``, class attributes,
  factory calls and global getters (``trace.get_tracer_provider()``) to a client.

Rules declare ``requires = (BufferedClients,)`` (or an analysis that requires it) and
ask ``ctx.analysis(BufferedClients).of(sdks)`` once the traversal is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.analysis.scopes import Answer, Binding, BindingKind, BindingTable, Scope, ScopeKind, agreed, any_of
from opslint.rules import _buffers as B
from opslint.rules._buffer_project import Knowledge, ProjectObject, project_buffers
from opslint.rules._wrappers import creation, kw_is, module_facts
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import keyword, unwrap_await

#: A client's identity: ("module", sdk key), ("global", name), ("local", id(function), name),
#: ("attr", id(class), attribute).
ClientKey = Tuple[object, ...]


@dataclass(eq=False)
class Client:
    """A buffering client as the rules talk about it."""

    key: ClientKey
    sdk: B.BufferedSdk
    #: "module" (the SDK's default client), "global", "local" or "attr" (an attribute of a class).
    kind: str
    #: How its own scope names it ("producer", "self.producer", "posthog").
    label: str
    #: The call that creates it (a module client: the module).
    node: cst.CSTNode
    #: The function of a local client, the class of an attribute.
    owner: Optional[cst.CSTNode] = None
    binding: Optional[Binding] = None
    #: The named linked object that buffers (``consumer`` in ``Mixpanel(consumer=consumer)``).
    linked_label: str = ""
    with_node: Optional[cst.With] = None
    #: A normal interpreter exit drains it.
    exit_drains: bool = False
    #: A process-wide client bound to a local name: how other scopes name it (``ldclient.get()``).
    alt_receiver: str = ""
    #: The statement of its scope's body that creates it.
    stmt: Optional[cst.CSTNode] = None
    #: A process-wide client defined in another module (or a cached getter).
    project: Optional[ProjectObject] = None
    #: The file names it (else only project functions of other modules reach it).
    in_scope: bool = True


@dataclass(frozen=True)
class Instance:
    """An instance of a class defined in the file (``Analytics()``)."""

    cls: str


Kind = Union[Client, Instance]


class BufferedClients(Analysis):
    """Calls, module switches and creation statements seen in the traversal; the
    clients of a set of SDKs computed on demand (:meth:`of`)."""

    requires = (BindingTable,)

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        self.table = ctx.analysis(BindingTable)
        #: Every call with the scope it runs in and its qualified name.
        self.calls: List[Tuple[cst.Call, Scope, Optional[str]]] = []
        #: Qualified names of every call in the file.
        self.called: Set[str] = set()
        #: ``posthog.sync_mode = True``: (qualified attribute, value source).
        self.switches: Set[Tuple[str, str]] = set()
        #: SDKs whose configuration in this file turns event sending off (``send_events=False``).
        self.config_off: Set[str] = set()
        #: id(value of an assignment / ``with`` item) -> the statement of its scope's body.
        self.tops: Dict[int, cst.CSTNode] = {}
        self._made: Dict[Tuple[Tuple[B.BufferedSdk, ...], int], FileClients] = {}
        self._knowledge: Dict[int, Knowledge] = {}

    @property
    def module_name(self) -> str:
        return self.ctx.module_name or "__main__"

    def knowledge(self, project: Any = None) -> Knowledge:
        """What the file knows of project code holding clients: its own wrappers,
        singletons, getters and factories, and (in a project run) the project's."""
        found = self._knowledge.get(id(project))
        if found is None:
            local = module_facts(self.ctx.module, self.ctx.imports, self.module_name, self.called)
            found = self._knowledge[id(project)] = Knowledge(local, self.module_name, project_buffers(project))
        return found

    # -- traversal ---------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        qual = self.ctx.imports.resolve(node.func)
        self.calls.append((node, self.table.current(), qual))
        if qual is not None:
            self.called.add(qual)
            for key, name, value in B.CONFIG_SWITCHES.get(qual, ()):
                if kw_is(node, name, value):
                    self.config_off.add(key)

    def _note_top(self, value: Optional[cst.BaseExpression]) -> None:
        if value is None or not isinstance(unwrap_await(value), cst.Call):
            return
        stack = self.ctx.stack
        for index in range(len(stack) - 1, 0, -1):
            parent = stack[index - 1]
            if isinstance(parent, cst.Module) or (
                isinstance(parent, cst.IndentedBlock) and index >= 2 and isinstance(stack[index - 2], cst.FunctionDef)
            ):
                self.tops[id(unwrap_await(value))] = stack[index]
                return

    def visit_Assign(self, node: cst.Assign) -> None:
        self._note_top(node.value)
        if isinstance(unwrap_await(node.value), cst.Call):
            return
        for target in node.targets:
            qual = self.ctx.imports.resolve(target.target) if isinstance(target.target, cst.Attribute) else None
            if qual is not None and qual in B.SWITCHES:
                self.switches.add((qual, self.ctx.module.code_for_node(node.value)))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._note_top(node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._note_top(node.item)

    # -- questions ---------------------------------------------------------------

    def of(self, sdks: Tuple[B.BufferedSdk, ...], project: Any = None) -> FileClients:
        """The clients of these SDKs (and of project wrappers) in the file, computed once
        per SDK set and project."""
        made = self._made.get((sdks, id(project)))
        if made is None:
            made = self._made[(sdks, id(project))] = FileClients(self, sdks, self.knowledge(project))
        return made


class _Resolve:
    """The Kinds hook: a value that is (or returns) a known client, or an instance of a
    class of the file; ``params`` maps names of ``where`` (an inlined call's parameters
    and the names a path analysis saw assigned)."""

    def __init__(
        self, clients: FileClients, params: Optional[Mapping[str, Kind]] = None, where: Optional[Scope] = None
    ) -> None:
        self.clients = clients
        self.params = params
        self.where = where

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[Kind]:
        clients = self.clients
        if isinstance(value, cst.Name) and self.params and scope is self.where and value.value in self.params:
            return self.params[value.value]
        value = unwrap_await(value)
        if isinstance(value, (cst.Name, cst.Attribute)):
            return clients.imported(value, scope)
        made = clients.by_value.get(id(value))
        if made is not None:
            return made
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        if isinstance(func, cst.Attribute):
            # ``split = factory.client()``: a handle that records into the factory's buffers.
            if func.attr.value in clients.handles:
                owner = agreed(clients.table.kinds(func.value, scope, self), lambda a, b: a is b)
                if isinstance(owner, Client) and func.attr.value in owner.sdk.handles:
                    return owner
        getter = clients.getter(value, scope)
        if getter is not None:
            return getter
        qual = clients.facts.ctx.imports.resolve(value.func)
        if qual is not None:
            for client in clients.clients.values():
                if qual in client.sdk.global_getters:
                    return client
            for sdk in B.sdk_for_constructor(qual, clients.sdks):
                module = clients.clients.get(("module", sdk.key))
                if sdk.singleton_factory(qual) and module is not None:
                    return module
        if isinstance(value.func, cst.Name):
            found = clients.table.lookup(value.func.value, scope)
            if len(found) == 1 and found[0].kind is BindingKind.CLASS:
                return Instance(value.func.value)
        return None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[Kind]:
        return None


class _Created:
    """The Kinds hook of creation: a constructor call of a buffering SDK."""

    def __init__(self, clients: FileClients) -> None:
        self.clients = clients

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[cst.Call]:
        value = unwrap_await(value)
        if isinstance(value, cst.Call) and self.clients.creation(value, scope) is not None:
            return value
        return None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[cst.Call]:
        return None


class FileClients:
    """The clients of one SDK set in one file (see the module docstring)."""

    def __init__(self, facts: BufferedClients, sdks: Tuple[B.BufferedSdk, ...], knowledge: Knowledge) -> None:
        self.facts = facts
        self.table = facts.table
        self.sdks = tuple(sdk for sdk in sdks if sdk.key not in facts.config_off)
        #: Methods that return a handle on a client (``factory.client()``), asked per call;
        #: of every SDK: a client of another module brings its SDK with it.
        self.handles = B.HANDLES
        self.knowledge = knowledge
        self.clients: Dict[ClientKey, Client] = {}
        #: id(creating call, or a call that returns a known client) -> the client.
        self.by_value: Dict[int, Client] = {}
        #: Bindings of linked buffering objects (``consumer = BufferedConsumer()``) -> their SDKs.
        self.linked: Dict[int, Tuple[B.BufferedSdk, ...]] = {}
        self._factories: Dict[int, Optional[Tuple[cst.Call, Scope]]] = {}
        self._choices: Dict[int, cst.IfExp] = {}
        self.unbuffered_modules = {
            sdk.key for sdk in sdks if any(s in facts.switches for s in sdk.unbuffered_assignments)
        }
        self._module_clients()
        self._scan()
        self._singletons()

    # -- creation ------------------------------------------------------------------

    def _module_clients(self) -> None:
        called = self.facts.called
        for sdk in self.sdks:
            if sdk.module_client and sdk.key not in self.unbuffered_modules:
                if sdk.module_uses and any(u in called for u in sdk.module_uses):
                    self._add(("module", sdk.key), sdk, "module", self._module_receiver(sdk), self.facts.ctx.module)

    def _singletons(self) -> None:
        called = self.facts.called
        for sdk in self.sdks:
            for factory in sdk.singleton_factories:
                alias = self.module_alias(factory)
                if factory in called and alias is not None and ("module", sdk.key) not in self.clients:
                    self._add(("module", sdk.key), sdk, "module", f"{alias}()", self.facts.ctx.module)

    def _module_receiver(self, sdk: B.BufferedSdk) -> str:
        """The local name of the SDK's module (``posthog``, ``analytics``...)."""
        wanted = [d.function.rsplit(".", 1)[0] for d in sdk.module_drains]
        wanted += [u.rsplit(".", 1)[0] for u in sdk.module_uses]
        for local, full in self.facts.ctx.imports.aliases.items():
            if full in wanted:
                return local
        return sdk.module_client

    def module_alias(self, function: str) -> Optional[str]:
        """How the file names a qualified function (``posthog.flush``, ``flush``)."""
        module, _, name = function.rpartition(".")
        for local, full in self.facts.ctx.imports.aliases.items():
            if full == module:
                return f"{local}.{name}"
            if full == function:
                return local
        return None

    def qualify(self, expr: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """The qualified name of a callee: through imports, or ``<module>.<name>`` for a
        class or function of this module."""
        qual = self.facts.ctx.imports.resolve(expr)
        if qual is None and isinstance(expr, cst.Name):
            found = self.table.lookup(expr.value, scope)
            if len(found) == 1 and found[0].kind in (BindingKind.CLASS, BindingKind.FUNCTION):
                if found[0].scope.kind is ScopeKind.MODULE:
                    return f"{self.facts.module_name}.{expr.value}"
        return qual

    def creation(self, call: cst.Call, scope: Scope) -> Optional[Tuple[B.BufferedSdk, str]]:
        """(SDK, linked object's name) when ``call`` constructs a buffering client: a
        catalog constructor, a wrapper class, a project factory."""
        qual = self.qualify(call.func, scope)
        if qual is None:
            return None

        def named_link(sdk: B.BufferedSdk, value: cst.BaseExpression) -> bool:
            return any(sdk in self.linked.get(id(b), ()) for b in self.table.resolve(value, scope))

        found = creation(call, qual, self.sdks, self.facts.called, self.facts.ctx.imports.resolve, named_link)
        if found is not None:
            return found
        made = self.knowledge.class_sdk(qual) or self.knowledge.factory_sdk(qual)
        return (made, "") if made is not None else None

    def imported(self, expr: cst.BaseExpression, scope: Scope) -> Optional[Client]:
        """A process-wide client of another module that ``expr`` names (``tracker``
        after ``from app.tracking import tracker``)."""
        if isinstance(expr, cst.Name):
            found = self.table.lookup(expr.value, scope)
            if len(found) != 1 or found[0].kind is not BindingKind.IMPORT:
                return None
            qual = self.facts.ctx.imports.aliases.get(expr.value)
        else:
            qual = self.facts.ctx.imports.resolve(expr)
            base = expr.value if isinstance(expr, cst.Attribute) else None
            if qual is None or not isinstance(base, cst.Name):
                return None
            bound = self.table.lookup(base.value, scope)
            if bound and all(b.kind is not BindingKind.IMPORT for b in bound):
                return None
        obj = self.knowledge.object(qual) if qual else None
        if obj is None:
            return None
        # A handle (a meter's counter) is named by what it records into.
        label = self.facts.ctx.module.code_for_node(expr) if obj.qualname == qual else obj.qualname
        return self.project_client(obj, label, expr)

    def getter(self, call: cst.Call, scope: Scope) -> Optional[Client]:
        """``get_producer()`` of a cached getter (here or in another module): one client per process."""
        qual = self.qualify(call.func, scope)
        obj = self.knowledge.object(f"{qual}()") if qual else None
        if obj is None:
            return None
        return self.project_client(obj, self.facts.ctx.module.code_for_node(call.func) + "()", call)

    def inline_instance(self, call: cst.Call, scope: Scope) -> Optional[Client]:
        """An instance of another module's class that holds a client, built and used at
        once (``FlagAuditor(manifest).audit()``); this file's own classes are followed
        into their methods instead."""
        found = self.by_value.get(id(call))
        if found is not None:
            return found
        qual = self.qualify(call.func, scope)
        if qual is None or qual.startswith(f"{self.facts.module_name}."):
            return None
        sdk = self.knowledge.class_sdk(qual)
        made = (sdk, "") if sdk is not None else None
        if made is None:
            return None
        label = self.facts.ctx.module.code_for_node(call.func) + "(...)"
        client = self._add(("inline", id(call)), made[0], "global", label, call)
        self.by_value[id(call)] = client
        return client

    def project_client(self, obj: ProjectObject, label: str, node: cst.CSTNode, in_scope: bool = True) -> Client:
        """The client of a project object (one per object, named as the file first names it;
        ``in_scope``: the file names it, else only functions of other modules reach it)."""
        # The SDK's module client is one per process, whichever module feeds it: the same
        # key as this file's own ``analytics.track``/``analytics.flush`` calls use.
        key: ClientKey = ("module", obj.sdk.key) if obj.module_client else ("global", obj.qualname)
        found = self.clients.get(key)
        if found is not None and obj.module_client:
            return found
        if found is None or (in_scope and not found.in_scope):
            extra = {"exit_drains": obj.exit_drains, "project": obj, "in_scope": in_scope}
            found = self._add(key, obj.sdk, "global", label, node, **extra)
        return found

    def _direct(self, call: cst.Call, scope: Scope) -> Optional[Tuple[cst.Call, Scope]]:
        """The constructor call that ``call`` is, or that the same-file factory it calls returns."""
        if self.creation(call, scope) is not None:
            return call, scope
        if not isinstance(call.func, cst.Name):
            return None
        function = self.table.function_named(call.func.value, scope)
        if function is None:
            return None
        if id(function) not in self._factories:
            made = None
            inner = self.table.scope_of(function)
            for value in self.table.returns(function) if inner is not None else ():
                if isinstance(value, cst.Call) and inner is not None and self.creation(value, inner) is not None:
                    made = value, inner
                    break
            self._factories[id(function)] = made
        return self._factories[id(function)]

    def _scan(self) -> None:
        called = self.facts.called
        catalog = any(c in called for sdk in self.sdks for c in (*sdk.constructors, *sdk.linked_constructors))
        if not catalog and not self.knowledge.makes_clients():
            return  # nothing in the file constructs a client
        table = self.table
        pending: List[Tuple[Binding, cst.Call]] = []
        for binding in self._value_bindings():
            value = unwrap_await(binding.value) if binding.value is not None else None
            if isinstance(value, cst.IfExp):
                # ``Client(key) if key else None``: the branch that makes something.
                branch = value.body if isinstance(value.body, cst.Call) else value.orelse
                if isinstance(branch, cst.Call):
                    self._choices[id(branch)] = value
                    value = branch
            if not isinstance(value, cst.Call):
                continue
            qual = self.facts.ctx.imports.resolve(value.func)
            if qual is not None and B.linked_sdk(qual, self.sdks):
                self.linked[id(binding)] = tuple(B.linked_sdk(qual, self.sdks))
                continue
            pending.append((binding, value))
        later: List[Tuple[Binding, cst.Call]] = []
        for binding, value in pending:
            direct = self._direct(value, binding.scope)
            if direct is None:
                later.append((binding, value))
                continue
            call, scope = direct
            made = self.creation(call, scope)
            assert made is not None
            client = self._client_for(binding, made[0], call, value, made[1])
            if client is not None:
                self.by_value[id(value)] = client
                if id(value) in self._choices:
                    self.by_value[id(self._choices[id(value)])] = client
        self._inline_handlers()
        # A call that returns a client created elsewhere names that client.
        hook = _Resolve(self)
        for binding, value in later:
            answers: List[Answer[Kind]] = table.kinds(value, binding.scope, hook)
            found = [k for k in any_of(answers) if isinstance(k, Client)]
            if found:
                self.by_value[id(value)] = found[0]

    def _inline_handlers(self) -> None:
        """``log.addHandler(CloudWatchLogHandler(...))``: a handler only ``logging`` names;
        records reach it through loggers and ``logging.shutdown()`` drains it."""
        for call, scope, _ in self.facts.calls:
            func = call.func
            if self._adds_sink(call, scope):
                continue
            if not (isinstance(func, cst.Attribute) and func.attr.value == "addHandler" and call.args):
                continue
            handler = call.args[0].value
            made = self.creation(handler, scope) if isinstance(handler, cst.Call) else None
            if made is None or not made[0].global_uses or not made[0].module_drains:
                continue
            sdk = made[0]
            if ("module", sdk.key) not in self.clients:
                self._add(("module", sdk.key), sdk, "module", self._module_receiver(sdk), handler)

    def _adds_sink(self, call: cst.Call, scope: Scope) -> bool:
        """loguru ``logger.add(path, enqueue=True)``: a call that adds a buffering sink to
        a process-wide logger (its result is no client; the logger is)."""
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if name not in B.SINK_ADDER_NAMES:
            return False
        made = self.creation(call, scope)
        if made is None or not made[0].adds_to_global:
            return False
        sdk = made[0]
        if ("module", sdk.key) not in self.clients:
            self._add(("module", sdk.key), sdk, "module", self._module_receiver(sdk), call)
        return True

    def _value_bindings(self) -> List[Binding]:
        out: List[Binding] = []
        for scope in self.table.scopes():
            if scope.kind in (ScopeKind.LAMBDA, ScopeKind.COMPREHENSION):
                continue
            for bindings in scope.bindings.values():
                out.extend(b for b in bindings if b.kind in (BindingKind.ASSIGN, BindingKind.WITH))
            if scope.kind is ScopeKind.CLASS:
                for bindings in scope.attributes.values():
                    out.extend(
                        b
                        for b in bindings
                        if b.kind in (BindingKind.ASSIGN, BindingKind.WITH) and isinstance(b.node, cst.Attribute)
                    )
        return out

    def _client_for(
        self, binding: Binding, sdk: B.BufferedSdk, call: cst.Call, value: cst.Call, linked: str
    ) -> Optional[Client]:
        scope = binding.scope
        alt = ""
        qual = self.facts.ctx.imports.resolve(call.func) or ""
        if isinstance(binding.node, cst.Attribute):
            key: ClientKey = ("attr", id(scope.node), binding.name)
            kind, owner = "attr", scope.node
            label = self.facts.ctx.module.code_for_node(binding.node)
        elif scope.kind is ScopeKind.MODULE:
            key, kind, owner, label = ("global", binding.name), "global", None, binding.name
        elif scope.kind is ScopeKind.FUNCTION:
            key, kind, owner, label = ("local", id(scope.node), binding.name), "local", scope.node, binding.name
        elif scope.kind is ScopeKind.CLASS and isinstance(scope.node, cst.ClassDef):
            # A class attribute: one client per process, ``Cls.client`` everywhere.
            key, kind, owner = ("attr", id(scope.node), binding.name), "attr", scope.node
            label = alt = f"{scope.node.name.value}.{binding.name}"
        else:
            return None
        if sdk.adds_to_global:
            key, kind, label = ("module", sdk.key), "module", self._module_receiver(sdk)
        elif sdk.singleton_factory(qual):
            key, kind = ("module", sdk.key), "module"
            alias = self.module_alias(qual)
            alt = f"{alias}()" if alias else ""
        exit_drains = sdk.drains_at_exit
        if sdk.key == "memory-handler" and kw_is(call, *B.MEMORY_HANDLER_NO_EXIT_FLUSH):
            exit_drains = False
        with_node = None
        top = self.facts.tops.get(id(value))
        if binding.kind is BindingKind.WITH and isinstance(top, cst.With):
            with_node = top
        existing = self.clients.get(key)
        if existing is not None:
            return existing
        return self._add(
            key,
            sdk,
            kind,
            label,
            value,
            owner=owner,
            binding=binding,
            linked_label=linked,
            with_node=with_node,
            exit_drains=exit_drains,
            alt_receiver=alt,
            stmt=top,
        )

    def _add(
        self, key: ClientKey, sdk: B.BufferedSdk, kind: str, label: str, node: cst.CSTNode, **extra: object
    ) -> Client:
        extra.setdefault("exit_drains", sdk.drains_at_exit)
        client = Client(key, sdk, kind, label, node, **extra)  # type: ignore[arg-type]
        self.clients[key] = client
        return client

    # -- questions -------------------------------------------------------------------

    def may_hold(self) -> bool:
        """Whether an expression of the file can name a client: one was found, or a cached
        getter or a project object can hand one out when it is asked about."""
        knowledge = self.knowledge
        return bool(self.clients) or bool(knowledge.local.objects) or knowledge.project is not None

    def kind_of(
        self, expr: cst.BaseExpression, scope: Scope, params: Optional[Mapping[str, Kind]] = None
    ) -> Optional[Kind]:
        """The client (or same-file class instance) an expression names in ``scope``;
        ``params``: what names of ``scope`` hold on the path being walked."""
        answers: List[Answer[Kind]] = self.table.kinds(expr, scope, _Resolve(self, params, scope))
        found = any_of(answers)
        clients = [k for k in found if isinstance(k, Client)]
        if clients:
            return clients[0]
        return found[0] if found else None

    def client_of(
        self, expr: cst.BaseExpression, scope: Scope, params: Optional[Mapping[str, Kind]] = None
    ) -> Optional[Client]:
        kind = self.kind_of(expr, scope, params)
        return kind if isinstance(kind, Client) else None

    def linked_owner(self, expr: cst.BaseExpression, scope: Scope) -> Optional[Client]:
        """The client whose linked object ``expr`` names: ``consumer`` (given to
        ``Mixpanel(consumer=consumer)``) or ``mp._consumer``."""
        if isinstance(expr, cst.Attribute):
            owner = self.client_of(expr.value, scope)
            if owner is not None and owner.sdk.linked_attribute == expr.attr.value:
                return owner
        text = dotted_name(expr)
        if text is None:
            return None
        bindings = {id(b) for b in self.table.resolve(expr, scope)}
        for client in self.clients.values():
            if client.linked_label != text or client.binding is None:
                continue
            linked_scope = client.binding.scope
            target = self.table.resolve(expr, linked_scope) if isinstance(expr, (cst.Name, cst.Attribute)) else []
            if bindings & {id(b) for b in target}:
                return client
        return None


def zero_timeout(call: cst.Call) -> bool:
    """A drain given a zero timeout: the first positional argument or ``timeout=`` is 0."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    given = keyword(call, "timeout")
    value = given.value if given is not None else positional[0].value if positional else None
    return isinstance(value, (cst.Integer, cst.Float)) and float(value.value) == 0.0


__all__ = ["BufferedClients", "Client", "ClientKey", "FileClients", "Instance", "Kind", "kw_is", "zero_timeout"]
