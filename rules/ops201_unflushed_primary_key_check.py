"""OPS201: a primary-key test on an ORM object that was just constructed and never flushed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.rule import PendingFix, Rule, is_none
from opslint.rules import _orm
from opslint.syntax.names import ImportTable, dotted_name

# ---------------------------------------------------------------------------
# Per-module facts (also the rule's project facts: plain, picklable data)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassFacts:
    """What OPS201 needs to know about one top-level class."""

    #: Base classes as qualified names (local ones qualified with the module name).
    bases: Tuple[str, ...]
    #: Class keywords given a true literal (``table=True``).
    keywords: Tuple[str, ...]
    #: Decorators as qualified names.
    decorators: Tuple[str, ...]
    #: Fields declared as the primary key in this class body.
    pk: Tuple[str, ...]
    #: The key is not the database's to assign: a non-None ``default``/``default_factory``,
    #: or a natural (string/UUID) key.
    pk_default: bool
    #: Field call names of the primary-key fields (``UUIDField``...).
    pk_calls: Tuple[str, ...]
    #: The class defines ``__init__`` (it may assign the key itself).
    has_init: bool


@dataclass(frozen=True)
class ParamTest:
    """A function tests ``<param>.<attr>`` while the parameter may still be a new object."""

    index: int
    name: str
    attr: str
    text: str


@dataclass(frozen=True)
class FunctionFacts:
    tests: Tuple[ParamTest, ...]
    #: A method called on an instance binds ``self``: positional arguments start at 1.
    bound: bool
    #: Every return hands back a new object built here: (qualified callee, keywords given).
    #: Whether the callee is a model is decided by the caller, which sees the whole project.
    returns: Optional[Tuple[str, Tuple[str, ...]]] = None


@dataclass
class ModuleFacts:
    classes: Dict[str, ClassFacts] = field(default_factory=dict)
    #: Names bound to a declarative base: ``Base = declarative_base()`` -> family.
    roots: Dict[str, str] = field(default_factory=dict)
    #: Names bound to an extension whose attribute is a base: ``db = SQLAlchemy()`` -> ("Model", family).
    namespaces: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    #: Names bound to a model class by a factory: ``User = get_user_model()`` -> family.
    models: Dict[str, str] = field(default_factory=dict)
    #: Names bound to ``registry()`` objects -> family.
    registries: Dict[str, str] = field(default_factory=dict)
    #: Imported names (for re-exports): local name -> qualified name.
    aliases: Dict[str, str] = field(default_factory=dict)
    #: ``func`` / ``Class.method`` -> which parameters have their attributes tested before a flush.
    functions: Dict[str, FunctionFacts] = field(default_factory=dict)


def _truthy_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _call_name(expr: cst.BaseExpression) -> str:
    name = dotted_name(expr)
    return name.rsplit(".", 1)[-1] if name else ""


def _field_call(stmt: cst.BaseSmallStatement) -> Optional[Tuple[str, cst.Call]]:
    """``name = Column(...)`` / ``name: Mapped[int] = mapped_column(...)`` in a class body."""
    target: Optional[cst.BaseExpression] = None
    value: Optional[cst.BaseExpression] = None
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0].target, stmt.value
    elif isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
        target, value = stmt.target, stmt.value
    if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
        return None
    return target.value, value


def _is_pk_field(call: cst.Call) -> bool:
    if _call_name(call.func) in _orm.PK_FIELD_CALLS:
        return True
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in _orm.PK_FIELD_KEYWORDS and _truthy_literal(arg.value):
            return True
    return False


def _natural_key(stmt: cst.CSTNode) -> bool:
    """A string/UUID key (in the field call or the annotation): the application sets it."""
    stack: List[cst.CSTNode] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value in _orm.NATURAL_KEY_TYPES:
            return True
        if isinstance(node, cst.Attribute) and node.attr.value in _orm.NATURAL_KEY_TYPES:
            return True
        stack.extend(_kids(node))
    return False


def _pk_has_default(call: cst.Call) -> bool:
    return any(
        arg.keyword is not None and arg.keyword.value in _orm.PK_DEFAULT_KEYWORDS and not is_none(arg.value)
        for arg in call.args
    )


class _Qualifier:
    """Qualified names for a module's expressions, without a traversal."""

    def __init__(self, module: cst.Module, module_name: str, imports: ImportTable) -> None:
        self.module_name = module_name
        self.imports = imports
        self.local: Set[str] = set()
        for stmt in module.body:
            if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
                self.local.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for target in small.targets:
                            if isinstance(target.target, cst.Name):
                                self.local.add(target.target.value)
                    elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        self.local.add(small.target.value)

    def __call__(self, expr: cst.BaseExpression) -> Optional[str]:
        name = dotted_name(expr)
        return None if name is None else self.dotted(name)

    def dotted(self, name: str) -> Optional[str]:
        head, _, rest = name.partition(".")
        if head in self.local:
            return f"{self.module_name}.{name}"
        full = self.imports.aliases.get(head)
        if full is None:
            return None
        return f"{full}.{rest}" if rest else full


def compute_facts(module: cst.Module, module_name: str, package: Optional[str], summaries: bool = True) -> ModuleFacts:
    """The module's classes, base factories, re-exports and function summaries."""
    imports = ImportTable(package)
    imports.add_top_level(module.body)
    qualify = _Qualifier(module, module_name, imports)
    facts = ModuleFacts(aliases=dict(imports.aliases))
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef):
            facts.classes[stmt.name.value] = _class_facts(stmt, qualify)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _record_factory(small, qualify, facts)
    if summaries:
        add_summaries(module, facts, qualify)
    return facts


def add_summaries(
    module: cst.Module, facts: ModuleFacts, qualify: Callable[[cst.BaseExpression], Optional[str]]
) -> None:
    for name, node, bound in _functions(module):
        tests, returns = _summarise(node, module, bound, qualify)
        if tests or returns:
            facts.functions[name] = FunctionFacts(tests, bound, returns)


def _candidate(value: cst.BaseExpression, qualify: Callable[[cst.BaseExpression], Optional[str]]) -> Optional[_Fresh]:
    """``Something(k=...)`` that may build a model (decided later): no positional or unknown ``**`` values."""
    if type(value) is not cst.Call:
        return None
    call: cst.Call = value
    qual = qualify(call.func)
    if qual is None:
        return None
    keywords: List[str] = []
    for arg in call.args:
        if arg.star == "**" and type(arg.value) is cst.Dict:
            for element in arg.value.elements:
                if type(element) is not cst.DictElement or type(element.key) is not cst.SimpleString:
                    return None
                key = element.key.evaluated_value
                if not isinstance(key, str):
                    return None
                keywords.append(key)
        elif arg.star or arg.keyword is None:
            return None
        elif not is_none(arg.value):
            keywords.append(arg.keyword.value)
    return _Fresh(model=qual, pk=frozenset(), keywords=tuple(keywords), origin=call)


def _class_facts(node: cst.ClassDef, qualify: Callable[[cst.BaseExpression], Optional[str]]) -> ClassFacts:
    bases: List[str] = []
    keywords: List[str] = []
    for arg in node.bases:
        qual = qualify(arg.value)
        if qual is not None:
            bases.append(qual)
    for arg in node.keywords:
        if arg.keyword is not None and _truthy_literal(arg.value):
            keywords.append(arg.keyword.value)
    decorators = []
    for dec in node.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        qual = qualify(target)
        if qual is not None:
            decorators.append(qual)
    pk: List[str] = []
    pk_calls: List[str] = []
    pk_default = False
    has_init = False
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
            has_init = True
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            found = _field_call(small)
            if found is None or not _is_pk_field(found[1]):
                continue
            pk.append(found[0])
            pk_calls.append(_call_name(found[1].func))
            pk_default = pk_default or _pk_has_default(found[1]) or _natural_key(small)
    return ClassFacts(
        tuple(bases), tuple(keywords), tuple(decorators), tuple(pk), pk_default, tuple(pk_calls), has_init
    )


def _record_factory(
    small: cst.BaseSmallStatement, qualify: Callable[[cst.BaseExpression], Optional[str]], facts: ModuleFacts
) -> None:
    if not isinstance(small, (cst.Assign, cst.AnnAssign)) or small.value is None:
        return
    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
    names = [t.value for t in targets if isinstance(t, cst.Name)]
    value = small.value
    if not names or not isinstance(value, cst.Call):
        return
    callee = qualify(value.func)
    if callee in _orm.BASE_FACTORIES:
        family = _orm.BASE_FACTORIES[callee]
        facts.roots.update((n, family) for n in names)
    elif callee in _orm.NAMESPACE_FACTORIES:
        facts.namespaces.update((n, _orm.NAMESPACE_FACTORIES[callee]) for n in names)
    elif callee in _orm.MODEL_FACTORIES:
        facts.models.update((n, _orm.MODEL_FACTORIES[callee]) for n in names)
    elif callee in _orm.REGISTRY_FACTORIES:
        facts.registries.update((n, _orm.REGISTRY_FACTORIES[callee]) for n in names)
    elif isinstance(value.func, cst.Attribute) and value.func.attr.value in _orm.REGISTRY_BASE_METHODS:
        # ``Base = mapper_registry.generate_base()`` or ``registry().generate_base()``.
        receiver = value.func.value
        if isinstance(receiver, cst.Name) and receiver.value in facts.registries:
            facts.roots.update((n, facts.registries[receiver.value]) for n in names)
        elif isinstance(receiver, cst.Call) and qualify(receiver.func) in _orm.REGISTRY_FACTORIES:
            facts.roots.update((n, "sqlalchemy") for n in names)


def _functions(module: cst.Module) -> Iterator[Tuple[str, cst.FunctionDef, bool]]:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            yield stmt.name.value, stmt, False
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            for inner in stmt.body.body:
                if isinstance(inner, cst.FunctionDef):
                    static = any(_call_name(d.decorator) == "staticmethod" for d in inner.decorators)
                    yield f"{stmt.name.value}.{inner.name.value}", inner, not static


def _positional_params(node: cst.FunctionDef) -> List[cst.Param]:
    return [*node.params.posonly_params, *node.params.params]


def _prescan(body: cst.CSTNode, names: Mapping[str, Any]) -> Tuple[bool, bool]:
    """A cheap pre-check: (the body reads ``<param>.id``-like attributes or uses ``getattr``,
    the body returns a name or a call and yields nothing)."""
    reads = False
    returns = False
    stack: List[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.Return:
            returns = returns or type(node.value) in (cst.Name, cst.Call)  # type: ignore[attr-defined]
        elif kind is cst.Yield:
            return reads, False
        elif kind in _OPAQUE:
            continue
        elif kind is cst.Attribute:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is cst.Name and value.value in names and _orm.keyish(node.attr.value):  # type: ignore[attr-defined]
                reads = True
        elif kind is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is cst.Name and func.value == "getattr":
                reads = True
        stack.extend(_kids(node))
    return reads, returns


def _summarise(
    node: cst.FunctionDef, module: cst.Module, bound: bool, qualify: Callable[[cst.BaseExpression], Optional[str]]
) -> Tuple[Tuple[ParamTest, ...], Optional[Tuple[str, Tuple[str, ...]]]]:
    """Which parameters, if they arrived unflushed, have an attribute tested before a flush."""
    indexes: Dict[str, int] = {}
    for index, param in enumerate(_positional_params(node)):
        indexes[param.name.value] = index
    for param in node.params.kwonly_params:
        indexes[param.name.value] = -1
    if bound:
        first = _positional_params(node)[:1]
        for param in first:
            indexes.pop(param.name.value, None)
    reads, returns = _prescan(node.body, indexes)
    reads = reads and bool(indexes)
    if not reads and not returns:
        return (), None
    found: Dict[Tuple[str, str], ParamTest] = {}
    returned: List[Optional[_Fresh]] = []

    def on_test(sink: cst.CSTNode, var: str, fresh: _Fresh, attr: str) -> None:
        key = (var, attr)
        if var in indexes and fresh.pk is None and key not in found:
            found[key] = ParamTest(indexes[var], var, attr, module.code_for_node(sink).strip())

    def on_return(value: Optional[cst.BaseExpression], state: State) -> None:
        built = None
        if value is not None:
            name = dotted_name(value)
            built = state.get(name) if name is not None else _candidate(value, qualify)
        returned.append(built if built is not None and built.pk is not None else None)

    initial = {name: _Fresh(model="", pk=None) for name in indexes} if reads else {}
    flow = _Flow(
        construct=(lambda value: _candidate(value, qualify)) if returns else None,
        callee=None,
        on_test=on_test,
        on_call=None,
        on_return=on_return if returns else None,
    )
    flow.run(node.body, initial)
    result: Optional[Tuple[str, Tuple[str, ...]]] = None
    kinds = {(b.model, b.keywords) if b is not None else None for b in returned}
    if len(kinds) == 1 and None not in kinds:
        result = next(iter(kinds))
    return tuple(found.values()), result


# ---------------------------------------------------------------------------
# Model resolution over module facts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    family: str
    pk: FrozenSet[str]
    #: The key is set when the object is built (a default, or an ``__init__`` of the project's own).
    preset: bool


def _facts_from_summary(summary: Any) -> ModuleFacts:
    """Facts of a module the index summarised but OPS201 did not parse (no project token):
    class bases, ``__init__``, base factories; no key declarations, no function summaries."""
    facts = ModuleFacts(aliases=dict(summary.aliases))
    prefix = summary.name + "."
    for qualname, cls in summary.classes.items():
        if not qualname.startswith(prefix) or "." in qualname[len(prefix) :]:
            continue
        facts.classes[qualname[len(prefix) :]] = ClassFacts(
            bases=tuple(cls.bases),
            keywords=(),
            decorators=tuple(d.name for d in cls.decorators),
            pk=(),
            pk_default=False,
            pk_calls=(),
            has_init="__init__" in cls.methods,
        )
    for name, callee in summary.var_types.items():
        if callee in _orm.BASE_FACTORIES:
            facts.roots[name] = _orm.BASE_FACTORIES[callee]
        elif callee in _orm.NAMESPACE_FACTORIES:
            facts.namespaces[name] = _orm.NAMESPACE_FACTORIES[callee]
        elif callee in _orm.MODEL_FACTORIES:
            facts.models[name] = _orm.MODEL_FACTORIES[callee]
        elif callee in _orm.REGISTRY_FACTORIES:
            facts.registries[name] = _orm.REGISTRY_FACTORIES[callee]
    return facts


class _Models:
    """Which qualified names are ORM model classes, following bases across modules."""

    def __init__(self, facts: Mapping[str, ModuleFacts], project: Any = None) -> None:
        self.facts = facts
        self.project = project
        self._cache: Dict[str, Optional[ModelInfo]] = {}
        self._adapted: Dict[str, Optional[ModuleFacts]] = {}

    def module(self, name: str) -> Optional[ModuleFacts]:
        found = self.facts.get(name)
        if found is not None or self.project is None:
            return found
        if name not in self._adapted:
            summary = self.project.summary(name)
            adapted: Optional[ModuleFacts] = None
            if summary is not None:
                adapted = self.facts.get(summary.name) or _facts_from_summary(summary)
            self._adapted[name] = adapted
        return self._adapted[name]

    def _split(self, qual: str) -> Optional[Tuple[ModuleFacts, str]]:
        parts = qual.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.module(".".join(parts[:cut]))
            if module is not None:
                return module, ".".join(parts[cut:])
        return None

    def _root(self, qual: str, depth: int) -> Optional[str]:
        """The ORM family if ``qual`` is a base class itself (not a model)."""
        if qual in _orm.MODEL_BASES:
            return _orm.MODEL_BASES[qual]
        if depth > 8:
            return None
        found = self._split(qual)
        if found is None:
            return None
        mod, rest = found
        if rest in mod.roots:
            return mod.roots[rest]
        cls = mod.classes.get(rest)
        if cls is not None:
            for decorator in cls.decorators:
                if decorator in _orm.BASE_DECORATORS:
                    return _orm.BASE_DECORATORS[decorator]
            return None
        head, _, attr = rest.partition(".")
        if head in mod.namespaces and attr == mod.namespaces[head][0]:
            return mod.namespaces[head][1]
        if head in mod.aliases:
            target = mod.aliases[head] + (f".{attr}" if attr else "")
            return self._root(target, depth + 1)
        return None

    def model(self, qual: str) -> Optional[ModelInfo]:
        if qual not in self._cache:
            self._cache[qual] = None  # recursion guard
            self._cache[qual] = self._model(qual, 0)
        return self._cache[qual]

    def _model(self, qual: str, depth: int) -> Optional[ModelInfo]:
        found = self._split(qual)
        if found is not None and found[1] in found[0].models:
            family = found[0].models[found[1]]
            return ModelInfo(family, _orm.DEFAULT_PK[family], False)
        chain = self._chain(qual, depth)
        if chain is None:
            return None
        family, classes = chain
        keyword = _orm.TABLE_KEYWORD.get(family)
        if keyword is not None and not any(keyword in c.keywords for c in classes):
            return None
        pk: Tuple[str, ...] = ()
        preset = any(c.has_init for c in classes)
        for cls in classes:
            if cls.pk:
                pk = cls.pk
                self_default = _orm.PK_SELF_DEFAULTING.get(family, frozenset())
                preset = preset or cls.pk_default or any(call in self_default for call in cls.pk_calls)
                break
        names = frozenset(pk) | _orm.PK_ALIASES.get(family, frozenset()) if pk else _orm.DEFAULT_PK[family]
        return ModelInfo(family, names, preset)

    def _chain(self, qual: str, depth: int) -> Optional[Tuple[str, List[ClassFacts]]]:
        """(family, project classes from ``qual`` up to the ORM base) when ``qual`` is a model."""
        if depth > 12:
            return None
        found = self._split(qual)
        if found is None:
            return None
        mod, rest = found
        if rest in mod.aliases and rest not in mod.classes:
            return self._chain(mod.aliases[rest], depth + 1)
        cls = mod.classes.get(rest)
        if cls is None:
            return None
        for decorator in cls.decorators:
            head, _, attr = decorator.rpartition(".")
            if attr in _orm.REGISTRY_DECORATORS:
                owner = self._split(head)
                if owner is not None and owner[1] in owner[0].registries:
                    return owner[0].registries[owner[1]], [cls]
        if any(decorator in _orm.BASE_DECORATORS for decorator in cls.decorators):
            return None  # a declarative base itself, not a model
        for base in cls.bases:
            family = self._root(base, depth + 1)
            if family is not None:
                return family, [cls]
            upper = self._chain(base, depth + 1)
            if upper is not None:
                return upper[0], [cls, *upper[1]]
        return None


def _project_models(project: Any, code: str) -> _Models:
    """The project's model resolver, computed once per index state."""

    def build() -> _Models:
        facts = {k: v for k, v in project.facts(code).items() if isinstance(v, ModuleFacts)}
        return _Models(facts, project)

    models: _Models = project.memo(("OPS201", "models"), build)
    return models


def _provides_models(project: Any, models: _Models, target: str) -> bool:
    """Whether an imported name is a model class, a factory returning one, or a module with models."""

    def compute() -> bool:
        if models.model(target) is not None:
            return True
        split = models._split(target)
        if split is not None:
            holder, rest = split
            if rest in holder.roots or rest in holder.namespaces or rest in holder.registries:
                return True
            function = holder.functions.get(rest)
            if function is not None and function.returns is not None:
                return models.model(function.returns[0]) is not None
        module = models.module(target)
        if module is None:
            return False
        if module.models:
            return True
        return any(models.model(f"{target}.{name}") is not None for name in module.classes)

    answer: bool = project.memo(("OPS201", "provides", target), compute)
    return answer


# ---------------------------------------------------------------------------
# The flow analysis of one function body
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fresh:
    """A variable that holds an object built in this function and not written yet."""

    model: str
    #: Attribute names that hold the key; None while summarising (any attribute is recorded).
    pk: Optional[FrozenSet[str]]
    #: Handed to ``session.add``: the next query may autoflush it.
    added: bool = False
    #: Attributes assigned since construction (a test of those is not constant).
    assigned: FrozenSet[str] = frozenset()
    origin: Optional[cst.CSTNode] = None
    #: Keywords given to the constructor (summaries of factories only).
    keywords: Tuple[str, ...] = ()


State = Dict[str, _Fresh]
Construct = Callable[[cst.BaseExpression], Optional[_Fresh]]
Callee = Callable[[cst.Call], Optional[Tuple[str, FunctionFacts]]]
OnTest = Callable[[cst.CSTNode, str, _Fresh, str], None]
OnCall = Callable[[cst.Call, str, _Fresh, str, ParamTest], None]

_MAX_LOOP_DEPTH = 6


def _meet(*states: Optional[State]) -> Optional[State]:
    """Objects that are new on every path (None is an unreachable path)."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    out = dict(live[0])
    for other in live[1:]:
        for key in list(out):
            theirs = other.get(key)
            if theirs is None:
                del out[key]
            else:
                mine = out[key]
                out[key] = replace(mine, added=mine.added or theirs.added, assigned=mine.assigned | theirs.assigned)
    return out


_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp})


def _shadows(node: cst.CSTNode, state: Mapping[str, Any]) -> bool:
    """A comprehension whose ``for`` target reuses the name of a tracked variable."""
    if type(node) not in _COMPREHENSIONS:
        return False
    clause: Optional[cst.CompFor] = node.for_in  # type: ignore[attr-defined]
    while clause is not None:
        stack: List[cst.CSTNode] = [clause.target]
        while stack:
            target = stack.pop()
            if isinstance(target, cst.Name) and target.value in state:
                return True
            stack.extend(_kids(target))
        clause = clause.inner_for_in
    return False


#: Dataclass fields that hold only layout (whitespace, commas, parentheses): never walked.
_LAYOUT_FIELD_PARTS = ("whitespace", "lpar", "rpar", "comma", "semicolon", "leading_lines", "newline", "header")
_FIELDS: Dict[type, Tuple[str, ...]] = {}
#: Field value types that are not nodes (exact types: ``isinstance`` on LibCST's ABCs is slow).
_NOT_NODES = frozenset({type(None), str, bool, int, cst.MaybeSentinel})


def _kids(node: cst.CSTNode) -> List[cst.CSTNode]:
    """Child nodes in source order, read from the dataclass fields.

    ``CSTNode.children`` runs a visitor per call; this is many times cheaper.
    """
    names = _FIELDS.get(type(node))
    if names is None:
        names = tuple(f.name for f in fields(node) if not any(part in f.name for part in _LAYOUT_FIELD_PARTS))
        _FIELDS[type(node)] = names
    out: List[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            out.extend(v for v in value if type(v) not in _NOT_NODES)
        elif kind not in _NOT_NODES:
            out.append(value)
    return out


_OPAQUE = frozenset({cst.Lambda, cst.FunctionDef, cst.ClassDef})


def _children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    if type(node) in _OPAQUE:
        return ()
    return _kids(node)


class _Flow:
    """Must-analysis over statements: which variables hold a new, unflushed object."""

    def __init__(
        self,
        *,
        construct: Optional[Construct],
        callee: Optional[Callee],
        on_test: OnTest,
        on_call: Optional[OnCall],
        on_return: Optional[Callable[[Optional[cst.BaseExpression], State], None]] = None,
    ) -> None:
        self.on_return = on_return
        self.construct = construct
        self.callee = callee
        self.on_test = on_test
        self.on_call = on_call
        self.silent = 0
        self.loops: List[Tuple[List[State], List[State]]] = []
        self.depth = 0
        self.reported: Set[int] = set()

    def run(self, body: Union[cst.BaseSuite, Sequence[cst.BaseStatement]], state: State) -> None:
        if isinstance(body, cst.BaseSuite):
            self.suite(body, state)
        else:
            self.block(body, state)

    # -- statements ----------------------------------------------------------

    def suite(self, suite: cst.BaseSuite, state: Optional[State]) -> Optional[State]:
        if isinstance(suite, cst.IndentedBlock):
            return self.block(suite.body, state)
        if isinstance(suite, cst.SimpleStatementSuite):
            return self.smalls(suite.body, state)
        return state

    def block(
        self, stmts: Sequence[cst.BaseStatement], state: Optional[State], seen: Optional[List[State]] = None
    ) -> Optional[State]:
        for stmt in stmts:
            if state is None:
                return None
            state = self.statement(stmt, state)
            if seen is not None and state is not None:
                seen.append(state)
        return state

    def statement(self, stmt: cst.BaseStatement, state: State) -> Optional[State]:
        if isinstance(stmt, cst.SimpleStatementLine):
            return self.smalls(stmt.body, state)
        if isinstance(stmt, cst.If):
            state = self.expr(stmt.test, state, test=True)
            then = self.suite(stmt.body, dict(state))
            other: Optional[State] = state
            if isinstance(stmt.orelse, cst.If):
                other = self.statement(stmt.orelse, dict(state))
            elif isinstance(stmt.orelse, cst.Else):
                other = self.suite(stmt.orelse.body, dict(state))
            return _meet(then, other)
        if isinstance(stmt, cst.While):
            infinite = isinstance(stmt.test, cst.Name) and stmt.test.value == "True"
            return self.loop(stmt.body, state, stmt.orelse, test=stmt.test, infinite=infinite)
        if isinstance(stmt, cst.For):
            state = self.expr(stmt.iter, state)
            return self.loop(stmt.body, state, stmt.orelse, target=stmt.target)
        if isinstance(stmt, cst.Try):
            return self.try_(stmt, state)
        if isinstance(stmt, cst.With):
            return self.with_(stmt, state)
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return self.unbind_name(stmt.name.value, state)
        if isinstance(stmt, cst.Match):
            state = self.expr(stmt.subject, state)
            outs: List[Optional[State]] = [state]
            for case in stmt.cases:
                outs.append(self.suite(case.body, dict(state)))
            return _meet(*outs)
        # TryStar and anything newer: do not guess.
        return {}

    def smalls(self, body: Sequence[cst.BaseSmallStatement], state: Optional[State]) -> Optional[State]:
        for small in body:
            if state is None:
                return None
            state = self.small(small, state)
        return state

    def small(self, small: cst.BaseSmallStatement, state: State) -> Optional[State]:
        if isinstance(small, cst.Expr):
            return self.expr(small.value, state)
        if isinstance(small, cst.Assign):
            state = self.expr(small.value, state)
            for target in small.targets:
                state = self.bind(target.target, small.value, state)
            return state
        if isinstance(small, cst.AnnAssign):
            if small.value is None:
                return state
            state = self.expr(small.value, state)
            return self.bind(small.target, small.value, state)
        if isinstance(small, cst.AugAssign):
            state = self.expr(small.value, state)
            return self.bind(small.target, None, state)
        if isinstance(small, cst.Return):
            if self.on_return is not None and not self.silent:
                self.on_return(small.value, state)
            if small.value is not None:
                self.expr(small.value, state)
            return None
        if isinstance(small, cst.Raise):
            if small.exc is not None:
                self.expr(small.exc, state)
            return None
        if isinstance(small, cst.Assert):
            # ``assert obj.id is None`` states an expectation on purpose (tests do): not a decision.
            return self.effects(small.test, state) if state else state
        if isinstance(small, cst.Del):
            return self.bind(small.target, None, state)
        if isinstance(small, (cst.Break, cst.Continue)):
            if self.loops:
                self.loops[-1][0 if isinstance(small, cst.Break) else 1].append(state)
            return None
        if isinstance(small, (cst.Global, cst.Nonlocal)):
            return {}
        return state

    def loop(
        self,
        body: cst.BaseSuite,
        state: State,
        orelse: Optional[cst.Else],
        *,
        test: Optional[cst.BaseExpression] = None,
        target: Optional[cst.BaseExpression] = None,
        infinite: bool = False,
    ) -> Optional[State]:
        if self.depth >= _MAX_LOOP_DEPTH:
            return {}
        self.depth += 1
        # First pass, silent: what the end of an iteration leaves for the next one.
        self.silent += 1
        first = self.iteration(body, state, test, target)
        self.silent -= 1
        head = _meet(state, first[0], *first[2]) or {}
        # Second pass from the loop head, reporting.
        out, breaks, continues = self.iteration(body, head, test, target)
        self.depth -= 1
        exit_state = None if infinite else _meet(head, out, *continues)
        if orelse is not None and exit_state is not None:
            exit_state = self.suite(orelse.body, exit_state)
        return _meet(exit_state, *breaks)

    def iteration(
        self,
        body: cst.BaseSuite,
        state: State,
        test: Optional[cst.BaseExpression],
        target: Optional[cst.BaseExpression],
    ) -> Tuple[Optional[State], List[State], List[State]]:
        state = dict(state)
        if test is not None:
            state = self.expr(test, state, test=True)
        if target is not None:
            state = self.bind(target, None, state)
        self.loops.append(([], []))
        out = self.suite(body, state)
        breaks, continues = self.loops.pop()
        return out, breaks, continues

    def try_(self, stmt: cst.Try, state: State) -> Optional[State]:
        seen: List[State] = [state]
        body_out = (
            self.block(stmt.body.body, dict(state), seen)
            if isinstance(stmt.body, cst.IndentedBlock)
            else self.suite(stmt.body, dict(state))
        )
        handler_in = _meet(*seen) or {}
        outs: List[Optional[State]] = []
        for handler in stmt.handlers:
            start = dict(handler_in)
            if handler.name is not None:
                start = self.bind(handler.name.name, None, start)
            outs.append(self.suite(handler.body, start))
        normal = body_out
        if stmt.orelse is not None and body_out is not None:
            normal = self.suite(stmt.orelse.body, body_out)
        out = _meet(normal, *outs)
        if stmt.finalbody is not None:
            final = self.suite(stmt.finalbody.body, dict(out if out is not None else handler_in))
            return final if out is not None else None
        return out

    def with_(self, stmt: cst.With, state: State) -> Optional[State]:
        commits = False
        for item in stmt.items:
            state = self.expr(item.item, state)
            call = item.item
            if isinstance(call, cst.Call) and _call_name(call.func) in _orm.COMMITTING_CONTEXTS:
                commits = True
            if item.asname is not None:
                state = self.bind(item.asname.name, None, state)
        out = self.suite(stmt.body, state)
        if commits and out is not None:
            return {}
        return out

    # -- bindings ------------------------------------------------------------

    def unbind_name(self, name: str, state: State) -> State:
        prefix = name + "."
        return {k: v for k, v in state.items() if k != name and not k.startswith(prefix)}

    def bind(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression], state: State) -> State:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                state = self.bind(element.value, None, state)
            return state
        if isinstance(target, cst.StarredElement):
            return self.bind(target.value, None, state)
        if isinstance(target, cst.Attribute):
            owner = dotted_name(target.value)
            if owner is not None and owner in state:
                fresh = state[owner]
                state = dict(state)
                state[owner] = replace(fresh, assigned=fresh.assigned | {target.attr.value})
        name = dotted_name(target)
        if name is None:
            return state
        state = self.unbind_name(name, state)
        if value is not None and self.construct is not None:
            built = self.construct(value)
            if built is not None:
                state[name] = built
        return state

    # -- expressions -----------------------------------------------------------

    def expr(self, expr: cst.BaseExpression, state: State, *, test: bool = False) -> State:
        if not state:
            return state
        self.sinks(expr, state, test)
        return self.effects(expr, state)

    def pk_access(self, node: cst.CSTNode, state: State) -> Optional[Tuple[str, str]]:
        """(variable, attribute) when ``node`` reads the key of a new object."""
        var: Optional[str] = None
        attr: Optional[str] = None
        if isinstance(node, cst.Attribute):
            var, attr = dotted_name(node.value), node.attr.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "getattr"
            and len(node.args) in (2, 3)
            and isinstance(node.args[1].value, cst.SimpleString)
        ):
            var = dotted_name(node.args[0].value)
            literal = node.args[1].value.evaluated_value
            attr = literal if isinstance(literal, str) else None
        if var is None or attr is None or var not in state:
            return None
        fresh = state[var]
        if attr in fresh.assigned:
            return None
        if (attr not in fresh.pk) if fresh.pk is not None else not _orm.keyish(attr):
            return None
        return var, attr

    def sinks(self, expr: cst.BaseExpression, state: State, test: bool) -> None:
        """Report the key tests in ``expr`` (``test``: the whole expression is a condition)."""
        candidates: List[Tuple[cst.CSTNode, cst.CSTNode]] = []
        tests: List[cst.BaseExpression] = [expr] if test else []
        stack: List[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Comparison):
                left: cst.BaseExpression = node.left
                for target in node.comparisons:
                    if self.none_test(left, target):
                        candidates.append((node, left))
                        candidates.append((node, target.comparator))
                    left = target.comparator
            elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
                candidates.extend((node, part) for part in self.test_parts(node.expression))
            elif isinstance(node, cst.IfExp):
                tests.append(node.test)
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "bool":
                tests.extend(arg.value for arg in node.args[:1])
            elif _shadows(node, state):
                continue
            stack.extend(reversed(_children(node)))
        for item in tests:
            candidates.extend((part, part) for part in self.test_parts(item))
        done: Set[int] = set()
        for report_at, operand in candidates:
            if id(operand) in done:
                continue
            if self.sink(report_at, operand, state):
                done.add(id(operand))

    @staticmethod
    def none_test(left: cst.BaseExpression, target: cst.ComparisonTarget) -> bool:
        operator = target.operator
        if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
            return is_none(left) or is_none(target.comparator)
        if isinstance(operator, (cst.In, cst.NotIn)) and isinstance(target.comparator, (cst.Tuple, cst.List, cst.Set)):
            return any(is_none(e.value) for e in target.comparator.elements)
        return False

    def test_parts(self, expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
        """The operands whose truth the test uses: ``a and not b`` -> a, b."""
        if isinstance(expr, cst.BooleanOperation):
            yield from self.test_parts(expr.left)
            yield from self.test_parts(expr.right)
        elif isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
            yield from self.test_parts(expr.expression)
        else:
            yield expr

    def sink(self, report_at: cst.CSTNode, operand: cst.CSTNode, state: State) -> bool:
        found = self.pk_access(operand, state)
        if found is None:
            return False
        if not self.silent and id(operand) not in self.reported:
            self.reported.add(id(operand))
            self.on_test(report_at, found[0], state[found[0]], found[1])
        return True

    def effects(self, expr: cst.BaseExpression, state: State) -> State:
        """Apply what the expression does to new objects: flushes, adds, escapes."""
        calls: List[cst.Call] = []
        uses: List[Tuple[str, List[cst.CSTNode]]] = []
        self.scan(expr, [], state, calls, uses)
        if not calls and not uses:
            return state
        state = dict(state)
        added: Set[str] = set()
        killed: Set[str] = set()
        for call in calls:
            name = _call_name(call.func)
            if isinstance(call.func, cst.Attribute) and name in _orm.FLUSH_METHODS:
                return {}
            if not self.harmless(call):
                killed.update(k for k, v in state.items() if v.added)
                if name not in _orm.SESSION_ADD_METHODS:
                    # ``self.order`` can be written by any method that sees ``self``.
                    killed.update(k for k in state if "." in k)
        for var, ancestors in uses:
            verdict = self.use(var, ancestors, state)
            if verdict == "add":
                added.add(var)
            elif verdict == "kill":
                killed.add(var)
        for var in added - killed:
            if var in state:
                state[var] = replace(state[var], added=True)
        for var in killed:
            state = self.unbind_name(var, state)
        return state

    def scan(
        self,
        node: cst.CSTNode,
        ancestors: List[cst.CSTNode],
        state: State,
        calls: List[cst.Call],
        uses: List[Tuple[str, List[cst.CSTNode]]],
    ) -> None:
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = dotted_name(node)
            if name is not None and name in state:
                uses.append((name, list(ancestors)))
                if isinstance(node, cst.Name):
                    return
        if isinstance(node, cst.NamedExpr):
            name = dotted_name(node.target)
            if name is not None:
                uses.append((name, [node]))
        elif _shadows(node, state):
            return
        ancestors.append(node)
        if isinstance(node, cst.Attribute):
            children: Sequence[cst.CSTNode] = (node.value,)
        elif isinstance(node, cst.Arg):
            children = (node.value,)
        else:
            children = _children(node)
        for child in children:
            self.scan(child, ancestors, state, calls, uses)
        ancestors.pop()
        if isinstance(node, cst.Call):
            calls.append(node)
            if self.on_call is not None and self.callee is not None and state:
                self.interprocedural(node, state)

    def use(self, var: str, ancestors: List[cst.CSTNode], state: State) -> str:
        """How one occurrence of a new object's variable affects it: keep, add or kill."""
        parent = ancestors[-1] if ancestors else None
        if parent is None:
            return "keep"
        if isinstance(parent, cst.NamedExpr):
            return "kill"  # rebound by ``:=``
        if isinstance(parent, cst.Attribute):
            grand = ancestors[-2] if len(ancestors) > 1 else None
            attr = parent.attr.value
            if attr in _orm.OBJECT_ESCAPE_ATTRIBUTES:
                return "kill"
            if isinstance(grand, cst.Call) and grand.func is parent and attr not in _orm.OBJECT_SAFE_METHODS:
                return "kill"
            return "keep"
        if isinstance(parent, (cst.Comparison, cst.ComparisonTarget, cst.UnaryOperation, cst.BooleanOperation)):
            return "keep"
        if isinstance(parent, (cst.FormattedStringExpression, cst.If, cst.While, cst.IfExp)):
            return "keep"
        holder = parent
        depth = len(ancestors) - 1
        while isinstance(holder, (cst.Element, cst.List, cst.Tuple, cst.Set)) and depth > 0:
            depth -= 1
            holder = ancestors[depth]
        if isinstance(holder, cst.Arg) and depth > 0:
            call = ancestors[depth - 1]
            if isinstance(call, cst.Call):
                if self.harmless(call):
                    return "keep"
                if isinstance(call.func, cst.Attribute) and call.func.attr.value in _orm.SESSION_ADD_METHODS:
                    return "add"
        return "kill"

    @staticmethod
    def harmless(call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            return func.value in _orm.HARMLESS_FUNCTIONS
        if isinstance(func, cst.Attribute) and func.attr.value in _orm.LOG_METHODS:
            receiver = (dotted_name(func.value) or "").lower()
            return "log" in receiver
        return False

    def interprocedural(self, call: cst.Call, state: State) -> None:
        assert self.callee is not None and self.on_call is not None
        if self.silent or id(call) in self.reported:
            return
        positional: List[Tuple[int, str]] = []
        keywords: List[Tuple[str, str]] = []
        for index, arg in enumerate(call.args):
            if arg.star:
                break
            name = dotted_name(arg.value)
            if name is None or name not in state:
                continue
            if arg.keyword is not None:
                keywords.append((arg.keyword.value, name))
            else:
                positional.append((index, name))
        if not positional and not keywords:
            return
        target = self.callee(call)
        if target is None:
            return
        callee_name, facts = target
        offset = 1 if facts.bound and isinstance(call.func, cst.Attribute) else 0
        for test in facts.tests:
            for index, var in positional:
                if index + offset == test.index and self.pk_match(state[var], test.attr):
                    self.reported.add(id(call))
                    self.on_call(call, var, state[var], callee_name, test)
                    return
            for keyword, var in keywords:
                if keyword == test.name and self.pk_match(state[var], test.attr):
                    self.reported.add(id(call))
                    self.on_call(call, var, state[var], callee_name, test)
                    return

    @staticmethod
    def pk_match(fresh: _Fresh, attr: str) -> bool:
        return fresh.pk is not None and attr in fresh.pk and attr not in fresh.assigned


# ---------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------


class UnflushedPrimaryKeyCheck(Rule):
    """A test of a new ORM object's primary key, which is always empty before a flush.

    ## What it does
    Checks for a test of an ORM object's primary key (`obj.id is None`,
    `not obj.pk`, `getattr(obj, "id", None) is None`, `obj.id == None`...)
    where `obj` was just built with `Model(...)` (no key given) and nothing
    flushed, saved or refreshed it on the way, in the same function or in a
    project function it is handed to (a function, a method of `self` or of a
    project object such as a repository).  An object returned by a project
    factory that always builds a new one counts as new.  The analysis follows
    branches, loops, `try` and `with session.begin():` blocks and is quiet when
    the object may have been loaded, merged, flushed or given a key on any
    path.  Models are SQLAlchemy (declarative
    `Base`, `DeclarativeBase`, Flask-SQLAlchemy `db.Model`), SQLModel
    (`table=True`), Django, Peewee and Tortoise classes, and project classes
    inheriting from them, across files.

    ## Why it matters
    The database assigns the key when the row is written, so the test is
    constant: "update if it exists, else create" always creates.  In the
    incident behind this rule (incident 001) an order importer built an
    `Order` from every webhook and tested its `id` to decide between insert
    and update; every update of a known order inserted a duplicate.

    ## Example
    ```python
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        external_id: Mapped[str]


    def upsert_order(session, payload):
        order = Order(external_id=payload["id"])
        if order.id is None:
            session.add(order)
        session.commit()
    ```

    ## Use instead
    ```python
    from sqlalchemy import select
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        external_id: Mapped[str]


    def upsert_order(session, payload):
        order = session.execute(
            select(Order).filter_by(external_id=payload["id"])
        ).scalar_one_or_none()
        if order is None:
            order = Order(external_id=payload["id"])
            session.add(order)
        session.commit()
    ```

    ## Fix safety
    No automatic fix: the right lookup key is a business decision.  The
    suggestion is to look the row up by its natural key, use
    `session.merge`/`get_or_create`/an upsert, or flush before testing.

    ## See also
    Django's `Model._state.adding`; SQLAlchemy `inspect(obj).transient`.
    """

    code = "OPS201"
    name = "unflushed-primary-key-check"
    message = (
        "{check} of a new `{model}` that has not been flushed: `{obj}.{attr}` is always empty here, "
        "so the check cannot tell new rows from existing ones"
    )
    # A model imported from another project file is covered by ``project_relevant``.
    tokens = ("sqlalchemy", "sqlmodel", "django", "peewee", "tortoise")
    fix_availability = "none"
    needs_project = True
    # Facts are needed where keys are declared or attributes named like keys are tested;
    # class hierarchies of other modules come from the index's own summaries.
    project_tokens = _orm.FACT_TOKENS

    SUGGESTION = (
        "Look the row up by its natural key (`select(...).filter_by(...)`, `Model.objects.filter(...).first()`), "
        "use `session.merge`/`get_or_create`/an upsert, or flush before testing the key"
    )

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self._functions: List[Tuple[cst.FunctionDef, Optional[str]]] = []
        self._classes: List[str] = []
        self._callees: Set[str] = set()

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any = None) -> bool:
        """Files that import a project model (or a project factory of one, or a module holding
        models) may build it without naming an ORM."""
        name = project.module_of(path)
        summary = project.summary(name) if name is not None else None
        if summary is None:
            return False
        models = _project_models(project, cls.code)
        return any(_provides_models(project, models, target) for target in summary.aliases.values())

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        return compute_facts(module, info.name, info.package)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        name = dotted_name(node.func)
        if name is not None:
            self._callees.add(name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        owner = self._classes[-1] if self._classes and isinstance(self.parent(2), cst.ClassDef) else None
        self._functions.append((node, owner))

    def leave_Module(self, original_node: cst.Module) -> None:
        project = self.ctx.project
        module_name = (project.module_of(self.ctx.path) if project is not None else None) or (
            self.ctx.module_name or "__main__"
        )
        local = compute_facts(original_node, module_name, self.ctx.imports.package, summaries=False)
        facts: Dict[str, ModuleFacts] = {}
        if project is not None:
            facts.update((k, v) for k, v in project.facts(self.code).items() if isinstance(v, ModuleFacts))
        facts[module_name] = local
        self._local = local
        self._module_name = module_name
        self._local_types: Dict[str, str] = {}
        self._owner: Optional[str] = None
        self._models = _Models(facts, project)
        self._qualify = _Qualifier(original_node, module_name, self.ctx.imports)
        if not any(self._is_model(name) for name in self._callees):
            return
        add_summaries(original_node, local, self._qualify)
        self._analyse(original_node.body, None)
        for node, owner in self._functions:
            self._analyse(node.body, owner)

    # -- analysis ---------------------------------------------------------------

    def _analyse(self, body: Union[cst.BaseSuite, Sequence[cst.BaseStatement]], owner: Optional[str]) -> None:
        self._local_types = self._types_in(body)
        self._owner = owner
        flow = _Flow(
            construct=self._construct,
            callee=lambda call: self._callee(call, owner),
            on_test=self._on_test,
            on_call=self._on_call,
        )
        flow.run(body, {})

    def _is_model(self, name: str) -> bool:
        qual = self._qualify.dotted(name)
        return qual is not None and self._models.model(qual) is not None

    def _types_in(self, body: Union[cst.BaseSuite, Sequence[cst.BaseStatement]]) -> Dict[str, str]:
        """``repo = OrderRepository(...)`` anywhere in the body (not in nested functions)."""
        types: Dict[str, str] = {}
        stack: List[cst.CSTNode] = list(_kids(body) if isinstance(body, cst.BaseSuite) else body)
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if (
                isinstance(node, cst.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0].target, cst.Name)
                and isinstance(node.value, cst.Call)
            ):
                qual = self._qualify(node.value.func)
                if qual is not None:
                    types[node.targets[0].target.value] = qual
            stack.extend(_kids(node))
        return types

    def _construct(self, value: cst.BaseExpression) -> Optional[_Fresh]:
        """A new model object: ``Model(...)`` without a key, or a project factory that returns one."""
        if not isinstance(value, cst.Call):
            return None
        built = _candidate(value, self._qualify)
        if built is not None:
            info = self._models.model(built.model)
            if info is not None:
                if info.preset or set(built.keywords) & info.pk:
                    return None
                return _Fresh(model=dotted_name(value.func) or built.model, pk=info.pk, origin=value)
        target = self._callee(value, self._owner)
        if target is None or target[1].returns is None:
            return None
        model, keywords = target[1].returns
        info = self._models.model(model)
        if info is None or info.preset or set(keywords) & info.pk:
            return None
        return _Fresh(model=model.rsplit(".", 1)[-1], pk=info.pk, origin=value)

    def _callee(self, call: cst.Call, owner: Optional[str]) -> Optional[Tuple[str, FunctionFacts]]:
        func = call.func
        display = dotted_name(func)
        if display is None:
            return None
        if isinstance(func, cst.Name) and func.value in self._local.functions and func.value in self._qualify.local:
            return display, self._local.functions[func.value]
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and owner is not None:
            if func.value.value in ("self", "cls"):
                found = self._local.functions.get(f"{owner}.{func.attr.value}")
                return (display, found) if found is not None else None
        if isinstance(func, cst.Attribute):
            instance_class = self._instance_class(func.value, owner)
            if instance_class is not None:
                found = self._method(instance_class, func.attr.value, 0)
                return (display, found) if found is not None else None
        qual = self._qualify(func)
        if qual is None:
            return None
        found = self._function(qual, 0)
        return (display, found) if found is not None else None

    def _instance_class(self, receiver: cst.BaseExpression, owner: Optional[str]) -> Optional[str]:
        """The project class of ``repo`` / ``self.repo`` / ``Repo(...)`` in ``repo.method(...)``."""
        if isinstance(receiver, cst.Call):
            return self._qualify(receiver.func)
        if isinstance(receiver, cst.Name):
            return self._local_types.get(receiver.value)
        project = self.ctx.project
        if (
            project is not None
            and owner is not None
            and isinstance(receiver, cst.Attribute)
            and isinstance(receiver.value, cst.Name)
            and receiver.value.value == "self"
        ):
            cls = project.class_summary(f"{self._module_name}.{owner}")
            if cls is not None:
                types: Dict[str, str] = dict(cls.attr_types)
                return types.get(receiver.attr.value)
        return None

    def _method(self, class_qual: str, method: str, depth: int) -> Optional[FunctionFacts]:
        split = self._models._split(class_qual)
        if split is None or depth > 6:
            return None
        mod, rest = split
        if rest not in mod.classes and rest in mod.aliases:
            return self._method(mod.aliases[rest], method, depth + 1)
        found = mod.functions.get(f"{rest}.{method}")
        return found if found is not None and found.bound else None

    def _function(self, qual: str, depth: int) -> Optional[FunctionFacts]:
        if depth > 6:
            return None
        split = self._models._split(qual)
        if split is None:
            return None
        mod, rest = split
        if rest in mod.functions:
            facts = mod.functions[rest]
            # A function called through its module binds nothing.
            return replace(facts, bound=False) if "." not in rest else None
        head, _, tail = rest.partition(".")
        if head in mod.aliases:
            return self._function(mod.aliases[head] + (f".{tail}" if tail else ""), depth + 1)
        return None

    # -- reporting --------------------------------------------------------------

    def _on_test(self, node: cst.CSTNode, var: str, fresh: _Fresh, attr: str) -> None:
        self.report(
            node,
            check=f"`{self.edits.code(node).strip()}` tests the primary key",
            obj=var,
            attr=attr,
            model=fresh.model,
            fix=PendingFix.suggestion(self.SUGGESTION),
        )

    def _on_call(self, node: cst.Call, var: str, fresh: _Fresh, callee: str, test: ParamTest) -> None:
        self.report(
            node,
            check=f"`{callee}()` tests the primary key (`{test.text}`)",
            obj=var,
            attr=test.attr,
            model=fresh.model,
            fix=PendingFix.suggestion(self.SUGGESTION),
        )
