"""ORM model facts of a project, for OPS201: which classes are models, and their keys.

Per module (the rule's project facts: plain dataclasses, cached as JSON): the
top-level classes with their bases, decorators, class keywords and primary-key
declarations; the names bound to declarative bases, extension namespaces
(``db = SQLAlchemy()``), model factories and registries; the module's imports (for
re-exports); and, added by ``rules/_unflushed_summaries.py``, the summaries of its
functions.  :class:`Models` resolves a qualified name to a model across modules,
following base classes, aliases and re-exports.  Knowledge (which bases, which field calls) comes
from ``rules/_orm.py``; nothing here walks a function body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Set, Tuple

import libcst as cst

from opslint.rules import _orm
from opslint.rules._facts import FactsOf
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import is_none
from opslint.syntax.walk import iter_nodes

# -- per-module facts (the rule's project facts: plain data) ------------------------------


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
    #: A classmethod or staticmethod: ``Class.method(...)`` binds as ``bound`` says.
    via_class: bool = False
    #: A ``@property``: reading ``obj.name`` runs it (``invoice.is_persisted``).
    is_property: bool = False


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


@dataclass(frozen=True)
class Built:
    """``Something(k=...)`` that may build a model (decided with the project's facts)."""

    #: The callee, qualified.
    model: str
    #: Keywords given a value other than None.
    keywords: Tuple[str, ...]


def call_name(expr: cst.BaseExpression) -> str:
    """``a.b.C`` -> ``C`` (empty when the expression is not a dotted name)."""
    name = dotted_name(expr)
    return name.rsplit(".", 1)[-1] if name else ""


def _truthy_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


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
    if call_name(call.func) in _orm.PK_FIELD_CALLS:
        return True
    return any(
        arg.keyword is not None and arg.keyword.value in _orm.PK_FIELD_KEYWORDS and _truthy_literal(arg.value)
        for arg in call.args
    )


def _natural_key(stmt: cst.CSTNode) -> bool:
    """A string/UUID key (in the field call or the annotation): the application sets it."""
    for node in iter_nodes(stmt):
        if isinstance(node, cst.Name) and node.value in _orm.NATURAL_KEY_TYPES:
            return True
        if isinstance(node, cst.Attribute) and node.attr.value in _orm.NATURAL_KEY_TYPES:
            return True
    return False


def _insert_time_default(call: cst.Call) -> bool:
    """SQLAlchemy ``Column(..., default=uuid.uuid4)`` / ``mapped_column(default=...)``: the default is
    applied when the row is INSERTed (at the flush), so the key is None until then, whatever its type."""
    if call_name(call.func) not in _orm.INSERT_TIME_DEFAULT_FIELDS:
        return False
    given = {arg.keyword.value for arg in call.args if arg.keyword is not None and not is_none(arg.value)}
    return "default" in given and "default_factory" not in given and "init" not in given


def _pk_has_default(call: cst.Call) -> bool:
    return any(
        arg.keyword is not None and arg.keyword.value in _orm.PK_DEFAULT_KEYWORDS and not is_none(arg.value)
        for arg in call.args
    )


class Qualifier:
    """Qualified names for a module's expressions, from its top-level bindings and imports
    (no traversal: project facts are computed from a parsed module alone)."""

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


def module_imports(module: cst.Module, package: Optional[str]) -> ImportTable:
    imports = ImportTable(package)
    imports.add_top_level(module.body)
    return imports


def compute_facts(module: cst.Module, qualify: Qualifier) -> ModuleFacts:
    """The module's classes, base factories and re-exports (function summaries are added
    by ``_unflushed_summaries.add_summaries``)."""
    facts = ModuleFacts(aliases=dict(qualify.imports.aliases))
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef):
            facts.classes[stmt.name.value] = _class_facts(stmt, qualify)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _record_factory(small, qualify, facts)
    return facts


def candidate(value: cst.BaseExpression, qualify: Qualifier) -> Optional[Built]:
    """``Something(k=...)`` that may build a model: no positional or unknown ``**`` values."""
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
    return Built(qual, tuple(keywords))


def _class_facts(node: cst.ClassDef, qualify: Qualifier) -> ClassFacts:
    bases = [q for q in (qualify(arg.value) for arg in node.bases) if q is not None]
    keywords = [arg.keyword.value for arg in node.keywords if arg.keyword is not None and _truthy_literal(arg.value)]
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
            pk_calls.append(call_name(found[1].func))
            if not _insert_time_default(found[1]):
                pk_default = pk_default or _pk_has_default(found[1]) or _natural_key(small)
    return ClassFacts(
        tuple(bases), tuple(keywords), tuple(decorators), tuple(pk), pk_default, tuple(pk_calls), has_init
    )


def _record_factory(small: cst.BaseSmallStatement, qualify: Qualifier, facts: ModuleFacts) -> None:
    if not isinstance(small, (cst.Assign, cst.AnnAssign)) or small.value is None:
        return
    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
    names = [t.value for t in targets if isinstance(t, cst.Name)]
    value = small.value
    if not names or not isinstance(value, cst.Call):
        return
    callee = qualify(value.func)
    if callee is not None and _record_binding(facts, names, callee):
        return
    if isinstance(value.func, cst.Attribute) and value.func.attr.value in _orm.REGISTRY_BASE_METHODS:
        # ``Base = mapper_registry.generate_base()`` or ``registry().generate_base()``.
        receiver = value.func.value
        if isinstance(receiver, cst.Name) and receiver.value in facts.registries:
            facts.roots.update((n, facts.registries[receiver.value]) for n in names)
        elif isinstance(receiver, cst.Call) and qualify(receiver.func) in _orm.REGISTRY_FACTORIES:
            facts.roots.update((n, "sqlalchemy") for n in names)


def _record_binding(facts: ModuleFacts, names: List[str], callee: str) -> bool:
    """``Base = declarative_base()``, ``db = SQLAlchemy()``, ``User = get_user_model()``, ``reg = registry()``."""
    if callee in _orm.BASE_FACTORIES:
        facts.roots.update((n, _orm.BASE_FACTORIES[callee]) for n in names)
    elif callee in _orm.NAMESPACE_FACTORIES:
        facts.namespaces.update((n, _orm.NAMESPACE_FACTORIES[callee]) for n in names)
    elif callee in _orm.MODEL_FACTORIES:
        facts.models.update((n, _orm.MODEL_FACTORIES[callee]) for n in names)
    elif callee in _orm.REGISTRY_FACTORIES:
        facts.registries.update((n, _orm.REGISTRY_FACTORIES[callee]) for n in names)
    else:
        return False
    return True


def facts_from_summary(summary: Any) -> ModuleFacts:
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
        _record_binding(facts, [name], callee)
    return facts


# -- model resolution over module facts -----------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    family: str
    pk: FrozenSet[str]
    #: The key is set when the object is built (a default, or an ``__init__`` of the project's own).
    preset: bool


class Models:
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
                adapted = self.facts.get(summary.name) or facts_from_summary(summary)
            self._adapted[name] = adapted
        return self._adapted[name]

    def split(self, qual: str) -> Optional[Tuple[ModuleFacts, str]]:
        """(facts of the longest module prefix of ``qual``, the rest of the name)."""
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
        found = self.split(qual) if depth <= 8 else None
        if found is None:
            return None
        mod, rest = found
        if rest in mod.roots:
            return mod.roots[rest]
        cls = mod.classes.get(rest)
        if cls is not None:
            return next((_orm.BASE_DECORATORS[d] for d in cls.decorators if d in _orm.BASE_DECORATORS), None)
        head, _, attr = rest.partition(".")
        if head in mod.namespaces and attr == mod.namespaces[head][0]:
            return mod.namespaces[head][1]
        if head in mod.aliases:
            return self._root(mod.aliases[head] + (f".{attr}" if attr else ""), depth + 1)
        return None

    def model(self, qual: str) -> Optional[ModelInfo]:
        if qual not in self._cache:
            self._cache[qual] = None  # recursion guard
            self._cache[qual] = self._model(qual)
        return self._cache[qual]

    def _model(self, qual: str) -> Optional[ModelInfo]:
        found = self.split(qual)
        if found is not None and found[1] in found[0].models:
            family = found[0].models[found[1]]
            return ModelInfo(family, _orm.DEFAULT_PK[family], False)
        chain = self._chain(qual, 0)
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
        found = self.split(qual) if depth <= 12 else None
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
                owner = self.split(head)
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

    def function(self, qual: str, depth: int = 0) -> Optional[FunctionFacts]:
        """The summary of a module-level function ``qual`` (through re-exports)."""
        split = self.split(qual) if depth <= 6 else None
        if split is None:
            return None
        mod, rest = split
        if rest in mod.functions:
            facts = mod.functions[rest]
            # A function called through its module binds nothing.
            if "." not in rest:
                return FunctionFacts(facts.tests, False, facts.returns)
            return facts if facts.via_class else None
        head, _, tail = rest.partition(".")
        if head in mod.aliases:
            return self.function(mod.aliases[head] + (f".{tail}" if tail else ""), depth + 1)
        return None

    def method(self, class_qual: str, method: str, depth: int = 0) -> Optional[FunctionFacts]:
        """The summary of ``method`` of the project class ``class_qual`` called on an instance."""
        split = self.split(class_qual) if depth <= 6 else None
        if split is None:
            return None
        mod, rest = split
        if rest not in mod.classes and rest in mod.aliases:
            return self.method(mod.aliases[rest], method, depth + 1)
        found = mod.functions.get(f"{rest}.{method}")
        return found if found is not None and found.bound else None


def project_models(project: Any, code: str) -> Models:
    """The project's model resolver, computed once per index state."""

    def build() -> Models:
        # A view: a one-file run asks about the few modules this file imports, and need
        # not decode every module's facts first.
        return Models(FactsOf(project, code, ModuleFacts), project)

    models: Models = project.memo((code, "models"), build)
    return models


def provides_models(project: Any, code: str, models: Models, target: str) -> bool:
    """Whether an imported name is a model class, a factory returning one, or a module with models."""

    def compute() -> bool:
        if models.model(target) is not None:
            return True
        split = models.split(target)
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

    answer: bool = project.memo((code, "provides", target), compute)
    return answer
