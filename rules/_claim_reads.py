"""The reads of check-then-set claims, for OPS402: which expressions check a lock's state,
and when a test over one is true exactly when the lock is free.

A :class:`Read` is a redis/cache ``get``/``exists``, an ORM flag attribute or status
field, a ``.filter(...).exists()``, a lock file test, or a read of one of the stores of
``_claim_stores.py``.  Its polarity: ``if not r.get(key):``, ``if job.in_use is False:``,
``if job.status == "idle":`` are true when free.  :class:`ClaimReads` is mixed into
``_claims.FunctionClaims``, which finds the write that claims what was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst

from opslint.rules import _locks
from opslint.rules._claim_stores import StoreClaims, falsy_literal
from opslint.syntax.names import dotted_name
from opslint.syntax.walk import walk

REDIS = "redis"
DJANGO_CACHE = "django-cache"


@dataclass(frozen=True)
class Read:
    """A check of a lock's state: what resource, through what kind of store."""

    kind: str  # "redis", "django-cache", "orm-attr", "orm-exists", "file", "sql-core", ...
    call: cst.CSTNode  # the read expression (for messages)
    receiver: str  # normalised text of the client / object
    key: str  # normalised key / field
    method: str  # read method or field name
    #: For filter(...).exists(): field -> value text of the filter.
    fields: Tuple[Tuple[str, str], ...] = ()


def unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    while True:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        elif isinstance(expr, cst.Call) and dotted_name(expr.func) in ("bool", "int", "float") and len(expr.args) == 1:
            # ``int(r.get(key) or 0)``: the count the read holds
            expr = expr.args[0].value
        elif (
            isinstance(expr, cst.Call)
            and dotted_name(expr.func) == "any"
            and len(expr.args) == 1
            and isinstance(expr.args[0].value, cst.Call)
        ):
            # ``any(r.mget(keys))``: whether one of the keys is taken
            expr = expr.args[0].value
        elif (
            isinstance(expr, cst.BooleanOperation)
            and isinstance(expr.operator, cst.Or)
            and isinstance(expr.right, (cst.Integer, cst.SimpleString))
            and str(expr.right.evaluated_value) in ("0", "b'0'")
        ):
            expr = expr.left
        else:
            return expr


class ClaimReads(StoreClaims):
    """The reads of lock state in one function body and the polarity of the tests over
    them; mixed into ``_claims.FunctionClaims`` (see the module docstring)."""

    #: Set by ``FunctionClaims``: name -> read assigned to it (``current = r.get(key)``).
    assigned: Dict[str, Read]

    # -- reads -----------------------------------------------------------------------------

    def _read_of(self, expr: cst.BaseExpression) -> Optional[Read]:
        """A lock-state read: redis/cache get, ORM flag attribute, exists(), os.path.exists."""
        expr = unwrap(expr)
        rule = self.rule
        if isinstance(expr, cst.Name):
            return self.assigned.get(expr.value)
        if isinstance(expr, cst.Attribute):
            field = expr.attr.value
            if isinstance(expr.value, (cst.Name, cst.Attribute)) and dotted_name(expr.value) is not None:
                if _locks.is_orm_flag_field(field) or field in _locks.STATUS_FIELDS:
                    return Read("orm-attr", expr, rule.text(expr.value), field, field)
            return None
        if isinstance(expr, cst.Comparison) and _keeps_truth(expr):
            # ``already = await r.exists(key) > 0``: the same truth as the read.
            inner = self._read_of(expr.left)
            if inner is not None and inner.kind != "orm-attr":
                return inner
        row_field = _one_column_row(expr)
        if row_field is not None:
            # ``M.objects.values_list("busy", flat=True).get(pk=i)``, ``...values("busy").get(pk=i)["busy"]``
            return Read("orm-attr", expr, rule.text(expr), row_field, row_field)
        if isinstance(expr, (cst.Subscript, cst.Comparison)):
            return self._typed_store_read(expr)
        if not isinstance(expr, cst.Call):
            return self._typed_store_read(expr)
        if rule.qualified_name(expr.func) in ("os.path.exists", "os.path.isfile", "os.path.lexists"):
            if expr.args:
                return Read("file", expr, "", rule.text(expr.args[0].value), "exists")
            return None
        if not isinstance(expr.func, cst.Attribute):
            return self._typed_store_read(expr)  # ``is_locked(name)``: a helper of the project
        method = expr.func.attr.value
        receiver = expr.func.value
        if method in ("exists", "count", "first") and not expr.args:
            fields = self._filter_fields(receiver)
            if fields:
                return Read("orm-exists", expr, rule.text(receiver), "", method, fields)
            if method == "exists" and isinstance(receiver, (cst.Name, cst.Attribute, cst.Call)):
                text = rule.text(receiver)
                if _locks.lockish_text(text) and "path" in text.lower() or text.lower().endswith("lock_file"):
                    return Read("file", expr, "", text, "exists")
            return self._typed_store_read(expr)
        if method in _CORE_ROW_METHODS and not expr.args:
            core = self._core_select(receiver)
            if core is not None:
                return Read("sql-core", expr, core[0], core[1], "select")
        if method in _locks.REDIS_READ_METHODS and expr.args:
            kind = rule.store_kind(receiver, self.stack)
            if kind in (REDIS, DJANGO_CACHE) and not (kind == DJANGO_CACHE and method != "get"):
                key = rule.text(expr.args[0].value)
                if method == "mget":
                    key = several_keys(rule.text, [a.value for a in expr.args], mapping=False)
                if method in ("hget", "hexists", "sismember", "getbit") and len(expr.args) > 1:
                    key += "|" + rule.text(expr.args[1].value)
                return Read(kind, expr, rule.text(receiver), key, method)
        return self._typed_store_read(expr)

    def _core_select(self, receiver: cst.BaseExpression) -> Optional[Tuple[str, str]]:
        """SQLAlchemy Core ``conn.execute(select(keys.c.in_use).where(...))``: (table text,
        flag column) when the one selected column is a lock flag or status."""
        if not (isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute)):
            return None
        if receiver.func.attr.value != "execute" or not receiver.args:
            return None
        node: cst.BaseExpression = receiver.args[0].value
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value  # ``.where(...)``, ``.limit(1)``
        if not (isinstance(node, cst.Call) and self.rule.qualified_name(node.func) in _CORE_SELECTS):
            return None
        if len(node.args) != 1 or not isinstance(node.args[0].value, cst.Attribute):
            return None
        column = node.args[0].value
        table = column.value
        if not (isinstance(table, cst.Attribute) and table.attr.value in ("c", "columns")):
            return None
        field = column.attr.value
        if not (_locks.is_orm_flag_field(field) or field in _locks.STATUS_FIELDS):
            return None
        return self.rule.text(table.value), field

    def _typed_store_read(self, expr: cst.BaseExpression) -> Optional[Read]:
        read: Optional[Read] = self._store_read(expr, Read)
        return read

    def _filter_fields(self, receiver: cst.BaseExpression) -> Tuple[Tuple[str, str], ...]:
        """Keyword filters of a queryset chain (``M.objects.filter(key=k, in_use=True)``)."""
        fields: List[Tuple[str, str]] = []
        node = receiver
        seen_objects = False
        while isinstance(node, (cst.Call, cst.Attribute)):
            if isinstance(node, cst.Call):
                func = node.func
                method = func.attr.value if isinstance(func, cst.Attribute) else ""
                if method in ("filter", "filter_by", "exclude", "where"):
                    if method == "exclude":
                        return ()
                    for arg in node.args:
                        if arg.keyword is not None:
                            fields.append((arg.keyword.value.split("__")[0], self.rule.text(arg.value)))
                        else:
                            fields.extend(self._compared_field(arg.value))
                elif method in ("scalars", "execute") and node.args and not fields:
                    # SQLAlchemy 2.0: ``session.scalars(select(Key).where(...).limit(1)).first()``.
                    node = node.args[0].value
                    continue
                elif isinstance(func, cst.Name) and func.value == "select" and node.args:
                    model = node.args[0].value
                    seen_objects = seen_objects or (isinstance(model, cst.Name) and model.value[:1].isupper())
                node = func
            else:
                if node.attr.value in ("objects", "query"):
                    seen_objects = True
                node = node.value
        if fields and isinstance(node, cst.Name) and node.value[:1].isupper():
            seen_objects = True  # Tortoise and Peewee filter on the model: ``Lease.filter(...)``
        return tuple(fields) if seen_objects else ()

    def _compared_field(self, expr: cst.BaseExpression) -> List[Tuple[str, str]]:
        """SQLAlchemy's filter terms: ``Key.in_use == False``, ``Key.in_use.is_(False)``,
        ``Key.status == "idle"`` -> (field, value text)."""
        if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
            target = expr.comparisons[0]
            if isinstance(expr.left, cst.Attribute) and isinstance(target.operator, (cst.Equal, cst.Is)):
                return [(expr.left.attr.value, self.rule.text(target.comparator))]
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "is_"
            and isinstance(expr.func.value, cst.Attribute)
            and len(expr.args) == 1
        ):
            return [(expr.func.value.attr.value, self.rule.text(expr.args[0].value))]
        return []

    def _free_when_true(self, test: cst.BaseExpression, read: Read) -> Optional[bool]:
        """Whether ``test`` is true exactly when the lock is free (None: cannot tell)."""
        test = unwrap(test)
        if self._is_read(test, read):
            return self._bare_polarity(read)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._free_when_true(test.expression, read)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            left_side = self._free_when_true(test.left, read) if self._contains(test.left, read) else None
            right_side = self._free_when_true(test.right, read) if self._contains(test.right, read) else None
            side = left_side if left_side is not None else right_side
            # `if obj and obj.locked: return` guards like `if obj.locked:`; `if not x.in_use or force:`
            # enters the body when it is free: the claim region is the same either way.
            return side
        if isinstance(test, cst.Comparison):
            if len(test.comparisons) != 1 or not self._is_read(test.left, read):
                return None
            target = test.comparisons[0]
            operator = target.operator
            right = target.comparator
            if read.kind in ("orm-attr", "mongo", "sql", "sql-core", "dynamodb"):
                return self._status_polarity(operator, right, read)
            if read.kind == "orm-exists" and isinstance(operator, (cst.Is, cst.IsNot)) and falsy_literal(right):
                # ``key = ApiKey.objects.filter(in_use=False).first()`` then ``if key is None``:
                # a row was found exactly when the read is truthy.
                bare = self._bare_polarity(read)
                return None if bare is None else bare == isinstance(operator, cst.IsNot)
            if isinstance(operator, (cst.Is, cst.Equal)):
                return falsy_literal(right)
            if isinstance(operator, (cst.IsNot, cst.NotEqual)):
                return not falsy_literal(right)
            if isinstance(operator, (cst.In, cst.NotIn)) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
                has_free = any(falsy_literal(e.value) for e in right.elements)
                if not has_free:
                    return None
                return isinstance(operator, cst.In)
            if isinstance(operator, (cst.GreaterThan, cst.GreaterThanEqual)):
                return False
            if isinstance(operator, cst.LessThan) and isinstance(right, cst.Integer) and right.value == "1":
                return True
            return None
        return None

    def _bare_polarity(self, read: Read) -> Optional[bool]:
        """Whether the read itself (``if r.get(k):``, ``if job.in_use:``) is true when free."""
        if read.kind == "orm-attr":
            if read.key in _locks.STATUS_FIELDS:
                return None
            return _locks.is_inverted_flag(read.key)
        if read.kind == "orm-exists":
            # ``filter(pk=pk, busy=False).exists()`` is true when the row is free, and so is
            # ``filter(in_use=False).first()`` (a free row was found); a row found by its key
            # alone (``filter(name=n).first()``) is a lock row that exists: taken.
            return any(
                (f in _locks.STATUS_FIELDS and not _locks.is_busy_status(v))
                or (f not in _locks.STATUS_FIELDS and _locks.is_orm_flag_field(f) and self._free_text(v, f))
                for f, v in read.fields
            )
        return self._store_polarity(read)

    @staticmethod
    def _free_text(value: str, field: str) -> bool:
        falsy = value in ("False", "None", "0")
        truthy = value in ("True", "1")
        if not (falsy or truthy):
            return False
        return falsy != _locks.is_inverted_flag(field)

    def _status_polarity(self, operator: cst.BaseCompOp, right: cst.BaseExpression, read: Read) -> Optional[bool]:
        text = self.rule.edits.code(right)
        if read.key not in _locks.STATUS_FIELDS:
            # flag compared with a literal: `key.in_use == False`, `lock.owner is None`
            if isinstance(operator, (cst.Is, cst.Equal)):
                free = falsy_literal(right)
            elif isinstance(operator, (cst.IsNot, cst.NotEqual)):
                free = not falsy_literal(right)
            else:
                return None
            return free != _locks.is_inverted_flag(read.key)
        busy = _locks.is_busy_status(text)
        if isinstance(operator, (cst.Equal, cst.Is, cst.In)):
            return not busy
        if isinstance(operator, (cst.NotEqual, cst.IsNot, cst.NotIn)):
            return busy
        return None

    def _is_read(self, expr: cst.BaseExpression, read: Read) -> bool:
        return unwrap(expr) is read.call or (
            isinstance(unwrap(expr), cst.Name) and self.assigned.get(unwrap(expr).value) is read  # type: ignore[attr-defined]
        )

    def _contains(self, expr: cst.BaseExpression, read: Read) -> bool:
        found = False

        class _Find(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                nonlocal found
                if node is read.call or (isinstance(node, cst.Name) and self.assigned.get(node.value) is read):
                    found = True
                return not found

        walk(expr, _Find())
        return found

    def _reads_in(self, test: cst.BaseExpression) -> List[Read]:
        reads: List[Read] = []
        check = self

        class _Find(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.Lambda, cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
                    return False
                if isinstance(node, cst.BaseExpression):
                    read = check._read_of(node)
                    if read is not None and read not in reads:
                        reads.append(read)
                        return False
                return True

        walk(test, _Find())
        # ``if item and item.get("locked")``: the flag says more than the row's existence.
        return sorted(reads, key=lambda read: read.kind == "dynamodb" and not read.key)


#: The one-row reads of a SQLAlchemy result.
_CORE_ROW_METHODS = frozenset({"scalar", "scalar_one", "scalar_one_or_none"})
_CORE_SELECTS = frozenset({"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.future.select"})


def several_keys(text: Callable[[cst.CSTNode], str], exprs: List[cst.BaseExpression], *, mapping: bool) -> str:
    """The keys of ``r.mget(keys)`` / ``r.mget(a, b)`` or ``r.mset(mapping)`` as one key to
    compare: the sorted texts of a list's items or a dict's keys, the iterable of a
    comprehension keyed by its own variable (``{key: job for key in keys}`` -> ``keys``),
    else the text."""
    items: List[cst.BaseExpression] = exprs
    if len(exprs) == 1:
        only = exprs[0]
        if mapping and isinstance(only, cst.DictComp):
            loop = only.for_in
            target = loop.target
            if isinstance(target, cst.Name) and isinstance(only.key, cst.Name) and only.key.value == target.value:
                if loop.inner_for_in is None and not loop.ifs:
                    return text(loop.iter)
        if mapping and isinstance(only, cst.Dict) and all(isinstance(e, cst.DictElement) for e in only.elements):
            items = [e.key for e in only.elements if isinstance(e, cst.DictElement)]
        elif not mapping and isinstance(only, (cst.List, cst.Tuple)):
            items = [e.value for e in only.elements if isinstance(e, cst.Element)]
    return "|".join(sorted(text(item) for item in items))


def _one_column_row(expr: cst.BaseExpression) -> Optional[str]:
    """The flag field one row's single column holds: ``values_list("busy", flat=True).get(...)``
    or ``values("busy").get(...)["busy"]`` (Django)."""
    wanted: Optional[str] = None
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        index = expr.slice[0].slice.value
        wanted = index.evaluated_value if isinstance(index, cst.SimpleString) else None  # type: ignore[assignment]
        expr = expr.value
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "get"):
        return None
    source = expr.func.value
    if not isinstance(source, cst.Call) or not isinstance(source.func, cst.Attribute):
        return None
    method = source.func.attr.value
    columns = [a.value for a in source.args if a.keyword is None]
    if len(columns) != 1 or not isinstance(columns[0], cst.SimpleString):
        return None
    field = columns[0].evaluated_value
    if not isinstance(field, str) or not (_locks.is_orm_flag_field(field) or field in _locks.STATUS_FIELDS):
        return None
    flat = any(
        a.keyword is not None and a.keyword.value == "flat" and dotted_name(a.value) == "True" for a in source.args
    )
    if method == "values_list" and flat and wanted is None:
        return field
    if method == "values" and wanted == field:
        return field
    return None


def _keeps_truth(comparison: cst.Comparison) -> bool:
    """``x > 0``, ``x != 0``, ``x >= 1``, ``x is not None``: true exactly when ``x`` is truthy
    (for the counts and values a store read returns)."""
    if len(comparison.comparisons) != 1:
        return False
    target = comparison.comparisons[0]
    operator, right = target.operator, target.comparator
    if isinstance(operator, cst.IsNot):
        return isinstance(right, cst.Name) and right.value == "None"
    if not isinstance(right, cst.Integer):
        return False
    if isinstance(operator, (cst.GreaterThan, cst.NotEqual)):
        return right.value == "0"
    return isinstance(operator, cst.GreaterThanEqual) and right.value == "1"
