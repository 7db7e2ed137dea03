"""OPS201: a primary-key test on an ORM object that was just constructed and never flushed."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingTable, Scope, agreed
from opslint.rule import PendingFix, Rule
from opslint.rules import _orm
from opslint.rules._facts import FactsOf
from opslint.rules._orm_models import (
    FunctionFacts,
    Models,
    ModuleFacts,
    ParamTest,
    Qualifier,
    candidate,
    compute_facts,
    module_imports,
    project_models,
    provides_models,
)
from opslint.rules._unflushed import Fresh, FreshWalker
from opslint.rules._unflushed_summaries import add_summaries
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import find_in_scope


class _ClassOf:
    """What a value is, for OPS201: the qualified class a constructor call (or an
    annotation) names, so that ``repo.save(order)`` finds ``OrderRepository.save``."""

    def __init__(self, qualify: Qualifier) -> None:
        self.qualify = qualify

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        return self.qualify(value.func) if isinstance(value, cst.Call) else None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        return self.qualify(annotation)


class UnflushedPrimaryKeyCheck(Rule):
    """A test of a new ORM object's primary key, which is always empty before a flush.

    ## What it does
    Checks for a test of an ORM object's primary key (`obj.id is None`,
    `not obj.pk`, `getattr(obj, "id", None) is None`, `obj.id == None`...)
    where `obj` was just built with `Model(...)` (no key given) and nothing
    flushed, saved or refreshed it on the way, in the same function or in a
    project function it is handed to (a function, a method of `self` or of a
    project object such as a repository, a helper of this module that another
    helper calls, or a method of the new object itself, `order.upsert(session)`
    testing `self.id`, though not the hooks a model overrides to take part in
    its own saving, such as Django's `save` or `clean`).  A list built by
    `[Model(...) for ...]` holds new objects: the first loop over it tests
    new ones.  An object returned by a project
    factory that always builds a new one counts as new (also a classmethod
    returning `cls(...)`, and SQLModel `Team.model_validate(team_in)` from an
    input schema without the key); Peewee `obj.get_id()` is a key test, and a
    SQLAlchemy `Column(..., default=uuid.uuid4)` key is still None before the
    flush (the default is applied at INSERT).  The analysis follows
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
    # A factory module imports the models it builds (``from helpdesk.models import Ticket``);
    # a classmethod factory returns ``cls(...)``.
    project_tokens = (*_orm.FACT_TOKENS, "models import", "return cls(")
    requires = (BindingTable,)

    SUGGESTION = (
        "Look the row up by its natural key (`select(...).filter_by(...)`, `Model.objects.filter(...).first()`), "
        "use `session.merge`/`get_or_create`/an upsert, or flush before testing the key"
    )

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self._table: BindingTable = ctx.analysis(BindingTable)
        self._functions: List[cst.FunctionDef] = []
        self._callees: Set[str] = set()

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any = None) -> bool:
        """Files that import a project model (or a project factory of one, or a module holding
        models) may build it without naming an ORM."""
        name = project.module_of(path)
        summary = project.summary(name) if name is not None else None
        if summary is None:
            return False
        models = project_models(project, cls.code)
        return any(provides_models(project, cls.code, models, target) for target in summary.aliases.values())

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        qualify = Qualifier(module, info.name, module_imports(module, info.package))
        facts = compute_facts(module, qualify)
        add_summaries(module, facts, qualify)
        return facts

    def visit_Call(self, node: cst.Call) -> None:
        name = dotted_name(node.func)
        if name is not None:
            self._callees.add(name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        project = self.ctx.project
        module_name = (project.module_of(self.ctx.path) if project is not None else None) or (
            self.ctx.module_name or "__main__"
        )
        self._qualify = Qualifier(original_node, module_name, self.ctx.imports)
        local = compute_facts(original_node, self._qualify)
        # This file's facts as they are now, over the project's, read module by module.
        facts = FactsOf(project, self.code, ModuleFacts, current={module_name: local})
        self._local = local
        self._module_name = module_name
        self._models = Models(facts, project)
        self._kinds = _ClassOf(self._qualify)
        self._classes = {c.name.value: c for c in original_node.body if isinstance(c, cst.ClassDef)}
        # ``Model(...)``, or a factory of the model class (``Shipment.from_webhook(...)``).
        if not any(self._may_build(name) for name in self._callees):
            return
        add_summaries(original_node, local, self._qualify)
        assert self._table.module_scope is not None
        self._analyse(original_node.body, self._table.module_scope)
        for node in self._functions:
            scope = self._table.scope_of(node)
            if scope is not None:
                self._analyse(node.body, scope)

    # -- analysis ---------------------------------------------------------------

    def _analyse(self, body: Union[cst.BaseSuite, Sequence[cst.BaseStatement]], scope: Scope) -> None:
        self._scope = scope
        walker = FreshWalker(
            self.ctx.imports,
            construct=self._construct,
            callee=self._callee,
            on_test=self._on_test,
            on_call=self._on_call,
        )
        walker.analyse(body, frozenset())

    def _may_build(self, name: str) -> bool:
        """``Model(...)``, a factory of the model class (``Shipment.from_webhook(...)``), or a
        project function that returns a new model (``build_ticket(...)``)."""
        if self._is_model(name) or self._is_model(name.rpartition(".")[0]):
            return True
        qual = self._qualify.dotted(name)
        found = self._models.function(qual) if qual is not None else None
        return found is not None and found.returns is not None

    def _is_model(self, name: str) -> bool:
        if not name:
            return False
        qual = self._qualify.dotted(name)
        return qual is not None and self._models.model(qual) is not None

    @property
    def _owner(self) -> Optional[str]:
        """The class of the method being analysed (a top-level class of this file)."""
        owner = self._scope.owner
        return owner.node.name.value if owner is not None and isinstance(owner.node, cst.ClassDef) else None

    def _construct(self, value: cst.BaseExpression) -> Optional[Fresh]:
        """A new model object: ``Model(...)`` without a key, or a project factory that returns one."""
        if not isinstance(value, cst.Call):
            return None
        made = candidate(value, self._qualify)
        if made is not None:
            info = self._models.model(made.model)
            if info is not None:
                if info.preset or set(made.keywords) & info.pk:
                    return None
                return Fresh(dotted_name(value.func) or made.model, info.pk)
        validated = self._validated(value)
        if validated is not None:
            return validated
        target = self._callee(value)
        if target is None or target[1].returns is None:
            return None
        model, keywords = target[1].returns
        info = self._models.model(model)
        if info is None or info.preset or set(keywords) & info.pk:
            return None
        return Fresh(model.rsplit(".", 1)[-1], info.pk)

    def _validated(self, call: cst.Call) -> Optional[Fresh]:
        """SQLModel ``Team.model_validate(team)`` where ``team`` is a parameter annotated with a
        class of this file that declares none of the key's names (``TeamCreate``): a new ``Team``."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _orm.VALIDATE_CONSTRUCTORS:
            return None
        if len(call.args) != 1 or call.args[0].keyword is not None or not isinstance(call.args[0].value, cst.Name):
            return None
        model = self._qualify(func.value)
        info = self._models.model(model) if model is not None else None
        function = self._scope.function
        if info is None or info.preset or function is None:
            return None
        name = call.args[0].value.value
        params = [*function.params.posonly_params, *function.params.params, *function.params.kwonly_params]
        param = next((p for p in params if p.name.value == name), None)
        annotation = param.annotation.annotation if param is not None and param.annotation is not None else None
        if not isinstance(annotation, cst.Name) or self._is_model(annotation.value):
            return None
        fields = self._declared_fields(annotation.value, 0)
        if fields is None or fields & info.pk:
            return None
        return Fresh(
            func.value.attr.value if isinstance(func.value, cst.Attribute) else dotted_name(func.value) or "", info.pk
        )

    def _declared_fields(self, name: str, depth: int) -> Optional[Set[str]]:
        """Annotated fields of a class of this file and its bases here (None: not all known)."""
        node = self._classes.get(name)
        if node is None or depth > 6:
            return None
        fields: Set[str] = set()
        for base in node.bases:
            base_name = dotted_name(base.value)
            if base_name in _orm.VALIDATE_ROOTS:
                continue
            inherited = self._declared_fields(base_name, depth + 1) if base_name is not None else None
            if inherited is None:
                return None
            fields |= inherited
        for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        fields.add(small.target.value)
        return fields

    def _callee(self, call: cst.Call) -> Optional[Tuple[str, FunctionFacts]]:
        func = call.func
        display = dotted_name(func)
        if display is None:
            return None
        owner = self._owner
        if isinstance(func, cst.Name) and func.value in self._local.functions and func.value in self._qualify.local:
            return display, self._local.functions[func.value]
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and owner is not None:
            if func.value.value in ("self", "cls"):
                found = self._local.functions.get(f"{owner}.{func.attr.value}")
                return (display, found) if found is not None else None
        if isinstance(func, cst.Attribute):
            instance_class = self._instance_class(func.value, owner)
            if instance_class is not None:
                found = self._models.method(instance_class, func.attr.value)
                return (display, found) if found is not None else None
        qual = self._qualify(func)
        if qual is None:
            return None
        found = self._models.function(qual)
        return (display, found) if found is not None else None

    def _instance_class(self, receiver: cst.BaseExpression, owner: Optional[str]) -> Optional[str]:
        """The project class of ``repo`` / ``self.repo`` / ``Repo(...)`` in ``repo.method(...)``."""
        if isinstance(receiver, cst.Call):
            return self._qualify(receiver.func)
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            # ``member = member.upsert(session)``: the binding the call makes holds what the
            # method returns, not what it is called on.
            found = agreed(
                [
                    a
                    for a in self._table.kinds(receiver, self._scope, self._kinds)
                    if a.binding is not None
                    and (a.binding.value is None or find_in_scope(a.binding.value, lambda n: n is receiver) is None)
                ]
            )
            if found is not None:
                return found
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

    # -- reporting --------------------------------------------------------------

    def _on_test(self, node: cst.CSTNode, var: str, fresh: Fresh, attr: str) -> None:
        self.report(
            node,
            check=f"`{self.edits.code(node).strip()}` tests the primary key",
            obj=var,
            attr=attr,
            model=fresh.model,
            fix=PendingFix.suggestion(self.SUGGESTION),
        )

    def _on_call(self, node: cst.CSTNode, var: str, fresh: Fresh, callee: str, test: ParamTest) -> None:
        how = f"`{callee}()`" if isinstance(node, cst.Call) else f"`{callee}` (a property)"
        self.report(
            node,
            check=f"{how} tests the primary key (`{test.text}`)",
            obj=var,
            attr=test.attr,
            model=fresh.model,
            fix=PendingFix.suggestion(self.SUGGESTION),
        )
