"""Project code that holds a buffered client: wrapper classes, singletons, getters (issue 11).

Real code rarely calls an SDK client from its entry point: it wraps it.  ``class
Analytics`` keeps ``Posthog(...)`` in ``self.ph`` and offers ``event()``; a module
singleton ``telemetry = Telemetry(key)`` or a cached getter ``get_producer()`` hands out
one client per process.  A class whose instances hold a buffered client is itself
buffered, unless it drains: its methods that reach a use of the attribute are its uses,
those that reach a blocking drain (``def flush(self): self.ph.flush()``) its drains, and
a ``with`` block drains it when ``__exit__`` does.

:func:`module_facts` reads one LibCST module (pure; no binding table, so that the project
index can run it on other modules through ``project_facts``); :func:`wrapper_sdk` turns a
wrapper into a catalog entry (``_buffers.BufferedSdk``) so that the rest of the family
treats ``analytics = Analytics()`` like ``posthog.Posthog()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.rules import _buffers as B
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import CONTEXT_MANAGER_DECORATORS, EXIT_CALLS, ExitKind, keyword, scope_nodes
from opslint.syntax.walk import find_all

#: Decorators that make a function return one object per process.
CACHES = frozenset({"functools.lru_cache", "functools.cache", "lru_cache", "cache"})
#: Signals a Celery prefork child sends before it ends with ``os._exit``.
CHILD_EXIT_SIGNALS = frozenset({"celery.signals.worker_process_shutdown", "celery.signals.worker_shutdown"})
#: Signals Celery sends in the child after every task, whatever its outcome: a drain in
#: their handler drains what each task buffered.
TASK_END_SIGNALS = frozenset({"celery.signals.task_postrun"})


@dataclass(frozen=True)
class WrapperFacts:
    """A class whose instances hold a buffered client in ``attr``."""

    #: Catalog key of the client it holds.
    sdk: str
    attr: str
    uses: Tuple[str, ...] = ()
    drains: Tuple[str, ...] = ()
    #: The attribute may be None (a class default or a reset): a drain through it needs a guard.
    optional: bool = False
    #: ``__exit__`` drains: ``with Wrapper() as w:`` drains it.
    context: bool = False
    #: The class registers its own drain with atexit.
    atexit: bool = False
    #: The client is a class attribute (one per process, reached as ``Cls.attr``).
    shared: bool = False


@dataclass(frozen=True)
class ObjectFacts:
    """A module-level name (or a cached getter, ``"get_producer()"``) holding a client."""

    #: Catalog key of a client, or "".
    sdk: str = ""
    #: Qualified name of the class it instantiates (a wrapper, here or in another module), or "".
    wrapper: str = ""
    #: Drained by an atexit handler of its module.
    atexit: bool = False
    #: Drained by a Celery ``worker_process_shutdown`` handler of its module.
    child_exit: bool = False
    #: A handle on another object of the module (``counter = meter.create_counter(...)``
    #: for ``meter = provider.get_meter(...)``): its module-local name; the handle is that object.
    handle_of: str = ""
    #: A function that installs a process-wide logging pipeline (``configure_logging()``
    #: adds a buffering handler, or starts a QueueListener): calling it is a use.
    installer: bool = False


@dataclass(frozen=True)
class ModuleFacts:
    """What one module defines that holds a buffered client (names are module-local)."""

    classes: Dict[str, WrapperFacts] = field(default_factory=dict)
    objects: Dict[str, ObjectFacts] = field(default_factory=dict)
    #: Factories that return a new client: function name -> catalog key or wrapper qualified name.
    factories: Dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.classes or self.objects or self.factories)


Resolve = Callable[[cst.BaseExpression], Optional[str]]


def creation(
    call: cst.Call,
    qual: Optional[str],
    sdks: Sequence[B.BufferedSdk],
    called: Set[str],
    resolve: Resolve,
    named_link: Optional[Callable[[B.BufferedSdk, cst.BaseExpression], bool]] = None,
) -> Optional[Tuple[B.BufferedSdk, str]]:
    """(SDK, linked object's name) when ``call`` constructs a buffering client of the catalog."""
    if qual is None:
        return None
    for sdk in B.sdk_for_constructor(qual, sdks):
        if any(kw_is(call, k, v) for k, v in sdk.unbuffered_kwargs):
            return None
        if sdk.buffered_only_with and not any(kw_is(call, k, v) for k, v in sdk.buffered_only_with):
            continue
        if sdk.linked_kwarg:
            arg = keyword(call, sdk.linked_kwarg)
            if arg is None and len(call.args) > 1 and call.args[1].keyword is None:
                arg = call.args[1]
            if arg is None:
                continue
            value = arg.value
            if isinstance(value, cst.Call):
                if resolve(value.func) in sdk.linked_constructors:
                    return sdk, ""
                continue
            if named_link is not None and isinstance(value, (cst.Name, cst.Attribute)) and named_link(sdk, value):
                return sdk, dotted_name(value) or ""
            continue
        if sdk.linked_constructors and not any(c in called for c in sdk.linked_constructors):
            continue
        return sdk, ""
    return None


def kw_is(call: cst.Call, name: str, value: str) -> bool:
    """``call`` passes ``name=<value>`` (a name, string or integer with that source text)."""
    arg = keyword(call, name)
    return (
        arg is not None
        and isinstance(arg.value, (cst.Name, cst.SimpleString, cst.Integer))
        and (arg.value.value == value)
    )


def method_kind(sdk: B.BufferedSdk, call: cst.Call, method: str) -> Optional[str]:
    """ "use", "drain" (blocking) or "lookalike" for ``client.<method>(...)``."""
    matched = False
    for drain in sdk.drains:
        if drain.method != method:
            continue
        matched = True
        if drain.blocks and not drain.then and all(kw_is(call, k, v) for k, v in drain.kwargs):
            return "drain"
    if matched:
        return "lookalike"
    if sdk.uses:
        return "use" if method in sdk.uses else None
    return "use"


# -- one module ----------------------------------------------------------------------------


def module_facts(
    module: cst.Module, imports: ImportTable, module_name: str, called: Optional[Set[str]] = None
) -> ModuleFacts:
    """The wrappers, singletons and factories of one module (see the module docstring);
    ``called``: the qualified names of every call, when the caller has them."""
    return _Reader(module, imports, module_name).read(called)


def _flat(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """Module-level statements, looking into ``if``/``try`` blocks."""
    for stmt in body:
        if isinstance(stmt, cst.If):
            yield from _flat(_suite(stmt.body))
            if isinstance(stmt.orelse, cst.Else):
                yield from _flat(_suite(stmt.orelse.body))
            elif isinstance(stmt.orelse, cst.If):
                yield from _flat([stmt.orelse])
        elif isinstance(stmt, cst.Try):
            yield from _flat(_suite(stmt.body))
            for handler in stmt.handlers:
                yield from _flat(_suite(handler.body))
        else:
            yield stmt


def _suite(suite: cst.BaseSuite) -> List[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=suite.body)]


def _assignments(stmts: Sequence[cst.BaseStatement]) -> Iterator[Tuple[cst.BaseExpression, cst.BaseExpression]]:
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    yield small.targets[0].target, small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    yield small.target, small.value


#: Logging pipelines a setup function installs for the whole process.
_INSTALLED = frozenset({"queue-listener", "watchtower", "cloud-logging-handler", "memory-handler"})
_DICT_CONFIG = "logging.config.dictConfig"


def _drains_own(nodes: Sequence[cst.CSTNode], made: str) -> bool:
    """Whether a function calls a drain of the SDK ``made`` on any receiver (a context
    manager's ``finally: client.flush()``)."""
    sdk = B.by_key(made) if made in B.KEYS else None
    methods = {d.method for d in sdk.drains if d.method} if sdk is not None else {"flush", "close", "shutdown"}
    return any(
        isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value in methods for n in nodes
    )


def _decorated_by(func: cst.FunctionDef, resolve: Resolve, names: frozenset) -> bool:  # type: ignore[type-arg]
    for dec in func.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if (resolve(target) or dotted_name(target) or "") in names:
            return True
    return False


def module_client_name(key: str) -> str:
    """The name under which a module's facts record the SDK's module-level client."""
    return f"<{key}>"


def module_client_key(name: str) -> Optional[str]:
    """The catalog key of a module-client name (``<segment>`` -> ``segment``), else None."""
    last = name.rsplit(".", 1)[-1]
    return last[1:-1] if last.startswith("<") and last.endswith(">") else None


class _Reader:
    def __init__(self, module: cst.Module, imports: ImportTable, module_name: str) -> None:
        self.module = module
        self.imports = imports
        self.name = module_name
        self.called: Set[str] = set()
        self.stmts = list(_flat(module.body))
        self.functions = {s.name.value: s for s in self.stmts if isinstance(s, cst.FunctionDef)}
        self.class_nodes = {s.name.value: s for s in self.stmts if isinstance(s, cst.ClassDef)}
        self.factories: Dict[str, str] = {}
        self.getters: Dict[str, str] = {}
        self._links: Optional[Dict[str, str]] = None
        self._inner: Optional[ImportTable] = None

    def resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        qual = self.imports.resolve(expr)
        if qual is None and isinstance(expr, cst.Name):
            if expr.value in self.class_nodes or expr.value in self.functions:
                return f"{self.name}.{expr.value}"
        if qual is None:
            # A client made lazily often imports its SDK where it makes it.
            if self._inner is None:
                self._inner = ImportTable(self.imports.package)
                for node in find_all(self.module, (cst.Import, cst.ImportFrom)):
                    self._inner.add(node)
            qual = self._inner.resolve(expr)
        return qual

    def read(self, called: Optional[Set[str]] = None) -> ModuleFacts:
        if called is None:
            called = {q for q in (self.imports.resolve(c.func) for c in find_all(self.module, cst.Call)) if q}
        self.called = called
        self._factories()
        classes: Dict[str, WrapperFacts] = {}
        for name, node in self.class_nodes.items():
            found = self._class(node)
            if found is not None:
                classes[name] = found
        self.classes = classes
        objects = self._objects()
        for name, found in classes.items():
            if found.shared:
                # ``class Telemetry: client = Client(...)``: the class itself is the process-wide
                # holder, used as ``Telemetry.track(...)`` from any module.
                objects.setdefault(name, ObjectFacts(wrapper=f"{self.name}.{name}"))
        for getter, made in self.getters.items():
            objects[f"{getter}()"] = self._object_of(made)
        objects.update(self._installers())
        objects.update(self._module_clients())
        self._drained_at_exit(objects)
        return ModuleFacts(classes, objects, dict(self.factories))

    def _installers(self) -> Dict[str, ObjectFacts]:
        """Functions that set up logging through a buffering handler or a QueueListener
        (``def configure_logging(): listener = QueueListener(...); listener.start()``):
        ``"configure_logging()"``, with whether they register the drain with atexit."""
        out: Dict[str, ObjectFacts] = {}
        for name, func in self.functions.items():
            if name in self.getters:
                continue
            calls = list(_calls(func.body))
            made = [m for m in (self._made_by(c) for c in calls) if m in _INSTALLED]
            if not made:
                continue
            methods = {c.func.attr.value for c in calls if isinstance(c.func, cst.Attribute)}
            if not ({"addHandler", "start"} & methods or any(self.resolve(c.func) == _DICT_CONFIG for c in calls)):
                continue
            atexit = any(self.resolve(c.func) == "atexit.register" for c in calls)
            out[f"{name}()"] = ObjectFacts(sdk=made[0], atexit=atexit, installer=True)
        return out

    def _module_clients(self) -> Dict[str, ObjectFacts]:
        """The SDKs whose module-level client this module feeds (``analytics.track(...)``
        with ``import segment.analytics as analytics``), unless it switches buffering off:
        one process-wide client each, named ``<key>`` (see ``module_client_name``)."""
        switches = {
            (self.resolve(node.targets[0].target) or "", self.module.code_for_node(node.value))
            for node in find_all(self.module, cst.Assign)
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Attribute)
        }
        out: Dict[str, ObjectFacts] = {}
        singleton_calls: Set[str] = set()
        if self.called & B.SINGLETON_FACTORIES:
            singleton_calls = {self._called_name(c.func) for c in find_all(self.module, cst.Call)} - {""}
        for qual in sorted(self.called | singleton_calls):
            hit = B.sdk_for_singleton_call(qual)
            if hit is None or hit[1] != "use" or not (hit[0].module_client or hit[0].singleton_factories):
                continue
            if any(s in switches for s in hit[0].unbuffered_assignments):
                continue
            out[module_client_name(hit[0].key)] = ObjectFacts(sdk=hit[0].key)
        return out

    def _called_name(self, func: cst.BaseExpression) -> str:
        """The qualified name of a callee, with a call on the way spelled as the project index
        spells it: ``ldclient.get().track`` (the SDK's process-wide client fetched in place)."""
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and not func.value.args:
            inner = self.resolve(func.value.func)
            return f"{inner}().{func.attr.value}" if inner else ""
        return self.resolve(func) or ""

    def _named_link(self, sdk: B.BufferedSdk, value: cst.BaseExpression) -> bool:
        """``Mixpanel(token, consumer=self._consumer)`` where ``self._consumer = BufferedConsumer()``."""
        if self._links is None:
            self._links = {}
            for node in find_all(self.module, cst.Assign):
                if isinstance(node.value, cst.Call) and len(node.targets) == 1:
                    text = dotted_name(node.targets[0].target)
                    qual = self.imports.resolve(node.value.func)
                    if text is not None and qual is not None:
                        self._links[text] = qual
        return self._links.get(dotted_name(value) or "") in sdk.linked_constructors

    def _made_by(self, value: cst.BaseExpression) -> Optional[str]:
        """The catalog key (or qualified wrapper class) an expression makes (a call, or
        either branch of ``Client(key) if key else None``)."""
        if isinstance(value, cst.IfExp):
            return self._made_by(value.body) or self._made_by(value.orelse)
        if not isinstance(value, cst.Call):
            return None
        qual = self.resolve(value.func)
        found = creation(value, qual, B.CATALOG, self.called, self.resolve, self._named_link)
        if found is not None:
            return found[0].key
        if qual is not None and qual.startswith(f"{self.name}."):
            local = qual[len(self.name) + 1 :]
            if local in self.factories:
                return self.factories[local]
            if local in self.class_nodes:
                return qual
        return None

    def _factories(self) -> None:
        for name, func in self.functions.items():
            nodes = list(scope_nodes(func.body))
            returns = [n.value for n in nodes if isinstance(n, cst.Return) and n.value is not None]
            yielding = _decorated_by(func, self.resolve, CONTEXT_MANAGER_DECORATORS)
            if yielding:
                # ``@contextmanager def session(): client = Mixpanel(...); yield client``: the
                # ``with`` gets the client; one whose body drains it hands out nothing to drain.
                returns = [
                    n.value for n in nodes if isinstance(n, cst.Yield) and isinstance(n.value, cst.BaseExpression)
                ]
            made = [m for m in (self._made_by(v) for v in returns) if m is not None]
            held = {g.name.value for n in nodes if isinstance(n, cst.Global) for g in n.names}
            lazy = False
            if not made:
                # ``global _client; if _client is None: _client = Client(...)``; ``return _client``:
                # a lazily made process-wide client (a getter, like an ``lru_cache`` one).
                returned = {v.value for v in returns if isinstance(v, cst.Name)}
                for node in nodes:
                    if isinstance(node, cst.Assign) and len(node.targets) == 1:
                        target = node.targets[0].target
                        if isinstance(target, cst.Name) and target.value in returned:
                            found = self._made_by(node.value)
                            if found is not None:
                                made.append(found)
                                lazy = lazy or target.value in held
            if not made:
                continue
            if yielding and _drains_own(nodes, made[0]):
                continue
            if lazy or _decorated_by(func, self.resolve, CACHES):
                self.getters[name] = made[0]
            else:
                self.factories[name] = made[0]

    def _class(self, node: cst.ClassDef) -> Optional[WrapperFacts]:
        methods = {s.name.value: s for s in _suite(node.body) if isinstance(s, cst.FunctionDef)}
        attrs: Dict[str, str] = {}
        optional: Set[str] = set()
        shared: Set[str] = set()
        for target, value in _assignments(_suite(node.body)):
            if isinstance(target, cst.Name):
                made = self._made_by(value)
                if made in B.KEYS:
                    attrs.setdefault(target.value, str(made))
                    shared.add(target.value)
                elif isinstance(value, cst.Name) and value.value == "None":
                    optional.add(target.value)
        selves = {name: _self_name(meth) for name, meth in methods.items()}
        for name, meth in methods.items():
            me = selves[name]
            for sub in scope_nodes(meth.body):
                if isinstance(sub, (cst.Assign, cst.AnnAssign)) and sub.value is not None:
                    targets = [t.target for t in sub.targets] if isinstance(sub, cst.Assign) else [sub.target]
                    for target in targets:
                        attr = _attr_of(target, me)
                        if attr is None:
                            continue
                        made = self._made_by(sub.value)
                        if made in B.KEYS:
                            attrs.setdefault(attr, str(made))
                        if _none(sub.value) or (isinstance(sub.value, cst.IfExp) and _none(sub.value.orelse)):
                            optional.add(attr)
        if not attrs:
            return None
        attr, key = next(iter(attrs.items()))
        sdk = B.by_key(key)
        owners = {node.name.value, "cls"}
        uses: Dict[str, bool] = {}
        drains: Dict[str, bool] = {}
        edges: Dict[str, Set[str]] = {}
        atexit = False
        #: Methods with a path that ends the program (``sys.exit(2)`` in a branch) after a
        #: use and before their drain: they can leave the client holding data.
        exits_dirty: Set[str] = set()
        for name, meth in methods.items():
            me = selves[name]
            edges[name] = set()
            uses[name] = drains[name] = False
            for call in _calls(meth.body):
                func = call.func
                if (
                    uses[name]
                    and not drains[name]
                    and EXIT_CALLS.get(self.resolve(func) or dotted_name(func) or "") is ExitKind.SYS_EXIT
                ):
                    exits_dirty.add(name)
                    continue
                if self.resolve(func) == "atexit.register" and call.args:
                    atexit = atexit or _attr_of(call.args[0].value, me) is not None
                    continue
                if not isinstance(func, cst.Attribute):
                    continue
                receiver = func.value
                if _attr_of(receiver, me) == attr or (
                    isinstance(receiver, cst.Attribute)
                    and isinstance(receiver.value, cst.Name)
                    and receiver.value.value in owners
                    and receiver.attr.value == attr
                ):
                    kind = method_kind(sdk, call, func.attr.value)
                    uses[name] = uses[name] or kind == "use"
                    drains[name] = drains[name] or kind == "drain"
                elif isinstance(receiver, cst.Name) and receiver.value in (me, *owners) and func.attr.value in methods:
                    edges[name].add(func.attr.value)
        for _ in range(len(methods)):
            for name, callees in edges.items():
                uses[name] = uses[name] or any(uses[c] for c in callees)
                drains[name] = drains[name] or any(drains[c] for c in callees)
        public = [m for m in methods if m not in ("__init__", "__new__", "__del__", "__enter__", "__aenter__")]
        return WrapperFacts(
            sdk=key,
            attr=attr,
            uses=tuple(
                m
                for m in public
                if uses[m] and (not drains[m] or m in exits_dirty) and m not in ("__exit__", "__aexit__")
            ),
            drains=tuple(
                m for m in public if drains[m] and m not in exits_dirty and m not in ("__exit__", "__aexit__")
            ),
            optional=attr in optional,
            context=drains.get("__exit__", False) or drains.get("__aexit__", False),
            atexit=atexit,
            shared=attr in shared,
        )

    def _object_of(self, made: str) -> ObjectFacts:
        return ObjectFacts(sdk=made) if made in B.KEYS else ObjectFacts(wrapper=made)

    def _objects(self) -> Dict[str, ObjectFacts]:
        out: Dict[str, ObjectFacts] = {}
        for target, value in _assignments(self.stmts):
            if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
                continue
            made = self._made_by(value)
            func = value.func
            if made is None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                held = out.get(func.value.value)
                sdk = B.by_key(held.sdk) if held is not None and held.sdk in B.KEYS else None
                if held is not None and sdk is not None and func.attr.value in sdk.handles:
                    out[target.value] = ObjectFacts(sdk=held.sdk, handle_of=held.handle_of or func.value.value)
                    continue
            if made is None:
                qual = self.resolve(value.func)
                if qual is None or qual.startswith(f"{self.name}.") or "." not in qual:
                    continue
                made = qual  # a class of another module: a wrapper if the project says so
            out[target.value] = self._object_of(made)
        return out

    def _drained_at_exit(self, objects: Dict[str, ObjectFacts]) -> None:
        """``atexit.register(telemetry.shutdown)``, ``@atexit.register`` functions and
        Celery ``worker_process_shutdown`` handlers that drain a module object."""
        handlers: List[Tuple[cst.CSTNode, str]] = []
        for stmt in self.stmts:
            if isinstance(stmt, cst.FunctionDef):
                for dec in stmt.decorators:
                    target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
                    qual = self.resolve(target) or ""
                    if qual == "atexit.register":
                        handlers.append((stmt.body, "atexit"))
                    elif qual.rsplit(".", 1)[0] in CHILD_EXIT_SIGNALS | TASK_END_SIGNALS:
                        handlers.append((stmt.body, "child"))
            for call in _calls(stmt) if isinstance(stmt, cst.SimpleStatementLine) else ():
                if self.resolve(call.func) == "atexit.register" and call.args:
                    arg = call.args[0].value
                    if isinstance(arg, cst.Name) and arg.value in self.functions:
                        handlers.append((self.functions[arg.value].body, "atexit"))
                    elif isinstance(arg, cst.Attribute):
                        handlers.append((arg, "atexit"))
        for body, how in handlers:
            for name in self._drained_names(body, objects) | self._module_drains(body, objects):
                flags = {"atexit": True} if how == "atexit" else {"child_exit": True}
                objects[name] = replace(objects[name], **flags)  # type: ignore[arg-type]

    def _module_drains(self, body: cst.CSTNode, objects: Dict[str, ObjectFacts]) -> Set[str]:
        """Module clients a handler drains: ``analytics.flush()`` in its body, or
        ``atexit.register(analytics.flush)``."""
        refs = [body] if isinstance(body, cst.Attribute) else [c.func for c in _calls(body)]
        out: Set[str] = set()
        for ref in refs:
            hit = B.sdk_for_singleton_call(self._called_name(ref))
            if hit is not None and hit[1] == "drain" and module_client_name(hit[0].key) in objects:
                out.add(module_client_name(hit[0].key))
        return out

    def _linked_holders(self, objects: Dict[str, ObjectFacts]) -> Dict[str, str]:
        """The module objects built around a linked object of this module, by that object's
        name: ``{"consumer": "mp"}`` for ``mp = Mixpanel(token, consumer=consumer)``."""
        out: Dict[str, str] = {}
        for target, value in _assignments(self.stmts):
            if not isinstance(target, cst.Name) or target.value not in objects or not isinstance(value, cst.Call):
                continue
            sdk = self.sdk_of(objects[target.value])
            arg = keyword(value, sdk.linked_kwarg) if sdk is not None and sdk.linked_kwarg else None
            if arg is not None and isinstance(arg.value, cst.Name):
                out[arg.value.value] = target.value
        return out

    def _drained_names(self, body: cst.CSTNode, objects: Dict[str, ObjectFacts]) -> Set[str]:
        out: Set[str] = set()
        holders = self._linked_holders(objects)
        refs: List[Tuple[cst.BaseExpression, str, Optional[cst.Call]]] = []
        if isinstance(body, cst.Attribute):
            refs.append((body.value, body.attr.value, None))
        else:
            for call in _calls(body):
                if isinstance(call.func, cst.Attribute):
                    refs.append((call.func.value, call.func.attr.value, call))
        for receiver, method, found in refs:
            name = dotted_name(receiver) if not isinstance(receiver, cst.Call) else None
            if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name):
                name = f"{receiver.func.value}()"
            if name in holders and (name not in objects or self.sdk_of(objects[name]) is None):
                # ``atexit.register(consumer.flush)``: the client's linked consumer drains it.
                name = holders[name]
            if name is None or name not in objects:
                continue
            sdk = self.sdk_of(objects[name])
            probe = found if found is not None else cst.Call(func=cst.Name(method))
            if sdk is not None and method_kind(sdk, probe, method) == "drain":
                out.add(name)
        return out

    def sdk_of(self, obj: ObjectFacts) -> Optional[B.BufferedSdk]:
        if obj.sdk:
            return B.by_key(obj.sdk)
        local = obj.wrapper[len(self.name) + 1 :] if obj.wrapper.startswith(f"{self.name}.") else ""
        found = self.classes.get(local)
        return wrapper_sdk(obj.wrapper, found) if found is not None else None


def _none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _self_name(func: cst.FunctionDef) -> str:
    params = [*func.params.posonly_params, *func.params.params]
    return params[0].name.value if params else "self"


def _attr_of(expr: cst.BaseExpression, me: str) -> Optional[str]:
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == me:
        return expr.attr.value
    return None


def _calls(node: cst.CSTNode) -> List[cst.Call]:
    return [n for n in scope_nodes(node) if isinstance(n, cst.Call)]


# -- catalog entries --------------------------------------------------------------------------

_MADE: Dict[Tuple[str, WrapperFacts], B.BufferedSdk] = {}
#: (class qualified name, facts) of each entry ``_MADE`` holds, by the entry itself, not by
#: its key: two projects of one process (a run over several, a language server) may each
#: define ``app.analytics.Analytics`` their own way, and such entries share a key.
#: ``_MADE`` keeps every entry alive, so an id names one entry.
_WRAPPED: Dict[int, Tuple[str, WrapperFacts]] = {}


def wrapper_of(sdk: B.BufferedSdk) -> Optional[Tuple[str, WrapperFacts]]:
    """(class qualified name, facts) of a wrapper's catalog entry."""
    return _WRAPPED.get(id(sdk))


def wrapper_drain(sdk: B.BufferedSdk, drain: str) -> Tuple[str, str]:
    """(the statement a fix adds, advice for the message) for a wrapper without a drain
    method: drain the client it holds, guarded when the attribute may be None."""
    found = wrapper_of(sdk)
    if found is None or found[1].drains or not drain:
        return drain, ""
    name, facts = found[0].rsplit(".", 1)[-1], found[1]
    if facts.optional:
        held = drain.rsplit(".", 1)[0]
        return f"if {held} is not None: {drain}", f" (`{facts.attr}` may be None; or give `{name}` a drain method)"
    return drain, f" (or give `{name}` a drain method)"


def wrapper_sdk(qualname: str, facts: WrapperFacts) -> B.BufferedSdk:
    """The catalog entry of a wrapper class: its uses and drains are its own methods; a
    wrapper without a drain method is drained through the attribute (``analytics.ph.flush()``)."""
    made = _MADE.get((qualname, facts))
    if made is not None:
        return made
    inner = B.by_key(facts.sdk)
    name = qualname.rsplit(".", 1)[-1]
    own = tuple(B.Drain(method=m) for m in facts.drains)
    exit_hook = B.ExitHook.DRAINS if facts.atexit else inner.exit_hook
    made = B.BufferedSdk(
        key=f"wrapper:{qualname}",
        display=f"{inner.display}, held by `{name}`",
        modules=(qualname.split(".", 1)[0],),
        constructors=(qualname,),
        uses=facts.uses or ("<none>",),
        drains=own or inner.drains,
        exit_hook=exit_hook,
        buffer_note=inner.buffer_note,
        context_manager=facts.context,
        linked_attribute="" if own else facts.attr,
        future_uses=inner.future_uses and not own,
    )
    _MADE[(qualname, facts)] = made
    _WRAPPED[id(made)] = (qualname, facts)
    return made


__all__ = [
    "CACHES",
    "CHILD_EXIT_SIGNALS",
    "TASK_END_SIGNALS",
    "module_client_key",
    "module_client_name",
    "ModuleFacts",
    "ObjectFacts",
    "WrapperFacts",
    "creation",
    "kw_is",
    "method_kind",
    "module_facts",
    "wrapper_drain",
    "wrapper_of",
    "wrapper_sdk",
]
