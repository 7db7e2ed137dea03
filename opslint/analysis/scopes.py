"""One binding table per file, built during the engine's single traversal.

Every rule that follows a value through names asks this table instead of keeping a
tracker of its own (ruff keeps one semantic model, ``ruff_python_semantic``, for all
of its rules).  It records, flow-insensitively, every binding of every scope:

* scopes: module, class, function, lambda, comprehension; a function directly in a
  class body is a *method*, whose first parameter names the instance;
* bindings: assignments (plain, annotated, augmented, walrus, unpacking), parameters,
  imports, ``def``/``class`` names, ``for``/``with``/``except``/``match`` targets,
  comprehension targets, ``del``; ``global``/``nonlocal`` redirect a name;
* attributes: ``self.x = ...`` in any method and ``x = ...`` in the class body are
  attributes of the class; base classes defined in the same file are searched too.

A *family* says what kind of thing a value is through a :class:`Kinds` hook (a redis
client, a lock, a buffered SDK, an HTTP session); :meth:`BindingTable.kinds` follows a
name to every value bound to it, through other names, parameter annotations and
factory functions (``def make_session(): return requests.Session()``), and gives one
answer per binding, for the rule to merge ("every binding agrees" or "any").

Bindings are complete after the traversal: ask in ``leave_Module`` (or in a visit,
for what came before).  The scope a node sits in is :meth:`BindingTable.current`
during the visit of that node.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Dict, Generic, Iterator, List, Optional, Protocol, Sequence, Set, Tuple, TypeVar, Union

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import scope_nodes

K = TypeVar("K")
K_co = TypeVar("K_co", covariant=True)


class ScopeKind(enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    LAMBDA = "lambda"
    COMPREHENSION = "comprehension"


class BindingKind(enum.Enum):
    ASSIGN = "assign"
    ANNOTATION = "annotation"
    AUGMENTED = "augmented"
    UNPACK = "unpack"
    PARAM = "param"
    IMPORT = "import"
    FUNCTION = "function"
    CLASS = "class"
    LOOP = "loop"
    WITH = "with"
    EXCEPT = "except"
    MATCH = "match"
    COMPREHENSION = "comprehension"
    DELETE = "delete"


@dataclass(eq=False)
class Binding:
    """One binding of a name (or of an attribute of a class) in a scope."""

    name: str
    scope: Scope
    kind: BindingKind
    #: The node that binds: the target expression, a ``Param``, an ``ImportAlias``,
    #: the ``FunctionDef``/``ClassDef``.
    node: cst.CSTNode
    #: The value bound, when the binding has one whole value: ``x = v``, ``x: T = v``,
    #: ``(x := v)``, ``with v as x`` (the context manager), ``x += v`` (the operand).
    value: Optional[cst.BaseExpression] = None
    annotation: Optional[cst.BaseExpression] = None
    #: ``import a.b as x`` -> ``a.b``; ``from a import b as x`` -> ``a.b`` (relative: as written).
    imported: Optional[str] = None
    #: Where ``value`` is evaluated when that is not ``scope``: the method of a
    #: ``self.x = v`` (its parameters and locals are visible there, not in the class).
    evaluated_in: Optional[Scope] = None

    @property
    def value_scope(self) -> Scope:
        """The scope whose names ``value`` and ``annotation`` read."""
        return self.evaluated_in if self.evaluated_in is not None else self.scope


@dataclass(eq=False)
class Scope:
    node: cst.CSTNode
    kind: ScopeKind
    parent: Optional[Scope]
    bindings: Dict[str, List[Binding]] = field(default_factory=dict)
    globals: Set[str] = field(default_factory=set)
    nonlocals: Set[str] = field(default_factory=set)
    #: Class scopes: ``self.x``/``cls.x`` assignments in methods and class-body names.
    attributes: Dict[str, List[Binding]] = field(default_factory=dict)
    #: Methods: the class scope and the name of the instance parameter.
    owner: Optional[Scope] = None
    self_name: Optional[str] = None

    def own(self, name: str) -> List[Binding]:
        return self.bindings.get(name, [])

    @property
    def function(self) -> Optional[cst.FunctionDef]:
        return self.node if isinstance(self.node, cst.FunctionDef) else None

    def enclosing_method(self) -> Optional[Scope]:
        """This scope or the nearest enclosing one that is a method (lambdas and
        comprehensions inside a method see its ``self``)."""
        scope: Optional[Scope] = self
        while scope is not None:
            if scope.owner is not None:
                return scope
            if scope.kind in (ScopeKind.CLASS, ScopeKind.MODULE):
                return None
            if scope.kind is ScopeKind.FUNCTION:
                return None
            scope = scope.parent
        return None


class Kinds(Protocol[K_co]):
    """A family's answer to "what kind of thing is this value?"."""

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[K_co]:
        """The kind an expression makes by itself (a constructor call, a known module
        attribute), or None when the expression alone does not tell."""

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[K_co]:
        """The kind a type annotation names, or None."""


@dataclass(frozen=True)
class Answer(Generic[K]):
    """What one binding of a followed name holds: its kind (None: something else or
    unknown) and the binding (None for a value that named its kind directly)."""

    kind: Optional[K]
    binding: Optional[Binding]


_MAX_DEPTH = 8


class BindingTable(Analysis):
    """The bindings of one file (see the module docstring)."""

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        self.module_scope: Optional[Scope] = None
        self._stack: List[Scope] = []
        self._by_node: Dict[int, Scope] = {}
        #: Classes of the file by name (for ``Cls.attr`` and in-file base classes).
        self.classes: Dict[str, List[Scope]] = {}

    # -- traversal -------------------------------------------------------------------

    def current(self) -> Scope:
        """The scope of the node being visited."""
        return self._stack[-1]

    def _push(self, node: cst.CSTNode, kind: ScopeKind) -> Scope:
        parent = self._stack[-1] if self._stack else None
        scope = Scope(node, kind, parent)
        self._by_node[id(node)] = scope
        self._stack.append(scope)
        return scope

    def _bind(self, name: str, kind: BindingKind, node: cst.CSTNode, **extra: object) -> Binding:
        scope = self._stack[-1]
        target = scope
        if name in scope.globals and self.module_scope is not None:
            target = self.module_scope
        elif name in scope.nonlocals:
            target = self._nonlocal_target(scope, name) or scope
        binding = Binding(name, target, kind, node, **extra)  # type: ignore[arg-type]
        target.bindings.setdefault(name, []).append(binding)
        if target.kind is ScopeKind.CLASS:
            target.attributes.setdefault(name, []).append(binding)
        return binding

    @staticmethod
    def _nonlocal_target(scope: Scope, name: str) -> Optional[Scope]:
        parent = scope.parent
        while parent is not None and parent.kind is not ScopeKind.MODULE:
            if parent.kind is not ScopeKind.CLASS and name in parent.bindings:
                return parent
            parent = parent.parent
        return None

    def visit_Module(self, node: cst.Module) -> None:
        self.module_scope = self._push(node, ScopeKind.MODULE)

    def leave_Module(self, original_node: cst.Module) -> None:
        # The module scope stays reachable through ``module_scope``; the stack empties.
        self._stack.clear()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name.value, BindingKind.CLASS, node)
        scope = self._push(node, ScopeKind.CLASS)
        self.classes.setdefault(node.name.value, []).append(scope)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name.value, BindingKind.FUNCTION, node)
        enclosing = self._stack[-1]
        scope = self._push(node, ScopeKind.FUNCTION)
        if enclosing.kind is ScopeKind.CLASS:
            params = [*node.params.posonly_params, *node.params.params]
            names = {dotted_name(d.decorator) or "" for d in node.decorators}
            if params and "staticmethod" not in names:
                scope.owner, scope.self_name = enclosing, params[0].name.value

    # ``global``/``nonlocal`` must come before any use of the name in the function
    # (a SyntaxError otherwise), so noting them when the traversal reaches them
    # redirects every binding of the name (no scan of the body ahead: that cost a
    # second walk of every function).
    def visit_Global(self, node: cst.Global) -> None:
        if self._stack[-1].kind is ScopeKind.FUNCTION:
            self._stack[-1].globals.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        if self._stack[-1].kind is ScopeKind.FUNCTION:
            self._stack[-1].nonlocals.update(item.name.value for item in node.names)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._push(node, ScopeKind.LAMBDA)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._stack.pop()

    def _visit_comprehension(self, node: cst.CSTNode) -> None:
        self._push(node, ScopeKind.COMPREHENSION)

    def _leave_comprehension(self, node: cst.CSTNode) -> None:
        self._stack.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_comprehension

    def visit_Param(self, node: cst.Param) -> None:
        annotation = node.annotation.annotation if node.annotation is not None else None
        self._bind(node.name.value, BindingKind.PARAM, node, annotation=annotation)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target, BindingKind.ASSIGN, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        kind = BindingKind.ASSIGN if node.value is not None else BindingKind.ANNOTATION
        self._target(node.target, kind, node.value, annotation=node.annotation.annotation)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, BindingKind.AUGMENTED, node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        # PEP 572: the target binds in the enclosing non-comprehension scope.
        saved = list(self._stack)
        while len(self._stack) > 1 and self._stack[-1].kind is ScopeKind.COMPREHENSION:
            self._stack.pop()
        try:
            self._target(node.target, BindingKind.ASSIGN, node.value)
        finally:
            self._stack[:] = saved

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target, BindingKind.LOOP, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._target(node.target, BindingKind.COMPREHENSION, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._target(node.asname.name, BindingKind.WITH, node.item)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._bind(node.name.name.value, BindingKind.EXCEPT, node.name.name)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._bind(node.name.name.value, BindingKind.EXCEPT, node.name.name)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self._bind(node.name.value, BindingKind.MATCH, node.name)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self._bind(node.name.value, BindingKind.MATCH, node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target, BindingKind.DELETE, None)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, BindingKind.IMPORT, alias, imported=full)
            else:
                head = full.split(".")[0]
                self._bind(head, BindingKind.IMPORT, alias, imported=head)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        dots = "." * len(node.relative)
        module = dotted_name(node.module) if node.module is not None else ""
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            bound = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(bound, cst.Name):
                prefix = f"{dots}{module}" if module else dots
                imported = f"{prefix}.{name}" if prefix and not prefix.endswith(".") else f"{prefix}{name}"
                self._bind(bound.value, BindingKind.IMPORT, alias, imported=imported)

    def _target(
        self,
        target: cst.BaseExpression,
        kind: BindingKind,
        value: Optional[cst.BaseExpression],
        annotation: Optional[cst.BaseExpression] = None,
    ) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, kind, target, value=value, annotation=annotation)
        elif isinstance(target, (cst.Tuple, cst.List)):
            pairs = _paired(target, value) if kind is BindingKind.ASSIGN else None
            if pairs is not None:
                # ``MIN_PAUSE, MAX_PAUSE = 0.2, 0.8``: each name gets its own value.
                for bound, item in pairs:
                    self._target(bound, kind, item)
                return
            inner = BindingKind.UNPACK if kind in (BindingKind.ASSIGN, BindingKind.ANNOTATION) else kind
            for element in target.elements:
                self._target(element.value, inner, None)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value, BindingKind.UNPACK if kind is BindingKind.ASSIGN else kind, None)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            self._attribute(target, kind, value, annotation)

    def _attribute(
        self,
        target: cst.Attribute,
        kind: BindingKind,
        value: Optional[cst.BaseExpression],
        annotation: Optional[cst.BaseExpression],
    ) -> None:
        assert isinstance(target.value, cst.Name)
        method = self._stack[-1].enclosing_method()
        if method is None or method.owner is None or target.value.value != method.self_name:
            return
        owner = method.owner
        binding = Binding(
            target.attr.value, owner, kind, target, value=value, annotation=annotation, evaluated_in=self._stack[-1]
        )
        owner.attributes.setdefault(target.attr.value, []).append(binding)

    # -- questions ---------------------------------------------------------------------

    def scope_of(self, owner: cst.CSTNode) -> Optional[Scope]:
        """The scope a module, class, function, lambda or comprehension node opens."""
        return self._by_node.get(id(owner))

    def scopes(self) -> Iterator[Scope]:
        yield from (scope for scope in self._by_node.values())

    def lookup(self, name: str, scope: Scope) -> List[Binding]:
        """The bindings ``name`` refers to when read in ``scope`` (Python's rules: a class
        body is not visible from the functions inside it; ``global``/``nonlocal`` redirect)."""
        if name in scope.globals:
            return self.module_scope.own(name) if self.module_scope is not None else []
        current: Optional[Scope] = scope
        first = True
        while current is not None:
            if current.kind is ScopeKind.CLASS and not first:
                current = current.parent
                continue
            found = current.bindings.get(name)
            if found:
                return found
            first = False
            current = current.parent
        return []

    def attribute(self, owner: Scope, attr: str, _depth: int = 0) -> List[Binding]:
        """``self.attr`` / ``Cls.attr`` of class ``owner``: its own bindings, else those
        of a base class defined in this file."""
        found = owner.attributes.get(attr)
        if found:
            return found
        if _depth >= _MAX_DEPTH or not isinstance(owner.node, cst.ClassDef):
            return []
        for base in owner.node.bases:
            name = dotted_name(base.value)
            candidates = self.classes.get(name or "", [])
            if len(candidates) == 1:
                inherited = self.attribute(candidates[0], attr, _depth + 1)
                if inherited:
                    return inherited
        return []

    def class_named(self, name: str) -> Optional[Scope]:
        """The one class of that name in the file (None when absent or defined twice)."""
        candidates = self.classes.get(name, [])
        return candidates[0] if len(candidates) == 1 else None

    def resolve(self, expr: cst.BaseExpression, scope: Scope) -> List[Binding]:
        """The bindings an expression reads: a name, ``self.x`` in a method, ``Cls.x``."""
        if isinstance(expr, cst.Name):
            return self.lookup(expr.value, scope)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            method = scope.enclosing_method()
            if method is not None and method.owner is not None and expr.value.value == method.self_name:
                return self.attribute(method.owner, expr.attr.value)
            named = self.lookup(expr.value.value, scope)
            if len(named) == 1 and named[0].kind is BindingKind.CLASS:
                owner = self.scope_of(named[0].node)
                if owner is not None:
                    return self.attribute(owner, expr.attr.value)
        return []

    def instance_class(self, expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> Optional[Scope]:
        """The class of this file a name (or ``self.attr`` in a method) holds an instance of,
        when every binding agrees: ``svc: QueueService`` (a parameter or an annotated local,
        FastAPI's ``svc: QueueService = Depends(...)`` included), ``svc = QueueService(...)``,
        or ``self.bridge = bridge`` of such a parameter."""
        if isinstance(expr, cst.Name):
            bindings = self.lookup(expr.value, scope)
        elif isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and _depth < _MAX_DEPTH:
            method = scope.enclosing_method()
            if method is None or method.owner is None or expr.value.value != method.self_name:
                return None
            bindings = self.attribute(method.owner, expr.attr.value)
        else:
            return None
        found: Optional[Scope] = None
        for binding in bindings:
            named: Optional[cst.BaseExpression] = binding.annotation
            if named is None and isinstance(binding.value, cst.Call):
                named = binding.value.func
            if named is None and isinstance(binding.value, cst.Name) and _depth < _MAX_DEPTH:
                # ``self.bridge = bridge`` of ``def __init__(self, bridge: TracBridge)``.
                owner = self.instance_class(binding.value, binding.value_scope, _depth + 1)
            elif isinstance(named, cst.Name):
                owner = self.class_named(named.value)
            else:
                return None
            if owner is None or (found is not None and owner is not found):
                return None
            found = owner
        return found

    def function_named(self, name: str, scope: Scope) -> Optional[cst.FunctionDef]:
        """The function a name refers to, when it is bound once, to a ``def``."""
        found = self.lookup(name, scope)
        if len(found) == 1 and isinstance(found[0].node, cst.FunctionDef):
            return found[0].node
        return None

    @staticmethod
    def returns(function: cst.FunctionDef) -> List[Optional[cst.BaseExpression]]:
        """The values a function returns (None for a bare ``return``), not counting
        nested functions; a body that can fall off its end adds no value here."""
        return [node.value for node in scope_nodes(function.body) if isinstance(node, cst.Return)]

    # -- kinds -----------------------------------------------------------------------------

    def kinds(self, expr: cst.BaseExpression, scope: Scope, hook: Kinds[K]) -> List[Answer[K]]:
        """What ``expr`` may hold, one answer per binding it reaches (see the module docstring).

        An expression the hook recognises is one answer; a name or attribute is followed
        to its bindings (values, annotations, and factory calls through their returns),
        transitively; a binding with nothing to follow answers None.
        """
        return self._kinds(expr, scope, hook, set(), 0)

    def _kinds(
        self, expr: cst.BaseExpression, scope: Scope, hook: Kinds[K], active: Set[int], depth: int
    ) -> List[Answer[K]]:
        direct = hook.of_value(expr, scope)
        if direct is not None:
            return [Answer(direct, None)]
        if depth >= _MAX_DEPTH or id(expr) in active:
            return [Answer(None, None)]
        active = active | {id(expr)}
        if isinstance(expr, cst.Await):
            return self._kinds(expr.expression, scope, hook, active, depth + 1)
        function = self._called_function(expr.func, scope) if isinstance(expr, cst.Call) else None
        if isinstance(expr, cst.Call) and (function is not None or isinstance(expr.func, cst.Name)):
            if function is None:
                return [Answer(None, None)]
            inner = self.scope_of(function)
            values = self.returns(function)
            if inner is None or not values or any(v is None for v in values):
                return [Answer(None, None)]
            out: List[Answer[K]] = []
            for value in values:
                assert value is not None
                out.extend(self._kinds(value, inner, hook, active, depth + 1))
            return out
        bindings = self.resolve(expr, scope)
        if not bindings:
            return [Answer(None, None)]
        answers: List[Answer[K]] = []
        for binding in bindings:
            answers.extend(self._binding_kinds(binding, hook, active, depth + 1))
        return answers

    def _called_function(self, func: cst.BaseExpression, scope: Scope) -> Optional[cst.FunctionDef]:
        """The ``def`` of this module a call runs: by name (``make()``), or a method of
        this file's class through ``self``/``cls`` (``self._create_consumer()``)."""
        if isinstance(func, cst.Name):
            return self.function_named(func.value, scope)
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return None
        if scope.kind is ScopeKind.CLASS and func.value.value in ("self", "cls"):
            # The value of a ``self.x = self.make()`` binding is evaluated in the class
            # scope, where ``self`` is not bound.
            bindings = self.attribute(scope, func.attr.value)
        else:
            bindings = self.resolve(func, scope)
        if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
            return bindings[0].node
        return None

    def _binding_kinds(self, binding: Binding, hook: Kinds[K], active: Set[int], depth: int) -> List[Answer[K]]:
        kind: Optional[K] = None
        if binding.value is not None and binding.kind in (BindingKind.ASSIGN, BindingKind.WITH):
            found = self._kinds(binding.value, binding.value_scope, hook, active, depth)
            if binding.annotation is not None and all(a.kind is None for a in found):
                kind = hook.of_annotation(binding.annotation, binding.value_scope)
                return [Answer(kind, binding)]
            return [Answer(a.kind, binding) for a in found]
        if binding.annotation is not None:
            kind = hook.of_annotation(binding.annotation, binding.value_scope)
        return [Answer(kind, binding)]


def agreed(answers: Sequence[Answer[K]], same: Callable[[K, K], bool] = lambda a, b: a == b) -> Optional[K]:
    """The kind every answer agrees on (None when any answer is None or two differ)."""
    if not answers or any(a.kind is None for a in answers):
        return None
    first = answers[0].kind
    assert first is not None
    for answer in answers[1:]:
        assert answer.kind is not None
        if not same(first, answer.kind):
            return None
    return first


def any_of(answers: Sequence[Answer[K]]) -> List[K]:
    """The kinds some answer has (in order, without repeats by identity)."""
    out: List[K] = []
    for answer in answers:
        if answer.kind is not None and all(answer.kind is not k for k in out):
            out.append(answer.kind)
    return out


def _paired(
    target: Union[cst.Tuple, cst.List], value: Optional[cst.BaseExpression]
) -> Optional[List[Tuple[cst.BaseExpression, cst.BaseExpression]]]:
    """The (target, value) pairs of ``a, b = x, y`` (same length, nothing starred), else None."""
    if not isinstance(value, (cst.Tuple, cst.List)) or len(value.elements) != len(target.elements):
        return None
    if any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements)):
        return None
    return [(t.value, v.value) for t, v in zip(target.elements, value.elements)]


__all__: Tuple[str, ...] = (
    "Answer",
    "Binding",
    "BindingKind",
    "BindingTable",
    "Kinds",
    "Scope",
    "ScopeKind",
    "agreed",
    "any_of",
)
