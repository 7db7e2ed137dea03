"""Check-then-set claims, for OPS402: which reads check a lock's state and which writes claim it.

Per function: a *read* of a lock, flag or claim status (a redis/cache ``get``/``exists``,
an ORM flag attribute or status field, a ``.filter(...).exists()``, a lock file test), the
polarity of a test over it ("true when free"), and the *write* in the region that runs
when it was free that claims the same thing (``set`` of the same key, the flag assigned
and saved, an ``update``/``create`` of the filtered field, the lock file created).  Also
the markers that make the function's check-then-set safe (row locks, redis transactions,
a lock held).  The reads and their polarity are in ``_claim_reads.py``, more stores
(MongoDB, raw SQL, model methods...) in ``_claim_stores.py``; both are mixed into
:class:`FunctionClaims`.  Knowledge (method names, flag and status words) comes from
``_locks.py``; the rule (``ops402_non_atomic_lock.py``) walks the statements, reports
and fixes.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Set, Tuple

import libcst as cst

from opslint.analysis.scopes import BindingTable
from opslint.rules import _locks, _schedules
from opslint.rules._claim_reads import DJANGO_CACHE, REDIS, ClaimReads, Read, several_keys, unwrap
from opslint.rules._schedules import LOCK_DECORATORS
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import caught_types, keyword
from opslint.syntax.walk import iter_nodes as walk_nodes
from opslint.syntax.walk import walk

#: Project helpers that lock what they return or take a lock (the check that follows is then serialised).
LOCKING_HELPER = re.compile(
    r"for_update|^_?(?:lock|acquire)(?:_(?!key|name|path|id)|$)|_locked_(?!at|by)", re.IGNORECASE
)


def _unwrap_call(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.func if isinstance(expr, cst.Call) else expr


def _is_atomic(expr: cst.BaseExpression) -> bool:
    """``transaction.atomic()`` / ``@atomic``: a database transaction (Django)."""
    return (dotted_name(_unwrap_call(expr)) or "").rsplit(".", 1)[-1] == "atomic"


def _manager_name(expr: cst.BaseExpression) -> bool:
    """``Task.objects`` (a Django manager): ``<Name>.objects``."""
    return isinstance(expr, cst.Attribute) and expr.attr.value == "objects" and isinstance(expr.value, cst.Name)


#: Errors a unique constraint raises on a duplicate insert (Django, SQLAlchemy, psycopg, pymongo).
_DUPLICATE_ERRORS = frozenset({"IntegrityError", "UniqueViolation", "DuplicateKeyError"})


def _called_for_effect(call: cst.CSTNode, region: Sequence[cst.BaseStatement]) -> bool:
    """Whether ``call`` is a statement of its own somewhere in ``region`` (its result unused)."""
    for stmt in region:
        for node in walk_nodes(stmt):
            if isinstance(node, cst.Expr) and unwrap(node.value) is call:
                return True
    return False


def _mset_parts(call: cst.Call) -> Optional[Tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(a key, the value stored under it) of ``r.mset({key: job_id for key in keys})``
    (the comprehension's iterable) or ``r.mset({"lock:a": me, "lock:b": me})`` (the first item)."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "mset" and call.args):
        return None
    mapping = call.args[0].value
    if isinstance(mapping, cst.DictComp):
        return mapping.for_in.iter, mapping.value
    if isinstance(mapping, cst.Dict) and mapping.elements and isinstance(mapping.elements[0], cst.DictElement):
        return mapping.elements[0].key, mapping.elements[0].value
    return None


def _catches_duplicate(handler: cst.ExceptHandler) -> bool:
    names = [dotted_name(kind) or "" for kind in caught_types(handler)]
    return any(name.rsplit(".", 1)[-1] in _DUPLICATE_ERRORS for name in names)


class ClaimContext(Protocol):
    """What the claim analysis asks of the rule."""

    edits: Any
    ctx: Any
    table: BindingTable

    @property
    def module_functions(self) -> Mapping[str, cst.FunctionDef]: ...

    def text(self, node: cst.CSTNode) -> str: ...

    def qualified_name(self, expr: cst.BaseExpression) -> Optional[str]: ...

    def store_kind(self, receiver: cst.BaseExpression, stack: Sequence[cst.CSTNode]) -> Optional[str]: ...


class FunctionClaims(ClaimReads):
    """The reads and writes of lock state in one function body (see the module docstring)."""

    def __init__(self, rule: ClaimContext, function: cst.FunctionDef, stack: Tuple[cst.CSTNode, ...]):
        self.rule = rule
        self.function = function
        self.stack = stack + (function,)
        self._marker_cache: Optional[Set[str]] = None
        #: name -> read assigned to it (``current = r.get(key)``).
        self.assigned: Dict[str, Read] = {}
        self._init_stores()

    # -- whole-function facts ------------------------------------------------------

    def _markers(self) -> Set[str]:
        """What makes the function's check-then-set safe: row locks, redis transactions, held locks."""
        found: Set[str] = set()
        rule = self.rule
        atomic = any(_is_atomic(d.decorator) for d in self.function.decorators)
        project_manager = False

        class _Scan(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node is not self.function:
                    return False
                nonlocal atomic, project_manager
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                    method = node.func.attr.value
                    if _manager_name(node.func.value) and method not in _locks.DJANGO_QUERYSET_METHODS:
                        project_manager = True  # ``Task.objects.next_claimable()``: a project method
                    if method in _locks.ORM_ROW_LOCK_METHODS:
                        found.add("row-lock")
                    if method in _locks.REDIS_ATOMIC_CONTEXT_METHODS:
                        found.add("redis-atomic")
                    if method in _locks.ACQUIRE_METHODS:
                        found.add("held")
                if isinstance(node, cst.Call):
                    callee = dotted_name(node.func) or ""
                    if LOCKING_HELPER.search(callee.rsplit(".", 1)[-1]):
                        found.add("held")  # get_job_for_update(...), lock_account(...), acquire_key(...)
                if isinstance(node, cst.ExceptHandler) and _catches_duplicate(node):
                    found.add("unique")  # ``except IntegrityError``: the database refuses the second claim
                if isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
                    lowered = node.value.lower()
                    if any(marker in lowered for marker in _locks.SQL_LOCK_MARKERS):
                        found.add("row-lock")
                if isinstance(node, cst.WithItem):
                    head = _unwrap_call(unwrap(node.item))
                    name = dotted_name(head) or ""
                    atomic = atomic or _is_atomic(node.item)
                    if (
                        name not in ("open", "io.open")
                        and (
                            _locks.lockish_text(name.rsplit(".", 1)[-1])
                            or _locks.looks_like_lock_name(name.rsplit(".", 1)[-1])
                        )
                    ) or rule.qualified_name(head) in _locks.LOCK_CONSTRUCTORS:
                        found.add("held")
                return True

        walk(self.function.body, _Scan())
        if atomic and project_manager:
            found.add("row-lock")  # a project manager method read the row in the transaction: it may lock it
        for decorator in self.function.decorators:
            head = _unwrap_call(decorator.decorator)
            last = (dotted_name(head) or "").rsplit(".", 1)[-1]
            if _locks.lockish_text(rule.edits.code(decorator.decorator)) or last in LOCK_DECORATORS:
                found.add("held")  # ``@only_one(key=...)``, ``@single_instance``
        return found

    # -- walking ------------------------------------------------------------------------

    @property
    def markers(self) -> Set[str]:
        """Computed on the first candidate only (most functions have none)."""
        if self._marker_cache is None:
            self._marker_cache = self._markers()
        return self._marker_cache

    # -- writes ----------------------------------------------------------------------------

    def _find_write(self, read: Read, region: Sequence[cst.BaseStatement]) -> Optional[cst.CSTNode]:
        """The write that claims what ``read`` checked, in the statements that run when it was free."""
        check = self
        result: List[cst.CSTNode] = []
        saved = [False]

        class _Find(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    return False
                if result and read.kind != "orm-attr":
                    return False
                if isinstance(node, cst.Call) and read.kind in (
                    "mongo",
                    "sql",
                    "orm-method",
                    "file",
                    "dynamodb",
                    "helper",
                    "gcs",
                    "kv",
                ):
                    if check._store_write(node, read):
                        result.append(node)
                        return False
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                    if read.kind in (REDIS, DJANGO_CACHE, "memcached"):
                        if check._redis_write(node, read):
                            result.append(node)
                            return False
                    elif read.kind == "orm-exists":
                        if check._orm_exists_write(node, read):
                            result.append(node)
                            return False
                    elif read.kind == "orm-attr" and result and check._is_save(node, read.receiver):
                        saved[0] = True
                    elif read.kind == "sql-core" and check._core_update_of(node, read):
                        result.append(node)  # ``update(keys).where(keys.c.id == i).values(in_use=True)``
                        return False
                    elif read.kind == "orm-attr" and not result and check._queryset_sets(node, read):
                        result.append(node)  # ``Device.objects.filter(pk=d.pk).update(in_use=True)``
                        return False
                    elif read.kind == "file" and check._file_write(node, read):
                        result.append(node)
                        return False
                if isinstance(node, cst.Call) and read.kind == "file" and check._file_write(node, read):
                    result.append(node)
                    return False
                if isinstance(node, cst.Assign) and read.kind in ("orm-attr", "orm-exists") and not result:
                    for target in node.targets:
                        if check._claims_attribute(target.target, node.value, read):
                            result.append(node)
                return True

        for stmt in region:
            walk(stmt, _Find())
            if result and read.kind != "orm-attr":
                break
        if not result:
            return None
        if read.kind == "helper" and not _called_for_effect(result[0], region):
            return None  # ``if not mark_locked(name): return``: the helper decides and says so
        if read.kind in ("orm-attr", "orm-exists") and isinstance(result[0], cst.Assign):
            if read.kind == "orm-attr" and not saved[0]:
                return None
            if read.kind == "orm-exists" and not self._saved_after(region):
                return None
        return result[0]

    def _pipeline_of(self, receiver: cst.BaseExpression) -> Optional[str]:
        """``pipe`` bound by ``pipe = r.pipeline()`` (or ``with r.pipeline() as pipe``) -> ``r``."""
        table = self.rule.table
        scope = table.scope_of(self.function)
        if not isinstance(receiver, cst.Name) or scope is None:
            return None
        found = set()
        for binding in table.lookup(receiver.value, scope):
            value = unwrap(binding.value) if binding.value is not None else None
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
                if value.func.attr.value == "pipeline":
                    found.add(self.rule.text(value.func.value))
        return found.pop() if len(found) == 1 else None

    def _saved_after(self, region: Sequence[cst.BaseStatement]) -> bool:
        found = False
        check = self

        class _Find(cst.CSTVisitor):
            def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
                nonlocal found
                if check._is_save(node, None):
                    found = True

        for stmt in region:
            walk(stmt, _Find())
        return found

    def _is_save(self, call: cst.Call, obj: Optional[str]) -> bool:
        """``obj.save()`` of the claimed object, or a session/connection ``commit()``/``flush()``."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _locks.ORM_SAVE_METHODS:
            return False
        receiver = self.rule.text(func.value)
        if func.attr.value in ("save", "asave", "save_changes"):
            return obj is None or receiver == obj
        last = receiver.rsplit(".", 1)[-1].lower()
        return any(word in last for word in ("session", "db", "conn", "transaction", "uow", "tx")) or last == "s"

    def _redis_write(self, call: cst.Call, read: Read) -> bool:
        rule = self.rule
        func = call.func
        assert isinstance(func, cst.Attribute)
        method = func.attr.value
        writes = _locks.REDIS_CLAIM_WRITES.get(read.method, frozenset())
        if read.kind == DJANGO_CACHE:
            writes = frozenset({"set"})
        if method not in writes or not call.args:
            return False
        if rule.text(func.value) != read.receiver and self._pipeline_of(func.value) != read.receiver:
            return False
        key = rule.text(call.args[0].value)
        if read.method == "mget":
            key = several_keys(rule.text, [a.value for a in call.args if a.keyword is None], mapping=method == "mset")
        if read.method in ("hget", "hexists", "sismember", "getbit"):
            mapping = keyword(call, "mapping")
            if method == "hset" and mapping is not None and isinstance(mapping.value, cst.Dict):
                # ``hset(key, mapping={"owner": job, ...})``: the field is one of the mapping's keys.
                fields = [rule.text(e.key) for e in mapping.value.elements if isinstance(e, cst.DictElement)]
                field = read.key.rsplit("|", 1)[-1]
                if field not in fields:
                    return False
                key += "|" + field
            elif len(call.args) < 2 or call.args[1].keyword is not None:
                return False
            else:
                key += "|" + rule.text(call.args[1].value)
        if key != read.key:
            return False
        if any(keyword(call, k) is not None for k in _locks.REDIS_CONDITIONAL_SET_KWARGS):
            return False
        return self._claim_like(call, read)

    def _claim_like(self, call: cst.Call, read: Read) -> bool:
        """A lock/flag rather than a cache or a counter."""
        stored = self._stored_value(call, read)
        if stored is not None and self.is_data(stored, read):
            return False
        parts = _mset_parts(call)
        described = self._describe_key(parts[0] if parts is not None else call.args[0].value)
        if _locks.lockish_text(described) and not _locks.is_not_a_claim_key(described):
            return True
        if _locks.is_not_a_claim_key(described):
            return False
        if self._deleted_later(read):
            return True
        if self._lock_routine():
            return True  # ``RedisLock.acquire``, ``try_lock(r, key, owner)``: a claim by its purpose
        if call.func.attr.value in ("incr", "incrby"):  # type: ignore[attr-defined]
            # A count of slots taken, not of hits: a slot is given back (``decr``) somewhere.
            return self.released(read, [self.rule.ctx.module])
        value_index = 2 if call.func.attr.value in ("setex", "psetex") else 1  # type: ignore[attr-defined]
        if read.method in ("hget", "hexists"):
            value_index = 2
        if read.method == "sismember":
            return False
        if stored is not None:
            value = stored
        elif len(call.args) > value_index:
            value = call.args[value_index].value
        else:
            return False
        if _locks.is_flag_value(self.rule.edits.code(value)):
            return True
        if self._token(value):
            return True
        # A key given back elsewhere in the module (``finish_wave`` deletes it): a claim.
        return self.released(read, [self.rule.ctx.module])

    def _lock_routine(self) -> bool:
        """The function says it takes a lock: its name does (``try_lock``, ``acquire_lease``),
        or it is ``acquire``/``try_acquire`` of a class whose name does (``RedisLock``)."""
        name = self.function.name.value
        if _locks.lockish_text(name) and not name.startswith(("release", "unlock", "is_", "has_", "get_")):
            return True
        owner = next((n for n in reversed(self.stack) if isinstance(n, cst.ClassDef)), None)
        return owner is not None and name in _schedules.ACQUIRE_METHODS and _locks.lockish_text(owner.name.value)

    def _stored_value(self, call: cst.Call, read: Read) -> Optional[cst.BaseExpression]:
        parts = _mset_parts(call)
        if parts is not None:
            return parts[1]
        index = 2 if call.func.attr.value in ("setex", "psetex") or read.method in ("hget", "hexists") else 1  # type: ignore[attr-defined]
        mapping = keyword(call, "mapping")
        if read.method in ("hget", "hexists") and mapping is not None and isinstance(mapping.value, cst.Dict):
            # ``hset(key, mapping={"in_use": "1", ...})``: the value of the field that was read.
            field = read.key.rsplit("|", 1)[-1]
            for element in mapping.value.elements:
                if isinstance(element, cst.DictElement) and self.rule.text(element.key) == field:
                    return element.value
            return None
        positional = [a for a in call.args if a.keyword is None]
        return positional[index].value if len(positional) > index else None

    def _token(self, value: cst.BaseExpression) -> bool:
        """A value that says who holds the key: ``uuid4()``, ``os.getpid()``, ``time.time()``,
        or a name bound once to one (``ME = socket.gethostname()``)."""
        if isinstance(value, cst.Name):
            scope = self.rule.table.scope_of(self.function) or self.rule.table.module_scope
            bindings = self.rule.table.lookup(value.value, scope) if scope is not None else []
            if len(bindings) != 1 or bindings[0].value is None:
                return False
            value = bindings[0].value
        return isinstance(value, cst.Call) and self.rule.qualified_name(value.func) in _locks.LOCK_TOKEN_CALLS

    def _describe_key(self, key: cst.BaseExpression) -> str:
        """The key's text, plus what a local variable key was assigned (``key = f"lock:{id}"``)."""
        described = [self.rule.edits.code(key)]
        if isinstance(key, cst.Attribute) and isinstance(key.value, cst.Name) and key.value.value in ("self", "cls"):
            # ``self.key`` set once by the class (``self.key = f"lock:{name}"`` in ``__init__``).
            scope = self.rule.table.scope_of(self.function)
            if scope is not None:
                described += [
                    self.rule.edits.code(b.value) for b in self.rule.table.resolve(key, scope) if b.value is not None
                ]
        head = key.func if isinstance(key, cst.Call) else key
        if isinstance(head, cst.Name):
            name = head.value
            rule = self.rule

            class _Find(cst.CSTVisitor):
                def visit_Assign(inner, node: cst.Assign) -> None:  # noqa: N805
                    for target in node.targets:
                        if isinstance(target.target, cst.Name) and target.target.value == name:
                            described.append(rule.edits.code(node.value))

                def visit_FunctionDef(inner, node: cst.FunctionDef) -> None:  # noqa: N805
                    if node.name.value == name:
                        described.append(rule.edits.code(node.body))

            walk(self.function.body, _Find())
            if isinstance(key, cst.Call):
                walk(self.rule.ctx.module, _Find())
        return " ".join(described)

    def _deleted_later(self, read: Read) -> bool:
        rule = self.rule
        found = False

        class _Find(cst.CSTVisitor):
            def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
                nonlocal found
                func = node.func
                if (
                    isinstance(func, cst.Attribute)
                    and func.attr.value in ("delete", "unlink", "hdel", "srem")
                    and rule.text(func.value) == read.receiver
                    and node.args
                    and rule.text(node.args[0].value) == read.key.split("|")[0]
                ):
                    found = True

        walk(self.function.body, _Find())
        return found

    def _claims_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression, read: Read) -> bool:
        if not isinstance(target, cst.Attribute):
            return False
        field = target.attr.value
        value_text = self.rule.edits.code(value)
        if read.kind == "orm-attr":
            if self.rule.text(target.value) != read.receiver or field != read.key:
                return False
        else:
            filters = dict(read.fields)
            if field not in filters:
                return False
            if field in _locks.STATUS_FIELDS and filters[field] != self.rule.text(value):
                return False  # "if nobody is X, make this one X": the value must be the one looked for
        if field in _locks.STATUS_FIELDS:
            return _locks.is_busy_status(value_text)
        if not _locks.is_orm_flag_field(field):
            return False
        # Claiming sets "taken": True for in_use/locked, False for is_available.
        if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
            return (value.value == "True") != _locks.is_inverted_flag(field)
        return not _locks.is_inverted_flag(field)

    def _queryset_sets(self, call: cst.Call, read: Read) -> bool:
        """``.filter(...).update(<the read field>=<taken>)`` with no test of the field in the filter
        (or SQLAlchemy's ``update(T).where(...).values(<field>=<taken>)``)."""
        if self._core_update_sets(call, read):
            return True
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "update":
            return False
        if not isinstance(func.value, cst.Call) or not isinstance(func.value.func, cst.Attribute):
            return False
        if func.value.func.attr.value not in ("filter", "where"):
            return False
        if read.key in dict(self._filter_fields(func.value)):
            return False  # ``filter(in_use=False).update(in_use=True)``: a conditional update
        arg = keyword(call, read.key)
        if arg is None:
            return False
        text = self.rule.edits.code(arg.value)
        if read.key in _locks.STATUS_FIELDS:
            return bool(_locks.is_busy_status(text))
        return bool(text.strip() == ("False" if _locks.is_inverted_flag(read.key) else "True"))

    def _core_update_of(self, call: cst.Call, read: Read) -> bool:
        """A Core update of the table the flag was selected from that claims it."""
        if not self._core_update_sets(call, read):
            return False
        node: cst.BaseExpression = call
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        return isinstance(node, cst.Call) and bool(node.args) and self.rule.text(node.args[0].value) == read.receiver

    def _core_update_sets(self, call: cst.Call, read: Read) -> bool:
        """SQLAlchemy Core: ``update(jobs).where(jobs.c.id == i).values(locked=True)`` (or
        ``jobs.update()``) whose ``where`` does not test the flag: an unconditional claim."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "values":
            return False
        arg = keyword(call, read.key)
        if arg is None:
            return False
        node: cst.BaseExpression = func.value
        updates = False
        while isinstance(node, cst.Call) and isinstance(node.func, (cst.Attribute, cst.Name)):
            inner = node.func
            if isinstance(inner, cst.Attribute) and inner.attr.value in ("where", "filter", "filter_by"):
                if any(
                    read.key in self.rule.text(a.value) or a.keyword is not None and a.keyword.value == read.key
                    for a in node.args
                ):
                    return False  # ``where(jobs.c.locked.is_(False))``: the conditional claim
                node = inner.value
                continue
            updates = self.rule.qualified_name(inner) in ("sqlalchemy.update", "sqlalchemy.sql.update") or (
                isinstance(inner, cst.Attribute) and inner.attr.value == "update" and not node.args
            )
            break
        if not updates:
            return False
        text = self.rule.edits.code(arg.value)
        if read.key in _locks.STATUS_FIELDS:
            return bool(_locks.is_busy_status(text))
        return not self._frees(arg.value, read.key)

    def _orm_exists_write(self, call: cst.Call, read: Read) -> bool:
        func = call.func
        assert isinstance(func, cst.Attribute)
        method = func.attr.value
        if method not in ("update", "create", "update_or_create", "get_or_create"):
            return False
        filters = dict(read.fields)
        if method == "create" and self._creates_lock_row(func, call, read):
            return True
        guarded = dict(self._filter_fields(func.value)) if method == "update" else {}
        for arg in call.args:
            if arg.keyword is None:
                continue
            field = arg.keyword.value
            if method in ("update_or_create", "get_or_create") and field != "defaults":
                continue
            if field == "defaults" and isinstance(arg.value, cst.Dict):
                pairs = [
                    (e.key.evaluated_value, e.value)
                    for e in arg.value.elements
                    if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                ]
            else:
                pairs = [(field, arg.value)]
            for name, value in pairs:
                if not isinstance(name, str) or name not in filters or name in guarded:
                    continue
                text = self.rule.edits.code(value)
                if (
                    name in _locks.STATUS_FIELDS
                    and _locks.is_busy_status(text)
                    and filters[name] == self.rule.text(value)
                ):
                    return True
                if _locks.is_orm_flag_field(name) and name not in _locks.STATUS_FIELDS:
                    return True
        return False

    def _creates_lock_row(self, func: cst.Attribute, call: cst.Call, read: Read) -> bool:
        """``if not JobLock.objects.filter(name=n).exists(): JobLock.objects.create(name=n)``."""
        model = read.receiver.split(".objects", 1)[0] if ".objects" in read.receiver else ""
        if not model or self.rule.text(func.value) != f"{model}.objects" or not _locks.lockish_text(model):
            return False
        created = {arg.keyword.value for arg in call.args if arg.keyword is not None}
        if not {name for name, _ in read.fields} <= created:
            return False
        return not self._unique_in_file(model.rsplit(".", 1)[-1], [name for name, _ in read.fields])

    def _unique_in_file(self, model: str, fields: Sequence[str]) -> bool:
        """Whether this file declares the model with a unique field/constraint (then create() is a claim)."""
        for stmt in self.rule.ctx.module.body:
            if isinstance(stmt, cst.ClassDef) and stmt.name.value == model:
                code = self.rule.edits.code(stmt)
                if "unique_together" in code or "UniqueConstraint" in code or "primary_key=True" in code:
                    return True
                return any(f"{field} =" in code and "unique=True" in code for field in fields)
        return False

    def _file_write(self, call: cst.Call, read: Read) -> bool:
        rule = self.rule
        # The path says it is a lock file, or the function does (``def acquire_pidfile(path)``).
        named = (read.key, self.function.name.value)
        if not any(_locks.lockish_text(text) or _locks.PIDFILE_TEXT.search(text) for text in named):
            return False
        if isinstance(call.func, cst.Name) and call.func.value == "open" and call.args:
            if rule.text(call.args[0].value) != read.key:
                return False
            mode_arg = call.args[1] if len(call.args) > 1 else keyword(call, "mode")
            mode = mode_arg.value if mode_arg is not None else None
            return (
                isinstance(mode, cst.SimpleString)
                and "x" not in mode.evaluated_value
                and ("w" in str(mode.evaluated_value) or "a" in str(mode.evaluated_value))
            )
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("touch", "write_text", "write_bytes"):
            return rule.text(call.func.value) == read.key and keyword(call, "exist_ok") is None
        return False
